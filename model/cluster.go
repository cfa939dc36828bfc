package model

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"mailsim/model/sim"
	"mailsim/nfsmodel"
	"mailsim/strategies"
	"mailsim/workloads"
)

// Event kinds.
const (
	evSessionStart uint32 = iota // Obj: device
	evCommand                    // Obj: connection; its think time is over
	evNFSArrive                  // Obj: connection; its request reaches the server
	evNFSDone                    // Obj: connection; the server finished its request
	evNFSReply                   // Obj: connection; the reply is back at the backend
	evCPUDone                    // Obj: connection; its CPU work is done
	evIdleCheck                  // Obj: connection; IDLE's periodic mailbox check
	evDelivery                   // the next LMTP delivery arrives at an MX
	evSample                     // time-series sample
	evFault                      // Obj: fault index; a scheduled fault happens
	evMonitor                    // the health monitor's next probes are due
	evProbeDone                  // Obj: probe index; a probe's outcome is known
	evRedeliver                  // Obj: user; the MX retries a deferred delivery
	evResume                     // Obj: connection; a director releases a held login
	evListing                    // the listing probe lists its folder
	evLockGranted                // Obj: connection; it got the lock it waited for
)

// nfsReq is one pending NFS call of a connection.
type nfsReq struct {
	op      nfsmodel.Op
	entries int32
	bytes   int64
}

type mailbox struct {
	msgs  int32
	bytes int64
	// idxVer counts changes to the folder's index files; dirVer counts
	// changes to its Maildir directories (deliveries, expunges).
	idxVer, dirVer uint32
	// lastWriter is the backend that last wrote the index (-1: none yet),
	// at lastWrite.
	lastWriter int16
	lastWrite  sim.Time
	// corrupt is set when a conflicting write corrupted the index; the
	// next access rebuilds it.
	corrupt bool
	// unsynced counts delivered messages not yet moved from new/ to cur/.
	unsynced int32
}

type user struct {
	firstMailbox int32
	folders      int8
	aggressive   bool
}

type device struct {
	user  int32
	kind  workloads.DeviceKind
	ip    netip.Addr
	conns []int32 // connection slots; -1 when closed
	rng   []*rand.Rand
	srcs  []*rand.PCG
	// session counts started sessions, to seed each one's draws together
	// with seed, which derives from the run seed and the device.
	session uint64
	seed    uint64
	// gap is the pause before the current session; step and retry count
	// the replayed commands and retries per connection slot.
	gap   sim.Time
	step  []int32
	retry []int32
	open  int // connections still open in the current session
	ends  sim.Time
}

type conn struct {
	dev      int32 // -1 for an LMTP delivery
	slot     int8
	user     int32
	backend  int16
	entry    int16
	hops     int8
	phase    workloads.Phase
	idle     bool
	cmd      workloads.Command
	selected int32 // absolute mailbox index
	target   int32 // mailbox of the current command
	start    sim.Time
	seenIdx  uint32 // index version the command's view is based on
	stale    bool
	write    bool
	ops      []nfsReq
	opAt     int
	cpu      sim.Time
	req      strategies.Request
	nextFree int32
	// dead marks a connection whose backend crashed or hung, or whose
	// session a director kicked: its pending event releases it.
	dead bool
	// open is true while the connection counts as open on its backend.
	open bool
	// lockKey is the index lock the connection holds or waits for, 0 if
	// none; lockSince is when it started waiting.
	lockKey   uint64
	lockSince sim.Time
	// hold is how long a director holds the connection's login.
	hold sim.Time
	// epoch is the backend's epoch when the connection was opened.
	epoch uint32
	// gen changes whenever the slot is reused, so that a timer set for an
	// earlier connection in the same slot is recognised and ignored.
	gen uint32
}

// thinking marks a connection whose next command is chosen and waits for
// the client's think time to end.
const thinking workloads.Phase = 0x80

