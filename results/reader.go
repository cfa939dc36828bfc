package results

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Set is a result set read from disk.
type Set struct {
	// Dir is the folder the set was read from.
	Dir      string
	Manifest *Manifest
	// Format is the set's format version.
	Format int
	// Provenance is empty when the set has no provenance.json, or an
	// unreadable one (Warnings then says so).
	Provenance *Provenance
	// Runs holds the finished runs in planned order.
	Runs []*Run
	// Warnings lists what was amiss but did not stop the reading, such
	// as an unreadable provenance.json, which is not part of the set's
	// identity.
	Warnings []string
	// Sources labels the sets that [SideBySide] combined into this one,
	// in order ("model", "testbed"); it is nil for a set read from disk.
	Sources []string
}

// Read loads the result set in dir: its manifest, provenance and every
// finished run. It fails on a file that does not parse, a run file that
// disagrees with its plan entry or comes from another spec, a run file of
// no planned run, or a set whose creation or merge did not finish. An
// unreadable provenance.json is reported in [Set.Warnings].
func Read(dir string) (*Set, error) {
	op, err := unfinished(dir)
	if err != nil {
		return nil, err
	}
	if op != "" {
		return nil, unfinishedError(dir, op)
	}
	return read(dir)
}

// read is Read without the check that the set is finished, for the
// operations that finish it.
func read(dir string) (*Set, error) {
	m, format, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	s := &Set{Dir: dir, Manifest: m, Format: format}
	if s.Provenance, err = readProvenance(dir); err != nil {
		s.Provenance = &Provenance{}
		s.Warnings = append(s.Warnings, strings.TrimPrefix(err.Error(), "results: ")+"; the set's sessions are not known")
	}
	index := planIndex(m)
	ids, err := listRunFiles(dir, index)
	if err != nil {
		return nil, err
	}
	fp := fingerprint(m)
	for _, id := range ids {
		r, err := readRunFile(dir, id, &m.Plan[index[id]], fp, format)
		if err != nil {
			return nil, err
		}
		s.Runs = append(s.Runs, r)
	}
	return s, nil
}

func planIndex(m *Manifest) map[string]int {
	index := make(map[string]int, len(m.Plan))
	for i, p := range m.Plan {
		index[p.ID] = i
	}
	return index
}

// readManifest reads a set's manifest and spec files, and returns the
// manifest with the set's format version.
func readManifest(dir string) (*Manifest, int, error) {
	name := filepath.Join(dir, manifestFile)
	if _, err := os.Stat(name); errors.Is(err, os.ErrNotExist) {
		return nil, 0, fmt.Errorf("results: %s is not a result set (no %s)", dir, manifestFile)
	}
	b, err := readLimited(name, name, maxManifestBytes)
	if err != nil {
		return nil, 0, err
	}
	m, format, err := decodeManifest(name, b)
	if err != nil {
		return nil, 0, err
	}
	for _, f := range []struct {
		name string
		to   *[]byte
	}{{specGivenFile, &m.SpecGiven}, {specExpandedFile, &m.SpecExpanded}} {
		p := filepath.Join(dir, f.name)
		if *f.to, err = readLimited(p, p, maxSpecBytes); err != nil {
			return nil, 0, err
		}
	}
	return m, format, nil
}

// readProvenance reads a set's provenance.json: none when the file is
// absent, and an error naming the file when it cannot be read.
func readProvenance(dir string) (*Provenance, error) {
	name := filepath.Join(dir, provenanceFile)
	if _, err := os.Stat(name); errors.Is(err, os.ErrNotExist) {
		return &Provenance{}, nil
	}
	b, err := readLimited(name, name, maxProvenanceBytes)
	if err != nil {
		return nil, err
	}
	return decodeProvenance(name, b)
}

// Missing returns the IDs of planned runs that are not in the set, in
// planned order; none for a sparse set, whose search decides which
// planned runs it needs.
func (s *Set) Missing() []string {
	if s.Manifest.Sparse {
		return nil
	}
	have := make(map[string]bool, len(s.Runs))
	for _, r := range s.Runs {
		have[r.ID] = true
	}
	var out []string
	for _, p := range s.Manifest.Plan {
		if !have[p.ID] {
			out = append(out, p.ID)
		}
	}
	return out
}

