package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"

	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/results/charts"
)

// WritePlan writes the report of a capacity plan: the answer per
// strategy, what binds and the margins, one chart per objective against
// the backend count with the limit and the chosen point marked, and every
// probe the search made. s is the plan's result set, for its identity.
func WritePlan(w io.Writer, s *results.Set, o *results.PlanOutcome) error {
	var txt bytes.Buffer
	if err := o.WriteText(&txt); err != nil {
		return err
	}
	pg := planPage{
		Experiment: s.Manifest.Experiment,
		Version:    s.Manifest.MailsimVersion,
		Commit:     s.Manifest.Commit,
		Build:      buildText(s.Manifest.Build),
		Seed:       s.Manifest.Seed,
		Question:   s.Manifest.Description,
		Users:      results.FormatCount(o.Users),
		Confidence: 100 * o.Confidence,
		Replicas:   fmt.Sprintf("%d to %d", o.ReplicasMin, o.ReplicasMax),
		Failure:    o.Failure,
		Spec:       string(s.Manifest.SpecGiven),
		Runs:       len(s.Runs),
	}
	for _, ob := range o.Objectives {
		pg.Objectives = append(pg.Objectives, ob.Name)
	}
	for i := range o.Strategies {
		sp := &o.Strategies[i]
		row := planRow{Strategy: sp.Strategy, Found: sp.Found, Binding: sp.Binding, Probes: len(sp.Probes), Runs: sp.Runs}
		if sp.Found {
			row.Backends, row.Threads, row.Cache = sp.Chosen.Backends, sp.Chosen.NFSThreads, results.FormatBytes(sp.Chosen.CacheBytes)
		}
		for _, m := range o.Margins(sp) {
			cell := "–"
			if !math.IsInf(m, 0) {
				cell = fmt.Sprintf("%+.0f%%", 100*m)
			}
			row.Margins = append(row.Margins, cell)
		}
		pg.Rows = append(pg.Rows, row)
		for _, pr := range sp.Probes {
			pp := planProbe{Strategy: sp.Strategy, Config: pr.Candidate.String(), Pass: pr.Pass, Overloaded: pr.Overloaded}
			for _, c := range pr.Failing() {
				scen := ""
				if c.Scenario == results.ScenarioFailure {
					scen = ", one backend down"
				}
				pp.Failing = append(pp.Failing, fmt.Sprintf("%s %s (mean %s%s)", c.Objective, c.Verdict, results.FormatNumber(c.Mean), scen))
			}
			pg.ProbeRows = append(pg.ProbeRows, pp)
		}
	}
	for _, ob := range o.Objectives {
		ch, err := charts.PlanObjectiveChart(o, ob.Name)
		if err != nil {
			continue // no probe measured it (every probe overloaded)
		}
		b, err := ch.Render(charts.PNG, charts.DefaultWidth, charts.DefaultHeight)
		if err != nil {
			return err
		}
		pg.Charts = append(pg.Charts, figure{
			Title:   ch.Title,
			Caption: fmt.Sprintf("Limit %s%s (dotted line). Ringed: the chosen configuration.", results.FormatNumber(ob.Limit), unitText(ob.Unit)),
			URI:     template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b)),
			Alt:     ch.Alt(),
		})
	}
	return planTemplate.Execute(w, pg)
}

func unitText(u string) string {
	if u == "" {
		return ""
	}
	return " " + u
}

type planRow struct {
	Strategy          string
	Found             bool
	Backends, Threads int
	Cache             string
	Binding           string
	Probes, Runs      int
	Margins           []string
}

type planProbe struct {
	Strategy, Config string
	Pass             bool
	Overloaded       string
	Failing          []string
}

type planPage struct {
	Experiment, Version, Commit string
	// Build describes the build that wrote the set, or "".
	Build                     string
	Seed                      uint64
	Question, Users, Replicas string
	Confidence                float64
	Failure                   bool
	Objectives                []string
	Rows                      []planRow
	Charts                    []figure
	ProbeRows                 []planProbe
	Spec                      string
	Runs                      int
}

