package charts

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/mailsim/mailsim/results"
)

// PlanObjectiveChart draws one objective of a capacity plan against the
// backend count: per strategy, the mean over replicas at every probe of
// the backend search (normal operation solid, one backend down dashed),
// with the one-sided confidence bound as an error bar, the objective's
// limit as a horizontal line and the chosen configuration ringed (at its
// own thread count and memory, which the legend names when they differ
// from the line's). The axis is ticked at the backend counts probed.
func PlanObjectiveChart(o *results.PlanOutcome, objective string) (*Chart, error) {
	var ob results.Objective
	for _, x := range o.Objectives {
		if x.Name == objective {
			ob = x
		}
	}
	if ob.Name == "" {
		return nil, fmt.Errorf("charts: the plan has no objective %q", objective)
	}
	info := results.MetricInfo{Name: ob.Metric, Unit: ob.Unit}
	vals := []float64{ob.Limit}
	for _, sp := range o.Strategies {
		for _, pr := range sp.Probes {
			for _, c := range pr.Checks {
				if c.Objective == objective && !math.IsNaN(c.Mean) {
					vals = append(vals, c.Mean)
				}
			}
		}
	}
	disp := results.DisplayOf(info, vals...)
	c := &Chart{
		Name:  "plan " + objective,
		Title: withUnit(results.MetricLabel(info), disp.Unit) + " against backends",
	}
	p := newPlot("Backends", unitWords(disp.Unit))
	c.Plot = p
	var probed []int
	lo, hi := disp.Scale*ob.Limit, disp.Scale*ob.Limit
	drawn := 0
	for si := range o.Strategies {
		sp := &o.Strategies[si]
		for k, scen := range []string{results.ScenarioNormal, results.ScenarioFailure} {
			var pts errPoints
			var chosen plotter.XYs
			for _, pr := range sp.Probes {
				if !onBackendAxis(sp, pr.Candidate) {
					continue
				}
				for _, ck := range pr.Checks {
					if ck.Objective != objective || ck.Scenario != scen || math.IsInf(ck.Upper, 0) || math.IsNaN(ck.Mean) {
						continue
					}
					m, up := ck.Mean*disp.Scale, ck.Upper*disp.Scale
					pts.XYs = append(pts.XYs, plotter.XY{X: float64(pr.Backends), Y: m})
					pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{0, up - m})
					lo, hi = math.Min(lo, m), math.Max(hi, up)
					if !slices.Contains(probed, pr.Backends) {
						probed = append(probed, pr.Backends)
					}
				}
			}
			// The chosen configuration, which may have fewer threads or
			// less memory than the backend search's line.
			if pr := sp.Probe(sp.Chosen); sp.Found && pr != nil {
				for _, ck := range pr.Checks {
					if ck.Objective == objective && ck.Scenario == scen && !math.IsNaN(ck.Mean) {
						chosen = append(chosen, plotter.XY{X: float64(pr.Backends), Y: ck.Mean * disp.Scale})
						if !slices.Contains(probed, pr.Backends) {
							probed = append(probed, pr.Backends)
						}
					}
				}
			}
			if len(pts.XYs) == 0 {
				continue
			}
			sorted := pts.sorted()
			ln, sc, err := plotter.NewLinePoints(sorted.XYs)
			if err != nil {
				return nil, fmt.Errorf("charts: %v", err)
			}
			style := lineStyle(si)
			style.Dashes = nil
			if k == 1 {
				style.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
			}
			ln.LineStyle = style
			sc.GlyphStyle = glyphStyle(si)
			eb, err := plotter.NewYErrorBars(sorted)
			if err != nil {
				return nil, fmt.Errorf("charts: %v", err)
			}
			eb.LineStyle = draw.LineStyle{Color: style.Color, Width: vg.Points(1.2)}
			eb.CapWidth = vg.Points(6)
			p.Add(ln, eb, sc)
			label := sp.Strategy
			if k == 1 {
				label += ", one backend down"
			}
			c.addLegend(label, ln, sc)
			if len(chosen) > 0 {
				ring, err := plotter.NewScatter(chosen)
				if err != nil {
					return nil, fmt.Errorf("charts: %v", err)
				}
				ring.GlyphStyle = draw.GlyphStyle{Color: style.Color, Radius: vg.Points(8), Shape: draw.RingGlyph{}}
				p.Add(ring)
				if k == 0 {
					text := sp.Strategy + " chosen: " + strconv.Itoa(sp.Chosen.Backends) + " backends"
					if !onBackendAxis(sp, sp.Chosen) {
						text += fmt.Sprintf(", %d nfsd threads, %s cache", sp.Chosen.NFSThreads, results.FormatBytes(sp.Chosen.CacheBytes))
					}
					c.addLegend(text, ring)
				}
			}
			drawn++
		}
	}
	if drawn == 0 {
		return nil, fmt.Errorf("charts: no probe measured %s", objective)
	}
	limit := hline{y: ob.Limit * disp.Scale, style: draw.LineStyle{Color: faultColor, Width: vg.Points(1.4), Dashes: []vg.Length{vg.Points(2), vg.Points(2)}}}
	p.Add(limit)
	c.addLegend("Limit: "+disp.FormatUnit(ob.Limit), limit)
	// Zoomed in on the probes and the limit, which is what the chart is
	// for, but never below zero.
	c.setYRange(lo, hi, false, disp.Percent)
	if lo >= 0 {
		p.Y.Min = math.Max(p.Y.Min, 0)
	}

	slices.Sort(probed)
	ticks := make(valueTicks, len(probed))
	for i, n := range probed {
		ticks[i] = plot.Tick{Value: float64(n), Label: strconv.Itoa(n)}
	}
	p.X.Tick.Marker = ticks
	xlo, xhi := float64(probed[0]), float64(probed[len(probed)-1])
	span := math.Max(xhi-xlo, 1)
	p.X.Min, p.X.Max = xlo-0.05*span, xhi+0.05*span

	c.Subtitle = fmt.Sprintf("%s users. Mean of %s per probe; bars: %g %% upper confidence bound; rings: the configuration chosen",
		results.Readable(float64(o.Users)), replicasText(o.ReplicasMin, o.ReplicasMax), 100*o.Confidence)
	c.Caption = fmt.Sprintf("Objective %q (%s at most %s) at every backend count the search probed, in normal operation and with one backend down. A configuration passes when the %g %% upper confidence bound stays below the limit.",
		ob.Name, ob.Metric, disp.FormatUnit(ob.Limit), 100*o.Confidence)
	return c, nil
}

// onBackendAxis says whether c lies on the strategy's backend search: at
// the most threads and memory probed.
func onBackendAxis(sp *results.StrategyPlan, c results.Candidate) bool {
	var top results.Candidate
	for _, pr := range sp.Probes {
		top.NFSThreads = max(top.NFSThreads, pr.NFSThreads)
		top.CacheBytes = max(top.CacheBytes, pr.CacheBytes)
	}
	return c.NFSThreads == top.NFSThreads && c.CacheBytes == top.CacheBytes
}
