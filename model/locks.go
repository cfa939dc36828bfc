package model

import (
	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
)

// Lock steps in a connection's call list: not NFS calls but points where
// it takes or releases the folder's index lock.
const (
	opAcquire = nfsmodel.NumOps + iota
	opRelease
	// opAcquireMap and opReleaseMap take and release the user's mdbox map
	// index lock (see mapUpdate).
	opAcquireMap
	opReleaseMap
)

// lockKey names the lock a backend takes on folder mb: one lock for the
// whole cluster when locks go through the NFS lock manager or are dotlock
// files on the shared storage, one per backend when they are local only
// (the nolock or local_lock mount options). flock() is not local on its
// own: the Linux NFS client carries it out as a whole-file POSIX lock
// over NLM unless local_lock=flock (nfs(5); Dovecot assumes the same,
// mail-index-lock.c).
func (cl *cluster) lockKey(mb int32, backend int16) uint64 {
	k := uint64(mb)<<16 | 0xffff
	if cl.localLocks() || cl.place != nfsmodel.IndexShared {
		k = uint64(mb)<<16 | uint64(uint16(backend))
	}
	return k | 1<<63
}

// heldKey returns the key of the lock connection c holds or waits for:
// its folder's index lock, or its user's mdbox map lock.
func (cl *cluster) heldKey(c *conn) uint64 {
	if c.mapLock {
		// One map per user, shared by the user's folders: keyed by the
		// user's INBOX, apart from the folders' own locks.
		return cl.lockKey(cl.firstMailbox(c.user), c.backend) | 1<<62
	}
	return cl.lockKey(c.target, c.backend)
}

// localLocks reports whether locks are only seen by their own backend.
func (cl *cluster) localLocks() bool {
	return cl.cfg.Mount.LocalLock && cl.cfg.Dovecot.LockMethod != "dotlock"
}

// lockedWrite adds the calls of an index write on mailbox mb under the
// folder's lock, by lock_method: fcntl takes an NLM lock (two calls)
// unless locks are local; dotlock creates and removes a lock file with
// O_EXCL (a negative LOOKUP first unless negative lookups are cached);
// flock goes over NLM like fcntl (see lockKey). Under the lock, the write appends
// its transaction to the log and then rewrites the main index or rotates
// the log when the thresholds say so (see indexWrite); replayed says that
// the writer opened the index before it.
func (cl *cluster) lockedWrite(c *conn, mb *mailbox, replayed, begun bool) {
	cfg := cl.cfg
	if !begun {
		cl.lockBegin(c, mb)
	}
	cl.write(c, logRecordBytes(c.cmd)) // the transaction appended to dovecot.index.log
	if cfg.Dovecot.MailFsync == "always" || cfg.Mount.Noac {
		cl.call(c, nfsmodel.COMMIT, 0, 0)
	}
	cl.indexWrite(c, mb, replayed)
	cl.lockEnd(c)
}

// lockEnd adds the release of the index lock lockBegin took.
func (cl *cluster) lockEnd(c *conn) {
	switch {
	case cl.cfg.Dovecot.LockMethod == "dotlock":
		cl.call(c, nfsmodel.REMOVE, 0, 0)
	case !cl.localLocks():
		cl.call(c, nfsmodel.UNLOCK, 0, 0)
	}
	cl.call(c, opRelease, 0, 0)
}

// lockBegin adds the taking of folder mb's index lock to connection c's
// calls (see lockedWrite). A Maildir command that changes the mailbox
// takes it first: its flag changes, expunges and saves are renames and
// unlinks that Dovecot makes during the index sync, under the log's lock
// (mail_index_sync_begin, maildir_sync_index), so that whatever they wait
// for, every other writer of the folder waits for too.
func (cl *cluster) lockBegin(c *conn, mb *mailbox) {
	cl.call(c, opAcquire, 0, 0)
	cl.glockWrite(c, idxObj(cl.mailboxFolder(c.target)))
	switch {
	case cl.cfg.Dovecot.LockMethod == "dotlock":
		cl.createLock(c)
		cl.renamed(c, mb) // dovecot.index.log.lock
	case !cl.localLocks():
		cl.call(c, nfsmodel.LOCK, 0, 0)
	}
}

// unexcluded checks connection c, which just took its folder's index lock
// where locks are local to each backend: if a connection of another
// backend holds its own "lock" on the folder at the same time, both
// append to dovecot.index.log at once, each at the end it read under its
// lock, and one transaction lands over the other's: the log is corrupted
// (see logCorrupted).
func (cl *cluster) unexcluded(c *conn) {
	for b := range cl.backends {
		if int16(b) == c.backend {
			continue
		}
		if _, held := cl.lockHolder[cl.lockKey(c.target, int16(b))]; held {
			cl.sh(&cl.mboxes[c.target]).logCorrupt = true
			return
		}
	}
}

