// Package report writes a design-review report of a result set: one
// self-contained HTML page with the question the experiment answers, its
// spec, the comparison table, the charts (inline images, no external
// resources) and a summary generated from the confidence intervals, so
// that it claims a difference only where the interval of the paired
// difference excludes zero.
//
// The report depends only on the set's identity (manifest and run files),
// not on its provenance, so the same result set always gives the same
// page.
package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/results/charts"
)

// Options shape a report.
type Options struct {
	// Baseline and Metrics are passed to results.Compare.
	Baseline string
	Metrics  []string
	// ChartFormat is how the key charts are inlined: charts.PNG
	// (default; the pixels are exactly those of the golden images) or
	// charts.SVG (smaller, but drawn with the reader's fonts). The
	// appendix's charts are always SVG.
	ChartFormat charts.Format
	// MaxPoints caps the sweep points that get a table of key numbers
	// and per-point charts; 0 means 4. The first and last points are
	// always among them.
	MaxPoints int
	// ChartDir, when set, receives every chart of the report as an SVG
	// and a PNG file (see charts.WriteAll), for slides.
	ChartDir string
}

// MaxKeyCharts is the most charts the report shows before its appendix,
// and MaxAppendixCharts the most its appendix shows (the metrics against
// a swept parameter take at most half of them).
const (
	MaxKeyCharts      = 6
	MaxAppendixCharts = 24
)

// figure is one inline chart of the report.
type figure struct {
	Title    string
	Subtitle string
	Caption  string
	// URI is a data: URI holding the image.
	URI template.URL
	Alt string
	// File is the base name of the chart's files in Options.ChartDir.
	File string
}

type cell struct {
	Text  string
	Sub   string // second, smaller line: a difference and its interval
	Class string
}

type row struct {
	Label string // in words, with the unit
	Name  string // the metric's key
	Doc   string
	Cells []cell
}

type group struct {
	Name string
	Rows []row
	// Zero lists the metrics of the group that are zero under every
	// strategy, folded into one line.
	Zero []string
}

type table struct {
	Point    string
	Replicas int
	Head     []string
	Groups   []group
}

type page struct {
	Experiment string
	Question   string
	Answer     []string
	// Rules states how the answer is chosen.
	Rules string
	// Period is the measured period of each run ("1h"), over which
	// counts are totals; "" when the spec does not say.
	Period string
	// Source says, for a set not made by the model, where its runs come
	// from (the testbed's topology, kernel and packages).
	Source     string
	Version    string
	Commit     string
	Build      string // "" for a set that does not record its build
	Seed       uint64
	Done, Plan int
	Replicas   string
	Missing    []string
	// Steady warns of runs whose measured period is not stationary.
	Steady       string
	NoIntervals  bool
	Strategies   string
	Baseline     string
	Sweep        string
	Points       int
	KeyCharts    []figure
	KeyTables    []table
	Assumptions  []assumption
	Tables       []table
	MoreCharts   []figure
	ChartDir     string
	SpecGiven    string
	SpecExpanded string
	Level        float64
	Pairing      string
}

// sourceText describes a set's source for the report's header.
func sourceText(src results.Source) string {
	if src.Kind == "" {
		return ""
	}
	return src.Kind + " (" + strings.Join(src.Detail, "; ") + ")"
}

