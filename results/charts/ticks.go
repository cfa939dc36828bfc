package charts

import (
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"

	"github.com/mailsim/mailsim/results"
)

// linearTicks are about five round major ticks (steps of 1, 2, 2.5 or 5
// times a power of ten) with a minor tick between each two, labelled
// with the same number of decimals and with thousands separators; from
// ten million on, in millions ("12 M").
type linearTicks struct{}

func (linearTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return nil
	}
	step := niceStep((hi - lo) / 5)
	first := math.Ceil(lo/step-1e-9) * step
	var majors []float64
	for v := first; v <= hi+step*1e-9; v += step {
		majors = append(majors, v)
		if len(majors) > 50 {
			break
		}
	}
	mega := math.Max(math.Abs(lo), math.Abs(hi)) >= 1e7
	div := 1.0
	if mega {
		div = 1e6
	}
	dec := decimals(step / div)
	var ts []plot.Tick
	for i, v := range majors {
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		label := numberLabel(v/div, dec)
		if mega {
			label += " M"
		}
		ts = append(ts, plot.Tick{Value: v, Label: label})
		if i > 0 {
			ts = append(ts, plot.Tick{Value: (majors[i-1] + v) / 2})
		}
	}
	return ts
}

// niceStep rounds x up to 1, 2, 2.5 or 5 times a power of ten.
func niceStep(x float64) float64 {
	if x <= 0 || math.IsNaN(x) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if x <= m*p*(1+1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// decimals is the number of decimals that labels at multiples of step
// need.
func decimals(step float64) int {
	for d := 0; d < 9; d++ {
		scaled := step * math.Pow(10, float64(d))
		if math.Abs(scaled-math.Round(scaled)) < 1e-6*scaled {
			return d
		}
	}
	return 9
}

// numberLabel formats v with dec decimals and thousands separators.
func numberLabel(v float64, dec int) string {
	s := strconv.FormatFloat(v, 'f', dec, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	out := b.String()
	if hasFrac {
		out += "." + frac
	}
	if neg && strings.Trim(out, "0.,") != "" {
		out = "−" + out
	}
	return out
}

// valueTicks are ticks exactly at the tested values of a parameter,
// labelled with the values as tested; between them, nothing.
type valueTicks []plot.Tick

func (v valueTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for _, t := range v {
		if t.Value >= lo && t.Value <= hi {
			ts = append(ts, t)
		}
	}
	return ts
}

// thin leaves out the labels of ticks that would overlap a label already
// placed, keeping the first and the last, for an axis of the given
// length drawn in sty; the ticks stay. It is how many close tested
// values (64, 65, 66, 67 backends) stay legible.
func (v valueTicks) thin(ax plot.Axis, length vg.Length, sty text.Style) plot.Ticker {
	ts := v.Ticks(ax.Min, ax.Max)
	if len(ts) < 2 || length <= 0 {
		return plot.ConstantTicks(ts)
	}
	gap := sty.Width("0")
	pos := func(t plot.Tick) vg.Length { return vg.Length(ax.Norm(t.Value)) * length }
	half := func(t plot.Tick) vg.Length { return sty.Width(t.Label) / 2 }
	out := make([]plot.Tick, len(ts))
	copy(out, ts)
	overlap := func(i, j int) bool { return pos(ts[j])-half(ts[j]) < pos(ts[i])+half(ts[i])+gap }
	n := len(ts) - 1
	keep := make([]bool, len(ts))
	keep[0] = true
	last := 0
	for i := 1; i < n; i++ {
		if !overlap(last, i) {
			keep[i] = true
			last = i
		}
	}
	// The last tick is labelled too, in place of labels it would overlap.
	keep[n] = true
	for i := n - 1; i > 0; i-- {
		if !keep[i] {
			continue
		}
		if !overlap(i, n) {
			break
		}
		keep[i] = false
	}
	for i := range out {
		if !keep[i] {
			out[i].Label = ""
		}
	}
	return plot.ConstantTicks(out)
}

// categoryTicks label ordered categories at 0, 1, 2, ...; every
// category keeps its label, broken into lines when it is wider than its
// share of the axis.
type categoryTicks []plot.Tick

func (ct categoryTicks) Ticks(lo, hi float64) []plot.Tick {
	return valueTicks(ct).Ticks(lo, hi)
}

// wrap breaks the labels wider than an axis of the given length allows
// each category, after ':', ',', '=' or a space.
func (ct categoryTicks) wrap(length vg.Length, sty text.Style) plot.Ticker {
	out := make([]plot.Tick, len(ct))
	copy(out, ct)
	if len(ct) == 0 || length <= 0 {
		return plot.ConstantTicks(out)
	}
	slot := length / vg.Length(len(ct)) * 0.92
	for i := range out {
		if sty.Width(out[i].Label) > slot {
			out[i].Label = breakLabel(out[i].Label, sty, slot)
		}
	}
	return plot.ConstantTicks(out)
}

// breakLabel breaks s into lines no wider than width where it can.
func breakLabel(s string, sty text.Style, width vg.Length) string {
	var parts []string
	start := 0
	for i, r := range s {
		if r == ':' || r == ',' || r == '=' || r == ' ' {
			parts = append(parts, s[start:i+1])
			start = i + 1
		}
	}
	parts = append(parts, s[start:])
	var lines []string
	line := ""
	for _, p := range parts {
		if line != "" && sty.Width(strings.TrimSpace(line+p)) > width {
			lines = append(lines, strings.TrimSpace(line))
			line = ""
		}
		line += p
	}
	lines = append(lines, strings.TrimSpace(line))
	return strings.Join(lines, "\n")
}

// logTicks label a logarithmic axis at 1, 2 and 5 times powers of ten
// when it spans at most three decades, else at the powers of ten only,
// with minor ticks at the other multiples.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) {
		return nil
	}
	labelled := map[int]bool{1: true, 2: true, 5: true}
	if math.Log10(hi/lo) > 3 {
		labelled = map[int]bool{1: true}
	}
	var ts []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		base := math.Pow(10, e)
		for m := 1; m <= 9; m++ {
			v := base * float64(m)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if labelled[m] {
				t.Label = results.Readable(v)
			}
			ts = append(ts, t)
		}
	}
	if countLabels(ts) < 2 { // a narrow range: label its ends too
		ts = append(ts, plot.Tick{Value: lo, Label: results.Readable(lo)}, plot.Tick{Value: hi, Label: results.Readable(hi)})
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

// ninesScale stretches the top of a cumulative distribution: it places a
// share y at −log10(1−y), so that 0.9, 0.99 and 0.999 are as far apart as
// 0 and 0.9, and the 99th percentile is as easy to read as the median.
type ninesScale struct{}

func nines(y float64) float64 {
	return -math.Log10(math.Max(1-y, 1e-9))
}

func (ninesScale) Normalize(lo, hi, y float64) float64 {
	return (nines(y) - nines(lo)) / (nines(hi) - nines(lo))
}

// ninesTicks label a [ninesScale] axis at 50 %, 90 %, 99 % and 99.9 %,
// with minor ticks at 0, 25 % and 75 %, which the scale puts close
// together at the bottom.
type ninesTicks struct{}

func (ninesTicks) Ticks(lo, hi float64) []plot.Tick {
	all := []plot.Tick{{Value: 0}, {Value: 0.25}, {Value: 0.5, Label: "50 %"}, {Value: 0.75}, {Value: 0.9, Label: "90 %"}, {Value: 0.99, Label: "99 %"}, {Value: 0.999, Label: "99.9 %"}, {Value: 0.9999, Label: "99.99 %"}}
	var ts []plot.Tick
	for _, t := range all {
		if t.Value >= lo-1e-12 && t.Value <= hi+1e-12 {
			ts = append(ts, t)
		}
	}
	return ts
}
