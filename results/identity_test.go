package results_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/results/resultstest"
)

// foreignSet writes a set of the synthetic experiment whose spec differs
// from small's but whose plan (and so run IDs) is the same.
func foreignSet(t *testing.T, dir string) {
	t.Helper()
	m, runs := resultstest.Build(small)
	m.SpecGiven = append(bytes.Clone(m.SpecGiven), "# another spec\n"...)
	m.SpecExpanded = append(bytes.Clone(m.SpecExpanded), "[nfs.client]\nactimeo = \"0s\"\n"...)
	w, err := results.Create(dir, m, results.Session{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if err := w.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finalize(time.Time{}); err != nil {
		t.Fatal(err)
	}
}

// A run file of another spec, with a run ID the set plans, is refused by
// every reader, with an error naming the file.
func TestForeignRunFileRefused(t *testing.T) {
	base := t.TempDir()
	foreign := filepath.Join(base, "foreign")
	foreignSet(t, foreign)
	defer results.SetCurrentBuild(resultstest.FixedBuild)()
	m, _ := resultstest.Build(small)
	id := m.Plan[1].ID
	for _, tt := range []struct {
		name string
		op   func(dir string) error
	}{
		{"read", func(dir string) error { _, err := results.Read(dir); return err }},
		{"resume", func(dir string) error { _, err := results.Open(dir, m, results.Session{}); return err }},
		{"resume with the stored manifest", func(dir string) error { _, err := results.Open(dir, nil, results.Session{}); return err }},
		{"merge", func(dir string) error { return results.Merge(filepath.Join(base, "merged-"+filepath.Base(dir)), dir) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "set")
			writeAll(t, dir, small)
			file := filepath.Join(dir, "runs", id+".json")
			b, err := os.ReadFile(filepath.Join(foreign, "runs", id+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, b, 0o644); err != nil {
				t.Fatal(err)
			}
			err = tt.op(dir)
			if err == nil {
				t.Fatal("a run file of another spec was accepted")
			}
			for _, want := range []string{file, "another experiment", "spec_sha256", results.Fingerprint(m)} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

// Sets are resumed and merged only by and from the build that wrote them.
func TestOtherBuildRefused(t *testing.T) {
	a := resultstest.FixedBuild
	b := a
	b.Revision = "1111111"
	dirty := a
	dirty.Modified, dirty.Binary = true, strings.Repeat("ab", 32)
	for _, tt := range []struct {
		name       string
		set, ours  results.Build
		want       string // "" for success
		viaCurrent bool   // the program's build comes from CurrentBuild
	}{
		{"same build", a, a, "", false},
		{"same build, current", a, a, "", true},
		{"another revision", a, b, "revision 1111111", false},
		{"another revision, current", a, b, "revision 1111111", true},
		{"uncommitted changes", a, dirty, "with uncommitted changes", false},
		{"another toolchain", a, results.Build{Version: a.Version, Revision: a.Revision, Go: "go2", Platform: a.Platform}, "go2", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			m, runs := resultstest.Build(small)
			m.Build = tt.set
			dir := filepath.Join(base, "set")
			w, err := results.Create(dir, m, results.Session{})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Add(runs[0]); err != nil {
				t.Fatal(err)
			}
			m2, _ := resultstest.Build(small)
			m2.Build = tt.ours
			if tt.viaCurrent {
				m2.Build = results.Build{}
				defer results.SetCurrentBuild(tt.ours)()
			}
			_, err = results.Open(dir, m2, results.Session{})
			check := func(what string, err error) {
				t.Helper()
				switch {
				case tt.want == "" && err != nil:
					t.Errorf("%s: %v", what, err)
				case tt.want != "" && err == nil:
					t.Errorf("%s across builds was allowed", what)
				case tt.want != "" && !strings.Contains(err.Error(), tt.want):
					t.Errorf("%s: error %q lacks %q", what, err, tt.want)
				}
			}
			check("resume", err)
			if tt.viaCurrent {
				_, err = results.Open(dir, nil, results.Session{})
				check("resume with the stored manifest", err)
			}
			// Merge a shard of each build.
			other := filepath.Join(base, "other")
			w2, err := results.Create(other, m2, results.Session{})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range runs[1:] {
				if err := w2.Add(r); err != nil {
					t.Fatal(err)
				}
			}
			if err := w2.Finalize(time.Time{}); err != nil {
				t.Fatal(err)
			}
			if err := w.Finalize(time.Time{}); err != nil {
				t.Fatal(err)
			}
			err = results.Merge(filepath.Join(base, "merged"), dir, other)
			check("merge", err)
			if err != nil && !strings.Contains(err.Error(), "one build") {
				t.Errorf("merge error %q does not say shards must come from one build", err)
			}
		})
	}
}

// An unreadable provenance.json, which is not part of a set's identity,
// does not stop reading, resuming or merging: each warns, naming the file
// and the position.
func TestCorruptProvenanceWarns(t *testing.T) {
	for _, tt := range []struct {
		name, content, want string
	}{
		{"truncated", `{"sessions": [{"host": "a"`, "provenance.json:1:26: the file ends inside a JSON value"},
		{"not JSON", "\n\x00garbage", "provenance.json:2:1: invalid character"},
		{"wrong type", `{"sessions": [{"workers": "four"}]}`, "provenance.json:1:27: JSON string where a whole number in range belongs (key sessions.workers)"},
		{"bad time", `{"sessions": [{"started": "yesterday"}]}`, "provenance.json: session 1: parsing time"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			dir := filepath.Join(base, "set")
			writeAll(t, dir, small)
			if err := os.WriteFile(filepath.Join(dir, "provenance.json"), []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := results.Read(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], tt.want) {
				t.Errorf("Read warnings %q, want one with %q", s.Warnings, tt.want)
			}
			var warned []string
			if err := results.MergeWarn(filepath.Join(base, "merged"), func(w string) { warned = append(warned, w) }, dir); err != nil {
				t.Fatal(err)
			}
			if len(warned) != 1 || !strings.Contains(warned[0], tt.want) {
				t.Errorf("Merge warnings %q, want one with %q", warned, tt.want)
			}
			m, _ := resultstest.Build(small)
			w, err := results.Open(dir, m, results.Session{Host: "again"})
			if err != nil {
				t.Fatal(err)
			}
			if ws := w.Warnings(); len(ws) != 1 || !strings.Contains(ws[0], tt.want) {
				t.Errorf("Open warnings %q, want one with %q", ws, tt.want)
			}
			if err := w.Finalize(time.Time{}); err != nil {
				t.Fatal(err)
			}
			s, err = results.Read(dir)
			if err != nil || len(s.Warnings) != 0 || len(s.Provenance.Sessions) != 2 || s.Provenance.Sessions[1].Host != "again" {
				t.Errorf("after resuming: %v, warnings %q, provenance %+v", err, s.Warnings, s.Provenance)
			}
		})
	}
}
