package model

import (
	"fmt"
	"time"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/strategies"
	"github.com/mailsim/mailsim/workloads"
)

// FaultKind is what happens to a backend (or the NFS server) in a fault.
type FaultKind uint8

// Fault kinds.
const (
	// Crash kills the backend's Dovecot: its connections drop at once and
	// clients reconnect after their retry delay; new connections to it are
	// refused until it recovers. The host stays up: its kernel releases
	// the fcntl locks of the processes that died, but their dotlock files
	// stay (see retention).
	Crash FaultKind = iota
	// Hang stops the backend: connections are never answered, and clients
	// and proxies find out only when they time out. Its kernel no longer
	// talks to the storage, so the locks it held stay held until the
	// storage's own rule frees them (see retention).
	Hang
	// Slow multiplies the backend's CPU demands by Factor.
	Slow
	// Recover brings a crashed, hung or slow backend back to normal.
	Recover
	// NFSSlow multiplies the NFS server's service times by Factor (1
	// restores them).
	NFSSlow
)

var faultNames = [...]string{"crash", "hang", "slow", "recover", "nfs-slow"}

// String returns the fault kind's name as used in specs.
func (k FaultKind) String() string {
	if int(k) < len(faultNames) {
		return faultNames[k]
	}
	return fmt.Sprintf("fault(%d)", k)
}

// ParseFaultKind returns the fault kind called name.
func ParseFaultKind(name string) (FaultKind, error) {
	for i, n := range faultNames {
		if n == name {
			return FaultKind(i), nil
		}
	}
	return 0, fmt.Errorf("model: unknown fault kind %q", name)
}

// Fault is one scheduled fault.
type Fault struct {
	// At is when the fault happens, counted from the end of warm-up.
	At sim.Time
	// Backend is the index of the backend affected (ignored by NFSSlow).
	Backend int
	Kind    FaultKind
	// Factor is the slowdown of Slow and NFSSlow.
	Factor float64
}

// Clients says how mail clients and proxies react to failures.
type Clients struct {
	// Retry is the mean delay before a client reconnects after a failed
	// login or a dropped connection, by device kind (desktop, phone,
	// webmail). Model assumption: mail clients retry within seconds to a
	// minute.
	Retry [3]sim.Time
	// Timeout is how long a client waits for an answer before giving up
	// on a connection.
	Timeout sim.Time
	// LoginProxyTimeout is how long a proxy waits for a backend to answer
	// a proxied login (Dovecot login_proxy_timeout, default 30 s).
	LoginProxyTimeout sim.Time
	// LoginProxyMaxReconnects and LoginProxyReconnectInterval: a proxied
	// login to a backend that refuses connections is retried this many
	// times, this far apart, before it fails (Dovecot
	// login_proxy_max_reconnects, default 3, 1 s apart).
	LoginProxyMaxReconnects     int
	LoginProxyReconnectInterval sim.Time
	// DeliveryRetry is how long an MX defers a delivery that failed
	// (Postfix minimal_backoff_time, default 300 s).
	DeliveryRetry sim.Time
}

// DefaultClients returns the default client and proxy behaviour.
func DefaultClients() Clients {
	return Clients{
		Retry:                       [3]sim.Time{15 * sim.Second, 30 * sim.Second, 5 * sim.Second},
		Timeout:                     60 * sim.Second,
		LoginProxyTimeout:           30 * sim.Second,
		LoginProxyMaxReconnects:     3,
		LoginProxyReconnectInterval: sim.Second,
		DeliveryRetry:               300 * sim.Second,
	}
}

type backendState uint8

const (
	backendUp backendState = iota
	backendCrashed
	backendHung
	// backendStopping: Dovecot is stopping (see cluster.stopBackend).
	backendStopping
)

// alive reports whether connection id may go on; a dead one is released.
func (cl *cluster) alive(id int32) bool {
	if !cl.conns[id].dead {
		return true
	}
	cl.freeConnSlot(id)
	return false
}

