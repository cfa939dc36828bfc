package results

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mailsim/mailsim/results/stats"
)

// CompareOptions select what [Compare] tabulates.
type CompareOptions struct {
	// Baseline is the strategy that differences are taken against. Empty
	// means "director" when the set has it, else the first strategy of the
	// plan.
	Baseline string
	// Metrics limits the table to these metrics, in this order. Empty
	// means every metric of the set.
	Metrics []string
	// Level is the confidence level of the intervals; 0 means
	// stats.DefaultLevel (0.95).
	Level float64
}

// Comparison is a side-by-side table of strategies: per sweep point and
// metric, each strategy's mean across replicas with its interval, and
// each strategy's paired difference from the baseline.
type Comparison struct {
	Experiment string
	Baseline   string
	// Strategies in plan order, the baseline among them.
	Strategies []string
	Level      float64
	Metrics    []MetricInfo
	Points     []PointComparison
	// Sources labels the sets a side-by-side set combines (see
	// [SideBySide]); the answer then compares each strategy across them
	// rather than ranking them.
	Sources []string
}

// PointComparison holds the rows of one sweep point.
type PointComparison struct {
	Point Point
	// Replicas is the largest number of replicas of any strategy here.
	Replicas int
	Rows     []MetricRow
}

// MetricRow compares the strategies on one metric at one point.
type MetricRow struct {
	Metric MetricInfo
	// Cells holds each strategy's mean and interval, aligned with
	// Comparison.Strategies; N is 0 where a strategy has no value.
	Cells []stats.Interval
	// Diffs holds each strategy's difference from the baseline, aligned
	// with Comparison.Strategies; the baseline's own entry has N 0.
	Diffs []Diff
	// values[i] maps replica number → value for strategy i, and seeds[i]
	// replica number → that run's seed.
	values []map[int]float64
	seeds  []map[int]uint64
}

// Diff is the paired difference between a strategy and a reference
// strategy on one metric at one point: strategy minus reference.
type Diff struct {
	Strategy  string
	Reference string
	// Abs is the mean per-replica difference with its interval.
	Abs stats.Interval
	// Rel is Abs relative to the reference's mean (0.1 is 10% above).
	Rel stats.Interval
	// Paired is true when the runs were paired by replica: every replica
	// present for both strategies ran with the same seed (common random
	// numbers). Otherwise Abs is Welch's interval for the difference of
	// two independent means.
	Paired bool
}

// Significant reports whether the difference's interval excludes zero.
func (d Diff) Significant() bool { return d.Abs.ExcludesZero() }

// Compare builds the comparison table of a set.
func Compare(s *Set, o CompareOptions) (*Comparison, error) {
	c := &Comparison{Experiment: s.Manifest.Experiment, Strategies: s.Strategies(), Level: o.Level, Sources: s.Sources}
	if c.Level == 0 {
		c.Level = stats.DefaultLevel
	}
	if !(c.Level > 0 && c.Level < 1) {
		return nil, fmt.Errorf("results: confidence level %g is not in (0, 1)", c.Level)
	}
	c.Baseline = o.Baseline
	if c.Baseline == "" {
		c.Baseline = c.Strategies[0]
		if slices.Contains(c.Strategies, "director") {
			c.Baseline = "director"
		}
	}
	if !slices.Contains(c.Strategies, c.Baseline) {
		return nil, fmt.Errorf("results: baseline %q is not a strategy of this set (have %s)", c.Baseline, strings.Join(c.Strategies, ", "))
	}
	all := s.Metrics()
	if len(o.Metrics) == 0 {
		c.Metrics = all
	} else {
		var unknown []string
		for _, name := range o.Metrics {
			i := slices.IndexFunc(all, func(m MetricInfo) bool { return m.Name == name })
			if i < 0 {
				unknown = append(unknown, name)
				continue
			}
			c.Metrics = append(c.Metrics, all[i])
		}
		if len(unknown) > 0 {
			names := make([]string, len(all))
			for i, m := range all {
				names[i] = m.Name
			}
			return nil, fmt.Errorf("results: no metric %s in this set (have %s)", strings.Join(unknown, ", "), strings.Join(names, ", "))
		}
	}
	base := slices.Index(c.Strategies, c.Baseline)
	for _, pt := range s.Points() {
		pc := PointComparison{Point: pt}
		runs := make([][]*Run, len(c.Strategies))
		for i, st := range c.Strategies {
			runs[i] = s.RunsAt(pt, st)
			pc.Replicas = max(pc.Replicas, len(runs[i]))
		}
		for _, m := range c.Metrics {
			row := MetricRow{Metric: m, Cells: make([]stats.Interval, len(c.Strategies)), Diffs: make([]Diff, len(c.Strategies)), values: make([]map[int]float64, len(c.Strategies)), seeds: make([]map[int]uint64, len(c.Strategies))}
			for i := range c.Strategies {
				row.values[i] = map[int]float64{}
				row.seeds[i] = map[int]uint64{}
				for _, r := range runs[i] {
					if v, ok := r.Metric(m.Name); ok {
						row.values[i][r.Replica] = v
						row.seeds[i][r.Replica] = r.Seed
					}
				}
				row.Cells[i] = stats.MeanCI(MetricValues(runs[i], m.Name), c.Level)
			}
			for i, st := range c.Strategies {
				if i != base {
					row.Diffs[i] = row.diff(i, base, c.Strategies, c.Level)
				} else {
					row.Diffs[i] = Diff{Strategy: st, Reference: st}
				}
			}
			pc.Rows = append(pc.Rows, row)
		}
		c.Points = append(c.Points, pc)
	}
	return c, nil
}

