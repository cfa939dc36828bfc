package results

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Label names a set in a side-by-side table: its source ("model" or
// "testbed"), or its folder's name when two sets share a source.
func Label(s *Set, others ...*Set) string {
	src := s.Manifest.Source.Kind
	if src == "" {
		src = "model"
	}
	for _, o := range others {
		if o == s {
			continue
		}
		k := o.Manifest.Source.Kind
		if k == "" {
			k = "model"
		}
		if k == src {
			return filepath.Base(s.Dir)
		}
	}
	return src
}

// SideBySide combines sets of the same experiment (a simulated set and a
// testbed set of one spec, say) into one set whose strategies are
// "<strategy> [<label>]", ordered strategy by strategy, so that [Compare]
// puts each strategy's model and real columns next to each other. The
// sets must have the same sweep points; runs keep their replica numbers
// and seeds, so replicas pair across sets as they do across strategies.
func SideBySide(sets []*Set, labels []string) (*Set, error) {
	if len(sets) == 0 || len(sets) != len(labels) {
		return nil, fmt.Errorf("results: side by side needs one label per set")
	}
	for i, l := range labels {
		for _, o := range labels[:i] {
			if l == o {
				return nil, fmt.Errorf("results: two sets are labelled %q (the same set twice, or two sets of one source in folders of one name)", l)
			}
		}
	}
	first := sets[0]
	keyOf := func(s *Set) string {
		var ks []string
		for _, p := range s.Points() {
			ks = append(ks, pointKey(p))
		}
		return strings.Join(ks, "|")
	}
	for i, s := range sets[1:] {
		if keyOf(s) != keyOf(first) {
			return nil, fmt.Errorf("results: %s and %s have different sweep points; only sets of one spec can stand side by side", first.Dir, sets[i+1].Dir)
		}
	}
	m := *first.Manifest
	m.Plan = nil
	m.Sparse = false
	m.Source = Source{}
	out := &Set{Dir: first.Dir, Manifest: &m, Sources: slices.Clone(labels)}
	seenMetric := map[string]bool{}
	m.Metrics = nil
	for _, s := range sets {
		for _, mi := range s.Metrics() {
			if !seenMetric[mi.Name] {
				seenMetric[mi.Name] = true
				m.Metrics = append(m.Metrics, mi)
			}
		}
	}
	var strategies []string
	seen := map[string]bool{}
	for _, s := range sets {
		for _, st := range s.Strategies() {
			if !seen[st] {
				seen[st] = true
				strategies = append(strategies, st)
			}
		}
	}
	for _, st := range strategies {
		for i, s := range sets {
			name := st + " [" + labels[i] + "]"
			prefix := labels[i] + "-"
			for _, p := range s.Manifest.Plan {
				if p.Strategy != st {
					continue
				}
				p.Strategy, p.ID = name, prefix+p.ID
				m.Plan = append(m.Plan, p)
			}
			for _, r := range s.Runs {
				if r.Strategy != st {
					continue
				}
				c := *r
				c.Strategy, c.ID = name, prefix+r.ID
				out.Runs = append(out.Runs, &c)
			}
		}
	}
	return out, nil
}
