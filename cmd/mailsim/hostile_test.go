package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestHostileArguments checks that arguments that used to exhaust memory,
// or to read a device for ever, are refused before any work.
func TestHostileArguments(t *testing.T) {
	tests := []struct {
		name      string
		run       func(args []string, stdin *bytes.Reader, stdout, stderr *bytes.Buffer) int
		args      []string
		stderrHas string
	}{
		{"churn users", func(a []string, in *bytes.Reader, out, e *bytes.Buffer) int { return runChurn(a, in, out, e) },
			[]string{"--users", "100000000"}, "is not within 1..10000000"},
		{"spec check device", func(a []string, in *bytes.Reader, out, e *bytes.Buffer) int { return runSpec(a, in, out, e) },
			[]string{"check", os.DevNull}, "not a regular file"},
		{"run device", func(a []string, in *bytes.Reader, out, e *bytes.Buffer) int { return cmdRun(a, in, out, e) },
			[]string{"--out", t.TempDir(), os.DevNull}, "not a regular file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			rc := tc.run(tc.args, bytes.NewReader(nil), &out, &errb)
			if rc == 0 || !strings.Contains(errb.String(), tc.stderrHas) {
				t.Errorf("rc %d, stderr %q; want an error containing %q", rc, errb.String(), tc.stderrHas)
			}
		})
	}
}

// TestSpecCheckStdinCapped checks that "spec check -" reads no more than a
// spec may have.
func TestSpecCheckStdinCapped(t *testing.T) {
	var out, errb bytes.Buffer
	in := bytes.NewReader(bytes.Repeat([]byte("# padding\n"), 200_000))
	if rc := runSpec([]string{"check", "-"}, in, &out, &errb); rc == 0 || !strings.Contains(errb.String(), "more than") {
		t.Errorf("rc %d, stderr %q", rc, errb.String())
	}
}