// diff returns the interval of strategy i's values minus strategy j's.
// When every replica present for both ran with the same seed, the runs
// are paired by replica (common random numbers); otherwise the two
// samples are treated as independent (Welch).
func (row *MetricRow) diff(i, j int, names []string, level float64) Diff {
	var reps []int
	paired := true
	for rep := range row.values[i] {
		if _, ok := row.values[j][rep]; ok {
			reps = append(reps, rep)
			if row.seeds[i][rep] != row.seeds[j][rep] {
				paired = false
			}
		}
	}
	slices.Sort(reps)
	d := Diff{Strategy: names[i], Reference: names[j], Paired: paired && len(reps) > 0}
	var ref float64
	if d.Paired {
		a := make([]float64, len(reps))
		b := make([]float64, len(reps))
		for k, rep := range reps {
			a[k], b[k] = row.values[i][rep], row.values[j][rep]
		}
		d.Abs, _ = stats.PairedDiff(a, b, level)
		ref = stats.MeanCI(b, level).Mean
	} else {
		a, b := sortedValues(row.values[i]), sortedValues(row.values[j])
		d.Abs = stats.WelchDiff(a, b, level)
		ref = stats.MeanCI(b, level).Mean
	}
	d.Rel = stats.RelativeDiff(d.Abs, ref)
	return d
}

// sortedValues returns the values of m in replica order.
func sortedValues(m map[int]float64) []float64 {
	reps := make([]int, 0, len(m))
	for rep := range m {
		reps = append(reps, rep)
	}
	slices.Sort(reps)
	out := make([]float64, len(reps))
	for k, rep := range reps {
		out[k] = m[rep]
	}
	return out
}

// Paired reports whether every difference in the table pairs runs by
// replica with equal seeds; when false, some differences use Welch's
// unpaired interval (and are marked so).
func (c *Comparison) Paired() bool {
	for _, pc := range c.Points {
		for _, row := range pc.Rows {
			for i, d := range row.Diffs {
				if c.Strategies[i] != c.Baseline && d.Abs.N > 0 && !d.Paired {
					return false
				}
			}
		}
	}
	return true
}

// Format is an output format of a comparison table.
type Format string

// Table formats.
const (
	Text     Format = "text"
	CSV      Format = "csv"
	Markdown Format = "markdown"
	JSON     Format = "json"
)

// Write writes the table in format f.
func (c *Comparison) Write(w io.Writer, f Format) error {
	switch f {
	case Text:
		return c.WriteText(w)
	case CSV:
		return c.WriteCSV(w)
	case Markdown:
		return c.WriteMarkdown(w)
	case JSON:
		return c.WriteJSON(w)
	}
	return fmt.Errorf("results: unknown table format %q (want text, markdown, csv or json)", f)
}

// others returns the indices of the non-baseline strategies.
func (c *Comparison) others() []int {
	var out []int
	for i, st := range c.Strategies {
		if st != c.Baseline {
			out = append(out, i)
		}
	}
	return out
}

// legend explains the notation of the tables.
func (c *Comparison) legend() string {
	how := "paired difference from %s by replica (same seeds)"
	if !c.Paired() {
		how = "difference from %s, paired by replica where the runs share a seed, else Welch's unpaired interval (marked \"unpaired\")"
	}
	return fmt.Sprintf("cells: mean ± half-width of the %g%% Student-t interval over replicas; Δ: "+how+", mean [interval]; * marks an interval that excludes zero",
		100*c.Level, c.Baseline)
}

// WriteMarkdown writes the table as GitHub-flavoured Markdown, one table
// per sweep point.
func (c *Comparison) WriteMarkdown(w io.Writer) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "**%s**: %s.\n", mdEscape(c.Experiment), mdEscape(c.legend()))
	for _, pc := range c.Points {
		fmt.Fprintf(ew, "\n### %s (%s)\n\n", mdEscape(pc.Point.String()), replicasNote(pc.Replicas))
		head := []string{"metric", "unit"}
		head = append(head, c.Strategies...)
		for _, i := range c.others() {
			head = append(head, "Δ "+c.Strategies[i])
		}
		fmt.Fprintf(ew, "| %s |\n", strings.Join(mdEscapeAll(head), " | "))
		fmt.Fprintf(ew, "|%s\n", strings.Repeat(" --- |", 2)+strings.Repeat(" ---: |", len(head)-2))
		for _, row := range pc.Rows {
			cells := []string{row.Metric.Name, row.Metric.Unit}
			for _, iv := range row.Cells {
				cells = append(cells, FormatCell(iv))
			}
			for _, i := range c.others() {
				cells = append(cells, FormatDiff(row.Diffs[i], "*"))
			}
			fmt.Fprintf(ew, "| %s |\n", strings.Join(mdEscapeAll(cells), " | "))
		}
	}
	return ew.err
}

