package main

import (
	"fmt"
	"io"
	"os"

	"github.com/mailsim/mailsim/experiments"
)

func init() {
	register(command{
		name:    "trace",
		summary: "write the workload of an experiment's first run as a trace",
		run:     cmdTrace,
	})
}

func cmdTrace(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("trace", "-o FILE [SPEC.toml]", "Runs the first run of the experiment SPEC (the embedded default without SPEC) with\n--strategy and writes its workload, one operation per line, to FILE, after the\nrun seed and population keys it was recorded for and before a trailer that\ncounts the lines and checksums them. A spec with [workload] trace = FILE replays\nit if its seed and population keys match: under the same strategy and faults it\ngives the same run; under others, the same users do the same things.", stderr)
	out := fs.String("o", "", "trace file to write")
	strategy := fs.String("strategy", "", "strategy of the run (default: the spec's first)")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if *out == "" || fs.NArg() > 1 {
		fmt.Fprintln(stderr, "mailsim trace: need -o FILE and at most one spec")
		fs.Usage()
		return 2
	}
	name, given := "default.toml (embedded)", experiments.DefaultTOML()
	if fs.NArg() == 1 {
		name = fs.Arg(0)
		b, err := experiments.ReadSpecFile(name)
		if err != nil {
			fmt.Fprintf(stderr, "mailsim trace: %v\n", err)
			return 1
		}
		given = b
	}
	exp, err := experiments.Load(name, given)
	if err != nil {
		fmt.Fprintf(stderr, "mailsim trace: invalid spec:\n%v\n", err)
		return 1
	}
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
