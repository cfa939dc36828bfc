// Package buildinfo names the running mailsim build, from what the Go
// toolchain recorded in the executable (runtime/debug.ReadBuildInfo). It is
// the one place that reads that record: mailsim version prints [String],
// result sets record it with [Commit] in their manifests, and replay
// profiles record it in their metadata.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
)

// Info is what the toolchain recorded about a build.
type Info struct {
	// Version is the main module's version: a release tag such as
	// "v0.2.0" for go install of a published version, a pseudo-version
	// for a build in a checkout with version-control stamping, or
	// "(devel)" without it.
	Version string
	// Revision is the version-control revision ("vcs.revision"), or ""
	// when the build recorded none (go run, go test, -buildvcs=false, a
	// module downloaded by go install).
	Revision string
	// Modified says whether the working tree had uncommitted changes
	// ("vcs.modified").
	Modified bool
	// Go is the toolchain version, such as "go1.26.1".
	Go string
}

// read is Read's result, which cannot change while the program runs.
var read = sync.OnceValue(func() Info {
	bi, ok := debug.ReadBuildInfo()
	return FromBuildInfo(bi, ok)
})

// Read returns the running program's build information.
func Read() Info { return read() }

// String returns [Info.String] of the running program: what mailsim
// version prints after "mailsim".
func String() string { return Read().String() }

// Commit returns [Info.Commit] of the running program.
func Commit() string { return Read().Commit() }

// FromBuildInfo extracts an Info from a build record; ok is
// ReadBuildInfo's second result. Without a record the version is
// "unknown".
func FromBuildInfo(bi *debug.BuildInfo, ok bool) Info {
	i := Info{Version: "unknown", Go: runtime.Version()}
	if !ok || bi == nil {
		return i
	}
	if bi.Main.Version != "" {
		i.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		i.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Revision = s.Value
		case "vcs.modified":
			i.Modified = s.Value == "true"
		}
	}
	return i
}

// shortRevision is how many characters of a revision String shows, as a
// Go pseudo-version does.
const shortRevision = 12

// String names the build in one line: the version, the revision's first
// 12 characters with "+dirty" for a modified tree, and the toolchain, such
// as "(devel) 00d1f38d95c0+dirty go1.26.1" or "v0.2.0 go1.26.1". The
// revision is left out when there is none, or when the version already
// names it (the pseudo-version a build in a checkout gets).
func (i Info) String() string {
	parts := []string{i.Version}
	if rev := i.shortCommit(); rev != "" && !strings.Contains(i.Version, strings.TrimSuffix(rev, "+dirty")) {
		parts = append(parts, rev)
	}
	if i.Go != "" {
		parts = append(parts, i.Go)
	}
	return strings.Join(parts, " ")
}

// Commit returns the full revision with "+dirty" for a modified tree, or
// "" when the build recorded no revision.
func (i Info) Commit() string {
	if i.Revision == "" {
		return ""
	}
	if i.Modified {
		return i.Revision + "+dirty"
	}
	return i.Revision
}

func (i Info) shortCommit() string {
	rev := i.Revision
	if len(rev) > shortRevision {
		rev = rev[:shortRevision]
	}
	if rev != "" && i.Modified {
		rev += "+dirty"
	}
	return rev
}
