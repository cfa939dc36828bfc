package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTraceReplayRefusesOrWorks records a trace with mailsim trace and
// runs specs that replay it, or a hostile variant of it: each run either
// works (and twice gives the same table) or fails with an error naming the
// file, never a panic.
func TestTraceReplayRefusesOrWorks(t *testing.T) {
	dir := t.TempDir()
	spec := `name = "traced"
strategies = ["director"]
[run]
duration = "2m"
warmup = "30s"
[workload]
users = 120
`
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("gen.toml", spec)
	if code, stdout, stderr := runCLI(t, "trace", filepath.Join(dir, "gen.toml"), "--out", filepath.Join(dir, "w.trace")); code != 0 {
		t.Fatalf("trace: exit %d: %s%s", code, stdout, stderr)
	}
	good, err := os.ReadFile(filepath.Join(dir, "w.trace"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(good), "\n")
	write("cut.trace", strings.Join(lines[:len(lines)/2], ""))
	huge := strings.Replace(string(good), "\t0\t0\n", "\t9223372036854775807\t0\n", 1)
	write("huge.trace", huge)
	fault := "[[faults]]\nat = \"40s\"\nbackend = 1\nkind = \"crash\"\n"

	tests := []struct {
		name  string
		spec  string // the spec replaying the trace
		trace string
		want  string // "" for a run that works
	}{
		{"same spec", spec, "w.trace", ""},
		{"a fault it was not recorded with", spec + fault, "w.trace", ""},
		{"other users", strings.Replace(spec, "users = 120", "users = 121", 1), "w.trace", "workload.users is 120 in the trace, 121 in the spec"},
		{"other seed", "seed = 2\n" + spec, "w.trace", "run_seed is "},
		{"cut short", spec, "cut.trace", "cut.trace:"},
		{"a wait of 2^63-1 ns", spec, "huge.trace", "huge.trace:"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := filepath.Join(dir, "rep"+string(rune('a'+i))+".toml")
			text := tc.spec + "trace = \"" + tc.trace + "\"\n"
			if strings.Contains(tc.spec, "[[faults]]") {
				// The fault table must come after [workload]'s keys.
				text = strings.Replace(tc.spec, fault, "", 1) + "trace = \"" + tc.trace + "\"\n" + fault
			}
			if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, stderr := runCLI(t, "run", "--quiet", "--format", "csv", "--out", filepath.Join(dir, "out-"+string(rune('a'+i))), name)
			if tc.want != "" {
				if code == 0 || !strings.Contains(stderr, tc.want) {
					t.Fatalf("exit %d, stderr %q, want %q", code, stderr, tc.want)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			_, again, _ := runCLI(t, "run", "--quiet", "--format", "csv", "--out", filepath.Join(dir, "again-"+string(rune('a'+i))), name)
			// A csv table is stdout's only content: the notes go to stderr.
			if out == "" || out != again {
				t.Errorf("the same trace, spec and seed gave different tables")
			}
		})
	}
}

// TestCalibratedRunRefusesOverflow: a profile whose fixed cost would wrap
// the simulator's clock is refused with the file and line, not run.
func TestCalibratedRunRefusesOverflow(t *testing.T) {
	dir := t.TempDir()
	prof, err := os.ReadFile(filepath.Join("..", "..", "experiments", "profiles", "tmpfs.toml"))
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(prof), "fixed_ns = ")
	j := i + strings.Index(string(prof[i:]), "\n")
	bad := string(prof[:i]) + "fixed_ns = 1e300" + string(prof[j:])
	if err := os.WriteFile(filepath.Join(dir, "p.toml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := "name = \"x\"\nstrategies = [\"director\"]\n[run]\nduration = \"1m\"\nwarmup = \"10s\"\n[workload]\nusers = 50\n[nfs]\nprofile = \"p.toml\"\n"
	if err := os.WriteFile(filepath.Join(dir, "s.toml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "run", "--quiet", "--out", filepath.Join(dir, "out"), filepath.Join(dir, "s.toml"))
	if code == 0 || !strings.Contains(stderr, "p.toml:") || !strings.Contains(stderr, "fixed_ns = 1e+300") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
