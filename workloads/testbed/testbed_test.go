//go:build linux

package testbed_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailsim/mailsim/experiments"
	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/workloads/testbed"
	"github.com/mailsim/mailsim/workloads/testbed/guest"
)

// TestMain lets the test binary serve as the guest's PID 1: the testbed
// copies the running executable into the guest and starts it as
// "mailsim testbed guest", as it does with the mailsim command.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "testbed" && os.Args[2] == "guest" {
		os.Exit(guest.Main())
	}
	os.Exit(m.Run())
}

// guestDir returns the built guest named by MAILSIM_TESTBED_GUEST, or
// skips: the tests never build a guest or install packages themselves.
func guestDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("MAILSIM_TESTBED_GUEST")
	if dir == "" {
		t.Skip("no testbed guest: build one with 'mailsim testbed build --dir DIR' (as root) and set MAILSIM_TESTBED_GUEST=DIR")
	}
	if raceBuild() {
		t.Skip("a binary built with -race cannot be a guest's PID 1: ThreadSanitizer's shadow memory lies beyond a user-mode Linux process's address space")
	}
	if miss := testbed.Missing(false); len(miss) > 0 {
		t.Skipf("the testbed cannot run here: %v", miss)
	}
	if _, err := testbed.ReadGuest(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestOneMailboxOnTwoBackends runs testdata/one-mailbox.toml on real
// Dovecot and real NFS: with random routing the user's connections land
// on both backends at once and Dovecot logs index damage; with the
// director every connection goes to one backend and Dovecot logs none.
func TestOneMailboxOnTwoBackends(t *testing.T) {
	dir := guestDir(t)
	exp := loadSpec(t, "one-mailbox.toml")
	out := filepath.Join(t.TempDir(), "set")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if _, err := exp.ExecuteTestbed(ctx, experiments.TestbedOptions{Out: out, Guest: dir, Topology: testbed.OneKernel, Log: testWriter{t}}); err != nil {
		t.Fatal(err)
	}
	checkOneMailbox(t, out)
}

// checkOneMailbox checks the set of a one-mailbox run: the load ran under
// both strategies; with random routing the user was on both backends at
// once and Dovecot logged damage; with the director neither happened.
func checkOneMailbox(t *testing.T, out string) *results.Set {
	t.Helper()
	set, err := results.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if set.Manifest.Source.Kind != "testbed" {
		t.Errorf("manifest source = %q, want testbed", set.Manifest.Source.Kind)
	}
	got := map[string]map[string]float64{}
	for _, r := range set.Runs {
		got[r.Strategy] = map[string]float64{}
		for _, m := range r.Metrics {
			got[r.Strategy][m.Name] = m.Value
		}
	}
	for _, s := range []string{"random", "director"} {
		g := got[s]
		t.Logf("%s: sessions %v, commands/s %.2f, NFS ops/s %.1f, users on two backends %v, dovecot errors %v",
			s, g["sessions"], g["imap.commands_per_s"], g["nfs.ops_per_s"], g["users_multi_backend"], g["dovecot.errors.total"])
		if g["sessions"] < 3 || g["imap.commands_per_s"] <= 0 || g["nfs.ops_per_s"] <= 0 {
			t.Errorf("%s: the load did not run (sessions %v, commands/s %v, NFS ops/s %v)", s, g["sessions"], g["imap.commands_per_s"], g["nfs.ops_per_s"])
		}
	}
	if r := got["random"]; r["users_multi_backend"] != 1 || r["dovecot.errors.total"] <= 0 {
		t.Errorf("random: users_multi_backend = %v (want 1), dovecot.errors.total = %v (want > 0: index damage from two backends)", r["users_multi_backend"], r["dovecot.errors.total"])
	}
	if d := got["director"]; d["users_multi_backend"] != 0 || d["dovecot.errors.total"] != 0 {
		t.Errorf("director: users_multi_backend = %v, dovecot.errors.total = %v, want 0 and 0 (one backend per user)", d["users_multi_backend"], d["dovecot.errors.total"])
	}
	return set
}

// loadSpec loads a spec of testdata.
func loadSpec(t *testing.T, name string) *experiments.Experiment {
	t.Helper()
	spec := filepath.Join("testdata", name)
	given, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := experiments.Load(spec, given)
	if err != nil {
		t.Fatal(err)
	}
	return exp
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestInterruptStopsTheGuest cancels a testbed run while its guest is
// busy: the call returns within seconds, no kernel process of the run is
// left, and the set keeps no half run.
func TestInterruptStopsTheGuest(t *testing.T) {
	dir := guestDir(t)
	exp := loadSpec(t, "one-mailbox.toml")
	out := filepath.Join(t.TempDir(), "set")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Second, cancel)
	_, err := exp.ExecuteTestbed(ctx, experiments.TestbedOptions{Out: out, Guest: dir, Topology: testbed.OneKernel, Log: testWriter{t}})
	stopped := time.Now()
	if err == nil {
		t.Fatal("an interrupted run reported success")
	}
	if ctx.Err() == nil {
		t.Fatalf("the run failed before the interrupt: %v", err)
	}
	// Give the kernel's helper processes a moment to be reaped.
	deadline := stopped.Add(5 * time.Second)
	for {
		left := umlProcesses(t, out)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("guest processes left 5 s after the interrupt: %v", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
	set, err := results.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Runs) != 0 {
		t.Errorf("an interrupted set holds %d runs", len(set.Runs))
	}
}

// umlProcesses lists the processes whose command line names dir.
func umlProcesses(t *testing.T, dir string) []string {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var out []string
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if strings.Contains(string(b), abs) {
			out = append(out, filepath.Base(filepath.Dir(p)))
		}
	}
	return out
}
