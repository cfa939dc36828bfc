package testbed

import (
	"math"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailsim/mailsim/model"
	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/workloads"
	"github.com/mailsim/mailsim/workloads/imapload"
	"github.com/mailsim/mailsim/workloads/testbed/guest"
)

// drillCluster is the imaptest drill's cluster in small: four backends on
// loopback addresses, a director, imaptest's clients on user0000..user0019,
// backend 1 killed at 20 s, then doveadm director down and flush.
func drillCluster() *Cluster {
	c := smallCluster("director")
	cfg := &c.Config
	cfg.Backends = 4
	cfg.Warmup, cfg.Duration = 0, sim.Time(60*time.Second)
	cfg.Population.Users, cfg.Population.Folders = 20, 0
	cfg.Population.InboxMessagesMedian, cfg.Population.InboxMessagesSigma = 30, 0
	cfg.Population.MaxFolderMessages = 100000 // the default: the messages drawn decide
	cfg.Population.Desktop, cfg.Population.Phone, cfg.Population.Webmail = 0, 0, 0
	cfg.Population.UserTemplate, cfg.Population.FirstUser = "user%04d", 0
	cfg.Imaptest = workloads.DefaultImaptest()
	cfg.LoginServiceCount = 0
	cfg.Imaptest.Clients, cfg.Imaptest.User, cfg.Imaptest.First, cfg.Imaptest.Last = 40, "user%04d", 0, 19
	cfg.Faults = []model.Fault{{At: sim.Time(20 * time.Second), Backend: 1, Kind: model.Crash}}
	cfg.Actions = []model.Action{
		{At: sim.Time(26 * time.Second), Kind: model.DirectorFlush, Backend: 1, Text: "director flush 127.0.0.12"},
		{At: sim.Time(25 * time.Second), Kind: model.DirectorDown, Backend: 1, Text: "director down 127.0.0.12"},
	}
	c.Backends = nil
	for _, a := range []string{"127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"} {
		c.Backends = append(c.Backends, netip.MustParseAddr(a))
	}
	c.SampleInterval = time.Second
	return c
}

// TestImaptestDrillGuest: an imaptest spec runs imaptest's clients from
// the load generator's address instead of a trace, with Maildirs named by
// the user template, the director's user table sampled every interval,
// the operator's doveadm commands at their times, and login processes in
// high-performance mode.
func TestImaptestDrillGuest(t *testing.T) {
	c := drillCluster()
	if errs := c.Check(); len(errs) != 0 {
		t.Fatalf("the drill is refused: %v", errs)
	}
	g, err := c.OneKernel(TraceFile)
	if err != nil {
		t.Fatal(err)
	}
	l := g.Load
	if l.Imaptest == nil || l.Imaptest.Load.Clients != 40 || l.Imaptest.Source != "198.18.0.1" || l.Imaptest.Seed != c.Seed {
		t.Fatalf("imaptest load %+v", l.Imaptest)
	}
	if len(l.Sources) != 0 {
		t.Errorf("device sources beside imaptest: %v", l.Sources)
	}
	if l.Sample == nil || l.Sample.Socket != directorAdmin || !strings.HasSuffix(l.Sample.Request, "\nHOST-LIST\n") || l.Sample.Interval != time.Second {
		t.Errorf("director sample %+v", l.Sample)
	}
	if p := g.Server.Populate; len(p) != 20 || p[0].Path != "user0000/Maildir" || !reflect.DeepEqual(p[0].Folders, []int{30}) {
		t.Errorf("Maildirs %d, first %+v", len(p), p[0])
	}
	var routed bool
	for _, st := range g.Steps {
		if st.Command != nil && strings.Join(st.Command.Argv, " ") == "ip route add local 198.18.0.0/15 dev lo" {
			routed = true
		}
	}
	if !routed {
		t.Error("the load generator's range is not routed locally")
	}
	want := []guest.Fault{
		{At: 20 * time.Second, Kind: "crash", Service: "b2"},
		ask(25*time.Second, "HOST-DOWN\t127.0.0.12", "director down", "127.0.0.12"),
		ask(26*time.Second, "HOST-RESET-USERS\t127.0.0.12", "director flush", "127.0.0.12"),
	}
	if !reflect.DeepEqual(g.Faults, want) {
		t.Errorf("faults and actions\n%+v\nwant\n%+v", g.Faults, want)
	}
	for _, f := range g.Files {
		if strings.HasSuffix(f.Path, ".conf") && strings.HasPrefix(f.Path, "/etc/dovecot/") && !strings.Contains(f.Content, "  service_count = 0\n  process_min_avail = 1\n}") {
			t.Errorf("%s: login processes not in high-performance mode", f.Path)
		}
	}
}

