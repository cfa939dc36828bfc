//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/mailsim/mailsim/experiments"
	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/workloads/testbed"
	"github.com/mailsim/mailsim/workloads/testbed/guest"
)

const testbedSummary = "run experiments on real Dovecot and real Linux NFS in user-mode Linux guests"

func init() {
	register(command{name: "testbed", summary: testbedSummary, run: cmdTestbed})
}

func testbedUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: mailsim testbed COMMAND [flags]

The testbed runs a spec on a real miniature cluster: real Linux kernels
(user-mode Linux) with the kernel NFS server and clients, real Dovecot 2.3
backends, real HAProxy and a real Dovecot director, driven over IMAP and
LMTP by the same workload the simulator runs. It needs root.

Commands:
  build [--dir DIR]                     build the guest from Debian packages (once)
  run [--dir DIR] [--out SET] SPEC      run SPEC (a spec file or a catalogue name) on the testbed
                                        and write a result set
  probe [--dir DIR] [--out FILE]        measure the kernel NFS client's attribute cache
  record --out NEWSET SET               derive a testbed set's records again from its raw files

Examples:
  sudo mailsim testbed build
  sudo mailsim testbed run testbed-small
  mailsim compare out/testbed-small out/testbed-small-testbed

Every command prints its usage, flags and examples with -h ('mailsim help testbed run').
`)
}

func cmdTestbed(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		testbedUsage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		testbedUsage(stdout)
		return 0
	case "build":
		return testbedBuild(args[1:], stdout, stderr)
	case "run":
		return testbedRun(args[1:], stdout, stderr)
	case "probe":
		return testbedProbe(args[1:], stdout, stderr)
	case "record":
		return testbedRecord(args[1:], stdout, stderr)
	case "guest":
		// PID 1 inside a guest; not for users.
		return guest.Main()
	}
	fmt.Fprintf(stderr, "mailsim testbed: unknown command %q\n\n", args[0])
	testbedUsage(stderr)
	return 2
}

// guestDirFlag adds --dir with the default guest folder.
func guestDirFlag(fsDir *string, def string) string {
	if *fsDir != "" {
		return *fsDir
	}
	return def
}

func defaultGuestDir() string {
	d, err := testbed.DefaultDir()
	if err != nil {
		return filepath.Join(".cache", "mailsim", "testbed")
	}
	return d
}

// testbedContext is cancelled by the first Ctrl-C or SIGTERM: a guest in
// progress is stopped at once and finished runs are kept.
func testbedContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func testbedBuild(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("testbed build", "", "Builds the testbed's guest into --dir: the user-mode Linux kernel and its modules\n(Debian's user-mode-linux), and a minimal Debian "+testbed.Suite+" root file system with\n"+strings.Join(testbed.GuestPackages, ", ")+".\nInstalls the host packages it needs ("+strings.Join(testbed.HostPackages, ", ")+") with apt-get\nwhen they are missing. Building again with the same recipe does nothing.", stderr)
	dir := fs.String("dir", "", "`folder` of the built guest (default "+defaultGuestDir()+")")
	pos, code := parseInterspersed(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "mailsim testbed build: unexpected argument %q\n", pos[0])
		fs.Usage()
		return 2
	}
	ctx, cancel := testbedContext()
	defer cancel()
	m, err := testbed.Build(ctx, guestDirFlag(dir, defaultGuestDir()), stderr)
	if err != nil {
		fmt.Fprintf(stderr, "mailsim testbed build: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "guest %s: %s, user-mode-linux %s\n", m.Recipe, m.Suite, m.KernelVersion)
	for _, p := range m.Packages {
		fmt.Fprintf(stdout, "  %s\n", p)
	}
	return 0
}

func testbedRun(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("testbed run", "SPEC.toml | NAME", `Runs every run of the experiment (the spec file SPEC.toml, else the
catalogue's experiment NAME) on the testbed, one after another, and
writes a result set that 'mailsim compare' and 'mailsim report' read like a
simulated one. The spec means what it says: nfs.client.* become the real
mount options, dovecot.* the backends' real settings, the strategy routes
for real (random and per-ip through HAProxy, the director through Dovecot's
director, owner-proxy through Dovecot proxies with the owner in the passdb),
[[faults]] kill or stop the backends' processes, and [[actions]] reach the
real director (doveadm director up, down, flush, flush -F, remove, add) or
stop and start a backend's Dovecot. A [workload.imaptest] load runs
imaptest's closed loop of clients over real IMAP in place of the trace, and
beside a director its user table is sampled every interval. What the
testbed cannot honour (too many users, a daily cycle, NFS slowdowns) is
refused, naming the key. Dovecot's logs, the kernel's console and each guest's
configuration stay in SET/testbed/RUN-ID/. Ctrl-C stops the guest in
progress and keeps finished runs; the same command resumes.`, stderr)
	dir := fs.String("dir", "", "`folder` of the built guest (default "+defaultGuestDir()+")")
	out := fs.String("out", "", "result-set `folder` (default out/<experiment name>-testbed)")
	topology := fs.String("topology", testbed.OneKernel, "guest topology: "+strings.Join(testbed.Topologies, ", ")+
		" ("+testbed.OneKernel+": one kernel runs the NFS server, every backend and the load; "+
		testbed.Hosts+": every backend, the NFS server and the entry point with the load in kernels of their own, on a private network)")
	format := fs.String("format", "text", "table format: "+strings.Join(tableFormats, ", "))
	pos, code := parseInterspersed(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "mailsim testbed run: need exactly one spec")
		fs.Usage()
		return 2
	}
	if !slices.Contains(tableFormats, *format) {
		fmt.Fprintf(stderr, "mailsim testbed run: unknown format %q (want %s)\n", *format, strings.Join(tableFormats, ", "))
		return 2
	}
	known := false
	for _, t := range testbed.Topologies {
		known = known || t == *topology
	}
	if !known {
		fmt.Fprintf(stderr, "mailsim testbed run: --topology %q is not one of %s\n", *topology, strings.Join(testbed.Topologies, ", "))
		return 2
	}
	exp, release, code := loadExperiment("testbed run", pos[0], false, stderr)
	if code >= 0 {
		return code
	}
	defer release()
	if miss := testbed.Missing(*topology == testbed.Hosts); len(miss) > 0 {
		fmt.Fprintf(stderr, "mailsim testbed run: cannot run here; missing: %s\n", strings.Join(miss, "; "))
		return 1
	}
	setDir := *out
	if setDir == "" {
		setDir = filepath.Join("out", exp.Spec.Name+"-testbed")
	}
	ctx, cancel := testbedContext()
	defer cancel()
	host, _ := os.Hostname()
	started := time.Now()
	w, err := exp.ExecuteTestbed(ctx, experiments.TestbedOptions{
		Out: setDir, Guest: guestDirFlag(dir, defaultGuestDir()), Topology: *topology, Log: stderr,
		Session: results.Session{Host: host, Started: started.UTC(), Workers: 1},
	})
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "mailsim testbed run: interrupted; finished runs are kept in %s and the same command resumes\n", setDir)
			return 130
		}
		fmt.Fprintf(stderr, "mailsim testbed run: %v\n", err)
		return 1
	}
	set, err := results.Read(w.Dir())
	if err != nil {
		fmt.Fprintf(stderr, "mailsim testbed run: %v\n", err)
		return 1
	}
	cmp, err := results.Compare(set, results.CompareOptions{})
	if err != nil {
		fmt.Fprintf(stderr, "mailsim testbed run: %v\n", err)
		return 1
	}
	if err := cmp.Write(stdout, results.Format(*format)); err != nil {
		fmt.Fprintf(stderr, "mailsim testbed run: %v\n", err)
		return 2
	}
	fmt.Fprintf(stderr, "wrote %s in %.0f s\n", setDir, time.Since(started).Seconds())
	return 0
}

func testbedProbe(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("testbed probe", "", "Measures, on the guest's real NFS server and client, how long a second client\nsees a file's old attributes after another client changed it, how long a new\nname stays invisible, and what revalidates (open, fcntl locks, noac), and\nwrites the measurements as JSON to --out.", stderr)
	dir := fs.String("dir", "", "`folder` of the built guest (default "+defaultGuestDir()+")")
	out := fs.String("out", "kernel-attrcache.json", "`file` to write the measurements to")
	work := fs.String("work", "out/testbed-probe", "`folder` for the guest's files")
	cases := fs.String("cases", "", "comma-separated probe cases (default: all)")
	pos, code := parseInterspersed(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "mailsim testbed probe: unexpected argument %q\n", pos[0])
		fs.Usage()
		return 2
	}
	ctx, cancel := testbedContext()
	defer cancel()
	var names []string
	if *cases != "" {
		names = strings.Split(*cases, ",")
	}
	b, err := testbed.Probe(ctx, testbed.Options{Guest: guestDirFlag(dir, defaultGuestDir()), Work: *work, Log: stderr}, names)
	if err != nil {
		fmt.Fprintf(stderr, "mailsim testbed probe: %v\n", err)
		return 1
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		fmt.Fprintf(stderr, "mailsim testbed probe: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return 0
}

func testbedRecord(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("testbed record", "--out NEWSET SET", "Derives the records of the testbed set SET again from the raw files its runs\nleft in SET/testbed/RUN-ID/ (what the guests reported, Dovecot's logs), with\nthis mailsim's log classes and metrics, and writes them with those files as\na new set NEWSET. SET is only read. Needs no guest and no root.", stderr)
	out := fs.String("out", "", "the new set's `folder` (must not exist)")
	fs.alias("o", "out")
	pos, code := parseInterspersed(fs, args)
	if code >= 0 {
		return code
	}
	if *out == "" || len(pos) != 1 {
		fmt.Fprintln(stderr, "mailsim testbed record: need --out NEWSET and one SET")
		fs.Usage()
		return 2
	}
	host, _ := os.Hostname()
	w, err := experiments.RecordTestbed(pos[0], *out, results.Session{Host: host, Started: time.Now().UTC(), Workers: 1, Note: "mailsim testbed record"})
	if err != nil {
		fmt.Fprintf(stderr, "mailsim testbed record: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s (%d runs)\n", w.Dir(), len(w.Done()))
	return 0
}