type backend struct {
	state backendState
	// epoch counts the backend's crashes and hangs; work started in an
	// earlier epoch is lost.
	epoch uint32
	// slow multiplies CPU demands (a "slow" fault).
	slow     float64
	cpu      station
	cache    *lru
	attrs    *nfsmodel.AttrCache
	commands uint64
	hits     uint64
	misses   uint64
	conns    int
	maxConns int
	logins   uint64
}

// cluster is one run's state.
type cluster struct {
	cfg      *Config
	s        *sim.Sim
	router   strategies.Router
	site     *workloads.Site
	users    []user
	mboxes   []mailbox
	devices  []device
	conns    []conn
	freeConn int32
	backends []backend
	nfs      station
	// userConns counts each user's open connections per backend.
	userConns []uint16
	multi     []bool
	// lastBackend is the backend of each user's latest IMAP login.
	lastBackend []int16
	delivRng    *rand.Rand
	deliverAt   sim.Time // mean gap between deliveries site-wide
	mxIPs       []netip.Addr
	measuring   bool
	res         *Result

	// Faults and health monitoring.
	monitor         strategies.Monitor
	monitorAt       sim.Time // time of the earliest pending evMonitor
	probes          []probe
	probeBuf        []strategies.Probe
	actBuf          []strategies.Action
	firstFault      sim.Time
	nfsSlow         float64
	affected        []bool
	multiAfterFault []bool
	byName          map[string]int32

	// Index locks: holder by lock key, and the queues of waiters.
	lockHolder  map[uint64]int32
	lockWaiters map[uint64][]int32

	// Traces.
	record  *workloads.TraceWriter
	replay  *workloads.Trace
	delivAt int // next replayed delivery

	// overload is set when a station's queue grew without bound.
	overload error

	// Corruption.
	corruptRng *rand.Rand
	lmtpRng    *rand.Rand
	sawEmpty   []bool
}

// Run simulates cfg for the router's strategy with the given run seed and
// returns what it measured. The same configuration, router construction
// and seed always give the same result.
func Run(cfg Config, router strategies.Router, seed uint64) (*Result, error) {
	return RunWith(cfg, router, nil, seed)
}

// RunWith is [Run] with a health monitor that probes the backends and
// tells the router which are down (nil for none).
func RunWith(cfg Config, router strategies.Router, monitor strategies.Monitor, seed uint64) (*Result, error) {
	return RunOptions(cfg, router, Options{Monitor: monitor}, seed)
}

// Options are the optional parts of a run.
type Options struct {
	// Monitor probes the backends and tells the router which are down;
	// nil for none.
	Monitor strategies.Monitor
	// Record, if set, receives the run's workload as a trace.
	Record *workloads.TraceWriter
	// Replay, if set, drives the run from a trace instead of drawing the
	// workload: sessions, commands, think times, retries and deliveries
	// come from it. The population (users, folders, devices) still comes
	// from the configuration and the seed and must match the trace's.
	Replay *workloads.Trace
}

// RunOptions is [Run] with options.
func RunOptions(cfg Config, router strategies.Router, o Options, seed uint64) (*Result, error) {
	cl, err := run(cfg, router, o, seed)
	if err != nil {
		return nil, err
	}
	return cl.res, nil
}

// run is [RunOptions], returning the whole cluster at the end of the run
// (for measuring its memory).
func run(cfg Config, router strategies.Router, o Options, seed uint64) (*cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	site, err := workloads.Generate(cfg.Population, seed)
	if err != nil {
		return nil, err
	}
	cl := newCluster(&cfg, router, site, seed)
	cl.monitor = o.Monitor
	cl.record, cl.replay = o.Record, o.Replay
	if err := cl.checkReplay(); err != nil {
		return nil, err
	}
	cl.monitorAt = sim.Never
	cl.start(seed)
	end := cfg.Warmup + cfg.Duration
	cl.s.Run(cfg.Warmup, cl)
	if !cl.s.Stopped() {
		cl.measuring = true
		cl.s.Run(end, cl)
	}
	if cl.overload != nil {
		return nil, cl.overload
	}
	cl.finish()
	return cl, nil
}

