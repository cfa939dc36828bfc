package main

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const sweepSpec = `name = "tiny-sweep"
strategies = ["random", "director"]
replicas = 2
[run]
duration = "1m"
warmup = "20s"
[workload]
users = 100
[sweep]
"cluster.backends" = [2, 3]
`

// identity returns every file of a result set but provenance.json, which
// records hosts and wall-clock times and is excluded from identity, and
// the report that run writes into a set (a merge writes none; the report
// is made from the identity files).
func identity(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == "report-charts" {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() || d.Name() == "provenance.json" || d.Name() == reportFile {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func sameSet(t *testing.T, a, b string) {
	t.Helper()
	fa, fb := identity(t, a), identity(t, b)
	var names []string
	for n := range fa {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(fa) != len(fb) {
		t.Errorf("%s has %d files, %s has %d", a, len(fa), b, len(fb))
	}
	for _, n := range names {
		if !bytes.Equal(fa[n], fb[n]) {
			t.Errorf("%s differs between %s and %s", n, a, b)
		}
	}
}

func writeSpec(t *testing.T) (dir, spec string) {
	dir = t.TempDir()
	spec = filepath.Join(dir, "tiny.toml")
	if err := os.WriteFile(spec, []byte(sweepSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, spec
}

// TestShardsMergeToTheSameBytes runs a sweep whole and as three shards,
// merges the shards and compares the sets byte for byte; a merge that
// lacks a shard fails and names the missing runs.
func TestShardsMergeToTheSameBytes(t *testing.T) {
	dir, spec := writeSpec(t)
	whole := filepath.Join(dir, "whole")
	if code, _, stderr := runCLI(t, "run", "--quiet", "--out", whole, spec); code != 0 {
		t.Fatalf("whole run: %s", stderr)
	}
	var shards []string
	for i := range 3 {
		sh := filepath.Join(dir, "shard"+string(rune('0'+i)))
		code, stdout, stderr := runCLI(t, "run", "--quiet", "--shard", string(rune('0'+i))+"/3", "--out", sh, spec)
		if code != 0 || !strings.Contains(stdout, "merge the shards") {
			t.Fatalf("shard %d: exit %d: %s%s", i, code, stdout, stderr)
		}
		shards = append(shards, sh)
	}
	merged := filepath.Join(dir, "merged")
	if code, _, stderr := runCLI(t, append([]string{"merge", "--out", merged}, shards...)...); code != 0 {
		t.Fatalf("merge: %s", stderr)
	}
	sameSet(t, whole, merged)

	code, _, stderr := runCLI(t, "merge", shards[0], shards[2], "--out", filepath.Join(dir, "partial"))
	if code != 1 || !strings.Contains(stderr, "missing") || !strings.Contains(stderr, "p0-") {
		t.Fatalf("merging without shard 1: exit %d, %q", code, stderr)
	}
}

// TestResumeAfterKillGivesTheSameBytes simulates a sweep killed after some
// runs finished (their files are there, the tables are not) and checks that
// running the same command again finishes only the missing runs and ends
// with the same bytes as an uninterrupted run.
func TestResumeAfterKillGivesTheSameBytes(t *testing.T) {
	dir, spec := writeSpec(t)
	whole := filepath.Join(dir, "whole")
	if code, _, stderr := runCLI(t, "run", "--quiet", "--out", whole, spec); code != 0 {
		t.Fatalf("whole run: %s", stderr)
	}
	// A sweep killed with SIGKILL leaves the finished runs' files, perhaps
	// a half-written temporary file, and no tables.
	killed := filepath.Join(dir, "killed")
	if code, _, stderr := runCLI(t, "run", "--quiet", "--shard", "0/2", "--out", killed, spec); code != 0 {
		t.Fatalf("partial run: %s", stderr)
	}
	for _, f := range []string{"runs.csv", "summary.csv"} {
		os.Remove(filepath.Join(killed, f))
	}
	runs, _ := filepath.Glob(filepath.Join(killed, "runs", "*.json"))
	if len(runs) == 0 || len(runs) == 8 {
		t.Fatalf("the partial run left %d run files", len(runs))
	}
	os.WriteFile(filepath.Join(killed, "runs", ".tmp-partial"), []byte("{\"trunc"), 0o644)
	code, stdout, stderr := runCLI(t, "run", "--quiet", "--out", killed, spec)
	if code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "(4 runs in") {
		t.Errorf("resume should have done only the 4 missing runs:\n%s", stdout)
	}
	sameSet(t, whole, killed)
}
