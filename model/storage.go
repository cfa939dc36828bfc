package model

import (
	"fmt"
	"slices"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/workloads"
)

// ClusterFS describes a cluster file system (GFS2, OCFS2) on a shared
// block device, for storage kind cluster-fs. Every node caches the
// attributes and pages of a file while it holds the file's cluster lock
// (a GFS2 glock, an OCFS2 inode lock); a node that needs a lock another
// node holds in a conflicting mode asks the distributed lock manager
// (DLM), which has the holder write back what it changed and drop its
// cached pages before it grants the lock. Nothing is ever read stale, but
// every time two nodes take turns at one file its lock and pages move
// between them ("ping-pong").
type ClusterFS struct {
	// LockRequest is a DLM request that the lock's master answers from
	// another node: one network round trip and the DLM's work.
	LockRequest sim.Time
	// MinHold is how long a node keeps a lock it was granted before it
	// gives it up to another node's request (GFS2's glock minimum hold
	// time).
	MinHold sim.Time
	// Plock is a POSIX (fcntl) lock or unlock: GFS2 and OCFS2 pass them
	// to a user-space daemon (dlm_controld, ocfs2_controld) that
	// synchronises them across the cluster.
	Plock sim.Time
	// FenceTime is how long the cluster takes, after a node fails, to
	// notice, fence it and recover its locks; until then every lock the
	// failed node held stays held.
	FenceTime sim.Time
}

// FUSE describes a FUSE file system such as GlusterFS's native client,
// for storage kind fuse: the kernel caches attributes and names for fixed
// timeouts (no adaptive attribute cache, no close-to-open revalidation),
// and locks are the servers' (GlusterFS's locks translator).
type FUSE struct {
	// AttributeTimeout is how long the kernel trusts a file's attributes
	// (glusterfs --attribute-timeout, default 1 s).
	AttributeTimeout sim.Time
	// EntryTimeout is how long it trusts a name's lookup (glusterfs
	// --entry-timeout, default 1 s). The model trusts the names in a
	// directory, and its listing, for this long: it is the directories'
	// attribute time.
	EntryTimeout sim.Time
	// PingTimeout is how long the servers wait for a silent client
	// before they drop its locks (GlusterFS network.ping-timeout,
	// default 42 s).
	PingTimeout sim.Time
}

// Storage kind helpers.
func (c *Config) isNFS() bool { return c.Storage == "" || c.Storage == nfsmodel.KindNFS }

// v4 reports whether the backends mount NFSv4.
func (c *Config) v4() bool { return c.isNFS() && c.Mount.Vers.V4() }

// validateStorage checks the storage keys.
func (c *Config) validateStorage() error {
	switch {
	case c.Storage != "" && !slices.Contains(nfsmodel.Kinds, c.Storage):
		return fieldError("Storage", "model: storage kind %q is not one of nfs, cluster-fs, fuse, local", c.Storage)
	case c.Storage == nfsmodel.KindLocal && c.Backends != 1:
		return fieldError("Storage", "model: storage kind local is one server with its own disk: cluster.backends must be 1, not %d", c.Backends)
	}
	loc, err := nfsmodel.ParseMailLocation(c.Dovecot.MailLocation)
	if err != nil {
		return &ConfigError{Field: "Dovecot.MailLocation", Err: fmt.Errorf("model: %w", err)}
	}
	if loc.Format == nfsmodel.Mbox {
		return fieldError("Dovecot.MailLocation", "model: mail_location %q: mbox is not modeled; use maildir, sdbox or mdbox", c.Dovecot.MailLocation)
	}
	if err := nfsmodel.ValidateLocalPaths(c.LocalPaths); err != nil {
		return &ConfigError{Field: "LocalPaths", Err: fmt.Errorf("model: %w", err)}
	}
	for _, t := range []sim.Time{c.ClusterFS.LockRequest, c.ClusterFS.MinHold, c.ClusterFS.Plock, c.ClusterFS.FenceTime, c.FUSE.AttributeTimeout, c.FUSE.EntryTimeout, c.FUSE.PingTimeout, c.Server.LeaseTime, c.Server.DelayRetry, c.Dovecot.MailMaxLockTimeout} {
		if t < 0 {
			return fieldError("Storage", "model: storage times must not be negative")
		}
	}
	return nil
}