// lockWaiter is a connection waiting for a lock since a time.
type lockWaiter struct {
	conn  int32
	since sim.Time
}

// lockStep carries out the lock step at c.ops[c.opAt]. It returns false
// when the connection must wait for the lock; it then resumes with
// evLockGranted.
func (cl *cluster) lockStep(id int32, c *conn) bool {
	switch op := cl.ops(c)[c.opAt].op; op {
	case opAcquire, opAcquireMap:
		c.mapLock = op == opAcquireMap
		k := cl.heldKey(c)
		c.locked = true
		if _, held := cl.lockHolder[k]; !held {
			cl.lockHolder[k] = id
			c.lockAt = cl.s.Now()
			if cl.localLocks() {
				cl.unexcluded(c)
			}
			return true
		}
		cl.lockWaiters[k] = append(cl.lockWaiters[k], lockWaiter{conn: id, since: cl.s.Now()})
		c.lockAt = cl.s.Now()
		cl.s.After(cl.lockWaitTimeout(), evLockTimeout, uint32(id), c.gen)
		return false
	case opRelease, opReleaseMap:
		cl.unlock(id, c)
	case opWait:
		cl.s.After(sim.Time(cl.ops(c)[c.opAt].bytes), evLockGranted, uint32(id), 0)
		return false
	}
	return true
}

// unlock releases the lock connection id holds and hands it to the first
// waiter.
func (cl *cluster) unlock(id int32, c *conn) {
	if !c.locked {
		return
	}
	// The lock is the one lockStep took: the command, and with it the
	// connection's target folder, has not changed since.
	k := cl.heldKey(c)
	c.locked = false
	if h, ok := cl.lockHolder[k]; !ok || h != id {
		// It was waiting, not holding: leave the queue.
		q := cl.lockWaiters[k]
		for i, w := range q {
			if w.conn == id {
				cl.lockWaiters[k] = append(q[:i:i], q[i+1:]...)
				break
			}
		}
		if len(cl.lockWaiters[k]) == 0 {
			delete(cl.lockWaiters, k)
		}
		return
	}
	cl.handOff(k)
}

// handOff gives lock k, whose holder let it go, to its first waiter.
func (cl *cluster) handOff(k uint64) {
	q := cl.lockWaiters[k]
	if len(q) == 0 {
		delete(cl.lockHolder, k)
		return
	}
	next := q[0].conn
	since := q[0].since
	if len(q) == 1 {
		delete(cl.lockWaiters, k)
	} else {
		cl.lockWaiters[k] = q[1:]
	}
	cl.lockHolder[k] = next
	cl.conns[next].lockAt = cl.s.Now()
	if cl.localLocks() {
		cl.unexcluded(&cl.conns[next])
	}
	if cl.measuring {
		cl.res.LockWaits++
		cl.res.LockWait += cl.s.Now() - since
	}
	cl.s.After(0, evLockGranted, uint32(next), 0)
}

// lockWaitMean returns the mean wait for a contended lock.
func (r *Result) lockWaitMean() float64 {
	if r.LockWaits == 0 {
		return 0
	}
	return (r.LockWait / sim.Time(r.LockWaits)).Sec()
}

// retained is a lock a failed backend's connection held when it died,
// still held for it (see releaseDead).
type retained struct {
	key     uint64
	backend int16
	// untilReboot: freed only when the backend comes back (NLM).
	untilReboot bool
	done        bool
}

// noFault is cluster.dying when no fault is ending sessions.
const noFault FaultKind = 255

// ghost returns the holder id lockHolder records for retained lock i.
func ghost(i int) int32 { return -2 - int32(i) }

// releaseDead frees or keeps the locks of connection id, which ends
// because its backend failed (failed) or its session was kicked. A
// connection that only waited leaves the queue. A kicked session's process
// exits and unlocks; otherwise the lock stays held for as long as the
// storage keeps a failed client's locks (see retention), and the waiters
// wait on.
func (cl *cluster) releaseDead(id int32, c *conn, failed bool) {
	if !c.locked {
		return
	}
	k := cl.heldKey(c)
	if h, ok := cl.lockHolder[k]; !ok || h != id || !failed || cl.dying == noFault {
		cl.unlock(id, c)
		return
	}
	keep, untilReboot := cl.retention(cl.dying)
	if cl.cfg.Dovecot.LockMethod == "dotlock" && !cl.localLocks() {
		// Stale counts from the lock file's last change: its creation.
		keep = max(0, c.lockAt+keep-cl.s.Now())
	}
	if keep == 0 && !untilReboot {
		cl.unlock(id, c)
		return
	}
	c.locked = false
	i := len(cl.retainedLocks)
	cl.retainedLocks = append(cl.retainedLocks, retained{key: k, backend: c.backend, untilReboot: untilReboot})
	cl.lockHolder[k] = ghost(i)
	if cl.measuring {
		cl.res.LocksRetained++
	}
	if !untilReboot {
		cl.s.After(keep, evLockExpired, uint32(i), 0)
	}
}

