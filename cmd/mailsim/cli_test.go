package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/mailsim/mailsim/experiments"
	"github.com/mailsim/mailsim/internal/buildinfo"
)

// commandNames returns the registered commands, sorted.
func commandNames() []string {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TestHelpOnStdout asks every command for help in each way there is:
// the help goes to standard output with exit 0, and says how the command
// is used, what it does and how it is used in examples.
func TestHelpOnStdout(t *testing.T) {
	for _, name := range commandNames() {
		for _, args := range [][]string{{"help", name}, {name, "-h"}, {name, "--help"}, {name, "-help"}} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				code, stdout, stderr := runCLI(t, args...)
				if code != 0 || stderr != "" {
					t.Fatalf("exit %d, stderr %q", code, stderr)
				}
				want := "Usage: mailsim " + name
				if name == "calibrate" {
					want = "Usage: mailsim calibrate check"
				}
				for _, w := range []string{want, "Examples:\n  "} {
					if !strings.Contains(stdout, w) {
						t.Errorf("help lacks %q:\n%s", w, stdout)
					}
				}
			})
		}
	}
}

// TestHelpAnywhere checks that -h is help wherever it stands on a
// command line, even after arguments, and that after "--" it is an
// argument.
func TestHelpAnywhere(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // on standard output
		stderr string // on standard error
	}{
		{"spec check FILE -h", []string{"spec", "check", "experiments/default.toml", "-h"}, 0, "Usage: mailsim spec", ""},
		{"run SPEC --out DIR -h", []string{"run", "some.toml", "--out", "x", "-h"}, 0, "Usage: mailsim run", ""},
		{"plan SPEC --help", []string{"plan", "some.toml", "--help"}, 0, "Usage: mailsim plan", ""},
		{"trace --out FILE SPEC -h", []string{"trace", "--out", "w.trace", "some.toml", "-h"}, 0, "Usage: mailsim trace", ""},
		{"merge SHARDS -h", []string{"merge", "a", "b", "-h"}, 0, "Usage: mailsim merge", ""},
		{"compare SET -help", []string{"compare", "set", "-help"}, 0, "Usage: mailsim compare", ""},
		{"calibrate check PROFILE -h", []string{"calibrate", "check", "p.toml", "-h"}, 0, "Usage: mailsim calibrate check", ""},
		{"help help", []string{"help", "help"}, 0, "Usage: mailsim help", ""},
		{"help of a subcommand", []string{"help", "spec", "check"}, 0, "Usage: mailsim spec", ""},
		{"after --, -h is a file", []string{"spec", "check", "--", "-h"}, 1, "", "-h"},
		{"after --, -h is a spec", []string{"run", "--quiet", "--", "-h"}, 1, "", "-h: no such spec file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, stderr)
			}
			if !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stdout %q, stderr %q; want %q and %q in them", stdout, stderr, tc.stdout, tc.stderr)
			}
			if tc.code == 0 && stderr != "" {
				t.Errorf("help printed on stderr too: %q", stderr)
			}
		})
	}
}

// TestBadFlagUsage gives every command a flag it does not have: the
// error and the usage go to standard error, with exit 2.
func TestBadFlagUsage(t *testing.T) {
	for _, name := range commandNames() {
		t.Run(name, func(t *testing.T) {
			args := []string{name, "--no-such-flag"}
			if name == "calibrate" {
				args = []string{name, "check", "--no-such-flag"}
			}
			code, stdout, stderr := runCLI(t, args...)
			if code != 2 || stdout != "" {
				t.Fatalf("exit %d, stdout %q", code, stdout)
			}
			if !strings.Contains(stderr, "no-such-flag") || !strings.Contains(stderr, "Usage: mailsim") {
				t.Errorf("stderr lacks the error or the usage: %q", stderr)
			}
		})
	}
}

func TestTopLevel(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no command", nil, 2, "", "Usage: mailsim COMMAND"},
		{"help", []string{"help"}, 0, "Usage: mailsim COMMAND", ""},
		{"-h", []string{"-h"}, 0, "Usage: mailsim COMMAND", ""},
		{"--help", []string{"--help"}, 0, "Usage: mailsim COMMAND", ""},
		{"unknown command", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"help of an unknown command", []string{"help", "frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"version", []string{"version"}, 0, "mailsim " + buildinfo.String() + "\n", ""},
		{"--version", []string{"--version"}, 0, "mailsim " + buildinfo.String() + "\n", ""},
		{"-version", []string{"-version"}, 0, "mailsim " + buildinfo.String() + "\n", ""},
		{"version with an argument", []string{"version", "now"}, 2, "", "unexpected argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, stderr)
			}
			if !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stdout %q, stderr %q; want %q and %q in them", stdout, stderr, tc.stdout, tc.stderr)
			}
			if strings.HasPrefix(tc.name, "version") || strings.HasSuffix(tc.name, "version") {
				if tc.code == 0 && stdout != tc.stdout {
					t.Errorf("stdout %q, want exactly %q", stdout, tc.stdout)
				}
			}
		})
	}
}