// DefaultClusterFS returns the cluster file system's defaults.
func DefaultClusterFS() ClusterFS {
	return ClusterFS{
		// A lock conversion mastered on another node: 250 µs measured
		// (Red Hat's DLM performance page, sourceware.org
		// cluster/dlm/performance.html; 3 nodes, 2005 hardware): one
		// network round trip and the lock manager's work.
		LockRequest: 250 * sim.Microsecond,
		// GFS2's default glock hold time, HZ/5 (fs/gfs2/glock.h,
		// GL_GLOCK_DFT_HOLD): a node keeps an inode glock it used at
		// least this long after it got it before it answers another
		// node's request (glock.c, gfs2_glock_cb).
		MinHold: 200 * sim.Millisecond,
		// Model assumption: a plock is a message round among the nodes
		// through corosync (dlm_controld); no published measurement.
		Plock: 1 * sim.Millisecond,
		// Model assumption: corosync's 3 s token timeout and its
		// consensus, then a power fence of tens of seconds.
		FenceTime: 30 * sim.Second,
	}
}

// DefaultFUSE returns GlusterFS's native client defaults.
func DefaultFUSE() FUSE {
	return FUSE{AttributeTimeout: sim.Second, EntryTimeout: sim.Second, PingTimeout: 42 * sim.Second}
}

// opWait is a step in a connection's call list that waits: for a cluster
// lock, a recalled delegation, a retry. Its bytes field holds the wait.
const opWait = opReleaseMap + 1

// wait adds a wait of d to connection c's pending command.
func (cl *cluster) wait(c *conn, d sim.Time) {
	if d > 0 {
		cl.bufs[c.buf] = append(cl.bufs[c.buf], nfsReq{op: opWait, bytes: int64(d)})
	}
}

// storageSetup derives the run's storage state from the configuration:
// the kind, the mail format and where the indexes are. For a FUSE file
// system the backends' cache rules are the FUSE client's: every
// attribute and name is trusted for the fixed timeouts, opens do not
// revalidate (FUSE has no close-to-open rule), and locks are the servers'.
func (cl *cluster) storageSetup() {
	cfg := cl.cfg
	cl.kind = cfg.Storage
	if cl.kind == "" {
		cl.kind = nfsmodel.KindNFS
	}
	loc, _ := nfsmodel.ParseMailLocation(cfg.Dovecot.MailLocation) // Validate checked it
	cl.format = loc.Format
	cl.place = loc.IndexPlace(cfg.LocalPaths)
	if cl.kind == nfsmodel.KindLocal {
		cl.place = nfsmodel.IndexShared // one server: its indexes are simply on its disk
	}
	cl.rtt = cfg.Server.RTT
	switch cl.kind {
	case nfsmodel.KindLocal, nfsmodel.KindClusterFS:
		// No network between a backend and its file system's data: a
		// call costs the file system's own work, the server's time less
		// the bare RPC (nfs.service.getattr; see nfsmodel.Calibrate).
		cl.rtt = 0
		cl.rpc = cfg.Server.Service[nfsmodel.GETATTR]
	case nfsmodel.KindFUSE:
		// A file's attributes last attribute_timeout; the names in a
		// directory, which the model trusts for as long as it trusts the
		// directory's attributes (see views), entry_timeout.
		a, e := cfg.FUSE.AttributeTimeout, cfg.FUSE.EntryTimeout
		m := &cfg.Mount
		m.Acregmin, m.Acregmax, m.Acdirmin, m.Acdirmax = a, a, e, e
		m.Noac = false
		m.Nocto = true
		m.Lookupcache = nfsmodel.LookupAll
		m.LocalLock = false
		m.Vers = nfsmodel.V3
	}
	cl.v4 = cfg.v4()
}

