//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailsim/nfsmodel"
	"mailsim/workloads/replay"
)

// TestReplayEndToEnd replays a small workload, checks the files it
// writes, and checks the profile with calibrate.
func TestReplayEndToEnd(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	code, stdout, stderr := runCLI(t, "replay", "-dir", dir, "-messages", "30,90", "-max-size", "2048",
		"-reps", "2", "-ops", "8", "-cold", "no", "-clients", "2", "-contention-ops", "20", "-out", out,
		"-machine", "test machine", "-where", "test directory")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"index_rebuild", "fitted costs", "contention: 2 replayers", "profile written to"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if !strings.Contains(stderr, "(removed)") {
		t.Errorf("stderr does not report the scratch folder removed:\n%s", stderr)
	}
	if n, _ := os.ReadDir(dir); len(n) != 0 {
		t.Errorf("left behind in --dir: %v", n)
	}
	report, err := os.ReadFile(filepath.Join(out, "replay-report.txt"))
	if err != nil || !strings.Contains(string(report), "index_rebuild") {
		t.Errorf("report file: %v", err)
	}
	profile := filepath.Join(out, "replay-profile.toml")
	p, err := nfsmodel.LoadProfile(profile)
	if err != nil {
		t.Fatal(err)
	}
	if p.Meta.Machine != "test machine" || p.Meta.Where != "test directory" || len(p.Meta.Messages) != 2 {
		t.Errorf("meta %+v", p.Meta)
	}
	// A workload this small on a shared machine is noise; the check
	// must run and print every operation, and pass at a loose tolerance.
	code, stdout, stderr = runCLI(t, "calibrate", "check", "-tolerance", "1000", profile)
	if code != 0 {
		t.Fatalf("calibrate check: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, op := range []string{replay.OpReaddir, replay.OpRebuild, replay.OpDotlock, replay.OpDeliver} {
		if !strings.Contains(stdout, op) {
			t.Errorf("calibrate check output lacks %s", op)
		}
	}
}

func TestReplayKeepAndClean(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	code, _, stderr := runCLI(t, "replay", "-dir", dir, "-messages", "8", "-max-size", "512", "-reps", "1", "-ops", "2", "-cold", "no", "-keep", "-out", out)
	if code != 0 || !strings.Contains(stderr, "(kept)") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), replay.ScratchPrefix) {
		t.Fatalf("--dir holds %v", entries)
	}
	name := entries[0].Name()
	// A folder named like a scratch folder but without a marker stays.
	fake := filepath.Join(dir, replay.ScratchPrefix+"fake")
	os.Mkdir(fake, 0o700)

	code, stdout, stderr := runCLI(t, "replay", "-dir", dir, "-join", name, "-clients", "2", "-contention-ops", "10", "-quiet")
	if code != 0 || !strings.Contains(stdout, "contention: 2 replayers") {
		t.Fatalf("join: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, "replay", "-clean", dir)
	if code != 0 || !strings.Contains(stdout, "removed "+filepath.Join(dir, name)) || !strings.Contains(stdout, "left "+fake) {
		t.Fatalf("clean: exit %d\n%s", code, stdout)
	}
	entries, _ = os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != filepath.Base(fake) {
		t.Errorf("after clean --dir holds %v", entries)
	}
}

func TestReplayUsage(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o600)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no dir", []string{"replay"}, 2, "--dir is required"},
		{"bad sizes", []string{"replay", "-dir", t.TempDir(), "-messages", "10,x"}, 2, "--messages"},
		{"tiny size", []string{"replay", "-dir", t.TempDir(), "-messages", "1"}, 2, "--messages"},
		{"bad fsync", []string{"replay", "-dir", t.TempDir(), "-mail-fsync", "sometimes"}, 2, "--mail-fsync"},
		{"bad cold", []string{"replay", "-dir", t.TempDir(), "-cold", "maybe"}, 2, "--cold"},
		{"bad out", []string{"replay", "-dir", t.TempDir(), "-out", file}, 2, "--out"},
		{"extra argument", []string{"replay", "-dir", t.TempDir(), "extra"}, 2, "unexpected argument"},
		{"dir is a file", []string{"replay", "-dir", file, "-out", t.TempDir()}, 1, "not a directory"},
		{"dir unwritable", []string{"replay", "-dir", "/proc", "-out", t.TempDir()}, 1, "cannot create a scratch folder"},
		{"clean a file", []string{"replay", "-clean", file}, 1, "not a directory"},
		{"help", []string{"replay", "-h"}, 0, "Usage: mailsim replay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, want %d; stderr:\n%s\nwant it to contain %q", code, tt.code, stderr, tt.stderr)
			}
		})
	}
}