// failDelay is how long a login routed to unhealthy backend b takes to
// fail: a refused connection fails at once, or after the proxy's
// reconnect attempts; a hung backend is given up on after the client's or
// the proxy's timeout.
func (cl *cluster) failDelay(b *backend, d strategies.Decision) sim.Time {
	cc := &cl.cfg.Clients
	proxied := d.Hops > 0
	delay := sim.FromDuration(d.Delay)
	switch {
	case b.state == backendStopping:
		// Accepted and never answered until the sockets close; then the
		// proxy's reconnects are refused.
		delay += max(b.stopped-cl.s.Now(), 0)
		if proxied {
			delay += sim.Time(cc.LoginProxyMaxReconnects) * cc.LoginProxyReconnectInterval
		}
		return delay
	case b.state == backendHung && proxied:
		return delay + cc.LoginProxyTimeout
	case b.state == backendHung:
		return delay + cc.Timeout
	case proxied:
		return delay + sim.Time(cc.LoginProxyMaxReconnects)*cc.LoginProxyReconnectInterval
	}
	return delay
}

// A notice is what a client, and the proxy in front of it, learn later
// than it happened: a login that fails only after the proxy's reconnect
// attempts or a timeout, or a connection to a hung backend that the client
// gives up on at its timeout. Failures are counted when the client gets
// its answer, and the router hears that the connection it routed has
// ended when the proxy does; a crash, a refusal or a kick is learnt at
// once and needs no notice.
type notice struct {
	// at is when the client gets its answer; an evNotice at another time
	// was superseded (see expedite).
	at sim.Time
	// routedAt is when the connection was routed.
	routedAt sim.Time
	// conn is the connection of a failed login, which waits for the
	// answer in its slot; -1 for a dropped session, whose slot is gone.
	conn int32
	user int32
	// dev is the client's device, -1 for an LMTP delivery.
	dev int32
	// backend is the backend the connection went to; routed says
	// whether the router chose it and must hear that it ended.
	backend int16
	routed  bool
	slot    int8
	idle    bool
	// inFlight: a command was waiting for its answer.
	inFlight bool
	done     bool
	// gen identifies the notice's latest evNotice; an earlier one (see
	// expedite), or one for a notice whose place was reused, is ignored.
	gen uint32
}

// notify handles n now if it is due now, and otherwise schedules it.
func (cl *cluster) notify(n notice) {
	if n.at <= cl.s.Now() {
		cl.noticed(&n)
		return
	}
	cl.noticeGen++
	n.gen = cl.noticeGen
	i := int32(len(cl.notices))
	if k := len(cl.freeNotices); k > 0 {
		i = cl.freeNotices[k-1]
		cl.freeNotices = cl.freeNotices[:k-1]
		cl.notices[i] = n
	} else {
		cl.notices = append(cl.notices, n)
	}
	cl.s.Schedule(n.at, evNotice, uint32(i), n.gen)
}

// noticeDue handles an evNotice of notice i with generation gen.
func (cl *cluster) noticeDue(i int, gen uint32) {
	n := &cl.notices[i]
	if n.done || n.gen != gen {
		return
	}
	n.done = true
	cl.freeNotices = append(cl.freeNotices, int32(i))
	nn := *n // noticed does not schedule notices, but keep it safe
	cl.noticed(&nn)
}

// noticed applies notice n: the proxy closes the routed connection, the
// failure is counted, and the client (or the MX) tries again.
func (cl *cluster) noticed(n *notice) {
	now := cl.s.Now()
	if n.routed {
		cl.router.Closed(cl.requestOf(n.user, n.dev, n.routedAt), int(n.backend))
	}
	cl.noteFailure(n.user, now)
	if n.conn >= 0 {
		// A failed login.
		c := &cl.conns[n.conn]
		if c.dev < 0 {
			if cl.measuring {
				cl.res.FailedDeliveries++
			}
			cl.s.After(cl.cfg.Clients.DeliveryRetry, evRedeliver, uint32(c.user), 0)
			cl.freeConnSlot(n.conn)
			return
		}
		if cl.measuring {
			cl.res.FailedLogins++
		}
		if now >= cl.devices[c.dev].ends {
			cl.closeConn(n.conn, c)
			return
		}
		c.phase, c.backend, c.entry = workloads.PhaseLogin, -1, -1
		if cl.isPool(c.dev) && cl.cfg.Imaptest.OnLoginFailure == workloads.NewUser {
			dv := &cl.devices[c.dev]
			dv.user = cl.drawUser(dv)
			c.user = dv.user
		}
		cl.s.After(cl.retryDelay(c.dev, c.slot), evCommand, uint32(n.conn), 0)
		return
	}
	// A dropped session.
	if n.inFlight && cl.measuring {
		cl.res.FailedCommands++
	}
	if n.dev < 0 {
		if cl.measuring {
			cl.res.FailedDeliveries++
		}
		cl.s.After(cl.cfg.Clients.DeliveryRetry, evRedeliver, uint32(n.user), 0)
		return
	}
	cl.reconnect(n.dev, n.slot, n.idle, cl.retryDelay(n.dev, n.slot))
}

