package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = mainWith(args, strings.NewReader(""), &o, &e)
	return code, o.String(), e.String()
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no command", nil, 2, "Usage: mailsim COMMAND"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"unknown flag", []string{"run", "--bogus"}, 2, "flag provided but not defined: -bogus"},
		{"two specs", []string{"run", "a.toml", "b.toml"}, 2, "at most one spec"},
		{"help", []string{"help"}, 0, ""},
		{"help of a command", []string{"help", "run"}, 0, ""},
		{"help of an unknown command", []string{"help", "nope"}, 2, `unknown command "nope"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.want)
			}
			if tc.code == 2 && tc.name != "two specs" && !strings.Contains(stderr, "Usage") {
				t.Errorf("a usage error should print usage; stderr %q", stderr)
			}
		})
	}
}

func TestRunRejectsBadSpec(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "bad.toml")
	os.WriteFile(spec, []byte("name = \"x\"\n[cluster]\nbackends = 0\n"), 0o644)
	code, _, stderr := runCLI(t, "run", "--quiet", "--out", filepath.Join(dir, "out"), spec)
	if code != 1 || !strings.Contains(stderr, "bad.toml:3:") || !strings.Contains(stderr, "cluster.backends") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Fatal("an invalid spec must not create a result set")
	}
}

// TestRunSmallExperiment runs a small four-strategy experiment end to end:
// the table names every strategy and the result set holds the manifest and
// the CSV summary.
func TestRunSmallExperiment(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "small.toml")
	os.WriteFile(spec, []byte(`name = "small"
strategies = ["random", "per-ip", "director", "owner-proxy"]
[run]
duration = "2m"
warmup = "30s"
[workload]
users = 200
`), 0o644)
	out := filepath.Join(dir, "set")
	code, stdout, stderr := runCLI(t, "run", "--quiet", "--out", out, spec)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, s := range []string{"random", "per-ip", "director", "owner-proxy", "imap.latency.p99", "stale_reads", "dovecot.errors.total", "load_imbalance", "nfs.ops_per_s", "cache.hit_ratio"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("table lacks %q:\n%s", s, stdout)
		}
	}
	for _, f := range []string{"manifest.json", "runs.csv", reportFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("result set lacks %s: %v", f, err)
		}
	}
	// The table fits a 120-column terminal, answers first, and the run
	// ends with where its report is and what to do next.
	for _, line := range strings.Split(stdout[:strings.Index(stdout, "\nResult set:")], "\n") {
		if n := utf8.RuneCountInString(line); n > 120 {
			t.Errorf("a line of %d columns: %q", n, line)
		}
	}
	for _, want := range []string{"Answer\n", "Report:     " + filepath.Join(out, reportFile), "Next:"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if charts, _ := filepath.Glob(filepath.Join(out, "report-charts", "*.svg")); len(charts) == 0 {
		t.Error("no chart files beside the report")
	}
	// For scripts: --format json prints one JSON document on stdout.
	code, js, stderr := runCLI(t, "run", "--quiet", "--format", "json", "--out", out, spec)
	var doc struct {
		Experiment string
		Answer     []struct{ Text string }
		Points     []struct{ Metrics []struct{ Name string } }
	}
	if err := json.Unmarshal([]byte(js), &doc); code != 0 || err != nil || doc.Experiment != "small" || len(doc.Points) != 1 || len(doc.Points[0].Metrics) == 0 {
		t.Errorf("--format json: exit %d, %v, %+v; stderr %s", code, err, doc, stderr)
	}
	// Running it again finds every run done and prints the same table.
	code, again, stderr := runCLI(t, "run", "--quiet", "--out", out, spec)
	if code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	table := func(s string) string { return s[:strings.Index(s, "\nResult set:")] }
	if table(again) != table(stdout) {
		t.Errorf("resumed run printed a different table")
	}
}

// TestTraceRoundTrip writes a run's workload with mailsim trace and
// replays it through a spec: the replayed run's table equals the original.
func TestTraceRoundTrip(t *testing.T) {
	dir := t.TempDir()
	spec := `name = "traced"
strategies = ["director"]
[run]
duration = "2m"
warmup = "30s"
[workload]
users = 150
`
	os.WriteFile(filepath.Join(dir, "gen.toml"), []byte(spec), 0o644)
	code, stdout, stderr := runCLI(t, "trace", "-o", filepath.Join(dir, "w.trace"), filepath.Join(dir, "gen.toml"))
	if code != 0 || !strings.Contains(stdout, "wrote the workload of run p0-director-r0") {
		t.Fatalf("trace: exit %d: %s%s", code, stdout, stderr)
	}
	os.WriteFile(filepath.Join(dir, "rep.toml"), []byte(spec+"trace = \"w.trace\"\n"), 0o644)
	_, gen, _ := runCLI(t, "run", "--quiet", "--format", "csv", "--out", filepath.Join(dir, "gen"), filepath.Join(dir, "gen.toml"))
	code, rep, stderr := runCLI(t, "run", "--quiet", "--format", "csv", "--out", filepath.Join(dir, "rep"), filepath.Join(dir, "rep.toml"))
	if code != 0 {
		t.Fatalf("replay: %s", stderr)
	}
	// A csv table is stdout's only content: the notes go to stderr.
	if gen == "" || strings.Contains(gen, "Result set:") {
		t.Fatalf("stdout holds more than the csv table:\n%s", gen)
	}
	if gen != rep {
		t.Errorf("replayed table differs:\n%s\n---\n%s", gen, rep)
	}
}
