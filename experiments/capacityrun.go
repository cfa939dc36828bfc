package experiments

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/mailsim/mailsim/internal/buildinfo"
	"github.com/mailsim/mailsim/model"
	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/results"
)

// scenarioKey is the point parameter that holds a capacity plan run's
// scenario: results.ScenarioNormal or results.ScenarioFailure.
const scenarioKey = "plan.scenario"

// planAxes returns the values a plan's search may try on each axis.
func (e *Experiment) planAxes() (threads []int, caches []int64) {
	p := e.Spec.Plan
	threads, caches = p.NFSThreads, p.CacheBytes
	if len(threads) == 0 {
		threads = []int{e.Spec.NFS.Threads}
	}
	if len(caches) == 0 {
		caches = []int64{e.Spec.Cluster.CacheBytes}
	}
	return threads, caches
}

// planUsers is the population the plan serves.
func (e *Experiment) planUsers() int {
	if e.Spec.Plan.Users > 0 {
		return e.Spec.Plan.Users
	}
	return e.Spec.Workload.Users
}

// TrialRun is the run that performs trial t: the spec with the trial's
// configuration, the plan's users and, in the failure scenario, backend 0
// crashing at plan.failure_at. Its ID is "b035-t64-c1073741824-normal-
// director-r1"; its seed derives from the replica alone, so that every
// configuration, scenario and strategy of a replica sees the same users
// doing the same things (common random numbers, which keep the objective
// curves smooth in the backend count).
func (e *Experiment) TrialRun(t Trial) (Run[Spec], error) {
	spec, err := Apply(e.Spec, Point{})
	if err != nil {
		return Run[Spec]{}, err
	}
	scen := results.ScenarioNormal
	if t.Failure {
		scen = results.ScenarioFailure
	}
	spec.Workload.Users = e.planUsers()
	spec.Cluster.Backends = t.Backends
	spec.NFS.Threads = t.NFSThreads
	spec.Cluster.CacheBytes = t.CacheBytes
	if t.Failure {
		spec.Faults = append(spec.Faults, FaultSpec{At: spec.Plan.FailureAt, Backend: 0, Kind: "crash", Factor: 1})
		if spec.Health.Monitor == "auto" && len(t.Strategy) >= 8 && t.Strategy[:8] == "director" {
			// A director is deployed with a monitor that takes a dead
			// backend out of the ring and flushes its users (poolmon).
			spec.Health.Monitor = "poolmon"
		}
	}
	point := fmt.Sprintf("b%03d-t%d-c%d-%s", t.Backends, t.NFSThreads, t.CacheBytes, scen)
	rk := fmt.Sprintf("r%d", t.Replica)
	pt := Point{Settings: []Setting{
		{Path: "cluster.backends", Value: t.Backends, Label: strconv.Itoa(t.Backends)},
		{Path: "nfs.threads", Value: t.NFSThreads, Label: strconv.Itoa(t.NFSThreads)},
		{Path: "cluster.cache_bytes", Value: t.CacheBytes, Label: strconv.FormatInt(t.CacheBytes, 10)},
		{Path: scenarioKey, Value: scen, Label: scen},
	}}
	return Run[Spec]{
		ID:       point + "-" + t.Strategy + "-" + rk,
		Point:    pt,
		Strategy: t.Strategy,
		Replica:  t.Replica,
		Seed:     sim.SubSeed(e.Spec.Seed, rk),
		Spec:     spec,
	}, nil
}

