package results

import (
	"fmt"
	"math"
	"strings"
)

// Finding is the verdict on one metric at one sweep point, phrased only
// as strongly as the intervals allow.
type Finding struct {
	Point  Point
	Metric MetricInfo
	// Best is the strategy that beats every other one significantly in
	// the metric's better direction, or "" when there is none (or the
	// metric has no direction).
	Best string
	// Margins are Best's paired differences from each other strategy
	// (Best minus other), when Best is set; otherwise the significant
	// differences from the baseline.
	Margins []Diff
	// NoInterval is true when too few replicas could be paired for any
	// interval, so that nothing can be claimed.
	NoInterval bool
	// Claim is the finding as an English sentence without the metric
	// and point it is about; Text is the whole sentence.
	Claim string
	Text  string
}

// Findings returns one finding per metric and sweep point, metrics in
// table order and points in plan order within each metric. Claims of a
// difference are made only when the paired interval excludes zero; every
// other case is reported as "no significant difference".
func (c *Comparison) Findings() []Finding {
	var out []Finding
	for mi, m := range c.Metrics {
		for _, pc := range c.Points {
			out = append(out, c.finding(pc, &pc.Rows[mi], m))
		}
	}
	return out
}

func (c *Comparison) finding(pc PointComparison, row *MetricRow, m MetricInfo) Finding {
	f := c.claim(pc, row, m)
	at := ""
	if len(pc.Point) > 0 {
		at = " at " + pc.Point.String()
	}
	f.Text = m.Name + at + ": " + f.Claim
	return f
}

func (c *Comparison) claim(pc PointComparison, row *MetricRow, m MetricInfo) Finding {
	f := Finding{Point: pc.Point, Metric: m}
	n := len(c.Strategies)
	if n < 2 {
		f.Claim = "only one strategy; nothing to compare."
		return f
	}
	// All pairwise differences i − j.
	d := make([][]Diff, n)
	enough := false
	for i := range n {
		d[i] = make([]Diff, n)
		for j := range n {
			if i != j {
				d[i][j] = row.diff(i, j, c.Strategies, c.Level)
				if !math.IsNaN(d[i][j].Abs.Lo) {
					enough = true
				}
			}
		}
	}
	if !enough {
		f.NoInterval = true
		f.Claim = "too few replicas for an interval; no claim."
		return f
	}
	better := func(x Diff) bool {
		switch m.Better {
		case Lower:
			return x.Abs.Hi < 0
		case Higher:
			return x.Abs.Lo > 0
		}
		return false
	}
	if m.Better != Neutral {
		for i := range n {
			wins := true
			for j := range n {
				if i != j && !better(d[i][j]) {
					wins = false
					break
				}
			}
			if wins && n > 1 {
				f.Best = c.Strategies[i]
				var parts []string
				for j := range n {
					if j != i {
						f.Margins = append(f.Margins, d[i][j])
						parts = append(parts, describeMargin(d[i][j], m.Unit))
					}
				}
				f.Claim = fmt.Sprintf("%s is best (%s is better): %s.", f.Best, m.Better, strings.Join(parts, "; "))
				return f
			}
		}
	}
	base := indexOf(c.Strategies, c.Baseline)
	var sig, same []string
	for i := range n {
		if i == base {
			continue
		}
		x := d[i][base]
		if x.Significant() {
			f.Margins = append(f.Margins, x)
			sig = append(sig, describeMargin(x, m.Unit))
		} else {
			same = append(same, c.Strategies[i])
		}
	}
	switch {
	case len(sig) == 0:
		f.Claim = "no significant difference between the strategies."
	case len(same) == 0:
		f.Claim = fmt.Sprintf("no single best strategy; %s.", strings.Join(sig, "; "))
	default:
		f.Claim = fmt.Sprintf("%s; no significant difference between %s and %s.", strings.Join(sig, "; "), strings.Join(same, ", "), c.Baseline)
	}
	return f
}

// describeMargin phrases a significant difference: "director is lower
// than random by 0.031 s (95% CI 0.012 to 0.05 s; -22% of random's
// mean)". The interval is that of the absolute paired difference; the
// relative figure is a point estimate only.
func describeMargin(d Diff, unit string) string {
	dir := "higher"
	if d.Abs.Mean < 0 {
		dir = "lower"
	}
	if !d.Significant() {
		return fmt.Sprintf("no significant difference between %s and %s", d.Strategy, d.Reference)
	}
	u := ""
	if unit != "" {
		u = " " + unit
	}
	lo, hi := math.Abs(d.Abs.Lo), math.Abs(d.Abs.Hi)
	if lo > hi {
		lo, hi = hi, lo
	}
	s := fmt.Sprintf("%s is %s than %s by %s%s (%g%% CI %s to %s%s", d.Strategy, dir, d.Reference,
		FormatNumber(math.Abs(d.Abs.Mean)), u, 100*d.Abs.Level, FormatNumber(lo), FormatNumber(hi), u)
	if !math.IsNaN(d.Rel.Mean) {
		s += fmt.Sprintf("; %s%% of %s's mean", pct(d.Rel.Mean), d.Reference)
	}
	return s + ")"
}

func pct(f float64) string {
	v := 100 * f
	if math.Abs(v) >= 10 {
		return fmt.Sprintf("%+.0f", v)
	}
	return fmt.Sprintf("%+.1f", v)
}

func indexOf(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}
