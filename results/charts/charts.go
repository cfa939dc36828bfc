// Package charts draws mailsim's standard charts from a result set with
// gonum/plot: latency CDFs per strategy, a metric against a swept
// parameter with confidence intervals, per-backend load, and incidents
// over time around a fault. Every chart colours a strategy the same way
// (by its position in the plan), in a palette that stays distinguishable
// for colour-blind readers (Okabe and Ito's), with a dash pattern per
// strategy as a second cue.
//
// Charts are deterministic: the same result set renders to the same SVG
// bytes and the same PNG pixels.
package charts

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/mailsim/mailsim/model/hist"
	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/results/stats"
)

// Format is an image format for [Render].
type Format string

// Image formats.
const (
	PNG Format = "png"
	SVG Format = "svg"
)

// Default chart size: 16 cm × 10 cm, readable on a report page.
const (
	DefaultWidth  = 16 * vg.Centimeter
	DefaultHeight = 10 * vg.Centimeter
	// PNGDPI is the resolution of PNG output, sharp on high-density
	// screens.
	PNGDPI = 144
)

// Render draws p at width × height in format f.
func Render(p *plot.Plot, f Format, width, height vg.Length) ([]byte, error) {
	var buf bytes.Buffer
	switch f {
	case PNG:
		c := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(PNGDPI), vgimg.UseBackgroundColor(color.White))
		p.Draw(draw.New(c))
		if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
			return nil, fmt.Errorf("charts: %v", err)
		}
	case SVG:
		c := vgsvg.New(width, height)
		p.Draw(draw.New(c))
		if _, err := c.WriteTo(&buf); err != nil {
			return nil, fmt.Errorf("charts: %v", err)
		}
	default:
		return nil, fmt.Errorf("charts: unknown format %q (want png or svg)", f)
	}
	return buf.Bytes(), nil
}

// palette is Okabe and Ito's colour-blind-safe palette, without yellow,
// which is too light on white.
var palette = []color.Color{
	color.RGBA{0x00, 0x72, 0xB2, 0xFF}, // blue
	color.RGBA{0xD5, 0x5E, 0x00, 0xFF}, // vermillion
	color.RGBA{0x00, 0x9E, 0x73, 0xFF}, // bluish green
	color.RGBA{0xCC, 0x79, 0xA7, 0xFF}, // reddish purple
	color.RGBA{0xE6, 0x9F, 0x00, 0xFF}, // orange
	color.RGBA{0x56, 0xB4, 0xE9, 0xFF}, // sky blue
	color.RGBA{0x00, 0x00, 0x00, 0xFF}, // black
}

var dashes = [][]vg.Length{
	nil,
	{vg.Points(6), vg.Points(2)},
	{vg.Points(2), vg.Points(2)},
	{vg.Points(6), vg.Points(2), vg.Points(2), vg.Points(2)},
}

var glyphs = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.PyramidGlyph{}, draw.RingGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{}}

// faultColor marks fault times.
var faultColor = color.RGBA{0xB0, 0x00, 0x20, 0xFF}

func strategyIndex(s *results.Set, strategy string) int {
	return max(0, slices.Index(s.Strategies(), strategy))
}

func lineStyle(i int) draw.LineStyle {
	return draw.LineStyle{Color: palette[i%len(palette)], Width: vg.Points(1.6), Dashes: dashes[i%len(dashes)]}
}

// newPlot returns a plot with mailsim's common look.
func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = 11
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.X.Label.TextStyle.Font.Size = 10
	p.Y.Label.TextStyle.Font.Size = 10
	p.Legend.TextStyle.Font.Size = 9
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(4)
	p.Legend.YOffs = -vg.Points(4)
	p.X.Tick.Marker = cleanTicks{}
	p.Y.Tick.Marker = cleanTicks{}
	g := plotter.NewGrid()
	g.Vertical.Color = color.Gray{0xE0}
	g.Horizontal.Color = color.Gray{0xE0}
	p.Add(g)
	return p
}

