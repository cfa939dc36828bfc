package model

import (
	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/workloads"
)

// Indexes that are not on the shared storage (see nfsmodel.IndexPlace):
// INDEX= a path on each backend's own disk, or INDEX=MEMORY. The mail and
// dovecot-uidlist (CONTROL=, by default the Maildir) stay on the shared
// storage; the index files (dovecot.index, .log, .cache) are each
// backend's own (lib-storage/index/maildir/maildir-storage.c: the index
// directory comes from INDEX=). Nothing another backend writes can damage
// them, but nothing another backend does reaches them either: a backend
// brings its index up to date from the Maildir itself, when a sync finds
// the cur/ or new/ directory's modification time different from the one
// its index header recorded (maildir-sync.c, maildir_sync_quick_check),
// by listing the directory whole (maildir_scan_dir) and reading
// dovecot-uidlist. A backend with no index at all (a user who moved
// there, a folder it never opened) builds one the same way, and has none
// of the cached message headers (dovecot.index.cache) the shared index
// would have given it: the client's next FETCH reads them from the
// message files. INDEX=MEMORY keeps the index in the process only: every
// open of a folder builds it afresh (Dovecot reuses a closed one for 10 s
// within a process, which a session reopening another folder rarely
// meets), and with no cache file every FETCH of headers reads the
// messages.

// headerReadBytes is what a FETCH of a message's headers reads of its
// file: its first page, where the headers are.
const headerReadBytes = 4096

// localIndex returns where backend b keeps the version of the index of
// user u's folder that its own disk holds (0: it has none; otherwise the
// folder's mailbox.idxVer it is current to, plus one).
func (cl *cluster) localIndex(b int16, u, folder int32) *uint32 {
	c, first := cl.block(b, u)
	if len(c.local) < len(c.ents) {
		c.local = append(c.local, make([]uint32, len(c.ents)-len(c.local))...)
	}
	return &c.local[first+idxObj(folder)]
}

// indexVersion returns the pointer to the version of the index that
// connection c's command works with: its backend's for INDEX= on local
// disk, the connection's own for INDEX=MEMORY.
func (cl *cluster) indexVersion(c *conn) *uint32 {
	if cl.place == nfsmodel.IndexMemory {
		return &c.memIndex
	}
	owner, folder := cl.mailboxObj(c.target)
	return cl.localIndex(c.backend, owner, folder)
}

// planLocalIndex is planCommand's index part for indexes off the shared
// storage (see the comment at the top of this file).
func (cl *cluster) planLocalIndex(c *conn, b *backend, mb *mailbox) {
	cfg := cl.cfg
	now := cl.s.Now()
	owner, folder := cl.mailboxObj(c.target)
	open := c.cmd == workloads.Select || c.cmd == workloads.Deliver || c.target != c.selected
	memory := cl.place == nfsmodel.IndexMemory
	if memory && c.cmd == workloads.Deliver {
		return // LMTP with an in-memory index leaves the new mail in new/
	}
	v := cl.views(c, mb, open)
	lv := cl.indexVersion(c)
	if memory && open {
		*lv = 0 // a new process index
	}
	sync := open || c.cmd == workloads.Idle
	var cur nfsmodel.Lookup
	if sync {
		// The sync's stat() of cur/: under a local index the folder's
		// index object stands for cur/, whose changes (flag renames,
		// expunges, new messages) are what the index records.
		cur = cl.attrAccess(c.backend, owner, idxObj(folder), mb.idxVer, now, true, cfg.Dovecot.MailNFSStorage)
		if cur.Revalidate {
			cl.call(c, nfsmodel.GETATTR, 0, 0)
		}
		switch {
		case *lv == 0:
			cl.rescan(c, b, mb, true)
		case *lv != mb.idxVer+1 && !cur.Stale:
			cl.rescan(c, b, mb, false)
		}
	}
	if *lv != 0 && *lv != mb.idxVer+1 && cl.measuring {
		// The command acts on an index that misses another backend's
		// changes, which the backend has not noticed yet.
		cl.res.StaleReads++
	}
	switch c.cmd {
	case workloads.Select, workloads.Idle, workloads.Deliver:
		_, e := cl.attr(c.backend, owner, dirObj(folder))
		seen := e.version
		dl := cl.attrAccess(c.backend, owner, dirObj(folder), mb.dirVer, now, true, cfg.Dovecot.MailNFSStorage)
		if c.cmd != workloads.Deliver {
			// A listing of cur/ from before another backend's expunge,
			// as with the index on the shared storage.
			cl.expungeRace(c, mb, dl.Stale && !cur.Stale, seen)
		}
		if c.cmd == workloads.Idle && c.unseen != 0 && !(dl.Stale && cur.Stale) {
			cl.idleNotified(c)
		}
		if dl.Revalidate {
			cl.call(c, nfsmodel.GETATTR, 0, 0)
		}
		if mb.unsynced > 0 && (dl.Revalidate || c.cmd == workloads.Deliver) {
			cl.readdir(c, mb.unsynced)
			for range mb.unsynced {
				cl.call(c, nfsmodel.RENAME, 0, 0) // new/ -> cur/
			}
			cl.dotlock(c) // dovecot-uidlist.lock, on the shared storage
			cl.appendUidlist(c, mb, v, mb.unsynced, c.cmd != workloads.Deliver)
			mb.uncached += mb.unsynced
			mb.unsynced = 0
			mb.dirVer++
			c.write = true
		} else if c.cmd != workloads.Deliver {
			cl.readUidlist(c, mb, v)
		}
	}
	if memory && c.cmd == workloads.Fetch {
		// No cache file: the headers come from the messages.
		for range min(mb.msgs, fetchMessages) {
			cl.openFile(c)
			cl.readBytes(c, headerReadBytes)
			cl.closeFile(c)
		}
	}
	cl.mailFileOps(c, mb, v)
	if c.write {
		// The index lock and the index files are the backend's own.
		cl.call(c, opAcquire, 0, 0)
		cl.call(c, opRelease, 0, 0)
	}
}

// rescan lists folder mb's cur/ directory whole and reads its
// dovecot-uidlist, bringing the index c's command uses up to date; build
// says there was no index at all, so that the headers the client fetches
// next come from the message files.
func (cl *cluster) rescan(c *conn, b *backend, mb *mailbox, build bool) {
	cfg := cl.cfg
	n := max(mb.msgs-mb.unsynced, 0)
	cl.readdir(c, max(n, 1))
	cl.readBytes(c, max(int64(cl.sh(mb).uidBytes), uidlistHeaderBytes+int64(n)*uidlistLineBytes))
	c.cpu += cfg.CPU.SelectPerMessage * perMsg(n)
	b.cache.drop(c.target)
	if build && cl.place == nfsmodel.IndexLocal {
		for range min(n, fetchMessages) {
			cl.openFile(c)
			cl.readBytes(c, headerReadBytes)
			cl.closeFile(c)
		}
	}
	*cl.indexVersion(c) = mb.idxVer + 1
	if cl.measuring {
		if build {
			cl.res.IndexBuilds++
		} else {
			cl.res.IndexResyncs++
		}
		cl.res.ScanMessages += uint64(n)
	}
}

// localWrote brings the index of connection c's backend (or its own, in
// memory) to the folder's new version after its write, if it was current
// before: a backend's own changes go into its index as it makes them.
func (cl *cluster) localWrote(c *conn, before uint32) {
	if lv := cl.indexVersion(c); *lv == before+1 {
		*lv = cl.mboxes[c.target].idxVer + 1
	}
}