// PlanManifest returns the manifest of a capacity plan's result set. Its
// plan lists every run the search might make, in order of backends, NFS
// threads, cache, scenario, strategy and replica, and is marked sparse: a
// plan's set holds, and its manifest.json lists, only the runs its search
// needed.
func (e *Experiment) PlanManifest() (*results.Manifest, error) {
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
		Metrics: append(MetricInfos(),
			results.MetricInfo{Name: MaxConnectionsMetric, Better: results.Lower, Doc: "IMAP connections open at once on the busiest backend"},
			results.MetricInfo{Name: LMTPMeanMetric, Unit: "s", Better: results.Lower, Doc: "mean latency of LMTP deliveries"}),
		Sparse: true,
	}
	threads, caches := e.planAxes()
	p := e.Spec.Plan
	for b := p.BackendsMin; b <= p.BackendsMax; b++ {
		for _, t := range threads {
			for _, c := range caches {
				for _, f := range []bool{false, true} {
					if f && !p.Failure {
						continue
					}
					for _, st := range e.Spec.Strategies {
						for r := 0; r < p.ReplicasMax; r++ {
							run, err := e.TrialRun(Trial{Strategy: st, Candidate: results.Candidate{Backends: b, NFSThreads: t, CacheBytes: c}, Failure: f, Replica: r})
							if err != nil {
								return nil, err
							}
							pr := planned(run)
							pr.Order = len(m.Plan)
							m.Plan = append(m.Plan, pr)
						}
					}
				}
			}
		}
	}
	return m, nil
}

// PlanOptions say where and how a capacity plan runs.
type PlanOptions struct {
	// Out is the result set's folder; an existing set of the same plan is
	// resumed: its runs are read back instead of run again. With ShareRuns
	// and a shard, it is the folder every shard shares, and this shard's
	// set is [PlanShardDir] in it.
	Out     string
	Workers int
	// Shard splits the plan between machines. By default shard i of n
	// searches the strategies at positions i, i+n, ... of the spec's list.
	Shard ShardSpec
	// ShareRuns splits the runs instead: every shard makes the whole
	// search, performs the runs it owns (a fixed hash of the run's ID
	// modulo the shard count) into its set in Out, and reads the others
	// from the other shards' sets there, waiting for them as needed; each
	// shard's set ends up holding the whole plan.
	ShareRuns bool
	// Wait bounds how long a shard waits for a run another shard owns
	// (default [DefaultPlanWait]); Poll is how often it looks (default 2s).
	Wait, Poll time.Duration
	// FullProbes turns screening off: every probe of the search is judged
	// by the full rule. The answer is the same; screening only saves runs.
	FullProbes bool
	// Log, if set, receives a line per probe and per run.
	Log     io.Writer
	Session results.Session
	// Abandon, if set, stops the runs in progress when it is cancelled
	// (see [Interrupts]); ctx only stops new ones from starting.
	Abandon context.Context
}

// SetDir is the folder of the result set that o's plan writes.
func (o PlanOptions) SetDir() string {
	if o.ShareRuns && !o.Shard.Whole() {
		return PlanShardDir(o.Out, o.Shard)
	}
	return o.Out
}