// WriteCSV writes the table in long form for other tools: one row per
// sweep point, metric and strategy, with full-precision numbers.
func (c *Comparison) WriteCSV(w io.Writer) error {
	var keys []string
	for _, pc := range c.Points {
		for _, kv := range pc.Point {
			if !slices.Contains(keys, kv.Key) {
				keys = append(keys, kv.Key)
			}
		}
	}
	cw := csv.NewWriter(w)
	head := append(slices.Clone(keys), "metric", "unit", "strategy", "n", "mean", "ci_lo", "ci_hi",
		"baseline", "diff_n", "diff_mean", "diff_lo", "diff_hi", "diff_rel_mean", "paired", "significant")
	cw.Write(head)
	for _, pc := range c.Points {
		for _, row := range pc.Rows {
			for i, st := range c.Strategies {
				rec := make([]string, 0, len(head))
				for _, k := range keys {
					v, _ := pc.Point.Get(k)
					rec = append(rec, v)
				}
				iv := row.Cells[i]
				rec = append(rec, row.Metric.Name, row.Metric.Unit, st, strconv.Itoa(iv.N), csvNum(iv.Mean), csvNum(iv.Lo), csvNum(iv.Hi), c.Baseline)
				if st == c.Baseline {
					rec = append(rec, "", "", "", "", "", "", "")
				} else {
					d := row.Diffs[i]
					rec = append(rec, strconv.Itoa(d.Abs.N), csvNum(d.Abs.Mean), csvNum(d.Abs.Lo), csvNum(d.Abs.Hi), csvNum(d.Rel.Mean), strconv.FormatBool(d.Paired), strconv.FormatBool(d.Significant()))
				}
				cw.Write(rec)
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvNum(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return formatFloat(v)
}

// replicasNote says how many replicas a sweep point has, and that one
// replica gives values without intervals.
func replicasNote(n int) string {
	if n == 1 {
		return "1 replica: values without intervals"
	}
	return fmt.Sprintf("%d replicas", n)
}

// FormatCell formats a mean and its interval as "mean ± half-width", the
// bare value for a single replica, "mean (n=N)" without an interval, or
// "–" without a value.
func FormatCell(iv stats.Interval) string {
	switch {
	case iv.N == 0:
		return "–"
	case iv.N == 1:
		// One replica: the value, no interval (the table's heading gives
		// the replica count).
		return FormatNumber(iv.Mean)
	case math.IsNaN(iv.Lo):
		return fmt.Sprintf("%s (n=%d)", FormatNumber(iv.Mean), iv.N)
	}
	return FormatNumber(iv.Mean) + " ± " + FormatNumber(iv.HalfWidth())
}

// FormatDiff formats a difference as "+mean [lo, hi]", followed by
// "unpaired" for a Welch interval and by mark when the interval excludes
// zero, "+mean" for a single replica, "+mean (n=N)" without an interval, or
// "–" without a value.
func FormatDiff(d Diff, mark string) string {
	iv := d.Abs
	switch {
	case iv.N == 0:
		return "–"
	case iv.N == 1:
		return signed(iv.Mean)
	case math.IsNaN(iv.Lo):
		return fmt.Sprintf("%s (n=%d)", signed(iv.Mean), iv.N)
	}
	s := fmt.Sprintf("%s [%s, %s]", signed(iv.Mean), signed(iv.Lo), signed(iv.Hi))
	if !d.Paired {
		s += " unpaired"
	}
	if d.Significant() {
		s += " " + mark
	}
	return s
}

// FormatNumber formats v with four significant digits, without an
// exponent for everyday magnitudes.
func FormatNumber(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 0), v == 0:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	a := math.Abs(v)
	if a >= 1e-3 && a < 1e6 {
		s := strconv.FormatFloat(v, 'f', max(0, 3-int(math.Floor(math.Log10(a)))), 64)
		if strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		return s
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func signed(v float64) string {
	s := FormatNumber(v)
	if v > 0 || (v == 0 && !math.Signbit(v)) {
		return "+" + s
	}
	return s
}

func mdEscape(s string) string {
	r := strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`)
	return r.Replace(s)
}

func mdEscapeAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = mdEscape(s)
	}
	return out
}

// errWriter remembers the first write error so that formatting code can
// write without checking each call.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
