package results

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mailsim/mailsim/results/stats"
)

// TextWidth is the width the text table fits in: a 120-column terminal.
const TextWidth = 120

// WriteText writes the table for a terminal, no wider than [TextWidth]:
// the answer (see [Comparison.Answer]), then per sweep point the metrics
// in sections (latency, NFS, consistency, failures, capacity, steady
// state), values in milliseconds, percent and per second, each
// strategy's mean ± the half-width of its interval and, after it, its
// difference from the baseline relative to the baseline's mean. Metrics
// that are zero under every strategy are folded into one line per
// section. Strategies that do not fit beside each other go into further
// blocks.
func (c *Comparison) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	reps := 0
	for _, pc := range c.Points {
		reps = max(reps, pc.Replicas)
	}
	wrap(ew, "", "", c.Experiment+": "+c.textLegend(reps))
	if ans := c.Answer(0); len(ans) > 0 {
		fmt.Fprintln(ew, "\nAnswer")
		for _, st := range ans {
			wrap(ew, "  • ", "    ", st.Text)
		}
	}
	for _, pc := range c.Points {
		if len(c.Points) > 1 || len(pc.Point) > 0 {
			fmt.Fprintf(ew, "\n%s  (%s)\n", pc.Point, replicasNote(pc.Replicas))
		}
		c.writePointText(ew, pc)
	}
	return ew.err
}

// textLegend explains the cells of the text table in one line.
func (c *Comparison) textLegend(reps int) string {
	if reps < 2 {
		return fmt.Sprintf("one replica per strategy, so no intervals (set replicas for them); after each value its difference from %s in percent of %s's value.", c.Baseline, c.Baseline)
	}
	how := "paired by replica"
	if !c.Paired() {
		how = "paired by replica where the runs share a seed, else Welch's unpaired interval, marked ~"
	}
	return fmt.Sprintf("%d replicas; mean ± half-width of the %g %% interval, then the difference from %s in percent of %s's mean (%s; * where its interval excludes zero).",
		reps, 100*c.Level, c.Baseline, c.Baseline, how)
}

// wrap writes text wrapped at TextWidth, the first line after first and
// the others after rest.
func wrap(w io.Writer, first, rest, text string) {
	line := first
	width := utf8.RuneCountInString(first)
	for i, word := range strings.Fields(text) {
		n := utf8.RuneCountInString(word)
		if i > 0 && width+1+n > TextWidth {
			fmt.Fprintln(w, line)
			line, width = rest+word, utf8.RuneCountInString(rest)+n
			continue
		}
		if i > 0 {
			line += " "
			width++
		}
		line += word
		width += n
	}
	fmt.Fprintln(w, line)
}

// textCell formats strategy i's cell of row: "17.5 ± 0.4 +55%*".
func (c *Comparison) textCell(row *MetricRow, i int, d Display) string {
	iv := row.Cells[i]
	if iv.N == 0 {
		return "–"
	}
	s := d.FormatInterval(iv)
	if c.Strategies[i] == c.Baseline {
		return s
	}
	df := row.Diffs[i]
	if df.Abs.N == 0 || math.IsNaN(df.Rel.Mean) || math.IsInf(df.Rel.Mean, 0) {
		return s
	}
	rel := 100 * df.Rel.Mean
	r := signedPercent(rel) + "%"
	if rel >= 900 {
		// Ten times or more: a ratio reads better than a percentage.
		r = "×" + Readable(1+df.Rel.Mean)
	}
	if r == "+0.0%" || r == "-0.0%" {
		r = "0%"
	}
	if !df.Paired && !math.IsNaN(df.Abs.Lo) {
		r += "~"
	}
	if df.Significant() {
		r += "*"
	}
	return s + " " + r
}