// retention says how long the storage keeps the index lock of a
// connection that died with its backend in a fault of the given kind, or
// that only the backend's return frees it.
//
//   - Locks local to each backend (local_lock) die with it.
//   - A crash of Dovecot alone: the host's kernel releases fcntl and
//     flock locks as the processes exit (NLM UNLOCK, NFSv4 LOCKU, the
//     cluster's plock daemon). A dotlock file stays until another
//     backend's Dovecot finds it stale: unchanged for its stale timeout
//     (see dotlockStale).
//   - A hang of the host: NLM keeps the lock until the host reboots and
//     its status monitor tells the server (SM_NOTIFY; the server never
//     times NLM locks out); NFSv4 until the lease the host no longer
//     renews expires (nfs.lease_time); GlusterFS until the servers give
//     up on the silent client (network.ping-timeout); a cluster file
//     system until the node is fenced and its locks recovered
//     (storage.cluster_fs.fence_time); a dotlock when stale.
func (cl *cluster) retention(kind FaultKind) (sim.Time, bool) {
	cfg := cl.cfg
	dot := cfg.Dovecot.LockMethod == "dotlock"
	switch {
	case cl.localLocks():
		return 0, false
	case dot:
		return dotlockStale, false
	case kind == Crash:
		return 0, false
	case cl.kind == nfsmodel.KindClusterFS:
		return cfg.ClusterFS.FenceTime, false
	case cl.kind == nfsmodel.KindFUSE:
		return cfg.FUSE.PingTimeout, false
	case cl.kind == nfsmodel.KindLocal:
		return 0, false
	case cl.v4:
		return cfg.Server.LeaseTime, false
	}
	return 0, true
}

// dotlockStale is how long a dotlock of the transaction log
// (dovecot.index.log.lock) must go unchanged before another process
// overrides it: the log's dotlock settings use
// MAIL_TRANSACTION_LOG_LOCK_CHANGE_TIMEOUT as stale_timeout
// (lib-index/mail-transaction-log-file.c); a lock made on another host
// cannot be checked by its PID (lib/file-dotlock.c).
const dotlockStale = 3 * sim.Minute

// rebooted frees the locks NLM kept for backend b, which is back: its
// status monitor tells the server it restarted.
func (cl *cluster) rebooted(b int16) {
	for i := range cl.retainedLocks {
		if r := &cl.retainedLocks[i]; r.backend == b && !r.done {
			cl.lockExpired(i)
		}
	}
}

// lockExpired frees retained lock i and hands it to its first waiter.
func (cl *cluster) lockExpired(i int) {
	r := &cl.retainedLocks[i]
	if r.done {
		return
	}
	r.done = true
	if h, ok := cl.lockHolder[r.key]; ok && h == ghost(i) {
		cl.handOff(r.key)
	}
}

// lockWaitTimeout is how long a command waits for an index lock before it
// fails: Dovecot's mail_max_lock_timeout when set, otherwise the
// transaction log's own limit, MAIL_TRANSACTION_LOG_LOCK_TIMEOUT, 3 min
// (lib-index/mail-transaction-log-private.h).
func (cl *cluster) lockWaitTimeout() sim.Time {
	if t := cl.cfg.Dovecot.MailMaxLockTimeout; t > 0 {
		return min(t, 3*sim.Minute)
	}
	return 3 * sim.Minute
}

// lockTimedOut ends connection id's wait for its index lock, if it still
// waits (gen names the wait): Dovecot logs "Timeout while waiting for
// lock" and the command fails, changing nothing.
func (cl *cluster) lockTimedOut(id int32, gen uint32) {
	c := &cl.conns[id]
	if c.gen != gen || c.dead || !c.locked {
		return
	}
	k := cl.heldKey(c)
	if h, ok := cl.lockHolder[k]; ok && h == id {
		return // it got the lock
	}
	if c.lockAt != cl.s.Now()-cl.lockWaitTimeout() {
		return // a later wait of the same connection
	}
	cl.unlock(id, c)
	cl.errorAt(ErrLockTimeout, 1)
	if cl.measuring {
		cl.res.LockTimeouts++
		cl.res.FailedCommands++
		cl.res.IndexFailedCommands++
	}
	if c.dev >= 0 {
		cl.noteFailure(c.user, cl.s.Now())
	}
	c.write = false
	// Skip the rest of the command's calls: the client gets its error.
	c.opAt = int32(len(cl.ops(c)))
	cl.advance(id, c)
}
