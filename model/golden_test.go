package model

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestGoldenRun pins a small run's metrics, so that a change that alters
// what the model computes shows up as a diff of testdata/small-run.golden
// (regenerate it with go test ./model -run Golden -update once the change
// is intended).
func TestGoldenRun(t *testing.T) {
	var b strings.Builder
	for _, rr := range []bool{false, true} {
		res, err := Run(smallConfig(), &userHashRouter{n: 4, roundRobin: rr}, 42)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "# roundRobin=%v commands=%d events=%d\n", rr, res.Commands, res.Events)
		for _, m := range res.Metrics() {
			fmt.Fprintf(&b, "%s\t%s\t%.9g\n", m.Name, m.Unit, m.Value)
		}
	}
	path := filepath.Join("testdata", "small-run.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Errorf("line %d:\n got %s\nwant %s", i+1, gl[i], wl[i])
			}
		}
		t.Fatal("the model computes something else than testdata/small-run.golden (use -update if intended)")
	}
}