// reconnect has device d's connection slot log in again after wait, or
// leaves it closed if the session is over by then.
func (cl *cluster) reconnect(d int32, slot int8, idle bool, wait sim.Time) {
	dv := &cl.devices[d]
	if cl.s.Now()+wait >= dv.ends {
		cl.slotConn[dv.slots+int32(slot)] = -1
		dv.open--
		if dv.open == 0 {
			cl.nextSession(d)
		}
		return
	}
	nid := cl.allocConn()
	nc := &cl.conns[nid]
	*nc = conn{dev: d, slot: slot, user: dv.user, backend: -1, entry: -1, selected: -1, phase: workloads.PhaseLogin, idle: idle, nextFree: -1, gen: nc.gen + 1}
	cl.slotConn[dv.slots+int32(slot)] = nid
	cl.s.After(wait, evCommand, uint32(nid), 0)
}

// expedite brings forward the notices of backend b that a crash makes
// come sooner: the crash resets the connections a hang had left waiting,
// and a proxy's login attempt to it now fails after its reconnects.
func (cl *cluster) expedite(b int, crashed *backend) {
	now := cl.s.Now()
	for i := range cl.notices {
		n := &cl.notices[i]
		if n.done || int(n.backend) != b {
			continue
		}
		at := now
		if n.conn >= 0 {
			c := &cl.conns[n.conn]
			at = now + cl.failDelay(crashed, strategies.Decision{Hops: int(c.hops)})
		}
		if at < n.at {
			cl.noticeGen++
			n.at, n.gen = at, cl.noticeGen
			cl.s.Schedule(at, evNotice, uint32(i), n.gen)
		}
	}
}

// loginFailed records a failed login (or delivery) on connection id, which
// is not open on any backend; the client gets its answer after the given
// time, and then tries again. routed says whether the router routed it to
// backend c.backend and must hear that it ended.
func (cl *cluster) loginFailed(id int32, c *conn, after sim.Time, routed bool) {
	cl.notify(notice{at: cl.s.Now() + after, routedAt: c.routedAt, conn: id, user: c.user, dev: c.dev, backend: c.backend, routed: routed})
}

// retryDelay draws how long the client of device d's connection slot
// waits before it tries again.
func (cl *cluster) retryDelay(d int32, slot int8) sim.Time {
	dv := &cl.devices[d]
	if cl.isPool(d) {
		// imaptest reconnects at once (src/client.c, client_unref); the
		// new connection's round trips take their own time.
		return cl.expGap(cl.rng(dv, slot), cl.cfg.Imaptest.Reconnect)
	}
	mean := cl.cfg.Clients.Retry[dv.kind]
	if cl.replay != nil {
		retry := &cl.slotRetry[dv.slots+int32(slot)]
		if rs := cl.replay.Retries(int(d), int(slot)); int(*retry) < len(rs) {
			w := rs[*retry].Wait
			*retry++
			return w
		}
		// The trace's clients never failed here: wait the mean.
		return mean
	}
	w := cl.expGap(cl.rng(dv, slot), mean)
	if cl.record != nil {
		cl.record.Write(workloads.TraceOp{At: cl.s.Now(), User: cl.userName(dv.user), Device: int(d), Kind: dv.kind.String(), Conn: int(slot), Op: "RETRY", Wait: w})
	}
	return w
}

// noteFailure records that user u failed to be served until at least at.
func (cl *cluster) noteFailure(u int32, at sim.Time) {
	if !cl.measuring {
		return
	}
	if cl.users[u].set(affected) {
		cl.res.UsersAffected++
	}
	at = min(at, cl.cfg.Warmup+cl.cfg.Duration)
	if at > cl.res.LastFailure {
		cl.res.LastFailure = at
	}
}

