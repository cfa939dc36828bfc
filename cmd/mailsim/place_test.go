package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestPlaceCommand(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		stdin     string
		rc        int
		stdout    string // exact, when rc is 0
		stderrHas string
	}{
		{"director agrees with Dovecot", []string{"--backends", "10.0.0.1,10.0.0.2:200,10.0.0.3"},
			"alice\nHeidi\r\n\noscar\nwalter@example.com\n", 0,
			"user,backend\nalice,10.0.0.2\nHeidi,10.0.0.3\noscar,10.0.0.1\nwalter@example.com,10.0.0.3\n", ""},
		{"down host gets no new users", []string{"--backends", "10.0.0.1,10.0.0.2:200,10.0.0.3", "--down", "10.0.0.3"},
			"Heidi\nwalter@example.com\n", 0, "user,backend\nHeidi,10.0.0.2\nwalter@example.com,10.0.0.2\n", ""},
		{"all down", []string{"--backends", "10.0.0.1", "--down", "10.0.0.1"}, "alice\n", 0, "user,backend\nalice,\n", ""},
		{"per-ip needs client addresses", []string{"--strategy", "per-ip", "--backends", "10.0.0.1,10.0.0.2"},
			"alice,192.0.2.7\n192.0.2.7\n", 0, "", ""},
		{"owner-proxy", []string{"--strategy", "owner-proxy", "--backends", "10.0.0.1,10.0.0.2", "--failover", "standby", "--down", "10.0.0.1"},
			"alice\nbob\n", 0, "user,backend\nalice,10.0.0.2\nbob,10.0.0.2\n", ""},
		{"bad IP", []string{"--backends", "10.0.0.1,10.0.0.300"}, "", 2, "", `"10.0.0.300" is not an IP address`},
		{"bad weight", []string{"--backends", "10.0.0.1:x"}, "", 2, "", `weight "x"`},
		{"vhost count too large", []string{"--backends", "10.0.0.1:1001"}, "", 2, "", "vhost count 1001"},
		{"unknown strategy", []string{"--strategy", "sticky", "--backends", "10.0.0.1"}, "", 2, "", `unknown strategy "sticky"`},
		{"per-connection strategy", []string{"--strategy", "random", "--backends", "10.0.0.1"}, "", 2, "", "per connection"},
		{"unknown down backend", []string{"--backends", "10.0.0.1", "--down", "10.0.0.2"}, "", 2, "", "down backend 10.0.0.2"},
		{"bad down address", []string{"--backends", "10.0.0.1", "--down", "nope"}, "", 2, "", `-down "nope"`},
		{"bad client address", []string{"--strategy", "per-ip", "--backends", "10.0.0.1"}, "alice,10.1\n", 2, "", `line 1: "10.1"`},
		{"duplicate backend", []string{"--backends", "10.0.0.1,10.0.0.1:5"}, "", 2, "", "10.0.0.1 listed twice"},
		{"no backends", nil, "", 2, "", "-backends is required"},
		{"bad failover", []string{"--backends", "10.0.0.1", "--failover", "maybe"}, "", 2, "", `unknown owner failover "maybe"`},
		{"passdb-static", []string{"--strategy", "passdb-static", "--backends", "10.0.0.1,10.0.0.2", "--passdb-map", "testdata/passdb-map.csv"},
			"alice\nBob\ncarol\n", 0, "user,backend\nalice,10.0.0.2\nBob,10.0.0.1\ncarol,\n", ""},
		{"passdb-static without a map", []string{"--strategy", "passdb-static", "--backends", "10.0.0.1"}, "", 2, "", "needs --passdb-map"},
		{"passdb-static, a host that is no backend", []string{"--strategy", "passdb-static", "--backends", "10.0.0.1", "--passdb-map", "testdata/passdb-map.csv"},
			"", 2, "", "testdata/passdb-map.csv:2: host 10.0.0.2 is not one of the 1 backends"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			rc := mainWith(append([]string{"place"}, tc.args...), strings.NewReader(tc.stdin), &stdout, &stderr)
			if rc != tc.rc {
				t.Fatalf("exit %d, want %d; stderr: %s", rc, tc.rc, stderr.String())
			}
			if tc.stdout != "" && stdout.String() != tc.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), tc.stdout)
			}
			if tc.rc == 0 && !strings.HasPrefix(stdout.String(), "user,backend\n") {
				t.Errorf("stdout lacks the header: %q", stdout.String())
			}
			if !strings.Contains(stderr.String(), tc.stderrHas) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), tc.stderrHas)
			}
		})
	}
}

func TestChurnCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	rc := mainWith([]string{"churn", "--users", "2000", "--backends", "4", "--strategies", "director,per-ip"}, nil, &stdout, &stderr)
	if rc != 0 {
		t.Fatalf("exit %d: %s", rc, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "director") || !strings.Contains(lines[2], "per-ip") {
		t.Errorf("output:\n%s", stdout.String())
	}
	for _, args := range [][]string{
		{"churn", "--strategies", "director,nope"},
		{"churn", "--backends", "1"},
		{"churn", "--epsilon", "-1"},
		{"churn", "extra"},
	} {
		stderr.Reset()
		if rc := mainWith(args, nil, &stdout, &stderr); rc != 2 || stderr.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q", args, rc, stderr.String())
		}
	}
}
