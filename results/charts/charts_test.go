package charts_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/cmpimg"

	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/results/charts"
	"github.com/mailsim/mailsim/results/resultstest"
)

var update = flag.Bool("update", false, "rewrite the golden images in testdata")

func synthSet(t *testing.T) *results.Set {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "set")
	o := resultstest.Default
	o.Samples = 500
	if err := resultstest.WriteSet(dir, o); err != nil {
		t.Fatal(err)
	}
	s, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestGoldenImages renders every chart kind from the synthetic set and
// compares it with testdata/<name>_golden.{png,svg}: SVG byte for byte,
// PNG pixel for pixel (cmpimg, as gonum/plot's own tests do).
func TestGoldenImages(t *testing.T) {
	s := synthSet(t)
	pt := s.Points()[1]
	imap, _ := charts.LatencyClassOf(s, "IMAP")
	sel, _ := charts.LatencyClassOf(s, "SELECT")
	tests := []struct {
		name string
		make func() (*charts.Chart, error)
	}{
		{"latency_cdf", func() (*charts.Chart, error) { return charts.LatencyCDFChart(s, pt, imap) }},
		{"latency_cdf_select", func() (*charts.Chart, error) { return charts.LatencyCDFChart(s, pt, sel) }},
		{"metric_vs_param", func() (*charts.Chart, error) {
			return charts.MetricVsParamChart(s, "imap.latency.p99", "cluster.backends")
		}},
		{"metric_vs_param_share", func() (*charts.Chart, error) {
			return charts.MetricVsParamChart(s, "cache.hit_ratio", "cluster.backends")
		}},
		{"backend_load", func() (*charts.Chart, error) { return charts.BackendLoadChart(s, pt, "backend.cpu_util") }},
		{"incidents", func() (*charts.Chart, error) { return charts.IncidentsChart(s, pt, "failed_logins") }},
		{"plan_objective", func() (*charts.Chart, error) { return charts.PlanObjectiveChart(synthPlan(), "backend CPU") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.make()
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []charts.Format{charts.PNG, charts.SVG} {
				got, err := c.Render(f, charts.DefaultWidth, charts.DefaultHeight)
				if err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", tt.name+"_golden."+string(f))
				if *update {
					if err := os.MkdirAll("testdata", 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				ok, err := cmpimg.Equal(string(f), got, want)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					bad := filepath.Join(t.TempDir(), tt.name+"."+string(f))
					os.WriteFile(bad, got, 0o644)
					t.Errorf("%s differs from %s (new image in %s; go test -update accepts it)", tt.name, golden, bad)
				}
			}
		})
	}
}

func TestChartErrors(t *testing.T) {
	s := synthSet(t)
	pt := s.Points()[0]
	tests := []struct {
		name string
		err  func() error
		want string
	}{
		{"unknown metric", func() error { _, err := charts.MetricVsParamChart(s, "nope", "cluster.backends"); return err }, "no metric nope"},
		{"unswept key", func() error {
			_, err := charts.MetricVsParamChart(s, "stale_reads", "nfs.client.actimeo")
			return err
		}, "not a swept parameter"},
		{"unknown histogram", func() error {
			_, err := charts.LatencyCDFChart(s, pt, charts.LatencyClass{Name: "NOOP", Histograms: []string{"latency/NOOP"}})
			return err
		}, "no histogram"},
		{"empty class", func() error { _, err := charts.LatencyCDFChart(s, pt, charts.LatencyClass{Name: "none"}); return err }, "names no histogram"},
		{"unknown vector", func() error { _, err := charts.BackendLoadChart(s, pt, "backend.nope"); return err }, "no per-backend vector"},
		{"unknown column", func() error { _, err := charts.IncidentsChart(s, pt, "nope"); return err }, "no time series column"},
		{"unknown objective", func() error { _, err := charts.PlanObjectiveChart(synthPlan(), "nope"); return err }, "no objective"},
		{"unknown format", func() error {
			c, _ := charts.IncidentsChart(s, pt, "stale_reads")
			_, err := c.Render("gif", charts.DefaultWidth, charts.DefaultHeight)
			return err
		}, "unknown format"},
		{"bare plot, unknown format", func() error {
			c, _ := charts.IncidentsChart(s, pt, "stale_reads")
			_, err := charts.Render(c.Plot, "gif", charts.DefaultWidth, charts.DefaultHeight)
			return err
		}, "unknown format"},
	}
	for _, tt := range tests {
		if err := tt.err(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

// synthPlan is a capacity plan whose busiest backend's CPU is 30/n (one
// backend down: 30/(n-1)), searched at 64, 43 and 42 backends for two
// strategies, the second one a little busier.
func synthPlan() *results.PlanOutcome {
	o := &results.PlanOutcome{Users: 1000, Confidence: 0.95, ReplicasMin: 2, ReplicasMax: 3, Failure: true,
		Objectives: []results.Objective{{Name: "backend CPU", Metric: "backend.cpu_util.max", Limit: 0.7}}}
	for k, st := range []string{"random", "director"} {
		sp := results.StrategyPlan{Strategy: st, Found: true, Binding: "synthetic"}
		for _, n := range []int{64, 48, 44, 43} {
			c := results.Candidate{Backends: n, NFSThreads: 8, CacheBytes: 1 << 30}
			load := 30 * (1 + 0.05*float64(k))
			normal := results.Check{Objective: "backend CPU", Scenario: results.ScenarioNormal, N: 2, Mean: load / float64(n), Verdict: results.Pass}
			normal.Upper = normal.Mean * 1.01
			down := results.Check{Objective: "backend CPU", Scenario: results.ScenarioFailure, N: 2, Mean: load / float64(n-1), Verdict: results.Pass}
			down.Upper = down.Mean * 1.02
			pass := down.Upper <= 0.7
			if !pass {
				down.Verdict = results.Fail
			}
			sp.Probes = append(sp.Probes, results.Probe{Candidate: c, Pass: pass, Checks: []results.Check{normal, down}})
			if pass {
				sp.Chosen = c
			}
		}
		o.Strategies = append(o.Strategies, sp)
	}
	return o
}
