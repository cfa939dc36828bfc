package strategies

import (
	"fmt"
	"math"
	"net/netip"
	"testing"
	"time"
)

func testBackends(n, weight int) []Backend {
	bs := make([]Backend, n)
	for i := range bs {
		bs[i] = Backend{Addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), Weight: weight}
	}
	return bs
}

func newTestDirector(t testing.TB, name string, n int, p Params) *Director {
	t.Helper()
	r, err := New(name, testBackends(n, DefaultVhostCount), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r.(*Director)
}

// userOn returns a user name that a fresh director over n test backends
// hashes to backend b, and, if other ≥ 0, to backend other once b is
// down.
func userOn(t testing.TB, n, b, other int) string {
	t.Helper()
	fresh := newTestDirector(t, DirectorRing, n, Params{})
	without := newTestDirector(t, DirectorRing, n, Params{})
	without.SetDown(0, b, true)
	for i := 0; i < 100000; i++ {
		u := fmt.Sprintf("user%d", i)
		if fresh.HashBackend(u) == b && (other < 0 || without.HashBackend(u) == other) {
			return u
		}
	}
	t.Fatalf("no user on backend %d", b)
	return ""
}

const s = time.Second

// step is one event of a director scenario.
type step struct {
	at   time.Duration
	op   string // login, lookup, down, up, flush, reset, add, vhost0
	user string
	b    int // backend for down/up/flush/reset/vhost0
	want int // backend a login or lookup must give (-1: none)
	// for login: the delay wanted; for flush/reset: moves wanted
	delay time.Duration
	moves []Move
}

// TestDirectorUserTable scripts the user table's behaviour. The host
// operations' effects (HOST-DOWN keeping an entry, HOST-RESET-USERS moving
// it to the ring's host and renewing it, HOST-FLUSH deleting it, adding a
// host or setting vhost count 0 moving nobody) agree with what a Dovecot
// 2.3.19.1 director's "doveadm director status USER" reports after the
// same doveadm commands.
func TestDirectorUserTable(t *testing.T) {
	u0 := userOn(t, 3, 0, 1) // on backend 0, on 1 once 0 is down
	u1 := userOn(t, 3, 1, -1)
	h0 := UserHash(u0)
	tests := []struct {
		name   string
		p      Params
		steps  []step
		hosts0 int
	}{
		{name: "entry expires director_user_expire after the last request", steps: []step{
			{at: 0, op: "login", user: u0, want: 0},
			{at: 899 * s, op: "lookup", user: u0, want: 0},
			{at: 900 * s, op: "lookup", user: u0, want: -1},
		}},
		{name: "whole seconds: a request at 0.9 s counts as 0 s", steps: []step{
			{at: 900 * time.Millisecond, op: "login", user: u0, want: 0},
			{at: 900*s + 100*time.Millisecond, op: "lookup", user: u0, want: -1},
		}},
		{name: "every request renews the entry", steps: []step{
			{at: 0, op: "login", user: u0, want: 0},
			{at: 800 * s, op: "login", user: u0, want: 0},
			{at: 1699 * s, op: "lookup", user: u0, want: 0},
			{at: 1700 * s, op: "lookup", user: u0, want: -1},
		}},
		{name: "down keeps assignments and logins that fail at the dead host renew them", steps: []step{
			{at: 0, op: "login", user: u0, want: 0},
			{at: 10 * s, op: "down", b: 0},
			{at: 800 * s, op: "login", user: u0, want: 0},
			{at: 1600 * s, op: "login", user: u0, want: 0},
			{at: 1700 * s, op: "login", user: u1, want: 1},
			{at: 2499 * s, op: "lookup", user: u0, want: 0},
			{at: 2500 * s, op: "lookup", user: u0, want: -1},
			{at: 2500 * s, op: "login", user: u0, want: 1},
		}},
		{name: "without a monitor an expired user is hashed back to the dead host", steps: []step{
			{at: 0, op: "login", user: u0, want: 0},
			{at: 5000 * s, op: "login", user: u0, want: 0},
		}},
		{name: "a new user skips a down host", steps: []step{
			{at: 0, op: "down", b: 0},
			{at: 1 * s, op: "login", user: u0, want: 1},
			{at: 2 * s, op: "up", b: 0},
			{at: 3 * s, op: "login", user: u0, want: 1},
		}},
		{name: "HOST-FLUSH deletes entries without kicking", steps: []step{
			{at: 0, op: "login", user: u0, want: 0},
			{at: 0, op: "login", user: u1, want: 1},
			{at: 10 * s, op: "down", b: 0},
			{at: 10 * s, op: "flush", b: 0, moves: []Move{{Hash: h0, User: u0, From: 0, To: -1, At: 10 * s, Done: 10 * s}}},
			{at: 10 * s, op: "lookup", user: u0, want: -1},
			{at: 11 * s, op: "login", user: u0, want: 1},
			{at: 11 * s, op: "lookup", user: u1, want: 1},
		}},
		{name: "HOST-FLUSH of an up host rehashes users to it", steps: []step{
			{at: 0, op: "login", user: u0, want: 0},
			{at: 10 * s, op: "flush", b: 0, moves: []Move{{Hash: h0, User: u0, From: 0, To: -1, At: 10 * s, Done: 10 * s}}},
			{at: 11 * s, op: "login", user: u0, want: 0},
		}},
		{name: "HOST-RESET-USERS moves and kicks, logins wait for the kick delay", steps: []step{
			{at: 0, op: "login", user: u0, want: 0},
			{at: 10 * s, op: "down", b: 0},
			{at: 10 * s, op: "reset", b: 0, moves: []Move{{Hash: h0, User: u0, From: 0, To: 1, Kicked: true, At: 10 * s, Done: 12 * s}}},
			{at: 11 * s, op: "login", user: u0, want: 1, delay: 1 * s},
			{at: 12 * s, op: "login", user: u0, want: 1},
			{at: 912 * s, op: "lookup", user: u0, want: -1},
		}},
		{name: "a finished move counts for a later HOST-RESET-USERS", steps: []step{
			{at: 0, op: "login", user: u0, want: 0},
			{at: 10 * s, op: "down", b: 0},
			{at: 10 * s, op: "reset", b: 0, moves: []Move{{Hash: h0, User: u0, From: 0, To: 1, Kicked: true, At: 10 * s, Done: 12 * s}}},
			{at: 100 * s, op: "down", b: 1},
			{at: 100 * s, op: "reset", b: 1, moves: []Move{{Hash: h0, User: u0, From: 1, To: 2, Kicked: true, At: 100 * s, Done: 102 * s}}},
			{at: 103 * s, op: "login", user: u0, want: 2},
		}},
		{name: "a HOST-RESET-USERS move renews the entry", steps: []step{
			{at: 0, op: "login", user: u0, want: 0},
			{at: 1 * s, op: "login", user: u1, want: 1},
			{at: 899 * s, op: "down", b: 0},
			{at: 899 * s, op: "reset", b: 0, moves: []Move{{Hash: h0, User: u0, From: 0, To: 1, Kicked: true, At: 899 * s, Done: 901 * s}}},
			{at: 900 * s, op: "lookup", user: u0, want: 1}, // renewed by the move
			{at: 901 * s, op: "lookup", user: u1, want: -1},
		}},
		{name: "HOST-RESET-USERS leaves users whose ring host is unchanged", steps: []step{
			{at: 0, op: "login", user: u0, want: 0},
			{at: 10 * s, op: "reset", b: 0, moves: nil},
			{at: 11 * s, op: "login", user: u0, want: 0},
		}},
		{name: "HOST-RESET-USERS with no host left kicks and deletes", steps: []step{
			{at: 0, op: "login", user: u0, want: 0},
			{at: 1 * s, op: "down", b: 0},
			{at: 1 * s, op: "down", b: 1},
			{at: 1 * s, op: "down", b: 2},
			{at: 2 * s, op: "reset", b: 0, moves: []Move{{Hash: h0, User: u0, From: 0, To: -1, Kicked: true, At: 2 * s, Done: 2 * s}}},
			{at: 3 * s, op: "login", user: u0, want: -1, delay: 30 * s},
		}},
		{name: "adding a host or changing vhosts moves nobody", hosts0: 2, steps: []step{
			{at: 0, op: "login", user: u0, want: 0},
			{at: 0, op: "login", user: u1, want: 1},
			{at: 1 * s, op: "add", b: 2},
			{at: 1 * s, op: "vhost0", b: 0},
			{at: 2 * s, op: "login", user: u0, want: 0},
			{at: 2 * s, op: "login", user: u1, want: 1},
		}},
		{name: "a lone director keeps a near-expiry user on its host", steps: []step{
			{at: 0, op: "login", user: u0, want: 0},
			{at: 1 * s, op: "vhost0", b: 0},
			{at: 875 * s, op: "login", user: u0, want: 0},
		}},
		{name: "several directors move a near-expiry user by the weak protocol",
			p: Params{Director: DirectorParams{Directors: 3, SyncDelay: 500 * time.Millisecond}},
			steps: []step{
				{at: 0, op: "login", user: u0, want: 0},
				{at: 1 * s, op: "vhost0", b: 0},
				{at: 100 * s, op: "login", user: u0, want: 0},
				{at: 969 * s, op: "login", user: u0, want: 0},                                 // 100+900-30 = 970: not yet near expiry
				{at: 1850 * s, op: "login", user: u0, want: 1, delay: 500 * time.Millisecond}, // 969+870 < 1850 < 969+900
				{at: 1851 * s, op: "login", user: u0, want: 1},
			}},
		{name: "new users wait for the ring to sync, known users do not",
			p: Params{Director: DirectorParams{Directors: 2, SyncDelay: 800 * time.Millisecond}},
			steps: []step{
				{at: 10 * s, op: "login", user: u0, want: 0},
				{at: 20 * s, op: "down", b: 2},
				{at: 20*s + 300*time.Millisecond, op: "login", user: u1, want: 1, delay: 500 * time.Millisecond},
				{at: 20*s + 300*time.Millisecond, op: "login", user: u0, want: 0},
			}},
		{name: "no usable host: the login fails after the request timeout", steps: []step{
			{at: 0, op: "down", b: 0},
			{at: 0, op: "down", b: 1},
			{at: 0, op: "down", b: 2},
			{at: 1 * s, op: "login", user: u0, want: -1, delay: 30 * s},
			{at: 2 * s, op: "up", b: 2},
			{at: 3 * s, op: "login", user: u0, want: 2},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := 3
			if tc.hosts0 > 0 {
				n = tc.hosts0
			}
			r, err := New(DirectorRing, testBackends(n, DefaultVhostCount), tc.p, nil)
			if err != nil {
				t.Fatal(err)
			}
			d := r.(*Director)
			for k, st := range tc.steps {
				switch st.op {
				case "login":
					dec := d.Route(Request{Now: st.at, User: st.user})
					if dec.Backend != st.want || dec.Delay != st.delay || dec.Hops != 1 || !dec.TerminatesTLS {
						t.Errorf("step %d: login %s at %v = %+v, want backend %d delay %v", k, st.user, st.at, dec, st.want, st.delay)
					}
				case "lookup":
					got, ok := d.Lookup(st.at, st.user)
					if got != st.want || ok != (st.want >= 0) {
						t.Errorf("step %d: lookup %s at %v = %d, %v; want %d", k, st.user, st.at, got, ok, st.want)
					}
				case "down", "up":
					d.SetDown(st.at, st.b, st.op == "down")
				case "add":
					if _, err := d.AddHost(st.at, testBackends(st.b+1, DefaultVhostCount)[st.b]); err != nil {
						t.Fatal(err)
					}
				case "vhost0":
					if err := d.SetVhostCount(st.at, st.b, 0); err != nil {
						t.Fatal(err)
					}
				case "flush", "reset":
					var moves []Move
					if st.op == "flush" {
						moves = d.FlushHost(st.at, st.b)
					} else {
						moves = d.ResetUsers(st.at, st.b)
					}
					if fmt.Sprint(moves) != fmt.Sprint(st.moves) {
						t.Errorf("step %d: %s = %+v, want %+v", k, st.op, moves, st.moves)
					}
				default:
					t.Fatalf("bad op %q", st.op)
				}
			}
		})
	}
}

func TestDirectorResetUsersParallelMoves(t *testing.T) {
	for _, tc := range []struct {
		users, parallel int
		sync            time.Duration
		lastAt          time.Duration
	}{
		{250, 100, 0, 4 * s},                               // batches start at 0, 2, 4 s
		{250, 100, 500 * time.Millisecond, 5 * s},          // each move 2.5 s
		{100, 100, 0, 0},                                   // one batch
		{7, 3, time.Second, 2 * (3 * s)},                   // three batches of ≤3, 3 s each
		{250, DefaultMaxParallelMoves, 0, 4 * time.Second}, // the default
	} {
		p := Params{Director: DirectorParams{MaxParallelMoves: tc.parallel, Directors: 2, SyncDelay: tc.sync}}
		d := newTestDirector(t, DirectorRing, 2, p)
		n := 0
		for i := 0; n < tc.users; i++ {
			u := fmt.Sprintf("user%d", i)
			if d.HashBackend(u) == 0 {
				d.Route(Request{User: u})
				n++
			}
		}
		d.SetDown(10*s, 0, true)
		moves := d.ResetUsers(10*s, 0)
		if len(moves) != tc.users {
			t.Fatalf("%+v: %d moves, want %d", tc, len(moves), tc.users)
		}
		step := tc.sync + DefaultUserKickDelay
		for k, m := range moves {
			wantAt := 10*s + time.Duration(k/tc.parallel)*step
			if m.At != wantAt || m.Done != wantAt+step || m.To != 1 || !m.Kicked {
				t.Fatalf("%+v: move %d = %+v, want at %v", tc, k, m, wantAt)
			}
		}
		if got := moves[len(moves)-1].At - 10*s; got != tc.lastAt {
			t.Errorf("%+v: last move starts %v after the reset, want %v", tc, got, tc.lastAt)
		}
		// A user whose move has not started is still sent to the old host.
		last := moves[len(moves)-1]
		if dec := d.Route(Request{Now: last.At - time.Millisecond, User: last.User}); tc.lastAt > 0 && dec.Backend != 0 {
			t.Errorf("%+v: before its move a user went to %d", tc, dec.Backend)
		}
		if loads := d.Loads(last.Done, nil); loads[0] != 0 || loads[1] != tc.users {
			t.Errorf("%+v: loads after the moves %v", tc, loads)
		}
	}
}

func TestBoundedLoadsNeverExceedCapacity(t *testing.T) {
	for _, tc := range []struct {
		eps     float64
		weights []int
		divert  bool // the ring alone would exceed a capacity
	}{
		{0.25, []int{100, 100, 100, 100, 100}, true},
		{0.1, []int{100, 100, 100, 100, 100, 100, 100}, true},
		{0.5, []int{50, 100, 200}, false},
		{1, []int{100, 0, 100}, false},
		{0.05, []int{50, 100, 200}, true},
	} {
		bs := testBackends(len(tc.weights), 0)
		sumW := 0
		for i, w := range tc.weights {
			bs[i].Weight = w
			sumW += w
		}
		r, err := New(DirectorBounded, bs, Params{Bounded: BoundedParams{Epsilon: tc.eps}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		d := r.(*Director)
		ring := newTestDirector(t, DirectorRing, 1, Params{})
		for i := range bs[1:] {
			ring.AddHost(0, bs[i+1])
		}
		ring.SetVhostCount(0, 0, bs[0].Weight)
		diverted := 0
		for n := 1; n <= 3000; n++ {
			u := fmt.Sprintf("user%d", n)
			b := d.Route(Request{User: u}).Backend
			if b != ring.HashBackend(u) {
				diverted++
			}
			loads := d.Loads(0, nil)
			for i, l := range loads {
				c := int(math.Ceil((1 + tc.eps) * float64(n) * float64(tc.weights[i]) / float64(sumW)))
				if l > c {
					t.Fatalf("eps %v: after %d users backend %d has %d > capacity %d", tc.eps, n, i, l, c)
				}
			}
		}
		if tc.divert && diverted == 0 {
			t.Errorf("eps %v: no user was diverted from its ring backend", tc.eps)
		}
	}
}

func TestDirectorRejectsBadBackends(t *testing.T) {
	for _, bs := range [][]Backend{
		{{Addr: netip.MustParseAddr("10.0.0.1"), Weight: 1001}},
		{{Addr: netip.MustParseAddr("10.0.0.1"), Weight: -1}},
		{{Weight: 100}},
		{{Addr: netip.MustParseAddr("10.0.0.1"), Weight: 1}, {Addr: netip.MustParseAddr("10.0.0.1"), Weight: 1}},
		{{Addr: netip.MustParseAddr("fe80::1%eth0"), Weight: 1}},
	} {
		if _, err := New(DirectorRing, bs, Params{}, nil); err == nil {
			t.Errorf("New accepted %v", bs)
		}
	}
}

func TestDirectorSharesFollowVhostCounts(t *testing.T) {
	// Dovecot's documented example: vhost counts 50/100/200 give about
	// 14 %, 29 % and 57 % of new users.
	bs := testBackends(3, 0)
	bs[0].Weight, bs[1].Weight, bs[2].Weight = 50, 100, 200
	users := make([]string, 100000)
	for i := range users {
		users[i] = fmt.Sprintf("user%d@example.com", i)
	}
	for _, name := range []string{DirectorRing, DirectorMaglev, DirectorBounded} {
		sh, err := Shares(name, bs, users, Params{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: shares %.3f", name, sh)
		for i, want := range []float64{50.0 / 350, 100.0 / 350, 200.0 / 350} {
			// The ring's 350 points leave a few percent of noise.
			tol := 0.04
			if name == DirectorMaglev {
				tol = 0.01
			}
			if math.Abs(sh[i]-want) > tol {
				t.Errorf("%s: backend %d share %.3f, want %.3f±%.2f", name, i, sh[i], want, tol)
			}
		}
	}
}
