package results_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/results/resultstest"
)

// BenchmarkWriterAdd measures persisting one finished run durably (encode,
// write, fsync, rename, directory fsync): the cost a sweep pays per run.
func BenchmarkWriterAdd(b *testing.B) {
	o := resultstest.Options{Backends: []int{8}, Strategies: []string{"director"}, Replicas: 1, Samples: 2000}
	m, runs := resultstest.Build(o)
	tmpl := runs[0]
	m.Plan = nil
	for i := range b.N {
		p := tmpl.PlannedRun
		p.ID = fmt.Sprintf("r%d", i)
		m.Plan = append(m.Plan, p)
	}
	w, err := results.Create(filepath.Join(b.TempDir(), "set"), m, results.Session{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		r := *tmpl
		r.PlannedRun = m.Plan[i]
		if err := w.Add(&r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadAndCompare measures reading a 90-run set and building its
// comparison table.
func BenchmarkReadAndCompare(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "set")
	o := resultstest.Options{Backends: []int{2, 4, 8, 16, 32, 64}, Strategies: []string{"random", "per-ip", "director"}, Replicas: 5, Samples: 500}
	if err := resultstest.WriteSet(dir, o); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		s, err := results.Read(dir)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := results.Compare(s, results.CompareOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