// Write renders the report of set s to w: the question and the answer in
// words first (see results.Comparison.Answer), then the charts that carry
// it, a compact table of the deciding numbers with relative differences
// and intervals, what drives the result (the keys varied, chosen,
// measured and assumed), and everything else in a collapsed appendix.
// The page prints to A4 and Letter without cutting tables or charts.
func Write(w io.Writer, s *results.Set, o Options) error {
	if o.ChartFormat == "" {
		o.ChartFormat = charts.PNG
	}
	if o.ChartFormat != charts.PNG && o.ChartFormat != charts.SVG {
		return fmt.Errorf("report: unknown chart format %q (want png or svg)", o.ChartFormat)
	}
	if o.MaxPoints <= 0 {
		o.MaxPoints = 4
	}
	if len(s.Runs) == 0 {
		return fmt.Errorf("report: the set has no finished runs")
	}
	c, err := results.Compare(s, results.CompareOptions{Baseline: o.Baseline, Metrics: o.Metrics})
	if err != nil {
		return err
	}
	m := s.Manifest
	pg := page{
		Experiment:   m.Experiment,
		Question:     m.Description,
		Version:      m.MailsimVersion,
		Source:       sourceText(m.Source),
		Commit:       m.Commit,
		Build:        buildText(m.Build),
		Seed:         m.Seed,
		Done:         len(s.Runs),
		Plan:         len(m.Plan),
		Missing:      s.Missing(),
		Steady:       s.SteadyStateWarning(),
		Strategies:   strings.Join(c.Strategies, ", "),
		Baseline:     c.Baseline,
		Sweep:        strings.Join(s.SweepKeys(), ", "),
		Points:       len(c.Points),
		Level:        100 * c.Level,
		SpecGiven:    string(m.SpecGiven),
		SpecExpanded: string(m.SpecExpanded),
		Pairing:      "replicas paired by seed",
		Rules:        rules(),
	}
	if o.ChartDir != "" {
		pg.ChartDir = filepath.Base(o.ChartDir)
	}
	for _, k := range parseExpanded(string(m.SpecExpanded)) {
		if k.Key == "run.duration" {
			pg.Period = strings.Trim(k.Value, `"`)
		}
	}
	reps := 0
	for _, pc := range c.Points {
		reps = max(reps, pc.Replicas)
	}
	pg.Replicas = fmt.Sprintf("%d replica", reps)
	if reps != 1 {
		pg.Replicas += "s"
	}
	pg.NoIntervals = reps < 2
	if !c.Paired() {
		pg.Pairing = "paired by replica where the runs share a seed; otherwise, marked unpaired, Welch's interval for independent means"
	}
	if pg.Sweep == "" {
		pg.Sweep = "(none)"
	}
	if pg.Experiment == "" {
		pg.Experiment = "mailsim experiment"
	}
	answer := c.Answer(0)
	statements := map[string]results.Statement{}
	for _, st := range c.Statements() {
		statements[st.Metric.Name] = st
	}
	switch {
	case len(c.Strategies) < 2:
		pg.Answer = []string{"Only one strategy was run (" + c.Strategies[0] + "); there is nothing to compare. The tables in the appendix give its values."}
	case len(answer) == 0:
		pg.Answer = []string{"No metric separates the strategies: every difference is below its practical threshold."}
	}
	for _, st := range answer {
		pg.Answer = append(pg.Answer, st.Text)
	}
	chosen := pickPoints(s.Points(), o.MaxPoints)
	keyMetrics := keyMetricNames(c, answer, statements)
	pg.KeyTables = tables(c, keyMetrics, chosen, false)
	pg.Tables = tables(c, nil, nil, true)
	values := sweptValues(s)
	pg.Assumptions = assumptions(string(m.SpecExpanded), string(m.SpecGiven), s.SweepKeys(), values)
	key, more := chartsOf(s, c, answer, statements, values, chosen)
	var all []*charts.Chart
	all = append(all, key...)
	all = append(all, more...)
	// Each chart is drawn once, every chart at once: as SVG, and as PNG
	// for the key charts (unless the page asks for SVG) and for the
	// chart files.
	rs, err := charts.RenderAll(all, charts.DefaultWidth, charts.DefaultHeight, func(i int) bool {
		return o.ChartDir != "" || (i < len(key) && o.ChartFormat != charts.SVG)
	})
	if err != nil {
		return err
	}
	pg.KeyCharts = figures(rs[:len(key)], o)
	// The appendix's charts are inlined as SVG, a sixth of a PNG's bytes,
	// so that a sweep's page stays small enough to mail.
	small := o
	small.ChartFormat = charts.SVG
	pg.MoreCharts = figures(rs[len(key):], small)
	if o.ChartDir != "" {
		if _, err := charts.WriteRendered(o.ChartDir, rs); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, pg); err != nil {
		return fmt.Errorf("report: %v", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// rules states how the answer is chosen, with the thresholds.
func rules() string {
	return fmt.Sprintf("How the answer is chosen: zero against non-zero is always a finding. Otherwise two strategies differ only where the difference is "+
		"larger than a practical threshold (latencies: %g %% and %g ms; shares such as hit ratios: %g percentage point; rates and counts: %g %%) "+
		"and its confidence interval excludes zero; smaller differences are called the same even when they are statistically significant. "+
		"A metric that one strategy alone moves names that strategy.",
		100*results.SameLatency, 1000*results.SameLatencyAbs, results.SameShare, 100*results.SameRate)
}

// keyMetricNames are the metrics of the compact table: those of the
// answer, then the headline metrics that are not zero everywhere, at most
// ten.
func keyMetricNames(c *results.Comparison, answer []results.Statement, statements map[string]results.Statement) []string {
	var out []string
	for _, st := range answer {
		out = append(out, st.Metric.Name)
	}
	for _, name := range []string{"imap.latency.p99", "lmtp.latency.p99", "stale_reads", "dovecot.errors.total", "users_multi_backend",
		"failed_logins", "users_affected", "nfs.ops_per_s", "nfs.utilization", "cache.hit_ratio", "load_imbalance", "backend.cpu_util.max"} {
		if len(out) >= 10 {
			break
		}
		if st, ok := statements[name]; ok && st.Kind != results.AllZero && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		for _, m := range c.Metrics {
			if len(out) < 10 {
				out = append(out, m.Name)
			}
		}
	}
	return out
}

// tables builds the comparison tables: of the metrics named (every one
// when names is nil), at the points given (every point when pts is nil),
// grouped in sections; fold puts the metrics that are zero everywhere into
// one line per section.
func tables(c *results.Comparison, names []string, pts []results.Point, fold bool) []table {
	var out []table
	for _, pc := range c.Points {
		if pts != nil && !slices.ContainsFunc(pts, pc.Point.Equal) {
			continue
		}
		t := table{Point: charts.PointLabel(pc.Point), Replicas: pc.Replicas, Head: slices.Clone(c.Strategies)}
		if len(pc.Point) == 0 {
			t.Point = ""
		}
		groups := map[results.Group]*group{}
		var order []results.Group
		add := func(g results.Group) *group {
			if groups[g] == nil {
				groups[g] = &group{Name: string(g)}
				order = append(order, g)
			}
			return groups[g]
		}
		var rowsIdx []int
		if names == nil {
			for _, g := range results.Groups {
				for k := range pc.Rows {
					if results.GroupOf(pc.Rows[k].Metric.Name) == g {
						rowsIdx = append(rowsIdx, k)
					}
				}
			}
		} else {
			for _, n := range names {
				if k := slices.IndexFunc(pc.Rows, func(r results.MetricRow) bool { return r.Metric.Name == n }); k >= 0 {
					rowsIdx = append(rowsIdx, k)
				}
			}
		}
		for _, k := range rowsIdx {
			r := &pc.Rows[k]
			g := add(results.GroupOf(r.Metric.Name))
			var vals []float64
			zero := true
			for _, iv := range r.Cells {
				if iv.N > 0 {
					vals = append(vals, iv.Mean)
					if iv.Mean != 0 || (!math.IsNaN(iv.Lo) && iv.Hi != 0) {
						zero = false
					}
				}
			}
			if fold && zero {
				g.Zero = append(g.Zero, r.Metric.Name)
				continue
			}
			d := results.DisplayOf(r.Metric, vals...)
			label := results.MetricLabel(r.Metric)
			if d.Unit != "" {
				label += " (" + d.Unit + ")"
			}
			tr := row{Label: label, Name: r.Metric.Name, Doc: r.Metric.Doc}
			for i := range c.Strategies {
				tr.Cells = append(tr.Cells, cellOf(c, r, i, d))
			}
			g.Rows = append(g.Rows, tr)
		}
		if names != nil {
			// The key table keeps the answer's order in one group.
			var flat group
			for _, g := range order {
				flat.Rows = append(flat.Rows, groups[g].Rows...)
			}
			t.Groups = []group{flat}
		} else {
			for _, g := range order {
				t.Groups = append(t.Groups, *groups[g])
			}
		}
		out = append(out, t)
	}
	return out
}

// cellOf formats strategy i's cell of a table: its mean ± half-width in
// the display unit and, under it, its difference from the baseline in
// percent of the baseline's mean with the interval of that difference.
func cellOf(c *results.Comparison, r *results.MetricRow, i int, d results.Display) cell {
	iv := r.Cells[i]
	cl := cell{Class: "num"}
	if c.Strategies[i] == c.Baseline {
		cl.Class += " base"
	}
	if iv.N == 0 {
		cl.Text = "–"
		return cl
	}
	cl.Text = d.FormatInterval(iv)
	if c.Strategies[i] == c.Baseline {
		cl.Sub = "baseline"
		return cl
	}
	df := r.Diffs[i]
	if df.Abs.N == 0 {
		return cl
	}
	switch {
	case d.Percent:
		cl.Sub = signedReadable(100*df.Abs.Mean) + " pp"
		if !math.IsNaN(df.Abs.Lo) {
			cl.Sub += " [" + signedReadable(100*df.Abs.Lo) + ", " + signedReadable(100*df.Abs.Hi) + "]"
		}
	case !math.IsNaN(df.Rel.Mean) && !math.IsInf(df.Rel.Mean, 0):
		cl.Sub = signedReadable(100*df.Rel.Mean) + " %"
		if !math.IsNaN(df.Rel.Lo) && !math.IsInf(df.Rel.Lo, 0) && !math.IsInf(df.Rel.Hi, 0) {
			cl.Sub += " [" + signedReadable(100*df.Rel.Lo) + ", " + signedReadable(100*df.Rel.Hi) + "]"
		}
	case df.Abs.Mean != 0:
		cl.Sub = "vs zero"
	}
	if !df.Paired && !math.IsNaN(df.Abs.Lo) {
		cl.Sub += " unpaired"
	}
	if df.Significant() && results.Practical(r.Metric, r.Cells[i].Mean, r.Cells[slices.Index(c.Strategies, c.Baseline)].Mean) {
		better := (r.Metric.Better == results.Lower) == (df.Abs.Mean < 0)
		switch {
		case r.Metric.Better == results.Neutral:
			cl.Class += " sig"
		case better:
			cl.Class += " sig better"
		default:
			cl.Class += " sig worse"
		}
	}
	return cl
}

// signedReadable formats a difference in percent or percentage points:
// whole numbers from 10 on, one decimal below, with its sign.
func signedReadable(v float64) string {
	var s string
	switch a := math.Abs(v); {
	case a >= 10:
		s = results.Readable(math.Round(v))
	case a >= 0.05:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	default:
		s = strconv.FormatFloat(v, 'f', 2, 64)
	}
	if v > 0 {
		return "+" + s
	}
	return strings.Replace(s, "-", "−", 1)
}

// pickPoints chooses at most n points, always the first and the last,
// the others evenly spaced.
func pickPoints(pts []results.Point, n int) []results.Point {
	if len(pts) <= n {
		return pts
	}
	if n == 1 {
		return pts[len(pts)-1:]
	}
	var out []results.Point
	last := -1
	for k := range n {
		i := int(math.Round(float64(k) * float64(len(pts)-1) / float64(n-1)))
		if i != last {
			out = append(out, pts[i])
			last = i
		}
	}
	return out
}

// chartsOf chooses the charts that carry the answer (at most
// MaxKeyCharts) and the others for the appendix, from what the
// experiment varies: with a sweep, the answer's metrics against each
// swept parameter; then the latency distribution of all IMAP commands,
// the incidents around a fault when there is one, and the load per
// backend; the appendix holds every other metric's chart, every command
// class's distribution and every time series.
func chartsOf(s *results.Set, c *results.Comparison, answer []results.Statement, statements map[string]results.Statement,
	values map[string][]string, chosen []results.Point) (key, more []*charts.Chart) {
	addTo := func(dst *[]*charts.Chart, ch *charts.Chart, err error) {
		if dst == &more && len(more) >= MaxAppendixCharts {
			return
		}
		if err == nil && ch != nil {
			for _, x := range key {
				if x.Slug() == ch.Slug() {
					return
				}
			}
			for _, x := range more {
				if x.Slug() == ch.Slug() {
					return
				}
			}
			*dst = append(*dst, ch)
		}
	}
	last := chosen[len(chosen)-1]
	var swept []string // the keys the experiment varies
	for _, k := range s.SweepKeys() {
		if len(values[k]) >= 2 {
			swept = append(swept, k)
		}
	}
	eventsAt, hasEvents := pointWithEvents(s, chosen)
	// Key charts.
	for _, k := range swept {
		for _, st := range answer {
			if len(key) >= 4 {
				break
			}
			ch, err := charts.MetricVsParamChart(s, st.Metric.Name, k)
			addTo(&key, ch, err)
		}
	}
	if hasEvents {
		for _, col := range []string{"logins_failed", "logins_ok", "stale_reads"} {
			if slices.Contains(s.SeriesColumns(), col) && len(key) < MaxKeyCharts {
				ch, err := charts.IncidentsChart(s, eventsAt, col)
				addTo(&key, ch, err)
				break
			}
		}
	}
	if cl, ok := charts.LatencyClassOf(s, "IMAP"); ok && len(key) < MaxKeyCharts {
		ch, err := charts.LatencyCDFChart(s, last, cl)
		addTo(&key, ch, err)
	}
	if len(swept) == 0 && len(key) < MaxKeyCharts {
		if slices.Contains(s.VectorNames(), "backend.commands") {
			ch, err := charts.BackendLoadChart(s, last, "backend.commands")
			addTo(&key, ch, err)
		}
	}
	// The appendix.
	for _, k := range swept {
		for _, m := range c.Metrics {
			if len(more) >= MaxAppendixCharts/2 {
				break
			}
			if st, ok := statements[m.Name]; ok && (st.Kind == results.Differs || st.Kind == results.ZeroSplit || st.Kind == results.OnlyOne) {
				ch, err := charts.MetricVsParamChart(s, m.Name, k)
				addTo(&more, ch, err)
			}
		}
	}
	for _, pt := range chosen {
		for _, cl := range charts.LatencyClasses(s) {
			if cl.Name == "IMAP" || cl.Name == "LMTP" || pt.Equal(last) {
				ch, err := charts.LatencyCDFChart(s, pt, cl)
				addTo(&more, ch, err)
			}
		}
	}
	for _, name := range s.VectorNames() {
		for _, pt := range pickPoints(s.Points(), 2) {
			ch, err := charts.BackendLoadChart(s, pt, name)
			addTo(&more, ch, err)
		}
	}
	if cols := s.SeriesColumns(); len(cols) > 0 {
		pt := last
		if hasEvents {
			pt = eventsAt
		}
		for _, col := range cols {
			if perBackend(col) {
				continue
			}
			ch, err := charts.IncidentsChart(s, pt, col)
			addTo(&more, ch, err)
		}
	}
	return key, more
}

// sweptValues returns the values each sweep key takes, in plan order.
func sweptValues(s *results.Set) map[string][]string {
	values := map[string][]string{}
	for _, key := range s.SweepKeys() {
		for _, pt := range s.Points() {
			if v, ok := pt.Get(key); ok && !slices.Contains(values[key], v) {
				values[key] = append(values[key], v)
			}
		}
	}
	return values
}

// perBackend reports whether a time-series column is one backend's
// ("logins_ok.b3"): the totals tell the story.
func perBackend(col string) bool {
	i := strings.LastIndex(col, ".b")
	if i < 0 || i+2 == len(col) {
		return false
	}
	for _, r := range col[i+2:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// figures puts drawn charts on the page, in o's format.
func figures(rs []charts.Rendering, o Options) []figure {
	var out []figure
	for _, r := range rs {
		ch := r.Chart
		b, mime := r.PNG, "image/png"
		if o.ChartFormat == charts.SVG {
			b, mime = r.SVG, "image/svg+xml"
		}
		f := figure{
			Title: ch.Title, Subtitle: ch.Subtitle, Caption: ch.Caption, Alt: ch.Alt(),
			URI: template.URL("data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(b)),
		}
		if o.ChartDir != "" {
			f.File = ch.Slug()
		}
		out = append(out, f)
	}
	return out
}

func pointWithEvents(s *results.Set, pts []results.Point) (results.Point, bool) {
	for _, pt := range pts {
		for _, r := range s.Runs {
			if len(r.Events) > 0 && r.Point.Equal(pt) {
				return pt, true
			}
		}
	}
	return nil, false
}

var pageTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Experiment}}: mailsim design review</title>
<style>
@page { margin: 14mm 12mm; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "Liberation Sans", sans-serif; color: #1a1a1a; max-width: 60rem; margin: 1.5rem auto; padding: 0 1.2rem; }
h1 { font-size: 1.75em; margin: 0 0 0.15em; }
h2 { font-size: 1.3em; border-bottom: 1px solid #ccc; padding-bottom: 0.15em; margin-top: 1.6em; break-after: avoid; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.3em; break-after: avoid; }
.meta { color: #555; font-size: 0.85em; margin: 0.2em 0; }
.question { font-size: 1.05em; background: #f3f6fa; border-left: 4px solid #0072B2; padding: 0.5em 0.9em; margin: 0.8em 0; }
.answer { font-size: 1.12em; margin: 0.4em 0 0.6em; padding-left: 1.2em; }
.answer li { margin-bottom: 0.35em; }
.rules { color: #444; font-size: 0.85em; }
.warn { background: #fff4e5; border-left: 4px solid #E69F00; padding: 0.4em 0.9em; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.4em 0 1em; font-size: 0.85em; width: 100%; table-layout: fixed; }
th, td { border: 1px solid #ddd; padding: 0.2em 0.45em; vertical-align: top; overflow-wrap: anywhere; }
th { background: #f4f4f4; text-align: left; }
th.s { text-align: right; }
tr { break-inside: avoid; }
td small { display: block; font-weight: normal; color: #555; font-size: 0.85em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.base { background: #fafafa; }
td.sig { font-weight: 600; }
td.better { background: #e6f4ea; }
td.worse { background: #fde8e8; }
tr.group th { background: #eef2f7; }
td.zero { color: #555; font-size: 0.9em; }
col.label { width: 30%; }
table.assume col.kind { width: 11%; } table.assume col.key { width: 27%; } table.assume col.value { width: 17%; }
figure { margin: 0.8em 0 1.2em; break-inside: avoid; }
figure img { width: 100%; height: auto; border: 1px solid #eee; box-sizing: border-box; }
figcaption { color: #444; font-size: 0.88em; }
pre { background: #f6f6f6; padding: 0.7em; overflow-x: auto; font-size: 0.8em; white-space: pre-wrap; }
details.appendix > summary { font-size: 1.3em; font-weight: bold; margin-top: 1.6em; cursor: pointer; }
@media print {
  body { font-size: 10pt; max-width: none; margin: 0; padding: 0; }
  details.appendix:not([open]) { display: none; }
  figure img { max-height: 120mm; width: auto; max-width: 100%; }
}
</style>
</head>
<body>
<h1>{{.Experiment}}</h1>
<p class="meta">Strategies {{.Strategies}}; swept {{.Sweep}} ({{.Points}} point{{if ne .Points 1}}s{{end}}); {{.Replicas}} per point and strategy; {{.Done}} of {{.Plan}} planned runs; experiment seed {{.Seed}}; mailsim {{.Version}}{{if .Commit}} ({{.Commit}}){{end}}.</p>{{if .Source}}
<p class="meta">Measured, not simulated: {{.Source}}.</p>{{end}}
<p class="question">{{if .Question}}{{.Question}}{{else}}The spec gives no description.{{end}}</p>
<h2 id="answer">The answer</h2>
<ul class="answer">
{{range .Answer}}<li>{{.}}</li>
{{end}}</ul>
<p class="rules">{{if .Period}}Counts are totals over each run's measured {{.Period}}. {{end}}{{.Rules}}{{if .NoIntervals}} This set has one replica per point and strategy, so there are no intervals: differences above the thresholds are reported without one; run replicas for intervals.{{end}}</p>
{{if .Steady}}<p class="warn">{{.Steady}}</p>{{end}}{{if .Missing}}<p class="warn">{{len .Missing}} planned run(s) are missing from this result set; the statistics use the runs present. Missing: {{range $i, $m := .Missing}}{{if $i}}, {{end}}{{$m}}{{end}}.</p>{{end}}
{{if .KeyCharts}}<h2 id="charts">The charts that carry it</h2>
{{range .KeyCharts}}<figure><img src="{{.URI}}" alt="{{.Alt}}">{{if .Caption}}<figcaption>{{.Caption}}{{if .File}} Files: {{$.ChartDir}}/{{.File}}.svg, .png.{{end}}</figcaption>{{end}}</figure>
{{end}}{{end}}
<h2 id="numbers">The deciding numbers</h2>
<p class="rules">Each cell: the mean over replicas ± the half-width of its {{.Level}}% interval; under it, the difference from {{.Baseline}} in percent of {{.Baseline}}'s mean (percentage points for shares) with its interval ({{.Pairing}}). Green: better than {{.Baseline}}, red: worse, where the difference is above its practical threshold and its interval excludes zero.</p>
{{range .KeyTables}}{{if .Point}}<h3>{{.Point}}</h3>{{end}}
<table>
<colgroup><col class="label">{{range .Head}}<col>{{end}}</colgroup>
<tr><th>metric</th>{{range .Head}}<th class="s">{{.}}</th>{{end}}</tr>
{{range .Groups}}{{range .Rows}}<tr><td title="{{.Name}}: {{.Doc}}">{{.Label}}</td>{{range .Cells}}<td class="{{.Class}}">{{.Text}}{{if .Sub}}<small>{{.Sub}}</small>{{end}}</td>{{end}}</tr>
{{end}}{{end}}</table>
{{end}}
<h2 id="drivers">What drives the result</h2>
<p class="rules">Varied: the swept keys. Chosen: keys this experiment sets. Measured: defaults taken from measurements (their sources are in <code>mailsim spec defaults</code>). Assumed: defaults that are the model's assumptions, the first to question when the answer matters.</p>
<table class="assume">
<colgroup><col class="kind"><col class="key"><col class="value"><col></colgroup>
<tr><th>kind</th><th>key</th><th>value</th><th>note</th></tr>
{{range .Assumptions}}<tr><td>{{.Kind}}</td><td><code>{{.Key}}</code></td><td><code>{{.Value}}</code></td><td>{{.Note}}</td></tr>
{{end}}</table>
<details class="appendix"><summary>Appendix: every metric, every chart, the method and the spec</summary>
<h2 id="tables">Every metric</h2>
<p class="rules">As in the deciding numbers. Metrics that are zero under every strategy are listed once per section.</p>
{{range .Tables}}{{if .Point}}<h3>{{.Point}} ({{.Replicas}} replicas)</h3>{{end}}
<table>
<colgroup><col class="label">{{range .Head}}<col>{{end}}</colgroup>
<tr><th>metric</th>{{range .Head}}<th class="s">{{.}}</th>{{end}}</tr>
{{$n := len .Head}}{{range .Groups}}<tr class="group"><th colspan="{{$n}}">{{.Name}}</th><th></th></tr>
{{range .Rows}}<tr><td title="{{.Name}}: {{.Doc}}">{{.Label}}<small>{{.Name}}</small></td>{{range .Cells}}<td class="{{.Class}}">{{.Text}}{{if .Sub}}<small>{{.Sub}}</small>{{end}}</td>{{end}}</tr>
{{end}}{{if .Zero}}<tr><td class="zero" colspan="{{$n}}">Zero under every strategy: {{range $i, $z := .Zero}}{{if $i}}, {{end}}{{$z}}{{end}}</td><td></td></tr>
{{end}}{{end}}</table>
{{end}}
{{if .MoreCharts}}<h2 id="more-charts">Every chart</h2>
{{range .MoreCharts}}<figure><img src="{{.URI}}" alt="{{.Alt}}">{{if .Caption}}<figcaption>{{.Caption}}{{if .File}} Files: {{$.ChartDir}}/{{.File}}.svg, .png.{{end}}</figcaption>{{end}}</figure>
{{end}}{{end}}
<h2 id="method">How to read this report</h2>
<p>Every percentile (such as imap.latency.p99) is read from mailsim's fixed log-scale histograms: the target rank is q·N, the bucket holding it is found from cumulative counts, and the value is interpolated linearly within the bucket by the rank's position in it, between bounds clamped to the observed minimum and maximum (bounds differ by a factor of 10<sup>1/20</sup> ≈ 1.122, so a percentile is within about 12% of the exact one). The tables average each run's percentile across replicas like any other metric; the latency charts instead merge the histograms of all replicas.</p>
<p class="meta">{{if .Build}}Built as {{.Build}}.{{end}}</p>
<h2 id="spec">The spec</h2>
<details open><summary>As given</summary><pre>{{.SpecGiven}}</pre></details>
<details><summary>As expanded, with every default</summary><pre>{{.SpecExpanded}}</pre></details>
</details>
</body>
</html>
`))

// buildText describes the build that wrote a set, or "" when the set does
// not record it.
func buildText(b results.Build) string {
	if b.IsZero() {
		return ""
	}
	return b.String()
}
