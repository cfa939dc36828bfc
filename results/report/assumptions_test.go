package report

import "testing"

// TestParseExpandedSkipsMultilineStrings: the lines of a multi-line
// string are text, not keys, even when they hold an equals sign.
func TestParseExpandedSkipsMultilineStrings(t *testing.T) {
	spec := `name = "x"
description = """
What does health.monitor = poolmon change?
a = b"""
[run]
# simulated time measured after warm-up
# default "1h"
duration = "30m"
`
	got := parseExpanded(spec)
	want := []specKey{{Key: "name", Value: `"x"`}, {Key: "description", Value: `"""`}, {Key: "run.duration", Value: `"30m"`, Doc: "simulated time measured after warm-up"}}
	if len(got) != len(want) {
		t.Fatalf("keys %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("key %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
