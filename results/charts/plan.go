package charts

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/mailsim/mailsim/results"
)

// PlanObjective draws one objective of a capacity plan against the
// backend count: per strategy, the mean over replicas at every probe of
// the backend search (normal operation solid, one backend down dashed),
// with the one-sided confidence bound as an error bar, the objective's
// limit as a horizontal line and the chosen configuration ringed (at its
// own thread count and memory, which the legend names when they differ
// from the line's).
func PlanObjective(o *results.PlanOutcome, objective string) (*plot.Plot, error) {
	var ob results.Objective
	for _, x := range o.Objectives {
		if x.Name == objective {
			ob = x
		}
	}
	if ob.Name == "" {
		return nil, fmt.Errorf("charts: the plan has no objective %q", objective)
	}
	p := newPlot(fmt.Sprintf("%s against backends (mean, %g%% upper bound)", objective, 100*o.Confidence), "backends", withUnit(ob.Metric, ob.Unit))
	p.Legend.Left = false
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
				for _, c := range pr.Checks {
					if c.Objective != objective || c.Scenario != scen || math.IsInf(c.Upper, 0) || math.IsNaN(c.Mean) {
						continue
					}
					pts.XYs = append(pts.XYs, plotter.XY{X: float64(pr.Backends), Y: c.Mean})
					pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{0, c.Upper - c.Mean})
				}
			}
			// The chosen configuration, which may have fewer threads or
			// less memory than the backend search's line.
			if pr := sp.Probe(sp.Chosen); sp.Found && pr != nil {
				for _, c := range pr.Checks {
					if c.Objective == objective && c.Scenario == scen && !math.IsNaN(c.Mean) {
						chosen = append(chosen, plotter.XY{X: float64(pr.Backends), Y: c.Mean})
					}
				}
			}
			if len(pts.XYs) == 0 {
				continue
			}
			order := make([]int, len(pts.XYs))
			for i := range order {
				order[i] = i
			}
			slices.SortFunc(order, func(a, b int) int { return cmpFloat(pts.XYs[a].X, pts.XYs[b].X) })
			var sorted errPoints
			for _, i := range order {
				sorted.XYs = append(sorted.XYs, pts.XYs[i])
				sorted.YErrors = append(sorted.YErrors, pts.YErrors[i])
			}
			ln, sc, err := plotter.NewLinePoints(sorted.XYs)
			if err != nil {
				return nil, fmt.Errorf("charts: %v", err)
			}
			style := lineStyle(si)
			style.Dashes = nil
			if k == 1 {
				style.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			}
			ln.LineStyle = style
			sc.GlyphStyle = draw.GlyphStyle{Color: style.Color, Radius: vg.Points(2.5), Shape: glyphs[si%len(glyphs)]}
			eb, err := plotter.NewYErrorBars(sorted)
			if err != nil {
				return nil, fmt.Errorf("charts: %v", err)
			}
			eb.LineStyle = draw.LineStyle{Color: style.Color, Width: vg.Points(1)}
			eb.CapWidth = vg.Points(5)
			p.Add(ln, sc, eb)
			label := sp.Strategy
			if k == 1 {
				label += ", one backend down"
			}
			p.Legend.Add(label, ln, sc)
			if len(chosen) > 0 {
				ring, err := plotter.NewScatter(chosen)
				if err != nil {
					return nil, fmt.Errorf("charts: %v", err)
				}
				ring.GlyphStyle = draw.GlyphStyle{Color: style.Color, Radius: vg.Points(7), Shape: draw.RingGlyph{}}
				p.Add(ring)
				if k == 0 && !onBackendAxis(sp, sp.Chosen) {
					p.Legend.Add(fmt.Sprintf("%s chosen: %d nfsd threads, %s cache", sp.Strategy, sp.Chosen.NFSThreads, results.FormatBytes(sp.Chosen.CacheBytes)), ring)
				}
			}
			drawn++
		}
	}
	if drawn == 0 {
		return nil, fmt.Errorf("charts: no probe measured %s", objective)
	}
	limit := hline{y: ob.Limit, style: draw.LineStyle{Color: faultColor, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(2), vg.Points(2)}}}
	p.Add(limit)
	p.Y.Min = math.Min(p.Y.Min, ob.Limit)
	p.Y.Max = math.Max(p.Y.Max, ob.Limit)
	p.Y.Max += 0.07 * float64(drawn+1) * (p.Y.Max - p.Y.Min)
	span := math.Max(p.X.Max-p.X.Min, 1)
	p.X.Min, p.X.Max = p.X.Min-0.04*span, p.X.Max+0.04*span
	return p, nil
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
