package results_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/results/resultstest"
	"github.com/mailsim/mailsim/results/stats"
)

func readSynth(t *testing.T, o resultstest.Options) *results.Set {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "set")
	writeAll(t, dir, o)
	s, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s; run go test -update if the change is deliberate\ngot:\n%s", path, got)
	}
}

func TestCompareGolden(t *testing.T) {
	s := readSynth(t, resultstest.Default)
	tests := []struct {
		file string
		opts results.CompareOptions
		f    results.Format
	}{
		{"compare.txt", results.CompareOptions{}, results.Text},
		{"compare.md", results.CompareOptions{}, results.Markdown},
		{"compare.csv", results.CompareOptions{}, results.CSV},
		{"compare-random-2metrics.txt", results.CompareOptions{Baseline: "random", Metrics: []string{"stale_reads", "imap.latency.p99"}}, results.Text},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c, err := results.Compare(s, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := c.Write(&buf, tt.f); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("compare", tt.file), buf.Bytes())
		})
	}
}

func TestFindingsGolden(t *testing.T) {
	c, err := results.Compare(readSynth(t, resultstest.Default), results.CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, f := range c.Findings() {
		buf.WriteString(f.Text + "\n")
	}
	golden(t, filepath.Join("compare", "findings.txt"), buf.Bytes())
}

func TestFindingsClaims(t *testing.T) {
	c, err := results.Compare(readSynth(t, resultstest.Default), results.CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range c.Findings() {
		if f.Best != "" {
			// Every margin of a winner must be significant in the
			// metric's better direction.
			for _, d := range f.Margins {
				ok := (f.Metric.Better == results.Lower && d.Abs.Hi < 0) || (f.Metric.Better == results.Higher && d.Abs.Lo > 0)
				if !ok || d.Strategy != f.Best {
					t.Errorf("%s: claimed winner %s with margin %+v", f.Text, f.Best, d.Abs)
				}
			}
		}
		for _, d := range f.Margins {
			if !d.Significant() {
				t.Errorf("%s: reports a margin whose interval includes zero", f.Text)
			}
		}
	}
	// The synthetic director never reads stale attributes: it must win.
	var found bool
	for _, f := range c.Findings() {
		if f.Metric.Name == "stale_reads" {
			found = true
			if f.Best != "director" {
				t.Errorf("stale_reads: best %q, want director (%s)", f.Best, f.Text)
			}
		}
	}
	if !found {
		t.Error("no finding for stale_reads")
	}
}

func TestCompareErrors(t *testing.T) {
	s := readSynth(t, small)
	tests := []struct {
		opts results.CompareOptions
		want string
	}{
		{results.CompareOptions{Baseline: "round-robin"}, `baseline "round-robin" is not a strategy`},
		{results.CompareOptions{Metrics: []string{"stale_reads", "nope"}}, "no metric nope"},
		{results.CompareOptions{Level: 1.5}, "not in (0, 1)"},
	}
	for _, tt := range tests {
		if _, err := results.Compare(s, tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Compare(%+v): %v, want %q", tt.opts, err, tt.want)
		}
	}
	c, _ := results.Compare(s, results.CompareOptions{})
	if err := c.Write(&bytes.Buffer{}, "html"); err == nil {
		t.Error("Write accepted an unknown format")
	}
}

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0"}, {1, "1"}, {0.1108, "0.1108"}, {476, "476"}, {1606.85, "1607"}, {0.0012346, "0.001235"},
		{-2.5, "-2.5"}, {1.5e-5, "1.5e-05"}, {3e7, "3e+07"},
	}
	for _, tt := range tests {
		if got := results.FormatNumber(tt.v); got != tt.want {
			t.Errorf("FormatNumber(%g) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

// Runs whose seeds differ between strategies cannot be paired: the
// difference falls back to Welch's interval and says so.
func TestCompareUnpairedWhenSeedsDiffer(t *testing.T) {
	m, runs := resultstest.Build(small)
	for i := range m.Plan {
		if m.Plan[i].Strategy == "director" {
			m.Plan[i].Seed += 500
			runs[i].Seed += 500
		}
	}
	dir := filepath.Join(t.TempDir(), "set")
	if err := resultstest.Write(dir, m, runs); err != nil {
		t.Fatal(err)
	}
	s, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := results.Compare(s, results.CompareOptions{Baseline: "director", Metrics: []string{"stale_reads"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Paired() {
		t.Fatal("Paired() is true for runs with different seeds")
	}
	pt := s.Points()[0]
	d := c.Points[0].Rows[0].Diffs[0] // random − director
	want := stats.WelchDiff(results.MetricValues(s.RunsAt(pt, "random"), "stale_reads"),
		results.MetricValues(s.RunsAt(pt, "director"), "stale_reads"), stats.DefaultLevel)
	if d.Paired || d.Abs != want {
		t.Errorf("diff %+v, want Welch %+v", d.Abs, want)
	}
	var buf bytes.Buffer
	if err := c.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "unpaired") || !strings.Contains(buf.String(), "Welch") {
		t.Errorf("text output does not say the differences are unpaired:\n%s", buf.String())
	}
	// With equal seeds the same data would be paired.
	c2, _ := results.Compare(readSynth(t, small), results.CompareOptions{})
	if !c2.Paired() {
		t.Error("Paired() is false for runs with common seeds")
	}
}

// One replica gives means but no intervals, and no claims.
func TestCompareSingleReplica(t *testing.T) {
	s := readSynth(t, resultstest.Options{Backends: []int{4}, Strategies: []string{"random", "director"}, Replicas: 1, Samples: 50})
	c, err := results.Compare(s, results.CompareOptions{Metrics: []string{"stale_reads"}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	i := strings.Index(out, "1 replica: values without intervals")
	if i < 0 || strings.Contains(out[i:], "±") || strings.Contains(out[i:], "[") {
		t.Errorf("a single-replica table should say it has no intervals and show none:\n%s", buf.String())
	}
	for _, f := range c.Findings() {
		if !f.NoInterval || f.Best != "" || len(f.Margins) > 0 {
			t.Errorf("claim from one replica: %s", f.Text)
		}
	}
}
