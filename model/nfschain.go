package model

import (
	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
)

// A command's storage calls leave the backend one after another: the imap
// process sends a call, waits for its reply, and sends the next (the
// kernel's NFS client makes a process's calls synchronously, through
// rpc_call_sync in net/sunrpc/clnt.c). Each
// call crosses half a round trip to the server, waits there for a free
// nfsd thread in first-come-first-served order, is served, and its reply
// crosses back. Simulated call by call, that is two events per call: its
// arrival and its completion.
//
// Waiting is the only thing that ties one connection's calls to
// another's, and no call can wait while the connections with calls in
// progress are no more than the server's threads: each holds at most one
// thread at a time, so a call that arrives always finds one free. A
// connection's run of consecutive calls (a chain: they end at a lock
// step or a wait, or with the command's calls) then has a timing fixed
// when it starts: call i arrives at a_i, is done at d_i = a_i + s_i, and
// the next arrives a round trip later. While that bound holds, a chain is
// simulated as one event, its reply at the backend; the server's busy
// time and call counts are those of the calls it carries.
//
// The moment a chain would start with as many chains in progress as the
// server has threads, every chain simulated as one is turned back into
// its calls at the point each has reached ("unfused"), and the new chain
// runs call by call (below); so does anything that changes the server
// (an nfs-slow fault) or ends a connection (a crash, a kick), and the
// start of the measured period. The result is the call-by-call model's:
// the same arrivals, services and replies at the same times. Only the
// order of events at one instant may differ, as it may between any two
// ways of scheduling them.

// fusedChain names a chain simulated as one event: its connection and
// the chain's number (conn.chain).
type fusedChain struct {
	conn  int32
	chain uint32
}

// callTimes walks the chain of connection c that starts at its opAt and
// whose first call arrives at first: f is given each call's index,
// request, arrival and service time. It returns the index after the
// chain's last call and the time that call is done.
func (cl *cluster) callTimes(c *conn, first sim.Time, f func(i int, r nfsReq, at, service sim.Time)) (int, sim.Time) {
	ops := cl.ops(c)
	at := first
	done := first
	i := int(c.opAt)
	for ; i < len(ops) && ops[i].op < nfsmodel.NumOps; i++ {
		s := cl.serviceTime(ops[i])
		if cl.nfsSlow != 1 {
			s = sim.Scale(s, cl.nfsSlow)
		}
		if f != nil {
			f(i, ops[i], at, s)
		}
		done = later(at, s)
		at = later(done, cl.rtt)
	}
	return i, done
}

// later returns t+d for d ≥ 0, or [sim.Never] where that would overflow,
// as [sim.Sim.After] does.
func later(t, d sim.Time) sim.Time {
	if t > sim.Never-d {
		return sim.Never
	}
	return t + d
}

// startChain sends the first call of connection id's chain of calls,
// which starts at its opAt: as one event when no call can wait (see
// above), else call by call.
func (cl *cluster) startChain(id int32, c *conn) {
	cl.chainLive++
	first := later(cl.s.Now(), cl.rtt/2)
	if cl.noFuse || cl.chainLive > cl.nfs.servers {
		cl.unfuseAll()
		cl.s.Schedule(first, evNFSArrive, uint32(id), 0)
		return
	}
	end, done := cl.callTimes(c, first, func(_ int, r nfsReq, _, s sim.Time) {
		cl.nfs.busyTime += int64(s)
		if cl.measuring {
			cl.res.NFSOps[r.op]++
		}
	})
	cl.chainSeq++
	c.fused, c.chain, c.chainAt, c.chainEnd = true, cl.chainSeq, first, int32(end)
	cl.fused = append(cl.fused, fusedChain{conn: id, chain: c.chain})
	cl.fusedN++
	cl.s.Schedule(later(done, cl.rtt/2), evChainDone, uint32(id), c.chain)
}

// chainDone is the reply of a fused chain's last call reaching the
// backend.
func (cl *cluster) chainDone(id int32, chain uint32) {
	c := &cl.conns[id]
	if !c.fused || c.chain != chain {
		cl.saved-- // the chain was unfused: its calls' events carry it
		return
	}
	// Each call's arrival and completion.
	cl.saved += 2 * int64(c.chainEnd-c.opAt)
	c.fused = false
	c.opAt = c.chainEnd
	cl.fusedN--
	cl.chainLive--
	if n := len(cl.fused); n > 64 && n > 4*cl.fusedN {
		cl.compactFused()
	}
	cl.advance(id, c) // a fused connection is never dead (see drop)
}

// compactFused drops the chains that are no longer fused from the list.
func (cl *cluster) compactFused() {
	k := 0
	for _, f := range cl.fused {
		if c := &cl.conns[f.conn]; c.fused && c.chain == f.chain {
			cl.fused[k] = f
			k++
		}
	}
	cl.fused = cl.fused[:k]
}

// unfuseAll turns every fused chain into its calls' events.
func (cl *cluster) unfuseAll() {
	if cl.fusedN == 0 {
		cl.fused = cl.fused[:0]
		return
	}
	for _, f := range cl.fused {
		if c := &cl.conns[f.conn]; c.fused && c.chain == f.chain {
			cl.unfuse(f.conn, c)
		}
	}
	cl.fused = cl.fused[:0]
}

