package model

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/workloads"
)

// TestTraceReplayGivesTheSameRun writes the workload of a run as a trace,
// replays it under the same strategy and checks that everything measured
// is the same; under another strategy the replay runs the same users.
func TestTraceReplayGivesTheSameRun(t *testing.T) {
	cfg := smallConfig()
	var buf bytes.Buffer
	w := workloads.NewTraceWriter(&buf)
	gen, err := RunOptions(cfg, &userHashRouter{n: cfg.Backends, roundRobin: true}, Options{Record: w}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	tr, err := workloads.ReadTrace("run.trace", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := RunOptions(cfg, &userHashRouter{n: cfg.Backends, roundRobin: true}, Options{Replay: tr}, 4)
	if err != nil {
		t.Fatal(err)
	}
	gen.Events, rep.Events = 0, 0 // the generator's own events differ
	if !reflect.DeepEqual(gen, rep) {
		for i, m := range gen.Metrics() {
			if r := rep.Metrics()[i]; r != m && !(m.Value != m.Value && r.Value != r.Value) {
				t.Errorf("%s: generated %v, replayed %v", m.Name, m.Value, r.Value)
			}
		}
		t.Fatal("the replayed run differs from the run that wrote the trace")
	}
	t.Logf("trace of %d bytes replayed to the same %d commands", buf.Len(), gen.Commands)

	// The same trace under a pinning router: the same deliveries arrive
	// and nobody is on two backends.
	pinned, err := RunOptions(cfg, &userHashRouter{n: cfg.Backends}, Options{Replay: tr}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if pinned.Latency[workloads.Deliver].N != gen.Latency[workloads.Deliver].N || pinned.UsersMultiBackend != 0 {
		t.Errorf("replayed under another router: %d deliveries (generated %d), %d users on two backends",
			pinned.Latency[workloads.Deliver].N, gen.Latency[workloads.Deliver].N, pinned.UsersMultiBackend)
	}
}

// TestReplayChecksPopulation: a trace is replayed only for the
// population it was recorded for; the error names each key that differs,
// with the trace's value and the spec's. A trace without population lines
// (hand-made, for imapload) is refused.
func TestReplayChecksPopulation(t *testing.T) {
	cfg := smallConfig()
	cfg.Population.Users = 60
	cfg.Duration = 2 * sim.Minute
	var buf bytes.Buffer
	w := workloads.NewTraceWriter(&buf)
	if _, err := RunOptions(cfg, &userHashRouter{n: cfg.Backends}, Options{Record: w}, 4); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(c *Config)
		seed uint64
		want string
	}{
		{"same", func(*Config) {}, 4, ""},
		{"other faults", func(c *Config) { c.Faults = []Fault{{At: sim.Minute, Kind: Crash}} }, 4, ""},
		{"seed", func(*Config) {}, 5, "model: run.trace: recorded for another population (run_seed is 4 in the trace, 5 in the spec (a run seed derives from the spec's seed and the run)): record it again with this spec ('mailsim trace -o FILE SPEC')"},
		{"users", func(c *Config) { c.Population.Users = 61 }, 4, "workload.users is 60 in the trace, 61 in the spec"},
		{"two keys", func(c *Config) { c.Population.Phone, c.Population.Domain = 0.5, "example.org" },
			4, `workload.domain is "example.net" in the trace, "example.org" in the spec; workload.phone is 0.6 in the trace, 0.5 in the spec`},
		{"message size", func(c *Config) { c.Population.MessageBytesMean = 1000 }, 4, "workload.message_bytes_mean is 76700 in the trace, 1000 in the spec"},
	}
	for _, tc := range tests {
		tr, err := workloads.ReadTrace("run.trace", bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		c := cfg
		tc.edit(&c)
		_, err = RunOptions(c, &userHashRouter{n: cfg.Backends}, Options{Replay: tr}, tc.seed)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}

	// Without population lines.
	var bare bytes.Buffer
	w = workloads.NewTraceWriter(&bare)
	w.Write(workloads.TraceOp{At: 1, User: "user000000@example.net", Device: -1, Kind: "mx", Conn: -1, Op: "LMTP"})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	tr, err := workloads.ReadTrace("bare.trace", &bare)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RunOptions(cfg, &userHashRouter{n: cfg.Backends}, Options{Replay: tr}, 4); err == nil || !strings.Contains(err.Error(), "bare.trace has no population lines") {
		t.Errorf("a trace without population: %v", err)
	}
}

// TestTraceReplayUnderOtherFaults replays traces recorded under one fault
// schedule under others: a connection that fails where the recorded one
// did not must log in again before its next recorded command (it used to
// send that command without a backend and index backend -1), and one that
// does not fail where the recorded one did passes over the recorded
// reconnection. Under the recorded schedule the replay is the recorded run.
func TestTraceReplayUnderOtherFaults(t *testing.T) {
	at := 2*sim.Minute + 7*sim.Second
	schedules := []struct {
		name   string
		faults []Fault
	}{
		{"none", nil},
		{"crash", []Fault{{At: at, Backend: 1, Kind: Crash}}},
		{"hang", []Fault{{At: at, Backend: 1, Kind: Hang}}},
		{"slow", []Fault{{At: at, Backend: 1, Kind: Slow, Factor: 3}}},
		{"crash-recover", []Fault{{At: at, Backend: 0, Kind: Crash}, {At: at + sim.Minute, Backend: 0, Kind: Recover}}},
	}
	for _, rec := range schedules[:3] {
		cfg := smallConfig()
		cfg.Population.Users = 150
		cfg.Duration = 5 * sim.Minute
		cfg.Faults = rec.faults
		var buf bytes.Buffer
		w := workloads.NewTraceWriter(&buf)
		gen, err := RunOptions(cfg, &userHashRouter{n: cfg.Backends, roundRobin: true}, Options{Record: w}, 4)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		for _, rep := range schedules {
			t.Run(rec.name+"/"+rep.name, func(t *testing.T) {
				tr, err := workloads.ReadTrace("run.trace", bytes.NewReader(buf.Bytes()))
				if err != nil {
					t.Fatal(err)
				}
				c := cfg
				c.Faults = rep.faults
				res, err := RunOptions(c, &userHashRouter{n: cfg.Backends, roundRobin: true}, Options{Replay: tr}, 4)
				if err != nil {
					t.Fatal(err)
				}
				if res.Commands == 0 {
					t.Fatal("the replay ran no commands")
				}
				if rec.name == rep.name {
					g := *gen
					g.Events, res.Events = 0, 0
					if !reflect.DeepEqual(&g, res) {
						t.Errorf("replayed under the recorded faults: %d commands, recorded %d", res.Commands, g.Commands)
					}
				}
			})
		}
	}
}
