package experiments

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mailsim/mailsim/model/sim"
)

// Design says how one spec becomes a list of runs: every point of Sweep,
// for every strategy, Replicas times.
type Design struct {
	Sweep      Sweep
	Strategies []string
	Replicas   int
	// Seed is the experiment seed; each run's seed derives from it and the
	// run's point and replica.
	Seed uint64
}

// Run is one simulation to perform: a spec with a sweep point applied, a
// strategy and a replica number.
type Run[T any] struct {
	// Index is the run's position in the planned order; results sort by it.
	Index int
	// ID names the run stably, "p03-director-r1": point, strategy and
	// replica, the numbers zero-padded to the widths of their counts.
	ID       string
	Point    Point
	Strategy string
	Replica  int
	// Seed is [sim.SubSeed] of the experiment seed and the ID without the
	// strategy ("p03-r1"), so every strategy at a point and replica sees the
	// same users doing the same things (common random numbers).
	Seed uint64
	// Spec is a deep copy of the base spec with the point applied.
	Spec T
}

// Plan expands base and d into runs in planned order: points outermost,
// then strategies in the given order, then replicas. It refuses more than
// [MaxRuns] runs.
func Plan[T any](base T, d Design) ([]Run[T], error) {
	if len(d.Strategies) == 0 {
		return nil, fmt.Errorf("experiments: no strategies to run")
	}
	if d.Replicas < 1 {
		return nil, fmt.Errorf("experiments: %d replicas; need at least 1", d.Replicas)
	}
	seen := map[string]bool{}
	for _, s := range d.Strategies {
		if s == "" || strings.ContainsAny(s, "/\\ \t\n") {
			return nil, fmt.Errorf("experiments: strategy name %q cannot be part of a run ID", s)
		}
		if seen[s] {
			return nil, fmt.Errorf("experiments: strategy %q listed twice", s)
		}
		seen[s] = true
	}
	if n := float64(d.Sweep.Len()) * float64(len(d.Strategies)) * float64(d.Replicas); n > MaxRuns {
		return nil, fmt.Errorf("experiments: %d sweep points × %d strategies × %d replicas is %.0f runs, more than the %d an experiment may plan", d.Sweep.Len(), len(d.Strategies), d.Replicas, n, MaxRuns)
	}
	points := d.Sweep.Points()
	wp, wr := digits(len(points)), digits(d.Replicas)
	runs := make([]Run[T], 0, len(points)*len(d.Strategies)*d.Replicas)
	for _, p := range points {
		spec, err := Apply(base, p)
		if err != nil {
			return nil, err
		}
		for _, s := range d.Strategies {
			for r := 0; r < d.Replicas; r++ {
				pk := fmt.Sprintf("p%0*d", wp, p.Index)
				rk := fmt.Sprintf("r%0*d", wr, r)
				// Every run gets a spec of its own.
				c, _ := Apply(spec, Point{})
				runs = append(runs, Run[T]{
					Index:    len(runs),
					ID:       pk + "-" + s + "-" + rk,
					Point:    p,
					Strategy: s,
					Replica:  r,
					Seed:     sim.SubSeed(d.Seed, pk+"-"+rk),
					Spec:     c,
				})
			}
		}
	}
	return runs, nil
}

// digits is the number of decimal digits of n ≥ 0: IDs are zero-padded to
// the width of the count, so 10 points are p00 to p09.
func digits(n int) int {
	return len(strconv.Itoa(max(n, 0)))
}
