package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/mailsim/mailsim/strategies"
)

func init() {
	register(command{
		name:    "churn",
		summary: "compare strategies' load imbalance and users moved when a backend is added or removed",
		run:     runChurn,
	})
}

// maxChurnUsers is the most users churn places. It holds every user's name,
// address and placements in memory: 1,000,000 users peaked at 458 MB
// resident (/usr/bin/time -f %M mailsim churn --users 1000000), so the
// limit needs about 4.6 GB.
const maxChurnUsers = 10_000_000

func runChurn(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("churn", "",
		"Places synthetic users on a fresh router of each strategy and prints the load\n"+
			"imbalance (max/mean users per backend, coefficient of variation) and the\n"+
			"fraction of users placed elsewhere once a backend is added (+1) or the first\n"+
			"one is marked down (-1). For the director variants this is the placement after\n"+
			"the user table has expired; a running director moves nobody on an added host.",
		stderr)
	users := fs.Int("users", 100000, fmt.Sprintf("number of synthetic users (1..%d)", maxChurnUsers))
	backends := fs.Int("backends", 10, "number of backends before the change (2..250)")
	seed := fs.Uint64("seed", 1, "seed for the synthetic client addresses and random choices")
	epsilon := fs.Float64("epsilon", strategies.DefaultEpsilon, "director-bounded's ε: capacity ⌈(1+ε)·n/k⌉ users per backend")
	names := fs.String("strategies", strings.Join(strategies.Names(), ","), "comma-separated strategies to compare")
	pos, rc := parseInterspersed(fs, args)
	if rc >= 0 {
		return rc
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "mailsim churn: unexpected argument %q\n", pos[0])
		fs.Usage()
		return 2
	}
	if *users < 1 || *users > maxChurnUsers {
		fmt.Fprintf(stderr, "mailsim churn: --users %d is not within 1..%d (every user is placed in memory, about 460 bytes each)\n", *users, maxChurnUsers)
		return 2
	}
	list := strings.Split(*names, ",")
	for _, n := range list {
		if !known(n) {
			fmt.Fprintf(stderr, "mailsim churn: unknown strategy %q (known: %s)\n", n, strings.Join(strategies.Names(), ", "))
			return 2
		}
	}
	var p strategies.Params
	p.Bounded.Epsilon = *epsilon
	if err := p.Validate(); err != nil {
		fmt.Fprintf(stderr, "mailsim churn: %v\n", err)
		return 2
	}
	rows, err := strategies.Churn(list, *users, *backends, *seed, p)
	if err != nil {
		fmt.Fprintf(stderr, "mailsim churn: %v\n", err)
		return 2
	}
	if err := strategies.WriteChurn(stdout, rows); err != nil {
		fmt.Fprintf(stderr, "mailsim churn: %v\n", err)
		return 1
	}
	return 0
}

func known(name string) bool {
	for _, n := range strategies.Names() {
		if n == name {
			return true
		}
	}
	return false
}
