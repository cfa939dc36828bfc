package results_test

import (
	"bytes"
	"flag"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/results/resultstest"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// small is a synthetic set small enough for many copies per test.
var small = resultstest.Options{Backends: []int{4, 8}, Strategies: []string{"random", "director"}, Replicas: 3, Samples: 200}

// tree returns every file of a set except provenance.json, by relative
// path: the set's identity.
func tree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "provenance.json" {
			return nil
		}
		b, err := os.ReadFile(p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, want, got string) {
	t.Helper()
	a, b := tree(t, want), tree(t, got)
	for name, wb := range a {
		gb, ok := b[name]
		if !ok {
			t.Errorf("%s: missing %s", got, name)
		} else if !bytes.Equal(wb, gb) {
			t.Errorf("%s differs between %s and %s", name, want, got)
		}
	}
	for name := range b {
		if _, ok := a[name]; !ok {
			t.Errorf("%s: unexpected %s", got, name)
		}
	}
}

func writeAll(t *testing.T, dir string, o resultstest.Options) {
	t.Helper()
	if err := resultstest.WriteSet(dir, o); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "set")
	m, runs := resultstest.Build(small)
	// Values JSON cannot hold as numbers must survive too.
	runs[0].Metrics = append(runs[0].Metrics, results.Metric{Name: "time_to_recover", Unit: "s", Value: math.NaN()},
		results.Metric{Name: "worst", Value: math.Inf(1)})
	w, err := results.Create(dir, m, results.Session{Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if err := w.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finalize(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	s, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Runs) != len(runs) || len(s.Missing()) != 0 {
		t.Fatalf("read %d runs, %d missing; wrote %d", len(s.Runs), len(s.Missing()), len(runs))
	}
	got0 := s.Runs[0]
	if v, _ := got0.Metric("time_to_recover"); !math.IsNaN(v) {
		t.Errorf("NaN metric read back as %g", v)
	}
	if v, _ := got0.Metric("worst"); !math.IsInf(v, 1) {
		t.Errorf("+Inf metric read back as %g", v)
	}
	// Compare the rest exactly (NaN != NaN, so drop the two special ones).
	got0.Metrics = got0.Metrics[:len(got0.Metrics)-2]
	runs[0].Metrics = runs[0].Metrics[:len(runs[0].Metrics)-2]
	for i, r := range runs {
		// Vectors are stored sorted by name.
		slices.SortFunc(r.Backends, func(a, b results.Vector) int { return strings.Compare(a.Name, b.Name) })
		if !reflect.DeepEqual(s.Runs[i], r) {
			t.Errorf("run %s changed in the round trip", r.ID)
		}
	}
	if !reflect.DeepEqual(s.Manifest, m) {
		t.Errorf("manifest changed in the round trip:\n got %+v\nwant %+v", s.Manifest, m)
	}
	if n := len(s.Provenance.Sessions); n != 1 || s.Provenance.Sessions[0].Runs != len(runs) || s.Provenance.Sessions[0].Host != "h" ||
		!s.Provenance.Sessions[0].Finished.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("provenance %+v", s.Provenance)
	}
}

func TestSameInputSameBytes(t *testing.T) {
	base := t.TempDir()
	a, b := filepath.Join(base, "a"), filepath.Join(base, "b")
	writeAll(t, a, small)
	writeAll(t, b, small)
	sameTree(t, a, b)
}

// Runs added concurrently, in whatever order they finish, give the same
// set as runs added one by one.
func TestConcurrentAdds(t *testing.T) {
	base := t.TempDir()
	want, got := filepath.Join(base, "serial"), filepath.Join(base, "parallel")
	writeAll(t, want, small)
	m, runs := resultstest.Build(small)
	w, err := results.Create(got, m, results.Session{Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(runs))
	for i := len(runs) - 1; i >= 0; i-- {
		wg.Go(func() { errs <- w.Add(runs[i]) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finalize(time.Time{}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, want, got)
}

// A writer killed halfway (no Finalize, a half-written temporary file
// left behind) is resumed with Open; the finished set is the same as an
// uninterrupted one.
func TestResumeAfterKill(t *testing.T) {
	base := t.TempDir()
	want, got := filepath.Join(base, "whole"), filepath.Join(base, "resumed")
	writeAll(t, want, small)

	m, runs := resultstest.Build(small)
	w, err := results.Create(got, m, results.Session{Host: "first"})
	if err != nil {
		t.Fatal(err)
	}
	var first []string
	for i := 0; i < len(runs); i += 2 { // every other run, as workers would
		if err := w.Add(runs[i]); err != nil {
			t.Fatal(err)
		}
		first = append(first, runs[i].ID)
	}
	// The kill: a temporary file in flight, no Finalize.
	if err := os.WriteFile(filepath.Join(got, "runs", ".tmp-"+runs[1].ID+".json-123"), []byte(`{"format":1,"id":`), 0o644); err != nil {
		t.Fatal(err)
	}

	w2, err := results.Open(got, m, results.Session{Host: "second"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(w2.Done(), first) {
		t.Fatalf("Done() = %v, want %v", w2.Done(), first)
	}
	if !w2.IsDone(runs[0].ID) || w2.IsDone(runs[1].ID) {
		t.Errorf("IsDone wrong for %s or %s", runs[0].ID, runs[1].ID)
	}
	pending := w2.Pending()
	for i := len(pending) - 1; i >= 0; i-- {
		r := findRun(runs, pending[i].ID)
		if err := w2.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w2.Finalize(time.Time{}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, want, got)
	s, err := results.Read(got)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Provenance.Sessions); n != 2 || s.Provenance.Sessions[1].Runs != len(pending) {
		t.Errorf("provenance after resume: %+v", s.Provenance)
	}
}

func findRun(runs []*results.Run, id string) *results.Run {
	for _, r := range runs {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// writeShards writes shard i/n of the synthetic set (plan index mod n)
// to base/shard<i>, skipping the run IDs in skip, and adding the extra
// ones.
func writeShards(t *testing.T, base string, n int, skip map[string]bool, extra map[int][]string) []string {
	t.Helper()
	m, runs := resultstest.Build(small)
	var dirs []string
	for i := range n {
		dir := filepath.Join(base, "shard"+string(rune('0'+i)))
		w, err := results.Create(dir, m, results.Session{Shard: string(rune('1'+i)) + "/" + string(rune('0'+n))})
		if err != nil {
			t.Fatal(err)
		}
		for j, r := range runs {
			if (j%n == i && !skip[r.ID]) || slices.Contains(extra[i], r.ID) {
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

func TestMergeShards(t *testing.T) {
	base := t.TempDir()
	want := filepath.Join(base, "whole")
	writeAll(t, want, small)
	shards := writeShards(t, base, 3, nil, nil)
	got := filepath.Join(base, "merged")
	// Shards in any order merge to the same bytes.
	if err := results.Merge(got, shards[2], shards[0], shards[1]); err != nil {
		t.Fatal(err)
	}
	sameTree(t, want, got)
	s, err := results.Read(got)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Provenance.Sessions) != 3 || s.Provenance.Sessions[0].Shard != "3/3" {
		t.Errorf("merged provenance %+v", s.Provenance.Sessions)
	}
}

func TestMergeFailsLoudly(t *testing.T) {
	_, runs := resultstest.Build(small)
	tests := []struct {
		name  string
		skip  map[string]bool
		extra map[int][]string
		want  []string
	}{
		{"missing", map[string]bool{runs[1].ID: true, runs[4].ID: true}, nil,
			[]string{"2 run(s) missing", runs[1].ID, runs[4].ID}},
		{"duplicated", nil, map[int][]string{1: {runs[0].ID}},
			[]string{"1 run(s) in more than one source", runs[0].ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			shards := writeShards(t, base, 2, tt.skip, tt.extra)
			dst := filepath.Join(base, "merged")
			err := results.Merge(dst, shards...)
			if err == nil {
				t.Fatal("merge succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if _, err := os.Stat(dst); err == nil {
				t.Errorf("a failed merge left %s behind", dst)
			}
		})
	}
}

func TestMergeRejectsOtherExperiment(t *testing.T) {
	base := t.TempDir()
	a, b := filepath.Join(base, "a"), filepath.Join(base, "b")
	writeAll(t, a, small)
	other := small
	other.Replicas = 2
	writeAll(t, b, other)
	err := results.Merge(filepath.Join(base, "m"), a, b)
	if err == nil || !strings.Contains(err.Error(), "not shards of one experiment") {
		t.Fatalf("merge of unrelated sets: %v", err)
	}
}

func TestWriterRejects(t *testing.T) {
	m, runs := resultstest.Build(small)
	dir := filepath.Join(t.TempDir(), "set")
	w, err := results.Create(dir, m, results.Session{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(runs[0]); err != nil {
		t.Fatal(err)
	}
	wrongSeed := *runs[1]
	wrongSeed.Seed++
	unplanned := *runs[1]
	unplanned.ID = "p99-nowhere-r1"
	dupMetric := *runs[2]
	dupMetric.Metrics = append(slices.Clone(dupMetric.Metrics), dupMetric.Metrics[0])
	tests := []struct {
		name string
		run  *results.Run
		want string
	}{
		{"twice", runs[0], "already in the set"},
		{"not planned", &unplanned, "not in the plan"},
		{"wrong seed", &wrongSeed, "does not match its plan"},
		{"repeated metric", &dupMetric, "repeated"},
	}
	for _, tt := range tests {
		if err := w.Add(tt.run); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Add error %v, want %q", tt.name, err, tt.want)
		}
	}
	if _, err := results.Create(dir, m, results.Session{}); err == nil {
		t.Error("Create over an existing set succeeded")
	}
	changed := *m
	changed.Seed++
	if _, err := results.Open(dir, &changed, results.Session{}); err == nil || !strings.Contains(err.Error(), "cannot resume") {
		t.Errorf("Open with another manifest: %v", err)
	}
}

func TestManifestRejects(t *testing.T) {
	m, _ := resultstest.Build(small)
	tests := []struct {
		name   string
		modify func(m *results.Manifest)
		want   string
	}{
		{"path in ID", func(m *results.Manifest) { m.Plan[0].ID = "../escape" }, "must start with"},
		{"slash in ID", func(m *results.Manifest) { m.Plan[0].ID = "a/b" }, "character '/'"},
		{"dup ID", func(m *results.Manifest) { m.Plan[1].ID = m.Plan[0].ID }, "planned twice"},
		{"empty plan", func(m *results.Manifest) { m.Plan = nil }, "no runs"},
		{"bad direction", func(m *results.Manifest) { m.Metrics = []results.MetricInfo{{Name: "x", Better: "up"}} }, "better must be"},
	}
	for _, tt := range tests {
		c := *m
		c.Plan = slices.Clone(m.Plan)
		tt.modify(&c)
		dir := filepath.Join(t.TempDir(), "set")
		if _, err := results.Create(dir, &c, results.Session{}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Create error %v, want %q", tt.name, err, tt.want)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%s: a rejected manifest created %s", tt.name, dir)
		}
	}
}

func TestReadRejectsStrayFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "set")
	writeAll(t, dir, small)
	if err := os.WriteFile(filepath.Join(dir, "runs", "p77-x-r1.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := results.Read(dir); err == nil || !strings.Contains(err.Error(), "p77-x-r1.json") {
		t.Errorf("Read with a stray run file: %v", err)
	}
}

// The stored files are the format's contract: golden copies under
// testdata/golden catch any unintended change. Run with -update to
// accept a deliberate one (and bump FormatVersion if readers break).
func TestGoldenFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "set")
	writeAll(t, dir, resultstest.Options{Backends: []int{4, 8}, Strategies: []string{"random", "director"}, Replicas: 2, Samples: 50})
	for _, name := range []string{"manifest.json", "runs.csv", "summary.csv", "runs/p00-director-r1.json"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "golden", strings.ReplaceAll(name, "/", "_"))
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s; run go test -update if the change is deliberate", name, golden)
		}
	}
}

func TestFormatCount(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {1000000, "1,000,000"}, {-12345, "-12,345"}} {
		if got := results.FormatCount(tc.n); got != tc.want {
			t.Errorf("FormatCount(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

// sparse returns the synthetic set as a sparse plan: the full plan in the
// writer, of which a search needs only some runs.
func sparse() (*results.Manifest, []*results.Run) {
	m, runs := resultstest.Build(small)
	m.Sparse = true
	for i := range m.Plan {
		m.Plan[i].Order = i
	}
	return m, runs
}

func readManifestPlan(t *testing.T, dir string) []string {
	t.Helper()
	s, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range s.Manifest.Plan {
		ids = append(ids, p.ID)
	}
	return ids
}

// TestSparseSetListsItsRuns checks that a sparse set's manifest.json lists
// only the runs the set holds, in the full plan's order, at every moment:
// after each Add, after an interruption between listing a run and writing
// it, after resuming, and in a merge of shards, which equals the set one
// writer makes.
func TestSparseSetListsItsRuns(t *testing.T) {
	base := t.TempDir()
	m, runs := sparse()
	needed := []int{9, 2, 7, 0} // the order a search might ask for them
	ids := func(idx ...int) []string {
		slices.Sort(idx)
		var out []string
		for _, i := range idx {
			out = append(out, runs[i].ID)
		}
		return out
	}

	whole := filepath.Join(base, "whole")
	w, err := results.Create(whole, m, results.Session{})
	if err != nil {
		t.Fatal(err)
	}
	if got := readManifestPlan(t, whole); len(got) != 0 {
		t.Fatalf("a new sparse set lists %v", got)
	}
	for k, i := range needed {
		if err := w.Add(runs[i]); err != nil {
			t.Fatal(err)
		}
		if got, want := readManifestPlan(t, whole), ids(needed[:k+1]...); !slices.Equal(got, want) {
			t.Fatalf("after %d adds the manifest lists %v, want %v", k+1, got, want)
		}
	}
	if err := w.Finalize(time.Time{}); err != nil {
		t.Fatal(err)
	}
	s, err := results.Read(whole)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Runs) != len(needed) || len(s.Missing()) != 0 || len(s.Points()) != 2 {
		t.Errorf("read back %d runs, missing %v, points %v", len(s.Runs), s.Missing(), s.Points())
	}

	// Cut short: a run listed but its file never written. The set reads,
	// resumes with the full plan, and Finalize drops the entry.
	cut := filepath.Join(base, "cut")
	w, err = results.Create(cut, m, results.Session{})
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range needed[:2] {
		if err := w.Add(runs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(cut, "runs", runs[needed[1]].ID+".json")); err != nil {
		t.Fatal(err)
	}
	if got := readManifestPlan(t, cut); !slices.Equal(got, ids(needed[:2]...)) {
		t.Fatalf("cut set lists %v", got)
	}
	w, err = results.Open(cut, m, results.Session{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := w.Done(), ids(needed[0]); !slices.Equal(got, want) {
		t.Fatalf("resumed Done() = %v, want %v", got, want)
	}
	if len(w.Pending()) != len(runs)-1 {
		t.Errorf("resumed writer has %d pending runs of the full plan, want %d", len(w.Pending()), len(runs)-1)
	}
	if err := w.Finalize(time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := readManifestPlan(t, cut); !slices.Equal(got, ids(needed[0])) {
		t.Fatalf("finalized cut set lists %v", got)
	}
	w, err = results.Open(cut, m, results.Session{})
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range needed[1:] {
		if err := w.Add(runs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finalize(time.Time{}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, whole, cut)

	// Shards: each holds part of the needed runs; the merge is the whole.
	var shards []string
	for k, part := range [][]int{{9, 0}, {2}, {7}} {
		dir := filepath.Join(base, "shard"+string(rune('0'+k)))
		w, err := results.Create(dir, m, results.Session{})
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range part {
			if err := w.Add(runs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Finalize(time.Time{}); err != nil {
			t.Fatal(err)
		}
		shards = append(shards, dir)
	}
	merged := filepath.Join(base, "merged")
	if err := results.Merge(merged, shards[1], shards[2], shards[0]); err != nil {
		t.Fatal(err)
	}
	sameTree(t, whole, merged)

	// A plan that does not hold a listed run cannot resume the set.
	other, _ := sparse()
	other.Plan = other.Plan[1:]
	if _, err := results.Open(whole, other, results.Session{}); err == nil || !strings.Contains(err.Error(), runs[0].ID) {
		t.Errorf("resuming with a plan that lacks %s: %v", runs[0].ID, err)
	}
}