// at returns " at <point>", or "" for the single point of an experiment
// without a sweep.
func at(pt results.Point) string {
	if len(pt) == 0 {
		return ""
	}
	return " at " + pt.String()
}

func withUnit(label, unit string) string {
	if unit == "" {
		return label
	}
	return label + " (" + unit + ")"
}

// LatencyCDF draws, for every strategy, the cumulative distribution of
// the histograms called names at point, merged over replicas (counts
// added, never percentiles averaged). The x axis is logarithmic. Empty
// names means every histogram of the set.
func LatencyCDF(s *results.Set, point results.Point, names []string) (*plot.Plot, error) {
	if len(names) == 0 {
		names = s.HistogramNames()
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("charts: the set has no histograms")
	}
	what := strings.Join(names, ", ")
	if len(names) > 3 {
		what = fmt.Sprintf("%d histograms", len(names))
	}
	unit := ""
	p := newPlot(fmt.Sprintf("Latency CDF of %s%s", what, at(point)), "", "fraction of observations ≤ x")
	p.X.Scale = plot.LogScale{}
	p.Y.Min, p.Y.Max = 0, 1
	lo, hi := math.Inf(1), math.Inf(-1)
	drawn := 0
	for _, st := range s.Strategies() {
		var h hist.Histogram
		runs := s.RunsAt(point, st)
		for _, r := range runs {
			for _, n := range names {
				for _, rh := range r.Histograms {
					if rh.Name == n {
						h.Merge(&rh.Hist)
						if unit == "" {
							unit = rh.Unit
						}
					}
				}
			}
		}
		if h.N == 0 {
			continue
		}
		xys := cdfPoints(&h)
		lo, hi = math.Min(lo, xys[0].X), math.Max(hi, xys[len(xys)-1].X)
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("charts: %v", err)
		}
		i := strategyIndex(s, st)
		l.LineStyle = lineStyle(i)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s (p50 %s, p99 %s)", st, fmtValue(h.Quantile(0.5), unit), fmtValue(h.Quantile(0.99), unit)), l)
		drawn++
	}
	if drawn == 0 {
		return nil, fmt.Errorf("charts: no histogram %s%s", what, at(point))
	}
	p.X.Label.Text = "latency, log scale"
	if unit != "s" {
		p.X.Label.Text = withUnit("latency", unit) + ", log scale"
	}
	p.X.Min, p.X.Max = lo, hi
	p.X.Tick.Marker = decadeTicks{unit: unit}
	for _, q := range []float64{0.5, 0.99} {
		ref := hline{y: q, style: draw.LineStyle{Color: color.Gray{0x90}, Width: vg.Points(0.6), Dashes: []vg.Length{vg.Points(2), vg.Points(2)}}}
		p.Add(ref)
	}
	return p, nil
}

// cdfPoints returns the empirical CDF of h at its bucket bounds, as a
// polyline from the minimum (0) to the maximum (1).
func cdfPoints(h *hist.Histogram) plotter.XYs {
	minV := math.Max(h.MinV, hist.Min)
	xys := plotter.XYs{{X: minV, Y: 0}}
	var cum uint64
	for i, c := range h.Counts {
		if c == 0 {
			continue
		}
		cum += c
		x := math.Min(hist.UpperBound(i), h.MaxV)
		x = math.Max(x, minV)
		xys = append(xys, plotter.XY{X: x, Y: float64(cum) / float64(h.N)})
	}
	return xys
}

// cleanTicks are gonum/plot's default ticks with labels in the shortest
// form ("250", not "250.00").
type cleanTicks struct{}

func (cleanTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = results.FormatNumber(ts[i].Value)
		}
	}
	return ts
}

// decadeTicks labels powers of ten (as "1 ms", "10 ms" when the unit is
// seconds) and marks the 2…9 multiples between them.
type decadeTicks struct{ unit string }

