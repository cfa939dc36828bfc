package results

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/mailsim/mailsim/internal/buildinfo"
)

// Build identifies the program that wrote a result set. It is part of the
// set's identity: a set is resumed and shards are merged only by and from
// the same build, so that no set mixes the results of two models.
type Build struct {
	// Version is the main module's version as the Go toolchain recorded
	// it, such as "v0.2.0" or "(devel)".
	Version string
	// Revision is the version-control revision the program was built
	// from, or "" when the build did not record one (go test, go run, a
	// build outside a repository).
	Revision string
	// Modified says whether the working tree had uncommitted changes.
	Modified bool
	// Go is the toolchain version, such as "go1.26.8".
	Go string
	// Platform is GOOS/GOARCH, such as "linux/amd64": floating-point
	// results are reproducible on one architecture only.
	Platform string
	// Binary is the SHA-256 of the executable, recorded when Revision
	// does not identify the build (no revision, or a modified tree).
	Binary string
}

// IsZero reports whether b is the zero Build, which [Create], [Open] and
// [Merge] replace by [CurrentBuild].
func (b Build) IsZero() bool { return b == Build{} }

// String describes the build in one line, for messages.
func (b Build) String() string {
	if b.IsZero() {
		return "an unrecorded build"
	}
	var parts []string
	v := b.Version
	if v == "" {
		v = "(unknown version)"
	}
	parts = append(parts, "mailsim "+v)
	switch {
	case b.Revision != "" && b.Modified:
		parts = append(parts, "revision "+b.Revision+" with uncommitted changes")
	case b.Revision != "":
		parts = append(parts, "revision "+b.Revision)
	}
	if b.Go != "" || b.Platform != "" {
		parts = append(parts, strings.TrimSpace(b.Go+" "+b.Platform))
	}
	if b.Binary != "" {
		parts = append(parts, "executable sha256 "+b.Binary)
	}
	return strings.Join(parts, ", ")
}

var (
	buildMu   sync.Mutex
	buildOver *Build // set by tests
	detected  = sync.OnceValue(detectBuild)
)

// CurrentBuild returns the identity of the running program, from the
// build information the Go toolchain embeds (module version,
// vcs.revision, vcs.modified, toolchain and platform). When the
// information does not identify the build (go test and go run record no
// revision; a modified tree's revision is not the code that ran), the
// executable's SHA-256 is added: rebuilding the same sources with the same
// toolchain gives the same executable, any change gives another.
func CurrentBuild() Build {
	buildMu.Lock()
	o := buildOver
	buildMu.Unlock()
	if o != nil {
		return *o
	}
	return detected()
}

// setCurrentBuild makes CurrentBuild return b until the returned function
// is called; for tests, which need a build that does not change with
// every compilation.
func setCurrentBuild(b Build) (restore func()) {
	buildMu.Lock()
	prev := buildOver
	buildOver = &b
	buildMu.Unlock()
	return func() {
		buildMu.Lock()
		buildOver = prev
		buildMu.Unlock()
	}
}

func detectBuild() Build {
	i := buildinfo.Read()
	b := Build{Version: i.Version, Revision: i.Revision, Modified: i.Modified, Go: i.Go, Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if b.Revision == "" || b.Modified {
		b.Binary = executableHash()
	}
	return b
}

// executableHash returns the hex SHA-256 of the running executable, or
// "unknown" when it cannot be read.
func executableHash() string {
	p, err := os.Executable()
	if err != nil {
		return "unknown"
	}
	f, err := os.Open(p)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "unknown"
	}
	return hex.EncodeToString(h.Sum(nil))
}

// sameBuild reports how the builds of a stored set and of the program
// differ, or nil.
func sameBuild(stored, ours Build) error {
	if stored == ours {
		return nil
	}
	return fmt.Errorf("it was written by %s, and this is %s; finish it with the build that started it, or start a new set", stored, ours)
}

// fingerprint returns the fingerprint that a set's run files carry: the
// hex SHA-256 of the set's expanded spec, spec.expanded.toml.
func fingerprint(m *Manifest) string {
	s := sha256.Sum256(m.SpecExpanded)
	return hex.EncodeToString(s[:])
}
