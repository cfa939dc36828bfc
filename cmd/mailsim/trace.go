package main

import (
	"fmt"
	"io"
	"os"
)

func init() {
	register(command{
		name:    "trace",
		summary: "write the workload of an experiment's first run as a trace",
		run:     cmdTrace,
	})
}

func cmdTrace(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("trace", "--out FILE [SPEC.toml | NAME]",
		"Runs the first run of an experiment (the spec file SPEC.toml, else the\n"+
			"catalogue's experiment NAME, else the embedded default) with --strategy and\n"+
			"writes its workload, one operation per line, to FILE, after the run seed and\n"+
			"population keys it was recorded for and before a trailer that counts the lines\n"+
			"and checksums them. A spec with [workload] trace = FILE replays it if its seed\n"+
			"and population keys match: under the same strategy and faults it gives the\n"+
			"same run; under others, the same users do the same things.",
		stderr)
	out := fs.String("out", "", "trace `file` to write")
	fs.alias("o", "out")
	strategy := fs.String("strategy", "", "strategy of the run (default: the spec's first)")
	pos, code := parseInterspersed(fs, args)
	if code >= 0 {
		return code
	}
	if *out == "" || len(pos) > 1 {
		fmt.Fprintln(stderr, "mailsim trace: need --out FILE and at most one spec")
		fs.Usage()
		return 2
	}
	exp, release, code := loadExperiment("trace", firstArg(pos), false, stderr)
	if code >= 0 {
		return code
	}
	defer release()
	run := exp.Runs[0]
	if *strategy != "" {
		run.Strategy = *strategy
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintf(stderr, "mailsim trace: %v\n", err)
		return 1
	}
	res, err := run.Spec.WriteTrace(run.Strategy, run.Seed, exp.Dir, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(stderr, "mailsim trace: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote the workload of run %s (%s, seed %d, %d commands) to %s\n", run.ID, run.Strategy, run.Seed, res.Commands, *out)
	return 0
}
