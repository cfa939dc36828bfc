//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/workloads/replay"
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
		{"help", []string{"replay", "-h"}, 0, ""},
		{"cold and drop-caches disagree", []string{"replay", "-dir", t.TempDir(), "--drop-caches", "--cold", "no"}, 2, "--drop-caches"},
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

// snapshot describes every entry under dir: its type and, for a regular
// file, its content, for a link, its target.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		v := fi.Mode().String()
		switch {
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += " " + string(data)
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			v += " -> " + target
		}
		out[p] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameSnapshot(t *testing.T, before, after map[string]string) {
	t.Helper()
	for p, v := range before {
		if after[p] != v {
			t.Errorf("%s changed: %q, was %q", p, after[p], v)
		}
	}
	for p, v := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s appeared: %q", p, v)
		}
	}
}

// TestReplayOutNeverFollowsLinks plants links and special files where
// replay writes its profile and report, and checks that none is written
// through and nothing outside --out changes.
func TestReplayOutNeverFollowsLinks(t *testing.T) {
	const report, profile = "replay-report.txt", "replay-profile.toml"
	tests := []struct {
		name string
		// plant prepares out, given a directory outside it holding the
		// file precious; it returns the name of what it planted.
		plant  func(t *testing.T, out, outside, precious string) string
		code   int
		stderr string
	}{
		{"report is a link to a file outside", func(t *testing.T, out, _, precious string) string {
			return symlink(t, precious, filepath.Join(out, report))
		}, 1, report + ": it is a symbolic link"},
		{"profile is a link to a file outside", func(t *testing.T, out, _, precious string) string {
			return symlink(t, precious, filepath.Join(out, profile))
		}, 1, profile + ": it is a symbolic link"},
		{"report is a dangling link", func(t *testing.T, out, outside, _ string) string {
			return symlink(t, filepath.Join(outside, "new"), filepath.Join(out, report))
		}, 1, "symbolic link"},
		{"report is a link to a directory outside", func(t *testing.T, out, outside, _ string) string {
			return symlink(t, outside, filepath.Join(out, report))
		}, 1, "symbolic link"},
		{"report is a FIFO", func(t *testing.T, out, _, _ string) string {
			if err := syscall.Mkfifo(filepath.Join(out, report), 0o600); err != nil {
				t.Fatal(err)
			}
			return report
		}, 1, "FIFO"},
		{"report is a directory", func(t *testing.T, out, _, _ string) string {
			if err := os.Mkdir(filepath.Join(out, report), 0o700); err != nil {
				t.Fatal(err)
			}
			return report
		}, 1, "directory"},
		{"report is a hard link to a file outside", func(t *testing.T, out, _, precious string) string {
			if err := os.Link(precious, filepath.Join(out, report)); err != nil {
				t.Skipf("hard link: %v", err)
			}
			return ""
		}, 0, ""},
		{"earlier report", func(t *testing.T, out, _, _ string) string {
			if err := os.WriteFile(filepath.Join(out, report), []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			return ""
		}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			out, outside := filepath.Join(root, "out"), filepath.Join(root, "outside")
			for _, d := range []string{out, outside} {
				if err := os.Mkdir(d, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			precious := filepath.Join(outside, "precious")
			if err := os.WriteFile(precious, []byte("keep me"), 0o600); err != nil {
				t.Fatal(err)
			}
			planted := tt.plant(t, out, outside, precious)
			var plantedWas string
			if planted != "" {
				plantedWas = snapshot(t, out)[filepath.Join(out, planted)]
			}
			before := snapshot(t, outside)
			code, stdout, stderr := runCLI(t, "replay", "-dir", t.TempDir(), "-messages", "8", "-max-size", "512",
				"-reps", "1", "-ops", "2", "-cold", "no", "-quiet", "-out", out)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Fatalf("exit %d, want %d; stderr:\n%s\nwant it to contain %q", code, tt.code, stderr, tt.stderr)
			}
			sameSnapshot(t, before, snapshot(t, outside))
			if planted != "" {
				if now := snapshot(t, out)[filepath.Join(out, planted)]; now != plantedWas {
					t.Errorf("planted %s changed: %q, was %q", planted, now, plantedWas)
				}
			}
			if code == 0 {
				data, err := os.ReadFile(filepath.Join(out, report))
				if err != nil || !strings.Contains(string(data), "index_rebuild") || !strings.Contains(stdout, "profile written") {
					t.Errorf("report %q, %v", data, err)
				}
			}
			// No temporary file is left behind.
			for name := range snapshot(t, out) {
				if strings.HasSuffix(name, ".tmp") {
					t.Errorf("left %s", name)
				}
			}
		})
	}
}

// TestReplayOutMustBeADirectory refuses an --out that is a link to a
// directory, before anything runs.
func TestReplayOutMustBeADirectory(t *testing.T) {
	root := t.TempDir()
	target := filepath.Join(root, "target")
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	link := symlink(t, target, filepath.Join(root, "link"))
	dir := t.TempDir()
	code, _, stderr := runCLI(t, "replay", "-dir", dir, "-messages", "8", "-cold", "no", "-out", filepath.Join(root, link))
	if code != 2 || !strings.Contains(stderr, "symbolic link") || !strings.Contains(stderr, filepath.Join(root, link)) {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if n, _ := os.ReadDir(target); len(n) != 0 {
		t.Errorf("written through the link: %v", n)
	}
	if n, _ := os.ReadDir(dir); len(n) != 0 {
		t.Errorf("ran anyway: %v", n)
	}
}

// symlink makes a symbolic link and returns its base name.
func symlink(t *testing.T, target, link string) string {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	return filepath.Base(link)
}

// TestReplayCleanSaysWhy: --clean never blocks on a FIFO in place of a
// marker and says why it leaves each folder.
func TestReplayCleanSaysWhy(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, replay.ScratchPrefix+"1")
	if err := os.Mkdir(fifo, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(fifo, replay.MarkerName), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := replay.CreateScratch(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Remove()
	code, stdout, stderr := runCLI(t, "replay", "-clean", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"left " + fifo + " (no valid marker: ",
		"is not a regular file (a FIFO)",
		"left " + s.Path + " (a replay is using it",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
}

// TestColdMode checks how --drop-caches and the older --cold ask for cold
// timings, which drop the whole machine's caches: never by default.
func TestColdMode(t *testing.T) {
	tests := []struct {
		drop    bool
		cold    string
		want    string
		wantErr bool
	}{
		{false, "", "no", false},
		{true, "", "yes", false},
		{false, "yes", "yes", false},
		{false, "no", "no", false},
		{false, "auto", "auto", false},
		{true, "yes", "yes", false},
		{true, "no", "", true},
		{true, "auto", "", true},
		{false, "maybe", "", true},
	}
	for _, tc := range tests {
		got, err := coldMode(tc.drop, tc.cold)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("coldMode(%v, %q) = %q, %v; want %q, error %v", tc.drop, tc.cold, got, err, tc.want, tc.wantErr)
		}
	}
}

// TestReplayLeavesCachesAlone runs a small replay without --drop-caches:
// its report says that it made no cold timings because none were asked
// for, whoever runs it.
func TestReplayLeavesCachesAlone(t *testing.T) {
	code, stdout, stderr := runCLI(t, "replay", "--dir", t.TempDir(), "--messages", "8", "--max-size", "512", "--reps", "1", "--ops", "2", "--quiet", "--out", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "cold: skipped (cold measurements not asked for)") {
		t.Errorf("report does not say cold timings were not asked for:\n%s", stdout)
	}
}