// coherent reports whether every backend always sees the storage as it
// is: a cluster file system (its lock manager invalidates what another
// node changed before anyone reads it) or one server's own disk.
func (cl *cluster) coherent() bool {
	return cl.kind == nfsmodel.KindClusterFS || cl.kind == nfsmodel.KindLocal
}

// addCall adds a storage call to c's pending command, as the storage kind
// carries it out:
//   - NFSv3 as written; NFSv4 creates a regular file with OPEN (its CREATE
//     is for other objects) and closes it with CLOSE (see closeFile).
//   - FUSE: the same requests to the servers.
//   - A cluster file system or a local disk: lookups and attributes come
//     from the node's own coherent caches; on a cluster file system a
//     revalidation is a request for the cluster lock the node lost (see
//     glockRead), and an fcntl lock a plock; everything else is the file
//     system's own work on the shared or local disk.
func (cl *cluster) addCall(c *conn, op nfsmodel.Op, bytes int64, entries int32) {
	switch cl.kind {
	case nfsmodel.KindLocal, nfsmodel.KindClusterFS:
		switch op {
		case nfsmodel.GETATTR:
			if cl.kind == nfsmodel.KindClusterFS {
				cl.wait(c, cl.glockWait)
				if cl.glockFlush {
					cl.bufs[c.buf] = append(cl.bufs[c.buf], nfsReq{op: nfsmodel.COMMIT})
				}
			}
			cl.glockWait, cl.glockFlush = 0, false
			return
		case nfsmodel.LOOKUP, nfsmodel.ACCESS, nfsmodel.OPEN, nfsmodel.CLOSE, nfsmodel.DELEGRETURN, nfsmodel.SETATTR:
			return
		case nfsmodel.LOCK, nfsmodel.UNLOCK:
			if cl.kind == nfsmodel.KindClusterFS {
				cl.wait(c, cl.cfg.ClusterFS.Plock)
			}
			return
		}
	case nfsmodel.KindNFS:
		if op == nfsmodel.CREATE && cl.v4 {
			op = nfsmodel.OPEN
		}
	}
	cl.bufs[c.buf] = append(cl.bufs[c.buf], nfsReq{op: op, bytes: bytes, entries: entries})
}

// closeFile adds the close of a file the command opened or created: a
// CLOSE under NFSv4 (and FUSE's RELEASE), nothing under NFSv3.
func (cl *cluster) closeFile(c *conn) {
	if cl.v4 || cl.kind == nfsmodel.KindFUSE {
		cl.bufs[c.buf] = append(cl.bufs[c.buf], nfsReq{op: nfsmodel.CLOSE})
	}
}

// openFile adds the open of an existing file that close-to-open
// revalidates: a GETATTR under NFSv3 (unless nocto), an OPEN under NFSv4
// and FUSE (FUSE_OPEN), and nothing on coherent storage.
func (cl *cluster) openFile(c *conn) {
	switch {
	case cl.v4 || cl.kind == nfsmodel.KindFUSE:
		cl.bufs[c.buf] = append(cl.bufs[c.buf], nfsReq{op: nfsmodel.OPEN})
	case cl.kind == nfsmodel.KindNFS && !cl.cfg.Mount.Nocto:
		cl.bufs[c.buf] = append(cl.bufs[c.buf], nfsReq{op: nfsmodel.GETATTR})
	}
}

// serviceTime is the storage's time for one call.
func (cl *cluster) serviceTime(r nfsReq) sim.Time {
	t := cl.cfg.Server.ServiceTime(r.op, r.bytes, int(r.entries))
	if cl.rpc > 0 {
		t = max(0, t-cl.rpc)
	}
	return t
}

// glock is a cluster file system's lock of one object of a folder, as
// the lock manager sees it: the node holding it exclusively (-1: none),
// the nodes holding it shared (backends 0 to 63; a node beyond asks
// again every time), and when it was last granted.
type glock struct {
	at sim.Time
	sh uint64
	ex int16
}

