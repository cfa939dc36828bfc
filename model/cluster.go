package model

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/strategies"
	"github.com/mailsim/mailsim/workloads"
)

// Event kinds.
const (
	evSessionStart uint32 = iota // Obj: device
	evCommand                    // Obj: connection; its think time is over
	evNFSArrive                  // Obj: connection; its request reaches the server
	evNFSDone                    // Obj: connection; the server finished its request (when an event marks it: see nfschain.go)
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
	evNotice                     // Obj: notice; a client gets the answer to a failure
	evAction                     // Obj: action index; an operator's action
	evKick                       // Obj: pending kick; a director's move starts
	evStopped                    // Obj: backend, Arg: epoch; a stopping backend's master has exited
	evRefresh                    // Obj: connection, Arg: its gen; its login proxy refreshes the director entry
	evProxyAttempt               // Obj: connection, Arg: its gen; its login proxy connects again
	evProxyRefused               // Obj: connection, Arg: its gen; its proxy's connect was refused
	evLockExpired                // Obj: retained lock; the storage frees a failed backend's lock
	evLockTimeout                // Obj: connection, Arg: its gen; its wait for a lock times out
	evChainDone                  // Obj: connection, Arg: its chain; the reply of a fused chain's last call is back (see nfschain.go)
	evNFSFree                    // an nfsd thread frees and a call waits for one (see nfschain.go)
)

// nfsReq is one pending NFS call of a connection.
type nfsReq struct {
	op      nfsmodel.Op
	entries int32
	bytes   int64
}

// mailbox is one folder's state: what is true of its files on the
// shared storage. A run holds one per folder of every user, so what only
// matters once two backends share a user's files is kept apart (see
// share).
type mailbox struct {
	// lastWrite is when lastWriter last wrote the index.
	lastWrite sim.Time
	msgs      int32
	// idxVer counts changes to the folder's index files; dirVer counts
	// changes to its Maildir directories (deliveries, expunges).
	idxVer, dirVer uint32
	// unsynced counts delivered messages not yet moved from new/ to cur/.
	unsynced int32
	// cacheBytes is the size of dovecot.index.cache (0: none exists).
	cacheBytes uint32
	// uncached counts messages with no cache record yet.
	uncached int32
	// log is the folder's transaction log.
	log indexLog
	// share is the index in cluster.shares of the folder's shared state,
	// plus one (0: none yet).
	share int32
	// cacheDeleted counts the cache's records of messages expunged since
	// the cache was last written afresh (saturating).
	cacheDeleted uint16
	// lastWriter is the backend that last wrote the index (-1: none yet).
	lastWriter int16
	// selectedBy counts the open IMAP connections that have the folder
	// selected (see openOn).
	selectedBy uint32
}

// share is the part of a folder's state that matters only once more than
// one backend has touched its user's files: until then every version and
// generation is 0 and every file was made by the one backend there is
// (see cluster.sh).
type share struct {
	// uidBytes is the size of dovecot-uidlist; cacheVer counts writes to
	// dovecot.index.cache; mainLogVer is the idxVer the main index was
	// last written at.
	uidBytes, cacheVer, mainLogVer uint32
	// names counts changes to the names in the folder's directory, where
	// the index files and dovecot-uidlist live (creates, renames,
	// deletes); uidVer counts appends to dovecot-uidlist; expungeVer is
	// dirVer (its low 16 bits) just after the last expunge. They are
	// attribute versions, kept as attrEntry keeps them.
	names, uidVer, expungeVer uint16
	// cacheGen, uidGen and logSeq count the files that have stood under
	// the names dovecot.index.cache, dovecot-uidlist and
	// dovecot.index.log.
	cacheGen, uidGen, logSeq uint16
	// cacheBy, uidGenBy, mainBy and rotatedBy made the current cache
	// file, uidlist, main index and log; expungeBy made the last expunge
	// (-1: none).
	cacheBy, uidGenBy, mainBy, rotatedBy, expungeBy int16
	// logCorrupt is set while the transaction log is corrupted (see
	// logCorrupted).
	logCorrupt bool
	// delegBy is the backend holding an NFSv4 read delegation of the
	// folder's index files (-1: none); delegConflict is set once one was
	// recalled (see delegOpen).
	delegBy       int16
	delegConflict bool
	// recalledAt is when the folder's delegation was last recalled
	// (see delegOpen).
	recalledAt sim.Time
	// uidDeleg are the backends (0 to 63) holding a read delegation of
	// dovecot-uidlist, uidRecalledAt when one was last recalled (see
	// uidlistRead).
	uidDeleg      uint64
	uidRecalledAt sim.Time
	// mainDeleg and mainRecalledAt are the same for dovecot.index (see
	// mainIndexRead).
	mainDeleg      uint64
	mainRecalledAt sim.Time
}

// unshared is the share of a folder only one backend has touched.
var unshared = share{cacheBy: -1, uidGenBy: -1, mainBy: -1, rotatedBy: -1, expungeBy: -1, delegBy: -1}

// sh returns mailbox mb's shared state. For a folder only one backend has
// touched it is a scratch copy of unshared, made afresh at every call, so
// that what a mechanism writes there is forgotten: nothing is shared yet.
func (cl *cluster) sh(mb *mailbox) *share {
	if mb.share != 0 {
		return &cl.shares[mb.share-1]
	}
	cl.noShare = unshared
	return &cl.noShare
}