func (d decadeTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		base := math.Pow(10, e)
		for m := 1; m <= 9; m++ {
			v := base * float64(m)
			if v < lo*0.999 || v > hi*1.001 {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 {
				t.Label = fmtValue(v, d.unit)
			}
			ts = append(ts, t)
		}
	}
	if countLabels(ts) < 2 { // a narrow range: label the ends too
		ts = append(ts, plot.Tick{Value: lo, Label: fmtValue(lo, d.unit)}, plot.Tick{Value: hi, Label: fmtValue(hi, d.unit)})
	}
	return ts
}

func countLabels(ts []plot.Tick) int {
	n := 0
	for _, t := range ts {
		if t.Label != "" {
			n++
		}
	}
	return n
}

// fmtValue formats v in unit, choosing ms or µs for small seconds.
func fmtValue(v float64, unit string) string {
	if unit == "s" {
		switch a := math.Abs(v); {
		case a == 0:
			return "0 s"
		case a < 1e-3:
			return results.FormatNumber(v*1e6) + " µs"
		case a < 1:
			return results.FormatNumber(v*1e3) + " ms"
		}
	}
	if unit == "" {
		return results.FormatNumber(v)
	}
	return results.FormatNumber(v) + " " + unit
}

// hline is a horizontal reference line across the whole data area.
type hline struct {
	y     float64
	style draw.LineStyle
}

func (h hline) Plot(c draw.Canvas, p *plot.Plot) {
	_, trY := p.Transforms(&c)
	y := trY(h.y)
	c.StrokeLine2(h.style, c.Min.X, y, c.Max.X, y)
}

// vline is a vertical marker across the whole data area, such as a
// fault's time.
type vline struct {
	x     float64
	style draw.LineStyle
}

func (v vline) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	x := trX(v.x)
	c.StrokeLine2(v.style, x, c.Min.Y, x, c.Max.Y)
}

func (v vline) DataRange() (xmin, xmax, ymin, ymax float64) {
	return v.x, v.x, math.Inf(1), math.Inf(-1)
}

func (v vline) Thumbnail(c *draw.Canvas) {
	x := (c.Min.X + c.Max.X) / 2
	c.StrokeLine2(v.style, x, c.Min.Y, x, c.Max.Y)
}