// glockOf returns the lock of user u's object obj, or nil when only one
// backend has touched the user (it holds every lock, and nobody asks for
// them).
func (cl *cluster) glockOf(u, obj int32) *glock {
	if !cl.users[u].has(sharedFiles) || obj == rootObj() {
		return nil
	}
	folder := (obj - 1) / objsPerFolder
	mb := &cl.mboxes[cl.firstMailbox(u)+folder]
	return &cl.glocks[(mb.share-1)*objsPerFolder+(obj-1)%objsPerFolder]
}

// bit returns backend b's bit in glock.sh (0 beyond 63).
func bit(b int16) uint64 {
	if b >= 64 {
		return 0
	}
	return 1 << uint(b)
}

// grant is what backend b waits for a lock in the given mode: nothing
// when it holds the lock in a mode that allows the access, a lock request
// otherwise, and when another node must give the lock up first, that
// node's remaining minimum hold time (GFS2 keeps a glock at least its
// hold time before it answers a callback) and, if it held the lock
// exclusively, the write-back of what it changed (flush).
func (cl *cluster) grant(g *glock, b int16, exclusive bool) (wait sim.Time, flush bool) {
	now := cl.s.Now()
	if g.ex == b || !exclusive && g.ex < 0 && g.sh&bit(b) != 0 {
		return 0, false
	}
	fs := &cl.cfg.ClusterFS
	wait = fs.LockRequest + max(0, cl.dlmFrozen-now)
	others := g.ex >= 0 && g.ex != b || exclusive && g.sh&^bit(b) != 0
	if others {
		wait += max(0, g.at+fs.MinHold-now)
		flush = g.ex >= 0 && g.ex != b
	}
	if cl.measuring {
		cl.res.ClusterLockRequests++
		if others {
			cl.res.ClusterLockTransfers++
		}
	}
	if exclusive {
		g.ex, g.sh = b, 0
	} else {
		if g.ex >= 0 {
			g.sh |= bit(g.ex) // the holder keeps the lock shared
		}
		g.ex = -1
		g.sh |= bit(b)
	}
	g.at = now
	return wait, flush
}

// glockWrite has connection c take the exclusive cluster lock of its
// folder's object obj before it changes it.
func (cl *cluster) glockWrite(c *conn, obj int32) {
	if cl.kind != nfsmodel.KindClusterFS {
		return
	}
	owner, _ := cl.mailboxObj(c.target)
	g := cl.glockOf(owner, obj)
	if g == nil {
		return
	}
	w, flush := cl.grant(g, c.backend, true)
	cl.wait(c, w)
	if flush {
		cl.bufs[c.buf] = append(cl.bufs[c.buf], nfsReq{op: nfsmodel.COMMIT})
	}
}

// coherentAccess is attrAccess on coherent storage: what a backend has
// cached is current as long as nobody changed it, and a change reaches it
// before it reads (the lock manager took its lock away). On a cluster
// file system a backend that lost the object's lock asks for it again
// (the caller's revalidation, see addCall).
func (cl *cluster) coherentAccess(c *attrCache, e *attrEntry, b int16, u, obj int32, version uint32) nfsmodel.Lookup {
	var l nfsmodel.Lookup
	switch {
	case e.timeout == 0:
		l = nfsmodel.Lookup{Revalidate: true, Miss: true}
	case uint32(e.version) != uint32(uint16(version)):
		l = nfsmodel.Lookup{Revalidate: true, Changed: true}
	}
	if cl.kind == nfsmodel.KindClusterFS {
		if g := cl.glockOf(u, obj); g != nil {
			w, flush := cl.grant(g, b, false)
			if w > 0 {
				l.Revalidate = true
				cl.glockWait, cl.glockFlush = w, flush
			}
		}
	}
	if l.Revalidate || e.timeout == 0 {
		c.store(e, nfsmodel.Attr{Timeout: sim.Never, Version: version})
	}
	return l
}

// idleNotifyDelay is how long Dovecot's IDLE waits after an inotify
// event before it checks the mailbox (lib-storage/index/index-mailbox-check.c:
// a change notification arms a 500 ms timeout).
const idleNotifyDelay = 500 * sim.Millisecond

