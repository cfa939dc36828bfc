package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/results/charts"
	"github.com/mailsim/mailsim/results/report"
)

func init() {
	register(command{
		name:    "report",
		summary: "write a self-contained HTML design-review report of a result set, with its charts as SVG and PNG files",
		run:     runReport,
	})
}

// reportFile is the report's name inside a result set, where run and
// plan write it and where report writes it by default.
const reportFile = "report.html"

// chartDirFor returns the folder of a report's chart files: beside the
// report, named after it ("report.html" → "report-charts").
func chartDirFor(html string) string {
	return strings.TrimSuffix(html, filepath.Ext(html)) + "-charts"
}

func runReport(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("report", "RESULTSET",
		"Writes one HTML page that answers the experiment's question first: the\n"+
			"answer in words with its deciding numbers, the charts that carry it, a\n"+
			"compact table with relative differences and intervals, the keys that drive\n"+
			"the result, and everything else in a collapsed appendix. It has no external\n"+
			"resources and prints to A4 and Letter. Every chart is also written as SVG\n"+
			"and PNG beside the page (REPORT-charts/), for slides.",
		stderr)
	out := fs.String("out", "", "output file, or - for standard output (default RESULTSET/"+reportFile+")")
	fs.alias("o", "out")
	baseline := fs.String("baseline", "", "strategy to take differences against (default director, else the first strategy)")
	metrics := fs.String("metrics", "", "comma-separated metrics to show, in this order (default all)")
	format := fs.String("charts", "png", "how charts are inlined: png (exact pixels) or svg (smaller)")
	files := fs.Bool("chart-files", true, "also write every chart as SVG and PNG files beside the report")
	pos, code := parseInterspersed(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "mailsim report: need one result set, got %d arguments\n", len(pos))
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
	path := *out
	if path == "" {
		path = filepath.Join(pos[0], reportFile)
	}
	chartDir := ""
	if *files && path != "-" {
		chartDir = chartDirFor(path)
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
		o := report.Options{Baseline: *baseline, Metrics: splitList(*metrics), ChartFormat: charts.Format(*format), ChartDir: chartDir}
		if err := report.Write(&buf, set, o); err != nil {
			fmt.Fprintf(stderr, "mailsim report: %v\n", err)
			return 1
		}
	}
	if path == "-" {
		if _, err := stdout.Write(buf.Bytes()); err != nil {
			fmt.Fprintf(stderr, "mailsim report: %v\n", err)
			return 1
		}
		return 0
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		fmt.Fprintf(stderr, "mailsim report: %v\n", err)
		return 1
	}
	if chartDir != "" && !set.Manifest.Sparse {
		fmt.Fprintf(stdout, "Report: %s (charts as SVG and PNG in %s)\n", path, chartDir)
	} else {
		fmt.Fprintf(stdout, "Report: %s\n", path)
	}
	return 0
}

// writeSetReport writes the report of the finished set in dir into it,
// as report.html with its charts in report-charts/, and returns the
// report's path.
func writeSetReport(dir string, set *results.Set) (string, error) {
	path := filepath.Join(dir, reportFile)
	var buf bytes.Buffer
	if err := report.Write(&buf, set, report.Options{ChartDir: chartDirFor(path)}); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, buf.Bytes(), 0o644)
}
