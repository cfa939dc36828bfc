package experiments

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailsim/mailsim/model"
	"github.com/mailsim/mailsim/strategies"
	"github.com/mailsim/mailsim/workloads"
)

// TestLoadTestKeys decodes the keys of an imaptest drill: an imaptest
// load, real backend addresses, actions and director settings.
func TestLoadTestKeys(t *testing.T) {
	in := `strategies = ["director"]
[cluster]
backend_addresses = ["127.0.0.11", "127.0.0.12:50", "127.0.0.13", "127.0.0.14"]
[dovecot]
director_user_kick_delay = "0s"
director_max_parallel_moves = 7
directors = 3
director_ring_sync_delay = "500ms"
[workload.imaptest]
clients = 40
user = "user%04d"
users = [0, 199]
on_login_failure = "new-user"
[workload.imaptest.states]
store = 0
[[actions]]
at = "25s"
do = "director down 127.0.0.12"
[[actions]]
at = "26s"
do = "director vhost 3 10"
[[actions]]
at = "27s"
do = "backend stop 127.0.0.14"
`
	s, err := Decode[Spec]("drill.toml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if s.Cluster.Backends != 4 || s.Workload.Users != 200 {
		t.Errorf("backends %d, users %d: the addresses and the range fix them", s.Cluster.Backends, s.Workload.Users)
	}
	cfg := s.Model()
	if cfg.Imaptest.Clients != 40 || cfg.Imaptest.OnLoginFailure != workloads.NewUser || cfg.Imaptest.Probability[workloads.StateStore] != 0 || cfg.Imaptest.Probability[workloads.StateFetch2] != 100 {
		t.Errorf("imaptest %+v", cfg.Imaptest)
	}
	if cfg.Population.Desktop+cfg.Population.Phone+cfg.Population.Webmail != 0 || cfg.Population.UserTemplate != "user%04d" {
		t.Errorf("population %+v", cfg.Population)
	}
	want := []model.Action{
		{At: 25 * 1e9, Kind: model.DirectorDown, Backend: 1, Text: "director down 127.0.0.12"},
		{At: 26 * 1e9, Kind: model.DirectorVhost, Backend: 3, Vhosts: 10, Text: "director vhost 3 10"},
		{At: 27 * 1e9, Kind: model.BackendStop, Backend: 3, Text: "backend stop 127.0.0.14"},
	}
	if len(cfg.Actions) != len(want) {
		t.Fatalf("actions %+v", cfg.Actions)
	}
	for i := range want {
		if cfg.Actions[i] != want[i] {
			t.Errorf("action %d: %+v, want %+v", i, cfg.Actions[i], want[i])
		}
	}
	p := s.RouterParams()
	if p.Director.UserKickDelay != strategies.NoKickDelay || p.Director.MaxParallelMoves != 7 || p.Director.Directors != 3 || p.Director.SyncDelay != 500*time.Millisecond {
		t.Errorf("director params %+v", p.Director)
	}
	r, err := s.Router("director", 1)
	if err != nil {
		t.Fatal(err)
	}
	d := r.(*strategies.Director)
	if d.BackendAddr(1) != netip.MustParseAddr("127.0.0.12") {
		t.Errorf("backend 1 is %v", d.BackendAddr(1))
	}
	// The ring places users as a real director with these addresses and
	// vhost counts does.
	bs, _ := strategies.ParseBackends("127.0.0.11,127.0.0.12:50,127.0.0.13,127.0.0.14", 100)
	ref, err := strategies.New("director", bs, strategies.Params{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for n := range 200 {
		name := fmt.Sprintf("user%04d", n)
		if a, b := d.HashBackend(name), ref.(*strategies.Director).HashBackend(name); a != b {
			t.Fatalf("%s: backend %d, a director configured alike picks %d", name, a, b)
		}
	}
}

// TestLoadTestKeyErrors checks that each bad value is refused at its key
// and line.
func TestLoadTestKeyErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"bad address", "[cluster]\nbackend_addresses = [\"10.0.0.1\", \"nowhere\"]\n", `t.toml:2:21: backend "nowhere": "nowhere" is not an IP address (key cluster.backend_addresses)`},
		{"count disagrees", "[cluster]\nbackends = 3\nbackend_addresses = [\"10.0.0.1\", \"10.0.0.2\"]\n", `t.toml:2:12: cluster.backends is 3 but cluster.backend_addresses lists 2 hosts`},
		{"vhost too large", "[cluster]\nbackend_addresses = [\"10.0.0.1:5000\"]\n", `vhost count 5000 is above doveadm's maximum of 1000`},
		{"unknown action", "[[actions]]\nat = \"1s\"\ndo = \"director explode 0\"\n", `t.toml:3:6: "director explode 0": unknown action "director explode"`},
		{"unknown host", "[[actions]]\ndo = \"director down 192.0.2.1\"\n", `192.0.2.1 is not one of the backends' addresses (key actions[0].do)`},
		{"host index out of range", "[[actions]]\ndo = \"backend stop 9\"\n", `backend 9 does not exist (4 backends, numbered from 0)`},
		{"vhost without a count", "[[actions]]\ndo = \"director vhost 1\"\n", `director vhost needs a vhost count`},
		{"trailing words", "[[actions]]\ndo = \"director flush 1 now\"\n", `unexpected "now"`},
		{"template without %d", "[workload.imaptest]\nclients = 4\nuser = \"bob\"\n", `user template "bob" has no %d`},
		{"empty range", "[workload.imaptest]\nclients = 4\nusers = [9, 3]\n", `the last user 3 is before the first 9`},
		{"one number", "[workload.imaptest]\nclients = 4\nusers = [9]\n", `users needs two numbers`},
		{"users disagree", "[workload]\nusers = 10\n[workload.imaptest]\nclients = 4\nusers = [1, 5]\n", `t.toml:2:9: workload.users is 10 but workload.imaptest.users covers 5 users`},
		{"bad failure policy", "[workload.imaptest]\nclients = 4\non_login_failure = \"give-up\"\n", `on_login_failure`},
		{"probability above 100", "[workload.imaptest.states]\nfetch = 120\n", `t.toml:2:9:`},
		{"passdb-static without a map", "strategies = [\"passdb-static\"]\n", `the passdb-static strategy needs a map: a CSV file of user,host rows (key dovecot.passdb_map)`},
		{"with a trace", "[workload]\ntrace = \"x.trace\"\n[workload.imaptest]\nclients = 4\n", `a trace cannot be replayed with an imaptest load`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode[Spec]("t.toml", []byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant an error containing %q", err, tc.want)
			}
		})
	}
}

// TestPassdbMapFile checks that passdb-static reads its map next to the
// spec and names the file and line of a bad row.
func TestPassdbMapFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Decode[Spec]("t.toml", []byte("strategies = [\"passdb-static\"]\n[dovecot]\npassdb_map = \"map.csv\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RouterIn("passdb-static", 1, dir); err == nil || !strings.Contains(err.Error(), "dovecot.passdb_map") {
		t.Errorf("missing file: %v", err)
	}
	write("map.csv", "user,host\nuser000000@example.net,10.0.0.1\nuser000001@example.net,10.9.9.9\n")
	if _, err := s.RouterIn("passdb-static", 1, dir); err == nil || !strings.Contains(err.Error(), "map.csv:3") {
		t.Errorf("a host that is no backend: %v", err)
	}
	write("map.csv", "user000000@example.net,10.0.0.2\n")
	r, err := s.RouterIn("passdb-static", 1, dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := r.Route(strategies.Request{User: "user000000@example.net"}); d.Backend != 1 {
		t.Errorf("mapped user routed to %d, want 1", d.Backend)
	}
}
