package report_test

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/results/charts"
	"github.com/mailsim/mailsim/results/report"
	"github.com/mailsim/mailsim/results/resultstest"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func synthSet(t testing.TB, o resultstest.Options) *results.Set {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "set")
	if err := resultstest.WriteSet(dir, o); err != nil {
		t.Fatal(err)
	}
	s, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func render(t *testing.T, s *results.Set, o report.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := report.Write(&buf, s, o); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// dataURI matches an inline image; html/template writes '+' as "&#43;".
var dataURI = regexp.MustCompile(`data:image/(?:png|svg(?:\+|&#43;)xml);base64,(?:[A-Za-z0-9/=]|\+|&#43;)+`)

// TestReportGolden checks the page's text against a golden file, with
// the inline images replaced by a placeholder (the charts package checks
// the images themselves).
func TestReportGolden(t *testing.T) {
	s := synthSet(t, resultstest.Default)
	got := dataURI.ReplaceAll(render(t, s, report.Options{}), []byte("data:IMAGE"))
	path := filepath.Join("testdata", "report.golden.html")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("report differs from %s (go test -update accepts it)", path)
	}
}

func TestReportIsDeterministicAndSelfContained(t *testing.T) {
	s := synthSet(t, resultstest.Default)
	for _, f := range []charts.Format{charts.PNG, charts.SVG} {
		a := render(t, s, report.Options{ChartFormat: f})
		b := render(t, s, report.Options{ChartFormat: f})
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two renderings of the same set differ", f)
		}
		html := string(a)
		for _, bad := range []string{`src="http`, `href="http`, `src="//`, `href="//`, "<link", "<script", "@import", "url(http"} {
			if strings.Contains(html, bad) {
				t.Errorf("%s: report refers to an external resource (%q)", f, bad)
			}
		}
		// The key charts come before the deciding numbers, at most
		// MaxKeyCharts of them; every chart is an inline image.
		n := strings.Count(html, "<img ")
		if n < 3 || n != len(dataURI.FindAllString(html, -1)) {
			t.Errorf("%s: %d charts, %d inline images", f, n, len(dataURI.FindAllString(html, -1)))
		}
		key := strings.Count(html[:strings.Index(html, `id="numbers"`)], "<img ")
		if key < 2 || key > report.MaxKeyCharts {
			t.Errorf("%s: %d key charts, want 2 to %d", f, key, report.MaxKeyCharts)
		}
	}
}

// TestReportWritesChartFiles: with a chart folder, every chart of the
// page is also written there as SVG and PNG, and the page names them.
func TestReportWritesChartFiles(t *testing.T) {
	s := synthSet(t, resultstest.Default)
	dir := filepath.Join(t.TempDir(), "report-charts")
	var buf bytes.Buffer
	if err := report.Write(&buf, s, report.Options{ChartDir: dir}); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	imgs := strings.Count(html, "<img ")
	if len(entries) != 2*imgs {
		t.Errorf("%d files for %d charts, want an SVG and a PNG each", len(entries), imgs)
	}
	for _, e := range entries {
		name := e.Name()
		base := strings.TrimSuffix(strings.TrimSuffix(name, ".svg"), ".png")
		if !strings.Contains(html, "report-charts/"+base+".svg") {
			t.Errorf("the page does not name %s", name)
		}
		if fi, err := e.Info(); err != nil || fi.Size() == 0 {
			t.Errorf("%s is empty", name)
		}
	}
}

// Two strategies with identical synthetic behaviour must be reported as
// not different, never as a winner.
func TestReportSaysNoSignificantDifference(t *testing.T) {
	s := synthSet(t, resultstest.Options{Backends: []int{4}, Strategies: []string{"s-a", "s-b"}, Replicas: 3, Samples: 100})
	html := string(render(t, s, report.Options{}))
	answer := html[strings.Index(html, `<ul class="answer">`):strings.Index(html, `id="numbers"`)]
	for _, bad := range []string{"best under", "worst under", "only s-", "zero under"} {
		if strings.Contains(answer, bad) {
			t.Errorf("the answer claims a difference between identical strategies (%q)", bad)
		}
	}
	if !strings.Contains(answer, "the same under every strategy") {
		t.Errorf("the answer does not say the strategies are the same:\n%s", answer)
	}
}

func TestReportErrors(t *testing.T) {
	s := synthSet(t, resultstest.Options{Backends: []int{4}, Strategies: []string{"random", "director"}, Replicas: 2, Samples: 50})
	var buf bytes.Buffer
	if err := report.Write(&buf, s, report.Options{Baseline: "nope"}); err == nil || !strings.Contains(err.Error(), "baseline") {
		t.Errorf("unknown baseline: %v", err)
	}
	empty := *s
	empty.Runs = nil
	if err := report.Write(&buf, &empty, report.Options{}); err == nil || !strings.Contains(err.Error(), "no finished runs") {
		t.Errorf("empty set: %v", err)
	}
}

// An experiment without a sweep and with a single strategy still gives a
// sensible page.
func TestReportWithoutSweepOrRivals(t *testing.T) {
	m, runs := resultstest.Build(resultstest.Options{Backends: []int{4}, Strategies: []string{"director"}, Replicas: 2, Samples: 50})
	for i := range m.Plan {
		m.Plan[i].Point = nil
		runs[i].Point = nil
	}
	dir := filepath.Join(t.TempDir(), "set")
	if err := resultstest.Write(dir, m, runs); err != nil {
		t.Fatal(err)
	}
	s, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	html := string(render(t, s, report.Options{}))
	for _, want := range []string{"Only one strategy was run", "swept (none)", "<img "} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, bad := range []string{"at (none)", "best under", "the same under every strategy"} {
		if strings.Contains(html, bad) {
			t.Errorf("report has %q", bad)
		}
	}
}

// TestReportWarnsOfTransients: a set with a run whose measured period is
// not stationary says so in its report.
func TestReportWarnsOfTransients(t *testing.T) {
	set := synthSet(t, resultstest.Default)
	if strings.Contains(string(render(t, set, report.Options{})), "does not look stationary") {
		t.Fatal("a set without the metric is warned about")
	}
	set.Runs[0].Metrics = append(set.Runs[0].Metrics, results.Metric{Name: results.SteadyStateMetric, Value: 0})
	page := string(render(t, set, report.Options{}))
	if !strings.Contains(page, "does not look stationary") || !strings.Contains(page, set.Runs[0].ID) {
		t.Error("the report does not name the run whose measured period is not stationary")
	}
}

// TestReportExtremeValues: absurd metric values (NaN, ±1e300, a mix of
// signs) still give a page, with numbers written readably.
func TestReportExtremeValues(t *testing.T) {
	m, runs := resultstest.Build(resultstest.Options{Backends: []int{4, 8}, Strategies: []string{"random", "per-ip", "director"}, Replicas: 2, Samples: 20})
	vals := []float64{math.NaN(), 1e300, -1.4e306, 0, 1e-300, -7}
	for i, r := range runs {
		for k := range r.Metrics {
			r.Metrics[k].Value = vals[(i+k)%len(vals)]
		}
	}
	dir := filepath.Join(t.TempDir(), "set")
	if err := resultstest.Write(dir, m, runs); err != nil {
		t.Skipf("the format refuses these values: %v", err)
	}
	s, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	html := string(render(t, s, report.Options{ChartFormat: charts.SVG}))
	if !strings.Contains(html, `<ul class="answer">`) || strings.Contains(html, "00000000000") {
		t.Error("the page lacks its answer or writes a number digit by digit")
	}
}