// TestOneOutputSpelling checks that the commands that write somewhere
// take --out, and that the old -o still works but is not shown.
func TestOneOutputSpelling(t *testing.T) {
	for _, name := range []string{"run", "plan", "merge", "trace", "report", "replay", "testbed run", "testbed probe", "testbed record"} {
		if _, ok := commands[strings.Fields(name)[0]]; !ok {
			continue // not on this platform
		}
		t.Run(name, func(t *testing.T) {
			code, stdout, _ := runCLI(t, strings.Fields("help "+name)...)
			if code != 0 {
				t.Fatalf("exit %d", code)
			}
			if !strings.Contains(stdout, "\n  --out ") {
				t.Errorf("help shows no --out:\n%s", stdout)
			}
			if strings.Contains(stdout, "\n  --o ") || strings.Contains(stdout, "\n  -o ") {
				t.Errorf("help shows -o besides --out:\n%s", stdout)
			}
		})
	}
}

// TestFormatFlag checks that a table format is checked before anything
// runs, and that the help lists every format.
func TestFormatFlag(t *testing.T) {
	for _, name := range []string{"run", "compare"} {
		_, help, _ := runCLI(t, name, "-h")
		if !strings.Contains(help, "text, markdown, csv, json") {
			t.Errorf("%s's help does not list the formats:\n%s", name, help)
		}
	}
	dir := t.TempDir()
	code, _, stderr := runCLI(t, "run", "testbed-small", "--format", "html", "--out", filepath.Join(dir, "x"))
	if code != 2 || !strings.Contains(stderr, `unknown format "html" (want text, markdown, csv, json)`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Error("a bad format should stop the run before it writes anything")
	}
}

func TestExperimentsCommand(t *testing.T) {
	es, err := experiments.Catalogue()
	if err != nil {
		t.Fatal(err)
	}
	code, list, stderr := runCLI(t, "experiments")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, e := range es {
		if !strings.Contains(list, "\n"+e.Name+"\n") && !strings.HasPrefix(list, e.Name+"\n") && !strings.Contains(list, "\n"+e.Name+"  [plan]\n") {
			t.Errorf("listing lacks %s:\n%s", e.Name, list)
		}
		first := strings.Fields(e.Summary())[0]
		if !strings.Contains(list, e.Name+"\n    "+first) && !strings.Contains(list, e.Name+"  [plan]\n    "+first) {
			t.Errorf("listing lacks %s's summary %q", e.Name, e.Summary())
		}
	}
	for _, line := range strings.Split(list, "\n") {
		if n := len([]rune(line)); n > listingWidth {
			t.Errorf("line of %d characters: %q", n, line)
		}
	}

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // exactly, when a file name
		stderr string
	}{
		{"a spec", []string{"experiments", "backend-count"}, 0, filepath.Join("..", "..", "experiments", "backend-count.toml"), ""},
		{"a spec by its path", []string{"experiments", "hung-host/v3"}, 0, filepath.Join("..", "..", "experiments", "hung-host", "v3.toml"), ""},
		{"a misspelt name", []string{"experiments", "backend-cuont"}, 1, "", "did you mean backend-count?"},
		{"two names", []string{"experiments", "a", "b"}, 2, "", "at most one name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d, %q", code, stderr, tc.code, tc.stderr)
			}
			if tc.stdout != "" {
				want, err := os.ReadFile(tc.stdout)
				if err != nil {
					t.Fatal(err)
				}
				if stdout != string(want) {
					t.Errorf("printed spec differs from %s", tc.stdout)
				}
			}
		})
	}
}

