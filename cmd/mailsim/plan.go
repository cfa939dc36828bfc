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
			"running the same command again resumes an interrupted plan.\n\n"+
			"The search steers with screens (one run of normal operation each) and rests\n"+
			"its answer on full probes: the chosen configuration passes with every replica\n"+
			"and scenario, and the one step below it on each axis fails; plan.json lists\n"+
			"both (probes, screens). --full-probes judges every probe in full.\n\n"+
			"Across machines, --shard i/n splits the plan n ways. By default each shard\n"+
			"searches its share of the strategies into its own --out; merge the shards' sets\n"+
			"with 'mailsim merge', then run 'mailsim plan' on the merged set. With\n"+
			"--split runs, every shard makes the whole search and performs its share of\n"+
			"the runs: all shards must run at once with the same --out on storage they\n"+
			"all mount (a Kubernetes ReadWriteMany volume, a Slurm cluster's shared file\n"+
			"system); shard i keeps its runs in OUT/shard-i-of-n, reads the others' from\n"+
			"there as they appear (waiting at most --wait for each), and writes the whole\n"+
			"plan into its folder. Running a shard again reuses what it finished. For\n"+
			"example, on each of four machines (i = 0 to 3), or as a Slurm array or a\n"+
			"Kubernetes Indexed Job with 4 completions:\n\n"+
			"  mailsim plan --split runs --shard i/4 --out /shared/isp isp-1m-plan\n"+
			"  sbatch --array=0-3 --wrap 'mailsim plan --split runs --out /shared/isp isp-1m-plan'\n"+
			"  mailsim plan --split runs --shard /4 --out /shared/isp isp-1m-plan",
		stderr)
	out := fs.String("out", "", "result-set `folder` (default out/<experiment name>)")
	workers := fs.Int("workers", 0, "runs executed at once (default: the number of CPUs)")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	shard := fs.String("shard", "", "run only share `i/n` of the plan (from 0): of the strategies, or of the runs with --split runs; JOB_COMPLETION_INDEX and SLURM_ARRAY_TASK_ID are read when unset, and \"/n\" takes the index from them")
	split := fs.String("split", "strategies", "what the shards split: `strategies` (each shard its own --out, merged afterwards) or runs (all shards at once, one shared --out)")
	wait := fs.Duration("wait", experiments.DefaultPlanWait, "with --split runs, how long a shard waits for a run another shard performs before giving up")
	fullProbes := fs.Bool("full-probes", false, "judge every probe by the full rule, without screens (the same answer, more runs)")
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
	if *split != "strategies" && *split != "runs" {
		fmt.Fprintf(stderr, "mailsim plan: --split %q: want strategies or runs\n", *split)
		return 2
	}
	if *wait <= 0 {
		fmt.Fprintf(stderr, "mailsim plan: --wait %v: want a positive duration, such as 30m\n", *wait)
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
	opts := experiments.PlanOptions{
		Out: dir, Workers: *workers, Shard: sh, ShareRuns: *split == "runs", Wait: *wait, FullProbes: *fullProbes,
		Log: log, Abandon: abandon,
		Session: results.Session{Host: host, Started: started, Workers: *workers, Shard: shardNote(sh), Note: "mailsim plan " + strings.Join(args, " ")},
	}
	setDir := opts.SetDir()
	plan, w, err := exp.ExecutePlan(ctx, opts)
	if w != nil {
		if ferr := w.Finalize(time.Now()); ferr != nil && err == nil {
			err = ferr
		}
	}
	if err != nil {
		if errors.Is(err, experiments.ErrInterrupted) {
			fmt.Fprintf(stderr, "mailsim plan: interrupted; finished runs are kept in %s; run the same command again to go on\n", setDir)
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
	if !sh.Whole() && !opts.ShareRuns {
		fmt.Fprintf(stdout, "%s\nShard %s of the plan is done in %s; merge the shards' result sets with 'mailsim merge', then run 'mailsim plan' on the merged set to write the whole plan.\n", txt.String(), sh, dir)
		return 0
	}
	if err := writePlanFiles(setDir, exp, plan, txt.Bytes()); err != nil {
		fmt.Fprintf(stderr, "mailsim plan: %v\n", err)
		return 1
	}
	if !sh.Whole() {
		fmt.Fprintf(stdout, "%s\nShard %s is done; the whole plan is in %s (plan.txt, plan.json, report.html; %.1fs), as in every other shard's folder.\n", txt.String(), sh, setDir, time.Since(started).Seconds())
		return 0
	}
	fmt.Fprintf(stdout, "%s\nResult set: %s (plan.txt, plan.json, report.html; %.1fs)\n", txt.String(), dir, time.Since(started).Seconds())
	return 0
}

// shardNote is the shard a session ran, for the set's provenance; "" for
// the whole plan.
func shardNote(sh experiments.ShardSpec) string {
	if sh.Whole() {
		return ""
	}
	return sh.String()
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