// startSharing gives user u's folders their shared state, when a second
// backend first touches the user's files: everything is as the one
// backend until then left it, and as it sees it.
func (cl *cluster) startSharing(u int32) {
	for f := range cl.mboxPerUser {
		mb := &cl.mboxes[cl.firstMailbox(u)+f]
		s := unshared
		s.uidBytes = uidlistHeaderBytes + uint32(max(mb.msgs-mb.unsynced, 0))*uidlistLineBytes
		if cl.delegations() && cl.users[u].attrBackend >= 0 {
			// The backend that had the files to itself holds their
			// delegation (see delegOpen).
			s.delegBy = cl.users[u].attrBackend
		}
		cl.shares = append(cl.shares, s)
		mb.share = int32(len(cl.shares))
		if cl.kind == nfsmodel.KindClusterFS {
			for range objsPerFolder {
				cl.glocks = append(cl.glocks, glock{ex: -1})
			}
		}
	}
	usr := &cl.users[u]
	usr.set(sharedFiles)
	// The backend that had the files to itself holds them as they are.
	cl.page(usr.attrBackend, u, 0, pageLog)
}

// user is one account's state (16 bytes). Its folders are the mailboxes
// from firstMailbox on (every user has the same number); its devices are
// the devices from firstDevice up to the next user's first.
type user struct {
	firstDevice int32
	// lastBackend is the backend of the user's latest IMAP login (-1:
	// none yet).
	lastBackend int16
	aggressive  bool
	flags       userFlags
	// attrBackend is the first backend that cached attributes of the
	// user's objects (-1: none yet), and attrBlock the index of the
	// user's block in its attribute cache.
	attrBackend int16
	// open counts the user's open IMAP connections from its devices
	// (imaptest's clients apart), so that most questions about the
	// user's other connections are answered without looking at them.
	open      uint16
	attrBlock int32
}

// userFlags records what has happened to a user at least once, so that
// the result counts users, not events.
type userFlags uint8

const (
	// multiBackend: connections open on two backends at once.
	multiBackend userFlags = 1 << iota
	// multiAfterFault: the same after the first fault.
	multiAfterFault
	// affected: a failed login, command or delivery.
	affected
	// uidValidityChanged: a folder got a new UIDVALIDITY (clients drop
	// and download it again).
	uidValidityChanged
	// sharedFiles: more than one backend has touched the user's files
	// (see cluster.page).
	sharedFiles
)

// has reports whether flag f is set.
func (u *user) has(f userFlags) bool { return u.flags&f != 0 }

// set sets flag f and reports whether it was clear before.
func (u *user) set(f userFlags) bool {
	if u.flags&f != 0 {
		return false
	}
	u.flags |= f
	return true
}

// device is one client of a user. Its connection slots are slots to
// slots+nconn of the cluster's per-slot arrays.
type device struct {
	// gap is the pause before the current session; ends is when the
	// current session's length is used up.
	gap  sim.Time
	ends sim.Time
	// seed derives from the run seed and the device; together with the
	// session number it seeds each session's draws.
	seed uint64
	user int32
	// slots is the index of the device's first connection slot.
	slots int32
	// session counts started sessions.
	session uint32
	ip      [4]byte // an IPv4 address
	kind    workloads.DeviceKind
	nconn   uint8 // connection slots
	open    uint8 // connections still open in the current session
}

// conn is one connection (or an LMTP delivery, or a listing probe) in a
// reusable slot. Its fields are ordered to pack it tightly: a run holds
// about one per device connection slot.
type conn struct {
	start sim.Time
	cpu   sim.Time
	// routedAt is when the connection was routed (the Request's Now).
	routedAt sim.Time
	// buf is the buffer of the pending command's NFS calls and lock
	// steps (see takeOps; 0 for none), and opAt the next one to make.
	buf      int32
	opAt     int32
	dev      int32 // -1 for an LMTP delivery
	user     int32
	selected int32 // absolute mailbox index (-1: none)
	target   int32 // mailbox of the current command
	// cacheGen, uidGen and logSeq name the files the connection holds
	// open of its selected folder (see share).
	cacheGen, uidGen, logSeq uint16
	nextFree                 int32
	// epoch is the backend's epoch when the connection was opened.
	epoch uint32
	// gen changes whenever the slot is reused, so that a timer set for an
	// earlier connection in the same slot is recognised and ignored.
	gen     uint32
	backend int16
	entry   int16
	slot    int8
	hops    int8
	phase   workloads.Phase
	cmd     workloads.Command
	idle    bool
	write   bool
	// dead marks a connection whose backend crashed or hung, or whose
	// session a director kicked: its pending event releases it.
	dead bool
	// open is true while the connection counts as open on its backend.
	open bool
	// routed is true while the connection is open and was routed by the
	// router, which must hear when it ends.
	routed bool
	// locked is true while the connection holds or waits for its
	// folder's index lock (see lockKey), or with mapLock its user's mdbox
	// map lock.
	locked  bool
	mapLock bool
	// racing is set when the connection's last scan of the Maildir found
	// a message its index says was expunged (see expungeRace).
	racing bool
	// attempts counts a proxied login's reconnects (see proxyRefused).
	attempts uint8
	// lockAt is when the connection began its latest wait for a lock
	// (see lockTimedOut), or when it got the lock it holds.
	lockAt sim.Time
	// unseen is when the first delivery this IDLE connection has not
	// yet reported to its client completed (0: none).
	unseen sim.Time
	// memIndex is the version of the in-memory index of the selected
	// folder, under INDEX=MEMORY (see indexVersion).
	memIndex uint32
	// chain numbers the connection's chain of calls simulated as one
	// event, while fused is set; chainAt is then when its first call
	// arrives at the server, and otherwise when the call it has in
	// service without an event for its end is done (see occupy; 0:
	// none), all in nfschain.go.
	chain    uint32
	chainEnd int32 // the index after the fused chain's last call
	fused    bool
	chainAt  sim.Time
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
	attrs    *attrCache
	commands uint64
	hits     uint64
	misses   uint64
	conns    int
	maxConns int
	logins   uint64
	loginsOK uint64
	// stopped is when a stopping backend's master exits.
	stopped sim.Time
	// hungAt is when the backend last hung.
	hungAt sim.Time
}