// delivered tells the IDLE connections on the recipient's INBOX of the
// delivery c just completed. Dovecot's IDLE watches the Maildir's new/
// and cur/ directories (dbox: the transaction log) with inotify, which
// sees changes made through the same kernel only: a connection on the
// delivering backend, or on the one server of local storage, reports the
// message 500 ms later. The others learn of it at their next periodic
// check (mailbox_idle_check_interval), once the stat() there shows the
// change (see planCommand).
func (cl *cluster) delivered(c *conn) {
	if c.target != cl.firstMailbox(c.user) {
		return
	}
	first, end := cl.userDevices(c.user)
	now := cl.s.Now()
	for d := first; d < end; d++ {
		for _, id := range cl.deviceConns(&cl.devices[d]) {
			if id < 0 {
				continue
			}
			o := &cl.conns[id]
			if !o.open || !o.idle || o.phase != workloads.PhaseLoop || o.selected != c.target {
				continue
			}
			if o.unseen == 0 {
				o.unseen = now
			}
			if o.backend == c.backend {
				if cl.measuring {
					cl.res.IdleNotify.Add((now - o.unseen + idleNotifyDelay).Sec())
				}
				o.unseen = 0
			}
		}
	}
}

// idleNotified records that IDLE connection c's periodic check found the
// deliveries it had not reported.
func (cl *cluster) idleNotified(c *conn) {
	if cl.measuring {
		cl.res.IdleNotify.Add((cl.s.Now() - c.unseen).Sec())
	}
	c.unseen = 0
}

// delegations reports whether the backends get NFSv4 read delegations.
func (cl *cluster) delegations() bool { return cl.v4 && cl.cfg.Server.Delegations }

// delegated reports whether backend b holds the read delegation of the
// index files of folder mb. A folder only one backend has touched is
// that backend's (no one has opened it to conflict).
func (cl *cluster) delegated(b int16, mb *mailbox) bool {
	if !cl.delegations() {
		return false
	}
	if mb.share == 0 {
		return true
	}
	return cl.sh(mb).delegBy == b
}

// delegOpen adds what the delegation of its folder's index files costs
// connection c's open of them under NFSv4 (Dovecot opens them O_RDWR).
// Linux nfsd 6.1 hands out read delegations only, on read-only and
// read-write opens alike, when no other client has the file open for
// writing, none was recalled since every client last let go of it, and
// none was recalled in the last 30 to 60 s (fs/nfsd/nfs4state.c,
// nfs4_set_delegation: fi_had_conflict, nfsd4_check_conflicting_opens,
// delegation_blocked). So:
//   - The holder's client returns its read delegation before a read-write
//     open (fs/nfs/nfs4proc.c, nfs4_return_incompatible_delegation): a
//     DELEGRETURN, then the OPEN, which the server answers with a new
//     delegation.
//   - Another backend's open conflicts: the server recalls the
//     delegation and answers NFS4ERR_DELAY, and that client retries
//     after 100 ms, 200 ms, 400 ms ... (at most 15 s apart; nfs4_delay)
//     until the holder has returned it; a holder that hung never
//     returns it, and the server revokes it once its lease has expired
//     (see recallWait).
func (cl *cluster) delegOpen(c *conn, mb *mailbox) {
	if !cl.delegations() {
		return
	}
	if cl.delegated(c.backend, mb) {
		cl.call(c, nfsmodel.DELEGRETURN, 0, 0)
		return
	}
	if mb.share == 0 {
		return
	}
	s := cl.sh(mb)
	now := cl.s.Now()
	if h := s.delegBy; h >= 0 && cl.revoked(h) {
		s.delegBy = -1 // revoked with the silent client's lease
	}
	if s.delegBy >= 0 {
		holder := s.delegBy
		cl.call(c, nfsmodel.OPEN, 0, 0) // answered NFS4ERR_DELAY
		cl.wait(c, cl.recallWait(holder))
		if cl.measuring {
			cl.res.DelegationRecalls++
			if cl.backends[holder].state != backendHung {
				cl.res.NFSOps[nfsmodel.DELEGRETURN]++ // the holder's return
			}
		}
		s.delegBy, s.delegConflict, s.recalledAt = -1, true, now
		return // both have the folder open now: no delegation
	}
	if cl.openByOther(c) {
		return
	}
	// Nobody else holds the folder open: the conflict is forgotten with
	// the server's state of the file, unless the recall is recent (the
	// server's filter of recalled files is swapped every 30 s and a file
	// is blocked while it is in either half).
	if cl.recentlyRecalled(s.recalledAt) {
		return
	}
	s.delegBy, s.delegConflict = c.backend, false
}

