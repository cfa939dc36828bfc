package results_test

import (
	"path/filepath"
	"reflect"
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