func newCluster(cfg *Config, router strategies.Router, site *workloads.Site, seed uint64) *cluster {
	cl := &cluster{cfg: cfg, s: sim.New(1024), router: router, site: site, freeConn: -1}
	cl.users = make([]user, len(site.Users))
	for u, su := range site.Users {
		cl.users[u] = user{firstMailbox: int32(len(cl.mboxes)), folders: int8(len(su.Mailboxes) - 1), aggressive: su.Aggressive}
		for _, m := range su.Mailboxes {
			cl.mboxes = append(cl.mboxes, mailbox{msgs: m.Messages, bytes: m.Bytes, lastWriter: -1})
		}
	}
	cl.devices = make([]device, len(site.Devices))
	for d, sd := range site.Devices {
		dv := &cl.devices[d]
		dv.user, dv.kind, dv.ip = sd.User, sd.Kind, sd.IP
		n := int(sd.Connections)
		dv.conns = make([]int32, n)
		dv.rng = make([]*rand.Rand, n)
		dv.srcs = make([]*rand.PCG, n)
		dv.seed = sim.SubSeed(seed, fmt.Sprintf("workload/device/%d", d))
		for i := range n {
			dv.conns[i] = -1
			dv.srcs[i] = sim.Source(seed, fmt.Sprintf("workload/device/%d/conn/%d", d, i))
			dv.rng[i] = rand.New(dv.srcs[i])
		}
	}
	cl.backends = make([]backend, cfg.Backends)
	for b := range cl.backends {
		cl.backends[b] = backend{slow: 1, cpu: station{servers: cfg.Cores}, cache: newLRU(cfg.CacheBytes), attrs: nfsmodel.NewAttrCache()}
	}
	cl.nfs = station{servers: cfg.Server.Threads}
	cl.userConns = make([]uint16, len(cl.users)*cfg.Backends)
	cl.multi = make([]bool, len(cl.users))
	cl.affected = make([]bool, len(cl.users))
	cl.lastBackend = make([]int16, len(cl.users))
	for u := range cl.lastBackend {
		cl.lastBackend[u] = -1
	}
	cl.multiAfterFault = make([]bool, len(cl.users))
	cl.nfsSlow = 1
	cl.sawEmpty = make([]bool, len(cl.users))
	cl.lockHolder = make(map[uint64]int32)
	cl.lockWaiters = make(map[uint64][]int32)
	cl.corruptRng = sim.Stream(seed, "nfs/corruption")
	cl.lmtpRng = sim.Stream(seed, "lmtp/balancer")
	cl.delivRng = sim.Stream(seed, "workload/delivery")
	for i := range cfg.MXHosts {
		cl.mxIPs = append(cl.mxIPs, netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + i%250)}))
	}
	cl.res = newResult(cfg, router.Name())
	return cl
}

func (cl *cluster) start(seed uint64) {
	// Each device starts its first session at a random point of its first
	// cycle, so that the run begins near steady state.
	for d := range cl.devices {
		dv := &cl.devices[d]
		if cl.replay != nil {
			if ss := cl.replay.Sessions(d); len(ss) > 0 {
				cl.s.Schedule(ss[0].At, evSessionStart, uint32(d), 0)
			}
			continue
		}
		b := cl.cfg.Profile.Behavior(cl.users[dv.user].aggressive)
		r := dv.rng[0]
		at := sim.Time(r.Float64() * float64(b.Reconnect+b.SessionLength))
		dv.gap = at
		cl.s.Schedule(at, evSessionStart, uint32(d), 0)
	}
	// Deliveries: one Poisson process for the site; each delivery picks its
	// recipient by the users' delivery rates.
	var rate float64 // deliveries per second
	for u := range cl.users {
		b := cl.cfg.Profile.Behavior(cl.users[u].aggressive)
		if b.DeliveryInterval > 0 {
			rate += 1 / b.DeliveryInterval.Sec()
		}
	}
	switch {
	case cl.replay != nil:
		if len(cl.replay.Deliveries) > 0 {
			cl.s.Schedule(cl.replay.Deliveries[0].At, evDelivery, 0, 0)
		}
	case rate > 0:
		cl.deliverAt = sim.Seconds(1 / rate)
		cl.s.Schedule(cl.expGap(cl.delivRng, cl.deliverAt), evDelivery, 0, 0)
	}
	cl.s.Schedule(cl.cfg.Warmup+cl.cfg.SampleInterval, evSample, 0, 0)
	if cl.cfg.Listing.Entries > 0 {
		cl.s.Schedule(cl.cfg.Listing.Interval, evListing, 0, 0)
	}
	for i, f := range cl.cfg.Faults {
		cl.s.Schedule(cl.cfg.Warmup+f.At, evFault, uint32(i), 0)
	}
	cl.scheduleMonitor()
}

