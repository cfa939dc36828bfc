package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mailsim/mailsim/experiments"
	"github.com/mailsim/mailsim/results"
)

func init() {
	register(command{
		name:    "run",
		summary: "run an experiment (the embedded default without SPEC) and write a result set",
		run:     cmdRun,
	})
}

func cmdRun(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", "[SPEC.toml]", "Runs every sweep point × strategy × replica of the experiment SPEC (the embedded\ndefault experiment without SPEC), writes the result set to --out, and prints\nthe strategies side by side. Running the same command again resumes an\ninterrupted experiment: only missing runs are done.", stderr)
	out := fs.String("out", "", "result-set folder (default out/<experiment name>)")
	workers := fs.Int("workers", 0, "runs executed at once (default: the number of CPUs)")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	shard := fs.String("shard", "", "run only share i of n (\"i/n\", from 0); JOB_COMPLETION_INDEX and SLURM_ARRAY_TASK_ID are read when unset")
	format := fs.String("format", "text", "table format: text, markdown or csv")
	metrics := fs.String("metrics", "", "comma-separated metrics to show (default: all)")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 1 {
		fmt.Fprintf(stderr, "mailsim run: at most one spec, got %d arguments\n", fs.NArg())
		fs.Usage()
		return 2
	}
	var (
		name  = "default.toml (embedded)"
		given = experiments.DefaultTOML()
	)
	if fs.NArg() == 1 {
		name = fs.Arg(0)
		b, err := experiments.ReadSpecFile(name)
		if err != nil {
			fmt.Fprintf(stderr, "mailsim run: %v\n", err)
			return 1
		}
		given = b
	}
	exp, err := experiments.Load(name, given)
	if err != nil {
		fmt.Fprintf(stderr, "mailsim run: invalid spec:\n%v\n", err)
		return 1
	}
	sh, err := experiments.ShardFromEnv(*shard, os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "mailsim run: %v\n", err)
		return 2
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("out", exp.Spec.Name)
	}
	mode := experiments.ProgressAuto
	if *quiet {
		mode = experiments.ProgressOff
	}
	host, _ := os.Hostname()
	// The first interrupt lets the runs in progress finish and keeps them;
	// nothing new starts. A second one abandons the runs in progress.
	ctx, abandon, release := experiments.Interrupts(context.Background())
	defer release()
	started := time.Now()
	w, sum, err := exp.Execute(ctx, experiments.Options{
		Out: dir, Workers: *workers, Shard: sh, Abandon: abandon,
		Progress: experiments.NewProgress(stderr, mode),
		Session:  results.Session{Host: host, Started: started, Workers: *workers, Note: "mailsim run " + strings.Join(args, " ")},
	})
	if w != nil {
		for _, wn := range w.Warnings() {
			fmt.Fprintf(stderr, "mailsim run: warning: %s\n", wn)
		}
		if ferr := w.Finalize(time.Now()); ferr != nil && err == nil {
			err = ferr
		}
	}
	if err != nil {
		if errors.Is(err, experiments.ErrInterrupted) {
			fmt.Fprintf(stderr, "mailsim run: interrupted; %d runs finished and kept in %s; run the same command again to finish\n", sum.Done, dir)
			return 1
		}
		fmt.Fprintf(stderr, "mailsim run: %v\n", err)
		return 1
	}
	set, err := results.Read(dir)
	if err != nil {
		fmt.Fprintf(stderr, "mailsim run: %v\n", err)
		return 1
	}
	if missing := set.Missing(); len(missing) > 0 {
		fmt.Fprintf(stdout, "Result set %s holds %d of %d runs (this shard's are done); merge the shards with 'mailsim merge'.\n", dir, len(set.Runs), len(set.Manifest.Plan))
		return 0
	}
	var ms []string
	if *metrics != "" {
		ms = strings.Split(*metrics, ",")
	}
	cmp, err := results.Compare(set, results.CompareOptions{Metrics: ms})
	if err != nil {
		fmt.Fprintf(stderr, "mailsim run: %v\n", err)
		return 1
	}
	if err := cmp.Write(stdout, results.Format(*format)); err != nil {
		fmt.Fprintf(stderr, "mailsim run: %v\n", err)
		return 2
	}
	if w := set.SteadyStateWarning(); w != "" {
		fmt.Fprintf(stdout, "\n%s\n", w)
	}
	fmt.Fprintf(stdout, "\nResult set: %s (%d runs in %.1fs)\n", dir, sum.Done, time.Since(started).Seconds())
	return 0
}