// recallFilterSwap is how often nfsd swaps its filters of recently
// recalled files (fs/nfsd/nfs4state.c, delegation_blocked: 30 s).
const recallFilterSwap = 30 * sim.Second

// recentlyRecalled reports whether a file last recalled at recalledAt
// (0: never) is still in one of nfsd's two filters of recalled files,
// which blocks new delegations of it: the filters are swapped every
// recallFilterSwap, so a recall blocks for 30 to 60 s.
func (cl *cluster) recentlyRecalled(recalledAt sim.Time) bool {
	return recalledAt > 0 && cl.s.Now() < (recalledAt/recallFilterSwap+2)*recallFilterSwap
}

// revoked reports whether the server has revoked the delegations of
// backend b, which hung: once its lease ran out.
func (cl *cluster) revoked(b int16) bool {
	bk := &cl.backends[b]
	return bk.state == backendHung && cl.s.Now() >= bk.hungAt+cl.cfg.Server.LeaseTime
}

// recallWait is how long a client whose open conflicts with backend
// holder's delegation waits: it retries 100 ms after the NFS4ERR_DELAY,
// then after twice as long each time, at most 15 s apart (fs/nfs/nfs4proc.c,
// nfs4_delay, NFS4_POLL_RETRY_MAX), until the delegation is gone. A live
// holder returns it within a round trip or two; a hung one never does,
// and the server revokes it when the holder's lease has run out
// (nfs.lease_time after it stopped renewing).
func (cl *cluster) recallWait(holder int16) sim.Time {
	now := cl.s.Now()
	gone := now + 2*cl.rtt
	if b := &cl.backends[holder]; b.state == backendHung {
		gone = max(gone, b.hungAt+cl.cfg.Server.LeaseTime)
	}
	wait, step := sim.Time(0), cl.cfg.Server.DelayRetry
	for {
		wait += step
		if now+wait >= gone || step <= 0 {
			return wait
		}
		step = min(2*step, 15*sim.Second)
	}
}

// openByOther reports whether a connection on another backend than c's
// has c's folder open (selected, or in a command on it).
func (cl *cluster) openByOther(c *conn) bool {
	return cl.anyUserConn(c.user, c, func(o *conn) bool {
		return o.open && o.backend != c.backend && (o.selected == c.target || o.target == c.target)
	})
}

// msgDeleg counts the message files of one folder a backend holds read
// delegations of, and when it last used one.
type msgDeleg struct {
	n  int32
	at sim.Time
}

// msgDelegKey names backend b's delegations in shared folder mb.
func msgDelegKey(mb *mailbox, b int16) uint64 { return uint64(mb.share)<<16 | uint64(uint16(b)) }

// unreferencedReturn is how long a delegation the client has not used
// lives: the Linux client's renew pass, every two thirds of the lease,
// returns the delegations not referenced since the pass before
// (fs/nfs/delegation.c, nfs_mark_return_unreferenced_delegations;
// nfs4renewd.c).
func (cl *cluster) unreferencedReturn() sim.Time { return cl.cfg.Server.LeaseTime * 4 / 3 }

