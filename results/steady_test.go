package results_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/mailsim/mailsim/results"
)

// TestSteadyStateWarning: runs whose measured period is not stationary are
// named; runs without the metric (older sets) are not judged.
func TestSteadyStateWarning(t *testing.T) {
	run := func(id string, ms ...results.Metric) *results.Run {
		return &results.Run{PlannedRun: results.PlannedRun{ID: id}, Metrics: ms}
	}
	for _, tc := range []struct {
		name string
		runs []*results.Run
		want []string
	}{
		{"all stationary", []*results.Run{run("a", results.Metric{Name: results.SteadyStateMetric, Value: 1})}, nil},
		{"one not", []*results.Run{run("a", results.Metric{Name: results.SteadyStateMetric, Value: 1}), run("b", results.Metric{Name: results.SteadyStateMetric, Value: 0})}, []string{"b"}},
		{"no metric", []*results.Run{run("a")}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &results.Set{Runs: tc.runs}
			got := s.Nonstationary()
			if !slices.Equal(got, tc.want) {
				t.Errorf("Nonstationary() = %v, want %v", got, tc.want)
			}
			w := s.SteadyStateWarning()
			if (w != "") != (len(tc.want) > 0) || len(tc.want) > 0 && !strings.Contains(w, "run.warmup") {
				t.Errorf("warning %q", w)
			}
		})
	}
}
