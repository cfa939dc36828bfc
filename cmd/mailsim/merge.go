package main

import (
	"fmt"
	"io"

	"github.com/mailsim/mailsim/results"
)

func init() {
	register(command{
		name:    "merge",
		summary: "combine the result sets of an experiment's shards into one",
		run:     cmdMerge,
	})
}

func cmdMerge(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("merge", "--out DST SHARD...",
		"Combines the result sets written by 'mailsim run --shard i/n' into one set in DST.\n"+
			"It fails, naming the runs, when a planned run is missing from every shard\n"+
			"or present in two, and when the shards come from different specs or builds;\n"+
			"the merged set is byte-identical to one written on a single machine\n"+
			"(provenance.json aside). An interrupted merge is finished by running it again.",
		stderr)
	out := fs.String("out", "", "`folder` of the merged result set (must not exist, or hold an interrupted merge)")
	fs.alias("o", "out")
	shards, code := parseInterspersed(fs, args)
	if code >= 0 {
		return code
	}
	if *out == "" || len(shards) == 0 {
		fmt.Fprintln(stderr, "mailsim merge: need --out DST and at least one shard")
		fs.Usage()
		return 2
	}
	warn := func(w string) { fmt.Fprintf(stderr, "mailsim merge: warning: %s\n", w) }
	if err := results.MergeWarn(*out, warn, shards...); err != nil {
		fmt.Fprintf(stderr, "mailsim merge: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "merged %d shards into %s\n", len(shards), *out)
	return 0
}
