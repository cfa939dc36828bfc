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

	"github.com/mailsim/mailsim/model/hist"
	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/results/stats"
)

// Histogram names of the command classes that are not client IMAP
// commands: an IDLE connection's periodic mailbox check, and an LMTP
// delivery. The model's imap.latency.* metrics leave both out.
const (
	idleHistogram = "latency/IDLE"
	lmtpHistogram = "latency/LMTP"
	latencyPrefix = "latency/"
)

// LatencyClass is a class of commands whose latencies a chart merges: all
// client IMAP commands, one command, or LMTP deliveries.
type LatencyClass struct {
	// Name is "IMAP" for every client IMAP command, else the command:
	// "SELECT", "LMTP".
	Name string
	// Title says what the class's chart shows, in words.
	Title string
	// Histograms are the names of the histograms merged, such as
	// "latency/SELECT".
	Histograms []string
	// Metric is the table's 99th percentile of the class
	// ("imap.latency.p99", "latency.SELECT.p99", "lmtp.latency.p99"),
	// which the chart marks; "" for none.
	Metric string
}

// LatencyClasses returns the command classes of the set's latency
// histograms ("latency/<command>"): first every client IMAP command
// together, merged exactly as the model's imap.latency.* metrics merge
// them (every command but IDLE checks and LMTP deliveries), then each
// IMAP command alone in name order, then LMTP deliveries. IDLE checks
// have no class: they measure how soon an idle client hears of new
// mail, not how fast a command is answered.
func LatencyClasses(s *results.Set) []LatencyClass {
	var imap []string
	hasLMTP := false
	for _, n := range s.HistogramNames() {
		switch {
		case n == lmtpHistogram:
			hasLMTP = true
		case n == idleHistogram, !strings.HasPrefix(n, latencyPrefix):
		default:
			imap = append(imap, n)
		}
	}
	var out []LatencyClass
	if len(imap) > 0 {
		out = append(out, LatencyClass{Name: "IMAP", Title: "IMAP latency, all commands but IDLE", Histograms: imap, Metric: "imap.latency.p99"})
		for _, n := range imap {
			cmd := strings.TrimPrefix(n, latencyPrefix)
			out = append(out, LatencyClass{Name: cmd, Title: cmd + " latency", Histograms: []string{n}, Metric: "latency." + cmd + ".p99"})
		}
	}
	if hasLMTP {
		out = append(out, LatencyClass{Name: "LMTP", Title: "LMTP delivery latency", Histograms: []string{lmtpHistogram}, Metric: "lmtp.latency.p99"})
	}
	return out
}

// LatencyClassOf returns the set's class called name ("IMAP", "SELECT",
// "LMTP") and whether there is one.
func LatencyClassOf(s *results.Set, name string) (LatencyClass, bool) {
	for _, c := range LatencyClasses(s) {
		if c.Name == name {
			return c, true
		}
	}
	return LatencyClass{}, false
}

// classP99 returns a strategy's 99th percentile of class at its runs as
// the comparison table gives it: the mean over replicas of each run's
// value of class.Metric, or, for a run without that metric, of the 99th
// percentile of the run's histograms of the class merged.
func classP99(runs []*results.Run, class LatencyClass) float64 {
	var vs []float64
	for _, r := range runs {
		if v, ok := r.Metric(class.Metric); ok && class.Metric != "" {
			vs = append(vs, v)
			continue
		}
		h, found := mergeRun(r, class.Histograms)
		if found {
			vs = append(vs, h.Quantile(0.99))
		}
	}
	return stats.MeanCI(vs, stats.DefaultLevel).Mean
}

// mergeRun merges the histograms of r called names.
func mergeRun(r *results.Run, names []string) (h hist.Histogram, found bool) {
	for i := range r.Histograms {
		if slices.Contains(names, r.Histograms[i].Name) {
			h.Merge(&r.Histograms[i].Hist)
			found = true
		}
	}
	return h, found
}

