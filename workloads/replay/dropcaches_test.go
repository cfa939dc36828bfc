//go:build linux

package replay

import (
	"context"
	"testing"

	"github.com/mailsim/mailsim/internal/buildinfo"
)

// TestCachesDroppedOnlyWhenAsked runs small replays with a stand-in for
// the kernel's drop_caches: a replay drops the (whole machine's) caches
// only when its Config asks for cold timings, never by default.
func TestCachesDroppedOnlyWhenAsked(t *testing.T) {
	tests := []struct {
		name     string
		cold     string
		wantCold bool
	}{
		{"default", "", false},
		{"no", "no", false},
		{"yes", "yes", true},
		{"auto, allowed", "auto", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			drops := 0
			cfg := Config{Dir: t.TempDir(), Messages: []int{8}, MaxSize: 512, Reps: 1, OpsPerPoint: 2, ColdReps: 1, Cold: tc.cold, Seed: 1,
				DropCaches: func() error { drops++; return nil }}
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Cold != tc.wantCold || (drops > 0) != tc.wantCold {
				t.Errorf("cold %v with %d drops, want cold %v", res.Cold, drops, tc.wantCold)
			}
			if !tc.wantCold && res.ColdNote == "" {
				t.Error("a replay without cold timings should say why")
			}
		})
	}
}

// TestProfileNamesTheBuild checks that a profile records the running
// build's name by default, the one mailsim version prints.
func TestProfileNamesTheBuild(t *testing.T) {
	res, err := Run(context.Background(), Config{Dir: t.TempDir(), Messages: []int{8}, MaxSize: 512, Reps: 1, OpsPerPoint: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Profile == nil {
		t.Fatal("no profile")
	}
	if got, want := res.Profile.Meta.MailsimVersion, buildinfo.String(); got != want {
		t.Errorf("profile's mailsim version %q, want %q", got, want)
	}
}
