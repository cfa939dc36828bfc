package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailsim/mailsim/results/resultstest"
)

// updateGolden is the package's -update flag, declared in calibrate_test.go.
var updateGolden = update

// synthSet writes the synthetic result set of the results tests.
func synthSet(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "set")
	if err := resultstest.WriteSet(dir, resultstest.Default); err != nil {
		t.Fatal(err)
	}
	return dir
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
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
		t.Errorf("output differs from %s (go test -update accepts it)\ngot:\n%s", path, got)
	}
}

func TestCompareCommand(t *testing.T) {
	set := synthSet(t)
	tests := []struct {
		name   string
		args   []string
		code   int
		golden string // compared with stdout when set
		stderr string // substring expected on stderr
	}{
		{"text", []string{"compare", set}, 0, "compare-text.golden", ""},
		{"flags after the set", []string{"compare", set, "--format", "markdown", "--baseline", "random", "--metrics", "stale_reads,imap.latency.p99"}, 0, "compare-markdown.golden", ""},
		{"csv", []string{"compare", "-format=csv", "-metrics", "failed_logins", set}, 0, "compare-csv.golden", ""},
		{"no set", []string{"compare"}, 2, "", "Usage: mailsim compare"},
		{"the same set twice", []string{"compare", set, set}, 1, "", "two sets are labelled"},
		{"bad format", []string{"compare", set, "--format", "html"}, 2, "", `unknown format "html"`},
		{"bad baseline", []string{"compare", set, "--baseline", "round-robin"}, 2, "", `baseline "round-robin" is not a strategy`},
		{"bad metric", []string{"compare", set, "--metrics", "nope"}, 2, "", "no metric nope"},
		{"not a set", []string{"compare", t.TempDir()}, 1, "", "is not a result set"},
		{"help", []string{"compare", "-h"}, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := mainWith(tt.args, nil, &out, &errb)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.code, errb.String())
			}
			if tt.golden != "" {
				checkGolden(t, tt.golden, out.Bytes())
			}
			if tt.stderr != "" && !strings.Contains(errb.String(), strings.TrimPrefix(tt.stderr, "-")) {
				t.Errorf("stderr %q lacks %q", errb.String(), tt.stderr)
			}
		})
	}
}

func TestCompareWarnsOnMissingRuns(t *testing.T) {
	set := synthSet(t)
	if err := os.Remove(filepath.Join(set, "runs", "p01-per-ip-r2.json")); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := mainWith([]string{"compare", set}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "1 of 18 planned runs are missing (p01-per-ip-r2)") {
		t.Errorf("no warning about the missing run: %q", errb.String())
	}
}