func (cl *cluster) expGap(r *rand.Rand, mean sim.Time) sim.Time {
	return sim.Time(r.ExpFloat64() * float64(mean))
}

// Handle dispatches one event.
func (cl *cluster) Handle(e sim.Event) {
	switch e.Kind() {
	case evSessionStart:
		cl.sessionStart(int32(e.Obj))
	case evCommand:
		if cl.alive(int32(e.Obj)) {
			cl.command(int32(e.Obj))
		}
	case evNFSArrive:
		if !cl.alive(int32(e.Obj)) {
			return
		}
		c := &cl.conns[e.Obj]
		if cl.nfs.arrive(int32(e.Obj)) {
			cl.nfsStart(int32(e.Obj), c)
		} else if cl.nfs.waiting.size > maxQueue {
			cl.overloaded("the NFS server", cl.nfs.waiting.size, cl.nfs.servers, "raise nfs.threads or lower the load")
		}
	case evNFSDone:
		if next, ok := cl.nfs.depart(); ok {
			cl.nfsStart(next, &cl.conns[next])
		}
		if !cl.alive(int32(e.Obj)) {
			return
		}
		// The reply travels back for half a round trip. The backend sends
		// its next call at once, so that call reaches the server a whole
		// round trip after this one finished; only after its last call does
		// the connection need an event when the reply arrives.
		c := &cl.conns[e.Obj]
		c.opAt++
		if c.opAt < len(c.ops) && c.ops[c.opAt].op < nfsmodel.NumOps {
			cl.s.After(cl.cfg.Server.RTT, evNFSArrive, e.Obj, 0)
		} else {
			cl.s.After(cl.cfg.Server.RTT/2, evNFSReply, e.Obj, 0)
		}
	case evNFSReply:
		if cl.alive(int32(e.Obj)) {
			cl.advance(int32(e.Obj), &cl.conns[e.Obj])
		}
	case evCPUDone:
		c := &cl.conns[e.Obj]
		b := &cl.backends[c.backend]
		if c.epoch == b.epoch {
			if next, ok := b.cpu.depart(); ok {
				nc := &cl.conns[next]
				cl.s.After(nc.cpu, evCPUDone, uint32(next), 0)
				b.cpu.busyTime += int64(nc.cpu)
			}
		}
		if cl.alive(int32(e.Obj)) {
			cl.complete(int32(e.Obj), c)
		}
	case evIdleCheck:
		c := &cl.conns[e.Obj]
		if c.gen != e.Arg {
			return // a timer of an earlier connection in this slot
		}
		if !cl.alive(int32(e.Obj)) {
			return
		}
		if c.dev >= 0 && c.idle {
			cmd := workloads.Idle
			if cl.s.Now() >= cl.devices[c.dev].ends {
				cmd = workloads.Logout
			}
			cl.begin(int32(e.Obj), c, cmd, c.selected)
		}
	case evDelivery:
		cl.delivery()
	case evSample:
		cl.sample()
	case evFault:
		cl.fault(int(e.Obj))
	case evMonitor:
		if e.At == cl.monitorAt {
			cl.monitorAt = sim.Never
		}
		cl.monitorTick()
	case evProbeDone:
		cl.probeDone(int(e.Obj))
	case evRedeliver:
		cl.deliverTo(int32(e.Obj))
	case evListing:
		cl.listing()
	case evLockGranted:
		if cl.alive(int32(e.Obj)) {
			c := &cl.conns[e.Obj]
			c.opAt++ // past the acquire step
			cl.advance(int32(e.Obj), c)
		}
	case evResume:
		if cl.alive(int32(e.Obj)) {
			c := &cl.conns[e.Obj]
			cl.plan(c)
			cl.advance(int32(e.Obj), c)
		}
	}
}

