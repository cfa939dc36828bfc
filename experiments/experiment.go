package experiments

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/mailsim/mailsim/internal/buildinfo"
	"github.com/mailsim/mailsim/results"
)

// Experiment is a decoded spec ready to run.
type Experiment struct {
	// File is the spec file's name, for messages.
	File string
	// Given is the spec file as the user wrote it.
	Given []byte
	Spec  Spec
	Runs  []Run[Spec]
	// Dir is the spec file's folder: relative paths in the spec (a
	// calibration profile) are resolved against it.
	Dir string
	// profiles describes the calibration profiles the runs use, for the
	// manifest.
	profiles []string
}

// Load decodes a spec and plans its runs; name is the spec file's path.
// It loads every calibration profile the runs use, so that a missing or
// invalid profile is reported before anything runs.
func Load(name string, given []byte) (*Experiment, error) {
	s, err := Decode[Spec](name, given)
	if err != nil {
		return nil, err
	}
	runs, err := Plan(s, Design{Sweep: s.Sweep, Strategies: s.Strategies, Replicas: s.Replicas, Seed: s.Seed})
	if err != nil {
		return nil, err
	}
	e := &Experiment{File: name, Given: given, Spec: s, Runs: runs, Dir: filepath.Dir(name)}
	traces := map[string]bool{}
	for _, r := range runs {
		p := r.Spec.Workload.Trace
		if p == "" || traces[p] {
			continue
		}
		traces[p] = true
		if !filepath.IsAbs(p) {
			p = filepath.Join(e.Dir, p)
		}
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			msg := fmt.Sprintf("trace %s is not a regular file", p)
			if err != nil {
				msg = readErrorMsg(err)
			}
			return nil, specFileError(name, given, "workload.trace", errors.New(msg))
		}
	}
	seen := map[string]bool{}
	for _, r := range runs {
		p := r.Spec.NFS.Profile
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		prof, err := r.Spec.LoadProfile(e.Dir)
		if err != nil {
			return nil, specFileError(name, given, "nfs.profile", err)
		}
		m := prof.Meta
		e.profiles = append(e.profiles, fmt.Sprintf("%s (%s, %s; measured by mailsim %s on %s)", p, m.FSType, m.Where, m.MailsimVersion, m.Machine))
	}
	return e, nil
}

// specFileError reports err, about the file that key of the spec file name
// (whose contents are given) names, at the key's place in the file.
func specFileError(name string, given []byte, key string, err error) error {
	e := &Error{File: name, Key: key, Msg: err.Error()}
	if root, serr := parseTree(given); serr == nil {
		e.Pos = lookupPos(root, key)
	}
	return Errors{e}
}

// Manifest returns the result-set manifest of the experiment.
func (e *Experiment) Manifest() (*results.Manifest, error) {
	expanded, err := EncodeTOML(e.Spec)
	if err != nil {
		return nil, err
	}
	m := &results.Manifest{
		Experiment:     e.Spec.Name,
		Description:    e.description(),
		MailsimVersion: buildinfo.String(),
		Commit:         buildinfo.Commit(),
		Seed:           e.Spec.Seed,
		SpecGiven:      e.Given,
		SpecExpanded:   expanded,
		Metrics:        MetricInfos(),
	}
	for _, r := range e.Runs {
		m.Plan = append(m.Plan, planned(r))
	}
	return m, nil
}

// description is the spec's description, followed by the calibration
// profiles that produced the numbers.
func (e *Experiment) description() string {
	d := e.Spec.Description
	for _, p := range e.profiles {
		d += "\nNFS service times calibrated with profile " + p + "."
	}
	return d
}

// Options say where and how an experiment runs.
type Options struct {
	// Out is the result set's folder. An existing set with the same
	// manifest is resumed; anything else there is refused.
	Out string
	// Workers is the number of runs made at once (0: one per CPU),
	// lowered so that that many of the largest run fit in the machine's
	// memory by the spec's estimate.
	Workers int
	Shard   ShardSpec
	// Progress reports on stderr; nil reports nothing.
	Progress *Progress
	// Session describes this invocation for the set's provenance.
	Session results.Session
	// Abandon, if set, stops the runs in progress when it is cancelled
	// (see [Interrupts]); the ctx given to Execute only stops new ones
	// from starting.
	Abandon context.Context
}

// fitWorkers returns workers (0: one per CPU), lowered to the number of
// runs whose memory estimates fit in the machine's memory at once, and to
// at least 1.
func fitWorkers(workers int, runs []Run[Spec]) int {
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	mem, _ := machineMemory()
	need := 0.0
	for i := range runs {
		n, _, _ := memoryEstimate(&runs[i].Spec)
		need = max(need, n)
	}
	if mem > 0 && need > 0 {
		workers = min(workers, max(1, int(float64(mem)/need)))
	}
	return workers
}

// Execute runs the experiment's missing runs (or its shard's) and writes
// each one to the result set as it finishes. It finalizes the set when no
// planned run is missing. Interrupted through ctx, it keeps every finished
// run and returns an error wrapping [ErrInterrupted].
func (e *Experiment) Execute(ctx context.Context, o Options) (*results.Writer, Summary, error) {
	m, err := e.Manifest()
	if err != nil {
		return nil, Summary{}, err
	}
	runs := e.Runs
	if !o.Shard.Whole() {
		runs = Shard(runs, o.Shard.Index, o.Shard.Count)
		o.Session.Shard = o.Shard.String()
	}
	var w *results.Writer
	if _, err := os.Stat(o.Out); errors.Is(err, fs.ErrNotExist) {
		w, err = results.Create(o.Out, m, o.Session)
		if err != nil {
			return nil, Summary{}, err
		}
	} else {
		w, err = results.Open(o.Out, m, o.Session)
		if err != nil {
			return nil, Summary{}, err
		}
	}
	r := Runner[Spec, *results.Run]{
		Workers: fitWorkers(o.Workers, runs),
		Exec: func(ctx context.Context, run Run[Spec]) (*results.Run, error) {
			res, err := run.Spec.ExecuteContext(ctx, run.Strategy, run.Seed, e.Dir)
			if err != nil {
				return nil, fmt.Errorf("run %s: %w", run.ID, err)
			}
			return Record(run, res), nil
		},
		Sink: func(res Result[*results.Run]) error {
			if res.Err != nil {
				return res.Err
			}
			return w.Add(res.Value)
		},
		Skip:       w.IsDone,
		Progress:   o.Progress,
		RunContext: o.Abandon,
	}
	sum, err := r.Run(ctx, runs)
	if err != nil {
		return w, sum, err
	}
	return w, sum, nil
}