// errPoints are means with asymmetric interval bounds.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// MetricVsParam draws metric against the swept parameter key: one line
// per strategy through the means across replicas, with the 95% Student-t
// interval as error bars. When other parameters are swept too, each of
// their combinations gets its own line per strategy. Numeric parameter
// values are placed on a linear axis, others as ordered categories.
func MetricVsParam(s *results.Set, metric, key string) (*plot.Plot, error) {
	info, ok := findMetric(s, metric)
	if !ok {
		return nil, fmt.Errorf("charts: no metric %s in the set", metric)
	}
	if !slices.Contains(s.SweepKeys(), key) {
		return nil, fmt.Errorf("charts: %s is not a swept parameter (have %s)", key, strings.Join(s.SweepKeys(), ", "))
	}
	points := s.Points()
	// The parameter's values in plan order, and their x positions.
	var values []string
	for _, pt := range points {
		if v, ok := pt.Get(key); ok && !slices.Contains(values, v) {
			values = append(values, v)
		}
	}
	xs := make(map[string]float64, len(values))
	numeric := true
	for _, v := range values {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			numeric = false
			break
		}
		xs[v] = f
	}
	p := newPlot(fmt.Sprintf("%s against %s (mean, 95%% CI)", metric, key), key, withUnit(metric, info.Unit))
	if !numeric {
		for i, v := range values {
			xs[v] = float64(i)
		}
		p.NominalX(values...)
	}
	type line struct {
		label string
		st    int
		pts   errPoints
	}
	var lines []*line
	byLabel := map[string]*line{}
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
			label := st
			if rest := others(pt, key); rest != "" {
				label += " (" + rest + ")"
			}
			l := byLabel[label]
			if l == nil {
				l = &line{label: label, st: strategyIndex(s, st)}
				byLabel[label] = l
				lines = append(lines, l)
			}
			lo, hi := 0.0, 0.0
			if !math.IsNaN(iv.Lo) {
				lo, hi = iv.Mean-iv.Lo, iv.Hi-iv.Mean
			}
			l.pts.XYs = append(l.pts.XYs, plotter.XY{X: xs[v], Y: iv.Mean})
			l.pts.YErrors = append(l.pts.YErrors, struct{ Low, High float64 }{lo, hi})
		}
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("charts: no values of %s to draw", metric)
	}
	// Dodge: shift each strategy's points sideways a little so that error
	// bars at the same x stay apart.
	xlo, xhi := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		xlo, xhi = math.Min(xlo, x), math.Max(xhi, x)
	}
	span := xhi - xlo
	if span == 0 {
		span = 1
	}
	nst := float64(len(s.Strategies()))
	for _, l := range lines {
		for i := range l.pts.XYs {
			l.pts.XYs[i].X += span * 0.012 * (float64(l.st) - (nst-1)/2)
		}
	}
	p.X.Min, p.X.Max = xlo-0.06*span, xhi+0.06*span
	p.Legend.Left = false
	for k, l := range lines {
		sort := make([]int, len(l.pts.XYs))
		for i := range sort {
			sort[i] = i
		}
		slices.SortStableFunc(sort, func(a, b int) int { return cmpFloat(l.pts.XYs[a].X, l.pts.XYs[b].X) })
		var pts errPoints
		for _, i := range sort {
			pts.XYs = append(pts.XYs, l.pts.XYs[i])
			pts.YErrors = append(pts.YErrors, l.pts.YErrors[i])
		}
		ln, sc, err := plotter.NewLinePoints(pts.XYs)
		if err != nil {
			return nil, fmt.Errorf("charts: %v", err)
		}
		style := lineStyle(l.st)
		if len(lines) > len(s.Strategies()) { // several lines per strategy: vary the dash
			style.Dashes = dashes[k%len(dashes)]
		}
		ln.LineStyle = style
		sc.GlyphStyle = draw.GlyphStyle{Color: style.Color, Radius: vg.Points(2.5), Shape: glyphs[l.st%len(glyphs)]}
		eb, err := plotter.NewYErrorBars(pts)
		if err != nil {
			return nil, fmt.Errorf("charts: %v", err)
		}
		eb.LineStyle = draw.LineStyle{Color: style.Color, Width: vg.Points(1)}
		eb.CapWidth = vg.Points(6)
		p.Add(ln, sc, eb)
		p.Legend.Add(l.label, ln, sc)
	}
	// Headroom above the data for the legend.
	p.Y.Max += 0.04 * float64(len(lines)+1) * (p.Y.Max - p.Y.Min)
	return p, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// others formats the parameters of pt other than key.
func others(pt results.Point, key string) string {
	var parts []string
	for _, kv := range pt {
		if kv.Key != key {
			parts = append(parts, kv.Key+"="+kv.Value)
		}
	}
	return strings.Join(parts, " ")
}

func findMetric(s *results.Set, name string) (results.MetricInfo, bool) {
	for _, m := range s.Metrics() {
		if m.Name == name {
			return m, true
		}
	}
	return results.MetricInfo{}, false
}

