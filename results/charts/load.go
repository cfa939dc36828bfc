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

// BackendLoadChart draws the per-backend vector called name at point as
// grouped bars: one group per backend (numbered from 1), one bar per
// strategy, each the mean over replicas, from zero.
func BackendLoadChart(s *results.Set, point results.Point, name string) (*Chart, error) {
	strategies := s.Strategies()
	var unit string
	means := make([][]float64, len(strategies))
	nb := 0
	repLo, repHi := math.MaxInt, 0
	var all []float64
	for i, st := range strategies {
		var sum []float64
		n := 0
		for _, r := range s.RunsAt(point, st) {
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
			all = append(all, sum[b])
		}
		if n > 0 {
			repLo, repHi = min(repLo, n), max(repHi, n)
		}
		means[i] = sum
		nb = max(nb, len(sum))
	}
	if nb == 0 {
		return nil, fmt.Errorf("charts: no per-backend vector %s%s", name, atPoint(point))
	}
	if err := checkFinite(name, all...); err != nil {
		return nil, err
	}
	disp := results.DisplayOf(results.MetricInfo{Name: name, Unit: unit}, all...)
	c := &Chart{
		Name:  name + atPoint(point),
		Title: withUnit(vectorLabel(name), disp.Unit),
	}
	p := newPlot("Backend", unitWords(disp.Unit))
	c.Plot = p
	drawn := 0
	for _, m := range means {
		if len(m) > 0 {
			drawn++
		}
	}
	// Bars fill 80 % of a backend's slot of a data area about 18 cm wide.
	width := vg.Length(math.Min(22, 0.8*510/float64(nb*drawn))) * vg.Points(1)
	lo, hi := math.Inf(1), math.Inf(-1)
	k := 0
	for i, st := range strategies {
		if len(means[i]) == 0 {
			continue
		}
		vals := make(plotter.Values, nb)
		for b := range vals {
			if b < len(means[i]) {
				vals[b] = means[i][b] * disp.Scale
			}
			lo, hi = math.Min(lo, vals[b]), math.Max(hi, vals[b])
		}
		bc, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, fmt.Errorf("charts: %v", err)
		}
		bc.Color = palette[i%len(palette)]
		bc.LineStyle.Width = 0
		bc.Offset = width * vg.Length(float64(k)-float64(drawn-1)/2)
		p.Add(bc)
		c.addLegend(st, bc)
		k++
	}
	ticks := make(valueTicks, nb)
	for b := range ticks {
		ticks[b] = plot.Tick{Value: float64(b), Label: strconv.Itoa(b + 1)}
	}
	p.X.Tick.Marker = ticks
	p.X.Min, p.X.Max = -0.5, float64(nb)-0.5
	p.X.Padding = 0
	p.X.Tick.Length = 0
	c.setYRange(lo, hi, lo >= 0, disp.Percent)
	c.Subtitle = pointSentence(point) + "Mean of " + replicasText(repLo, repHi) + " per strategy"
	c.Caption = "Mean over replicas for each backend; an even spread means a balanced cluster."
	return c, nil
}

