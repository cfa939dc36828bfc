package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/mailsim/mailsim/experiments"
)

func init() {
	register(command{
		name:    "spec",
		summary: "print the default experiment spec, or check spec files",
		run:     runSpec,
	})
}

const specHelp = `mailsim spec defaults
    prints the default experiment spec as TOML, every key with a comment
    giving its meaning, default, range or valid values; edit a copy of it to
    write an experiment (or start from one of the catalogue's: mailsim
    experiments NAME).
mailsim spec check FILE...
    checks spec files ("-" reads standard input) and prints every problem,
    one per line, as file:line:col: message (key a.b.c); exits 1 if any
    file is invalid. A spec whose run cannot fit in this machine's memory
    (MemTotal, or the control group's limit; MAILSIM_MEMORY=BYTES replaces
    it) is invalid too.`

func runSpec(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("spec", "defaults | check FILE...", specHelp, stderr)
	rest, rc := parseInterspersed(fs, args)
	if rc >= 0 {
		return rc
	}
	if len(rest) == 0 {
		fs.Usage()
		return 2
	}
	switch rest[0] {
	case "defaults":
		if len(rest) > 1 {
			fmt.Fprintln(stderr, "mailsim spec defaults: takes no arguments")
			fs.Usage()
			return 2
		}
		out, err := experiments.DefaultsTOML[experiments.Spec]()
		if err != nil {
			fmt.Fprintln(stderr, "mailsim spec:", err)
			return 1
		}
		if _, err := stdout.Write(out); err != nil {
			fmt.Fprintln(stderr, "mailsim spec:", err)
			return 1
		}
		return 0
	case "check":
		files := rest[1:]
		if len(files) == 0 {
			fmt.Fprintln(stderr, "mailsim spec check: no files to check")
			fs.Usage()
			return 2
		}
		var errs experiments.Errors
		for _, f := range files {
			var err error
			if f == "-" {
				var data []byte
				if data, err = experiments.ReadSpec(stdin, "<stdin>"); err == nil {
					_, err = experiments.Decode[experiments.Spec]("<stdin>", data)
				}
			} else {
				err = experiments.Check[experiments.Spec](f)
			}
			var fe experiments.Errors
			switch {
			case err == nil:
			case errors.As(err, &fe):
				errs = append(errs, fe...)
			default:
				fmt.Fprintln(stderr, "mailsim spec:", err)
				return 1
			}
		}
		if len(errs) > 0 {
			fmt.Fprintln(stderr, errs)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "mailsim spec: unknown subcommand %q\n\n", rest[0])
	fs.Usage()
	return 2
}