// msgDelegated has connection c open one message file of folder mb for
// reading under NFSv4 and reports whether the open was served by a
// delegation its backend already held. Nobody opens a message file for
// writing, so the server delegates every one (fs/nfsd/nfs4state.c); the
// model follows how many a backend holds in each folder other backends
// share, not which: the load generator fetches a uniformly drawn
// message, so the one fetched is among those held with the chance their
// share of the folder gives.
func (cl *cluster) msgDelegated(c *conn, mb *mailbox) bool {
	if !cl.delegations() || mb.share == 0 || c.dev < 0 {
		return false
	}
	if cl.msgDelegs == nil {
		cl.msgDelegs = make(map[uint64]msgDeleg)
	}
	k := msgDelegKey(mb, c.backend)
	d := cl.agedDelegs(k)
	held := d.n > 0 && cl.rng(&cl.devices[c.dev], c.slot).Int32N(max(mb.msgs, 1)) < d.n
	if !held && d.n < mb.msgs {
		d.n++
	}
	d.at = cl.s.Now()
	cl.setDelegs(k, d)
	return held
}

// agedDelegs returns the delegations under key k, after the client
// returned them if they went unused (see unreferencedReturn).
func (cl *cluster) agedDelegs(k uint64) msgDeleg {
	d := cl.msgDelegs[k]
	if d.n > 0 && cl.s.Now()-d.at > cl.unreferencedReturn() {
		if cl.measuring {
			cl.res.NFSOps[nfsmodel.DELEGRETURN] += uint64(d.n)
		}
		d.n = 0
	}
	return d
}

// setDelegs stores the delegations under key k, keeping the map to the
// backends and folders that hold any.
func (cl *cluster) setDelegs(k uint64, d msgDeleg) {
	if d.n == 0 {
		delete(cl.msgDelegs, k)
		return
	}
	cl.msgDelegs[k] = d
}

// msgChange is the delegation part of connection c renaming (a flag
// change) or removing (an expunge) one message file of folder mb, a
// uniformly drawn one as the load generator picks it. If its own backend
// holds the file's delegation, the client returns it first
// (fs/nfs/nfs4proc.c, nfs4_inode_return_delegation). If another backend
// holds it, the server recalls it and waits up to 30 ms for the return
// before it answers NFS4ERR_DELAY (fs/nfsd/vfs.c, nfsd_rename and
// nfsd_unlink with break_lease; nfs4state.c): a live holder returns it in
// a round trip or two; a hung one never does (see recallWait).
func (cl *cluster) msgChange(c *conn, mb *mailbox) {
	if !cl.delegations() || mb.share == 0 || c.dev < 0 || cl.msgDelegs == nil {
		return
	}
	r := cl.rng(&cl.devices[c.dev], c.slot)
	for b := range cl.backends {
		k := msgDelegKey(mb, int16(b))
		d := cl.agedDelegs(k)
		if d.n == 0 || r.Int32N(max(mb.msgs, 1)) >= d.n {
			cl.setDelegs(k, d)
			continue
		}
		d.n--
		cl.setDelegs(k, d)
		if int16(b) == c.backend {
			cl.call(c, nfsmodel.DELEGRETURN, 0, 0)
			continue
		}
		if cl.measuring {
			cl.res.DelegationRecalls++
		}
		if cl.backends[b].state == backendHung {
			if !cl.revoked(int16(b)) {
				cl.wait(c, breakLeaseWait+cl.recallWait(int16(b)))
			}
			continue
		}
		if cl.measuring {
			cl.res.NFSOps[nfsmodel.DELEGRETURN]++ // the holder's return
		}
		cl.wait(c, min(2*cl.rtt, breakLeaseWait))
	}
}

// breakLeaseWait is how long nfsd waits for a delegation's return before
// it answers a rename or remove with NFS4ERR_DELAY (30 ms; fs/nfsd/vfs.c,
// nfsd_rename and nfsd_unlink).
const breakLeaseWait = 30 * sim.Millisecond

