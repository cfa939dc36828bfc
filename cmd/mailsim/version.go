package main

import (
	"fmt"
	"io"

	"github.com/mailsim/mailsim/internal/buildinfo"
)

func init() {
	register(command{
		name:    "version",
		summary: "print the build: module version, revision (+dirty), Go toolchain",
		run:     cmdVersion,
	})
}

func cmdVersion(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", "",
		"Prints the name of this build of mailsim: the module version (\"(devel)\" for a\n"+
			"build from a checkout, or the pseudo-version the Go toolchain gives it), the\n"+
			"revision it was built from with +dirty for uncommitted changes (when the build\n"+
			"recorded one), and the Go toolchain. Result sets record the same name in\n"+
			"manifest.json (mailsim_version), and replay profiles in their metadata.",
		stderr)
	pos, code := parseInterspersed(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "mailsim version: unexpected argument %q\n", pos[0])
		fs.Usage()
		return 2
	}
	fmt.Fprintln(stdout, "mailsim "+buildinfo.String())
	return 0
}
