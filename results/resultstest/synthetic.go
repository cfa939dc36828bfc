// Package resultstest builds small synthetic result sets for the tests of the
// results packages. The numbers are made up: drawn from seeded random
// streams with strategy effects chosen to exercise tables and charts
// (a clear winner on some metrics, no difference on others). They say
// nothing about real mail clusters.
package resultstest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/mailsim/mailsim/model/hist"
	"github.com/mailsim/mailsim/results"
)

// Options shape a synthetic set.
type Options struct {
	// Backends are the values of the swept cluster.backends parameter.
	Backends []int
	// Strategies are the strategy names, each with its own made-up effect.
	Strategies []string
	// Replicas per point and strategy.
	Replicas int
	// Samples per latency histogram.
	Samples int
}

// Default is a small set: two sweep points, three strategies, three
// replicas.
var Default = Options{
	Backends:   []int{4, 8},
	Strategies: []string{"random", "per-ip", "director"},
	Replicas:   3,
	Samples:    2000,
}

// effect is a strategy's made-up influence on the synthetic metrics.
type effect struct {
	latency   float64 // multiplies latencies
	stale     float64 // stale reads per 10 s, before the fault
	hit       float64 // cache hit ratio
	imbalance float64 // spread of load over backends
	failAfter float64 // failed logins per 10 s just after the fault
}

var effects = map[string]effect{
	"random":      {latency: 1.45, stale: 4, hit: 0.62, imbalance: 0.05, failAfter: 2},
	"per-ip":      {latency: 1.12, stale: 0.8, hit: 0.81, imbalance: 0.30, failAfter: 6},
	"director":    {latency: 1.0, stale: 0, hit: 0.90, imbalance: 0.12, failAfter: 12},
	"owner-proxy": {latency: 1.05, stale: 0, hit: 0.89, imbalance: 0.12, failAfter: 9},
	// Two more, for tables as wide as the catalogue's widest.
	"director-bounded": {latency: 1.02, stale: 0, hit: 0.88, imbalance: 0.06, failAfter: 12},
	"passdb-static":    {latency: 1.0, stale: 0, hit: 0.90, imbalance: 0.15, failAfter: 30},
}

// Metrics is the synthetic set's metric catalogue.
var Metrics = []results.MetricInfo{
	{Name: "imap.latency.p99", Unit: "s", Better: results.Lower, Doc: "99th percentile of IMAP command latency"},
	{Name: "cache.hit_ratio", Unit: "", Better: results.Higher, Doc: "share of reads served from the backend's cache"},
	{Name: "stale_reads", Unit: "", Better: results.Lower, Doc: "reads that used out-of-date attributes"},
	{Name: "load_imbalance", Unit: "", Better: results.Lower, Doc: "coefficient of variation of backend load"},
	{Name: "failed_logins", Unit: "", Better: results.Lower, Doc: "logins that found no backend"},
}

// Spec is the synthetic set's spec text.
const Spec = `# Synthetic experiment for tests: the numbers are made up.
name = "synthetic-routing"
description = "Which routing strategy keeps IMAP latency and stale reads lowest when a backend fails? (synthetic data)"
seed = 42
`

// FixedBuild is the build that synthetic sets record.
var FixedBuild = results.Build{Version: "(test)", Revision: "0000000", Go: "go1", Platform: "test/test"}

// Build returns the manifest and the runs of a synthetic set.
func Build(o Options) (*results.Manifest, []*results.Run) {
	m := &results.Manifest{
		Experiment:     "synthetic-routing",
		Description:    "Which routing strategy keeps IMAP latency and stale reads lowest when a backend fails? (synthetic data)",
		MailsimVersion: "test",
		Commit:         "0000000",
		// A fixed build, so that the set's bytes do not change with
		// every compilation of the tests.
		Build:        FixedBuild,
		Seed:         42,
		SpecGiven:    []byte(Spec),
		SpecExpanded: []byte(Spec + "replicas = " + fmt.Sprint(o.Replicas) + "\n"),
		Metrics:      Metrics,
	}
	var runs []*results.Run
	for pi, nb := range o.Backends {
		pt := results.Point{{Key: "cluster.backends", Value: fmt.Sprint(nb)}}
		for _, st := range o.Strategies {
			for rep := 1; rep <= o.Replicas; rep++ {
				p := results.PlannedRun{
					ID:       fmt.Sprintf("p%02d-%s-r%d", pi, st, rep),
					Point:    pt,
					Strategy: st,
					Replica:  rep,
					// The same seed for every strategy of a point and
					// replica: common random numbers.
					Seed: uint64(1000*pi + rep),
				}
				m.Plan = append(m.Plan, p)
				runs = append(runs, run(p, nb, o.Samples))
			}
		}
	}
	return m, runs
}

