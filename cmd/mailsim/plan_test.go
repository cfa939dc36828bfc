package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mailsim/mailsim/results"
)

const tinyPlan = `name = "tiny-plan"
seed = 3
strategies = ["random", "director"]
[run]
duration = "4m"
warmup = "1m"
[workload]
users = 400
[plan]
backends_min = 1
backends_max = 8
failure_at = "1m"
[plan.objectives]
cpu_util = 0.01
nfs_util = 0.7
select_p99 = "50ms"
recovery_time = "2m"
`

// TestPlanEndToEnd runs a small capacity plan, checks what it writes, that
// running it again reuses every run, and that two shards merged and
// planned again give the same answer byte for byte.
func TestPlanEndToEnd(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "tiny.toml")
	if err := os.WriteFile(spec, []byte(tinyPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI(t, "plan", "--quiet", "--out", out, spec)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	plan, err := results.ReadPlan(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range plan.Strategies {
		if !sp.Found || sp.Chosen.Backends < 2 || sp.Binding == "" {
			t.Errorf("%s: found %v, chose %+v, binding %q", sp.Strategy, sp.Found, sp.Chosen, sp.Binding)
		}
		// The chosen configuration passed, and one backend fewer did not.
		if p := sp.Probe(sp.Chosen); p == nil || !p.Pass {
			t.Errorf("%s: chosen configuration has no passing probe", sp.Strategy)
		}
		below := sp.Chosen
		below.Backends--
		if p := sp.Probe(below); p == nil || p.Pass {
			t.Errorf("%s: %d backends not probed or passed", sp.Strategy, below.Backends)
		}
	}
	if !strings.Contains(stdout, "director") || !strings.Contains(stdout, "Margins") {
		t.Errorf("output lacks the answer table:\n%s", stdout)
	}
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(html), "data:image/png;base64,"); n != len(plan.Objectives) {
		t.Errorf("report has %d charts for %d objectives", n, len(plan.Objectives))
	}
	first, _ := os.ReadFile(filepath.Join(out, results.PlanFile))

	// Again: nothing new runs, the same plan comes out.
	set, _ := results.Read(out)
	before := len(set.Runs)
	code, _, stderr = runCLI(t, "plan", "--out", out, spec)
	if code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	if strings.Contains(stderr, " done\n") {
		t.Errorf("resume ran runs again:\n%s", stderr)
	}
	set, _ = results.Read(out)
	again, _ := os.ReadFile(filepath.Join(out, results.PlanFile))
	if len(set.Runs) != before || !bytes.Equal(first, again) {
		t.Errorf("resume changed the set: %d → %d runs, plan equal %v", before, len(set.Runs), bytes.Equal(first, again))
	}

	// Two shards, merged, then planned: the same plan.
	var shards []string
	for _, sh := range []string{"0/2", "1/2"} {
		o := filepath.Join(dir, "shard"+sh[:1])
		if code, _, stderr := runCLI(t, "plan", "--quiet", "--shard", sh, "--out", o, spec); code != 0 {
			t.Fatalf("shard %s: exit %d: %s", sh, code, stderr)
		}
		shards = append(shards, o)
	}
	merged := filepath.Join(dir, "merged")
	if code, _, stderr := runCLI(t, append([]string{"merge", "--out", merged}, shards...)...); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, stderr)
	}
	code, _, stderr = runCLI(t, "plan", "--out", merged, spec)
	if code != 0 {
		t.Fatalf("plan on merged: exit %d: %s", code, stderr)
	}
	if strings.Contains(stderr, " done\n") {
		t.Errorf("planning the merged set ran runs again:\n%s", stderr)
	}
	fromShards, _ := os.ReadFile(filepath.Join(merged, results.PlanFile))
	if !bytes.Equal(first, fromShards) {
		t.Errorf("sharded plan differs from the whole one:\n%s\n%s", first, fromShards)
	}
}

func TestPlanBadSpec(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "bad.toml")
	os.WriteFile(spec, []byte("[plan]\nbackends_min = 9\nbackends_max = 4\nnfs_threads = [16, 8]\n"), 0o644)
	code, _, stderr := runCLI(t, "plan", "--out", filepath.Join(dir, "o"), spec)
	if code != 1 || !strings.Contains(stderr, "backends_min 9 exceeds backends_max 4") || !strings.Contains(stderr, "plan.nfs_threads") || !strings.Contains(stderr, "bad.toml:") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
}

// TestPlanSplitRuns runs the tiny plan as two shards that split the runs,
// at once over one folder, and checks that each writes the plan a single
// process writes, byte for byte.
func TestPlanSplitRuns(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "tiny.toml")
	if err := os.WriteFile(spec, []byte(tinyPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	whole := filepath.Join(dir, "whole")
	if code, _, stderr := runCLI(t, "plan", "--quiet", "--out", whole, spec); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want, err := os.ReadFile(filepath.Join(whole, results.PlanFile))
	if err != nil {
		t.Fatal(err)
	}
	shared := filepath.Join(dir, "shared")
	var wg sync.WaitGroup
	outs := make([]string, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, stdout, stderr := runCLI(t, "plan", "--quiet", "--workers", "1", "--split", "runs", "--wait", "5m", "--shard", fmt.Sprintf("%d/2", i), "--out", shared, spec)
			if code != 0 {
				t.Errorf("shard %d: exit %d: %s", i, code, stderr)
			}
			outs[i] = stdout
		}()
	}
	wg.Wait()
	for i := range 2 {
		sd := filepath.Join(shared, fmt.Sprintf("shard-%d-of-2", i))
		got, err := os.ReadFile(filepath.Join(sd, results.PlanFile))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("shard %d's plan differs from the whole one:\n%s\n%s", i, got, want)
		}
		if !strings.Contains(outs[i], "the whole plan is in "+sd) {
			t.Errorf("shard %d says:\n%s", i, outs[i])
		}
		for _, f := range []string{"plan.txt", "report.html"} {
			if _, err := os.Stat(filepath.Join(sd, f)); err != nil {
				t.Errorf("shard %d: %v", i, err)
			}
		}
	}
	// A shard's folder is a whole plan's set: planning on it runs nothing.
	code, _, stderr := runCLI(t, "plan", "--out", filepath.Join(shared, "shard-0-of-2"), spec)
	if code != 0 || strings.Contains(stderr, " done\n") {
		t.Errorf("plan on a shard's set: exit %d:\n%s", code, stderr)
	}
}

func TestPlanBadSplit(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "tiny.toml")
	os.WriteFile(spec, []byte(tinyPlan), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--split", "points"}, `--split "points": want strategies or runs`},
		{[]string{"--split", "runs", "--shard", "2/2"}, "the index must be from 0 to 1"},
		{[]string{"--split", "runs", "--shard", "0/2", "--wait", "0s"}, "--wait 0s: want a positive duration"},
		{[]string{"--shard", "x"}, `bad shard "x"`},
	} {
		code, _, stderr := runCLI(t, append(append([]string{"plan"}, tc.args...), "--out", filepath.Join(dir, "o"), spec)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d:\n%s", tc.args, code, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "o")); err == nil {
		t.Errorf("a bad command wrote its output folder")
	}
}
