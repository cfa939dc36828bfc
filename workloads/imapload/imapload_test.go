package imapload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/workloads"
)

const ms = time.Millisecond

// op builds a trace line; times are offsets of real time.
func op(at time.Duration, user string, dev int, kind string, conn int, name string, mailbox int, bytes int64, wait, length time.Duration) workloads.TraceOp {
	return workloads.TraceOp{At: sim.Time(at), User: user, Device: dev, Kind: kind, Conn: conn, Op: name,
		Mailbox: mailbox, Bytes: bytes, Wait: sim.Time(wait), Length: sim.Time(length)}
}

// step builds a command line of a connection.
func step(at time.Duration, user string, dev, conn int, name string, mailbox int, wait time.Duration) workloads.TraceOp {
	return op(at, user, dev, "desktop", conn, name, mailbox, 0, wait, 0)
}

// viaFile writes ops as a trace file and reads them back with ReadOps.
func viaFile(t *testing.T, ops []workloads.TraceOp) []workloads.TraceOp {
	t.Helper()
	var buf bytes.Buffer
	w := workloads.NewTraceWriter(&buf)
	for _, o := range ops {
		w.Write(o)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadOps("test.trace", &buf)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func sumIntervals(m *Measurements, f func(Interval) uint64) uint64 {
	var n uint64
	for _, iv := range m.Intervals {
		n += f(iv)
	}
	return n
}

func TestReplay(t *testing.T) {
	const (
		alice = "alice@example.net"
		bob   = "bob@example.net"
		carol = "carol@example.net"
	)
	folders := []string{"INBOX", "Sent", "Archive", "Missing"}
	im := startIMAP(t, []fakeUser{{alice, "pw", 12}, {bob, "pw", 0}, {carol, "pw", 0}},
		folders[:3], []string{"b1", "b2"}, slowness{})
	lm := startLMTP(t, im)

	ops := []workloads.TraceOp{
		// Alice's desktop: a busy connection and one that idles on INBOX.
		op(0, alice, 0, "desktop", 0, "SESSION", 0, 0, 0, 1200*ms),
		step(0, alice, 0, 0, "LOGIN", 0, 0),
		step(5*ms, alice, 0, 0, "LIST", 0, 5*ms),
		step(6*ms, alice, 0, 0, "SELECT", 0, 0),
		step(7*ms, alice, 0, 0, "FETCH", 0, 0),
		step(40*ms, alice, 0, 0, "STATUS", 1, 30*ms),
		op(50*ms, alice, 0, "desktop", 0, "APPEND", 1, 2000, 10*ms, 0),
		step(60*ms, alice, 0, 0, "FETCHBODY", 0, 10*ms),
		step(70*ms, alice, 0, 0, "STORE", 0, 10*ms),
		step(80*ms, alice, 0, 0, "SEARCH", 0, 10*ms),
		step(90*ms, alice, 0, 0, "STATUS", 3, 10*ms), // a folder the server lacks: NO
		step(100*ms, alice, 0, 0, "EXPUNGE", 0, 10*ms),
		step(120*ms, alice, 0, 0, "LOGOUT", 0, 20*ms),
		step(0, alice, 0, 1, "LOGIN", 0, 0),
		step(1*ms, alice, 0, 1, "SELECT", 0, 0),
		step(2*ms, alice, 0, 1, "FETCH", 0, 0),
		// Bob's phone: two sessions; the first fetches without selecting,
		// the second has a LOGIN that was a reconnect in the recorded run.
		op(100*ms, bob, 1, "phone", 0, "SESSION", 0, 0, 100*ms, 400*ms),
		step(100*ms, bob, 1, 0, "LOGIN", 0, 0),
		step(120*ms, bob, 1, 0, "FETCH", 0, 20*ms),
		step(140*ms, bob, 1, 0, "LOGOUT", 0, 20*ms),
		op(900*ms, bob, 1, "phone", 0, "SESSION", 0, 0, 400*ms, 300*ms),
		step(900*ms, bob, 1, 0, "LOGIN", 0, 0),
		step(901*ms, bob, 1, 0, "LOGIN", 0, 0),
		step(920*ms, bob, 1, 0, "STATUS", 2, 20*ms),
		step(940*ms, bob, 1, 0, "LOGOUT", 0, 20*ms),
		// Deliveries; carol's name lacks the domain, nobody is unknown.
		op(50*ms, alice, -1, "mx", -1, "LMTP", 0, 3000, 0, 0),
		op(150*ms, bob, -1, "mx", -1, "LMTP", 0, 500, 0, 0),
		op(300*ms, "carol", -1, "mx", -1, "LMTP", 0, 800, 0, 0),
		op(400*ms, "nobody@example.net", -1, "mx", -1, "LMTP", 0, 800, 0, 0),
	}
	cfg := Config{
		Ops: viaFile(t, ops), IMAP: im.addr, LMTP: lm.addr, Password: "pw", Folders: folders, Domain: "example.net",
		Duration: 5 * time.Second, Interval: 500 * ms, Timeout: 2 * time.Second,
	}
	start := time.Now()
	m, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Run took %v; the trace is done after 1.2 s", took)
	}
	if m.Elapsed < 1200*ms || m.Elapsed >= cfg.Duration {
		t.Errorf("Elapsed = %v, want about 1.2 s", m.Elapsed)
	}

	wantN := map[string]uint64{
		"CONNECT": 4, "LOGIN": 4, "LIST": 1, "SELECT": 3, "FETCH": 3, "STATUS": 3, "APPEND": 1,
		"FETCHBODY": 1, "STORE": 1, "SEARCH": 1, "EXPUNGE": 1, "LOGOUT": 4, "LMTP": 4,
	}
	for name, n := range wantN {
		if got := m.Latency[name].N; got != n {
			t.Errorf("Latency[%s].N = %d, want %d", name, got, n)
		}
	}
	if len(m.Latency) != len(wantN) {
		t.Errorf("latency of %d commands, want %d: %v", len(m.Latency), len(wantN), slices.Sorted(func(yield func(string) bool) {
			for k := range m.Latency {
				if !yield(k) {
					return
				}
			}
		}))
	}
	if n := m.Intervals[2].Commands; n != 1 {
		// Alice's idle connection logs out when her session's 1.2 s are
		// over: the only command in [1 s, 1.5 s).
		t.Errorf("%d commands between 1 s and 1.5 s, want the idle connection's LOGOUT", n)
	}
	if m.LoginsOK != 4 || m.LoginsFailed != 0 {
		t.Errorf("logins ok %d failed %d, want 4 and 0", m.LoginsOK, m.LoginsFailed)
	}
	if m.AutoSelects != 1 || m.SkippedLogins != 1 || m.ImplicitLogouts != 1 {
		t.Errorf("auto selects %d, skipped logins %d, implicit logouts %d; want 1 each", m.AutoSelects, m.SkippedLogins, m.ImplicitLogouts)
	}
	wantErrs := []ErrorCount{{"LMTP", Kind5xx, 1}, {"STATUS", KindNO, 1}}
	if !slices.Equal(m.Errors, wantErrs) {
		t.Errorf("errors %+v, want %+v", m.Errors, wantErrs)
	}
	if m.DeliveriesOK != 3 || m.DeliveriesFailed != 1 {
		t.Errorf("deliveries ok %d failed %d, want 3 and 1", m.DeliveriesOK, m.DeliveriesFailed)
	}
	var rcpts []string
	for _, d := range lm.deliveries() {
		rcpts = append(rcpts, d.to)
		if d.from != "imapload@example.net" {
			t.Errorf("MAIL FROM %q", d.from)
		}
	}
	slices.Sort(rcpts)
	if want := []string{alice, bob, carol}; !slices.Equal(rcpts, want) {
		t.Errorf("the LMTP server got mail for %v, want %v", rcpts, want)
	}
	if sent, err := im.users[alice].Status("Sent", &imap.StatusOptions{NumMessages: true, Size: true}); err != nil {
		t.Fatal(err)
	} else if *sent.NumMessages != 1 || *sent.Size != 2000 {
		t.Errorf("Sent has %d messages of %d bytes, want one of 2000", *sent.NumMessages, *sent.Size)
	}

	// 23 IMAP commands were answered: every measured one but CONNECT.
	if got := sumIntervals(m, func(iv Interval) uint64 { return iv.Commands }); got != 23 {
		t.Errorf("intervals count %d commands, want 23", got)
	}
	if got := sumIntervals(m, func(iv Interval) uint64 { return iv.LoginsOK }); got != 4 {
		t.Errorf("intervals count %d logins, want 4", got)
	}
	if got := sumIntervals(m, func(iv Interval) uint64 { return iv.DeliveriesOK }); got != 3 {
		t.Errorf("intervals count %d deliveries, want 3", got)
	}
	if len(m.Intervals) != 10 || m.Intervals[3].Start != 1500*ms {
		t.Errorf("%d intervals, the fourth at %v; want 10, at 1.5 s", len(m.Intervals), m.Intervals[3].Start)
	}

	// Connections went to b1 and b2 by turns: alice's two at once, then
	// bob's sessions one after the other.
	if len(m.Backends) != 2 || m.Backends[0].Name != "b1" || m.Backends[1].Name != "b2" ||
		m.Backends[0].LoginsOK != 2 || m.Backends[1].LoginsOK != 2 {
		t.Fatalf("backends %+v, want b1 and b2 with 2 logins each", m.Backends)
	}
	var perInterval uint64
	for _, n := range m.Backends[1].LoginsOKPerInterval {
		perInterval += n
	}
	if perInterval != 2 {
		t.Errorf("b2's logins per interval add up to %d, want 2", perInterval)
	}
	if want := []string{alice}; !slices.Equal(m.MultiBackendUsers, want) {
		t.Errorf("users on two backends at once: %v, want %v", m.MultiBackendUsers, want)
	}
	if m.MultiBackendOverlap < 100*ms || m.MultiBackendOverlap > 1300*ms {
		t.Errorf("overlap %v, want the time both of alice's connections were open", m.MultiBackendOverlap)
	}

	// The measurements survive JSON unchanged.
	b1, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Measurements
	if err := json.Unmarshal(b1, &back); err != nil {
		t.Fatal(err)
	}
	b2, err := json.Marshal(&back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) {
		t.Errorf("JSON round trip changed the measurements")
	}
	for _, key := range []string{`"latency":{"APPEND":`, `"multi_backend_users":["alice@example.net"]`, `"logins_ok":4`} {
		if !bytes.Contains(b1, []byte(key)) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

func TestFailedLogins(t *testing.T) {
	const mallory = "mallory@example.net"
	tests := []struct {
		name     string
		imap     func(t *testing.T) string
		ops      []workloads.TraceOp
		retry    time.Duration
		failedAt []int // interval of each failed login, in order
		errs     []ErrorCount
		loginMin float64 // least LOGIN latency, s
	}{
		{
			// The server takes 300 ms to refuse: each failure counts in the
			// interval of its answer, not of its attempt. The first retry
			// waits as the trace says (200 ms), later ones Config.Retry
			// (400 ms); no retry starts after the session's end (1.6 s).
			name: "wrong password answered late",
			imap: func(t *testing.T) string {
				return startIMAP(t, []fakeUser{{mallory, "other", 0}}, []string{"INBOX"}, nil,
					slowness{login: map[string]time.Duration{mallory: 300 * ms}}).addr
			},
			ops: []workloads.TraceOp{
				op(100*ms, mallory, 0, "phone", 0, "SESSION", 0, 0, 100*ms, 1500*ms),
				step(100*ms, mallory, 0, 0, "LOGIN", 0, 0),
				op(400*ms, mallory, 0, "phone", 0, "RETRY", 0, 0, 200*ms, 0),
				step(600*ms, mallory, 0, 0, "LOGIN", 0, 0),
				step(610*ms, mallory, 0, 0, "SELECT", 0, 10*ms),
				step(620*ms, mallory, 0, 0, "LOGOUT", 0, 10*ms),
			},
			retry:    400 * ms,
			failedAt: []int{1, 3, 6},
			errs:     []ErrorCount{{"LOGIN", KindNO, 3}},
			loginMin: 0.29,
		},
		{
			// Nothing listens: attempts at 0, 0.2 and 0.4 s fail at once.
			name: "connection refused",
			imap: closedAddr,
			ops: []workloads.TraceOp{
				op(0, mallory, 0, "phone", 0, "SESSION", 0, 0, 0, 500*ms),
				step(0, mallory, 0, 0, "LOGIN", 0, 0),
				step(10*ms, mallory, 0, 0, "LOGOUT", 0, 10*ms),
			},
			retry:    200 * ms,
			failedAt: []int{0, 0, 1},
			errs:     []ErrorCount{{"CONNECT", KindConnection, 3}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Ops: tt.ops, IMAP: tt.imap(t), Password: "pw", Duration: 3 * time.Second,
				Interval: 250 * ms, Timeout: 2 * time.Second, Retry: tt.retry}
			m, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if m.LoginsOK != 0 || m.LoginsFailed != uint64(len(tt.failedAt)) {
				t.Errorf("logins ok %d failed %d, want 0 and %d", m.LoginsOK, m.LoginsFailed, len(tt.failedAt))
			}
			want := make([]uint64, len(m.Intervals))
			for _, i := range tt.failedAt {
				want[i]++
			}
			got := make([]uint64, len(m.Intervals))
			for i, iv := range m.Intervals {
				got[i] = iv.LoginsFailed
			}
			if !slices.Equal(got, want) {
				t.Errorf("failed logins per interval %v, want %v", got, want)
			}
			if !slices.Equal(m.Errors, tt.errs) {
				t.Errorf("errors %+v, want %+v", m.Errors, tt.errs)
			}
			if h := m.Latency["LOGIN"]; tt.loginMin > 0 && (h.N != 3 || h.MinV < tt.loginMin) {
				t.Errorf("LOGIN latency: %d answers, least %v s; want 3, at least %v s", h.N, h.MinV, tt.loginMin)
			}
			if n := m.Latency["SELECT"].N; n != 0 {
				t.Errorf("%d SELECTs without a login", n)
			}
			var events int
			for _, e := range m.Events {
				if e.Kind == EventLoginFailed && e.User == mallory {
					events++
				}
			}
			if events != len(tt.failedAt) {
				t.Errorf("%d login-failed events, want %d: %+v", events, len(tt.failedAt), m.Events)
			}
		})
	}
}

func TestWarmupAndUnknownBackend(t *testing.T) {
	const u = "dave@example.net"
	// No backend names: the server answers ID with BAD, so the backend is
	// unknown.
	im := startIMAP(t, []fakeUser{{u, "pw", 2}}, []string{"INBOX"}, nil, slowness{})
	ops := []workloads.TraceOp{
		op(0, u, 0, "webmail", 0, "SESSION", 0, 0, 0, 2*time.Second),
		step(0, u, 0, 0, "LOGIN", 0, 0),
		step(1*ms, u, 0, 0, "SELECT", 0, 0),
		step(400*ms, u, 0, 0, "STATUS", 0, 400*ms),
		step(401*ms, u, 0, 0, "LOGOUT", 0, 0),
		op(500*ms, u, 1, "phone", 0, "SESSION", 0, 0, 500*ms, 300*ms),
		step(500*ms, u, 1, 0, "LOGIN", 0, 0),
		step(510*ms, u, 1, 0, "LOGOUT", 0, 10*ms),
	}
	m, err := Run(context.Background(), Config{Ops: ops, IMAP: im.addr, Password: "pw", Warmup: 250 * ms,
		Duration: 2 * time.Second, Interval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{"CONNECT": 1, "LOGIN": 1, "SELECT": 0, "STATUS": 1, "LOGOUT": 2}
	for name, n := range want {
		if got := m.Latency[name].N; got != n {
			t.Errorf("Latency[%s].N = %d, want %d", name, got, n)
		}
	}
	if m.LoginsOK != 1 || m.Intervals[0].Commands != 4 {
		t.Errorf("logins %d, commands in the first interval %d; want 1 and 4", m.LoginsOK, m.Intervals[0].Commands)
	}
	if len(m.Backends) != 1 || m.Backends[0].Name != "" || m.Backends[0].LoginsOK != 1 {
		t.Errorf("backends %+v, want one unknown with one login", m.Backends)
	}
	if len(m.MultiBackendUsers) != 0 {
		t.Errorf("users on two backends: %v", m.MultiBackendUsers)
	}
}

func TestDisconnects(t *testing.T) {
	const u = "grace@example.net"
	im := startIMAP(t, []fakeUser{{u, "pw", 5}}, []string{"INBOX"}, []string{"b1"},
		slowness{cmd: map[string]time.Duration{"SEARCH": 600 * ms}})
	ops := []workloads.TraceOp{
		op(0, u, 0, "desktop", 0, "SESSION", 0, 0, 0, 1500*ms),
		step(0, u, 0, 0, "LOGIN", 0, 0),
		step(1*ms, u, 0, 0, "SELECT", 0, 0),
		step(600*ms, u, 0, 0, "FETCH", 0, 600*ms), // the server drops it meanwhile
		step(610*ms, u, 0, 0, "SEARCH", 0, 10*ms), // held past the timeout
		step(620*ms, u, 0, 0, "STATUS", 0, 10*ms),
		step(630*ms, u, 0, 0, "LOGOUT", 0, 10*ms),
		step(0, u, 0, 1, "LOGIN", 0, 0),
		step(1*ms, u, 0, 1, "SELECT", 0, 0), // then IDLE, dropped too
	}
	time.AfterFunc(300*ms, im.dropAll)
	m, err := Run(context.Background(), Config{Ops: ops, IMAP: im.addr, Password: "pw", Duration: 5 * time.Second,
		Timeout: 200 * ms, Retry: 100 * ms})
	if err != nil {
		t.Fatal(err)
	}
	// Both connections come back after the drop, the busy one again after
	// the timeout; each selects INBOX again when it needs it.
	if m.LoginsOK != 5 || m.AutoSelects != 2 || m.ImplicitLogouts != 1 {
		t.Errorf("logins %d, auto selects %d, implicit logouts %d; want 5, 2, 1", m.LoginsOK, m.AutoSelects, m.ImplicitLogouts)
	}
	want := map[string]uint64{"SELECT": 4, "FETCH": 1, "SEARCH": 0, "STATUS": 1, "LOGOUT": 2}
	for name, n := range want {
		if got := m.Latency[name].N; got != n {
			t.Errorf("Latency[%s].N = %d, want %d", name, got, n)
		}
	}
	if want := []ErrorCount{{"SEARCH", KindTimeout, 1}}; !slices.Equal(m.Errors, want) {
		t.Errorf("errors %+v, want %+v", m.Errors, want)
	}
	kinds := map[string]int{}
	for _, e := range m.Events {
		kinds[e.Kind]++
	}
	if kinds[EventDisconnected] != 3 || kinds[EventCommandFailed] != 1 {
		t.Errorf("events %+v, want 3 disconnections and 1 failed command", m.Events)
	}
}

func TestCancel(t *testing.T) {
	const u = "erin@example.net"
	im := startIMAP(t, []fakeUser{{u, "pw", 3}}, []string{"INBOX"}, []string{"b1"}, slowness{})
	lm := startLMTP(t, im)
	ops := []workloads.TraceOp{
		op(0, u, 0, "desktop", 0, "SESSION", 0, 0, 0, time.Minute),
		step(0, u, 0, 0, "LOGIN", 0, 0),
		step(0, u, 0, 0, "SELECT", 0, 0),
		step(10*time.Second, u, 0, 0, "FETCH", 0, 10*time.Second),
		step(0, u, 0, 1, "LOGIN", 0, 0),
		step(0, u, 0, 1, "SELECT", 0, 0), // then IDLE
		op(30*time.Second, u, -1, "mx", -1, "LMTP", 0, 1000, 0, 0),
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*ms, cancel)
	start := time.Now()
	m, err := Run(ctx, Config{Ops: ops, IMAP: im.addr, LMTP: lm.addr, Password: "pw", Duration: time.Minute, Interval: time.Second})
	took := time.Since(start)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if took > 1300*ms {
		t.Errorf("Run returned %v after the start, %v after the cancel", took, took-300*ms)
	}
	if m == nil {
		t.Fatal("no measurements")
	}
	if m.LoginsOK != 2 || m.Latency["SELECT"].N != 2 || m.Latency["FETCH"].N != 0 {
		t.Errorf("logins %d, SELECTs %d, FETCHes %d; want 2, 2, 0", m.LoginsOK, m.Latency["SELECT"].N, m.Latency["FETCH"].N)
	}
	if m.Elapsed < 250*ms || m.Elapsed > time.Second {
		t.Errorf("Elapsed = %v, want about 0.3 s", m.Elapsed)
	}
	if len(m.Errors) != 0 {
		t.Errorf("the cancellation counted as errors: %+v", m.Errors)
	}
}

func TestHungServers(t *testing.T) {
	const u = "frank@example.net"
	ops := []workloads.TraceOp{
		op(0, u, 0, "phone", 0, "SESSION", 0, 0, 0, time.Second),
		step(0, u, 0, 0, "LOGIN", 0, 0),
		step(1*ms, u, 0, 0, "SELECT", 0, 0),
		op(0, u, -1, "mx", -1, "LMTP", 0, 1000, 0, 0),
	}
	start := time.Now()
	m, err := Run(context.Background(), Config{Ops: ops, IMAP: hungServer(t), LMTP: hungServer(t), Password: "pw",
		Duration: 10 * time.Second, Timeout: 200 * ms, Retry: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Run took %v against hung servers with a 200 ms timeout", took)
	}
	want := []ErrorCount{{"CONNECT", KindTimeout, 1}, {"LMTP", KindTimeout, 1}}
	if !slices.Equal(m.Errors, want) {
		t.Errorf("errors %+v, want %+v", m.Errors, want)
	}
	if m.LoginsFailed != 1 || m.DeliveriesFailed != 1 {
		t.Errorf("failed logins %d, deliveries %d; want 1 and 1", m.LoginsFailed, m.DeliveriesFailed)
	}
	if m.Latency["LMTP"].N != 0 {
		t.Errorf("an unanswered delivery has a latency")
	}
}

func TestConfigErrors(t *testing.T) {
	ok := []workloads.TraceOp{
		op(0, "u", 0, "phone", 0, "SESSION", 0, 0, 0, time.Second),
		step(0, "u", 0, 0, "LOGIN", 0, 0),
		step(0, "u", 0, 0, "SELECT", 2, 0),
	}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no duration", Config{Ops: ok, IMAP: "127.0.0.1:1", Folders: []string{"INBOX", "a", "b"}}, "duration"},
		{"folder missing", Config{Ops: ok, IMAP: "127.0.0.1:1", Folders: []string{"INBOX", "a"}, Duration: time.Second}, "mailbox 2"},
		{"no IMAP address", Config{Ops: ok, Folders: []string{"INBOX", "a", "b"}, Duration: time.Second}, "Config.IMAP"},
		{"no LMTP address", Config{Ops: []workloads.TraceOp{op(0, "u", -1, "mx", -1, "LMTP", 0, 10, 0, 0)}, Duration: time.Second}, "Config.LMTP"},
		{"commands without a session", Config{Ops: ok[1:], IMAP: "127.0.0.1:1", Folders: []string{"INBOX", "a", "b"}, Duration: time.Second}, "no SESSION"},
		{"IDLE", Config{Ops: append(slices.Clone(ok[:2]), step(0, "u", 0, 0, "IDLE", 0, 0)), IMAP: "127.0.0.1:1", Duration: time.Second}, "unknown operation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Run(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one about %q", err, tt.want)
			}
			if m != nil {
				t.Errorf("measurements from an invalid configuration")
			}
		})
	}
}

func TestReadOps(t *testing.T) {
	ops := []workloads.TraceOp{
		op(0, "a", 3, "desktop", 0, "SESSION", 0, 0, 0, time.Second),
		step(0, "a", 3, 0, "LOGIN", 0, 0),
		step(0, "a", 3, 1, "LOGIN", 0, 0),
		op(2*ms, "a", 3, "desktop", 1, "RETRY", 0, 0, 5*ms, 0),
		step(5*ms, "a", 3, 0, "STATUS", 2, 5*ms),
		op(1*ms, "b", -1, "mx", -1, "LMTP", 0, 100, 0, 0),
		op(7*ms, "b", 0, "phone", 0, "SESSION", 0, 0, 7*ms, time.Second),
	}
	got := viaFile(t, ops)
	want := slices.Clone(ops)
	slices.SortStableFunc(want, func(a, b workloads.TraceOp) int { return int(a.At - b.At) })
	if !slices.Equal(got, want) {
		t.Errorf("ReadOps gave\n%+v\nwant\n%+v", got, want)
	}
	if _, err := ReadOps("bad", strings.NewReader("not a trace\n")); err == nil {
		t.Errorf("ReadOps accepted a file that is not a trace")
	}
}
