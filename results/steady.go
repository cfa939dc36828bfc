package results

import (
	"fmt"
	"strings"
)

// SteadyStateMetric is the run metric that says whether a run's measured
// period looks stationary (1) or begins with a transient (0), by MSER-5
// on its open connections and command rate.
const SteadyStateMetric = "steady_state.stationary"

// Nonstationary returns the IDs of the set's runs whose measured period
// does not look stationary (metric [SteadyStateMetric] 0), in plan order.
// Runs without the metric are not judged.
func (s *Set) Nonstationary() []string {
	var ids []string
	for _, r := range s.Runs {
		if v, ok := r.Metric(SteadyStateMetric); ok && v == 0 {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// SteadyStateWarning returns a sentence for tables and reports naming the
// runs of the set whose measured period does not look stationary, or ""
// when there are none.
func (s *Set) SteadyStateWarning() string {
	ids := s.Nonstationary()
	if len(ids) == 0 {
		return ""
	}
	shown := ids
	if len(shown) > 5 {
		shown = shown[:5]
	}
	more := ""
	if len(ids) > len(shown) {
		more = fmt.Sprintf(" and %d more", len(ids)-len(shown))
	}
	return fmt.Sprintf("Warning: the measured period of %d of %d runs does not look stationary (MSER-5 would discard more than a tenth of it, and that part differs from the rest by more than 5%%): %s%s. "+
		"Their averages include a transient; lengthen run.warmup (metrics steady_state.*).",
		len(ids), len(s.Runs), strings.Join(shown, ", "), more)
}
