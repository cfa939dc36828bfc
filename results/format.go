package results

import (
	"fmt"
	"strings"
	"time"

	"github.com/mailsim/mailsim/model/hist"
)

// FormatVersion is the version of the result-set format that this package
// writes. Readers accept sets of this version only; FORMAT.md lists what
// changed between versions.
const FormatVersion = 2

// oldestReadable is the oldest format version that [Read] accepts. Sets of
// older versions than FormatVersion are read for tables and reports, but
// never resumed or merged: they record neither the build that wrote them
// nor the fingerprints of their run files.
const oldestReadable = 1

// Param is one key=value coordinate of a sweep point, such as
// cluster.backends=8. Values are kept as the spec wrote them.
type Param struct {
	Key   string
	Value string
}

// Point is a sweep point: an ordered list of parameters. Two runs belong to
// the same point when their points have the same keys and values in the
// same order.
type Point []Param

// String returns the point as space-separated key=value pairs, or "(none)"
// for the single point of an experiment without a sweep.
func (p Point) String() string {
	if len(p) == 0 {
		return "(none)"
	}
	parts := make([]string, len(p))
	for i, kv := range p {
		parts[i] = kv.Key + "=" + kv.Value
	}
	return strings.Join(parts, " ")
}

// Get returns the value of key in p and whether it is there.
func (p Point) Get(key string) (string, bool) {
	for _, kv := range p {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return "", false
}

// Equal reports whether p and q are the same point.
func (p Point) Equal(q Point) bool {
	if len(p) != len(q) {
		return false
	}
	for i := range p {
		if p[i] != q[i] {
			return false
		}
	}
	return true
}

// PlannedRun identifies one run of an experiment before it is done: a sweep
// point, a strategy and a replica, with the run's own seed.
type PlannedRun struct {
	// ID is the run's stable identifier, such as p03-director-r2. It is
	// also the base name of the run's file, so it may hold only letters,
	// digits, '.', '_' and '-', and must not start with '.'.
	ID       string
	Point    Point
	Strategy string
	// Replica numbers the repetitions of a point and strategy. Replicas
	// with the same number at the same point are paired across strategies
	// when differences are computed (common random numbers).
	Replica int
	Seed    uint64
	// Order is the run's position in the full plan of a sparse set (see
	// [Manifest.Sparse]); a sparse set's stored plan lists its runs in
	// this order. It is zero in sets that are not sparse.
	Order int
}

// Better says which direction of a metric is an improvement.
type Better string

// Directions of improvement.
const (
	Lower   Better = "lower"  // smaller is better: latencies, errors, imbalance
	Higher  Better = "higher" // larger is better: cache hit ratios
	Neutral Better = ""       // neither: a descriptive quantity
)

// MetricInfo describes a scalar metric that the runs of a set report.
type MetricInfo struct {
	Name string
	Unit string
	// Better tells the report which way a difference counts as a win.
	Better Better
	// Doc is a one-line description for tables and reports.
	Doc string
}

// Manifest is the identity of a result set: what was asked for and what
// was planned. Two sets with equal manifests and equal run files are the
// same result set.
type Manifest struct {
	// Experiment is the experiment's name from its spec.
	Experiment string
	// Description is the question the experiment answers, from its spec.
	Description string
	// MailsimVersion and Commit identify the program that produced the
	// set.
	MailsimVersion string
	Commit         string
	// Build identifies the build of mailsim that wrote the set; it is
	// part of the identity. [Create] and [Merge] record [CurrentBuild]
	// when it is zero. Sets of format version 1 have none.
	Build Build
	// Seed is the experiment seed that the run seeds derive from.
	Seed uint64
	// SpecGiven is the spec file as the user wrote it, byte for byte;
	// SpecExpanded is the same spec with every default filled in. Both are
	// stored as files of their own beside the manifest.
	SpecGiven    []byte
	SpecExpanded []byte
	// Metrics lists the scalar metrics, in the order tables show them.
	// Runs may report metrics that are not listed; those follow in the
	// order of first appearance.
	Metrics []MetricInfo
	// Sparse marks the plan of an adaptive search, such as a capacity
	// plan's, which decides as it goes which of many possible runs it
	// needs. The program writing a sparse set holds the full plan (every
	// run the search might make, numbered by [PlannedRun.Order]); the
	// manifest.json on disk lists only the runs the set holds, each added
	// before its run file is written, so a set cut short is still
	// readable and its plan never names thousands of runs nobody made.
	Sparse bool
	// Source says where the runs come from when it is not the model: a
	// testbed set's Kind is "testbed" and its Detail names the topology,
	// the guest's kernel and packages.
	Source Source
	// Plan lists every run of the experiment in planned order. runs.csv
	// and every table follow this order, whatever order the runs finished
	// in. For a sparse set read from disk it lists the runs the set holds.
	Plan []PlannedRun
}

// Source describes what produced a set's runs; the zero Source is the
// simulation model.
type Source struct {
	// Kind is "testbed" for runs on real kernels and real Dovecot, ""
	// for the model.
	Kind string
	// Detail lists what a reader needs to judge the runs: topology,
	// kernel, package versions.
	Detail []string
}

// Session records one writing session on a set: the machine, the wall
// clock and the worker count. Sessions are provenance, not identity.
type Session struct {
	Host     string
	Started  time.Time
	Finished time.Time
	Workers  int
	// Shard is the shard this session ran, such as "2/8", or "" for all.
	Shard string
	// Runs counts the runs that this session added.
	Runs int
	// Note is free text, such as the command line.
	Note string
}

// Provenance is what varies between otherwise identical result sets. It is
// stored in provenance.json and excluded from the set's identity.
type Provenance struct {
	Sessions []Session
}

// Metric is one scalar result of a run.
type Metric struct {
	Name  string
	Unit  string
	Value float64
}

// Histogram is a named distribution of a run, such as latency/SELECT, in
// the fixed buckets of package hist.
type Histogram struct {
	Name string
	Unit string
	Hist hist.Histogram
}

// Vector is a per-backend quantity of a run, one value per backend in the
// order of the cluster's backend list.
type Vector struct {
	Name   string
	Unit   string
	Values []float64
}

// Column is one named column of a time series.
type Column struct {
	Name   string
	Unit   string
	Values []float64
}

// Series is a run's time series: samples at a fixed interval from the
// start of the run. Sample i covers [Start+i·Interval, Start+(i+1)·Interval).
type Series struct {
	Start    time.Duration
	Interval time.Duration
	Columns  []Column
}

// Len returns the number of samples, the length of the longest column.
func (s *Series) Len() int {
	n := 0
	for _, c := range s.Columns {
		n = max(n, len(c.Values))
	}
	return n
}

// Column returns the column called name, or nil.
func (s *Series) Column(name string) *Column {
	for i := range s.Columns {
		if s.Columns[i].Name == name {
			return &s.Columns[i]
		}
	}
	return nil
}

// Event is something that happened to the cluster during a run at a known
// simulated time, such as a fault injected by the experiment.
type Event struct {
	At time.Duration
	// Kind is a short machine-readable name, such as "backend.crash".
	Kind string
	// Detail is free text, such as "backend 3".
	Detail string
}

// Run is the record of one finished run.
type Run struct {
	PlannedRun
	// Metrics are the run's scalar results in the producer's order.
	Metrics []Metric
	// Histograms are stored sorted by name.
	Histograms []Histogram
	// Backends are the per-backend vectors, stored sorted by name.
	Backends []Vector
	// Series is the run's time series, or nil.
	Series *Series
	// Events are stored in time order (ties keep the producer's order).
	Events []Event
}

// Metric returns the value of the metric called name and whether the run
// has it.
func (r *Run) Metric(name string) (float64, bool) {
	for _, m := range r.Metrics {
		if m.Name == name {
			return m.Value, true
		}
	}
	return 0, false
}

// Histogram returns the histogram called name, or nil.
func (r *Run) Histogram(name string) *hist.Histogram {
	for i := range r.Histograms {
		if r.Histograms[i].Name == name {
			return &r.Histograms[i].Hist
		}
	}
	return nil
}

// Vector returns the per-backend vector called name, or nil.
func (r *Run) Vector(name string) *Vector {
	for i := range r.Backends {
		if r.Backends[i].Name == name {
			return &r.Backends[i]
		}
	}
	return nil
}

// validID reports whether id is usable as a run ID (and so as a file
// name inside the set).
func validID(id string) error {
	if id == "" {
		return fmt.Errorf("results: empty run ID")
	}
	if id[0] == '.' || id[0] == '-' {
		return fmt.Errorf("results: run ID %q must start with a letter or digit", id)
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("results: run ID %q has character %q (allowed: letters, digits, '.', '_', '-')", id, c)
		}
	}
	return nil
}