// ExecutePlan runs the spec's capacity plan: a search per strategy, whose
// runs go to the result set at o.SetDir() as they finish. Interrupted
// through ctx, it keeps every finished run and returns an error wrapping
// [ErrInterrupted]; the same call again resumes.
func (e *Experiment) ExecutePlan(ctx context.Context, o PlanOptions) (*results.PlanOutcome, *results.Writer, error) {
	m, err := e.PlanManifest()
	if err != nil {
		return nil, nil, err
	}
	dir := o.SetDir()
	var w *results.Writer
	done := map[string]*results.Run{}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if w, err = results.Create(dir, m, o.Session); err != nil {
			return nil, nil, err
		}
	} else {
		if w, err = results.Open(dir, m, o.Session); err != nil {
			return nil, nil, err
		}
		set, err := results.Read(dir)
		if err != nil {
			return nil, w, err
		}
		for _, r := range set.Runs {
			done[r.ID] = r
		}
	}
	strats := e.Spec.Strategies
	if !o.Shard.Whole() && !o.ShareRuns {
		strats = nil
		for i, s := range e.Spec.Strategies {
			if i%o.Shard.Count == o.Shard.Index {
				strats = append(strats, s)
			}
		}
	}
	threads, caches := e.planAxes()
	workers := o.Workers
	if workers <= 0 {
		workers = max(1, runtime.NumCPU())
	}
	var mu sync.Mutex
	logf := func(format string, args ...any) {
		if o.Log != nil {
			mu.Lock()
			fmt.Fprintf(o.Log, format, args...)
			mu.Unlock()
		}
	}
	runCtx := o.Abandon
	if runCtx == nil {
		runCtx = context.Background()
	}
	x := &planExec{
		e: e, w: w, workers: workers, shard: o.Shard, share: o.ShareRuns && !o.Shard.Whole(), out: o.Out,
		wait: o.Wait, poll: o.Poll, logf: logf, runCtx: runCtx,
		sem: make(chan struct{}, workers), done: done, inflight: map[string]chan struct{}{}, peers: map[string]*results.Run{},
	}
	if x.wait <= 0 {
		x.wait = DefaultPlanWait
	}
	if x.poll <= 0 {
		x.poll = defaultPlanPoll
	}
	x.specCtx, x.specCancel = context.WithCancel(runCtx)
	defer x.stop()
	s := &Search{
		Strategies:  strats,
		BackendsMin: e.Spec.Plan.BackendsMin,
		BackendsMax: e.Spec.Plan.BackendsMax,
		NFSThreads:  threads,
		CacheBytes:  caches,
		Objectives:  e.Spec.Plan.Objectives.List(),
		Failure:     e.Spec.Plan.Failure,
		ReplicasMin: e.Spec.Plan.ReplicasMin,
		ReplicasMax: e.Spec.Plan.ReplicasMax,
		Confidence:  e.Spec.Plan.Confidence,
		Measure:     x.measure,
		Speculate:   x.speculate,
		Users:       e.planUsers(),
		Screen:      !o.FullProbes,
		ProbeStarted: func(st string, c results.Candidate, screen bool) {
			if screen {
				logf("%s: screening %s\n", st, c)
				return
			}
			logf("%s: probing %s\n", st, c)
		},
	}
	out, err := s.Run(ctx)
	x.stop()
	return out, w, err
}

// executeTrial runs one trial and records it; a run stopped by an
// overloaded station is recorded with the metric overloaded = 1 and the
// station's kind, so that a resumed search reads the same verdict back.
func (e *Experiment) executeTrial(ctx context.Context, run Run[Spec]) (*results.Run, error) {
	res, err := run.Spec.ExecuteContext(ctx, run.Strategy, run.Seed, e.Dir)
	var oe *model.OverloadError
	if errors.As(err, &oe) {
		station := "overloaded.backend"
		if oe.Station == "the NFS server" {
			station = "overloaded.nfs"
		}
		return &results.Run{PlannedRun: planned(run), Metrics: []results.Metric{{Name: "overloaded", Value: 1}, {Name: station, Value: 1}}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", run.ID, err)
	}
	rec := Record(run, res)
	mc := 0.0
	for _, v := range rec.Backends {
		if v.Name == "backend.max_connections" {
			mc = slices.Max(v.Values)
		}
	}
	rec.Metrics = append(rec.Metrics, results.Metric{Name: MaxConnectionsMetric, Value: mc})
	lm := math.NaN()
	for _, h := range rec.Histograms {
		if h.Name == "latency/LMTP" {
			lm = h.Hist.Mean()
		}
	}
	rec.Metrics = append(rec.Metrics, results.Metric{Name: LMTPMeanMetric, Unit: "s", Value: lm})
	return rec, nil
}

// outcomeOf reads a recorded run back as a trial's outcome.
func outcomeOf(r *results.Run) Outcome {
	o := Outcome{Metrics: make(map[string]float64, len(r.Metrics))}
	for _, m := range r.Metrics {
		o.Metrics[m.Name] = m.Value
	}
	switch {
	case o.Metrics["overloaded.nfs"] == 1:
		o.Overloaded = "the NFS server"
	case o.Metrics["overloaded"] == 1:
		o.Overloaded = "a backend"
	}
	return o
}
