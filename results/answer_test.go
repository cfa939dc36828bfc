package results_test

import (
	"bytes"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/results/resultstest"
)

// setWith builds a one-point set of strategies a, b and c whose metric
// name takes the given values per strategy, one per replica (every
// replica of a point shares its seed across strategies, so differences
// are paired).
func setWith(t *testing.T, name string, vals map[string][]float64) *results.Set {
	t.Helper()
	s, err := readWith(t.TempDir(), name, vals)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// readWith writes the set of setWith into a folder of dir and reads it.
func readWith(dir, name string, vals map[string][]float64) (*results.Set, error) {
	m, runs := resultstest.Build(resultstest.Options{Backends: []int{4}, Strategies: []string{"random", "per-ip", "director"}, Replicas: 3, Samples: 50})
	for _, r := range runs {
		for i := range r.Metrics {
			if r.Metrics[i].Name == name {
				r.Metrics[i].Value = vals[r.Strategy][r.Replica-1]
			}
		}
	}
	dir = filepath.Join(dir, "set")
	if err := resultstest.Write(dir, m, runs); err != nil {
		return nil, err
	}
	return results.Read(dir)
}

// TestStatements checks each rule of the answer on made-up values.
func TestStatements(t *testing.T) {
	tests := []struct {
		name   string
		metric string
		vals   map[string][]float64
		kind   results.Kind
		who    []string
		text   []string // substrings of the statement
	}{
		{"zero against non-zero is a finding, whatever the spread",
			"stale_reads", map[string][]float64{"random": {10, 900, 20}, "per-ip": {1, 0, 3}, "director": {0, 0, 0}},
			results.ZeroSplit, []string{"director"}, []string{"zero under director", "random 310", "per-ip 1.33"}},
		{"every strategy zero",
			"stale_reads", map[string][]float64{"random": {0, 0, 0}, "per-ip": {0, 0, 0}, "director": {0, 0, 0}},
			results.AllZero, nil, []string{"zero for every strategy"}},
		{"a significant difference below the practical threshold is the same",
			"imap.latency.p99", map[string][]float64{"random": {0.1002, 0.1012, 0.1022}, "per-ip": {0.1000, 0.1010, 0.1020}, "director": {0.1001, 0.1011, 0.1021}},
			results.Same, nil, []string{"the same under every strategy", "below 5 % or 1 ms"}},
		{"a practical and significant difference names best and worst",
			"imap.latency.p99", map[string][]float64{"random": {0.150, 0.152, 0.151}, "per-ip": {0.120, 0.122, 0.121}, "director": {0.100, 0.101, 0.102}},
			results.Differs, []string{"director", "random"}, []string{"best under director (101 ms)", "worst under random (151 ms, +50 %)", "per-ip in between (121 ms)"}},
		{"a large difference that is not significant is unresolved, not the same",
			"imap.latency.p99", map[string][]float64{"random": {0.05, 0.30, 0.10}, "per-ip": {0.10, 0.10, 0.10}, "director": {0.30, 0.05, 0.10}},
			results.Unresolved, nil, []string{"no difference shown", "more replicas would tell"}},
		{"the worst is never among the best, even when only two others differ",
			"imap.latency.p99", map[string][]float64{"random": {0.100, 0.200, 0.150}, "per-ip": {0.120, 0.121, 0.122}, "director": {0.140, 0.141, 0.142}},
			results.Differs, []string{"per-ip", "random"}, []string{"best under per-ip (121 ms)", "worst under director and random"}},
		{"only one strategy moves it",
			"cache.hit_ratio", map[string][]float64{"random": {0.60, 0.61, 0.62}, "per-ip": {0.90, 0.905, 0.91}, "director": {0.902, 0.904, 0.906}},
			results.OnlyOne, []string{"random"}, []string{"only random differs", "61 %"}},
		{"shares differ in percentage points",
			"cache.hit_ratio", map[string][]float64{"random": {0.60, 0.61, 0.62}, "per-ip": {0.75, 0.76, 0.77}, "director": {0.90, 0.91, 0.92}},
			results.Differs, []string{"director", "random"}, []string{"30 percentage points"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := results.Compare(setWith(t, tt.metric, tt.vals), results.CompareOptions{Metrics: []string{tt.metric}})
			if err != nil {
				t.Fatal(err)
			}
			sts := c.Statements()
			if len(sts) != 1 {
				t.Fatalf("%d statements, want 1", len(sts))
			}
			st := sts[0]
			if st.Kind != tt.kind || strings.Join(st.Strategies, ",") != strings.Join(tt.who, ",") {
				t.Errorf("got %s about %v, want %s about %v: %s", st.Kind, st.Strategies, tt.kind, tt.who, st.Text)
			}
			for _, want := range tt.text {
				if !strings.Contains(st.Text, want) {
					t.Errorf("statement lacks %q: %s", want, st.Text)
				}
			}
		})
	}
}

// TestAnswerMergesZeroSplits: metrics that the same strategies keep at
// zero make one statement, led by the first headline metric.
func TestAnswerMergesZeroSplits(t *testing.T) {
	s := readSynth(t, resultstest.Options{Backends: []int{4}, Strategies: []string{"random", "director", "owner-proxy"}, Replicas: 3, Samples: 100})
	c, err := results.Compare(s, results.CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ans := c.Answer(0)
	if len(ans) == 0 || ans[0].Kind != results.ZeroSplit || ans[0].Metric.Name != "stale_reads" {
		t.Fatalf("the answer does not lead with the stale reads only random has: %+v", ans)
	}
	if len(ans) > 6 {
		t.Errorf("%d statements, want at most 6", len(ans))
	}
	if !strings.Contains(ans[0].Text, "zero under director and owner-proxy") {
		t.Errorf("first statement: %s", ans[0].Text)
	}
}

// FuzzAnswer: any values a metric takes (zeros, NaN, huge, negative,
// ties) give statements and tables without a panic, and the text table
// still fits its width.
func FuzzAnswer(f *testing.F) {
	f.Add(0.0, 0.0, 0.0, 1.0, 2.0, 3.0, "stale_reads")
	f.Add(math.NaN(), 1e300, -5.0, 0.0, 1e-300, 7.0, "imap.latency.p99")
	f.Add(0.5, 0.5, 0.5, 0.5, 0.5, 0.5, "cache.hit_ratio")
	f.Fuzz(func(t *testing.T, a0, a1, b0, b1, c0, c1 float64, metric string) {
		if metric != "stale_reads" && metric != "imap.latency.p99" && metric != "cache.hit_ratio" {
			metric = "stale_reads"
		}
		vals := map[string][]float64{"random": {a0, a1, a0}, "per-ip": {b0, b1, b0}, "director": {c0, c1, c1}}
		s, err := readWith(t.TempDir(), metric, vals)
		if err != nil {
			return // values the format refuses
		}
		c, err := results.Compare(s, results.CompareOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c.Answer(0)
		var buf bytes.Buffer
		if err := c.WriteText(&buf); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(buf.String(), "\n") {
			if utf8.RuneCountInString(line) > results.TextWidth {
				t.Fatalf("a line of %d columns: %q", utf8.RuneCountInString(line), line)
			}
		}
		if err := c.WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
	})
}