// IncidentsChart draws the time-series column called name at point, one
// line per strategy (the mean over replicas at each sample), with the
// runs' events, such as an injected fault, marked by vertical lines:
// faults red and dashed, other events (actions, a health monitor's
// reactions) grey and dotted. Events that are observations (Dovecot's
// log lines, slow IMAP commands: kinds starting "dovecot." or "imap.")
// are not marked: the metrics count them.
func IncidentsChart(s *results.Set, point results.Point, name string) (*Chart, error) {
	type ev struct {
		label string
		fault bool
		times []float64
	}
	var events []*ev
	var unit string
	var interval float64
	var series []struct {
		st   int
		name string
		xys  plotter.XYs
	}
	repLo, repHi := math.MaxInt, 0
	tlo, thi := math.Inf(1), math.Inf(-1)
	var all []float64
	for _, st := range s.Strategies() {
		var sum []float64
		var start, step float64
		n := 0
		for _, r := range s.RunsAt(point, st) {
			if r.Series == nil {
				continue
			}
			col := r.Series.Column(name)
			if col == nil {
				continue
			}
			unit = col.Unit
			start, step = r.Series.Start.Seconds(), r.Series.Interval.Seconds()
			if len(col.Values) > len(sum) {
				sum = append(sum, make([]float64, len(col.Values)-len(sum))...)
			}
			for i, x := range col.Values {
				sum[i] += x
			}
			n++
			for _, e := range r.Events {
				if isObservation(e.Kind) {
					continue
				}
				label := eventLabel(e.Kind, e.Detail)
				i := slices.IndexFunc(events, func(x *ev) bool { return x.label == label })
				if i < 0 {
					events = append(events, &ev{label: label, fault: isFault(e.Kind)})
					i = len(events) - 1
				}
				if at := e.At.Seconds(); !slices.Contains(events[i].times, at) {
					events[i].times = append(events[i].times, at)
				}
			}
		}
		if n == 0 {
			continue
		}
		repLo, repHi = min(repLo, n), max(repHi, n)
		interval = step
		xys := make(plotter.XYs, len(sum))
		for i := range sum {
			// Each sample is drawn at the middle of its interval.
			xys[i] = plotter.XY{X: start + (float64(i)+0.5)*step, Y: sum[i] / float64(n)}
			all = append(all, xys[i].Y)
		}
		tlo, thi = math.Min(tlo, start), math.Max(thi, start+float64(len(sum))*step)
		series = append(series, struct {
			st   int
			name string
			xys  plotter.XYs
		}{strategyIndex(s, st), st, xys})
	}
	if len(series) == 0 {
		return nil, fmt.Errorf("charts: no time series column %s%s", name, atPoint(point))
	}
	if err := checkFinite(name, all...); err != nil {
		return nil, err
	}
	label, level := columnLabel(name)
	disp := results.DisplayOf(results.MetricInfo{Name: name, Unit: unit}, all...)
	title := label
	if !level {
		title += " per " + results.Readable(interval) + " s"
	}
	// Long runs are drawn in minutes.
	tscale, tunit := 1.0, "s"
	if thi-tlo >= 1200 {
		tscale, tunit = 1.0/60, "min"
	}
	c := &Chart{
		Name:  name + " over time" + atPoint(point),
		Title: withUnit(title, disp.Unit),
	}
	p := newPlot(withUnit("Time since the start of the run", tunit), unitWords(disp.Unit))
	c.Plot = p
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, sr := range series {
		for i := range sr.xys {
			sr.xys[i].X *= tscale
			sr.xys[i].Y *= disp.Scale
			lo, hi = math.Min(lo, sr.xys[i].Y), math.Max(hi, sr.xys[i].Y)
		}
		l, err := plotter.NewLine(sr.xys)
		if err != nil {
			return nil, fmt.Errorf("charts: %v", err)
		}
		l.LineStyle = lineStyle(sr.st)
		p.Add(l)
		c.addLegend(sr.name, l)
	}
	const maxEvents = 6
	for i, e := range events {
		slices.Sort(e.times)
		style := draw.LineStyle{Color: eventColor, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(1.5), vg.Points(2.5)}}
		if e.fault {
			style = draw.LineStyle{Color: faultColor, Width: vg.Points(1.6), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
		}
		var v vline
		for _, at := range e.times {
			v = vline{x: at * tscale, style: style}
			p.Add(v)
		}
		if i < maxEvents {
			c.addLegend(e.label+" "+timesText(e.times, tscale, tunit), v)
		}
	}
	if len(events) > maxEvents {
		c.addLegend(fmt.Sprintf("%d more kinds of events (grey)", len(events)-maxEvents))
	}
	p.X.Min, p.X.Max = math.Min(p.X.Min, tlo*tscale), math.Max(p.X.Max, thi*tscale)
	c.setYRange(lo, hi, lo >= 0, disp.Percent)
	c.Subtitle = pointSentence(point) + "Mean of " + replicasText(repLo, repHi) + " per strategy at each sample"
	c.Caption = "Mean over replicas per sampling interval of " + results.Readable(interval) + " s."
	if len(events) > 0 {
		c.Caption += " Vertical lines mark events: faults red and dashed, other events grey and dotted."
	}
	return c, nil
}

// timesText says when an event happened: "at 300 s", "at 290 s and
// 312 s", "3 times, 290–330 s".
func timesText(ts []float64, scale float64, unit string) string {
	f := func(t float64) string { return results.Readable(t*scale) + " " + unit }
	switch len(ts) {
	case 0:
		return ""
	case 1:
		return "at " + f(ts[0])
	case 2:
		return "at " + f(ts[0]) + " and " + f(ts[1])
	}
	return fmt.Sprintf("%d times, %s–%s", len(ts), results.Readable(ts[0]*scale), f(ts[len(ts)-1]))
}