// drop ends connection id on its backend because the backend failed or a
// director kicked the session: the client notices after noticeAfter and
// reconnects after its retry delay. The connection's pending event, if it
// has one, releases the slot; pending is false for one waiting in a queue
// that was discarded.
func (cl *cluster) drop(id int32, noticeAfter sim.Time, pending bool, failed bool) {
	c := &cl.conns[id]
	if c.fused {
		// Its calls go on as events, which find it dead.
		cl.unfuse(id, c)
	}
	cl.droppedInService(c)
	routed := cl.detach(c, false)
	cl.releaseDead(id, c, failed)
	n := notice{at: cl.s.Now() + noticeAfter, routedAt: c.routedAt, conn: -1, user: c.user, dev: c.dev, backend: c.backend, routed: routed, slot: c.slot, idle: c.idle}
	n.inFlight = failed && c.phase&thinking == 0 && !(c.idle && c.phase == workloads.PhaseLoop)
	if !failed {
		// A kick: the session ends at once and nobody failed.
		if routed {
			cl.router.Closed(cl.requestOf(n.user, n.dev, n.routedAt), int(n.backend))
		}
		cl.reconnect(c.dev, c.slot, c.idle, cl.retryDelay(c.dev, c.slot))
	} else {
		if c.dev >= 0 {
			// The client keeps its slot until it notices.
			cl.slotConn[cl.devices[c.dev].slots+int32(c.slot)] = -1
		}
		cl.notify(n)
	}
	c = &cl.conns[id] // reconnect may have grown the slice
	if pending {
		c.dead = true
	} else {
		cl.freeConnSlot(id)
	}
}

// detach closes connection c's place on its backend. If notify, it tells
// the router at once; otherwise the caller does, when the proxy learns of
// it. It reports whether the connection had been routed by the router (so
// that it must be told exactly once).
func (cl *cluster) detach(c *conn, notify bool) bool {
	if !c.open {
		return false
	}
	cl.selectedBy(c, -1)
	c.open = false
	if c.dev >= 0 && !cl.isPool(c.dev) {
		cl.users[c.user].open--
	}
	b := &cl.backends[c.backend]
	b.conns--
	if !c.routed {
		return false
	}
	if notify {
		cl.router.Closed(cl.request(c, c.routedAt), int(c.backend))
	}
	return true
}

// fault applies scheduled fault i.
func (cl *cluster) fault(i int) {
	f := cl.cfg.Faults[i]
	now := cl.s.Now()
	cl.event(f.Kind.String(), fmt.Sprintf("backend %d", f.Backend))
	if f.Kind == NFSSlow {
		cl.unfuseAll() // calls from now on take the new time
		cl.nfsSlow = f.Factor
		return
	}
	b := &cl.backends[f.Backend]
	switch f.Kind {
	case Slow:
		b.slow = f.Factor
		return
	case Recover:
		b.state, b.slow = backendUp, 1
		cl.rebooted(int16(f.Backend))
		return
	}
	if cl.firstFault == 0 {
		cl.firstFault = now
	}
	if b.state == backendHung && f.Kind == Crash {
		// Its connections were lost at the hang; the crash resets them, so
		// the clients and proxies still waiting learn of it now.
		b.state = backendCrashed
		cl.expedite(f.Backend, b)
		return
	}
	if b.state != backendUp {
		return
	}
	notice := sim.Time(0) // a crash resets the connections at once
	state := backendCrashed
	if f.Kind == Hang {
		state = backendHung
		notice = cl.cfg.Clients.Timeout
	}
	if f.Kind == Hang {
		b.hungAt = now
	}
	cl.dying = f.Kind
	cl.killSessions(f.Backend, notice)
	cl.dying = noFault
	b.state = state
	if f.Kind == Hang && cl.kind == nfsmodel.KindClusterFS {
		// Until the cluster has fenced the node and recovered its locks,
		// the lock manager grants no lock to anyone.
		cl.dlmFrozen = max(cl.dlmFrozen, now+cl.cfg.ClusterFS.FenceTime)
	}
}

