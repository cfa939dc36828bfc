package model

import (
	"mailsim/model/sim"
	"mailsim/nfsmodel"
)

// Lock steps in a connection's call list: not NFS calls but points where
// it takes or releases the folder's index lock.
const (
	opAcquire = nfsmodel.NumOps + iota
	opRelease
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
	if cl.localLocks() {
		k = uint64(mb)<<16 | uint64(uint16(backend))
	}
	return k | 1<<63
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
func (cl *cluster) lockedWrite(c *conn, mb *mailbox, replayed bool) {
	cfg := cl.cfg
	cl.call(c, opAcquire, 0, 0)
	switch {
	case cfg.Dovecot.LockMethod == "dotlock":
		if cfg.Mount.Lookupcache != nfsmodel.LookupAll {
			cl.call(c, nfsmodel.LOOKUP, 0, 0)
		}
		cl.call(c, nfsmodel.CREATE, 0, 0)
		cl.renamed(c, mb) // dovecot.index.log.lock
	case !cl.localLocks():
		cl.call(c, nfsmodel.LOCK, 0, 0)
	}
	cl.write(c, logRecordBytes(c.cmd)) // the transaction appended to dovecot.index.log
	if cfg.Dovecot.MailFsync == "always" || cfg.Mount.Noac {
		cl.call(c, nfsmodel.COMMIT, 0, 0)
	}
	cl.indexWrite(c, mb, replayed)
	switch {
	case cfg.Dovecot.LockMethod == "dotlock":
		cl.call(c, nfsmodel.REMOVE, 0, 0)
	case !cl.localLocks():
		cl.call(c, nfsmodel.UNLOCK, 0, 0)
	}
	cl.call(c, opRelease, 0, 0)
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
	switch cl.ops(c)[c.opAt].op {
	case opAcquire:
		k := cl.lockKey(c.target, c.backend)
		c.locked = true
		if _, held := cl.lockHolder[k]; !held {
			cl.lockHolder[k] = id
			if cl.localLocks() {
				cl.unexcluded(c)
			}
			return true
		}
		cl.lockWaiters[k] = append(cl.lockWaiters[k], lockWaiter{conn: id, since: cl.s.Now()})
		return false
	case opRelease:
		cl.unlock(id, c)
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
	k := cl.lockKey(c.target, c.backend)
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