// uidlistRead has connection c's backend read folder mb's
// dovecot-uidlist under NFSv4. Dovecot opens it read-only to read it
// (maildir-uidlist.c, maildir_uidlist_refresh) and keeps it open for
// writing only while it appends or rewrites it under its dotlock, so
// the server delegates it to every backend that reads it (fs/nfsd,
// nfs4_set_delegation), unless it recalled it in the last 30 to 60 s.
func (cl *cluster) uidlistRead(c *conn, mb *mailbox) {
	if cl.delegations() && mb.share != 0 {
		s := cl.sh(mb)
		cl.grantDeleg(c, &s.uidDeleg, s.uidRecalledAt)
	}
}

// mainIndexRead is uidlistRead for dovecot.index, which an opener reads
// and which a writer never opens again: it writes a new file and renames
// it over the old one (mail-index-write.c).
func (cl *cluster) mainIndexRead(c *conn, mb *mailbox) {
	if cl.delegations() && mb.share != 0 {
		s := cl.sh(mb)
		cl.grantDeleg(c, &s.mainDeleg, s.mainRecalledAt)
	}
}

// grantDeleg adds connection c's backend to the holders of a file's
// read delegation, mask, unless the file was recalled recently
// (recalledAt; see recallFilterSwap).
func (cl *cluster) grantDeleg(c *conn, mask *uint64, recalledAt sim.Time) {
	if !cl.recentlyRecalled(recalledAt) {
		*mask |= bit(c.backend)
	}
}

// uidlistWrite is the delegation part of connection c's backend opening
// folder mb's dovecot-uidlist for writing under NFSv4 (see breakDelegs).
// One backend alone with a folder holds its delegation and returns it at
// every write.
func (cl *cluster) uidlistWrite(c *conn, mb *mailbox) {
	if !cl.delegations() {
		return
	}
	if mb.share == 0 {
		cl.call(c, nfsmodel.DELEGRETURN, 0, 0)
		return
	}
	s := cl.sh(mb)
	cl.breakDelegs(c, &s.uidDeleg, &s.uidRecalledAt)
}

// breakDelegs has connection c's backend end the read delegations of a
// file it is about to write or replace: its own it returns first
// (nfs4_return_incompatible_delegation); the others' the server
// recalls, answering NFS4ERR_DELAY until they are returned, or revoked
// with the lease of a holder that hung (see recallWait).
func (cl *cluster) breakDelegs(c *conn, mask *uint64, recalledAt *sim.Time) {
	if *mask&bit(c.backend) != 0 {
		cl.call(c, nfsmodel.DELEGRETURN, 0, 0)
	}
	others := *mask &^ bit(c.backend)
	*mask = 0
	if others == 0 {
		return
	}
	now := cl.s.Now()
	var wait sim.Time
	for b := range min(len(cl.backends), 64) {
		if others&bit(int16(b)) == 0 {
			continue
		}
		if cl.revoked(int16(b)) {
			continue
		}
		wait = max(wait, cl.recallWait(int16(b)))
		if cl.measuring {
			cl.res.DelegationRecalls++
			if cl.backends[b].state != backendHung {
				cl.res.NFSOps[nfsmodel.DELEGRETURN]++
			}
		}
	}
	if wait > 0 {
		cl.call(c, nfsmodel.OPEN, 0, 0) // answered NFS4ERR_DELAY
		cl.wait(c, wait)
		*recalledAt = now
	}
}

// readHeaders has connection c read the headers of n messages of folder
// mb from their files: an open (with close-to-open's GETATTR, or an
// NFSv4 OPEN, which the server answers with a read delegation), the
// first page, and the close.
func (cl *cluster) readHeaders(c *conn, mb *mailbox, n int32) {
	for range n {
		cl.openFile(c)
		cl.readBytes(c, headerReadBytes)
		cl.closeFile(c)
	}
	if n > 0 && cl.delegations() && mb.share != 0 {
		if cl.msgDelegs == nil {
			cl.msgDelegs = make(map[uint64]msgDeleg)
		}
		k := msgDelegKey(mb, c.backend)
		d := cl.agedDelegs(k)
		d.n = min(d.n+n, mb.msgs)
		d.at = cl.s.Now()
		cl.setDelegs(k, d)
	}
}
