// Command mailsim simulates and benchmarks shared-storage mail clusters:
// IMAP/LMTP backends in front of NFS, and the routing strategies that keep a
// user's sessions on one backend.
//
// Usage:
//
//	mailsim run [SPEC]            run an experiment (the embedded default without SPEC)
//	mailsim compare RESULTSET     strategies side by side, with confidence intervals
//	mailsim report RESULTSET      a self-contained HTML report for a design review
//	mailsim spec defaults|check   print the default spec, or check specs
//	mailsim merge -o DST SHARD... combine the result sets of a sharded sweep
//	mailsim trace -o FILE [SPEC]  write a run's workload as a trace
//	mailsim place, churn          director placement; imbalance and churn per strategy
//	mailsim replay, calibrate     measure Maildir operations on a real mount; check a profile
//	mailsim help [COMMAND]        show help
//
// Every subcommand prints its own flags with -h.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
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
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				return c.run([]string{"-h"}, stdin, stdout, stderr)
			}
			fmt.Fprintf(stderr, "mailsim: unknown command %q\n\n", args[1])
			usage(stderr)
			return 2
		}
		usage(stdout)
		return 0
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "mailsim: unknown command %q\n\n", name)
		usage(stderr)
		return 2
	}
	return c.run(args[1:], stdin, stdout, stderr)
}

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
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "  help       show help for a command")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'mailsim COMMAND -h' for a command's flags.")
}
