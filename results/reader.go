package results

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Set is a result set read from disk.
type Set struct {
	// Dir is the folder the set was read from.
	Dir      string
	Manifest *Manifest
	// Provenance is empty when the set has no provenance.json.
	Provenance *Provenance
	// Runs holds the finished runs in planned order.
	Runs []*Run
}

// Read loads the result set in dir: its manifest, provenance and every
// finished run. It fails on a file that does not parse, a run file that
// disagrees with its plan entry, or a run file of no planned run.
func Read(dir string) (*Set, error) {
	m, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	prov, err := readProvenance(dir)
	if err != nil {
		return nil, err
	}
	index := planIndex(m)
	ids, err := listRunFiles(dir, index)
	if err != nil {
		return nil, err
	}
	s := &Set{Dir: dir, Manifest: m, Provenance: prov}
	for _, id := range ids {
		r, err := readRunFile(dir, id, &m.Plan[index[id]])
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

func readManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("results: %s is not a result set (no %s)", dir, manifestFile)
		}
		return nil, fmt.Errorf("results: %v", err)
	}
	m, err := decodeManifest(b)
	if err != nil {
		return nil, err
	}
	if m.SpecGiven, err = os.ReadFile(filepath.Join(dir, specGivenFile)); err != nil {
		return nil, fmt.Errorf("results: %v", err)
	}
	if m.SpecExpanded, err = os.ReadFile(filepath.Join(dir, specExpandedFile)); err != nil {
		return nil, fmt.Errorf("results: %v", err)
	}
	if err := checkManifest(m); err != nil {
		return nil, err
	}
	return m, nil
}

func readProvenance(dir string) (*Provenance, error) {
	b, err := os.ReadFile(filepath.Join(dir, provenanceFile))
	if errors.Is(err, os.ErrNotExist) {
		return &Provenance{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("results: %v", err)
	}
	return decodeProvenance(b)
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
