package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mailsim/mailsim/nfsmodel"
)

const calibrateSummary = "check a calibration profile against its own measurements"

func init() {
	register(command{name: "calibrate", summary: calibrateSummary, run: runCalibrate})
}

func runCalibrate(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("calibrate check", "PROFILE", `Predicts every measurement stored in PROFILE (written by mailsim replay)
with the profile's fitted costs, prints predicted against measured, and
fails unless every operation agrees within --tolerance. It then says whether the
profile can calibrate a simulation (nfs.profile in a spec): that needs a warm
cost for each operation the simulator takes service times from, and a spec
whose profile lacks one is refused rather than run with the model's default
for it.`, stderr)
	tol := fs.Float64("tolerance", 0.25, "largest allowed |predicted − measured| / measured")
	pos, code := parseInterspersed(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) == 0 || pos[0] != "check" {
		if len(pos) > 0 {
			fmt.Fprintf(stderr, "mailsim calibrate: unknown subcommand %q\n\n", pos[0])
		}
		fs.Usage()
		return 2
	}
	if len(pos) != 2 {
		fs.Usage()
		return 2
	}
	profile := pos[1]
	p, err := nfsmodel.LoadProfile(profile)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	checks := p.Check(*tol)
	if len(checks) == 0 {
		fmt.Fprintf(stderr, "mailsim calibrate: %s holds no measurements to check\n", profile)
		return 1
	}
	fmt.Fprintf(stdout, "profile: %s, %s, mail_fsync=%s, mailsim %s\n", p.Meta.FSType, p.Meta.Machine, p.Meta.MailFsync, p.Meta.MailsimVersion)
	fmt.Fprintf(stdout, "measured: trimmed mean (without the fastest and slowest tenth of the timings, or quarter\nof fewer than 20), which the costs are fitted to\n\n")
	tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\tcache\tentries\tbytes\tcount\tmeasured\tpredicted\terror\tp50\tmean\t")
	failed := 0
	for _, c := range checks {
		for _, r := range c.Rows {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%d\t%v\t%v\t%+.1f%%\t%v\t%v\t\n", c.Op, c.Cache, r.Entries, r.Bytes, r.Count,
				roundDur(r.TrimmedNs), roundDur(r.PredictedNs), 100*r.RelErr, roundDur(r.P50Ns), roundDur(r.MeanNs))
		}
	}
	tw.Flush()
	fmt.Fprintln(stdout)
	for _, c := range checks {
		verdict := "ok"
		if !c.OK {
			verdict = "FAIL"
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\tworst %.1f%%\t%s\t\n", c.Op, c.Cache, 100*c.MaxAbsRelErr, verdict)
	}
	tw.Flush()
	if miss := p.Missing(); len(miss) > 0 {
		fmt.Fprintf(stdout, "\nnot usable as nfs.profile: no warm cost for %s (of %s); a spec naming it is refused,\nnot run with the model's defaults for them\n",
			strings.Join(miss, ", "), strings.Join(nfsmodel.CalibrationOps, ", "))
	} else {
		fmt.Fprintf(stdout, "\nusable as nfs.profile: warm costs for all %d operations the simulator uses\n", len(nfsmodel.CalibrationOps))
	}
	if failed > 0 {
		fmt.Fprintf(stdout, "\n%d of %d operations disagree by more than %.0f%%\n", failed, len(checks), 100**tol)
		return 1
	}
	fmt.Fprintf(stdout, "\nall %d operations within %.0f%%\n", len(checks), 100**tol)
	return 0
}

// roundDur rounds nanoseconds to three significant digits for printing.
func roundDur(ns float64) time.Duration {
	d := time.Duration(ns)
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case d >= time.Microsecond:
		return d.Round(10 * time.Nanosecond)
	}
	return d
}