// LatencyCDFChart draws, for every strategy, the cumulative distribution
// of the latencies of one command class at point, its histograms merged
// over replicas (counts added, never percentiles averaged). The x axis
// is logarithmic in milliseconds (seconds for latencies of a second or
// more); the y axis stretches the tail so that 90 %, 99 % and 99.9 % are
// evenly spaced. A dot on each curve marks the strategy's 99th
// percentile as the comparison table gives it (the mean of the
// replicas' own 99th percentiles; see [LatencyClass]), and the legend
// prints it.
func LatencyCDFChart(s *results.Set, point results.Point, class LatencyClass) (*Chart, error) {
	if len(class.Histograms) == 0 {
		return nil, fmt.Errorf("charts: latency class %q names no histogram", class.Name)
	}
	type curve struct {
		st   int
		name string
		h    hist.Histogram
		p99  float64
		reps int
	}
	var curves []curve
	for _, st := range s.Strategies() {
		runs := s.RunsAt(point, st)
		var h hist.Histogram
		reps := 0
		for _, r := range runs {
			rh, found := mergeRun(r, class.Histograms)
			if found {
				h.Merge(&rh)
				reps++
			}
		}
		if h.N == 0 {
			continue
		}
		curves = append(curves, curve{st: strategyIndex(s, st), name: st, h: h, p99: classP99(runs, class), reps: reps})
	}
	if len(curves) == 0 {
		return nil, fmt.Errorf("charts: no histogram %s%s", strings.Join(class.Histograms, ", "), atPoint(point))
	}
	var p99s []float64
	repLo, repHi := math.MaxInt, 0
	for _, cv := range curves {
		p99s = append(p99s, cv.p99)
		repLo, repHi = min(repLo, cv.reps), max(repHi, cv.reps)
	}
	disp := results.DisplayOf(results.MetricInfo{Name: class.Metric, Unit: "s"}, p99s...)

	what := "Commands answered within x"
	if class.Name == "LMTP" {
		what = "Deliveries done within x"
	}
	c := &Chart{
		Name:  "latency " + class.Name + atPoint(point),
		Title: class.Title,
	}
	if c.Title == "" {
		c.Title = class.Name + " latency"
	}
	p := newPlot(axisLabel("Latency", disp.Unit, true), what)
	c.Plot = p
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = logTicks{}
	p.Y.Scale = ninesScale{}
	p.Y.Tick.Marker = ninesTicks{}

	ref := hline{y: 0.99, style: draw.LineStyle{Color: softInk, Width: vg.Points(0.8), Dashes: []vg.Length{vg.Points(3), vg.Points(3)}}}
	p.Add(ref)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, cv := range curves {
		xys := cdfPoints(&cv.h, disp.Scale)
		// The axis shows the curves from 1 % to 99.9 %.
		lo = math.Min(lo, cv.h.Quantile(0.01)*disp.Scale)
		hi = math.Max(hi, cv.h.Quantile(0.999)*disp.Scale)
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("charts: %v", err)
		}
		l.LineStyle = lineStyle(cv.st)
		p.Add(l)
		label := cv.name
		if math.IsNaN(cv.p99) || math.IsInf(cv.p99, 0) || cv.p99 <= 0 {
			// No percentile to mark on a logarithmic axis (none recorded,
			// or a value no latency can have).
			c.addLegend(label+": p99 n/a", l)
			continue
		}
		m := p99Mark{x: cv.p99 * disp.Scale, y: 0.99, glyph: glyphStyle(cv.st), line: draw.LineStyle{Color: palette[cv.st%len(palette)], Width: vg.Points(1), Dashes: []vg.Length{vg.Points(1.5), vg.Points(2)}}}
		m.glyph.Radius = vg.Points(4.5)
		p.Add(m)
		lo, hi = math.Min(lo, m.x), math.Max(hi, m.x)
		c.addLegend(label+": p99 "+disp.FormatUnit(cv.p99), l, m)
	}
	p.X.Min, p.X.Max = lo/1.25, hi*1.25
	p.Y.Min, p.Y.Max = 0, 0.999

	c.Subtitle = pointSentence(point) + fmt.Sprintf("Curves merge %s; dots: each strategy's p99 as in the table", replicasText(repLo, repHi))
	c.Caption = fmt.Sprintf("Cumulative distribution of %s%s. Each strategy's curve merges the histograms of its %s (counts added, percentiles never averaged). The dot is the strategy's 99th percentile as the comparison table gives it: the mean of the replicas' own 99th percentiles, so with several replicas it can sit slightly off the merged curve. The vertical scale stretches the tail, so that 90 %%, 99 %% and 99.9 %% are evenly spaced.",
		lowerFirst(c.Title), atWords(point), replicasText(repLo, repHi))
	return c, nil
}

// atWords is " (<point in words>)", or "" without a sweep.
func atWords(pt results.Point) string {
	if len(pt) == 0 {
		return ""
	}
	return " (" + PointLabel(pt) + ")"
}

// cdfPoints returns the empirical CDF of h at its bucket bounds, scaled
// by scale, as a polyline from the minimum (0) to the maximum (1).
func cdfPoints(h *hist.Histogram, scale float64) plotter.XYs {
	minV := math.Max(h.MinV, hist.Min)
	xys := plotter.XYs{{X: minV * scale, Y: 0}}
	var cum uint64
	for i, n := range h.Counts {
		if n == 0 {
			continue
		}
		cum += n
		x := math.Min(hist.UpperBound(i), h.MaxV)
		x = math.Max(x, minV)
		xys = append(xys, plotter.XY{X: x * scale, Y: float64(cum) / float64(h.N)})
	}
	return xys
}

// p99Mark marks a percentile on a distribution: a glyph at (x, y) and a
// dotted drop line from it to the x axis.
type p99Mark struct {
	x, y  float64
	glyph draw.GlyphStyle
	line  draw.LineStyle
}

func (m p99Mark) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	x, y := trX(m.x), trY(m.y)
	c.StrokeLine2(m.line, x, c.Min.Y, x, y)
	c.DrawGlyph(m.glyph, vg.Point{X: x, Y: y})
}

func (m p99Mark) GlyphBoxes(p *plot.Plot) []plot.GlyphBox {
	return []plot.GlyphBox{{X: p.X.Norm(m.x), Y: p.Y.Norm(m.y), Rectangle: m.glyph.Rectangle()}}
}

func (m p99Mark) Thumbnail(c *draw.Canvas) {
	c.DrawGlyph(m.glyph, c.Center())
}
