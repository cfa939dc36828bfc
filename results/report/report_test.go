package report_test

import (
	"bytes"
	"flag"
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
		// 2 metric charts... one per metric, 2 CDFs, 2 vectors × 2 points,
		// 3 time-series columns.
		want := len(s.Metrics()) + 2 + 4 + 3
		if n := strings.Count(html, "<img "); n != want {
			t.Errorf("%s: %d charts, want %d", f, n, want)
		}
		if n := len(dataURI.FindAllString(html, -1)); n != want {
			t.Errorf("%s: %d inline images, want %d", f, n, want)
		}
	}
}

// Two strategies with identical synthetic behaviour must be reported as
// not different, never as a winner.
func TestReportSaysNoSignificantDifference(t *testing.T) {
	s := synthSet(t, resultstest.Options{Backends: []int{4}, Strategies: []string{"s-a", "s-b"}, Replicas: 3, Samples: 100})
	html := string(render(t, s, report.Options{}))
	if strings.Contains(html, "is best") || strings.Contains(html, "is lower than") || strings.Contains(html, "is higher than") {
		t.Errorf("report claims a difference between identical strategies")
	}
	if n := strings.Count(html, "No significant difference between the strategies in this experiment."); n != len(s.Metrics()) {
		t.Errorf("%d metrics reported as not different, want %d", n, len(s.Metrics()))
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
	w, err := results.Create(dir, m, results.Session{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if err := w.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	s, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	html := string(render(t, s, report.Options{}))
	for _, want := range []string{"Only one strategy was run", "only one strategy; nothing to compare.", "swept (none)", "<img "} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, bad := range []string{"at (none)", "is best", "No significant difference"} {
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