// writePointText writes one sweep point's sections.
func (c *Comparison) writePointText(w io.Writer, pc PointComparison) {
	type line struct {
		name  string
		cells []string
	}
	type section struct {
		group Group
		lines []line
		zero  []string
		none  []string
	}
	var secs []*section
	find := func(g Group) *section {
		for _, s := range secs {
			if s.group == g {
				return s
			}
		}
		s := &section{group: g}
		secs = append(secs, s)
		return s
	}
	for _, g := range Groups {
		find(g)
	}
	for k := range pc.Rows {
		row := &pc.Rows[k]
		sec := find(GroupOf(row.Metric.Name))
		zero, none := true, true
		var vals []float64
		for _, iv := range row.Cells {
			if iv.N > 0 && !math.IsNaN(iv.Mean) {
				none = false
				vals = append(vals, iv.Mean)
				if iv.Mean != 0 || !math.IsNaN(iv.Lo) && (iv.Lo != 0 || iv.Hi != 0) {
					zero = false
				}
			}
		}
		switch {
		case none:
			sec.none = append(sec.none, row.Metric.Name)
			continue
		case zero:
			sec.zero = append(sec.zero, row.Metric.Name)
			continue
		}
		d := DisplayOf(row.Metric, vals...)
		l := line{name: row.Metric.Name}
		if d.Unit != "" {
			l.name += " (" + d.Unit + ")"
		}
		for i := range c.Strategies {
			l.cells = append(l.cells, c.textCell(row, i, d))
		}
		sec.lines = append(sec.lines, l)
	}
	// Column widths: the name column fits the longest name shown; the
	// strategies' columns their widest cell.
	nameW := 0
	colW := make([]int, len(c.Strategies))
	for i, st := range c.Strategies {
		colW[i] = utf8.RuneCountInString(st)
	}
	for _, s := range secs {
		for _, l := range s.lines {
			nameW = max(nameW, utf8.RuneCountInString(l.name))
			for i, cell := range l.cells {
				colW[i] = max(colW[i], utf8.RuneCountInString(cell))
			}
		}
	}
	const gap = 2
	nameW = min(nameW, 48)
	// Blocks of strategies that fit beside the name column.
	var blocks [][]int
	used := 2 + nameW
	var cur []int
	width := used
	for i := range c.Strategies {
		if len(cur) > 0 && width+gap+colW[i] > TextWidth {
			blocks = append(blocks, cur)
			cur, width = nil, used
		}
		cur = append(cur, i)
		width += gap + colW[i]
	}
	blocks = append(blocks, cur)
	pad := func(s string, n int, right bool) string {
		k := n - utf8.RuneCountInString(s)
		if k <= 0 {
			return s
		}
		if right {
			return strings.Repeat(" ", k) + s
		}
		return s + strings.Repeat(" ", k)
	}
	clip := func(s string, n int) string {
		if utf8.RuneCountInString(s) <= n {
			return s
		}
		r := []rune(s)
		return string(r[:n-1]) + "…"
	}
	for _, blk := range blocks {
		head := strings.Repeat(" ", 2+nameW)
		for _, i := range blk {
			head += strings.Repeat(" ", gap) + pad(c.Strategies[i], colW[i], true)
		}
		fmt.Fprintln(w, "\n"+head)
		for _, s := range secs {
			if len(s.lines) == 0 {
				continue
			}
			fmt.Fprintln(w, string(s.group))
			for _, l := range s.lines {
				out := "  " + pad(clip(l.name, nameW), nameW, false)
				for _, i := range blk {
					out += strings.Repeat(" ", gap) + pad(l.cells[i], colW[i], true)
				}
				fmt.Fprintln(w, strings.TrimRight(out, " "))
			}
		}
	}
	var zero, none []string
	for _, s := range secs {
		zero = append(zero, s.zero...)
		none = append(none, s.none...)
	}
	if len(zero) > 0 {
		wrap(w, "Zero under every strategy: ", "  ", strings.Join(zero, ", "))
	}
	if len(none) > 0 {
		wrap(w, "No value: ", "  ", strings.Join(none, ", "))
	}
}

// FormatInterval formats a mean and its interval in d's unit as "mean ±
// half-width", the half-width to the decimals of the mean as shown (see
// halfWidthText); a bare mean without an interval, "–" without a value.
func (d Display) FormatInterval(iv stats.Interval) string {
	if iv.N == 0 {
		return "–"
	}
	s := d.Format(iv.Mean)
	if !math.IsNaN(iv.Lo) && iv.Lo != iv.Hi {
		s += " ± " + halfWidthText(s, iv.HalfWidth()*d.Scale)
	}
	return s
}

// halfWidthText formats an interval's half-width hw to the decimal places
// of the mean as shown (mean): "17.6 ± 0.7", "7,162 ± 134", "2.65 ± 0.00".
func halfWidthText(mean string, hw float64) string {
	for _, u := range []struct {
		suffix string
		scale  float64
	}{{"M", 1e6}, {"G", 1e9}} {
		if strings.HasSuffix(mean, u.suffix) {
			return halfWidthText(strings.TrimSuffix(mean, u.suffix), hw/u.scale) + u.suffix
		}
	}
	if strings.Contains(mean, "e") {
		return Readable(hw)
	}
	// A half-width below the mean's last shown digit prints as zero at
	// that digit ("1.43 ± 0.00"): the interval is narrower than the
	// value's precision.
	dec := 0
	if i := strings.IndexByte(mean, '.'); i >= 0 {
		dec = len(mean) - i - 1
	}
	if hw >= 999.5 {
		return thousands(strconv.FormatFloat(math.Round(hw), 'f', 0, 64))
	}
	return strconv.FormatFloat(hw, 'f', dec, 64)
}