// killSessions ends every session on backend i: the clients notice after
// the given time. Work in progress is lost.
func (cl *cluster) killSessions(i int, notice sim.Time) {
	b := &cl.backends[i]
	// Work queued for the CPU is lost with no event pending for it.
	for b.cpu.waiting.size > 0 {
		id := b.cpu.waiting.pop()
		cl.drop(id, notice, false, true)
	}
	b.cpu.busy = 0
	b.epoch++
	for id := range cl.conns {
		c := &cl.conns[id]
		if c.dev > -2 && c.open && c.backend == int16(i) {
			cl.drop(int32(id), notice, true, true)
		}
	}
}

// event records something that happened to the cluster for the result.
func (cl *cluster) event(kind, detail string) {
	cl.res.Timeline = append(cl.res.Timeline, Event{At: cl.s.Now() - cl.cfg.Warmup, Kind: kind, Detail: detail})
}

// Event is something that happened to the cluster during a run.
type Event struct {
	// At is the time since the end of warm-up (negative during warm-up).
	At     sim.Time
	Kind   string
	Detail string
}

// monitorTick starts the health monitor's due probes.
func (cl *cluster) monitorTick() {
	now := time.Duration(cl.s.Now())
	cl.probeBuf = cl.monitor.Start(now, cl.probeBuf[:0])
	for _, p := range cl.probeBuf {
		b := &cl.backends[p.Backend]
		// A probe of a live backend answers within a round trip; a crashed
		// one refuses at once; a hung one times out.
		ok, after := true, sim.Millisecond
		switch b.state {
		case backendCrashed:
			ok = false
		case backendHung:
			ok, after = false, sim.FromDuration(p.Timeout)
		case backendStopping:
			// Accepted, never answered: the probe times out, or is reset
			// when the sockets close.
			ok, after = false, min(sim.FromDuration(p.Timeout), max(b.stopped-cl.s.Now(), 0))
		default:
			if b.slow > 1 {
				after = sim.Scale(after, b.slow)
			}
			if after > sim.FromDuration(p.Timeout) {
				ok, after = false, sim.FromDuration(p.Timeout)
			}
		}
		cl.probes = append(cl.probes, probe{id: p.ID, ok: ok})
		cl.s.After(after, evProbeDone, uint32(len(cl.probes)-1), 0)
	}
	cl.scheduleMonitor()
}

type probe struct {
	id uint64
	ok bool
}

func (cl *cluster) scheduleMonitor() {
	if cl.monitor == nil {
		return
	}
	next := cl.monitor.Next()
	if next == strategies.Never {
		return
	}
	at := max(sim.FromDuration(next), cl.s.Now())
	if at < cl.monitorAt {
		// A probe is due before the pending tick: tick then too. The
		// later tick finds nothing due, or what has become due by then.
		cl.monitorAt = at
		cl.s.Schedule(at, evMonitor, 0, 0)
	}
}

// probeDone reports a probe's outcome to the monitor and applies the
// actions it returns to the router.
func (cl *cluster) probeDone(i int) {
	now := time.Duration(cl.s.Now())
	p := cl.probes[i]
	cl.actBuf = cl.monitor.Result(now, p.id, p.ok, cl.actBuf[:0])
	for _, a := range cl.actBuf {
		cl.event("monitor."+a.Kind.String(), fmt.Sprintf("backend %d", a.Backend))
		if a.Kind == strategies.HostDown && cl.firstFault > 0 && cl.res.DetectedAfter == 0 {
			cl.res.DetectedAfter = cl.s.Now() - cl.firstFault
		}
		cl.moved(strategies.Apply(cl.router, now, a))
	}
	cl.scheduleMonitor()
}

// kick ends the sessions of user name on backend from, as a director's
// KICK does; the clients reconnect and are routed afresh.
func (cl *cluster) kick(name string, from int) {
	u, ok := cl.userIndex(name)
	if !ok {
		return
	}
	var ids []int32
	cl.userConns(u, func(id int32) bool {
		if cl.conns[id].open && int(cl.conns[id].backend) == from {
			ids = append(ids, id)
		}
		return true
	})
	for _, id := range ids {
		cl.drop(id, 0, true, false)
	}
}

func (cl *cluster) userIndex(name string) (int32, bool) {
	if cl.byName == nil {
		cl.byName = make(map[string]int32, len(cl.users))
		for i := range cl.users {
			cl.byName[cl.userName(int32(i))] = int32(i)
		}
	}
	u, ok := cl.byName[name]
	return u, ok
}
