package charts

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/results/stats"
)

// MetricVsParamChart draws metric against the swept parameter key: one
// line per strategy through the means across replicas, with the 95 %
// Student-t interval as error bars. When other parameters are swept too,
// each of their combinations gets its own line per strategy. The axis is
// ticked exactly at the tested values: numbers at their value (on a
// logarithmic axis when they double, as 2, 4, 8, 16 do), anything else
// as ordered categories. Values are shown as [results.DisplayOf] says
// (milliseconds, percent, per second).
func MetricVsParamChart(s *results.Set, metric, key string) (*Chart, error) {
	info, ok := findMetric(s, metric)
	if !ok {
		return nil, fmt.Errorf("charts: no metric %s in the set", metric)
	}
	if !slices.Contains(s.SweepKeys(), key) {
		return nil, fmt.Errorf("charts: %s is not a swept parameter (have %s)", key, strings.Join(s.SweepKeys(), ", "))
	}
	points := s.Points()
	var values []string
	for _, pt := range points {
		if v, ok := pt.Get(key); ok && !slices.Contains(values, v) {
			values = append(values, v)
		}
	}
	ax := newParamAxis(key, values)

	type line struct {
		strategy string
		st       int
		rest     results.Point // the other swept parameters
		combo    int
		pts      errPoints
	}
	var lines []*line
	var combos []string
	var means []float64
	has := map[string]bool{} // tested values with a mean
	repLo, repHi := math.MaxInt, 0
	for _, st := range s.Strategies() {
		for _, pt := range points {
			v, ok := pt.Get(key)
			if !ok {
				continue
			}
			runs := s.RunsAt(pt, st)
			iv := stats.MeanCI(results.MetricValues(runs, metric), stats.DefaultLevel)
			if iv.N == 0 || math.IsNaN(iv.Mean) || math.IsInf(iv.Mean, 0) {
				continue
			}
			has[v] = true
			repLo, repHi = min(repLo, iv.N), max(repHi, iv.N)
			rest := except(pt, key)
			if !slices.Contains(combos, rest.String()) {
				combos = append(combos, rest.String())
			}
			i := slices.IndexFunc(lines, func(l *line) bool { return l.strategy == st && l.rest.Equal(rest) })
			if i < 0 {
				lines = append(lines, &line{strategy: st, st: strategyIndex(s, st), rest: rest, combo: slices.Index(combos, rest.String())})
				i = len(lines) - 1
			}
			l := lines[i]
			lo, hi := 0.0, 0.0
			if !math.IsNaN(iv.Lo) {
				lo, hi = iv.Mean-iv.Lo, iv.Hi-iv.Mean
			}
			means = append(means, iv.Mean)
			l.pts.XYs = append(l.pts.XYs, plotter.XY{X: ax.pos[v], Y: iv.Mean})
			l.pts.YErrors = append(l.pts.YErrors, struct{ Low, High float64 }{lo, hi})
		}
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("charts: no values of %s to draw", metric)
	}
	// Label the lines by strategy and by the other parameters that vary
	// between them; those the same for every line go in the subtitle.
	strategies := map[string]bool{}
	for _, l := range lines {
		strategies[l.strategy] = true
	}
	var same results.Point
	if len(lines) > 0 {
		for _, kv := range lines[0].rest {
			if !slices.ContainsFunc(lines, func(l *line) bool { v, _ := l.rest.Get(kv.Key); return v != kv.Value }) {
				same = append(same, kv)
			}
		}
	}
	labels := make([]string, len(lines))
	for k, l := range lines {
		var varying results.Point
		for _, kv := range l.rest {
			if !slices.Contains(same, kv) {
				varying = append(varying, kv)
			}
		}
		switch words := PointLabel(varying); {
		case words == "":
			labels[k] = l.strategy
		case len(strategies) == 1:
			labels[k] = words
		default:
			labels[k] = l.strategy + " (" + words + ")"
		}
	}
	disp := results.DisplayOf(info, means...)
	nonNeg := true
	for _, m := range means {
		nonNeg = nonNeg && m >= 0
	}

	c := &Chart{
		Name:  metric + " by " + key,
		Title: withUnit(results.MetricLabel(info), disp.Unit),
	}
	p := newPlot(axisLabel(ParamLabel(key), ax.unit, ax.log), unitWords(disp.Unit))
	c.Plot = p

	// Positions along the axis: the value, its logarithm, or the
	// category's index; strategies are dodged sideways a little in that
	// space so that their error bars at one value stay apart.
	fwd, back := func(x float64) float64 { return x }, func(u float64) float64 { return u }
	if ax.log {
		fwd, back = math.Log, math.Exp
	}
	ulo, uhi := math.Inf(1), math.Inf(-1)
	for _, v := range ax.values {
		u := fwd(ax.pos[v])
		ulo, uhi = math.Min(ulo, u), math.Max(uhi, u)
	}
	span := uhi - ulo
	if span == 0 {
		span = 1
	}
	dodge := math.Min(0.012*span, 0.25*span/float64(max(1, len(ax.values)-1))/float64(len(lines)))
	if ax.kind == categorical {
		dodge = math.Min(0.08, 0.6/float64(len(lines)))
	}

	ylo, yhi := math.Inf(1), math.Inf(-1)
	for k, l := range lines {
		off := (float64(k) - float64(len(lines)-1)/2) * dodge
		for i := range l.pts.XYs {
			l.pts.XYs[i].X = back(fwd(l.pts.XYs[i].X) + off)
			l.pts.XYs[i].Y *= disp.Scale
			e := &l.pts.YErrors[i]
			e.Low, e.High = e.Low*disp.Scale, e.High*disp.Scale
			if nonNeg && l.pts.XYs[i].Y-e.Low < 0 {
				// A count's interval does not reach below zero.
				e.Low = l.pts.XYs[i].Y
			}
			ylo = math.Min(ylo, l.pts.XYs[i].Y-e.Low)
			yhi = math.Max(yhi, l.pts.XYs[i].Y+e.High)
		}
		pts := l.pts.sorted()
		ln, sc, err := plotter.NewLinePoints(pts.XYs)
		if err != nil {
			return nil, fmt.Errorf("charts: %v", err)
		}
		// Colour, dash and glyph tell the strategies apart; with several
		// lines per strategy, dash and glyph tell the other parameters'
		// combinations apart, and colour too when there is one strategy.
		style, glyph := lineStyle(l.st), glyphStyle(l.st)
		if len(combos) > 1 {
			ci := l.st
			if len(strategies) == 1 {
				ci = l.combo
			}
			style = lineStyle(ci)
			style.Dashes = dashes[l.combo%len(dashes)]
			glyph = glyphStyle(ci)
			glyph.Shape = glyphs[l.combo%len(glyphs)]
		}
		ln.LineStyle = style
		sc.GlyphStyle = glyph
		p.Add(ln)
		if repHi > 1 {
			eb, err := plotter.NewYErrorBars(pts)
			if err != nil {
				return nil, fmt.Errorf("charts: %v", err)
			}
			eb.LineStyle = draw.LineStyle{Color: style.Color, Width: vg.Points(1.2)}
			eb.CapWidth = vg.Points(7)
			p.Add(eb)
		}
		p.Add(sc)
		c.addLegend(labels[k], ln, sc)
	}
	c.setYRange(ylo, yhi, nonNeg, disp.Percent)

	ticks := make([]plot.Tick, len(ax.values))
	for i, v := range ax.values {
		ticks[i] = plot.Tick{Value: ax.pos[v], Label: ax.label[v]}
	}
	p.X.Tick.Marker = valueTicks(ticks)
	if ax.kind == categorical {
		p.X.Tick.Marker = categoryTicks(ticks)
	}
	pad := math.Max(0.07*span, dodge*float64(len(lines)-1)/2+0.04*span)
	p.X.Min, p.X.Max = back(ulo-pad), back(uhi+pad)
	if ax.kind == categorical {
		p.X.Min, p.X.Max = -0.5, float64(len(ax.values))-0.5
	}
	if ax.log {
		p.X.Scale = plot.LogScale{}
	}

	c.Subtitle = meanSubtitle(repLo, repHi, "point", info.Better)
	if len(strategies) == 1 {
		c.Subtitle = lines[0].strategy + ". " + c.Subtitle
	}
	if len(same) > 0 {
		c.Subtitle = PointLabel(same) + ". " + c.Subtitle
	}
	// Tested values without any value are marked "n/a".
	for _, v := range ax.values {
		if !has[v] {
			p.Add(naMark{x: ax.pos[v]})
		}
	}
	c.Caption = captionStart(info) + fmt.Sprintf("Each point is the mean of %s; the bars are %g %% Student-t confidence intervals. Points of different strategies are shifted sideways a little so that their bars stay apart.", replicasText(repLo, repHi), 100*stats.DefaultLevel)
	if ax.log {
		c.Caption += " The tested values double, so the axis is logarithmic: each is as far from the next."
	}
	return c, nil
}

// meanSubtitle says what a chart of means shows: "Mean of 3 replicas per
// point; bars: 95 % confidence interval; lower is better".
func meanSubtitle(repLo, repHi int, per string, better results.Better) string {
	var s string
	if repHi <= 1 {
		s = "One replica per " + per + ", so no confidence interval"
	} else {
		s = fmt.Sprintf("Mean of %s per %s; bars: %g %% confidence interval", replicasText(repLo, repHi), per, 100*stats.DefaultLevel)
	}
	switch better {
	case results.Lower:
		s += "; lower is better"
	case results.Higher:
		s += "; higher is better"
	}
	return s
}

// captionStart is a metric's description as the first sentence of a
// caption, or "".
func captionStart(m results.MetricInfo) string {
	if m.Doc == "" {
		return ""
	}
	d := capitalize(strings.TrimSuffix(m.Doc, "."))
	return d + ". "
}

// naMark writes "n/a" at the bottom of the data area above a tested value
// that no strategy has a value for.
type naMark struct{ x float64 }

func (m naMark) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := textStyle(noteSize, false, softInk)
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YBottom
	c.FillText(sty, vg.Point{X: trX(m.x), Y: c.Min.Y + vg.Points(4)}, "n/a")
}