var planTemplate = template.Must(template.New("plan").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Experiment}}: mailsim capacity plan</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1a1a1a; max-width: 1100px; margin: 2em auto; padding: 0 1.2em; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
.question { font-size: 1.2em; background: #f3f6fa; border-left: 4px solid #0072B2; padding: 0.6em 1em; }
.meta { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.88em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.55em; }
th { background: #f4f4f4; }
.tw { overflow-x: auto; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.pass { background: #e6f4ea; }
td.fail { background: #fde8e8; }
figure { margin: 1.2em 0; }
figure img { width: 100%; max-width: 900px; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; white-space: pre-wrap; }
@page { margin: 14mm 12mm; }
@media print {
  body { font-size: 10pt; max-width: none; margin: 0; padding: 0; }
  .tw { overflow: visible; }
  table { width: 100%; }
  td, th { overflow-wrap: anywhere; }
  tr, figure { break-inside: avoid; }
  td.num { white-space: normal; }
}
</style>
</head>
<body>
<h1>{{.Experiment}}: capacity plan</h1>
<p class="meta">mailsim {{.Version}} ({{.Commit}}), experiment seed {{.Seed}}; {{.Runs}} runs.</p>{{if .Build}}
<p class="meta">Built as {{.Build}}.</p>{{end}}
<h2 id="question">The question</h2>
<p class="question">{{if .Question}}{{.Question}}{{else}}The spec gives no description.{{end}}</p>
<h2 id="answer">The answer</h2>
<p>The smallest configuration (fewest backends, then fewest nfsd threads, then least backend memory) that serves {{.Users}} users and meets every objective{{if .Failure}} both in normal operation and with one backend crashed{{end}}. An objective passes when the one-sided {{.Confidence}}% upper confidence bound of its mean over {{.Replicas}} replicas is within its limit; a verdict still inconclusive at the most replicas counts as a failure.</p>
<div class="tw"><table>
<tr><th>strategy</th><th>backends</th><th>nfsd threads</th><th>cache per backend</th><th>what stops a smaller cluster</th><th>probes</th><th>runs</th></tr>
{{range .Rows}}<tr><td>{{.Strategy}}</td>{{if .Found}}<td class="num">{{.Backends}}</td><td class="num">{{.Threads}}</td><td class="num">{{.Cache}}</td>{{else}}<td colspan="3">none within the search's bounds</td>{{end}}<td>{{.Binding}}</td><td class="num">{{.Probes}}</td><td class="num">{{.Runs}}</td></tr>
{{end}}</table></div>
<h3>Margins at the chosen configuration</h3>
<p>(limit − mean) / limit for every objective, the worse of the scenarios: how much headroom each objective has where the plan stops.</p>
<div class="tw"><table>
<tr><th>strategy</th>{{range .Objectives}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr><td>{{.Strategy}}</td>{{range .Margins}}<td class="num">{{.}}</td>{{end}}</tr>
{{end}}</table></div>
<h2 id="charts">Objectives against the backend count</h2>
{{range .Charts}}<figure><img src="{{.URI}}" alt="{{.Alt}}"><figcaption>{{.Caption}}</figcaption></figure>
{{end}}
<h2 id="probes">Every probe of the search</h2>
<div class="tw"><table>
<tr><th>strategy</th><th>configuration</th><th>verdict</th><th>objectives not passed</th></tr>
{{range .ProbeRows}}<tr><td>{{.Strategy}}</td><td>{{.Config}}</td>{{if .Pass}}<td class="pass">pass</td>{{else}}<td class="fail">fail</td>{{end}}<td>{{if .Overloaded}}{{.Overloaded}} overloaded{{end}}{{range $i, $f := .Failing}}{{if $i}}; {{end}}{{$f}}{{end}}</td></tr>
{{end}}</table></div>
<h2 id="spec">The spec</h2>
<pre>{{.Spec}}</pre>
</body>
</html>
`))