// sessionStart opens all of a device's connections.
func (cl *cluster) sessionStart(d int32) {
	dv := &cl.devices[d]
	b := cl.cfg.Profile.Behavior(cl.users[dv.user].aggressive)
	dv.session++
	for i := range dv.srcs {
		// Each session's draws depend only on the run seed, the device,
		// the connection and the session number, so that a slower or
		// faster earlier session leaves the later ones as they were.
		dv.srcs[i].Seed(dv.seed+uint64(i)*0x9e3779b97f4a7c15, dv.session)
	}
	var length sim.Time
	if cl.replay != nil {
		ss := cl.replay.Sessions(int(d))
		length = ss[dv.session-1].Length
	} else {
		length = cl.expGap(dv.rng[0], b.SessionLength)
	}
	if cl.record != nil {
		cl.record.Write(workloads.TraceOp{At: cl.s.Now(), User: cl.site.Users[dv.user].Name, Device: int(d), Kind: dv.kind.String(), Op: "SESSION", Wait: dv.gap, Length: length})
	}
	dv.ends = cl.s.Now() + length
	dv.open = len(dv.conns)
	for i := range dv.conns {
		id := cl.allocConn()
		c := &cl.conns[id]
		*c = conn{dev: d, slot: int8(i), user: dv.user, backend: -1, entry: -1, phase: workloads.PhaseLogin, nextFree: -1, ops: c.ops[:0], gen: c.gen + 1}
		// The second and later connections of a desktop client sit in IDLE
		// on INBOX, as imaptest's client profiles do.
		c.idle = i > 0
		dv.conns[i] = id
		cl.s.After(0, evCommand, uint32(id), 0)
	}
}

func (cl *cluster) allocConn() int32 {
	if cl.freeConn >= 0 {
		id := cl.freeConn
		cl.freeConn = cl.conns[id].nextFree
		return id
	}
	cl.conns = append(cl.conns, conn{})
	return int32(len(cl.conns) - 1)
}

func (cl *cluster) freeConnSlot(id int32) {
	c := &cl.conns[id]
	c.nextFree = cl.freeConn
	c.dev = -2
	cl.freeConn = id
}

// command: a client's think time is over and it sends its next command.
func (cl *cluster) command(id int32) {
	c := &cl.conns[id]
	if c.phase&thinking != 0 {
		c.phase &^= thinking
		cl.begin(id, c, c.cmd, c.target)
		return
	}
	dv := &cl.devices[c.dev]
	u := &cl.users[c.user]
	beh := cl.cfg.Profile.Behavior(u.aggressive)
	var step workloads.Step
	var next workloads.Phase
	if cl.replay != nil {
		step, next = cl.replayStep(c, dv)
	} else {
		step, next = cl.cfg.Profile.Next(dv.rng[c.slot], c.phase, beh, int(u.folders), cl.s.Now() >= dv.ends)
		if c.idle && c.phase == workloads.PhaseList {
			step, next = workloads.Step{Cmd: workloads.Select}, workloads.PhaseFirstFetch
		}
	}
	if cl.record != nil {
		op := workloads.TraceOp{At: cl.s.Now() + step.Think, User: cl.site.Users[c.user].Name, Device: int(c.dev), Kind: dv.kind.String(),
			Conn: int(c.slot), Op: step.Cmd.String(), Mailbox: step.Mailbox, Wait: step.Think}
		if step.Cmd == workloads.Append {
			op.Bytes = int64(cl.cfg.Population.MessageBytesMean)
		}
		cl.record.Write(op)
	}
	c.phase = next
	if step.Think > 0 {
		c.cmd = step.Cmd
		c.target = u.firstMailbox + int32(step.Mailbox)
		cl.s.After(step.Think, evCommand, uint32(id), 0)
		c.phase |= thinking
		return
	}
	cl.begin(id, c, step.Cmd, u.firstMailbox+int32(step.Mailbox))
}