func TestActionsOnTheTestbed(t *testing.T) {
	c := drillCluster()
	c.Config.Actions = []model.Action{
		{At: sim.Time(time.Second), Kind: model.DirectorFlushForce, Backend: 0, Text: "director flush-force 127.0.0.11"},
		{At: sim.Time(2 * time.Second), Kind: model.DirectorUp, Backend: 3, Text: "director up 3"},
		{At: sim.Time(3 * time.Second), Kind: model.DirectorAdd, Backend: 2, Vhosts: 50, Text: "director add 127.0.0.13 50"},
		{At: sim.Time(4 * time.Second), Kind: model.DirectorRemove, Backend: 2, Text: "director remove 127.0.0.13"},
		{At: sim.Time(5 * time.Second), Kind: model.BackendStop, Backend: 1, Text: "backend stop 127.0.0.12"},
		{At: sim.Time(9 * time.Second), Kind: model.BackendStart, Backend: 1, Text: "backend start 127.0.0.12"},
	}
	c.Config.Faults = nil
	got := c.actions()
	want := []guest.Fault{
		ask(time.Second, "HOST-FLUSH\t127.0.0.11", "director flush-force", "127.0.0.11"),
		ask(2*time.Second, "HOST-UP\t127.0.0.14", "director up", "3"),
		ask(3*time.Second, "HOST-SET\t127.0.0.13\t50", "director add", "127.0.0.13 50"),
		ask(4*time.Second, "HOST-REMOVE\t127.0.0.13", "director remove", "127.0.0.13"),
		{At: 5 * time.Second, Kind: "stop", Service: "b2", Event: "action.backend stop", Detail: "127.0.0.12"},
		{At: 9 * time.Second, Kind: "start", Service: "b2", Event: "action.backend start", Detail: "127.0.0.12"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("actions\n%+v\nwant\n%+v", got, want)
	}
	for _, tc := range []struct {
		at   time.Duration
		want bool
	}{{4 * time.Second, true}, {5 * time.Second, false}, {8 * time.Second, false}, {9 * time.Second, true}} {
		if got := c.serving(1, tc.at); got != tc.want {
			t.Errorf("backend 1 serving at %v: %v, want %v", tc.at, got, tc.want)
		}
	}

	// Beside HAProxy, a flush is only recorded, as in the model.
	c.Strategy = "random"
	c.Config.Actions = c.Config.Actions[:1]
	if got := c.actions(); len(got) != 1 || got[0].Kind != "note" || !strings.Contains(got[0].Detail, "ignored") {
		t.Errorf("flush beside HAProxy: %+v", got)
	}
}

func TestDirectorColumns(t *testing.T) {
	c := drillCluster()
	reply := func(users ...int) string {
		s := "VERSION\tdirector-doveadm\t1\t0\n"
		for i, u := range users {
			s += c.Backends[i].String() + "\t100\t" + strconv.Itoa(u) + "\t\tU\t0\n"
		}
		return s
	}
	m := &imapload.Measurements{Warmup: 0, Duration: 4 * time.Second, Interval: time.Second, Intervals: make([]imapload.Interval, 4)}
	c.Config.Faults = []model.Fault{{At: sim.Time(2 * time.Second), Backend: 1, Kind: model.Crash}}
	c.Config.Actions = nil
	res := &guest.Result{Samples: []guest.SampleOutput{
		{At: 1000 * time.Millisecond, Output: reply(1, 2, 3, 4)},
		{At: 2010 * time.Millisecond, Output: reply(1, 3, 3, 4)},
		// The third end's request failed; the fourth came late.
		{At: 3000 * time.Millisecond, Error: "connection refused"},
		{At: 4300 * time.Millisecond, Output: reply(2, 0, 3, 4)},
	}}
	cols := directorColumns(c, res, m)
	got := map[string][]float64{}
	for _, col := range cols {
		got[col.Name] = col.Values
	}
	nan := math.NaN()
	want := map[string][]float64{
		"director_users.b1":         {1, 1, nan, 2},
		"director_users.b2":         {2, 3, nan, 0},
		"director_users.b4":         {4, 4, nan, 4},
		"director_users_unassigned": {10, 9, nan, 11},
		"director_users_host_down":  {0, 3, nan, 0},
	}
	for name, w := range want {
		g := got[name]
		if len(g) != len(w) {
			t.Errorf("%s = %v, want %v", name, g, w)
			continue
		}
		for i := range w {
			if g[i] != w[i] && !(math.IsNaN(g[i]) && math.IsNaN(w[i])) {
				t.Errorf("%s = %v, want %v", name, g, w)
				break
			}
		}
	}
	if _, err := parseHostList("VERSION\tdirector-doveadm\t1\t0\n"); err == nil {
		t.Error("an empty host list was read")
	}
	if _, err := parseHostList("127.0.0.11\t100\tmany\n"); err == nil {
		t.Error("a host list without a user count was read")
	}
}

func TestCPUShares(t *testing.T) {
	stat := func(user, idle int) string {
		return "cpu  " + strconv.Itoa(user) + " 0 0 " + strconv.Itoa(idle) + " 0 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n"
	}
	self := func(u, s int) string {
		return "1 (mailsim) S 0 1 1 0 -1 4194560 10 20 0 0 " + strconv.Itoa(u) + " " + strconv.Itoa(s) + " 5 6 20 0 9 0 1 2 3\n"
	}
	res := &guest.Result{
		CountersBefore: []guest.KV{{Key: "stat", Value: stat(100, 50)}, {Key: "self", Value: self(10, 5)}},
		CountersAfter:  []guest.KV{{Key: "stat", Value: stat(180, 70)}, {Key: "self", Value: self(20, 15)}},
	}
	busy, load := cpuShares(res)
	if math.Abs(busy-0.8) > 1e-9 || math.Abs(load-0.2) > 1e-9 {
		t.Errorf("busy %v load %v, want 0.8 and 0.2", busy, load)
	}
	if b, l := cpuShares(&guest.Result{}); !math.IsNaN(b) || !math.IsNaN(l) {
		t.Errorf("without counters: %v %v", b, l)
	}
}

// ask is the fault that sends a doveadm director command to the
// director's admin socket.
func ask(at time.Duration, cmd, kind, detail string) guest.Fault {
	return guest.Fault{At: at, Kind: "ask", Socket: directorAdmin, Request: "VERSION\tdirector-doveadm\t1\t0\n" + cmd + "\n",
		Lines: 2, Expect: "OK", Event: "action." + kind, Detail: detail}
}
