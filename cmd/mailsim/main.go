// Command mailsim simulates and benchmarks shared-storage mail clusters:
// IMAP/LMTP backends in front of NFS, and the routing strategies that keep a
// user's sessions on one backend.
//
// Usage:
//
//	mailsim run [SPEC | NAME]        run an experiment: a spec file, a catalogue entry, or the default
//	mailsim experiments [NAME]       list the experiments built in, or print one's spec
//	mailsim compare RESULTSET...     strategies side by side, with confidence intervals
//	mailsim report RESULTSET         a self-contained HTML report for a design review
//	mailsim plan SPEC | NAME         the smallest cluster that meets a spec's objectives
//	mailsim spec defaults|check      print the default spec, or check specs
//	mailsim merge --out DST SHARD... combine the result sets of a sharded sweep
//	mailsim trace --out FILE [SPEC]  write a run's workload as a trace
//	mailsim place, churn             director placement; imbalance and churn per strategy
//	mailsim replay, calibrate        measure Maildir operations on a real mount; check a profile
//	mailsim testbed                  run experiments on real Dovecot and real Linux NFS
//	mailsim version                  the build: module version, revision, Go toolchain
//	mailsim help [COMMAND]           show help
//
// Flags may come before or after a command's arguments, and "--" ends
// them. Every command prints its usage, flags and examples with -h.
package main

import (
	"fmt"
	"io"
	"os"
)

// command is one mailsim subcommand. Each lives in its own file and adds
// itself to the table in an init function.
type command struct {
	name    string
	summary string
	// run executes the command with the arguments after its name and
	// returns the process exit code: 0 success, 1 failure, 2 usage error.
	run func(args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

var commands = map[string]command{}

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("mailsim: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

func main() {
	os.Exit(mainWith(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// mainWith is main with its inputs and outputs made explicit, for tests.
func mainWith(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "mailsim: unknown command %q\n\n", name)
		usage(stderr)
		return 2
	}
	defer withHelpOutput(stderr, stdout)()
	return c.run(args[1:], stdin, stdout, stderr)
}
