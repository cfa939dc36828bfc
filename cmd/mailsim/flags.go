package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
)

// flagSet is a command's flags with the text of its help. Every command
// parses its arguments with [parseInterspersed], so that flags may come
// before, between or after the positional arguments on every command
// line, and "--" ends them.
type flagSet struct {
	*flag.FlagSet
	name      string // the command's name: "run", "testbed run"
	argsUsage string // its positional arguments, for the usage line
	summary   string // what it does
	hidden    map[string]bool
	stderr    io.Writer
}

// newFlagSet returns the flag set of the command name, whose positional
// arguments argsUsage describes and what it does summary. Its help, with
// the command's examples (see the examples table), goes to standard
// output when asked for with -h, -help, --help or mailsim help NAME; an
// error and the usage after a bad flag go to stderr, as does fs.Usage.
func newFlagSet(name, argsUsage, summary string, stderr io.Writer) *flagSet {
	fs := &flagSet{
		FlagSet:   flag.NewFlagSet("mailsim "+name, flag.ContinueOnError),
		name:      name,
		argsUsage: argsUsage,
		summary:   summary,
		hidden:    map[string]bool{},
		stderr:    stderr,
	}
	fs.SetOutput(stderr)
	fs.Usage = func() { fs.printUsage(stderr) }
	return fs
}

// alias makes -alias another spelling of the flag name, left out of the
// help so that it shows one spelling.
func (fs *flagSet) alias(alias, name string) {
	f := fs.Lookup(name)
	if f == nil {
		panic("mailsim: alias of an undefined flag: " + name)
	}
	fs.Var(f.Value, alias, "another spelling of --"+name)
	fs.hidden[alias] = true
}

// hide leaves the flag name out of the help: it still works, for the
// scripts that use it, but is no longer how the command is meant to be
// used.
func (fs *flagSet) hide(name string) {
	if fs.Lookup(name) == nil {
		panic("mailsim: hiding an undefined flag: " + name)
	}
	fs.hidden[name] = true
}

// printUsage writes the command's help: its usage line, what it does, its
// examples and its flags.
func (fs *flagSet) printUsage(w io.Writer) {
	line := "mailsim " + fs.name
	if fs.hasFlags() {
		line += " [flags]"
	}
	if fs.argsUsage != "" {
		line += " " + fs.argsUsage
	}
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", line, strings.TrimRight(fs.summary, "\n"))
	if ex := examples[fs.name]; len(ex) > 0 {
		fmt.Fprintf(w, "\nExamples:\n")
		for _, e := range ex {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
	if fs.hasFlags() {
		fmt.Fprintf(w, "\nFlags (before or after the arguments; -- ends them):\n")
		fs.printFlags(w)
	}
}

func (fs *flagSet) hasFlags() bool {
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		if !fs.hidden[f.Name] {
			n++
		}
	})
	return n > 0
}

// printFlags writes the flags that are not hidden as flag.PrintDefaults
// does, spelt with two dashes.
func (fs *flagSet) printFlags(w io.Writer) {
	fs.VisitAll(func(f *flag.Flag) {
		if fs.hidden[f.Name] {
			return
		}
		typ, usage := flag.UnquoteUsage(f)
		var b strings.Builder
		b.WriteString("  --" + f.Name)
		if typ != "" {
			b.WriteString(" " + typ)
		}
		b.WriteString("\n    \t")
		b.WriteString(strings.ReplaceAll(usage, "\n", "\n    \t"))
		if !isZeroDefault(f) {
			if typ == "string" {
				fmt.Fprintf(&b, " (default %q)", f.DefValue)
			} else {
				fmt.Fprintf(&b, " (default %v)", f.DefValue)
			}
		}
		fmt.Fprintln(w, b.String())
	})
}

// isZeroDefault reports whether the flag's default is its type's zero
// value, which the help does not mention.
func isZeroDefault(f *flag.Flag) bool {
	switch f.DefValue {
	case "", "0", "false", "0s":
		return true
	}
	return false
}

// parseInterspersed parses a command's arguments, whose flags may come
// before, between or after its positional arguments ("compare SET
// --format csv"); everything after "--" is positional. It returns the
// positional arguments and an exit code: -1 to go on, 0 after -h, -help or
// --help (the help printed on standard output), 2 after a bad flag (the
// error and the usage printed on standard error).
func parseInterspersed(fs *flagSet, args []string) ([]string, int) {
	usage := fs.Usage
	fs.Usage = func() {} // printed below, on the stream that fits
	defer func() { fs.Usage = usage }()
	var pos []string
	for {
		err := fs.Parse(args)
		switch {
		case errors.Is(err, flag.ErrHelp):
			fs.printUsage(helpOutput(fs.stderr))
			return nil, 0
		case err != nil:
			usage()
			return nil, 2
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, -1
		}
		if endedByDashDash(fs.FlagSet, args[:len(args)-len(rest)]) {
			return append(pos, rest...), -1
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// endedByDashDash reports whether the flags parsed from consumed ended
// with a "--" of their own, rather than with one taken as a flag's value
// ("--out --").
func endedByDashDash(fs *flag.FlagSet, consumed []string) bool {
	for i := 0; i < len(consumed); i++ {
		a := consumed[i]
		if a == "--" {
			return i == len(consumed)-1
		}
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
				i++ // the flag's value
			}
		}
	}
	return false
}

// helpOutputs maps the standard error of each command in progress to its
// standard output, for the help a flag set made with the former prints;
// mainWith records the pair while the command runs (see withHelpOutput).
var helpOutputs = struct {
	sync.Mutex
	m map[io.Writer]*helpOutputRef
}{m: map[io.Writer]*helpOutputRef{}}

type helpOutputRef struct {
	out io.Writer
	n   int // commands in progress with this standard error
}

// withHelpOutput records stdout as where help goes for the flag sets made
// with stderr until the returned function is called.
func withHelpOutput(stderr, stdout io.Writer) (done func()) {
	if stderr == nil || !reflect.TypeOf(stderr).Comparable() {
		return func() {}
	}
	helpOutputs.Lock()
	defer helpOutputs.Unlock()
	r := helpOutputs.m[stderr]
	if r == nil {
		r = &helpOutputRef{out: stdout}
		helpOutputs.m[stderr] = r
	}
	r.n++
	return func() {
		helpOutputs.Lock()
		defer helpOutputs.Unlock()
		if r.n--; r.n == 0 {
			delete(helpOutputs.m, stderr)
		}
	}
}

// helpOutput returns the standard output that goes with stderr, or stderr
// when it is not known.
func helpOutput(stderr io.Writer) io.Writer {
	if stderr == nil || !reflect.TypeOf(stderr).Comparable() {
		return stderr
	}
	helpOutputs.Lock()
	defer helpOutputs.Unlock()
	if r := helpOutputs.m[stderr]; r != nil {
		return r.out
	}
	return stderr
}
