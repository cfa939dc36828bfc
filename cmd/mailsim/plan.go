package main

import (
	"bytes"
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
	"github.com/mailsim/mailsim/results/report"
)

func init() {
	register(command{
		name:    "plan",
		summary: "find the smallest cluster that meets the spec's service objectives, per strategy",
		run:     cmdPlan,
	})
}

func cmdPlan(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("plan", "SPEC.toml | NAME",
		"Searches, for every strategy of the experiment (the spec file SPEC.toml, else\n"+
			"the catalogue's experiment NAME, one marked [plan] by mailsim experiments), the\n"+
			"fewest backends (then nfsd threads, then backend memory) that meet every\n"+
			"objective of its [plan] section with the confidence it asks for, in normal\n"+
			"operation and with one backend down. Runs go to the result set at --out as they\n"+
			"finish, with plan.json, plan.txt and report.html once the search is done;\n"+
			"running the same command again resumes an interrupted plan.",
		stderr)
	out := fs.String("out", "", "result-set `folder` (default out/<experiment name>)")
	workers := fs.Int("workers", 0, "runs executed at once (default: the number of CPUs)")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	shard := fs.String("shard", "", "search only share `i/n` of the strategies (from 0); JOB_COMPLETION_INDEX and SLURM_ARRAY_TASK_ID are read when unset")
	pos, code := parseInterspersed(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "mailsim plan: need one spec, got %d arguments\n", len(pos))
		fs.Usage()
		return 2
	}
	exp, release, code := loadExperiment("plan", pos[0], true, stderr)
	if code >= 0 {
		return code
	}
	defer release()
	sh, err := experiments.ShardFromEnv(*shard, os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "mailsim plan: %v\n", err)
		return 2
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("out", exp.Spec.Name)
	}
	var log io.Writer
	if !*quiet {
		log = stderr
	}
	host, _ := os.Hostname()
	ctx, abandon, releaseInterrupts := experiments.Interrupts(context.Background())
	defer releaseInterrupts()
	started := time.Now()
	plan, w, err := exp.ExecutePlan(ctx, experiments.PlanOptions{
		Out: dir, Workers: *workers, Shard: sh, Log: log, Abandon: abandon,
		Session: results.Session{Host: host, Started: started, Workers: *workers, Note: "mailsim plan " + strings.Join(args, " ")},
	})
	if w != nil {
		if ferr := w.Finalize(time.Now()); ferr != nil && err == nil {
			err = ferr
		}
	}
	if err != nil {
		if errors.Is(err, experiments.ErrInterrupted) {
			fmt.Fprintf(stderr, "mailsim plan: interrupted; finished runs are kept in %s; run the same command again to go on\n", dir)
			return 1
		}
		fmt.Fprintf(stderr, "mailsim plan: %v\n", err)
		return 1
	}
	var txt bytes.Buffer
	if err := plan.WriteText(&txt); err != nil {
		fmt.Fprintf(stderr, "mailsim plan: %v\n", err)
		return 1
	}
	if !sh.Whole() {
		fmt.Fprintf(stdout, "%s\nShard %s of the plan is done in %s; merge the shards' result sets with 'mailsim merge', then run 'mailsim plan' on the merged set to write the whole plan.\n", txt.String(), sh, dir)
		return 0
	}
	if err := writePlanFiles(dir, exp, plan, txt.Bytes()); err != nil {
		fmt.Fprintf(stderr, "mailsim plan: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\nResult set: %s (plan.txt, plan.json, report.html; %.1fs)\n", txt.String(), dir, time.Since(started).Seconds())
	return 0
}

// writePlanFiles stores the plan's outcome, its text and its HTML report
// in the result set.
func writePlanFiles(dir string, exp *experiments.Experiment, plan *results.PlanOutcome, txt []byte) error {
	if err := results.WritePlan(dir, plan); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "plan.txt"), txt, 0o644); err != nil {
		return err
	}
	set, err := results.Read(dir)
	if err != nil {
		return err
	}
	var html bytes.Buffer
	if err := report.WritePlan(&html, set, plan); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.html"), html.Bytes(), 0o644)
}
