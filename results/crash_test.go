package results_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/results/resultstest"
)

// crashEnv tells the test binary, started again by TestCrashAnywhere, to
// act as the child: "OP STEP DIR [SRC...]" runs OP and kills itself with
// SIGKILL before its STEP-th change to the file system.
const crashEnv = "MAILSIM_RESULTS_CRASH_CHILD"

// tiny is the synthetic set the crash tests make over and over.
var tiny = resultstest.Options{Backends: []int{4}, Strategies: []string{"random", "director"}, Replicas: 2, Samples: 20}

// runCommand does what 'mailsim run' does to a set: create it, or resume
// it when the folder exists, add the missing runs and finalize.
func runCommand(dir string) error {
	m, runs := resultstest.Build(tiny)
	var (
		w   *results.Writer
		err error
	)
	if _, serr := os.Stat(dir); errors.Is(serr, os.ErrNotExist) {
		w, err = results.Create(dir, m, results.Session{Host: "h"})
	} else {
		w, err = results.Open(dir, m, results.Session{Host: "h"})
	}
	if err != nil {
		return err
	}
	for _, r := range runs {
		if !w.IsDone(r.ID) {
			if err := w.Add(r); err != nil {
				return err
			}
		}
	}
	return w.Finalize(time.Time{})
}

