package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (rerun with -update to accept):\n%s", path, got)
	}
}

func TestCalibrateCheck(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		golden string
		stderr string
	}{
		{"agrees", []string{"calibrate", "check", "testdata/calibrate/good.toml"}, 0, "calibrate/good.golden", ""},
		{"disagrees", []string{"calibrate", "check", "testdata/calibrate/bad.toml"}, 1, "calibrate/bad.golden", ""},
		{"looser tolerance", []string{"calibrate", "check", "-tolerance", "1.2", "testdata/calibrate/bad.toml"}, 0, "", ""},
		{"missing file", []string{"calibrate", "check", "testdata/calibrate/none.toml"}, 1, "", "no such file"},
		{"bad profile", []string{"calibrate", "check", "testdata/calibrate/good.golden"}, 1, "", "good.golden:1: nfsmodel:"},
		{"no subcommand", []string{"calibrate"}, 2, "", "Usage: mailsim calibrate check"},
		{"unknown subcommand", []string{"calibrate", "fit"}, 2, "", "Usage: mailsim calibrate check"},
		{"no profile", []string{"calibrate", "check"}, 2, "", "Usage: mailsim calibrate check"},
		{"help", []string{"calibrate", "-h"}, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := mainWith(tt.args, strings.NewReader(""), &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, &stdout, &stderr)
			}
			if tt.golden != "" {
				golden(t, tt.golden, stdout.Bytes())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q lacks %q", &stderr, tt.stderr)
			}
		})
	}
}

// TestCommittedProfilesAgree checks that every profile under
// experiments/profiles agrees with its own measurements within the 25 %
// the calibration promises on the file system that produced it.
func TestCommittedProfilesAgree(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "..", "experiments", "profiles", "*.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no committed profiles")
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := mainWith([]string{"calibrate", "check", p}, strings.NewReader(""), &stdout, &stderr); code != 0 {
				t.Errorf("exit %d\n%s%s", code, &stdout, &stderr)
			}
		})
	}
}