// Run returns the finished run called id, or nil.
func (s *Set) Run(id string) *Run {
	for _, r := range s.Runs {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// Points returns the distinct sweep points in planned order; for a sparse
// set, only those with at least one finished run.
func (s *Set) Points() []Point {
	if !s.Manifest.Sparse {
		return planPoints(s.Manifest.Plan)
	}
	have := make(map[string]bool, len(s.Runs))
	for _, r := range s.Runs {
		have[r.ID] = true
	}
	var plan []PlannedRun
	for _, p := range s.Manifest.Plan {
		if have[p.ID] {
			plan = append(plan, p)
		}
	}
	return planPoints(plan)
}

func planPoints(plan []PlannedRun) []Point {
	var pts []Point
	seen := map[string]bool{}
	for _, p := range plan {
		k := pointKey(p.Point)
		if !seen[k] {
			seen[k] = true
			pts = append(pts, p.Point)
		}
	}
	return pts
}

// pointKey is an unambiguous map key for a point.
func pointKey(p Point) string {
	var b []byte
	for _, kv := range p {
		b = fmt.Appendf(b, "%q=%q;", kv.Key, kv.Value)
	}
	return string(b)
}

// Strategies returns the strategy names in order of first appearance in
// the plan.
func (s *Set) Strategies() []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range s.Manifest.Plan {
		if !seen[p.Strategy] {
			seen[p.Strategy] = true
			out = append(out, p.Strategy)
		}
	}
	return out
}

// SweepKeys returns the sweep parameter names in order of first
// appearance in the plan.
func (s *Set) SweepKeys() []string {
	return sweepKeys(s.Manifest.Plan)
}

func sweepKeys(plan []PlannedRun) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range plan {
		for _, kv := range p.Point {
			if !seen[kv.Key] {
				seen[kv.Key] = true
				out = append(out, kv.Key)
			}
		}
	}
	return out
}

// Metrics describes every scalar metric in the set: first those the
// manifest lists, in its order, then any others the runs report, in order
// of first appearance (planned order of runs, then each run's order).
func (s *Set) Metrics() []MetricInfo {
	return metricInfos(s.Manifest, s.Runs)
}

func metricInfos(m *Manifest, runs []*Run) []MetricInfo {
	out := append([]MetricInfo(nil), m.Metrics...)
	seen := map[string]bool{}
	for _, mi := range out {
		seen[mi.Name] = true
	}
	for _, r := range runs {
		for _, mt := range r.Metrics {
			if !seen[mt.Name] {
				seen[mt.Name] = true
				out = append(out, MetricInfo{Name: mt.Name, Unit: mt.Unit})
			}
		}
	}
	return out
}

// RunsAt returns the finished runs of strategy at point, in planned order
// (and so by replica).
func (s *Set) RunsAt(point Point, strategy string) []*Run {
	var out []*Run
	for _, r := range s.Runs {
		if r.Strategy == strategy && r.Point.Equal(point) {
			out = append(out, r)
		}
	}
	return out
}

// HistogramNames returns the names of all histograms in the set, sorted.
func (s *Set) HistogramNames() []string {
	return s.names(func(r *Run) []string {
		var n []string
		for _, h := range r.Histograms {
			n = append(n, h.Name)
		}
		return n
	})
}

// VectorNames returns the names of all per-backend vectors in the set,
// sorted.
func (s *Set) VectorNames() []string {
	return s.names(func(r *Run) []string {
		var n []string
		for _, v := range r.Backends {
			n = append(n, v.Name)
		}
		return n
	})
}

// SeriesColumns returns the names of all time-series columns in the set,
// in order of first appearance.
func (s *Set) SeriesColumns() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range s.Runs {
		if r.Series == nil {
			continue
		}
		for _, c := range r.Series.Columns {
			if !seen[c.Name] {
				seen[c.Name] = true
				out = append(out, c.Name)
			}
		}
	}
	return out
}

func (s *Set) names(of func(*Run) []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range s.Runs {
		for _, n := range of(r) {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	sortStrings(out)
	return out
}