// cluster is one run's state.
type cluster struct {
	cfg    *Config
	s      *sim.Sim
	router strategies.Router
	script workloads.Script
	users  []user
	// names holds the users' names one after the other: user u's is
	// names[nameAt[u]:nameAt[u+1]].
	names  string
	nameAt []uint32
	// mboxPerUser is every user's number of folders, INBOX included.
	mboxPerUser int32
	mboxes      []mailbox
	devices     []device
	// slotConn is each device connection slot's connection (-1 when
	// closed) and slotRng its random stream; slotStep and slotRetry count
	// the replayed commands and retries per slot.
	slotConn  []int32
	slotRng   []rand.PCG
	slotStep  []int32
	slotRetry []int32
	conns     []conn
	freeConn  int32
	// bufs are the connections' call buffers; freeBufs lists those free.
	bufs      [][]nfsReq
	freeBufs  []int32
	backends  []backend
	nfs       station
	delivRng  *rand.Rand
	deliverAt sim.Time // mean gap between deliveries site-wide
	mxIPs     []netip.Addr
	measuring bool
	res       *Result

	// Faults and health monitoring.
	monitor    strategies.Monitor
	monitorAt  sim.Time // time of the earliest pending evMonitor
	probes     []probe
	probeBuf   []strategies.Probe
	actBuf     []strategies.Action
	firstFault sim.Time
	nfsSlow    float64

	// Chains of calls (see nfschain.go): how many are in progress, fused
	// or not (from when the backend sends a chain's first call to when
	// the reply of its last arrives or its connection's end is noticed;
	// never fewer than the busy nfsd threads), the last chain number
	// given, the fused ones (with those no longer fused among them until
	// compacted) and how many are fused; noFuse simulates every call as
	// its own events.
	chainLive int
	chainSeq  uint32
	fused     []fusedChain
	fusedN    int
	noFuse    bool
	// saved counts the events the call-by-call model would have
	// dispatched that fused chains did not (see callEvents).
	saved int64
	// nfsUntil holds when the nfsd threads serving calls without an
	// event for their end are free again (a min-heap), and nfsFreeAt
	// the time of the pending evNFSFree (Never: none).
	nfsUntil  []sim.Time
	nfsFreeAt sim.Time
	byName    map[string]int32

	// Index locks: holder by lock key, and the queues of waiters.
	lockHolder  map[uint64]int32
	lockWaiters map[uint64][]lockWaiter

	// Traces.
	record  *workloads.TraceWriter
	replay  *workloads.Trace
	delivAt int // next replayed delivery

	// kicks are a director's kicks due when their moves start.
	kicks []pendingKick

	// poolFirst is the first imaptest client's device (len(devices)
	// without an imaptest load), poolStarted the clients started.
	poolFirst   int32
	poolStarted int
	// loadBuf is the sample's scratch buffer of a user table's loads.
	loadBuf []int
	// proxyRecs are the login process's records of its backends (see
	// proxyRecord).
	proxyRecs []proxyRecord

	// overload is set when a station's queue grew without bound.
	overload error

	// notices are failures clients learn of later; freeNotices lists
	// the places of those handled, for reuse, so that the slice holds no
	// more than the notices pending at once.
	notices     []notice
	freeNotices []int32
	noticeGen   uint32

	lmtpRng *rand.Rand

	// scratch holds the page version cluster.page returns for a user only
	// one backend has touched.
	// (one per kind of file, as callers hold several at once).
	scratch [numPageFiles]uint32
	// shares holds the folders' shared state (see share), noShare the
	// scratch copy sh returns for the others.
	shares  []share
	noShare share

	// Storage (see storageSetup): its kind, the mail format, where the
	// indexes are, the round trip to the storage, the bare RPC time a
	// call on coherent storage does not pay, and whether the backends
	// mount NFSv4.
	kind   nfsmodel.Kind
	format nfsmodel.MailFormat
	place  nfsmodel.IndexPlace
	rtt    sim.Time
	rpc    sim.Time
	v4     bool
	// glockWait and glockFlush carry a cluster lock request from
	// coherentAccess to the revalidation call that follows it.
	glockWait  sim.Time
	glockFlush bool
	// glocks are a cluster file system's locks of the shared folders'
	// objects (see glock): objsPerFolder per share, objects after the
	// root (idxObj first).
	glocks []glock
	// msgDelegs are the NFSv4 read delegations of message files a backend
	// holds in a shared folder, by share<<16|backend (see msgDelegated).
	msgDelegs map[uint64]msgDeleg
	// dlmFrozen is when a cluster file system's lock manager grants
	// locks again after a node's failure (fencing and recovery).
	dlmFrozen sim.Time
	// dying is the kind of the fault whose backend's sessions are being
	// ended (noFault otherwise); retainedLocks are the locks kept for dead
	// connections (see releaseDead).
	dying         FaultKind
	retainedLocks []retained
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
	// Context, if set, stops the run when it is cancelled: the run then
	// returns an error wrapping the context's error, within a few
	// thousand events.
	Context context.Context
	// callByCall simulates every storage call as its own events, never a
	// chain as one (see nfschain.go); the tests compare the two.
	callByCall bool
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
	if cfg.Imaptest.Clients > 0 && (o.Record != nil || o.Replay != nil) {
		return nil, fmt.Errorf("model: a run with an imaptest load cannot record or replay a trace: its clients draw their own users")
	}
	cl, err := newCluster(&cfg, router, seed)
	if err != nil {
		return nil, err
	}
	cl.monitor = o.Monitor
	cl.noFuse = o.callByCall
	cl.record, cl.replay = o.Record, o.Replay
	if err := cl.startTrace(seed); err != nil {
		return nil, err
	}
	cl.monitorAt = sim.Never
	cl.s.SetCheck(cl.checker(o.Context))
	cl.start(seed)
	end := cfg.Warmup + cfg.Duration
	cl.s.Run(cfg.Warmup, cl)
	if !cl.s.Stopped() {
		cl.startMeasuring()
		cl.s.Run(end, cl)
	}
	if cl.overload != nil {
		return nil, cl.overload
	}
	if err := cl.s.Err(); err != nil {
		return nil, err
	}
	cl.settleFused(end)
	cl.finish()
	return cl, nil
}

