package charts

import (
	"fmt"
	"strings"

	"gonum.org/v1/plot"

	"github.com/mailsim/mailsim/results"
)

// This file keeps the entry points that return a bare *plot.Plot, for
// callers not yet using [Chart]. Each draws the same data as its Chart
// counterpart, but as a plain gonum plot: the title and the legend are
// gonum's own, the legend inside the data area, and the titles are the
// metric keys of before. New code should use the Chart functions, which
// put the legend outside the data and title the chart in words.

// plainPlot returns a copy of the chart's plot with title and the
// chart's legend, in the top right corner of the data area.
func (c *Chart) plainPlot(title string) *plot.Plot {
	q := *c.Plot
	q.Title.Text = title
	q.Title.TextStyle = textStyle(titleSize-2, true, ink)
	q.Title.Padding = 6
	q.Legend = plot.NewLegend()
	q.Legend.TextStyle = textStyle(legendSize-1, false, ink)
	q.Legend.Top = true
	q.Legend.XOffs = -4
	q.Legend.YOffs = -4
	for _, e := range c.legend {
		q.Legend.Add(e.text, e.thumbs...)
	}
	return &q
}

// LatencyCDF draws, as a bare plot, the cumulative distribution of the
// histograms called names at point, merged over replicas, one curve per
// strategy; empty names means every histogram of the set. It is
// [LatencyCDFChart] for a class of exactly those histograms; prefer that,
// with a class from [LatencyClasses].
func LatencyCDF(s *results.Set, point results.Point, names []string) (*plot.Plot, error) {
	if len(names) == 0 {
		names = s.HistogramNames()
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("charts: the set has no histograms")
	}
	class := LatencyClass{Name: strings.Join(names, ", "), Title: "Latency", Histograms: names}
	for _, c := range LatencyClasses(s) {
		if strings.Join(c.Histograms, ",") == strings.Join(names, ",") {
			class = c
		}
	}
	c, err := LatencyCDFChart(s, point, class)
	if err != nil {
		return nil, err
	}
	what := strings.Join(names, ", ")
	if len(names) > 3 {
		what = fmt.Sprintf("%d histograms", len(names))
	}
	return c.plainPlot(fmt.Sprintf("Latency CDF of %s%s", what, atPoint(point))), nil
}

// MetricVsParam is [MetricVsParamChart] as a bare plot.
func MetricVsParam(s *results.Set, metric, key string) (*plot.Plot, error) {
	c, err := MetricVsParamChart(s, metric, key)
	if err != nil {
		return nil, err
	}
	return c.plainPlot(fmt.Sprintf("%s against %s (mean, 95%% CI)", metric, key)), nil
}

// BackendLoad is [BackendLoadChart] as a bare plot.
func BackendLoad(s *results.Set, point results.Point, name string) (*plot.Plot, error) {
	c, err := BackendLoadChart(s, point, name)
	if err != nil {
		return nil, err
	}
	return c.plainPlot(fmt.Sprintf("%s per backend%s (mean of %d replicas)", name, atPoint(point), replicasAt(s, point))), nil
}

// Incidents is [IncidentsChart] as a bare plot.
func Incidents(s *results.Set, point results.Point, name string) (*plot.Plot, error) {
	c, err := IncidentsChart(s, point, name)
	if err != nil {
		return nil, err
	}
	return c.plainPlot(fmt.Sprintf("%s over time%s (mean of %d replicas)", name, atPoint(point), replicasAt(s, point))), nil
}

// PlanObjective is [PlanObjectiveChart] as a bare plot.
func PlanObjective(o *results.PlanOutcome, objective string) (*plot.Plot, error) {
	c, err := PlanObjectiveChart(o, objective)
	if err != nil {
		return nil, err
	}
	return c.plainPlot(fmt.Sprintf("%s against backends (mean, %g%% upper bound)", objective, 100*o.Confidence)), nil
}

// replicasAt is the most replicas of any strategy at point.
func replicasAt(s *results.Set, point results.Point) int {
	n := 0
	for _, st := range s.Strategies() {
		n = max(n, len(s.RunsAt(point, st)))
	}
	return n
}
