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
	"slices"
	"strings"

	"gonum.org/v1/plot"

	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/results/charts"
)

// Options shape a report.
type Options struct {
	// Baseline and Metrics are passed to results.Compare.
	Baseline string
	Metrics  []string
	// ChartFormat is how charts are inlined: charts.PNG (default; the
	// pixels are exactly those of the golden images) or charts.SVG
	// (smaller, but drawn with the reader's fonts).
	ChartFormat charts.Format
	// MaxPoints caps the sweep points that get per-point charts (latency
	// CDFs); 0 means 4. The first and last points are always among them.
	MaxPoints int
	// MaxMetricCharts caps the metric-against-parameter charts per swept
	// parameter; 0 means 8.
	MaxMetricCharts int
}

// Chart is one inline chart of the report.
type Chart struct {
	Title   string
	Caption string
	// URI is a data: URI holding the image.
	URI template.URL
	Alt string
}

// Section is a group of charts under a heading.
type Section struct {
	Heading string
	Intro   string
	Charts  []Chart
}

// MetricSummary is the summary of one metric across sweep points.
type MetricSummary struct {
	Metric   results.MetricInfo
	Headline string
	Details  []string
}

type tableCell struct {
	Text  string
	Sub   string // second, smaller line: a difference's interval
	Class string
}

type tableRow struct {
	Metric string
	Doc    string
	Unit   string
	Cells  []tableCell
}

type table struct {
	Point    string
	Replicas int
	Head     []string
	Rows     []tableRow
}

type page struct {
	Experiment string
	Question   string
	// Source says, for a set not made by the model, where its runs come
	// from (the testbed's topology, kernel and packages).
	Source     string
	Version    string
	Commit     string
	Build      string // "" for a set that does not record its build
	Seed       uint64
	Done, Plan int
	Missing    []string
	// Steady warns of runs whose measured period is not stationary.
	Steady       string
	Strategies   string
	Baseline     string
	Sweep        string
	Points       int
	Summary      []MetricSummary
	Tables       []table
	Sections     []Section
	SpecGiven    string
	SpecExpanded string
	Level        float64
	Pairing      string
	Glance       *glance
}

// glance is the at-a-glance table: per metric and point, the strategy
// that beats all others significantly, "n.s." when no difference is
// significant, or "mixed".
type glance struct {
	Points []string
	Rows   []glanceRow
}

type glanceRow struct {
	Metric string
	Better string
	Cells  []tableCell
}

// sourceText describes a set's source for the report's header.
func sourceText(src results.Source) string {
	if src.Kind == "" {
		return ""
	}
	return src.Kind + " (" + strings.Join(src.Detail, "; ") + ")"
}

