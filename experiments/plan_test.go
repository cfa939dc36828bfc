package experiments

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mailsim/mailsim/model/sim"
)

func planOf(t *testing.T, in string, strategies []string, replicas int) []Run[testSpec] {
	t.Helper()
	spec, err := Decode[testSpec]("exp.toml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	runs, err := Plan(spec, Design{Sweep: spec.Sweep, Strategies: strategies, Replicas: replicas, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

func TestPlanIDs(t *testing.T) {
	tests := []struct {
		name       string
		sweep      string
		strategies []string
		replicas   int
		want       []string // the first and last IDs
		n          int
	}{
		{"no sweep", "", []string{"director"}, 1, []string{"p0-director-r0", "p0-director-r0"}, 1},
		{"ten points", `"cluster.backends" = [1,2,3,4,5,6,7,8,9,10]`, []string{"random", "per-ip"}, 3,
			[]string{"p00-random-r0", "p09-per-ip-r2"}, 60},
		{"ten replicas", `"cluster.backends" = [1,2]`, []string{"owner-proxy"}, 10,
			[]string{"p0-owner-proxy-r00", "p1-owner-proxy-r09"}, 20},
		{"hundred and one points", `"cluster.users" = [` + strings.TrimSuffix(strings.Repeat("5,", 101), ",") + `]`, []string{"a"}, 1,
			[]string{"p000-a-r0", "p100-a-r0"}, 101},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs := planOf(t, "[sweep]\n"+tt.sweep+"\n", tt.strategies, tt.replicas)
			if len(runs) != tt.n {
				t.Fatalf("%d runs, want %d", len(runs), tt.n)
			}
			if got := []string{runs[0].ID, runs[len(runs)-1].ID}; got[0] != tt.want[0] || got[1] != tt.want[1] {
				t.Errorf("first and last IDs %v, want %v", got, tt.want)
			}
			seen := map[string]bool{}
			for i, r := range runs {
				if r.Index != i {
					t.Errorf("run %s has index %d at position %d", r.ID, r.Index, i)
				}
				if seen[r.ID] {
					t.Errorf("duplicate run ID %s", r.ID)
				}
				seen[r.ID] = true
			}
		})
	}
}

// TestPlanOrder checks point × strategy × replica order and that each run
// carries its point's settings.
func TestPlanOrder(t *testing.T) {
	runs := planOf(t, "[sweep]\n\"cluster.backends\" = [2, 8]\n", []string{"random", "director"}, 2)
	var got []string
	for _, r := range runs {
		got = append(got, fmt.Sprintf("%s backends=%d", r.ID, r.Spec.Cluster.Backends))
	}
	want := []string{
		"p0-random-r0 backends=2", "p0-random-r1 backends=2",
		"p0-director-r0 backends=2", "p0-director-r1 backends=2",
		"p1-random-r0 backends=8", "p1-random-r1 backends=8",
		"p1-director-r0 backends=8", "p1-director-r1 backends=8",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("runs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	runs[0].Spec.Strategies[0] = "changed"
	if runs[1].Spec.Strategies[0] == "changed" {
		t.Error("runs share their specs' lists")
	}
}

// TestPlanSeeds checks common random numbers: the seed depends on the point
// and replica, never on the strategy.
func TestPlanSeeds(t *testing.T) {
	runs := planOf(t, "[sweep]\n\"cluster.backends\" = [2, 8, 16]\n", []string{"random", "per-ip", "director"}, 4)
	byKey := map[string]uint64{}
	seeds := map[uint64]string{}
	for _, r := range runs {
		key := fmt.Sprintf("p%d-r%d", r.Point.Index, r.Replica)
		if want := sim.SubSeed(7, key); r.Seed != want {
			t.Errorf("%s: seed %d, want sim.SubSeed(7, %q) = %d", r.ID, r.Seed, key, want)
		}
		if s, ok := byKey[key]; ok && s != r.Seed {
			t.Errorf("%s: seed differs from another strategy's at the same point and replica", r.ID)
		}
		byKey[key] = r.Seed
		if k, ok := seeds[r.Seed]; ok && k != key {
			t.Errorf("%s and %s share a seed", k, key)
		}
		seeds[r.Seed] = key
	}
	if len(byKey) != 12 {
		t.Errorf("%d distinct point/replica keys, want 12", len(byKey))
	}
}

func TestPlanErrors(t *testing.T) {
	var spec testSpec
	tests := []struct {
		d    Design
		want string
	}{
		{Design{Replicas: 1}, "experiments: no strategies to run"},
		{Design{Strategies: []string{"a"}}, "experiments: 0 replicas; need at least 1"},
		{Design{Strategies: []string{"a", "a"}, Replicas: 1}, `experiments: strategy "a" listed twice`},
		{Design{Strategies: []string{"a/b"}, Replicas: 1}, `experiments: strategy name "a/b" cannot be part of a run ID`},
		{Design{Strategies: []string{"a"}, Replicas: 1, Sweep: Sweep{Axes: []Axis{{Path: "nope", Values: []any{1}}}}},
			`experiments: sweep path "nope": no key "nope"`},
	}
	for _, tt := range tests {
		_, err := Plan(spec, tt.d)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Plan(%+v) error = %v, want %s", tt.d, err, tt.want)
		}
	}
}