func run(p results.PlannedRun, backends, samples int) *results.Run {
	e, ok := effects[p.Strategy]
	if !ok {
		e = effect{latency: 1.2, stale: 1, hit: 0.7, imbalance: 0.2, failAfter: 5}
	}
	// The workload stream depends on the seed only, so every strategy
	// sees the same replica-to-replica variation.
	work := rand.New(rand.NewPCG(p.Seed, 1))
	load := 1 + 0.2*work.NormFloat64() // this replica's load level
	scale := 8 / float64(backends)     // fewer backends, more load each
	noise := rand.New(rand.NewPCG(p.Seed, uint64(len(p.Strategy))*7919+uint64(p.Strategy[0])))
	r := &results.Run{PlannedRun: p}

	var all hist.Histogram
	for _, cmd := range []struct {
		name   string
		median float64
	}{{"latency/FETCH", 0.004}, {"latency/SELECT", 0.012}} {
		var h hist.Histogram
		med := cmd.median * e.latency * load * (0.7 + 0.3*scale)
		for range samples {
			v := med * math.Exp(0.8*work.NormFloat64())
			h.Add(v)
		}
		all.Merge(&h)
		r.Histograms = append(r.Histograms, results.Histogram{Name: cmd.name, Unit: "s", Hist: h})
	}
	stale := e.stale * load * scale * 60 * (1 + 0.1*noise.NormFloat64())
	r.Metrics = []results.Metric{
		{Name: "imap.latency.p99", Unit: "s", Value: all.Quantile(0.99)},
		{Name: "cache.hit_ratio", Value: math.Min(1, e.hit*(1+0.02*noise.NormFloat64()))},
		{Name: "stale_reads", Value: math.Round(math.Max(0, stale))},
		{Name: "load_imbalance", Value: e.imbalance * (1 + 0.15*noise.NormFloat64())},
		{Name: "failed_logins", Value: math.Round(e.failAfter * 3 * (1 + 0.2*noise.NormFloat64()))},
	}

	cpu := results.Vector{Name: "backend.cpu_util", Unit: ""}
	cmds := results.Vector{Name: "backend.commands", Unit: ""}
	for b := range backends {
		skew := 1 + e.imbalance*math.Sin(float64(b*7+1))
		cpu.Values = append(cpu.Values, math.Min(1, 0.5*load*scale*skew))
		cmds.Values = append(cmds.Values, math.Round(20000*load*scale*skew))
	}
	r.Backends = []results.Vector{cpu, cmds}

	const n = 60
	fault := 300 * time.Second
	s := &results.Series{Interval: 10 * time.Second}
	staleC := results.Column{Name: "stale_reads"}
	failC := results.Column{Name: "failed_logins"}
	connC := results.Column{Name: "active_connections"}
	for i := range n {
		t := time.Duration(i) * s.Interval
		var after float64 // decays after the fault
		if t >= fault {
			after = math.Exp(-float64(t-fault) / float64(40*time.Second))
		}
		staleC.Values = append(staleC.Values, math.Round(math.Max(0, e.stale*load*(1+3*after)+noise.NormFloat64()*0.3*e.stale)))
		failC.Values = append(failC.Values, math.Round(math.Max(0, e.failAfter*after*(1+0.2*noise.NormFloat64()))))
		connC.Values = append(connC.Values, math.Round(400*load*(1-0.25*after)))
	}
	s.Columns = []results.Column{staleC, failC, connC}
	r.Series = s
	r.Events = []results.Event{{At: fault, Kind: "backend.crash", Detail: "backend 1"}}
	return r
}

// WriteSet writes the whole synthetic set to dir and finalizes it.
func WriteSet(dir string, o Options) error {
	m, runs := Build(o)
	return Write(dir, m, runs)
}

// Write writes a set of manifest m and runs to dir and finalizes it: a
// set built with [Build] and then edited by a test.
func Write(dir string, m *results.Manifest, runs []*results.Run) error {
	w, err := results.Create(dir, m, results.Session{Host: "synthetic", Workers: 1})
	if err != nil {
		return err
	}
	for _, r := range runs {
		if err := w.Add(r); err != nil {
			return err
		}
	}
	return w.Finalize(time.Time{})
}