// begin starts executing cmd on mailbox mb for connection id.
func (cl *cluster) begin(id int32, c *conn, cmd workloads.Command, mb int32) {
	now := cl.s.Now()
	c.cmd, c.target, c.start = cmd, mb, now
	c.ops, c.opAt, c.cpu = c.ops[:0], 0, 0
	c.stale, c.write = false, false
	if cmd == workloads.Login || cmd == workloads.Deliver {
		if !cl.route(id, c) {
			return
		}
		if c.hold > 0 {
			// A director holds the login while the user is moved or the
			// ring syncs.
			cl.s.After(c.hold, evResume, uint32(id), 0)
			return
		}
	}
	cl.plan(c)
	cl.advance(id, c)
}

// route asks the strategy where the connection goes and opens it there.
func (cl *cluster) route(id int32, c *conn) bool {
	// A delivery comes from one of the MX hosts, an IMAP login from the
	// device's own address.
	ip, proto := cl.mxIPs[int(c.user)%len(cl.mxIPs)], strategies.LMTP
	if c.dev >= 0 {
		ip, proto = cl.devices[c.dev].ip, strategies.IMAP
	}
	c.req = strategies.Request{Now: time.Duration(cl.s.Now()), User: cl.site.Users[c.user].Name, ClientIP: ip, Proto: proto}
	var d strategies.Decision
	if c.dev < 0 && cl.cfg.LMTPToAnyBackend {
		// The MX hands deliveries to a plain load balancer in front of
		// the backends' LMTP ports, not to the strategy's proxy.
		d = strategies.Decision{Backend: cl.lmtpRng.IntN(len(cl.backends)), Entry: -1}
	} else {
		d = cl.router.Route(c.req)
	}
	if d.Backend < 0 || d.Backend >= len(cl.backends) {
		cl.loginFailed(id, c, sim.FromDuration(d.Delay))
		return false
	}
	b := &cl.backends[d.Backend]
	if b.state != backendUp {
		cl.loginFailed(id, c, cl.failDelay(b, d))
		return false
	}
	if lim := cl.cfg.ProcessLimit; lim > 0 && b.conns >= lim && c.dev >= 0 {
		// Every imap process is taken: the login process cannot hand the
		// connection over and the client gets an error at once.
		if cl.measuring {
			cl.res.RefusedLogins++
		}
		cl.loginFailed(id, c, 0)
		return false
	}
	c.backend, c.entry, c.hops = int16(d.Backend), int16(d.Entry), int8(d.Hops)
	c.epoch, c.open = b.epoch, true
	c.hold = sim.FromDuration(d.Delay)
	b.conns++
	b.maxConns = max(b.maxConns, b.conns)
	b.logins++
	if c.dev >= 0 {
		if last := cl.lastBackend[c.user]; last >= 0 && last != int16(d.Backend) && cl.measuring {
			// The user's mailbox moves to another backend's memory:
			// a cold open there.
			cl.res.UserMoves++
		}
		cl.lastBackend[c.user] = int16(d.Backend)
		if cl.measuring {
			cl.res.Sessions++
		}
	}
	if c.dev >= 0 {
		row := cl.userConns[int(c.user)*len(cl.backends):][:len(cl.backends)]
		for ob, n := range row {
			if n == 0 || ob == d.Backend {
				continue
			}
			if !cl.multi[c.user] {
				cl.multi[c.user] = true
				if cl.measuring {
					cl.res.UsersMultiBackend++
				}
			}
			if cl.firstFault > 0 && !cl.multiAfterFault[c.user] {
				cl.multiAfterFault[c.user] = true
				cl.res.FailoverMultiBackend++
			}
		}
		row[d.Backend]++
	}
	if d.TerminatesTLS {
		// The proxy tier pays for TLS, not the backend.
		cl.res.ProxyCPU += cl.cfg.CPU.TLSHandshake + cl.cfg.CPU.ProxyLogin
	} else if c.dev >= 0 {
		c.cpu += cl.cfg.CPU.TLSHandshake
		if d.Entry >= 0 && d.Entry != d.Backend {
			// The entry backend terminates TLS and proxies: charge it there.
			cl.backends[d.Entry].cpu.busyTime += int64(cl.cfg.CPU.TLSHandshake + cl.cfg.CPU.ProxyLogin)
			c.cpu -= cl.cfg.CPU.TLSHandshake
		}
	}
	return true
}

