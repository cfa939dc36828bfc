package model

import (
	"bytes"
	"reflect"
	"testing"

	"mailsim/model/sim"
	"mailsim/workloads"
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

func TestReadTraceErrors(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"not a trace", "hello\n", `run.trace:1: not a mailsim trace v1 (want the line "# mailsim-trace v1")`},
		{"field count", "# mailsim-trace v1\n1\tu\t0\n", "run.trace:2: 3 fields, want 10 (at, user, device, kind, conn, op, mailbox, bytes, wait, length)"},
		{"bad op", "# mailsim-trace v1\n1\tu\t0\tdesktop\t0\tFROB\t0\t0\t0\t0\n", `run.trace:2: field op: unknown operation "FROB"`},
		{"negative time", "# mailsim-trace v1\n-1\tu\t0\tdesktop\t0\tLOGIN\t0\t0\t0\t0\n", `run.trace:2: field at: "-1" is not a non-negative integer`},
	}
	for _, tc := range tests {
		_, err := workloads.ReadTrace("run.trace", bytes.NewReader([]byte(tc.text)))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
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
