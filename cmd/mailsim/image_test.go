package main

import (
	"context"
	"crypto/rand"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// repoRoot is the module's root, from this package's folder.
var repoRoot = filepath.Join("..", "..")

// TestDockerfileDescribesStaticBuild checks that the Dockerfile builds
// mailsim as TestStaticBuild does, onto a base without a C library, with
// mailsim as its entry point.
func TestDockerfileDescribesStaticBuild(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, want := range []string{
		"CGO_ENABLED=0 go build -trimpath",
		"./cmd/mailsim",
		"FROM gcr.io/distroless/static",
		`ENTRYPOINT ["/usr/local/bin/mailsim"]`,
		"WORKDIR /data",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

// TestStaticBuild builds mailsim as the Dockerfile does (no cgo,
// -trimpath) and runs it: the executable needs no C library, and says
// which build it is.
func TestStaticBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mailsim")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	bin := filepath.Join(t.TempDir(), "mailsim")
	build := exec.Command(goTool, "build", "-trimpath", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("static build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "mailsim ") {
		t.Fatalf("mailsim --version: %v: %q", err, out)
	}
	if runtime.GOOS != "linux" {
		return
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the executable names a dynamic loader: it is not static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the executable needs %v", libs)
	}
}

// TestDockerImage builds the image with docker build, when a Docker
// engine answers, and runs mailsim in it: its version, and a small
// catalogue experiment written to its working directory as the
// unprivileged user it runs as.
func TestDockerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image")
	}
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("no docker command")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := exec.CommandContext(ctx, docker, "info").Run(); err != nil {
		t.Skipf("no Docker engine answers (docker info: %v)", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	tag := "mailsim-test:" + strings.ToLower(rand.Text()[:12])
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, docker, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("build", "-t", tag, repoRoot)
	t.Cleanup(func() { exec.Command(docker, "rmi", "-f", tag).Run() })
	if out := run("run", "--rm", tag, "--version"); !strings.HasPrefix(out, "mailsim ") {
		t.Errorf("mailsim --version in the image: %q", out)
	}
	if out := run("run", "--rm", tag, "run", "testbed-small", "--quiet"); !strings.Contains(out, "Result set: out/testbed-small") {
		t.Errorf("mailsim run in the image:\n%s", out)
	}
}
