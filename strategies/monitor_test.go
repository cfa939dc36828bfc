package strategies

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

const ms = time.Millisecond

// runMonitor drives m as a model would until the time until: a probe of a
// backend that is alive at its start succeeds after 10 ms, one of a dead
// backend fails at its timeout. It returns the actions, one line each as
// "<time> <action> <backend>".
func runMonitor(t *testing.T, m Monitor, alive func(b int, at time.Duration) bool, until time.Duration) []string {
	t.Helper()
	type result struct {
		at time.Duration
		id uint64
		ok bool
	}
	var pending []result
	var out []string
	var probes []Probe
	var acts []Action
	for steps := 0; steps < 100000; steps++ {
		now := m.Next()
		if len(pending) > 0 && pending[0].at <= now {
			now = pending[0].at
		}
		if now > until {
			return out
		}
		if len(pending) > 0 && pending[0].at == now {
			r := pending[0]
			pending = pending[1:]
			acts = m.Result(now, r.id, r.ok, acts[:0])
			for _, a := range acts {
				out = append(out, fmt.Sprintf("%v %v %d", now, a.Kind, a.Backend))
			}
			continue
		}
		probes = m.Start(now, probes[:0])
		if len(probes) == 0 {
			t.Fatalf("%s: woken at %v with nothing to start", m.Name(), now)
		}
		for _, p := range probes {
			if p.Start != now {
				t.Fatalf("probe %+v started at %v", p, now)
			}
			r := result{at: now + p.Timeout, id: p.ID}
			if alive(p.Backend, now) {
				r.at, r.ok = now+10*ms, true
			}
			pending = append(pending, r)
		}
		slices.SortStableFunc(pending, func(a, b result) int { return int(a.at - b.at) })
	}
	t.Fatalf("%s: no end", m.Name())
	return nil
}

func TestMonitors(t *testing.T) {
	// Backend 0 dies at 5 s and comes back at 200 s; backend 1 stays up.
	alive := func(b int, at time.Duration) bool { return b != 0 || at < 5*s || at >= 200*s }
	tests := []struct {
		name string
		p    MonitorParams
		want []string
	}{
		{name: MonitorNone, want: nil},
		// Scans every 20 s: the one at 20 s fails at its 5 s timeout; the
		// one at 200 s succeeds.
		{name: MonitorPoolmon, want: []string{
			"25s down 0", "25s flush 0", "3m20.01s up 0"}},
		// Polls at 0, 10, 20, 30 s: three failed rounds end at 33 s, ten
		// rapid polls of 2 s each fail by 53 s. Polls go on at 63, 73, ...
		// s; the first good one, at 203 s, answers at 203.01 s.
		{name: MonitorDovemon, want: []string{
			"53s down 0", "53s reset-users 0", "3m23.01s up 0"}},
		{name: MonitorDovemon, p: MonitorParams{Dovemon: DovemonParams{UseHostFlush: true}}, want: []string{
			"53s down 0", "53s flush 0", "3m23.01s up 0"}},
		// Checks of server 0 at 0, 2.01, 4.02, 6.03 (fails at 8.03), 10.03,
		// 14.03 (third failure at 16.03). Failed checks then start every
		// 4 s (2 s timeout + 2 s inter) up to 198.03 s; rise 2 needs the
		// good checks of 202.03 and 204.04 s.
		{name: MonitorHAProxy, want: []string{
			"16.03s down 0", "3m24.05s up 0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewMonitor(tc.name, 2, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			got := runMonitor(t, m, alive, 300*s)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("actions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestDovemonRapidPollsMustMostlyFail(t *testing.T) {
	// A backend that answers one poll in two: three failed rounds start
	// rapid polling, but only 5 of 10 rapid polls fail, so it stays up.
	flaky := func(b int, at time.Duration) bool {
		if b != 0 {
			return true
		}
		if at < 40*s {
			return at < 5*s // normal rounds at 10, 20, 30 s fail
		}
		return (at/ms)%2 == 0
	}
	m, err := NewMonitor(MonitorDovemon, 2, MonitorParams{})
	if err != nil {
		t.Fatal(err)
	}
	if got := runMonitor(t, m, flaky, 120*s); len(got) != 0 {
		t.Errorf("actions %v, want none", got)
	}
}

func TestMonitorIgnoresUnknownResults(t *testing.T) {
	m, _ := NewMonitor(MonitorHAProxy, 1, MonitorParams{})
	probes := m.Start(0, nil)
	if len(probes) != 1 {
		t.Fatalf("probes %v", probes)
	}
	for _, id := range []uint64{0, probes[0].ID + 1<<20, probes[0].ID} {
		m.Result(time.Second, id, false, nil)
	}
	// The repeated id is ignored: one failure only, so three more are
	// needed before the server goes down.
	if acts := m.Result(time.Second, probes[0].ID, false, nil); len(acts) != 0 {
		t.Errorf("repeated result gave %v", acts)
	}
}

func TestNewMonitorErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    MonitorParams
	}{
		{"nagios", MonitorParams{}},
		{MonitorDovemon, MonitorParams{Dovemon: DovemonParams{RapidFailsNeeded: 11}}},
		{MonitorHAProxy, MonitorParams{HAProxy: CheckParams{Fall: -1}}},
	} {
		if _, err := NewMonitor(tc.name, 3, tc.p); err == nil {
			t.Errorf("NewMonitor(%q, %+v) accepted", tc.name, tc.p)
		}
	}
}

func TestApply(t *testing.T) {
	d := newTestDirector(t, DirectorRing, 3, Params{})
	u := userOn(t, 3, 0, 1)
	d.Route(Request{User: u})
	var moves []Move
	for _, a := range []Action{{HostDown, 0}, {HostResetUsers, 0}} {
		moves = append(moves, Apply(d, 10*s, a)...)
	}
	if len(moves) != 1 || moves[0].User != u || moves[0].To != 1 || !moves[0].Kicked {
		t.Errorf("moves %+v", moves)
	}
	if !d.IsDown(0) {
		t.Error("backend 0 not down")
	}
	Apply(d, 20*s, Action{HostUp, 0})
	if d.IsDown(0) {
		t.Error("backend 0 still down")
	}
	b, _ := New(PerIP, testBackends(2, 1), Params{}, nil)
	if moves := Apply(b, 0, Action{HostFlush, 1}); moves != nil {
		t.Errorf("flush on a balancer gave %v", moves)
	}
}
