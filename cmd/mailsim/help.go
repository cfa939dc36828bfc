package main

import (
	"fmt"
	"io"
	"sort"
)

func init() {
	register(command{
		name:    "help",
		summary: "show the commands, or a command's usage, flags and examples",
		run:     runHelp,
	})
}

// examples are the example command lines each command's help shows,
// by the command's name as its flag set has it.
var examples = map[string][]string{
	"run": {
		"mailsim run                                   # the default experiment, into out/default",
		"mailsim run backend-count --out out/bc        # a catalogue experiment (see mailsim experiments)",
		"mailsim run my-spec.toml --out out/mine --format markdown",
		"mailsim run backend-count --shard 0/4         # one of four machines' share; then mailsim merge",
	},
	"plan": {
		"mailsim plan isp-1m-plan --out out/isp-1m-plan",
		"mailsim plan my-plan.toml --workers 8",
	},
	"compare": {
		"mailsim compare out/default",
		"mailsim compare out/default --format markdown --metrics imap.latency.p99,stale_reads",
		"mailsim compare out/testbed-small out/testbed-small-testbed   # simulated beside testbed",
	},
	"report": {
		"mailsim report out/default --out default.html",
		"mailsim report out/default --out - --charts svg > report.html",
	},
	"experiments": {
		"mailsim experiments                  # list the catalogue",
		"mailsim experiments backend-count    # print its spec, to copy and edit",
		"mailsim run backend-count            # run it",
	},
	"spec": {
		"mailsim spec defaults > my-spec.toml",
		"mailsim spec check my-spec.toml",
		"mailsim experiments backend-count | mailsim spec check -",
	},
	"merge": {
		"mailsim merge --out out/backend-count out/bc-0 out/bc-1 out/bc-2 out/bc-3",
	},
	"trace": {
		"mailsim trace --out default.trace",
		"mailsim trace my-spec.toml --out w.trace --strategy director",
	},
	"place": {
		"printf 'alice\\nbob\\n' | mailsim place --backends 10.0.0.1,10.0.0.2,10.0.0.3",
		"mailsim place --strategy owner-proxy --backends 10.0.0.1,10.0.0.2 --down 10.0.0.1 --failover standby < users.txt",
	},
	"churn": {
		"mailsim churn",
		"mailsim churn --users 1000000 --backends 20 --strategies director,director-maglev",
	},
	"replay": {
		"mailsim replay --dir /mnt/mail-nfs/tmp --out .",
		"mailsim replay --dir /srv/scratch --messages 1000,10000,100000 --drop-caches   # as root, on a test machine",
		"mailsim replay --clean /mnt/mail-nfs/tmp",
	},
	"calibrate check": {
		"mailsim calibrate check replay-profile.toml",
		"mailsim calibrate check replay-profile.toml --tolerance 0.1",
	},
	"testbed build": {
		"sudo mailsim testbed build",
	},
	"testbed run": {
		"sudo mailsim testbed run testbed-small --topology hosts",
		"sudo mailsim testbed run experiments/testbed-small.toml --out out/small-testbed",
	},
	"testbed probe": {
		"sudo mailsim testbed probe --out kernel-attrcache.json",
	},
	"testbed record": {
		"mailsim testbed record --out out/small-testbed-again out/testbed-small-testbed",
	},
	"version": {
		"mailsim version",
		"mailsim --version",
	},
	"help": {
		"mailsim help",
		"mailsim help run",
		"mailsim help testbed run",
	},
}

func runHelp(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("help", "[COMMAND [SUBCOMMAND]]",
		"Shows the list of commands, or a command's usage, what it does, examples\n"+
			"and flags (the same as 'mailsim COMMAND -h').",
		stderr)
	pos, code := parseInterspersed(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) == 0 {
		usage(stdout)
		return 0
	}
	c, ok := commands[pos[0]]
	if !ok {
		fmt.Fprintf(stderr, "mailsim help: unknown command %q\n\n", pos[0])
		usage(stderr)
		return 2
	}
	// "help testbed run" is "testbed run -h".
	return c.run(append(pos[1:], "-h"), stdin, stdout, stderr)
}

// usage writes mailsim's help: what it is, and its commands.
func usage(w io.Writer) {
	fmt.Fprintln(w, "mailsim simulates shared-storage mail clusters and compares routing strategies.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: mailsim COMMAND [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Flags may come before or after a command's arguments; -- ends them.")
	fmt.Fprintln(w, "Run 'mailsim help COMMAND' or 'mailsim COMMAND -h' for its flags and examples,")
	fmt.Fprintln(w, "'mailsim experiments' for the experiments built in, 'mailsim --version' for the build.")
}
