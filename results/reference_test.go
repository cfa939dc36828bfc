package results_test

import (
	"path/filepath"
	"testing"

	"github.com/mailsim/mailsim/results"
)

// The reference sets are of format version 1: they are read (for tables
// and reports) but never resumed or merged.
func TestReadReferenceSets(t *testing.T) {
	sets, err := filepath.Glob(filepath.Join("reference", "*", "manifest.json"))
	if err != nil || len(sets) == 0 {
		t.Fatalf("no reference sets: %v", err)
	}
	for _, m := range sets {
		dir := filepath.Dir(m)
		s, err := results.Read(dir)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if len(s.Runs) == 0 || len(s.Warnings) > 0 {
			t.Errorf("%s: %d runs, warnings %q", dir, len(s.Runs), s.Warnings)
		}
		if s.Format == results.FormatVersion {
			continue
		}
		if _, err := results.Open(dir, nil, results.Session{}); err == nil {
			t.Errorf("%s of format version %d was opened to resume", dir, s.Format)
		}
		if err := results.Merge(filepath.Join(t.TempDir(), "m"), dir); err == nil {
			t.Errorf("%s of format version %d was merged", dir, s.Format)
		}
	}
}