// advance sends the connection's next NFS call, or its CPU work when the
// calls are done.
func (cl *cluster) advance(id int32, c *conn) {
	for c.opAt < len(c.ops) && c.ops[c.opAt].op >= nfsmodel.NumOps {
		// A lock step, not an NFS call.
		if !cl.lockStep(id, c) {
			return // waiting for the lock
		}
		c.opAt++
	}
	if c.opAt < len(c.ops) {
		cl.s.After(cl.cfg.Server.RTT/2, evNFSArrive, uint32(id), 0)
		return
	}
	if c.dev == probeDev {
		cl.complete(id, c)
		return
	}
	b := &cl.backends[c.backend]
	if b.cpu.arrive(id) {
		cl.s.After(c.cpu, evCPUDone, uint32(id), 0)
		b.cpu.busyTime += int64(c.cpu)
	} else if b.cpu.waiting.size > maxQueue {
		cl.overloaded(fmt.Sprintf("backend %d", c.backend), b.cpu.waiting.size, b.cpu.servers, "raise cluster.cores or cluster.backends, or lower the load")
	}
}

// maxQueue is the queue length at which a run gives up: a queue this long
// means the station is overloaded (busier than its capacity), so its queue
// and its latencies would grow without bound.
const maxQueue = 50_000

// overloaded stops the run with an error naming the overloaded station.
func (cl *cluster) overloaded(what string, waiting, servers int, advice string) {
	if cl.overload == nil {
		cl.overload = &OverloadError{Station: what, msg: fmt.Sprintf("model: %s is overloaded: %d requests waiting for its %d servers at %v; %s",
			what, waiting, servers, cl.s.Now().Duration().Round(time.Second), advice)}
	}
	cl.s.Stop()
}

func (cl *cluster) nfsStart(id int32, c *conn) {
	r := c.ops[c.opAt]
	t := cl.cfg.Server.ServiceTime(r.op, r.bytes, int(r.entries))
	if cl.nfsSlow != 1 {
		t = sim.Time(float64(t) * cl.nfsSlow)
	}
	cl.nfs.busyTime += int64(t)
	if cl.measuring {
		cl.res.NFSOps[r.op]++
	}
	cl.s.After(t, evNFSDone, uint32(id), 0)
}

// complete finishes the connection's current command.
func (cl *cluster) complete(id int32, c *conn) {
	now := cl.s.Now()
	if c.dev == probeDev {
		if cl.measuring {
			cl.res.Listing.Add((now - c.start).Sec())
		}
		cl.freeConnSlot(id)
		return
	}
	b := &cl.backends[c.backend]
	mb := &cl.mboxes[c.target]
	if c.write {
		if c.stale || mb.idxVer != c.seenIdx && mb.lastWriter != c.backend {
			// The index was written from a view older than another
			// backend's change: a conflicting write, which corrupts the
			// index with the configured probability.
			cl.conflict(c, mb)
		}
		mb.idxVer++
		mb.lastWriter, mb.lastWrite = c.backend, now
		b.attrs.Wrote(&cl.cfg.Mount, idxKey(c.target), mb.idxVer, now, false)
	}
	if cl.measuring {
		lat := now - c.start + sim.Time(c.hops)*cl.cfg.ProxyHop
		cl.res.Latency[c.cmd].Add(lat.Sec())
		b.commands++
		cl.res.Commands++
	}
	switch c.cmd {
	case workloads.Deliver:
		cl.closeConn(id, c)
		return
	case workloads.Logout:
		cl.closeConn(id, c)
		return
	case workloads.Select:
		c.selected = c.target
	}
	if c.idle && c.phase == workloads.PhaseLoop {
		cl.s.After(cl.cfg.Profile.IdleCheckInterval, evIdleCheck, uint32(id), c.gen)
		return
	}
	cl.command(id)
}

