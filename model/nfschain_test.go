package model

import (
	"reflect"
	"testing"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/strategies"
)

// TestChainsAsOneEvent checks that simulating a chain of storage calls as
// one event, and a call's end without an event unless another call waits
// for its thread (nfschain.go), gives the result of simulating every
// call's arrival and end as events, field by field, with a fraction of
// the events, and counts exactly the events that model dispatches: under
// faults that end connections mid-chain, a slower server, storage kinds
// without round trips, and a server with so few threads that calls wait
// and the run switches between the ways again and again.
func TestChainsAsOneEvent(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(*Config)
		router string // "" for the test's user-hash router
	}{
		{name: "default", edit: func(*Config) {}},
		{name: "isp profile", edit: ispProfile},
		{name: "two nfsd threads", edit: func(c *Config) { c.Server.Threads = 2 }},
		{name: "one nfsd thread, random routing", edit: func(c *Config) { c.Server.Threads = 1 }, router: "random"},
		{name: "backend crash and hang", edit: func(c *Config) {
			c.Faults = []Fault{{At: 2 * sim.Minute, Backend: 1, Kind: Crash}, {At: 3 * sim.Minute, Backend: 2, Kind: Hang}}
		}, router: "director"},
		{name: "nfs server slows down", edit: func(c *Config) {
			c.Faults = []Fault{{At: 2 * sim.Minute, Kind: NFSSlow, Factor: 40}, {At: 5 * sim.Minute, Kind: NFSSlow, Factor: 1}}
		}},
		{name: "director kicks users off a stopped host", edit: func(c *Config) {
			c.Actions = []Action{{At: 2 * sim.Minute, Kind: BackendStop, Backend: 2}, {At: 4 * sim.Minute, Kind: BackendStart, Backend: 2}}
		}, router: "director"},
		{name: "nfs 4.2", edit: func(c *Config) { c.Mount.Vers = nfsmodel.V42 }, router: "random"},
		{name: "cluster file system", edit: func(c *Config) { c.Storage = nfsmodel.KindClusterFS }, router: "random"},
		{name: "fuse", edit: func(c *Config) { c.Storage = nfsmodel.KindFUSE }, router: "per-ip"},
		{name: "local disk", edit: func(c *Config) { c.Storage = nfsmodel.KindLocal; c.Backends = 1 }},
		{name: "sdbox", edit: func(c *Config) { c.Dovecot.MailLocation = "sdbox:~/dbox" }, router: "random"},
		{name: "imaptest drill with a crash", edit: func(c *Config) { *c = drillConfig() }, router: "director"},
		{name: "warm-up ends mid-chain, no warm-up", edit: func(c *Config) { c.Warmup = 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := smallConfig()
			cfg.Population.Users = 600
			tc.edit(&cfg)
			var got [2]*Result
			var callEvents uint64
			for i, callByCall := range []bool{true, false} {
				var r strategies.Router = &userHashRouter{n: cfg.Backends}
				if tc.router != "" {
					r = drillRouter(t, tc.router, cfg.Backends)
				}
				cl, err := run(cfg, r, Options{callByCall: callByCall}, 7)
				if err != nil {
					t.Fatal(err)
				}
				if cl.chainLive < 0 || cl.nfs.busy < 0 {
					t.Fatalf("call by call %v: %d chains in progress, %d busy threads at the end", callByCall, cl.chainLive, cl.nfs.busy)
				}
				got[i] = cl.res
				callEvents = cl.callEvents()
			}
			byCall, chained := *got[0], *got[1]
			if chained.Events >= byCall.Events {
				t.Errorf("chains as one event took %d events, call by call %d", chained.Events, byCall.Events)
			}
			t.Logf("events: call by call %d, chains %d (%.2fx)", byCall.Events, chained.Events, float64(byCall.Events)/float64(chained.Events))
			if callEvents != byCall.Events {
				t.Errorf("chains as one event count %d events of the call-by-call model, which dispatched %d", callEvents, byCall.Events)
			}
			byCall.Events, chained.Events = 0, 0
			vb, vc := reflect.ValueOf(byCall), reflect.ValueOf(chained)
			for i := range vb.NumField() {
				if !reflect.DeepEqual(vb.Field(i).Interface(), vc.Field(i).Interface()) {
					t.Errorf("%s: call by call %v, chains as one event %v", vb.Type().Field(i).Name, vb.Field(i).Interface(), vc.Field(i).Interface())
				}
			}
		})
	}
}

// TestUserOpenCounts checks each user's count of open IMAP connections,
// which spares looking at the user's connections, against looking at
// them, at the end of runs with crashes, hangs and a director's kicks.
func TestUserOpenCounts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults []Fault
		acts   []Action
	}{
		{name: "no faults"},
		{name: "crash and hang", faults: []Fault{{At: 2 * sim.Minute, Backend: 1, Kind: Crash}, {At: 8 * sim.Minute, Backend: 2, Kind: Hang}}},
		{name: "stopped host", acts: []Action{{At: 9 * sim.Minute, Kind: BackendStop, Backend: 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := smallConfig()
			cfg.Faults, cfg.Actions = tc.faults, tc.acts
			cl, err := run(cfg, drillRouter(t, "director", cfg.Backends), Options{}, 3)
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for u := range cl.users {
				n := 0
				first, end := cl.userDevices(int32(u))
				for d := first; d < end; d++ {
					for _, id := range cl.deviceConns(&cl.devices[d]) {
						if id >= 0 && cl.conns[id].open {
							n++
						}
					}
				}
				if int(cl.users[u].open) != n {
					t.Errorf("user %d: counted %d open connections, has %d", u, cl.users[u].open, n)
				}
				total += n
			}
			if total == 0 {
				t.Error("no connection open at the end: nothing was checked")
			}
			sel := make([]uint32, len(cl.mboxes))
			for id := range cl.conns {
				if c := &cl.conns[id]; c.dev >= 0 && c.open && c.selected >= 0 {
					sel[c.selected]++
				}
			}
			for mb := range sel {
				if cl.mboxes[mb].selectedBy != sel[mb] {
					t.Errorf("mailbox %d: counted %d connections that have it selected, %d have", mb, cl.mboxes[mb].selectedBy, sel[mb])
				}
			}
		})
	}
}
