package stats_test

import (
	"fmt"

	"github.com/mailsim/mailsim/results/stats"
)

// Three replicas of two strategies on the same seeds: the paired
// difference has a much narrower interval than either mean.
func ExamplePairedDiff() {
	random := []float64{0.120, 0.180, 0.150}   // p99 latency, s
	director := []float64{0.100, 0.158, 0.131} // same seeds
	fmt.Println("random:  ", stats.MeanCI(random, stats.DefaultLevel))
	fmt.Println("director:", stats.MeanCI(director, stats.DefaultLevel))
	d, _ := stats.PairedDiff(director, random, stats.DefaultLevel)
	fmt.Println("director−random:", d, "significant:", d.ExcludesZero())
	// Output:
	// random:   0.15 [0.07548, 0.2245]
	// director: 0.1297 [0.05757, 0.2018]
	// director−random: -0.02033 [-0.02413, -0.01654] significant: true
}