func (cl *cluster) closeConn(id int32, c *conn) {
	cl.detach(c)
	if c.dev >= 0 {
		dv := &cl.devices[c.dev]
		dv.conns[c.slot] = -1
		dv.open--
		if dv.open == 0 {
			cl.nextSession(c.dev)
		}
	}
	cl.freeConnSlot(id)
}

// nextSession schedules device d's next session after the user's pause.
func (cl *cluster) nextSession(d int32) {
	dv := &cl.devices[d]
	beh := cl.cfg.Profile.Behavior(cl.users[dv.user].aggressive)
	if cl.replay != nil {
		ss := cl.replay.Sessions(int(d))
		if int(dv.session) < len(ss) {
			cl.s.After(ss[dv.session].Wait, evSessionStart, uint32(d), 0)
		}
		return
	}
	gap := cl.expGap(dv.rng[0], beh.Reconnect)
	if a := cl.cfg.Profile.Activity(cl.s.Now()); a < 1 {
		// Off-peak, devices come back less often.
		gap = sim.Time(float64(gap) / max(a, 1e-3))
	}
	dv.gap = gap
	cl.s.After(gap, evSessionStart, uint32(d), 0)
}

// delivery starts one LMTP delivery and schedules the next.
func (cl *cluster) delivery() {
	if cl.replay != nil {
		ds := cl.replay.Deliveries
		op := ds[cl.delivAt]
		cl.delivAt++
		if cl.delivAt < len(ds) {
			cl.s.Schedule(ds[cl.delivAt].At, evDelivery, 0, 0)
		}
		if u, ok := cl.userIndex(op.User); ok {
			cl.deliverTo(u)
		}
		return
	}
	r := cl.delivRng
	cl.s.After(cl.expGap(r, cl.deliverAt), evDelivery, 0, 0)
	u := cl.pickRecipient(r)
	// The delivery process runs at the peak rate; off-peak, deliveries are
	// thinned by the hour's activity.
	if a := cl.cfg.Profile.Activity(cl.s.Now()); a < 1 && r.Float64() >= a {
		return
	}
	if cl.record != nil {
		cl.record.Write(workloads.TraceOp{At: cl.s.Now(), User: cl.site.Users[u].Name, Device: -1, Kind: "mx", Conn: -1, Op: "LMTP",
			Bytes: int64(cl.cfg.Population.MessageBytesMean)})
	}
	cl.deliverTo(u)
}

// deliverTo starts an LMTP delivery to user u.
func (cl *cluster) deliverTo(u int32) {
	id := cl.allocConn()
	c := &cl.conns[id]
	*c = conn{dev: -1, user: u, backend: -1, entry: -1, nextFree: -1, ops: c.ops[:0], gen: c.gen + 1}
	cl.begin(id, c, workloads.Deliver, cl.users[u].firstMailbox)
}

// pickRecipient chooses a delivery's recipient in proportion to the users'
// delivery rates, by rejection from a uniform pick.
func (cl *cluster) pickRecipient(r *rand.Rand) int32 {
	fastest := min(cl.cfg.Profile.Normal.DeliveryInterval, cl.cfg.Profile.Aggressive.DeliveryInterval)
	for {
		u := int32(r.IntN(len(cl.users)))
		b := cl.cfg.Profile.Behavior(cl.users[u].aggressive)
		if b.DeliveryInterval > 0 && r.Float64()*float64(b.DeliveryInterval) <= float64(fastest) {
			return u
		}
	}
}

func (cl *cluster) sample() {
	cl.s.After(cl.cfg.SampleInterval, evSample, 0, 0)
	open := 0
	for b := range cl.backends {
		open += cl.backends[b].conns
	}
	cl.res.Series = append(cl.res.Series, Sample{
		At:                cl.s.Now(),
		Connections:       open,
		StaleReads:        cl.res.StaleReads,
		ConflictingWrites: cl.res.ConflictingWrites,
		FailedLogins:      cl.res.FailedLogins,
	})
}
