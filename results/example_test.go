package results_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mailsim/mailsim/model/hist"
	"github.com/mailsim/mailsim/results"
)

// A runner creates a set, adds runs as they finish, is interrupted,
// resumes, and finalizes.
func Example() {
	base, _ := os.MkdirTemp("", "mailsim-example")
	defer os.RemoveAll(base)
	dir := filepath.Join(base, "set")

	m := &results.Manifest{
		Experiment: "example",
		Seed:       7,
		SpecGiven:  []byte("name = \"example\"\n"),
		Metrics:    []results.MetricInfo{{Name: "imap.latency.p99", Unit: "s", Better: results.Lower}},
	}
	for i, st := range []string{"random", "director"} {
		for rep := 1; rep <= 2; rep++ {
			m.Plan = append(m.Plan, results.PlannedRun{
				ID: fmt.Sprintf("p00-%s-r%d", st, rep), Strategy: st, Replica: rep, Seed: uint64(100*i + rep),
			})
		}
	}
	finish := func(p results.PlannedRun) *results.Run {
		var h hist.Histogram
		for i := 1; i <= 100; i++ {
			h.Add(float64(i) * 1e-3)
		}
		return &results.Run{
			PlannedRun: p,
			Metrics:    []results.Metric{{Name: "imap.latency.p99", Unit: "s", Value: h.Quantile(0.99)}},
			Histograms: []results.Histogram{{Name: "latency/SELECT", Unit: "s", Hist: h}},
		}
	}

	w, _ := results.Create(dir, m, results.Session{Host: "a"})
	w.Add(finish(m.Plan[2]))
	// ... the process is killed here; later:
	w, _ = results.Open(dir, m, results.Session{Host: "b"})
	fmt.Println("done:", w.Done())
	for _, p := range w.Pending() {
		w.Add(finish(p))
	}
	w.Finalize(time.Time{})

	s, _ := results.Read(dir)
	fmt.Println("runs:", len(s.Runs), "missing:", len(s.Missing()))
	csv, _ := os.ReadFile(filepath.Join(dir, "runs.csv"))
	fmt.Print(string(csv))
	// Output:
	// done: [p00-director-r1]
	// runs: 4 missing: 0
	// id,strategy,replica,seed,imap.latency.p99
	// p00-random-r1,random,1,1,0.1
	// p00-random-r2,random,2,2,0.1
	// p00-director-r1,director,1,101,0.1
	// p00-director-r2,director,2,102,0.1
}
