package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/mailsim/mailsim/results"
)

func init() {
	register(command{
		name:    "compare",
		summary: "compare strategies in a result set: means, intervals, paired differences",
		run:     runCompare,
	})
}

func runCompare(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("compare", "RESULTSET [RESULTSET...]",
		"Prints a side-by-side table per sweep point, one column per strategy: each\n"+
			"cell is the mean across replicas ± the half-width of its 95% Student-t\n"+
			"interval. The Δ columns give each strategy's paired difference from the\n"+
			"baseline (replicas paired by number, so by seed), marked * when the interval excludes zero.\n"+
			"Given several sets of one spec (a simulated one and a testbed one, say), it puts\n"+
			"each strategy's columns next to each other, labelled [model] and [testbed].",
		stderr)
	baseline := fs.String("baseline", "", "strategy to take differences against (default director, else the first strategy)")
	format := fs.String("format", "text", "output format: "+strings.Join(tableFormats, ", "))
	metrics := fs.String("metrics", "", "comma-separated metrics to show, in this order (default all)")
	pos, code := parseInterspersed(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) < 1 {
		fs.Usage()
		return 2
	}
	if !slices.Contains(tableFormats, *format) {
		fmt.Fprintf(stderr, "mailsim compare: unknown format %q (want %s)\n", *format, strings.Join(tableFormats, ", "))
		return 2
	}
	var sets []*results.Set
	for _, dir := range pos {
		set, err := readSet(dir, "compare", stderr)
		if err != nil {
			fmt.Fprintf(stderr, "mailsim compare: %v\n", err)
			return 1
		}
		sets = append(sets, set)
	}
	set := sets[0]
	if len(sets) > 1 {
		var labels []string
		for _, s := range sets {
			labels = append(labels, results.Label(s, sets...))
		}
		var err error
		if set, err = results.SideBySide(sets, labels); err != nil {
			fmt.Fprintf(stderr, "mailsim compare: %v\n", err)
			return 1
		}
	}
	c, err := results.Compare(set, results.CompareOptions{Baseline: *baseline, Metrics: splitList(*metrics)})
	if err != nil {
		fmt.Fprintf(stderr, "mailsim compare: %v\n", err)
		return 2
	}
	if err := c.Write(stdout, results.Format(*format)); err != nil {
		fmt.Fprintf(stderr, "mailsim compare: %v\n", err)
		return 1
	}
	// Runs that did not reach steady state: said on stderr, so that the
	// table itself stays machine-readable in every format.
	for i, s := range sets {
		if w := s.SteadyStateWarning(); w != "" {
			fmt.Fprintf(stderr, "mailsim compare: %s: %s\n", pos[i], w)
		}
	}
	return 0
}

// readSet reads a result set and warns on stderr when planned runs are
// missing from it, or when something not part of its identity (such as
// provenance.json) cannot be read.
func readSet(dir, cmd string, stderr io.Writer) (*results.Set, error) {
	set, err := results.Read(dir)
	if err != nil {
		return nil, err
	}
	for _, w := range set.Warnings {
		fmt.Fprintf(stderr, "mailsim %s: warning: %s\n", cmd, w)
	}
	if len(set.Runs) == 0 {
		return nil, fmt.Errorf("%s holds no finished runs", dir)
	}
	if miss := set.Missing(); len(miss) > 0 {
		shown := miss
		if len(shown) > 10 {
			shown = shown[:10]
		}
		more := ""
		if len(miss) > len(shown) {
			more = ", ..."
		}
		fmt.Fprintf(stderr, "mailsim %s: warning: %d of %d planned runs are missing (%s%s); statistics use the runs present\n",
			cmd, len(miss), len(set.Manifest.Plan), strings.Join(shown, ", "), more)
	}
	return set, nil
}

// splitList splits a comma-separated list, leaving out empty items.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
