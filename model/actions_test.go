package model

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/strategies"
	"github.com/mailsim/mailsim/workloads"
)

// drillConfig is an imaptest failure drill: 200 users, 40 clients, four
// backends, one crashed at 20 s, sampled every second.
func drillConfig() Config {
	cfg := DefaultConfig()
	cfg.Population.Users = 200
	cfg.Population.Folders = 0
	cfg.Population.InboxMessagesMedian, cfg.Population.InboxMessagesSigma = 30, 0
	cfg.Population.Desktop, cfg.Population.Phone, cfg.Population.Webmail = 0, 0, 0
	cfg.Population.UserTemplate, cfg.Population.FirstUser = "user%04d", 0
	cfg.Profile.Normal.DeliveryInterval, cfg.Profile.Aggressive.DeliveryInterval = 0, 0
	cfg.Imaptest = workloads.DefaultImaptest()
	cfg.Imaptest.Clients, cfg.Imaptest.User, cfg.Imaptest.First, cfg.Imaptest.Last = 40, "user%04d", 0, 199
	cfg.Warmup, cfg.Duration, cfg.SampleInterval = 0, 60*sim.Second, sim.Second
	cfg.Faults = []Fault{{At: 20 * sim.Second, Backend: 1, Kind: Crash}}
	return cfg
}

