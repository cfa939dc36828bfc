package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunInterrupted sends the process two interrupts while the second of
// two runs is in progress: mailsim run abandons it at once, keeps the
// finished one, and the same command afterwards runs only what is
// missing, giving the set an uninterrupted command gives.
func TestRunInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three small experiments")
	}
	dir := t.TempDir()
	spec := filepath.Join(dir, "long.toml")
	os.WriteFile(spec, []byte(`name = "long"
strategies = ["director", "random"]
[workload]
users = 1000
[run]
duration = "30m"
`), 0o644)
	out := filepath.Join(dir, "set")
	runs := filepath.Join(out, "runs")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if fs, _ := os.ReadDir(runs); len(fs) >= 1 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		// The first run is kept; the second has just started.
		syscall.Kill(os.Getpid(), syscall.SIGINT)
		time.Sleep(50 * time.Millisecond)
		syscall.Kill(os.Getpid(), syscall.SIGINT)
	}()
	code, _, stderr := runCLI(t, "run", "--quiet", "--workers", "1", "--out", out, spec)
	<-done
	if code != 1 || !strings.Contains(stderr, "interrupted; 1 runs finished and kept") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if fs, _ := os.ReadDir(runs); len(fs) != 1 {
		t.Fatalf("%d run files after the interrupt, want 1: the run in progress should have been abandoned", len(fs))
	}
	code, resumed, stderr := runCLI(t, "run", "--quiet", "--workers", "1", "--out", out, spec)
	if code != 0 {
		t.Fatalf("resumed: exit %d: %s", code, stderr)
	}
	code, whole, stderr := runCLI(t, "run", "--quiet", "--workers", "1", "--out", filepath.Join(dir, "whole"), spec)
	if code != 0 {
		t.Fatalf("uninterrupted: exit %d: %s", code, stderr)
	}
	table := func(s string) string { return s[:strings.Index(s, "\nResult set:")] }
	if table(resumed) != table(whole) {
		t.Errorf("the resumed set differs from an uninterrupted one:\n%s\n%s", table(resumed), table(whole))
	}
}
