package model

import (
	"fmt"
	"net/netip"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/workloads"
)

// The imaptest load (Config.Imaptest): a pool of client devices after the
// population's own, each with one connection slot, whose user changes at
// every session (see workloads.Imaptest).

// poolRan marks, in a pool connection's phase, that the imaptest state
// the phase names has run (the phase's low bits hold the state).
const poolRan workloads.Phase = 0x40

// loadGeneratorIP is the address every imaptest client connects from: one
// load-generating host, in the block RFC 2544 sets aside for benchmarks.
var loadGeneratorIP = netip.AddrFrom4([4]byte{198, 18, 0, 1})

// addPool appends the imaptest clients' devices.
func (cl *cluster) addPool(seed uint64) {
	cl.poolFirst = int32(len(cl.devices))
	t := &cl.cfg.Imaptest
	for i := range t.Clients {
		cl.devices = append(cl.devices, device{
			kind:  workloads.Desktop,
			ip:    loadGeneratorIP.As4(),
			nconn: 1,
			slots: int32(len(cl.slotConn)),
			seed:  sim.SubSeed(seed, fmt.Sprintf("workload/imaptest/client/%d", i)),
		})
		cl.slotConn = append(cl.slotConn, -1)
	}
}

// isPool reports whether device d is an imaptest client.
func (cl *cluster) isPool(d int32) bool { return d >= cl.poolFirst }

// startPool starts the first imaptest clients: min(100, clients) at once
// (imaptest's INIT_CLIENT_COUNT, src/imaptest.c); the others follow
// successful logins (see poolLoggedIn).
func (cl *cluster) startPool() {
	n := min(cl.cfg.Imaptest.Clients, 100)
	for range n {
		cl.s.Schedule(0, evSessionStart, uint32(cl.poolFirst)+uint32(cl.poolStarted), 0)
		cl.poolStarted++
	}
}

// poolLoggedIn starts up to three more imaptest clients after a
// successful login, until all are running (src/client-state.c, the LOGIN
// reply).
func (cl *cluster) poolLoggedIn() {
	for k := 0; k < 3 && cl.poolStarted < cl.cfg.Imaptest.Clients; k++ {
		cl.s.After(0, evSessionStart, uint32(cl.poolFirst)+uint32(cl.poolStarted), 0)
		cl.poolStarted++
	}
}

// drawUser draws the user of imaptest client dv's next connection,
// uniformly from the range (src/user.c, user_get_random_from_conf).
func (cl *cluster) drawUser(dv *device) int32 {
	return int32(cl.rng(dv, 0).IntN(len(cl.users)))
}

// poolStep returns the next step of pool connection c.
func (cl *cluster) poolStep(c *conn, dv *device) workloads.Step {
	st := workloads.ImaptestState(c.phase &^ (poolRan | thinking))
	ran := c.phase&poolRan != 0
	step, next := cl.cfg.Imaptest.Next(cl.rng(dv, c.slot), st, ran)
	c.phase = workloads.Phase(next) | poolRan
	if step.Cmd == workloads.Logout {
		c.phase = workloads.PhaseDone
	}
	return step
}

// poolConns returns the imaptest clients' connection slots (each client
// has one, after the population's slots; -1 for none open), whatever user
// each is logged in as.
func (cl *cluster) poolConns() []int32 {
	if cl.poolFirst == int32(len(cl.devices)) {
		return nil
	}
	return cl.slotConn[cl.devices[cl.poolFirst].slots:]
}

// userConns calls fn for each connection slot of user u that holds a
// connection, until fn returns false.
func (cl *cluster) userConns(u int32, fn func(id int32) bool) {
	first, end := cl.userDevices(u)
	for d := first; d < end; d++ {
		for _, id := range cl.deviceConns(&cl.devices[d]) {
			if id >= 0 && !fn(id) {
				return
			}
		}
	}
	for _, id := range cl.poolConns() {
		if id >= 0 && cl.conns[id].user == u && !fn(id) {
			return
		}
	}
}