// BackendLoad draws the per-backend vector called name at point as
// grouped bars: one group per backend, one bar per strategy, each the
// mean over replicas.
func BackendLoad(s *results.Set, point results.Point, name string) (*plot.Plot, error) {
	strategies := s.Strategies()
	var unit string
	means := make([][]float64, len(strategies))
	nb, reps := 0, 0
	for i, st := range strategies {
		runs := s.RunsAt(point, st)
		var sum []float64
		n := 0
		for _, r := range runs {
			v := r.Vector(name)
			if v == nil {
				continue
			}
			unit = v.Unit
			if len(v.Values) > len(sum) {
				sum = append(sum, make([]float64, len(v.Values)-len(sum))...)
			}
			for b, x := range v.Values {
				sum[b] += x
			}
			n++
		}
		for b := range sum {
			sum[b] /= float64(n)
		}
		means[i] = sum
		nb = max(nb, len(sum))
		reps = max(reps, n)
	}
	if nb == 0 {
		return nil, fmt.Errorf("charts: no per-backend vector %s%s", name, at(point))
	}
	p := newPlot(fmt.Sprintf("%s per backend%s (mean of %d replicas)", name, at(point), reps), "backend", withUnit(name, unit))
	p.Legend.Left = false
	width := vg.Length(math.Min(18, 300/float64(nb*len(strategies)))) * vg.Points(1)
	labels := make([]string, nb)
	for b := range labels {
		labels[b] = strconv.Itoa(b)
	}
	for i, st := range strategies {
		vals := make(plotter.Values, nb)
		copy(vals, means[i])
		bc, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, fmt.Errorf("charts: %v", err)
		}
		bc.Color = palette[i%len(palette)]
		bc.LineStyle.Width = 0
		bc.Offset = width * vg.Length(float64(i)-float64(len(strategies)-1)/2)
		p.Add(bc)
		p.Legend.Add(st, bc)
	}
	p.NominalX(labels...)
	p.Y.Min = 0
	p.Y.Max *= 1.18 // headroom for the legend
	return p, nil
}

// Incidents draws the time-series column called name at point, one line
// per strategy (the mean over replicas at each sample), with every event
// of the runs, such as an injected fault, marked by a vertical line.
func Incidents(s *results.Set, point results.Point, name string) (*plot.Plot, error) {
	type ev struct {
		at    float64
		label string
	}
	var events []ev
	var unit string
	p := newPlot("", "time since start of run (s)", "")
	drawn, reps := 0, 0
	startAll := math.Inf(1)
	for _, st := range s.Strategies() {
		runs := s.RunsAt(point, st)
		var sum []float64
		var start, step float64
		n := 0
		for _, r := range runs {
			if r.Series == nil {
				continue
			}
			c := r.Series.Column(name)
			if c == nil {
				continue
			}
			unit = c.Unit
			start, step = r.Series.Start.Seconds(), r.Series.Interval.Seconds()
			startAll = math.Min(startAll, start)
			if len(c.Values) > len(sum) {
				sum = append(sum, make([]float64, len(c.Values)-len(sum))...)
			}
			for i, x := range c.Values {
				sum[i] += x
			}
			n++
			for _, e := range r.Events {
				label := e.Kind
				if e.Detail != "" {
					label += " (" + e.Detail + ")"
				}
				if !slices.ContainsFunc(events, func(x ev) bool { return x.at == e.At.Seconds() && x.label == label }) {
					events = append(events, ev{e.At.Seconds(), label})
				}
			}
		}
		if n == 0 {
			continue
		}
		reps = max(reps, n)
		xys := make(plotter.XYs, len(sum))
		for i := range sum {
			// Each sample is drawn at the middle of its interval.
			xys[i] = plotter.XY{X: start + (float64(i)+0.5)*step, Y: sum[i] / float64(n)}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("charts: %v", err)
		}
		l.LineStyle = lineStyle(strategyIndex(s, st))
		p.Add(l)
		p.Legend.Add(st, l)
		drawn++
	}
	if drawn == 0 {
		return nil, fmt.Errorf("charts: no time series column %s%s", name, at(point))
	}
	p.Title.Text = fmt.Sprintf("%s over time%s (mean of %d replicas)", name, at(point), reps)
	p.Y.Label.Text = withUnit(name+" per interval", unit)
	p.Legend.Left = false
	for i, e := range events {
		v := vline{x: e.at, style: draw.LineStyle{Color: faultColor, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}}
		p.Add(v)
		if i < 4 {
			p.Legend.Add(fmt.Sprintf("%s at %s s", e.label, results.FormatNumber(e.at)), v)
		}
	}
	p.Y.Min = math.Min(p.Y.Min, 0)
	p.Y.Max *= 1.1
	p.X.Min = math.Min(p.X.Min, startAll)
	return p, nil
}
