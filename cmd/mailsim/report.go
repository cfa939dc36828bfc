package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/results/charts"
	"github.com/mailsim/mailsim/results/report"
)

func init() {
	register(command{
		name:    "report",
		summary: "write a self-contained HTML design-review report of a result set",
		run:     runReport,
	})
}

func runReport(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("report", "RESULTSET",
		"Writes one HTML page with the experiment's question, its spec, the\n"+
			"comparison table, the charts (inline, no external resources) and a\n"+
			"summary that claims a difference only where its 95% interval excludes zero.",
		stderr)
	out := fs.String("o", "report.html", "output file, or - for standard output")
	baseline := fs.String("baseline", "", "strategy to take differences against (default director, else the first strategy)")
	metrics := fs.String("metrics", "", "comma-separated metrics to show, in this order (default all)")
	format := fs.String("charts", "png", "how charts are inlined: png (exact pixels) or svg (smaller)")
	pos, code := parseInterspersed(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	if *format != string(charts.PNG) && *format != string(charts.SVG) {
		fmt.Fprintf(stderr, "mailsim report: unknown chart format %q (want png or svg)\n", *format)
		return 2
	}
	set, err := readSet(pos[0], "report", stderr)
	if err != nil {
		fmt.Fprintf(stderr, "mailsim report: %v\n", err)
		return 1
	}
	var buf bytes.Buffer
	if set.Manifest.Sparse {
		// A capacity plan's set: its report is the plan's.
		plan, err := results.ReadPlan(pos[0])
		if err == nil {
			err = report.WritePlan(&buf, set, plan)
		}
		if err != nil {
			fmt.Fprintf(stderr, "mailsim report: %v\n", err)
			return 1
		}
	} else {
		// A baseline or metric the set does not have is a usage error;
		// anything that goes wrong after is not.
		if _, err := results.Compare(set, results.CompareOptions{Baseline: *baseline, Metrics: splitList(*metrics)}); err != nil {
			fmt.Fprintf(stderr, "mailsim report: %v\n", err)
			return 2
		}
		if err := report.Write(&buf, set, report.Options{Baseline: *baseline, Metrics: splitList(*metrics), ChartFormat: charts.Format(*format)}); err != nil {
			fmt.Fprintf(stderr, "mailsim report: %v\n", err)
			return 1
		}
	}
	if *out == "-" {
		if _, err := stdout.Write(buf.Bytes()); err != nil {
			fmt.Fprintf(stderr, "mailsim report: %v\n", err)
			return 1
		}
		return 0
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		fmt.Fprintf(stderr, "mailsim report: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "mailsim report: wrote %s\n", *out)
	return 0
}