// TestRunByName runs experiments of the catalogue by name, and checks
// that a spec file of that name wins, and what an unknown name says.
func TestRunByName(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	// The catalogue's copies go to a temporary folder of this test's own,
	// so that the check for copies left behind does not see those of
	// other packages' tests running at the same time.
	t.Setenv("TMPDIR", t.TempDir())
	tiny := "name = \"tiny\"\nstrategies = [\"director\"]\n[run]\nduration = \"2m\"\nwarmup = \"30s\"\n[workload]\nusers = 50\n"
	if err := os.WriteFile("testbed-small", []byte(tiny), 0o644); err != nil {
		t.Fatal(err)
	}
	experimentOf := func(set string) string {
		var m struct{ Experiment string }
		b, err := os.ReadFile(filepath.Join(set, "manifest.json"))
		if err == nil {
			err = json.Unmarshal(b, &m)
		}
		if err != nil {
			t.Fatal(err)
		}
		return m.Experiment
	}
	tests := []struct {
		name       string
		args       []string
		code       int
		experiment string // the set's experiment, for a run that works
		stderr     string
	}{
		{"a catalogue name", []string{"run", "testbed-small", "--quiet", "--out", "set-a"}, 0, "", ""},
		{"a catalogue path", []string{"run", "index-damage/random", "--quiet", "--out", "set-b"}, 0, "index-damage-random", ""},
		{"a file path wins", []string{"run", "./testbed-small", "--quiet", "--out", "set-c"}, 0, "tiny", ""},
		{"a misspelt name", []string{"run", "backend-cuont", "--quiet"}, 1, "", "did you mean backend-count?"},
		{"an unknown name", []string{"run", "zzzzzzzzzzzz", "--quiet"}, 1, "", "'mailsim experiments' lists the catalogue"},
		{"plan of an experiment without a plan", []string{"plan", "backend-count", "--quiet"}, 1, "", "has no [plan] section; those with one: isp-1m-plan"},
		{"trace of a catalogue name", []string{"trace", "index-damage-random", "--out", "w.trace"}, 0, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d, %q", code, stderr, tc.code, tc.stderr)
			}
			if tc.experiment != "" {
				out := tc.args[slices.Index(tc.args, "--out")+1]
				if got := experimentOf(out); got != tc.experiment {
					t.Errorf("ran %s, want %s", got, tc.experiment)
				}
			}
			if code == 0 && tc.args[0] == "run" && !strings.Contains(stdout, "Result set: ") {
				t.Errorf("stdout lacks the result set:\n%s", stdout)
			}
		})
	}
	// The file named like a catalogue experiment wins without ./ too.
	if code, _, stderr := runCLI(t, "run", "testbed-small", "--quiet", "--out", "set-d"); code != 0 || experimentOf("set-d") != "tiny" {
		t.Errorf("exit %d, %s: a spec file should win over the catalogue entry of its name", code, stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(os.TempDir(), "mailsim-catalogue-*")); len(left) > 0 {
		t.Errorf("catalogue copies left behind: %v", left)
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		pos   []string
		code  int
		out   string
		quiet bool
	}{
		{"flags first", []string{"--out", "d", "--quiet", "a", "b"}, []string{"a", "b"}, -1, "d", true},
		{"flags last", []string{"a", "b", "--out", "d"}, []string{"a", "b"}, -1, "d", false},
		{"flags between", []string{"a", "-out=d", "b", "-quiet"}, []string{"a", "b"}, -1, "d", true},
		{"-- ends the flags", []string{"a", "--", "--quiet", "-h"}, []string{"a", "--quiet", "-h"}, -1, "", false},
		{"-- as a flag's value", []string{"--out", "--", "a", "--quiet"}, []string{"a"}, -1, "--", true},
		{"-- after a bool flag", []string{"--quiet", "--", "-h"}, []string{"-h"}, -1, "", true},
		{"- is an argument", []string{"-", "--quiet"}, []string{"-"}, -1, "", true},
		{"help after arguments", []string{"a", "-h"}, nil, 0, "", false},
		{"bad flag", []string{"a", "--nope"}, nil, 2, "", false},
		{"the alias", []string{"a", "-o", "d"}, []string{"a"}, -1, "d", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var errb strings.Builder
			fs := newFlagSet("test", "ARGS...", "A test.", &errb)
			out := fs.String("out", "", "output")
			fs.alias("o", "out")
			quiet := fs.Bool("quiet", false, "quiet")
			pos, code := parseInterspersed(fs, tc.args)
			if code != tc.code || !slices.Equal(pos, tc.pos) {
				t.Fatalf("got %q, %d; want %q, %d (stderr %q)", pos, code, tc.pos, tc.code, errb.String())
			}
			if code == -1 && (*out != tc.out || *quiet != tc.quiet) {
				t.Errorf("--out %q --quiet %v, want %q %v", *out, *quiet, tc.out, tc.quiet)
			}
		})
	}
}

// TestExamplesParse gives every example of the help its own flags and
// arguments, followed by -h: each names a command that exists and flags
// it has, so parsing reaches the -h and prints help.
func TestExamplesParse(t *testing.T) {
	for name, exs := range examples {
		if _, ok := commands[strings.Fields(name)[0]]; !ok {
			continue // not on this platform
		}
		for _, ex := range exs {
			t.Run(ex, func(t *testing.T) {
				_, line, ok := strings.Cut(ex, "mailsim ")
				if !ok {
					t.Fatalf("example of %s does not run mailsim", name)
				}
				if i := strings.IndexAny(line, "#|<>"); i >= 0 {
					line = line[:i]
				}
				args := append(strings.Fields(line), "-h")
				if code, _, stderr := runCLI(t, args...); code != 0 {
					t.Errorf("%q: exit %d: %s", args, code, stderr)
				}
			})
		}
	}
}
