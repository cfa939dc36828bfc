package experiments

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"

	"mailsim/results"
)

// Version is mailsim's version, recorded in every result set.
const Version = "0.1.0"

// Commit returns the source revision the binary was built from, when the
// build recorded one, or "".
func Commit() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			return s.Value
		}
	}
	return ""
}

// Experiment is a decoded spec ready to run.
type Experiment struct {
	// Given is the spec file as the user wrote it.
	Given []byte
	Spec  Spec
	Runs  []Run[Spec]
}

// Load decodes a spec and plans its runs.
func Load(name string, given []byte) (*Experiment, error) {
	s, err := Decode[Spec](name, given)
	if err != nil {
		return nil, err
	}
	runs, err := Plan(s, Design{Sweep: s.Sweep, Strategies: s.Strategies, Replicas: s.Replicas, Seed: s.Seed})
	if err != nil {
		return nil, err
	}
	return &Experiment{Given: given, Spec: s, Runs: runs}, nil
}

// Manifest returns the result-set manifest of the experiment.
func (e *Experiment) Manifest() (*results.Manifest, error) {
	expanded, err := EncodeTOML(e.Spec)
	if err != nil {
		return nil, err
	}
	m := &results.Manifest{
		Experiment:     e.Spec.Name,
		Description:    e.Spec.Description,
		MailsimVersion: Version,
		Commit:         Commit(),
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

// Options say where and how an experiment runs.
type Options struct {
	// Out is the result set's folder. An existing set with the same
	// manifest is resumed; anything else there is refused.
	Out     string
	Workers int
	Shard   ShardSpec
	// Progress reports on stderr; nil reports nothing.
	Progress *Progress
	// Session describes this invocation for the set's provenance.
	Session results.Session
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
		Workers: o.Workers,
		Exec: func(ctx context.Context, run Run[Spec]) (*results.Run, error) {
			res, err := run.Spec.Execute(run.Strategy, run.Seed)
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
		Skip:     w.IsDone,
		Progress: o.Progress,
	}
	sum, err := r.Run(ctx, runs)
	if err != nil {
		return w, sum, err
	}
	return w, sum, nil
}