// Write renders the report of set s to w.
func Write(w io.Writer, s *results.Set, o Options) error {
	if o.ChartFormat == "" {
		o.ChartFormat = charts.PNG
	}
	if o.MaxPoints <= 0 {
		o.MaxPoints = 4
	}
	if o.MaxMetricCharts <= 0 {
		o.MaxMetricCharts = 8
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
		Summary:      summarize(c),
		Tables:       tables(c),
		Pairing:      "replicas paired by seed",
	}
	if len(c.Strategies) > 1 {
		pg.Glance = atAGlance(c)
	}
	if !c.Paired() {
		pg.Pairing = "paired by replica where the runs share a seed; otherwise, marked unpaired, Welch's interval for independent means"
	}
	if pg.Sweep == "" {
		pg.Sweep = "(none)"
	}
	if pg.Experiment == "" {
		pg.Experiment = "mailsim experiment"
	}
	if pg.Sections, err = sections(s, c, o); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, pg); err != nil {
		return fmt.Errorf("report: %v", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// summarize turns the findings into one headline per metric, with the
// per-point findings as details.
func summarize(c *results.Comparison) []MetricSummary {
	fs := c.Findings()
	var out []MetricSummary
	for _, m := range c.Metrics {
		ms := MetricSummary{Metric: m}
		var bests []string
		anySig := false
		noInterval := true
		for _, f := range fs {
			if f.Metric.Name != m.Name {
				continue
			}
			noInterval = noInterval && f.NoInterval
			if len(c.Points) > 1 || len(f.Point) > 0 {
				ms.Details = append(ms.Details, f.Point.String()+": "+f.Claim)
			} else {
				ms.Details = append(ms.Details, f.Claim)
			}
			bests = append(bests, f.Best)
			if len(f.Margins) > 0 {
				anySig = true
			}
		}
		allSame := len(bests) > 0 && bests[0] != "" && !slices.ContainsFunc(bests, func(b string) bool { return b != bests[0] })
		where := "at every sweep point"
		if len(c.Points) == 1 {
			where = "in this experiment"
		}
		switch {
		case len(c.Strategies) < 2:
			ms.Headline = "Only one strategy was run; there is nothing to compare."
		case noInterval && len(bests) > 0:
			// One replica everywhere: say so once instead of per point.
			ms.Headline = "Too few replicas for intervals at every sweep point; no claim (the tables give the values)."
			ms.Details = nil
		case allSame:
			ms.Headline = fmt.Sprintf("%s is best %s (%s is better).", bests[0], where, m.Better)
		case !anySig:
			ms.Headline = fmt.Sprintf("No significant difference between the strategies %s.", where)
		default:
			wins := map[string]int{}
			var order []string
			for _, b := range bests {
				if b != "" {
					if wins[b] == 0 {
						order = append(order, b)
					}
					wins[b]++
				}
			}
			if len(order) == 0 {
				ms.Headline = "Some strategies differ significantly, but none is best against all others; see the details."
			} else {
				var parts []string
				for _, b := range order {
					parts = append(parts, fmt.Sprintf("%s at %d of %d points", b, wins[b], len(bests)))
				}
				ms.Headline = fmt.Sprintf("Best strategy varies: %s; elsewhere no single best strategy.", strings.Join(parts, ", "))
			}
		}
		out = append(out, ms)
	}
	return out
}

func atAGlance(c *results.Comparison) *glance {
	g := &glance{}
	for _, pc := range c.Points {
		g.Points = append(g.Points, pc.Point.String())
	}
	fs := c.Findings()
	for _, m := range c.Metrics {
		row := glanceRow{Metric: m.Name, Better: string(m.Better)}
		if m.Better == results.Neutral {
			row.Better = "–"
		}
		for _, f := range fs {
			if f.Metric.Name != m.Name {
				continue
			}
			switch {
			case f.Best != "":
				row.Cells = append(row.Cells, tableCell{Text: f.Best, Class: "better"})
			case f.NoInterval:
				row.Cells = append(row.Cells, tableCell{Text: "n/a", Class: "ns"})
			case len(f.Margins) == 0:
				row.Cells = append(row.Cells, tableCell{Text: "n.s.", Class: "ns"})
			default:
				row.Cells = append(row.Cells, tableCell{Text: "mixed", Class: "ns"})
			}
		}
		g.Rows = append(g.Rows, row)
	}
	return g
}

func tables(c *results.Comparison) []table {
	var out []table
	for _, pc := range c.Points {
		t := table{Point: pc.Point.String(), Replicas: pc.Replicas, Head: []string{"metric", "unit"}}
		t.Head = append(t.Head, c.Strategies...)
		var others []int
		for i, st := range c.Strategies {
			if st != c.Baseline {
				others = append(others, i)
				t.Head = append(t.Head, "Δ "+st+" − "+c.Baseline)
			}
		}
		for _, row := range pc.Rows {
			r := tableRow{Metric: row.Metric.Name, Doc: row.Metric.Doc, Unit: row.Metric.Unit}
			for i, iv := range row.Cells {
				cls := "num"
				if c.Strategies[i] == c.Baseline {
					cls += " base"
				}
				r.Cells = append(r.Cells, tableCell{Text: results.FormatCell(iv), Class: cls})
			}
			for _, i := range others {
				d := row.Diffs[i]
				cls := "num"
				if d.Significant() {
					cls += " sig"
					switch {
					case row.Metric.Better == results.Lower && d.Abs.Mean < 0, row.Metric.Better == results.Higher && d.Abs.Mean > 0:
						cls += " better"
					case row.Metric.Better != results.Neutral:
						cls += " worse"
					}
				}
				text, sub, _ := strings.Cut(results.FormatDiff(d, "*"), " [")
				if sub != "" {
					sub = "[" + sub
				}
				if d.Significant() {
					text += " *"
					sub = strings.TrimSuffix(sub, " *")
				}
				r.Cells = append(r.Cells, tableCell{Text: text, Sub: sub, Class: cls})
			}
			t.Rows = append(t.Rows, r)
		}
		out = append(out, t)
	}
	return out
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

func sections(s *results.Set, c *results.Comparison, o Options) ([]Section, error) {
	var out []Section
	add := func(sec *Section, p *plot.Plot, err error, caption string) error {
		if err != nil {
			return nil // nothing to draw for this combination
		}
		b, err := charts.Render(p, o.ChartFormat, charts.DefaultWidth, charts.DefaultHeight)
		if err != nil {
			return err
		}
		mime := "image/png"
		if o.ChartFormat == charts.SVG {
			mime = "image/svg+xml"
		}
		sec.Charts = append(sec.Charts, Chart{
			Title:   p.Title.Text,
			Caption: caption,
			URI:     template.URL("data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(b)),
			Alt:     p.Title.Text,
		})
		return nil
	}
	points := s.Points()
	chosen := pickPoints(points, o.MaxPoints)

	// A metric against each swept parameter.
	for _, key := range s.SweepKeys() {
		var vals []string
		for _, pt := range points {
			if v, ok := pt.Get(key); ok && !slices.Contains(vals, v) {
				vals = append(vals, v)
			}
		}
		if len(vals) < 2 {
			continue
		}
		sec := Section{Heading: "Metrics against " + key,
			Intro: fmt.Sprintf("Each point is the mean over replicas; the bars are %g%% Student-t confidence intervals. Points of different strategies are shifted sideways a little so that their bars do not overlap.", 100*c.Level)}
		for k, m := range c.Metrics {
			if k >= o.MaxMetricCharts {
				break
			}
			p, err := charts.MetricVsParam(s, m.Name, key)
			if err := add(&sec, p, err, m.Doc); err != nil {
				return nil, err
			}
		}
		if len(sec.Charts) > 0 {
			out = append(out, sec)
		}
	}

	// Latency distributions.
	if names := s.HistogramNames(); len(names) > 0 {
		sec := Section{Heading: "Latency distributions",
			Intro: "Cumulative distribution of " + strings.Join(names, ", ") + ", all replicas of a strategy merged by adding histogram counts (percentiles are read from the merged histogram, never averaged). Dashed grey lines mark the median and the 99th percentile."}
		for _, pt := range chosen {
			p, err := charts.LatencyCDF(s, pt, names)
			if err := add(&sec, p, err, ""); err != nil {
				return nil, err
			}
		}
		if len(sec.Charts) > 0 {
			out = append(out, sec)
		}
	}

	// Per-backend load.
	if names := s.VectorNames(); len(names) > 0 {
		sec := Section{Heading: "Load per backend", Intro: "Mean over replicas for each backend; an even spread means a balanced cluster."}
		for k, name := range names {
			if k >= 3 {
				break
			}
			for _, pt := range pickPoints(points, 2) {
				p, err := charts.BackendLoad(s, pt, name)
				if err := add(&sec, p, err, ""); err != nil {
					return nil, err
				}
			}
		}
		if len(sec.Charts) > 0 {
			out = append(out, sec)
		}
	}

	// Incidents around faults.
	if cols := s.SeriesColumns(); len(cols) > 0 {
		pt, ok := pointWithEvents(s, chosen)
		sec := Section{Heading: "Incidents over time", Intro: "Mean over replicas per sampling interval."}
		if ok {
			sec.Intro += " Dashed red lines mark events such as injected faults."
		} else {
			pt = chosen[len(chosen)-1]
		}
		for k, col := range cols {
			if k >= 4 {
				break
			}
			p, err := charts.Incidents(s, pt, col)
			if err := add(&sec, p, err, ""); err != nil {
				return nil, err
			}
		}
		if len(sec.Charts) > 0 {
			out = append(out, sec)
		}
	}
	return out, nil
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
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1a1a1a; max-width: 1100px; margin: 2em auto; padding: 0 1.2em; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
.question { font-size: 1.2em; background: #f3f6fa; border-left: 4px solid #0072B2; padding: 0.6em 1em; }
.meta { color: #555; font-size: 0.9em; }
.warn { background: #fff4e5; border-left: 4px solid #E69F00; padding: 0.5em 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.88em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.55em; }
th { background: #f4f4f4; }
.tw { overflow-x: auto; }
td small { font-weight: normal; color: #444; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.base { background: #fafafa; }
td.sig { font-weight: 600; }
td.better { background: #e6f4ea; }
td.worse { background: #fde8e8; }
td.ns { color: #666; }
figure { margin: 1.2em 0; }
figure img { width: 100%; max-width: 900px; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.summary li { margin-bottom: 0.4em; }
.summary ul ul { font-size: 0.9em; color: #333; }
</style>
</head>
<body>
<h1>{{.Experiment}}</h1>
<p class="meta">mailsim {{.Version}} ({{.Commit}}), experiment seed {{.Seed}}; {{.Done}} of {{.Plan}} planned runs; strategies {{.Strategies}}; swept {{.Sweep}} ({{.Points}} point{{if ne .Points 1}}s{{end}}).</p>{{if .Build}}
<p class="meta">Built as {{.Build}}.</p>{{end}}
<h2 id="question">The question</h2>
<p class="question">{{if .Question}}{{.Question}}{{else}}The spec gives no description.{{end}}</p>{{if .Source}}
<p class="meta">Measured, not simulated: {{.Source}}.</p>{{end}}
{{if .Steady}}<p class="warn">{{.Steady}}</p>{{end}}{{if .Missing}}<p class="warn">{{len .Missing}} planned run(s) are missing from this result set; the statistics use the runs present. Missing: {{range $i, $m := .Missing}}{{if $i}}, {{end}}{{$m}}{{end}}.</p>{{end}}
<h2 id="summary">Summary</h2>
<p>Generated from the {{.Level}}% confidence intervals of paired differences between strategies ({{.Pairing}}). A strategy is called best only when it beats every other strategy with an interval that excludes zero; otherwise the summary says there is no significant difference.</p>
{{with .Glance}}<h3>At a glance</h3>
<p>The strategy that beats every other one at each sweep point; n.s.: no significant difference; n/a: too few replicas for an interval; mixed: some differences are significant but no strategy beats all others.</p>
<div class="tw"><table>
<tr><th>metric</th><th>better</th>{{range .Points}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr><td>{{.Metric}}</td><td>{{.Better}}</td>{{range .Cells}}<td class="{{.Class}}">{{.Text}}</td>{{end}}</tr>
{{end}}</table></div>
<h3>Details</h3>{{end}}
<ul class="summary">
{{range .Summary}}<li><strong>{{.Metric.Name}}</strong>{{if .Metric.Unit}} ({{.Metric.Unit}}){{end}}{{if .Metric.Doc}}, {{.Metric.Doc}}{{end}}: {{.Headline}}
<ul>{{range .Details}}<li>{{.}}</li>{{end}}</ul></li>
{{end}}</ul>
<h2 id="comparison">Comparison</h2>
<p>Cells: mean ± half-width of the {{.Level}}% Student-t interval over replicas. Δ columns: difference from {{.Baseline}} ({{.Pairing}}), mean [interval]; * and bold mark an interval that excludes zero; green means the column's strategy is better than {{.Baseline}}, red that it is worse, by the metric's direction.</p>
{{range .Tables}}<h3>{{.Point}} ({{.Replicas}} replicas)</h3>
<div class="tw"><table>
<tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr><td title="{{.Doc}}">{{.Metric}}</td><td>{{.Unit}}</td>{{range .Cells}}<td class="{{.Class}}">{{.Text}}{{if .Sub}}<br><small>{{.Sub}}</small>{{end}}</td>{{end}}</tr>
{{end}}</table></div>
{{end}}
<h2 id="charts">Charts</h2>
{{range .Sections}}<h3>{{.Heading}}</h3>
<p>{{.Intro}}</p>
{{range .Charts}}<figure><img src="{{.URI}}" alt="{{.Alt}}">{{if .Caption}}<figcaption>{{.Caption}}</figcaption>{{end}}</figure>
{{end}}{{end}}
<h2 id="method">How to read this report</h2>
<p>Every percentile (such as imap.latency.p99) is read from mailsim's fixed log-scale histograms: the target rank is q·N, the bucket holding it is found from cumulative counts, and the value is interpolated linearly within the bucket by the rank's position in it, between bounds clamped to the observed minimum and maximum (bounds differ by a factor of 10<sup>1/20</sup> ≈ 1.122, so a percentile is within about 12% of the exact one). The tables average each run's percentile across replicas like any other metric; the latency charts instead merge the histograms of all replicas.</p>
<h2 id="spec">The spec</h2>
<details open><summary>As given</summary><pre>{{.SpecGiven}}</pre></details>
<details><summary>As expanded, with every default</summary><pre>{{.SpecExpanded}}</pre></details>
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
