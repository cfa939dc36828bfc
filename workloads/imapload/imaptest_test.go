package imapload

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/workloads"
)

// imaptestLoad returns imaptest's defaults with n clients on users
// user0..user(users-1).
func imaptestLoad(n, users int) workloads.Imaptest {
	t := workloads.DefaultImaptest()
	t.Clients, t.User, t.First, t.Last = n, "user%d", 0, users-1
	return t
}

func TestImaptestPasses(t *testing.T) {
	var users []fakeUser
	for i := range 4 {
		users = append(users, fakeUser{fmt.Sprintf("user%d", i), "pw", 5})
	}
	im := startIMAP(t, users, []string{"INBOX"}, []string{"b1", "b2"}, slowness{})
	cfg := Config{IMAP: im.addr, Password: "pw", Duration: 1500 * ms, Interval: 500 * ms, Timeout: 2 * time.Second}
	m, err := RunImaptest(context.Background(), cfg, Imaptest{Load: imaptestLoad(4, 4), Seed: 1, MessageBytes: 600, Source: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if m.LoginsOK < 8 || m.LoginsFailed != 0 {
		t.Fatalf("logins ok %d failed %d; want at least 8 and none: %+v", m.LoginsOK, m.LoginsFailed, m.Events)
	}
	if got := sumIntervals(m, func(iv Interval) uint64 { return iv.LoginsOK }); got != m.LoginsOK {
		t.Errorf("intervals hold %d logins, the total is %d", got, m.LoginsOK)
	}
	for _, e := range m.Errors {
		t.Errorf("failed command: %+v", e)
	}
	// Every pass selects, fetches, deletes, expunges, appends and logs
	// out; LIST, STATUS and STORE run in about half of them.
	passes := m.Latency["LOGOUT"].N
	if passes < m.LoginsOK-4 {
		t.Errorf("%d LOGOUTs after %d logins", passes, m.LoginsOK)
	}
	for _, c := range []string{"SELECT", "FETCH", "FETCHBODY", "EXPUNGE", "APPEND", "STORE"} {
		if n := m.Latency[c].N; n < passes {
			t.Errorf("%s answered %d times in %d passes", c, n, passes)
		}
	}
	for _, c := range []string{"LIST", "STATUS"} {
		if n := m.Latency[c].N; n == 0 || n > m.LoginsOK {
			t.Errorf("%s answered %d times in %d logins", c, n, m.LoginsOK)
		}
	}
	if m.AutoSelects != 0 {
		t.Errorf("%d automatic SELECTs with SELECT at 100 %%", m.AutoSelects)
	}
	var backends uint64
	for _, b := range m.Backends {
		if b.Name == "b1" || b.Name == "b2" {
			backends += b.LoginsOK
		}
	}
	if backends != m.LoginsOK {
		t.Errorf("backends named for %d of %d logins: %+v", backends, m.LoginsOK, m.Backends)
	}
}

func TestImaptestLoginFailures(t *testing.T) {
	cases := []struct {
		name    string
		clients int
		policy  workloads.LoginFailure
		// most distinct users the failures may name
		most int
		// least distinct users they must name
		least int
	}{
		// Stock imaptest: a client that fails reconnects as the same
		// user, so the failures name at most one user per client.
		{"same user", 3, workloads.SameUser, 3, 1},
		// Without a successful login, only the first 100 clients run.
		{"first hundred", 150, workloads.SameUser, 100, 50},
		{"new user", 3, workloads.NewUser, 1000, 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			load := imaptestLoad(tc.clients, 1000)
			load.OnLoginFailure = tc.policy
			load.Reconnect = sim.FromDuration(50 * ms)
			cfg := Config{IMAP: closedAddr(t), Password: "pw", Duration: time.Second, Interval: 250 * ms, Timeout: time.Second}
			m, err := RunImaptest(context.Background(), cfg, Imaptest{Load: load, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			if m.LoginsOK != 0 || m.LoginsFailed < uint64(5*min(tc.clients, 100)) {
				t.Fatalf("logins ok %d failed %d; want none and at least %d", m.LoginsOK, m.LoginsFailed, 5*min(tc.clients, 100))
			}
			names := map[string]bool{}
			for _, e := range m.Events {
				if e.Kind == EventLoginFailed {
					names[e.User] = true
				}
			}
			if len(names) > tc.most || len(names) < tc.least {
				t.Errorf("failures name %d users; want %d..%d", len(names), tc.least, tc.most)
			}
		})
	}
}

func TestImaptestDrawsAreSeeded(t *testing.T) {
	run := func(seed uint64) string {
		load := imaptestLoad(2, 1000)
		load.Reconnect = sim.FromDuration(20 * ms)
		cfg := Config{IMAP: closedAddr(t), Password: "pw", Duration: 300 * ms, Timeout: time.Second}
		m, err := RunImaptest(context.Background(), cfg, Imaptest{Load: load, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		var users []string
		for _, e := range m.Events {
			if !seen[e.User] {
				seen[e.User] = true
				users = append(users, e.User)
			}
		}
		if len(users) != 2 {
			t.Fatalf("two same-user clients failed as %v", users)
		}
		if users[0] > users[1] {
			users[0], users[1] = users[1], users[0]
		}
		return strings.Join(users, " ")
	}
	a, b, c := run(1), run(1), run(2)
	if a != b {
		t.Errorf("seed 1 drew %q, then %q", a, b)
	}
	if a == c {
		t.Errorf("seeds 1 and 2 both drew %q", a)
	}
}

func TestImaptestConfigErrors(t *testing.T) {
	load := imaptestLoad(1, 10)
	cases := []struct {
		name string
		cfg  Config
		t    Imaptest
		want string
	}{
		{"no entry point", Config{Duration: time.Second}, Imaptest{Load: load}, "Config.IMAP"},
		{"no clients", Config{IMAP: "127.0.0.1:1", Duration: time.Second}, Imaptest{Load: imaptestLoad(0, 10)}, "at least one client"},
		{"bad template", Config{IMAP: "127.0.0.1:1", Duration: time.Second}, Imaptest{Load: func() workloads.Imaptest { l := load; l.User = "user"; return l }()}, "no %d"},
		{"foreign source", Config{IMAP: "127.0.0.1:1", Duration: time.Second}, Imaptest{Load: load, Source: "192.0.2.77"}, "not local"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := RunImaptest(context.Background(), tc.cfg, tc.t)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}
