package experiments

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCatalogueHoldsEverySpec checks that the embedded catalogue is every
// spec file of this folder and its subfolders, test data and calibration
// profiles aside: a spec added in a new folder needs that folder among
// the catalogue's embed patterns.
func TestCatalogueHoldsEverySpec(t *testing.T) {
	var onDisk []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (p == "testdata" || catalogueDataDirs[filepath.ToSlash(p)]) {
			return fs.SkipDir
		}
		if !d.IsDir() && filepath.Ext(p) == ".toml" {
			onDisk = append(onDisk, filepath.ToSlash(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	es, err := Catalogue()
	if err != nil {
		t.Fatal(err)
	}
	var embedded []string
	for _, e := range es {
		embedded = append(embedded, e.Path)
	}
	slices.Sort(onDisk)
	slices.Sort(embedded)
	if !slices.Equal(onDisk, embedded) {
		t.Errorf("catalogue holds %v,\nthe folder %v", embedded, onDisk)
	}
}

// TestCatalogueEntriesLoad loads every catalogue entry from its embedded
// copy, as mailsim run NAME does, on a machine with memory enough for all
// of them: each decodes and validates, finds the files it names (profiles,
// traces, passdb maps), and is listed with its spec's name, a one-line
// summary and whether it has a [plan].
func TestCatalogueEntriesLoad(t *testing.T) {
	withMemory(t, 64<<30)
	es, err := Catalogue()
	if err != nil {
		t.Fatal(err)
	}
	if len(es) < 20 {
		t.Fatalf("only %d catalogue entries", len(es))
	}
	for _, c := range es {
		t.Run(c.Name, func(t *testing.T) {
			exp, cleanup, err := c.Load()
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := cleanup(); err != nil {
					t.Error(err)
				}
				if _, err := os.Stat(exp.Dir); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("cleanup left %s: %v", exp.Dir, err)
				}
			}()
			if exp.Spec.Name != c.Name {
				t.Errorf("listed as %q, the spec's name is %q", c.Name, exp.Spec.Name)
			}
			if exp.File != c.DisplayName() {
				t.Errorf("File %q, want %q", exp.File, c.DisplayName())
			}
			if s := c.Summary(); s == "" || strings.Contains(s, "\n") {
				t.Errorf("summary %q: want one non-empty line", s)
			}
			hasPlan := strings.Contains("\n"+string(c.TOML()), "\n[plan]")
			if c.Plan != hasPlan {
				t.Errorf("Plan %v, the spec has [plan]: %v", c.Plan, hasPlan)
			}
			if c.Plan {
				if _, err := exp.PlanManifest(); err != nil {
					t.Errorf("plan manifest: %v", err)
				}
			}
			// A router reads the files its strategy needs (passdb-static's
			// map) from the spec's folder.
			done := map[string]bool{}
			for _, r := range exp.Runs {
				if done[r.Strategy] {
					continue
				}
				done[r.Strategy] = true
				if _, err := r.Spec.RouterIn(r.Strategy, r.Seed, exp.Dir); err != nil {
					t.Errorf("strategy %s: %v", r.Strategy, err)
				}
			}
		})
	}
}

func TestLookupCatalogue(t *testing.T) {
	tests := []struct {
		name      string
		want      string   // the entry's path; "" for an unknown name
		wantClose []string // for an unknown name, the start of its close names
	}{
		{"backend-count", "backend-count.toml", nil},
		{"backend-count.toml", "backend-count.toml", nil},
		{"experiments/backend-count.toml", "backend-count.toml", nil},
		{"hung-host-v3", "hung-host/v3.toml", nil},
		{"hung-host/v3", "hung-host/v3.toml", nil},
		{"hung-host/v3.toml", "hung-host/v3.toml", nil},
		{"index-damage/nfs42", "index-damage/nfs42.toml", nil},
		{"backend-cuont", "", []string{"backend-count"}},
		{"maildir-listin", "", []string{"maildir-listing"}},
		{"hung-host", "", []string{"hung-host-v3", "hung-host-v42", "hung-host-v3-more"}},
		{"zzzzzzzzzzzz", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LookupCatalogue(tc.name)
			if tc.want != "" {
				if err != nil || c.Path != tc.want {
					t.Fatalf("got %q, %v; want %s", c.Path, err, tc.want)
				}
				return
			}
			var ue *UnknownExperimentError
			if !errors.As(err, &ue) {
				t.Fatalf("got %q, %v; want an UnknownExperimentError", c.Path, err)
			}
			if len(ue.Close) < len(tc.wantClose) || !slices.Equal(ue.Close[:len(tc.wantClose)], tc.wantClose) {
				t.Errorf("close names %v, want them to start with %v", ue.Close, tc.wantClose)
			}
			if len(tc.wantClose) == 0 && len(ue.Close) != 0 {
				t.Errorf("close names %v for a name like none", ue.Close)
			}
			if !strings.Contains(err.Error(), tc.name) {
				t.Errorf("error %q does not name %q", err, tc.name)
			}
		})
	}
}

