package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	const rev = "00d1f38d95c08513743fbf6dda1904affa5f963f"
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i+1 < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	tests := []struct {
		name       string
		bi         *debug.BuildInfo
		ok         bool
		wantString string
		wantCommit string
	}{
		{"no build record", nil, false, "unknown " + runtime.Version(), ""},
		{"checkout without stamping", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "(devel)"}}, true,
			"(devel) go1.26.1", ""},
		{"checkout with a revision", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "(devel)"},
			Settings: settings("vcs.revision", rev, "vcs.modified", "false")}, true,
			"(devel) 00d1f38d95c0 go1.26.1", rev},
		{"modified checkout", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "(devel)"},
			Settings: settings("vcs.revision", rev, "vcs.modified", "true")}, true,
			"(devel) 00d1f38d95c0+dirty go1.26.1", rev + "+dirty"},
		{"pseudo-version naming the revision", &debug.BuildInfo{GoVersion: "go1.26.1",
			Main:     debug.Module{Version: "v0.0.0-20261205171531-00d1f38d95c0+dirty"},
			Settings: settings("vcs.revision", rev, "vcs.modified", "true")}, true,
			"v0.0.0-20261205171531-00d1f38d95c0+dirty go1.26.1", rev + "+dirty"},
		{"tagged build in a checkout", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "v0.2.0"},
			Settings: settings("vcs.revision", rev)}, true,
			"v0.2.0 00d1f38d95c0 go1.26.1", rev},
		{"go install of a release", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "v0.2.0"}}, true,
			"v0.2.0 go1.26.1", ""},
		{"short revision", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "(devel)"},
			Settings: settings("vcs.revision", "abc")}, true,
			"(devel) abc go1.26.1", "abc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			i := FromBuildInfo(tc.bi, tc.ok)
			if got := i.String(); got != tc.wantString {
				t.Errorf("String() = %q, want %q", got, tc.wantString)
			}
			if got := i.Commit(); got != tc.wantCommit {
				t.Errorf("Commit() = %q, want %q", got, tc.wantCommit)
			}
		})
	}
}

// TestRead checks that the running program (a test binary) is named by
// its toolchain and a version.
func TestRead(t *testing.T) {
	i := Read()
	if i.Version == "" || i.Go == "" {
		t.Fatalf("Read() = %+v: no version or toolchain", i)
	}
	if String() != i.String() || Commit() != i.Commit() {
		t.Errorf("String/Commit disagree with Read")
	}
}