func drillRouter(t *testing.T, name string, n int) strategies.Router {
	t.Helper()
	bs := make([]strategies.Backend, n)
	for i := range bs {
		bs[i] = strategies.Backend{Addr: netip.AddrFrom4([4]byte{127, 0, 0, byte(11 + i)}), Weight: strategies.DefaultWeight(name)}
	}
	r, err := strategies.New(name, bs, strategies.Params{}, sim.Source(1, "strategy"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// perSecond returns the logins answered OK and failed in each sample.
func perSecond(res *Result) (ok, failed []uint64) {
	var prev Sample
	for _, x := range res.Series {
		ok = append(ok, x.LoginsOK-prev.LoginsOK)
		failed = append(failed, x.FailedLogins-prev.FailedLogins)
		prev = x
	}
	return ok, failed
}

func sum(xs []uint64) (s uint64) {
	for _, x := range xs {
		s += x
	}
	return s
}

// TestImaptestDrill runs the failure drill operators run with imaptest
// against a director: a backend dies at 20 s. Without help from an
// operator, imaptest's clients reconnect as the same user after a failed
// login, so one by one they all get stuck on users the director keeps
// sending to the dead backend, each failing every 3 s (three proxy
// reconnects 1 s apart), and logins stop. new-user clients move on.
// `director down` alone changes nothing for users who have entries;
// `flush` (HOST-RESET-USERS) after it moves them to the ring's new
// choice, and `flush -F` (HOST-FLUSH) deletes their entries.
func TestImaptestDrill(t *testing.T) {
	const dead = 1
	tests := []struct {
		name      string
		newUser   bool
		actions   []Action
		recovered bool // logins after 30 s at least 80 % of the rate before the crash
	}{
		{name: "no action", recovered: false},
		// A client that draws one of the dead backend's 55 users (27 %)
		// loses 3 s; a pass takes about 30 ms: about 1 login/s per client.
		{name: "new-user clients", newUser: true, recovered: false},
		{name: "director down", actions: []Action{{At: 25 * sim.Second, Kind: DirectorDown, Backend: dead}}, recovered: false},
		{name: "director down and flush", actions: []Action{{At: 25 * sim.Second, Kind: DirectorDown, Backend: dead}, {At: 26 * sim.Second, Kind: DirectorFlush, Backend: dead}}, recovered: true},
		{name: "director down and flush -F", actions: []Action{{At: 25 * sim.Second, Kind: DirectorDown, Backend: dead}, {At: 26 * sim.Second, Kind: DirectorFlushForce, Backend: dead}}, recovered: true},
		{name: "director remove", actions: []Action{{At: 25 * sim.Second, Kind: DirectorRemove, Backend: dead}}, recovered: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := drillConfig()
			cfg.Actions = tc.actions
			if tc.newUser {
				cfg.Imaptest.OnLoginFailure = workloads.NewUser
			}
			res, err := Run(cfg, drillRouter(t, "director", cfg.Backends), 1)
			if err != nil {
				t.Fatal(err)
			}
			ok, failed := perSecond(res)
			if len(ok) != 60 {
				t.Fatalf("%d samples, want 60", len(ok))
			}
			before := float64(sum(ok[2:20])) / 18
			after := float64(sum(ok[31:])) / float64(len(ok[31:]))
			t.Logf("logins/s before %.0f, after %.0f; failed %v", before, after, failed[18:40])
			if before < 100 || sum(failed[:20]) != 0 {
				t.Fatalf("before the crash: %.0f logins/s, %d failed", before, sum(failed[:20]))
			}
			if tc.recovered != (after >= 0.8*before) {
				t.Errorf("after the crash %.0f logins/s against %.0f before; recovered = %v, want %v", after, before, !tc.recovered, tc.recovered)
			}
			if tc.newUser && (after < 0.01*before || after > 0.1*before) {
				t.Errorf("new-user clients: %.0f logins/s after the crash, want 1-10 %% of %.0f", after, before)
			}
			if !tc.recovered && !tc.newUser {
				// Every client is stuck: each fails once per 3 s.
				f := sum(failed[33:60])
				if f < 8*35 || f > 9*40 {
					t.Errorf("%d failed logins in 27 s; 40 stuck clients fail once each per 3 s", f)
				}
			}
			last := res.Series[len(res.Series)-1]
			if tc.recovered && !tc.newUser && last.OnDown != 0 {
				t.Errorf("%d users still assigned to the dead backend at the end", last.OnDown)
			}
		})
	}
}

// TestActionKinds applies every action kind to a director and to a load
// balancer and checks what each does.
func TestActionKinds(t *testing.T) {
	for k := range numActionKinds {
		for _, strategy := range []string{"director", "random"} {
			t.Run(fmt.Sprintf("%s/%s", k, strategy), func(t *testing.T) {
				cfg := drillConfig()
				cfg.Faults = nil
				cfg.Actions = []Action{{At: 20 * sim.Second, Kind: k, Backend: 2, Vhosts: 50, Text: k.String() + " 127.0.0.13"}}
				switch k {
				case DirectorUp:
					cfg.Actions = append([]Action{{At: 10 * sim.Second, Kind: DirectorDown, Backend: 2}}, cfg.Actions...)
				case DirectorAdd:
					cfg.Actions = append([]Action{{At: 10 * sim.Second, Kind: DirectorRemove, Backend: 2}}, cfg.Actions...)
				case BackendStart:
					cfg.Actions = append([]Action{{At: 10 * sim.Second, Kind: BackendStop, Backend: 2}}, cfg.Actions...)
				}
				r := drillRouter(t, strategy, cfg.Backends)
				cl, err := run(cfg, r, Options{}, 1)
				if err != nil {
					t.Fatal(err)
				}
				res := cl.res
				var seen bool
				for _, e := range res.Timeline {
					if e.Kind == "action."+k.String() && e.At == 20*sim.Second {
						seen = true
						ignored := strings.Contains(e.Detail, "ignored")
						director := k != DirectorUp && k != DirectorDown && k != BackendStop && k != BackendStart
						if ignored != (strategy != "director" && director) {
							t.Errorf("timeline %q", e.Detail)
						}
					}
				}
				if !seen {
					t.Fatalf("no timeline event for the action: %v", res.Timeline)
				}
				ok, failed := perSecond(res)
				d, _ := r.(*strategies.Director)
				switch k {
				case DirectorDown:
					if d != nil && !d.IsDown(2) {
						t.Error("backend not marked down")
					}
				case DirectorUp:
					if d != nil && d.IsDown(2) {
						t.Error("backend still marked down")
					}
				case DirectorRemove:
					if d != nil && (!d.IsRemoved(2) || res.Series[len(res.Series)-1].Assigned[2] != 0) {
						t.Error("backend not removed, or users still assigned to it")
					}
				case DirectorAdd:
					if d != nil && d.IsRemoved(2) {
						t.Error("backend not added back")
					}
				case BackendStop:
					// Logins to it fail from 20 s on; its sessions end.
					if sum(failed[20:]) == 0 {
						t.Error("no failed logins after the stop")
					}
					if b := cl.backends[2]; b.state != backendCrashed || b.conns != 0 {
						t.Errorf("stopped backend: state %d with %d connections", b.state, b.conns)
					}
				case BackendStart:
					if cl.backends[2].state != backendUp {
						t.Error("backend not started")
					}
					if sum(ok[25:]) == 0 || res.Backends[2].LoginsOK == 0 {
						t.Error("no logins after the start")
					}
				}
			})
		}
	}
}

// TestBackendStopWindow checks a stopping backend: logins routed to it in
// the stop window hang until its sockets close, then fail after the
// proxy's reconnects.
func TestBackendStopWindow(t *testing.T) {
	cfg := drillConfig()
	cfg.Faults = nil
	cfg.BackendStopTime = 5 * sim.Second
	cfg.Actions = []Action{{At: 20 * sim.Second, Kind: BackendStop, Backend: 1}}
	res, err := Run(cfg, drillRouter(t, "director", cfg.Backends), 1)
	if err != nil {
		t.Fatal(err)
	}
	_, failed := perSecond(res)
	t.Logf("failed per second %v", failed[18:32])
	// Sample i counts what happened in (i s, i+1 s].
	if s := sum(failed[:27]); s != 0 {
		t.Errorf("%d logins failed before the sockets closed at 25 s and the proxy's 3 s of reconnects", s)
	}
	if failed[27] == 0 {
		t.Error("no login failed 3 s after the window closed")
	}
}

// TestProxyRefreshKeepsEntries checks the login proxy's refresh: with
// director_user_expire 10 s and sessions of minutes, every user with a
// session open still has an entry at the end of the run.
func TestProxyRefreshKeepsEntries(t *testing.T) {
	cfg := smallConfig()
	cfg.Duration = 3 * sim.Minute
	bs := make([]strategies.Backend, cfg.Backends)
	for i := range bs {
		bs[i] = strategies.Backend{Addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), Weight: 100}
	}
	var p strategies.Params
	p.Director.UserExpire = 10 * sim.Second.Duration()
	r, err := strategies.New("director", bs, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := run(cfg, r, Options{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	d := r.(*strategies.Director)
	now := cl.s.Now().Duration()
	open, missing := 0, 0
	for id := range cl.conns {
		c := &cl.conns[id]
		if c.dev < 0 || !c.open || now-c.routedAt.Duration() < p.Director.UserExpire {
			continue
		}
		open++
		if b, ok := d.Lookup(now, cl.userName(c.user)); !ok || b != int(c.backend) {
			missing++
		}
	}
	if open < 50 || missing != 0 {
		t.Errorf("%d of %d users with sessions older than director_user_expire have no entry", missing, open)
	}
}

// TestTraceReplayUnderFaultsAndActions replays a trace recorded without
// faults under every fault kind and every action kind: each run ends.
func TestTraceReplayUnderFaultsAndActions(t *testing.T) {
	cfg := smallConfig()
	cfg.Duration = 3 * sim.Minute
	var buf bytes.Buffer
	tw := workloads.NewTraceWriter(&buf)
	if _, err := RunOptions(cfg, drillRouter(t, "director", cfg.Backends), Options{Record: tw}, 1); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	type variant struct {
		name    string
		faults  []Fault
		actions []Action
	}
	var vs []variant
	for k := range FaultKind(len(faultNames)) {
		vs = append(vs, variant{name: "fault " + k.String(), faults: []Fault{{At: 30 * sim.Second, Backend: 1, Kind: k, Factor: 3}}})
	}
	for k := range numActionKinds {
		vs = append(vs, variant{name: "action " + k.String(), actions: []Action{{At: 30 * sim.Second, Kind: k, Backend: 1, Vhosts: 100}}})
	}
	for _, v := range vs {
		for _, strategy := range []string{"director", "random", "owner-proxy"} {
			t.Run(v.name+"/"+strategy, func(t *testing.T) {
				tr, err := workloads.ReadTrace("trace", bytes.NewReader(buf.Bytes()))
				if err != nil {
					t.Fatal(err)
				}
				c := cfg
				c.Faults, c.Actions = v.faults, v.actions
				res, err := RunOptions(c, drillRouter(t, strategy, c.Backends), Options{Replay: tr}, 1)
				if err != nil {
					t.Fatal(err)
				}
				if res.Commands == 0 || len(res.Series) == 0 || res.Series[len(res.Series)-1].At != c.Warmup+c.Duration {
					t.Errorf("the replay did not run to the end: %d commands, %d samples", res.Commands, len(res.Series))
				}
			})
		}
	}
}

// TestProxyHostImmediateFailure checks high-performance login processes in
// the drill: 30 s after the crash (its last success), a login to the dead
// backend fails at once while another connection to it is connecting, so
// from 50 s on more than the 40 failures per 3 s of the proxy's
// reconnects come; high-security processes never do it.
func TestProxyHostImmediateFailure(t *testing.T) {
	for _, count := range []int{0, 1} {
		cfg := drillConfig()
		cfg.LoginServiceCount = count
		res, err := Run(cfg, drillRouter(t, "director", cfg.Backends), 1)
		if err != nil {
			t.Fatal(err)
		}
		_, failed := perSecond(res)
		early, late := sum(failed[20:50]), sum(failed[50:59])
		t.Logf("service_count %d: %d failed at once; failed in 20-50 s %d, in 50-59 s %d", count, res.ProxyHostDown, early, late)
		if early != 360 {
			t.Errorf("service_count %d: %d failed logins before 50 s, want 40 every 3 s", count, early)
		}
		if count == 1 && (res.ProxyHostDown != 0 || late != 120) {
			t.Errorf("high-security: %d failed at once, %d in 50-59 s", res.ProxyHostDown, late)
		}
		if count == 0 && (res.ProxyHostDown == 0 || late <= 120) {
			t.Errorf("high-performance: %d failed at once, %d in 50-59 s", res.ProxyHostDown, late)
		}
	}
}