// startMeasuring ends warm-up: from now on everything is counted, and
// what warm-up accumulated in the stations' and backends' counters is
// forgotten.
func (cl *cluster) startMeasuring() {
	cl.unfuseAll() // calls before now are not counted, those after are
	cl.measuring = true
	cl.nfs.busyTime = 0
	for i := range cl.backends {
		b := &cl.backends[i]
		b.cpu.busyTime = 0
		b.hits, b.misses, b.logins = 0, 0, 0
		b.maxConns = b.conns
	}
}

// stallEvents is how many events a run may dispatch without its clock
// moving before it is stopped: a configuration in which something retries
// at once, forever (zero retry delays with every backend down), would
// otherwise never end. No model mechanism dispatches nearly as many events
// at one instant.
const stallEvents = 10_000_000

// checker returns the kernel's periodic check for a run: it stops the run
// when ctx is cancelled, when the run has used up its event budget, or
// when the simulated clock stands still.
func (cl *cluster) checker(ctx context.Context) func() error {
	budget := cl.cfg.EventBudget()
	var stillSince uint64
	last := sim.Time(-1)
	return func() error {
		if ctx != nil && ctx.Err() != nil {
			return fmt.Errorf("model: run stopped at %v: %w", cl.s.Now().Duration(), ctx.Err())
		}
		done := cl.s.Dispatched()
		if done >= budget {
			return &BudgetError{Events: done, At: cl.s.Now()}
		}
		if now := cl.s.Now(); now != last {
			last, stillSince = now, done
		} else if done-stillSince >= stallEvents {
			return &StallError{Events: done - stillSince, At: now}
		}
		return nil
	}
}

