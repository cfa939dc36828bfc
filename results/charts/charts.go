// Package charts draws mailsim's standard charts from a result set with
// gonum/plot: a metric against a swept parameter with confidence
// intervals, latency distributions per command class, per-backend load,
// incidents over time around a fault, and a capacity plan's objectives.
//
// Each chart is a [Chart]: a title and axis labels in words with units
// (milliseconds, percent, per second, numbers with thousands
// separators), a subtitle saying where the values come from, and the
// legend in a strip of its own below the plot, never over the data. A
// swept parameter is ticked exactly at the values tested. Charts are
// sized for slides (16:9, fonts readable on a projector) and can be
// written as SVG and PNG files ([Chart.WriteFiles]).
//
// Every chart colours a strategy the same way (by its position in the
// plan), in a palette that stays distinguishable for colour-blind
// readers (Okabe and Ito's), with a dash pattern and a glyph per
// strategy as second cues.
//
// Charts are deterministic: the same result set renders to the same SVG
// bytes and the same PNG pixels.
package charts

import (
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/mailsim/mailsim/results"
)

// Format is an image format for [Render] and [Chart.Render].
type Format string

// Image formats.
const (
	PNG Format = "png"
	SVG Format = "svg"
)

// Render draws p, a bare gonum plot, at width × height in format f. A
// [Chart] is drawn with [Chart.Render], which adds its title, subtitle
// and legend around the plot.
func Render(p *plot.Plot, f Format, width, height vg.Length) ([]byte, error) {
	return render(p.Draw, f, width, height)
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
	{vg.Points(7), vg.Points(3)},
	{vg.Points(2), vg.Points(2.5)},
	{vg.Points(7), vg.Points(2.5), vg.Points(2), vg.Points(2.5)},
}

// glyphs are filled shapes first, easier to tell apart at a glance.
var glyphs = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}, draw.RingGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{}}

// faultColor marks injected faults; eventColor other events.
var (
	faultColor = color.RGBA{0xB0, 0x00, 0x20, 0xFF}
	eventColor = color.Gray{0x60}
)

func strategyIndex(s *results.Set, strategy string) int {
	return max(0, slices.Index(s.Strategies(), strategy))
}

func lineStyle(i int) draw.LineStyle {
	return draw.LineStyle{Color: palette[i%len(palette)], Width: vg.Points(2), Dashes: dashes[i%len(dashes)]}
}

func glyphStyle(i int) draw.GlyphStyle {
	return draw.GlyphStyle{Color: palette[i%len(palette)], Radius: vg.Points(3.5), Shape: glyphs[i%len(glyphs)]}
}

// newPlot returns a plot with mailsim's common look and no title or
// legend (a [Chart] draws those): large sans-serif labels, light grid
// lines, round ticks with thousands separators.
func newPlot(xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle = textStyle(labelSize, false, ink)
		ax.Label.Padding = vg.Points(4)
		ax.Tick.Label = textStyle(tickSize, false, ink)
		ax.Tick.Marker = linearTicks{}
		ax.Tick.Length = vg.Points(5)
		ax.Color = softInk
		ax.Tick.Color = softInk
		ax.Width = vg.Points(0.8)
		ax.Tick.Width = vg.Points(0.8)
	}
	p.X.Label.TextStyle.XAlign, p.X.Label.TextStyle.YAlign = draw.XCenter, draw.YBottom
	p.Y.Label.TextStyle.XAlign, p.Y.Label.TextStyle.YAlign = draw.XCenter, draw.YBottom
	p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XCenter, draw.YTop
	p.Y.Tick.Label.XAlign, p.Y.Tick.Label.YAlign = draw.XRight, draw.YCenter
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	g := plotter.NewGrid()
	g.Vertical.Color = gridGray
	g.Horizontal.Color = gridGray
	g.Vertical.Width = vg.Points(0.6)
	g.Horizontal.Width = vg.Points(0.6)
	p.Add(g)
	return p
}

// unitWords is a display unit as a y-axis label.
func unitWords(unit string) string {
	switch unit {
	case "ms":
		return "milliseconds"
	case "s":
		return "seconds"
	case "µs":
		return "microseconds"
	case "%":
		return "percent"
	case "/s":
		return "per second"
	}
	return unit
}

// axisLabel is an axis label with its unit and, for a logarithmic axis,
// a warning: "NFS round trip (ms, log scale)".
func axisLabel(label, unit string, log bool) string {
	switch {
	case log && unit != "":
		return label + " (" + unit + ", log scale)"
	case log:
		return label + " (log scale)"
	}
	return withUnit(label, unit)
}

// setYRange fits the y axis to values from lo to hi (display units): from
// zero for a quantity that is never negative, with a little headroom,
// never above 100 % for a share that stays below it. A chart whose values
// are all zero spans 0 to 1 and says "All zero"; one without any value
// says so.
func (c *Chart) setYRange(lo, hi float64, nonNegative, percent bool) {
	p := c.Plot
	switch {
	case math.IsInf(lo, 1) || math.IsNaN(lo) || math.IsNaN(hi):
		p.Y.Min, p.Y.Max = 0, 1
		c.Notes = append(c.Notes, "No values")
		return
	case lo == 0 && hi == 0:
		p.Y.Min, p.Y.Max = 0, 1
		p.Y.Tick.Marker = plot.ConstantTicks{{Value: 0, Label: "0"}}
		c.Notes = append(c.Notes, "All zero")
		return
	}
	if nonNegative {
		lo = 0
	}
	span := hi - lo
	if span == 0 {
		span = math.Abs(hi) * 0.2
	}
	p.Y.Min, p.Y.Max = lo, hi+0.07*span
	if !nonNegative {
		p.Y.Min = lo - 0.07*span
	}
	if percent && hi <= 100 {
		p.Y.Max = math.Min(p.Y.Max, 100)
	}
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

func (h hline) Thumbnail(c *draw.Canvas) {
	y := (c.Min.Y + c.Max.Y) / 2
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

// sorted returns the points in order of x.
func (e errPoints) sorted() errPoints {
	order := make([]int, len(e.XYs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmpFloat(e.XYs[a].X, e.XYs[b].X) })
	var out errPoints
	for _, i := range order {
		out.XYs = append(out.XYs, e.XYs[i])
		out.YErrors = append(out.YErrors, e.YErrors[i])
	}
	return out
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

func findMetric(s *results.Set, name string) (results.MetricInfo, bool) {
	for _, m := range s.Metrics() {
		if m.Name == name {
			return m, true
		}
	}
	return results.MetricInfo{}, false
}

// atPoint is " at <point>" for names, or "" for the single point of an
// experiment without a sweep.
func atPoint(pt results.Point) string {
	if len(pt) == 0 {
		return ""
	}
	return " at " + pt.String()
}

// pointSentence is a point in words as the start of a subtitle ("Backends
// 8. "), or "" without a sweep.
func pointSentence(pt results.Point) string {
	if len(pt) == 0 {
		return ""
	}
	return PointLabel(pt) + ". "
}

// checkFinite returns an error for a value gonum/plot cannot draw.
func checkFinite(what string, vs ...float64) error {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("charts: %s is not a finite number", what)
		}
	}
	return nil
}