// unfuse turns connection id's fused chain into the state the
// call-by-call model has now: the call in service holding its thread
// (see occupy), or the arrival of the next call, or the reply of the
// last pending.
// The busy time and counts of calls not yet arrived are taken back: their
// arrivals count them again.
func (cl *cluster) unfuse(id int32, c *conn) {
	now := cl.s.Now()
	c.fused = false
	cl.fusedN--
	next := -1 // the first call not done by now
	var nextAt, nextDone sim.Time
	end, last := cl.callTimes(c, c.chainAt, func(i int, r nfsReq, at, s sim.Time) {
		if next < 0 && later(at, s) > now {
			next, nextAt, nextDone = i, at, later(at, s)
		}
		cl.saved += dispatched(at, s, now)
		if at > now {
			cl.nfs.busyTime -= int64(s)
			if cl.measuring {
				cl.res.NFSOps[r.op]--
			}
		}
	})
	c.chainAt = 0
	switch {
	case next < 0:
		c.opAt = int32(end)
		cl.s.Schedule(later(last, cl.rtt/2), evNFSReply, uint32(id), 0)
	case nextAt <= now:
		c.opAt = int32(next)
		cl.nfs.busy++ // no call waits while chains are no more than threads
		cl.occupy(id, c, nextDone)
	default:
		c.opAt = int32(next)
		cl.s.Schedule(nextAt, evNFSArrive, uint32(id), 0)
	}
}

// dispatched is how many of the events of a call arriving at at and
// served for s the call-by-call model has dispatched by time t: its
// arrival, and its completion.
func dispatched(at, s, t sim.Time) int64 {
	n := int64(0)
	if at <= t {
		n++
	}
	if later(at, s) <= t {
		n++
	}
	return n
}

// callEvents is how many events the call-by-call model dispatches for
// the run so far: the events dispatched, and those the fused chains
// spared.
func (cl *cluster) callEvents() uint64 {
	return uint64(int64(cl.s.Dispatched()) + cl.saved)
}

// droppedInService corrects the count of spared events when connection
// c ends while a call of it is served without an event for its end: the
// call-by-call model dispatches that end and nothing after it, where
// the reply's event comes here instead.
func (cl *cluster) droppedInService(c *conn) {
	if !c.fused && c.chainAt > cl.s.Now() && c.chainAt <= cl.cfg.Warmup+cl.cfg.Duration {
		cl.saved--
	}
	c.chainAt = 0
}

// settleFused takes back, at the end of a run, the busy time and counts
// of fused calls that would have arrived after it, and the events of the
// ends of calls after it.
func (cl *cluster) settleFused(end sim.Time) {
	for _, t := range cl.nfsUntil {
		if t > end {
			cl.saved--
		}
	}
	for _, f := range cl.fused {
		c := &cl.conns[f.conn]
		if !c.fused || c.chain != f.chain {
			continue
		}
		cl.callTimes(c, c.chainAt, func(_ int, r nfsReq, at, s sim.Time) {
			cl.saved += dispatched(at, s, end)
			if at > end {
				cl.nfs.busyTime -= int64(s)
				if cl.measuring {
					cl.res.NFSOps[r.op]--
				}
			}
		})
	}
}

// A call served while chains are more than threads (call by call) holds
// its thread until it is done, but that moment needs an event only when
// another call waits for the thread. The call's next event is its reply:
// the next call's arrival, or the command's going on. Its thread's end
// goes on a small heap (one entry per thread at most); an arriving call
// first frees the threads whose calls are done by now and gives them to
// the calls waiting, in order, and when a call must wait, one evNFSFree at
// the earliest end does the same. Every call starts service at the time
// it would with an event for every end.

// occupy holds an nfsd thread for connection id's current call until
// done, without an event for its end, and sends the call's reply.
func (cl *cluster) occupy(id int32, c *conn, done sim.Time) {
	cl.pushUntil(done)
	cl.saved++ // the end of the call
	c.chainAt = done
	c.opAt++
	if ops := cl.ops(c); int(c.opAt) < len(ops) && ops[c.opAt].op < nfsmodel.NumOps {
		cl.s.Schedule(later(done, cl.rtt), evNFSArrive, uint32(id), 0)
	} else {
		cl.s.Schedule(later(done, cl.rtt/2), evNFSReply, uint32(id), 0)
	}
}

// nfsCatchUp frees the threads whose calls are done by now and starts
// the calls waiting for them, first come first served.
func (cl *cluster) nfsCatchUp() {
	now := cl.s.Now()
	for len(cl.nfsUntil) > 0 && cl.nfsUntil[0] <= now {
		cl.popUntil()
		if next, ok := cl.nfs.depart(); ok {
			cl.nfsStart(next, &cl.conns[next])
		}
	}
}

// nfsWake makes sure an evNFSFree is pending at the earliest end of a
// call in service while calls wait.
func (cl *cluster) nfsWake() {
	if cl.nfs.waiting.size == 0 || len(cl.nfsUntil) == 0 {
		return
	}
	if at := cl.nfsUntil[0]; at < cl.nfsFreeAt {
		cl.nfsFreeAt = at
		cl.s.Schedule(at, evNFSFree, 0, 0)
	}
}

// pushUntil adds a thread's end to the heap.
func (cl *cluster) pushUntil(t sim.Time) {
	h := append(cl.nfsUntil, t)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if h[p] <= t {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = t
	cl.nfsUntil = h
}

// popUntil removes the earliest end from the heap.
func (cl *cluster) popUntil() {
	h := cl.nfsUntil
	n := len(h) - 1
	last := h[n]
	h = h[:n]
	i := 0
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && h[c+1] < h[c] {
			c++
		}
		if last <= h[c] {
			break
		}
		h[i] = h[c]
		i = c
	}
	if n > 0 {
		h[i] = last
	}
	cl.nfsUntil = h
}
