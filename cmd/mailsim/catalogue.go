package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/mailsim/mailsim/experiments"
)

func init() {
	register(command{
		name:    "experiments",
		summary: "list the experiments built into mailsim, or print one's spec",
		run:     cmdExperiments,
	})
}

func cmdExperiments(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("experiments", "[NAME]",
		"Without NAME, lists the catalogue of experiments built into mailsim (the specs\n"+
			"under experiments/ in its source), each with the question it answers.\n"+
			"'mailsim run NAME' runs one, and 'mailsim plan NAME' one marked [plan]; a spec\n"+
			"file of the same name in the current folder is run instead. With NAME, prints\n"+
			"that experiment's spec, to read or to copy and edit.",
		stderr)
	pos, code := parseInterspersed(fs, args)
	if code >= 0 {
		return code
	}
	switch len(pos) {
	case 0:
	case 1:
		c, err := experiments.LookupCatalogue(pos[0])
		if err != nil {
			fmt.Fprintf(stderr, "mailsim experiments: %v\n", err)
			return 1
		}
		if _, err := stdout.Write(c.TOML()); err != nil {
			fmt.Fprintf(stderr, "mailsim experiments: %v\n", err)
			return 1
		}
		return 0
	default:
		fmt.Fprintf(stderr, "mailsim experiments: at most one name, got %d arguments\n", len(pos))
		fs.Usage()
		return 2
	}
	es, err := experiments.Catalogue()
	if err != nil {
		fmt.Fprintf(stderr, "mailsim experiments: %v\n", err)
		return 1
	}
	for _, e := range es {
		name := e.Name
		if e.Plan {
			name += "  [plan]"
		}
		fmt.Fprintln(stdout, name)
		for _, l := range wrap(e.Summary(), listingWidth-4, listingLines) {
			fmt.Fprintf(stdout, "    %s\n", l)
		}
	}
	fmt.Fprintf(stdout, "\nRun one with 'mailsim run NAME' (one marked [plan] with 'mailsim plan NAME');\n'mailsim experiments NAME' prints its spec.\n")
	return 0
}

// The catalogue's listing fits a terminal of listingWidth columns, with
// at most listingLines lines of each experiment's summary.
const (
	listingWidth = 80
	listingLines = 2
)

// wrap breaks text into at most n lines of at most width characters, at
// spaces, ending the last with "…" when text is longer.
func wrap(text string, width, n int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		switch {
		case line == "":
			line = w
		case len([]rune(line))+1+len([]rune(w)) <= width:
			line += " " + w
		case len(lines)+1 == n:
			if i := strings.LastIndex(line, " "); len([]rune(line))+2 > width && i > 0 {
				line = line[:i]
			}
			return append(lines, line+" …")
		default:
			lines = append(lines, line)
			line = w
		}
	}
	return append(lines, line)
}

// defaultSpecName is how messages name the embedded default experiment.
const defaultSpecName = "default.toml (embedded)"

// loadExperiment loads the experiment a command was given: the embedded
// default when arg is "", the spec file arg when there is one at that
// path, else the catalogue's experiment named arg, which must have a
// [plan] section if needPlan. It returns a function that releases what
// loading took (a catalogue entry's temporary copy), to call once the
// experiment is done, and an exit code: -1 to go on, 1 after an error,
// which it reports on stderr.
func loadExperiment(cmd, arg string, needPlan bool, stderr io.Writer) (exp *experiments.Experiment, release func(), code int) {
	release = func() {}
	name, given := defaultSpecName, experiments.DefaultTOML()
	if arg != "" {
		_, statErr := os.Stat(arg)
		if statErr == nil || !errors.Is(statErr, fs.ErrNotExist) {
			b, err := experiments.ReadSpecFile(arg)
			if err != nil {
				fmt.Fprintf(stderr, "mailsim %s: %v\n", cmd, err)
				return nil, release, 1
			}
			name, given = arg, b
		} else {
			c, err := experiments.LookupCatalogue(arg)
			if err != nil {
				fmt.Fprintf(stderr, "mailsim %s: %s: no such spec file, and %v\n('mailsim experiments' lists the catalogue)\n", cmd, arg, err)
				return nil, release, 1
			}
			if needPlan && !c.Plan {
				fmt.Fprintf(stderr, "mailsim %s: the catalogue's %s has no [plan] section; those with one: %s\n", cmd, c.Name, strings.Join(planEntries(), ", "))
				return nil, release, 1
			}
			exp, cleanup, err := c.Load()
			if err != nil {
				fmt.Fprintf(stderr, "mailsim %s: invalid spec:\n%v\n", cmd, err)
				return nil, release, 1
			}
			return exp, func() { cleanup() }, -1
		}
	}
	exp, err := experiments.Load(name, given)
	if err != nil {
		fmt.Fprintf(stderr, "mailsim %s: invalid spec:\n%v\n", cmd, err)
		return nil, release, 1
	}
	return exp, release, -1
}

// planEntries returns the names of the catalogue's experiments with a
// [plan] section.
func planEntries() []string {
	es, _ := experiments.Catalogue()
	var out []string
	for _, e := range es {
		if e.Plan {
			out = append(out, e.Name)
		}
	}
	return out
}