func TestFirstSentence(t *testing.T) {
	tests := []struct{ text, want string }{
		{"How do the strategies scale? Load imbalance, latency.", "How do the strategies scale?"},
		{"\nDovecot 2.4 removed the director. How do the\nchoices compare?", "Dovecot 2.4 removed the director."},
		{"Defaults (acregmin 3 s ... acdirmax 60 s), with\nactimeo=0. Then more.", "Defaults (acregmin 3 s ... acdirmax 60 s), with actimeo=0."},
		{"Index damage matrix: two backends,\nrandom routing.", "Index damage matrix: two backends, random routing."},
		{"one line without an end\nand a second", "one line without an end"},
		{"It costs 3 ms, e.g. the first. After", "It costs 3 ms, e.g. the first."},
		{"Locked (fcntl). 30 s later it freezes.", "Locked (fcntl)."},
		{"Who tells the director? imaptest's clients reconnect.", "Who tells the director?"},
		{"A quote \"ends here.\" Then", "A quote \"ends here.\""},
		{"", ""},
	}
	for _, tc := range tests {
		if got := firstSentence(tc.text); got != tc.want {
			t.Errorf("firstSentence(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestCatalogueSummary(t *testing.T) {
	tests := []struct{ desc, want string }{
		{"How do the strategies scale? Load imbalance and latency.", "How do the strategies scale?"},
		{"Dovecot 2.4 removed the director. How do the\nchoices compare? More.", "Dovecot 2.4 removed the director. How do the choices compare?"},
		{"A short statement.", "A short statement."},
		{"A statement long enough to stand on its own. And more.", "A statement long enough to stand on its own."},
	}
	for _, tc := range tests {
		if got := (CatalogueEntry{Description: tc.desc}).Summary(); got != tc.want {
			t.Errorf("Summary of %q = %q, want %q", tc.desc, got, tc.want)
		}
	}
}

// TestCatalogueRelabel checks that errors about a catalogue entry's
// temporary copy name the entry instead.
func TestCatalogueRelabel(t *testing.T) {
	c := CatalogueEntry{Name: "calibrated", Path: "calibrated.toml"}
	dir := filepath.Join(os.TempDir(), "mailsim-catalogue-1")
	file := filepath.Join(dir, "calibrated.toml")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"spec error", Errors{{File: file, Pos: Pos{Line: 3, Col: 1}, Key: "nfs.profile", Msg: "cannot read " + filepath.Join(dir, "profiles", "x.toml")}},
			"calibrated.toml (embedded):3:1: cannot read " + filepath.Join("profiles", "x.toml") + " (key nfs.profile)"},
		{"other error", errors.New("open " + filepath.Join(dir, "a.csv") + ": denied"), "open a.csv: denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.relabel(tc.err, dir, file).Error(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