func newCluster(cfg *Config, router strategies.Router, seed uint64) (*cluster, error) {
	cl := &cluster{cfg: cfg, s: sim.New(1024), router: router, freeConn: -1}
	// Most events are NFS calls and CPU work due within milliseconds,
	// while most pending events are clients thinking for seconds: keep
	// the near ones in a small heap of their own.
	cl.s.SetNearHorizon(nearHorizon)
	cl.storageSetup()
	cl.dying = noFault
	cl.script = cfg.Profile.Script()
	p := &cfg.Population
	cl.mboxPerUser = int32(1 + p.Folders)
	cl.users = make([]user, 0, p.Users)
	cl.nameAt = make([]uint32, 1, p.Users+1)
	cl.mboxes = make([]mailbox, 0, p.Users*(1+p.Folders))
	var names strings.Builder
	names.Grow(p.Users * len(fmt.Sprintf("user%06d@%s", 0, p.Domain)))
	err := workloads.GenerateEach(*p, seed, func(u int, su *workloads.User, devs []workloads.Device) {
		if len(su.Mailboxes) != int(cl.mboxPerUser) {
			panic("model: users with different numbers of folders")
		}
		cl.users = append(cl.users, user{firstDevice: int32(len(cl.devices)), lastBackend: -1, aggressive: su.Aggressive, attrBackend: -1})
		names.WriteString(su.Name)
		if names.Len() > math.MaxUint32 {
			panic("model: the users' names exceed 4 GiB")
		}
		cl.nameAt = append(cl.nameAt, uint32(names.Len()))
		for _, m := range su.Mailboxes {
			cl.mboxes = append(cl.mboxes, mailbox{msgs: m.Messages, lastWriter: -1,
				cacheBytes: uint32(min(max(int64(m.Messages)*cacheBytesPerMessage, 1024), math.MaxUint32))})
		}
		for _, sd := range devs {
			d := len(cl.devices)
			cl.devices = append(cl.devices, device{
				user:  sd.User,
				kind:  sd.Kind,
				ip:    sd.IP.As4(),
				nconn: uint8(sd.Connections),
				slots: int32(len(cl.slotConn)),
				seed:  sim.SubSeed(seed, fmt.Sprintf("workload/device/%d", d)),
			})
			for range sd.Connections {
				cl.slotConn = append(cl.slotConn, -1)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	cl.names = names.String()
	cl.addPool(seed)
	// Drop the slack of the slices' growth.
	cl.devices = slices.Clone(cl.devices)
	cl.slotConn = slices.Clone(cl.slotConn)
	cl.conns = make([]conn, 0, len(cl.slotConn)+16)
	cl.slotRng = make([]rand.PCG, len(cl.slotConn))
	cl.backends = make([]backend, cfg.Backends)
	ts := &timeouts{of: make([]sim.Time, 1, 16)}
	for b := range cl.backends {
		cl.backends[b] = backend{slow: 1, cpu: station{servers: cfg.Cores}, cache: newLRU(cfg.CacheBytes), attrs: newAttrCache(1+objsPerFolder*cl.mboxPerUser, ts)}
	}
	cl.proxyRecs = make([]proxyRecord, cfg.Backends)
	cl.nfs = station{servers: cfg.Server.Threads}
	cl.nfsFreeAt = sim.Never
	cl.nfsSlow = 1
	cl.lockHolder = make(map[uint64]int32)
	cl.lockWaiters = make(map[uint64][]lockWaiter)
	cl.lmtpRng = sim.Stream(seed, "lmtp/balancer")
	cl.delivRng = sim.Stream(seed, "workload/delivery")
	for i := range cfg.MXHosts {
		cl.mxIPs = append(cl.mxIPs, netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + i%250)}))
	}
	cl.res = newResult(cfg, router.Name())
	return cl, nil
}

// userName returns user u's name.
func (cl *cluster) userName(u int32) string {
	return cl.names[cl.nameAt[u]:cl.nameAt[u+1]]
}

// firstMailbox returns the index of user u's INBOX; its other folders
// follow it.
func (cl *cluster) firstMailbox(u int32) int32 { return u * cl.mboxPerUser }

// folders returns the number of folders every user has besides INBOX.
func (cl *cluster) folders() int8 { return int8(cl.mboxPerUser - 1) }

// userDevices returns the range of user u's devices.
func (cl *cluster) userDevices(u int32) (first, end int32) {
	first, end = cl.users[u].firstDevice, cl.poolFirst
	if int(u)+1 < len(cl.users) {
		end = cl.users[u+1].firstDevice
	}
	return first, end
}

// deviceConns returns device dv's connection slots.
func (cl *cluster) deviceConns(dv *device) []int32 {
	return cl.slotConn[dv.slots : dv.slots+int32(dv.nconn)]
}

// rng returns the random stream of device dv's connection slot.
func (cl *cluster) rng(dv *device, slot int8) *rand.Rand {
	return rand.New(&cl.slotRng[dv.slots+int32(slot)])
}

// addr returns device dv's address.
func (dv *device) addr() netip.Addr { return netip.AddrFrom4(dv.ip) }

func (cl *cluster) start(seed uint64) {
	// The run starts in the population's stationary state: each device is
	// at a random point of its own cycle of sessions and pauses, so it is
	// in a session with probability SessionLength/(SessionLength+pause),
	// and what is left of that session or pause is exponential with the
	// same mean as a whole one (both are exponential, so memoryless). A
	// device caught in a session logs in again within the first half of
	// warm-up (at most resumeSpread), as after a proxy restart, rather
	// than all at once.
	spread := min(cl.cfg.Warmup/2, resumeSpread)
	activity := cl.script.Activity(0)
	cl.startPool()
	for d := range int(cl.poolFirst) {
		dv := &cl.devices[d]
		if cl.replay != nil {
			if ss := cl.replay.Sessions(d); len(ss) > 0 {
				cl.s.Schedule(ss[0].At, evSessionStart, uint32(d), 0)
			}
			continue
		}
		b := cl.cfg.Profile.Behavior(cl.users[dv.user].aggressive)
		// The stream of the device's first connection slot is reseeded
		// for each session; before the first one it draws only this.
		src := &cl.slotRng[dv.slots]
		*src = *sim.Source(seed, fmt.Sprintf("workload/device/%d/conn/0", d))
		r := rand.New(src)
		pause := b.Reconnect
		if activity < 1 {
			pause = sim.FromFloat(float64(pause) / max(activity, 1e-3)) // as nextSession
		}
		var at sim.Time
		if r.Float64()*float64(pause+b.SessionLength) < float64(b.SessionLength) {
			// In a session since before the run: it ends when it would
			// have, even though the client logs in a little later, and if
			// that is before it logs in, the device is in its pause.
			at = sim.FromFloat(r.Float64() * float64(spread))
			if ends := cl.expGap(r, b.SessionLength); ends > at {
				dv.ends = ends
			} else {
				at = ends + cl.expGap(r, pause)
			}
		} else {
			at = cl.expGap(r, pause)
		}
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
	for i, a := range cl.cfg.Actions {
		cl.s.Schedule(cl.cfg.Warmup+a.At, evAction, uint32(i), 0)
	}
	cl.scheduleMonitor()
}

func (cl *cluster) expGap(r *rand.Rand, mean sim.Time) sim.Time {
	return sim.FromFloat(r.ExpFloat64() * float64(mean))
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
			cl.chainLive--
			return
		}
		c := &cl.conns[e.Obj]
		// Threads whose calls are done go to those waiting first; then
		// this call is served or waits behind them.
		cl.nfsCatchUp()
		if cl.nfs.arrive(int32(e.Obj)) {
			cl.nfsStart(int32(e.Obj), c)
		} else {
			cl.nfsWake()
			if cl.nfs.waiting.size > maxQueue {
				cl.overloaded("the NFS server", cl.nfs.waiting.size, cl.nfs.servers, "raise nfs.threads or lower the load")
			}
		}
	case evNFSDone:
		if next, ok := cl.nfs.depart(); ok {
			cl.nfsStart(next, &cl.conns[next])
		}
		if !cl.alive(int32(e.Obj)) {
			cl.chainLive--
			return
		}
		// The reply travels back for half a round trip. The backend sends
		// its next call at once, so that call reaches the server a whole
		// round trip after this one finished; only after its last call does
		// the connection need an event when the reply arrives.
		c := &cl.conns[e.Obj]
		c.opAt++
		if ops := cl.ops(c); int(c.opAt) < len(ops) && ops[c.opAt].op < nfsmodel.NumOps {
			cl.s.After(cl.rtt, evNFSArrive, e.Obj, 0)
		} else {
			cl.s.After(cl.rtt/2, evNFSReply, e.Obj, 0)
		}
	case evNFSReply:
		cl.chainLive--
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
	case evNotice:
		cl.noticeDue(int(e.Obj), e.Arg)
	case evAction:
		cl.action(int(e.Obj))
	case evKick:
		k := cl.kicks[e.Obj]
		cl.kick(k.user, k.from)
	case evStopped:
		cl.stopped(int(e.Obj), e.Arg)
	case evRefresh:
		cl.proxyRefresh(int32(e.Obj), e.Arg)
	case evProxyAttempt:
		if c := &cl.conns[e.Obj]; c.gen == e.Arg && cl.alive(int32(e.Obj)) {
			cl.proxyAttempt(int32(e.Obj))
		}
	case evProxyRefused:
		cl.proxyRefused(int32(e.Obj), e.Arg)
	case evLockExpired:
		cl.lockExpired(int(e.Obj))
	case evLockTimeout:
		cl.lockTimedOut(int32(e.Obj), e.Arg)
	case evChainDone:
		cl.chainDone(int32(e.Obj), e.Arg)
	case evNFSFree:
		cl.saved-- // an event the call-by-call model does not have
		if e.At == cl.nfsFreeAt {
			cl.nfsFreeAt = sim.Never
		}
		cl.nfsCatchUp()
		cl.nfsWake()
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
	pool := cl.isPool(d)
	b := cl.cfg.Profile.Behavior(cl.users[dv.user].aggressive)
	dv.session++
	for i := range int(dv.nconn) {
		// Each session's draws depend only on the run seed, the device,
		// the connection and the session number, so that a slower or
		// faster earlier session leaves the later ones as they were.
		cl.slotRng[dv.slots+int32(i)].Seed(dv.seed+uint64(i)*0x9e3779b97f4a7c15, uint64(dv.session))
	}
	var length sim.Time
	switch {
	case pool:
		// An imaptest connection lasts until its LOGOUT.
		dv.user = cl.drawUser(dv)
		length = sim.Never - cl.s.Now()
	case cl.replay != nil:
		ss := cl.replay.Sessions(int(d))
		length = ss[dv.session-1].Length
	case dv.session == 1 && dv.ends > cl.s.Now():
		// A session that began before the run (see start).
		length = dv.ends - cl.s.Now()
	default:
		length = cl.expGap(cl.rng(dv, 0), b.SessionLength)
	}
	if cl.record != nil {
		cl.record.Write(workloads.TraceOp{At: cl.s.Now(), User: cl.userName(dv.user), Device: int(d), Kind: dv.kind.String(), Op: "SESSION", Wait: dv.gap, Length: length})
	}
	dv.ends = cl.s.Now() + length
	dv.open = dv.nconn
	conns := cl.deviceConns(dv)
	for i := range conns {
		id := cl.allocConn()
		c := &cl.conns[id]
		*c = conn{dev: d, slot: int8(i), user: dv.user, backend: -1, entry: -1, selected: -1, phase: workloads.PhaseLogin, nextFree: -1, gen: c.gen + 1}
		// The second and later connections of a desktop client sit in IDLE
		// on INBOX, as imaptest's client profiles do.
		c.idle = i > 0
		conns[i] = id
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
	cl.releaseOps(c)
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
	if cl.isPool(c.dev) {
		step = cl.poolStep(c, dv)
		next = c.phase
	} else if cl.replay != nil {
		step, next = cl.replayStep(c, dv)
	} else {
		step, next = cl.script.Next(cl.rng(dv, c.slot), c.phase, beh, int(cl.folders()), cl.s.Now() >= dv.ends)
		if c.idle && c.phase == workloads.PhaseList {
			step, next = workloads.Step{Cmd: workloads.Select}, workloads.PhaseFirstFetch
		}
	}
	if cl.record != nil {
		op := workloads.TraceOp{At: cl.s.Now() + step.Think, User: cl.userName(c.user), Device: int(c.dev), Kind: dv.kind.String(),
			Conn: int(c.slot), Op: step.Cmd.String(), Mailbox: step.Mailbox, Wait: step.Think}
		if step.Cmd == workloads.Append {
			op.Bytes = int64(cl.cfg.Population.MessageBytesMean)
		}
		cl.record.Write(op)
	}
	c.phase = next
	if step.Think > 0 {
		c.cmd = step.Cmd
		c.target = cl.firstMailbox(c.user) + int32(step.Mailbox)
		cl.s.After(step.Think, evCommand, uint32(id), 0)
		c.phase |= thinking
		return
	}
	cl.begin(id, c, step.Cmd, cl.firstMailbox(c.user)+int32(step.Mailbox))
}

// begin starts executing cmd on mailbox mb for connection id.
func (cl *cluster) begin(id int32, c *conn, cmd workloads.Command, mb int32) {
	now := cl.s.Now()
	c.cmd, c.target, c.start = cmd, mb, now
	if c.buf != 0 {
		cl.bufs[c.buf] = cl.bufs[c.buf][:0]
	}
	c.opAt, c.cpu = 0, 0
	c.write = false
	if cmd == workloads.Login || cmd == workloads.Deliver {
		hold, ok := cl.route(id, c)
		if !ok {
			return
		}
		if hold > 0 {
			// A director holds the login while the user is moved or the
			// ring syncs.
			cl.s.After(hold, evResume, uint32(id), 0)
			return
		}
	}
	cl.plan(c)
	cl.advance(id, c)
}

// request returns the routing request of connection c at time at.
func (cl *cluster) request(c *conn, at sim.Time) strategies.Request {
	return cl.requestOf(c.user, c.dev, at)
}

// requestOf returns the routing request of a connection of user u from
// device dev (-1: an LMTP delivery) at time at.
func (cl *cluster) requestOf(u, dev int32, at sim.Time) strategies.Request {
	// A delivery comes from one of the MX hosts, an IMAP login from the
	// device's own address.
	ip, proto := cl.mxIPs[int(u)%len(cl.mxIPs)], strategies.LMTP
	if dev >= 0 {
		ip, proto = cl.devices[dev].addr(), strategies.IMAP
	}
	return strategies.Request{Now: time.Duration(at), User: cl.userName(u), ClientIP: ip, Proto: proto}
}

// route asks the strategy where the connection goes and opens it there.
// It returns how long a director holds the login, and false if the login
// failed.
func (cl *cluster) route(id int32, c *conn) (sim.Time, bool) {
	c.routedAt = cl.s.Now()
	var d strategies.Decision
	routed := !(c.dev < 0 && cl.cfg.LMTPToAnyBackend)
	if routed {
		d = cl.router.Route(cl.request(c, c.routedAt))
	} else {
		// The MX hands deliveries to a plain load balancer in front of
		// the backends' LMTP ports, not to the strategy's proxy.
		d = strategies.Decision{Backend: cl.lmtpRng.IntN(len(cl.backends)), Entry: -1}
	}
	if d.Backend < 0 || d.Backend >= len(cl.backends) {
		// Nowhere to send it: nothing was routed, nothing to close.
		cl.loginFailed(id, c, sim.FromDuration(d.Delay), false)
		return 0, false
	}
	c.backend, c.entry, c.hops = int16(d.Backend), int16(d.Entry), int8(d.Hops)
	b := &cl.backends[d.Backend]
	if b.state == backendCrashed && d.Hops > 0 && c.dev >= 0 && cl.proxyState() {
		// The login process tries, and may count the host as down.
		c.routed, c.attempts = routed, 0
		if d.Delay > 0 {
			cl.s.After(sim.FromDuration(d.Delay), evProxyAttempt, uint32(id), c.gen)
		} else {
			cl.proxyAttempt(id)
		}
		return 0, false
	}
	if b.state != backendUp {
		// The router hears of the failure when the proxy does.
		cl.loginFailed(id, c, cl.failDelay(b, d), routed)
		return 0, false
	}
	if d.Hops > 0 && c.dev >= 0 && cl.proxyState() {
		cl.proxyConnected(int16(d.Backend))
	}
	if lim := cl.cfg.ProcessLimit; lim > 0 && b.conns >= lim && c.dev >= 0 {
		// Every imap process is taken: the login process cannot hand the
		// connection over and the client gets an error at once.
		if cl.measuring {
			cl.res.RefusedLogins++
		}
		cl.loginFailed(id, c, 0, routed)
		return 0, false
	}
	c.epoch, c.open, c.routed = b.epoch, true, routed
	if c.dev >= 0 && !cl.isPool(c.dev) {
		cl.users[c.user].open++
	}
	cl.selectedBy(c, 1)
	b.conns++
	b.maxConns = max(b.maxConns, b.conns)
	if cl.measuring {
		b.logins++
	}
	if c.dev >= 0 {
		u := &cl.users[c.user]
		if last := u.lastBackend; last >= 0 && last != int16(d.Backend) && cl.measuring {
			// The user's mailbox moves to another backend's memory:
			// a cold open there.
			cl.res.UserMoves++
		}
		u.lastBackend = int16(d.Backend)
		if cl.measuring {
			cl.res.Sessions++
		}
		if cl.openElsewhere(c, int16(d.Backend)) {
			// Flags are set in the measured period only, so that a user
			// seen during warm-up is still counted.
			if cl.measuring && u.set(multiBackend) {
				cl.res.UsersMultiBackend++
			}
			if cl.measuring && cl.firstFault > 0 && u.set(multiAfterFault) {
				cl.res.FailoverMultiBackend++
			}
		}
	}
	if d.TerminatesTLS {
		// The proxy tier pays for TLS, not the backend.
		if cl.measuring {
			cl.res.ProxyCPU += cl.cfg.CPU.TLSHandshake + cl.cfg.CPU.ProxyLogin
		}
	} else if c.dev >= 0 {
		c.cpu += cl.cfg.CPU.TLSHandshake
		if d.Entry >= 0 && d.Entry != d.Backend {
			// The entry backend terminates TLS and proxies: charge it there.
			cl.backends[d.Entry].cpu.busyTime += int64(cl.cfg.CPU.TLSHandshake + cl.cfg.CPU.ProxyLogin)
			c.cpu -= cl.cfg.CPU.TLSHandshake
		}
	}
	return sim.FromDuration(d.Delay), true
}

// openElsewhere reports whether connection c's user has an IMAP
// connection open on a backend other than b. Every open IMAP connection
// sits in its device's connection slot, so the user's slots are all
// there is to look at.
func (cl *cluster) openElsewhere(c *conn, b int16) bool {
	return cl.anyUserConn(c.user, c, func(o *conn) bool { return o.open && o.backend != b })
}

// selectedBy adds d to the count of open IMAP connections that have
// connection c's selected folder selected, if c is one of them.
func (cl *cluster) selectedBy(c *conn, d int) {
	if c.open && c.dev >= 0 && c.selected >= 0 {
		mb := &cl.mboxes[c.selected]
		mb.selectedBy = uint32(int(mb.selectedBy) + d)
	}
}

// noOtherOpen reports whether user u is known to have no open IMAP
// connection but c, by the user's count of them: always false under an
// imaptest load, whose clients are not counted.
func (cl *cluster) noOtherOpen(u int32, c *conn) bool {
	if cl.poolFirst != int32(len(cl.devices)) {
		return false
	}
	n := cl.users[u].open
	if c.user == u && c.open && c.dev >= 0 {
		n-- // c is one of them
	}
	return n == 0
}

// anyUserConn reports whether f, which holds only for open connections
// other than c, holds for one of user u's IMAP connections: those in the
// connection slots of the user's devices, and the imaptest clients'
// logged in as the user. The user's count of open connections answers
// without looking at them when c is the only one.
func (cl *cluster) anyUserConn(u int32, c *conn, f func(o *conn) bool) bool {
	if cl.noOtherOpen(u, c) {
		return false
	}
	first, end := cl.userDevices(u)
	for d := first; d < end; d++ {
		for _, id := range cl.deviceConns(&cl.devices[d]) {
			if id >= 0 && f(&cl.conns[id]) {
				return true
			}
		}
	}
	for _, id := range cl.poolConns() {
		if id >= 0 && cl.conns[id].user == u && f(&cl.conns[id]) {
			return true
		}
	}
	return false
}

// advance sends the connection's next NFS call, or its CPU work when the
// calls are done.
func (cl *cluster) advance(id int32, c *conn) {
	for int(c.opAt) < len(cl.ops(c)) && cl.ops(c)[c.opAt].op >= nfsmodel.NumOps {
		// A lock step, not an NFS call.
		if !cl.lockStep(id, c) {
			return // waiting for the lock
		}
		c.opAt++
	}
	if int(c.opAt) < len(cl.ops(c)) {
		cl.startChain(id, c)
		return
	}
	cl.releaseOps(c)
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

// resumeSpread bounds the time over which the devices that are in a
// session when a run starts log in (see start).
const resumeSpread = 5 * sim.Minute

// nearHorizon is the kernel's near horizon (see [sim.Sim.SetNearHorizon]).
// It changes only the speed of a run, not its result.
const nearHorizon = 10 * sim.Millisecond

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
	r := cl.ops(c)[c.opAt]
	t := cl.serviceTime(r)
	if cl.nfsSlow != 1 {
		t = sim.Scale(t, cl.nfsSlow)
	}
	cl.nfs.busyTime += int64(t)
	if cl.measuring {
		cl.res.NFSOps[r.op]++
	}
	if cl.noFuse {
		cl.s.After(t, evNFSDone, uint32(id), 0)
		return
	}
	cl.occupy(id, c, later(cl.s.Now(), t))
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
		owner, folder := cl.mailboxObj(c.target)
		appended(cl.page(c.backend, owner, folder, pageLog), mb.idxVer)
		mb.idxVer++
		if cl.place != nfsmodel.IndexShared {
			cl.localWrote(c, mb.idxVer-1)
		}
		mb.lastWriter, mb.lastWrite = c.backend, now
		cl.attrWrote(c.backend, owner, idxObj(folder), mb.idxVer, now, false)
	}
	if cl.measuring {
		lat := now - c.start + sim.Time(c.hops)*cl.cfg.ProxyHop
		cl.res.Latency[c.cmd].Add(lat.Sec())
		b.commands++
		cl.res.Commands++
	}
	switch c.cmd {
	case workloads.Login:
		if c.dev >= 0 {
			// The client has its OK.
			if cl.measuring {
				cl.res.LoginsOK++
				b.loginsOK++
			}
			if cl.isPool(c.dev) {
				cl.poolLoggedIn()
			}
			if n, ok := cl.router.(proxyNotifier); ok && c.routed && c.hops > 0 {
				cl.s.After(sim.FromDuration(n.ProxyRefresh()), evRefresh, uint32(id), c.gen)
			}
		}
	case workloads.Deliver:
		cl.delivered(c)
		cl.closeConn(id, c)
		return
	case workloads.Logout:
		cl.closeConn(id, c)
		return
	case workloads.Select:
		cl.selectedBy(c, -1)
		c.selected = c.target
		cl.selectedBy(c, 1)
	}
	if c.idle && c.phase == workloads.PhaseLoop {
		cl.s.After(cl.cfg.Profile.IdleCheckInterval, evIdleCheck, uint32(id), c.gen)
		return
	}
	cl.command(id)
}

func (cl *cluster) closeConn(id int32, c *conn) {
	cl.detach(c, true)
	if c.dev >= 0 {
		dv := &cl.devices[c.dev]
		cl.slotConn[dv.slots+int32(c.slot)] = -1
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
	if cl.isPool(d) {
		// imaptest opens a new connection for a new user at once.
		cl.s.After(cl.expGap(cl.rng(dv, 0), cl.cfg.Imaptest.Reconnect), evSessionStart, uint32(d), 0)
		return
	}
	if cl.replay != nil {
		ss := cl.replay.Sessions(int(d))
		if int(dv.session) < len(ss) {
			cl.s.After(ss[dv.session].Wait, evSessionStart, uint32(d), 0)
		}
		return
	}
	gap := cl.expGap(cl.rng(dv, 0), beh.Reconnect)
	if a := cl.script.Activity(cl.s.Now()); a < 1 {
		// Off-peak, devices come back less often.
		gap = sim.FromFloat(float64(gap) / max(a, 1e-3))
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
	if a := cl.script.Activity(cl.s.Now()); a < 1 && r.Float64() >= a {
		return
	}
	if cl.record != nil {
		cl.record.Write(workloads.TraceOp{At: cl.s.Now(), User: cl.userName(u), Device: -1, Kind: "mx", Conn: -1, Op: "LMTP",
			Bytes: int64(cl.cfg.Population.MessageBytesMean)})
	}
	cl.deliverTo(u)
}

// deliverTo starts an LMTP delivery to user u.
func (cl *cluster) deliverTo(u int32) {
	id := cl.allocConn()
	c := &cl.conns[id]
	*c = conn{dev: -1, user: u, backend: -1, entry: -1, selected: -1, nextFree: -1, gen: c.gen + 1}
	cl.begin(id, c, workloads.Deliver, cl.firstMailbox(u))
}

// pickRecipient chooses a delivery's recipient in proportion to the users'
// delivery rates, by rejection from a uniform pick.
func (cl *cluster) pickRecipient(r *rand.Rand) int32 {
	// The fastest class that receives mail at all: an interval of 0 means
	// no deliveries (imaptest's mail_inbox_delivery_interval = 0), and
	// such users are never accepted. start schedules deliveries only when
	// some user has a positive interval, so the loop ends.
	fastest := sim.Never
	for _, b := range [...]workloads.Behavior{cl.cfg.Profile.Normal, cl.cfg.Profile.Aggressive} {
		if b.DeliveryInterval > 0 {
			fastest = min(fastest, b.DeliveryInterval)
		}
	}
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
	x := Sample{
		At:           cl.s.Now(),
		Connections:  open,
		StaleReads:   cl.res.StaleReads,
		Errors:       cl.res.errorTotal(),
		FailedLogins: cl.res.FailedLogins,
		LoginsOK:     cl.res.LoginsOK,
		Commands:     cl.res.Commands,
	}
	x.BackendLoginsOK = make([]uint64, len(cl.backends))
	for b := range cl.backends {
		x.BackendLoginsOK[b] = cl.backends[b].loginsOK
	}
	if t, ok := cl.router.(userTable); ok {
		now := time.Duration(cl.s.Now())
		cl.loadBuf = t.Loads(now, cl.loadBuf[:0])
		x.Directed = true
		x.Assigned = make([]int32, len(cl.backends))
		for b, n := range cl.loadBuf {
			if b < len(x.Assigned) {
				x.Assigned[b] = int32(n)
				if cl.backends[b].state != backendUp {
					x.OnDown += n
				}
			}
		}
	}
	cl.res.Series = append(cl.res.Series, x)
}

// userTable is a router that assigns users to backends and can say how
// many it assigns to each (a director's user table).
type userTable interface {
	Loads(now time.Duration, dst []int) []int
}
