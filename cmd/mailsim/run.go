package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mailsim/mailsim/experiments"
	"github.com/mailsim/mailsim/results"
)

func init() {
	register(command{
		name:    "run",
		summary: "run an experiment (a spec file, a catalogue entry or the default) and write a result set",
		run:     cmdRun,
	})
}

func cmdRun(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", "[SPEC.toml | NAME]",
		"Runs every sweep point × strategy × replica of an experiment, writes the result\n"+
			"set to --out, and prints the strategies side by side. The experiment is the\n"+
			"spec file SPEC.toml; else, when no file has that path, the experiment NAME of\n"+
			"the catalogue built in (see mailsim experiments); without either, the\n"+
			"embedded default experiment. Running the same command again resumes an\n"+
			"interrupted experiment: only missing runs are done.",
		stderr)
	out := fs.String("out", "", "result-set `folder` (default out/<experiment name>)")
	workers := fs.Int("workers", 0, "runs executed at once (default: the number of CPUs)")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	shard := fs.String("shard", "", "run only share `i/n` (from 0); JOB_COMPLETION_INDEX and SLURM_ARRAY_TASK_ID are read when unset")
	format := fs.String("format", "text", "table format: "+strings.Join(tableFormats, ", "))
	metrics := fs.String("metrics", "", "comma-separated metrics to show (default: all)")
	pos, code := parseInterspersed(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 1 {
		fmt.Fprintf(stderr, "mailsim run: at most one spec, got %d arguments\n", len(pos))
		fs.Usage()
		return 2
	}
	if !slices.Contains(tableFormats, *format) {
		fmt.Fprintf(stderr, "mailsim run: unknown format %q (want %s)\n", *format, strings.Join(tableFormats, ", "))
		return 2
	}
	exp, release, code := loadExperiment("run", firstArg(pos), false, stderr)
	if code >= 0 {
		return code
	}
	defer release()
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
	ctx, abandon, releaseInterrupts := experiments.Interrupts(context.Background())
	defer releaseInterrupts()
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
	cmp, err := results.Compare(set, results.CompareOptions{Metrics: splitList(*metrics)})
	if err != nil {
		fmt.Fprintf(stderr, "mailsim run: %v\n", err)
		return 1
	}
	if err := cmp.Write(stdout, results.Format(*format)); err != nil {
		fmt.Fprintf(stderr, "mailsim run: %v\n", err)
		return 2
	}
	return runFinished(stdout, stderr, finishedRun{Dir: dir, Set: set, Runs: sum.Done, Took: time.Since(started), Format: *format})
}

// finishedRun is a run command whose result set is complete and whose
// table is printed.
type finishedRun struct {
	Dir    string
	Set    *results.Set
	Runs   int           // runs done by this command (not resumed)
	Took   time.Duration // how long this command took
	Format string        // the table's format
}

// runFinished says what follows a complete result set's table: whether
// the runs reached steady state, and where the set is; it writes the
// set's report (report.html, with its charts as files) and names the
// next steps. After a table for scripts (csv, json) these notes go to
// stderr, so that stdout holds the table alone. It returns the exit code.
func runFinished(stdout, stderr io.Writer, r finishedRun) int {
	notes := stdout
	if r.Format == string(results.CSV) || r.Format == string(results.JSON) {
		notes = stderr
	}
	if w := r.Set.SteadyStateWarning(); w != "" {
		fmt.Fprintf(notes, "\n%s\n", w)
	}
	fmt.Fprintf(notes, "\nResult set: %s (%d runs in %.1fs)\n", r.Dir, r.Runs, r.Took.Seconds())
	path, err := writeSetReport(r.Dir, r.Set)
	if err != nil {
		fmt.Fprintf(stderr, "mailsim run: the report: %v\n", err)
		return 1
	}
	fmt.Fprintf(notes, "Report:     %s (its charts as SVG and PNG in %s/)\n", path, filepath.Base(chartDirFor(path)))
	fmt.Fprintf(notes, "Next:       open the report in a browser; for a table to paste: mailsim compare %s --format markdown\n", r.Dir)
	return 0
}

// tableFormats are the formats of the strategies' table (results.Format).
var tableFormats = []string{"text", "markdown", "csv", "json"}

// firstArg returns the first positional argument, or "".
func firstArg(pos []string) string {
	if len(pos) == 0 {
		return ""
	}
	return pos[0]
}
