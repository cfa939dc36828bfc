package results_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/results/resultstest"
)

func TestSideBySide(t *testing.T) {
	base := t.TempDir()
	sim, real := filepath.Join(base, "sim"), filepath.Join(base, "real")
	o := resultstest.Options{Backends: []int{4, 8}, Strategies: []string{"random", "director"}, Replicas: 2, Samples: 100}
	writeAll(t, sim, o)
	m, runs := resultstest.Build(o)
	m.Source = results.Source{Kind: "testbed", Detail: []string{"topology one-kernel"}}
	w, err := results.Create(real, m, results.Session{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs[:len(runs)-1] { // one testbed run missing
		if err := w.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	a, err := results.Read(sim)
	if err != nil {
		t.Fatal(err)
	}
	b, err := results.Read(real)
	if err != nil {
		t.Fatal(err)
	}
	labels := []string{results.Label(a, a, b), results.Label(b, a, b)}
	if want := []string{"model", "testbed"}; !reflect.DeepEqual(labels, want) {
		t.Fatalf("labels %v, want %v", labels, want)
	}
	s, err := results.SideBySide([]*results.Set{a, b}, labels)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"random [model]", "random [testbed]", "director [model]", "director [testbed]"}
	if got := s.Strategies(); !reflect.DeepEqual(got, want) {
		t.Errorf("strategies %v, want %v", got, want)
	}
	if got, want := len(s.Runs), len(a.Runs)+len(b.Runs); got != want {
		t.Errorf("%d runs, want %d", got, want)
	}
	c, err := results.Compare(s, results.CompareOptions{Baseline: "random [model]"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Points) != 2 {
		t.Fatalf("%d points, want 2", len(c.Points))
	}
	// A set of another sweep cannot stand beside these.
	other := filepath.Join(base, "other")
	writeAll(t, other, resultstest.Options{Backends: []int{2}, Strategies: []string{"random"}, Replicas: 1, Samples: 10})
	x, err := results.Read(other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := results.SideBySide([]*results.Set{a, x}, []string{"a", "x"}); err == nil {
		t.Error("sets of different sweeps stood side by side")
	}
	if _, err := results.SideBySide([]*results.Set{a, a}, []string{"sim", "sim"}); err == nil {
		t.Error("one set stood beside itself")
	}
	if got := results.Label(a, a, x); got != "sim" {
		t.Errorf("two model sets: label %q, want the folder name", got)
	}
}

// TestSideBySideAnswer: sets side by side are compared strategy by
// strategy across the sets, and a metric only one set measures makes no
// statement.
func TestSideBySideAnswer(t *testing.T) {
	o := resultstest.Options{Backends: []int{4}, Strategies: []string{"random", "director"}, Replicas: 3, Samples: 50}
	model := readSynth(t, o)
	real := readSynth(t, o)
	for _, set := range []*results.Set{model, real} {
		for _, r := range set.Runs {
			var kept []results.Metric
			for _, m := range r.Metrics {
				switch {
				case m.Name == "stale_reads" && set == real: // the real system does not count these
					continue
				case m.Name == "imap.latency.p99":
					// 100 ms and a little per replica in the model,
					// twenty times that on the real system.
					m.Value = 0.1 + 0.001*float64(r.Replica)
					if set == real {
						m.Value *= 20
					}
				}
				kept = append(kept, m)
			}
			r.Metrics = kept
		}
	}
	set, err := results.SideBySide([]*results.Set{model, real}, []string{"model", "testbed"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := results.Compare(set, results.CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var latency string
	for _, st := range c.Statements() {
		switch st.Metric.Name {
		case "stale_reads":
			if strings.Contains(st.Text, "testbed") {
				t.Errorf("a statement about the testbed, which has no value: %s", st.Text)
			}
		case "imap.latency.p99":
			latency = st.Text
		}
	}
	for _, want := range []string{"random: model ", ", testbed ", "(20×)", "director: model "} {
		if !strings.Contains(latency, want) {
			t.Errorf("latency statement lacks %q: %s", want, latency)
		}
	}
}
