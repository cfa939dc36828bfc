package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/results/resultstest"
)

// shardsOf writes the synthetic set as two shards, the second written by
// build b2.
func shardsOf(t *testing.T, b2 results.Build) []string {
	t.Helper()
	base := t.TempDir()
	var dirs []string
	for i := range 2 {
		m, runs := resultstest.Build(resultstest.Default)
		if i == 1 {
			m.Build = b2
		}
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
		dirs = append(dirs, dir)
	}
	return dirs
}

func TestMergeCommand(t *testing.T) {
	same := shardsOf(t, resultstest.FixedBuild)
	other := resultstest.FixedBuild
	other.Revision = "fedcba9"
	mixed := shardsOf(t, other)
	for _, tt := range []struct {
		name   string
		prep   func(dst string) // what is in DST before the merge
		shards []string
		code   int
		stderr string
	}{
		{"shards of one build", nil, same, 0, ""},
		{"shards of two builds", nil, mixed, 1, "shards must come from one build"},
		{"into an existing set", func(dst string) {
			if err := os.CopyFS(dst, os.DirFS(same[0])); err != nil {
				t.Fatal(err)
			}
		}, same, 1, "is not empty"},
		{"after an interrupted merge", func(dst string) {
			// What a merge killed after its third run file leaves.
			if code, _, stderr := runCLI(t, "merge", same[0], "--out", dst, same[1]); code != 0 {
				t.Fatal(stderr)
			}
			os.WriteFile(filepath.Join(dst, ".unfinished"), []byte("merge\n"), 0o644)
			os.Remove(filepath.Join(dst, "summary.csv"))
			os.Remove(filepath.Join(dst, "provenance.json"))
			ents, _ := os.ReadDir(filepath.Join(dst, "runs"))
			for _, e := range ents[3:] {
				os.Remove(filepath.Join(dst, "runs", e.Name()))
			}
			if code, _, stderr := runCLI(t, "compare", dst); code != 1 || !strings.Contains(stderr, "unfinished merge") {
				t.Errorf("compare of an unfinished merge: exit %d, %s", code, stderr)
			}
		}, same, 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "merged")
			if tt.prep != nil {
				tt.prep(dst)
			}
			code, _, stderr := runCLI(t, append([]string{"merge", "-o", dst}, tt.shards...)...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Fatalf("exit %d, want %d; stderr %q, want %q", code, tt.code, stderr, tt.stderr)
			}
			if code != 0 {
				return
			}
			if code, _, stderr := runCLI(t, "compare", dst); code != 0 {
				t.Errorf("compare of the merged set: exit %d, %s", code, stderr)
			}
			whole := synthSet(t)
			sameSet(t, whole, dst)
		})
	}
}
