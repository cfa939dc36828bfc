//go:build linux

package experiments

import (
	"strings"
	"testing"
)

// TestTestbedRefusalsPointAtTheSpec: what the testbed cannot honour is
// refused before anything runs, each problem at its key in the file.
func TestTestbedRefusalsPointAtTheSpec(t *testing.T) {
	spec := `name = "too-big"
strategies = ["director", "director-bounded"]

[workload]
users = 3000

[[faults]]
at = "10s"
kind = "nfs-slow"
factor = 2
`
	e, err := Load("too-big.toml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Clusters("one-kernel")
	if err == nil {
		t.Fatal("a 3,000-user spec was accepted")
	}
	got := err.Error()
	for _, want := range []string{
		"too-big.toml:2:14: the testbed (one-kernel) cannot honour this: director-bounded has no real counterpart",
		"too-big.toml:5:9: the testbed (one-kernel) cannot honour this: 3000 users",
		"(key workload.users)",
		"too-big.toml:9:8: the testbed (one-kernel) cannot honour this: nfs-slow faults cannot be made real",
		"(key faults[0].kind)",
		"(key run.duration)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("refusal lacks %q:\n%s", want, got)
		}
	}
}