// TestCrashChild is the child of TestCrashAnywhere; it does nothing in
// an ordinary test run.
func TestCrashChild(t *testing.T) {
	arg := os.Getenv(crashEnv)
	if arg == "" {
		t.Skip("only run as the child of TestCrashAnywhere")
	}
	f := strings.Fields(arg)
	at, _ := strconv.Atoi(f[1])
	n := 0
	results.SetStepHook(func() error {
		if n++; n == at {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
		return nil
	})
	var err error
	switch f[0] {
	case "run":
		err = runCommand(f[2])
	case "merge":
		err = results.Merge(f[2], f[3:]...)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// countSteps returns how many changes to the file system op makes.
func countSteps(t *testing.T, op func() error) int {
	t.Helper()
	n := 0
	results.SetStepHook(func() error { n++; return nil })
	defer results.SetStepHook(nil)
	if err := op(); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCrashAnywhere kills a process creating a set, and one merging
// shards, with SIGKILL before each of their changes to the file system in
// turn; running the same command again must succeed and give the same
// bytes as an uninterrupted run. In between, the half-made folder must
// either be refused by Read or read as a consistent set.
func TestCrashAnywhere(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process per step")
	}
	base := t.TempDir()
	whole := filepath.Join(base, "whole")
	steps := map[string]int{"run": countSteps(t, func() error { return runCommand(whole) })}

	shards := writeTinyShards(t, base)
	steps["merge"] = countSteps(t, func() error { return results.Merge(filepath.Join(base, "merged"), shards...) })
	sameTree(t, whole, filepath.Join(base, "merged"))

	for _, op := range []string{"run", "merge"} {
		for at := 1; at <= steps[op]; at++ {
			dir := filepath.Join(base, fmt.Sprintf("%s-%03d", op, at))
			args := []string{op, strconv.Itoa(at), dir}
			again := func() error { return runCommand(dir) }
			if op == "merge" {
				args = append(args, shards...)
				again = func() error { return results.Merge(dir, shards...) }
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
			cmd.Env = append(os.Environ(), crashEnv+"="+strings.Join(args, " "))
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() {
				t.Fatalf("%s killed at step %d of %d: want death by SIGKILL, got %v:\n%s", op, at, steps[op], err, out)
			}
			// The half-made folder is refused, or holds a set whose
			// every run is one of the uninterrupted set's.
			if s, err := results.Read(dir); err == nil {
				for _, r := range s.Runs {
					a, _ := os.ReadFile(filepath.Join(whole, "runs", r.ID+".json"))
					b, _ := os.ReadFile(filepath.Join(dir, "runs", r.ID+".json"))
					if string(a) != string(b) {
						t.Errorf("%s killed at step %d: run %s differs from the uninterrupted set's", op, at, r.ID)
					}
				}
			}
			if err := again(); err != nil {
				t.Fatalf("%s killed at step %d of %d: running it again: %v", op, at, steps[op], err)
			}
			sameTree(t, whole, dir)
			if _, err := results.Read(dir); err != nil {
				t.Errorf("%s killed at step %d: %v", op, at, err)
			}
		}
		t.Logf("%s: killed at each of %d steps, and recovered", op, steps[op])
	}
}

// errDiskFull stands for the error a full disk gives.
var errDiskFull = errors.New("no space left on device")

// A full disk at any step of creating a set, adding its runs or merging
// shards fails the command with an error; once there is space again,
// running it again succeeds and gives the bytes of an uninterrupted run.
func TestDiskFullAnywhere(t *testing.T) {
	base := t.TempDir()
	whole := filepath.Join(base, "whole")
	if err := runCommand(whole); err != nil {
		t.Fatal(err)
	}
	shards := writeTinyShards(t, base)
	ops := map[string]func(dir string) error{
		"run":   runCommand,
		"merge": func(dir string) error { return results.Merge(dir, shards...) },
	}
	for _, op := range []string{"run", "merge"} {
		steps := countSteps(t, func() error { return ops[op](filepath.Join(base, op+"-count")) })
		for at := 1; at <= steps; at++ {
			dir := filepath.Join(base, fmt.Sprintf("%s-full-%03d", op, at))
			n := 0
			results.SetStepHook(func() error {
				if n++; n == at {
					return errDiskFull
				}
				return nil
			})
			err := ops[op](dir)
			results.SetStepHook(nil)
			if !errors.Is(err, errDiskFull) && (err == nil || !strings.Contains(err.Error(), errDiskFull.Error())) {
				t.Fatalf("%s with the disk full at step %d of %d: got %v", op, at, steps, err)
			}
			// A merge is whole once it reads at all.
			if _, err := results.Read(dir); err == nil && op == "merge" {
				sameTree(t, whole, dir)
			}
			if err := ops[op](dir); err != nil {
				t.Fatalf("%s failed at step %d of %d: running it again: %v", op, at, steps, err)
			}
			sameTree(t, whole, dir)
		}
	}
}

// writeTinyShards writes the tiny set as two shards under base.
func writeTinyShards(t *testing.T, base string) []string {
	t.Helper()
	m, runs := resultstest.Build(tiny)
	var shards []string
	for i := range 2 {
		dir := filepath.Join(base, fmt.Sprintf("shard%d", i))
		w, err := results.Create(dir, m, results.Session{Shard: fmt.Sprintf("%d/2", i)})
		if err != nil {
			t.Fatal(err)
		}
		for j, r := range runs {
			if j%2 == i {
				if err := w.Add(r); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := w.Finalize(time.Time{}); err != nil {
			t.Fatal(err)
		}
		shards = append(shards, dir)
	}
	return shards
}

// A writer that did not mark sets unfinished left, when killed before it
// wrote the manifest, an empty runs folder and some of the spec files.
// Running the command again recognises the half-made set and creates it.
func TestUnmarkedHalfSet(t *testing.T) {
	base := t.TempDir()
	whole := filepath.Join(base, "whole")
	if err := runCommand(whole); err != nil {
		t.Fatal(err)
	}
	for i, left := range [][]string{{}, {"spec.toml"}, {"spec.toml", "spec.expanded.toml"}, {"spec.toml", ".tmp-spec.expanded.toml-123"}} {
		dir := filepath.Join(base, fmt.Sprintf("half%d", i))
		if err := os.MkdirAll(filepath.Join(dir, "runs"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range left {
			if err := os.WriteFile(filepath.Join(dir, f), []byte("half"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := results.Read(dir); err == nil {
			t.Errorf("%v: a half-made set was read", left)
		}
		if err := runCommand(dir); err != nil {
			t.Fatalf("%v: %v", left, err)
		}
		sameTree(t, whole, dir)
	}
	// A folder with anything else in it is not taken for a half-made set.
	dir := filepath.Join(base, "mine")
	os.MkdirAll(filepath.Join(dir, "runs"), 0o755)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
	if err := runCommand(dir); err == nil {
		t.Error("a folder holding other files was made a set")
	}
	if b, err := os.ReadFile(filepath.Join(dir, "notes.txt")); err != nil || string(b) != "mine" {
		t.Errorf("notes.txt was touched: %q, %v", b, err)
	}
}
