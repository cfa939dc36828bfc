package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportCommand(t *testing.T) {
	set := synthSet(t)
	out := filepath.Join(t.TempDir(), "review.html")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring expected on stdout
		stderr string // substring expected on stderr
	}{
		{"to a file", []string{"report", set, "-o", out}, 0, "", "wrote " + out},
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
	if !bytes.HasPrefix(b, []byte("<!DOCTYPE html>")) || !bytes.Contains(b, []byte("synthetic-routing")) {
		t.Errorf("%s is not the report", out)
	}
}
