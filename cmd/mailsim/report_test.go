package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/results/resultstest"
)

func TestReportCommand(t *testing.T) {
	set := synthSet(t)
	// By default the report goes into the set.
	var o, e bytes.Buffer
	if code := mainWith([]string{"report", set}, nil, &o, &e); code != 0 || !strings.Contains(o.String(), filepath.Join(set, reportFile)) {
		t.Fatalf("report into the set: exit %d, stdout %q, stderr %q", code, o.String(), e.String())
	}
	out := filepath.Join(t.TempDir(), "review.html")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring expected on stdout
		stderr string // substring expected on stderr
	}{
		{"to a file, flags after the set", []string{"report", set, "--out", out}, 0, "Report: " + out + " (charts as SVG and PNG in " + chartDirFor(out) + ")", ""},
		{"the old spelling -o", []string{"report", "-o", out, "--chart-files=false", set}, 0, "Report: " + out + "\n", ""},
		{"to stdout as svg", []string{"report", "-o", "-", "--charts", "svg", set}, 0, "data:image/svg&#43;xml;base64,", ""},
		{"no set", []string{"report"}, 2, "", "Usage: mailsim report"},
		{"bad chart format", []string{"report", set, "--charts", "gif"}, 2, "", `unknown chart format "gif"`},
		{"bad baseline", []string{"report", set, "-o", "-", "--baseline", "nope"}, 2, "", `baseline "nope"`},
		{"not a set", []string{"report", t.TempDir(), "-o", "-"}, 1, "", "is not a result set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o, e bytes.Buffer
			if code := mainWith(tt.args, nil, &o, &e); code != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.code, e.String())
			}
			if !strings.Contains(o.String(), tt.stdout) {
				t.Errorf("stdout lacks %q", tt.stdout)
			}
			if !strings.Contains(e.String(), tt.stderr) {
				t.Errorf("stderr %q lacks %q", e.String(), tt.stderr)
			}
		})
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	svgs, _ := filepath.Glob(filepath.Join(chartDirFor(out), "*.svg"))
	pngs, _ := filepath.Glob(filepath.Join(chartDirFor(out), "*.png"))
	if len(svgs) == 0 || len(svgs) != len(pngs) || len(svgs) != bytes.Count(b, []byte("<img ")) {
		t.Errorf("%d SVG and %d PNG chart files for %d charts", len(svgs), len(pngs), bytes.Count(b, []byte("<img ")))
	}
	if !bytes.HasPrefix(b, []byte("<!DOCTYPE html>")) || !bytes.Contains(b, []byte("synthetic-routing")) {
		t.Errorf("%s is not the report", out)
	}
}

// damage copies the synthetic set and applies edit to its copy.
func damage(t *testing.T, src string, edit func(dir string)) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "set")
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	edit(dir)
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sparseSet writes a synthetic set with a sparse manifest, as a capacity
// plan's, and a plan file holding content.
func sparseSet(t *testing.T, plan string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "plan")
	m, runs := resultstest.Build(resultstest.Options{Backends: []int{4}, Strategies: []string{"director"}, Replicas: 2, Samples: 20})
	m.Sparse = true
	for i := range m.Plan {
		m.Plan[i].Order = i + 1
		runs[i].Order = i + 1
	}
	w, err := results.Create(dir, m, results.Session{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if err := w.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finalize(time.Time{}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, results.PlanFile), plan)
	return dir
}

// Damaged data is a data error (exit 1) whose message names the file;
// an unreadable provenance.json, which is not part of the set's identity,
// is only a warning.
func TestDamagedSets(t *testing.T) {
	set := synthSet(t)
	other := filepath.Join(t.TempDir(), "other")
	m, runs := resultstest.Build(resultstest.Default)
	m.SpecExpanded = append(m.SpecExpanded, "# another spec\n"...)
	w, err := results.Create(other, m, results.Session{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(runs[0]); err != nil {
		t.Fatal(err)
	}
	corruptProv := damage(t, set, func(dir string) {
		writeFile(t, filepath.Join(dir, "provenance.json"), "{\"sessions\": [\n  {\"host\": 7}]}\n")
	})
	foreign := damage(t, set, func(dir string) {
		b, err := os.ReadFile(filepath.Join(other, "runs", runs[0].ID+".json"))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "runs", runs[0].ID+".json"), string(b))
	})
	badRun := damage(t, set, func(dir string) { writeFile(t, filepath.Join(dir, "runs", runs[1].ID+".json"), `{"format":2,"id":`) })
	badPlan := sparseSet(t, "{\n  \"users\": \"many\"\n}\n")
	for _, tt := range []struct {
		name   string
		args   []string
		code   int
		stderr []string
	}{
		{"report, corrupt provenance", []string{"report", "-o", "-", corruptProv}, 0,
			[]string{"warning: " + filepath.Join(corruptProv, "provenance.json") + ":2:12: JSON number where a string belongs (key sessions.host)"}},
		{"compare, corrupt provenance", []string{"compare", corruptProv}, 0,
			[]string{"warning: " + filepath.Join(corruptProv, "provenance.json") + ":2:12"}},
		{"report, foreign run file", []string{"report", "-o", "-", foreign}, 1,
			[]string{filepath.Join(foreign, "runs", runs[0].ID+".json") + " belongs to another experiment"}},
		{"compare, foreign run file", []string{"compare", foreign}, 1,
			[]string{filepath.Join(foreign, "runs", runs[0].ID+".json") + " belongs to another experiment"}},
		{"report, truncated run file", []string{"report", "-o", "-", badRun}, 1,
			[]string{filepath.Join(badRun, "runs", runs[1].ID+".json") + ":1:17: the file ends inside a JSON value"}},
		{"report, corrupt plan file", []string{"report", "-o", "-", badPlan}, 1,
			[]string{filepath.Join(badPlan, "plan.json") + ":2:12: JSON string where a whole number in range belongs (key users)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.code, stderr)
			}
			for _, want := range tt.stderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr %q lacks %q", stderr, want)
				}
			}
		})
	}
}
