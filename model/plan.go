package model

import (
	"math"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/workloads"
)

// Attribute-cache objects: each user has a mail root directory and, per
// folder, the objects attrs.go lists (its log, new/ directory, own
// directory and dovecot-uidlist). mailboxObj
// returns the owner of mailbox mb and the folder's number.
func (cl *cluster) mailboxObj(mb int32) (user, folder int32) {
	return mb / cl.mboxPerUser, mb % cl.mboxPerUser
}

// call adds a call (or a lock step) to connection c's pending command.
func (cl *cluster) call(c *conn, op nfsmodel.Op, bytes int64, entries int32) {
	cl.addCall(c, op, bytes, entries)
}

// ops returns the calls and lock steps of connection c's pending command.
func (cl *cluster) ops(c *conn) []nfsReq { return cl.bufs[c.buf] }

// takeOps gives connection c an empty call buffer, if it has none. Only
// commands with calls to make hold one, so that the buffers, which keep
// the capacity the longest command gave them, are few.
func (cl *cluster) takeOps(c *conn) {
	if c.buf != 0 {
		return
	}
	if n := len(cl.freeBufs); n > 0 {
		c.buf = cl.freeBufs[n-1]
		cl.freeBufs = cl.freeBufs[:n-1]
		return
	}
	if len(cl.bufs) == 0 {
		cl.bufs = append(cl.bufs, nil) // buffer 0 is none
	}
	cl.bufs = append(cl.bufs, nil)
	c.buf = int32(len(cl.bufs) - 1)
}

// releaseOps returns connection c's call buffer for reuse.
func (cl *cluster) releaseOps(c *conn) {
	if c.buf != 0 {
		cl.bufs[c.buf] = cl.bufs[c.buf][:0]
		cl.freeBufs = append(cl.freeBufs, c.buf)
	}
	c.buf, c.opAt = 0, 0
}

// readBytes adds the READ calls that move n bytes with the mount's rsize.
func (cl *cluster) readBytes(c *conn, n int64) {
	rs := cl.cfg.Mount.Rsize
	for n > 0 {
		chunk := min(n, rs)
		cl.call(c, nfsmodel.READ, chunk, 0)
		n -= chunk
	}
}

// plan works out the NFS calls and CPU demand of the connection's current
// command on its backend, and applies the command's effect on the mail
// store (new files, index versions) as the backend sees it. A slow
// backend (a "slow" fault) multiplies the whole CPU demand.
func (cl *cluster) plan(c *conn) {
	cl.takeOps(c)
	cl.planCommand(c)
	if b := &cl.backends[c.backend]; b.slow != 1 {
		c.cpu = sim.Scale(c.cpu, b.slow)
	}
}

// planCommand is plan before a slow backend's factor.
func (cl *cluster) planCommand(c *conn) {
	cfg := cl.cfg
	now := cl.s.Now()
	b := &cl.backends[c.backend]
	mb := &cl.mboxes[c.target]
	m := &cfg.Mount
	c.cpu += cfg.CPU.Command[c.cmd]
	msgBytes := int64(cfg.Population.MessageBytesMean)
	fsyncData := cfg.Dovecot.MailFsync != "never" || m.Noac

	switch c.cmd {
	case workloads.Login:
		return
	case workloads.Logout:
		if c.selected >= 0 {
			cl.closeFile(c) // the selected folder's files
		}
		return
	case workloads.List:
		l := cl.attrAccess(c.backend, c.user, rootObj(), 0, now, true, false)
		if l.Revalidate {
			cl.call(c, nfsmodel.GETATTR, 0, 0)
		}
		if l.Changed || l.Miss {
			cl.readdir(c, int32(cl.folders())+1)
		}
		return
	case workloads.Deliver:
		if cl.dbox() {
			break // saved under the index lock, below
		}
		// Write the message to tmp/ and rename it into new/, as Dovecot's
		// LMTP does; the new file changes the new/ directory.
		cl.call(c, nfsmodel.CREATE, 0, 0)
		cl.write(c, msgBytes)
		if fsyncData {
			cl.call(c, nfsmodel.COMMIT, 0, 0)
		}
		cl.closeFile(c)
		cl.glockWrite(c, dirObj(cl.mailboxFolder(c.target)))
		cl.call(c, nfsmodel.RENAME, 0, 0)
		mb.dirVer++
		mb.unsynced++
		mb.msgs++
		if !cfg.Dovecot.LMTPIndexUpdate {
			return
		}
	}
	if cl.place != nfsmodel.IndexShared {
		cl.planLocalIndex(c, b, mb)
		return
	}

	// Refresh the index: stat dovecot.index.log through the attribute
	// cache. SELECT and an LMTP delivery open the files, and
	// close-to-open then revalidates whatever the cache says;
	// mail_nfs_index flushes the attribute cache first (a chown to the
	// current owner: one SETATTR).
	// Dovecot opens a folder other than the selected one for the command
	// (STATUS, APPEND).
	open := c.cmd == workloads.Select || c.cmd == workloads.Deliver || c.target != c.selected
	force := open && !m.Nocto
	if cfg.Dovecot.MailNFSIndex {
		cl.call(c, nfsmodel.SETATTR, 0, 0)
		force = true
	}
	owner, folder := cl.mailboxObj(c.target)
	if open && cl.v4 {
		force = true // the OPEN compound returns the attributes
	}
	var l nfsmodel.Lookup
	if !open && cl.delegated(c.backend, mb) {
		// A delegation's attributes never expire (fs/nfs/inode.c,
		// nfs_attribute_cache_expired): no other client can have
		// changed the file without the delegation being recalled.
	} else {
		l = cl.attrAccess(c.backend, owner, idxObj(folder), mb.idxVer, now, false, force)
	}
	if open && cl.v4 {
		cl.delegOpen(c, mb)
	}
	switch {
	case open && (cl.v4 || cl.kind == nfsmodel.KindFUSE):
		// NFSv4 opens with an OPEN call, whose compound carries the
		// GETATTR; a FUSE open is a FUSE_OPEN request that leaves the
		// cached attributes as they are.
		cl.call(c, nfsmodel.OPEN, 0, 0)
		if l.Revalidate && !cl.v4 {
			cl.call(c, nfsmodel.GETATTR, 0, 0)
		}
		if c.cmd != workloads.Select {
			defer cl.closeFile(c) // not kept open: STATUS, APPEND elsewhere, a delivery
		} else if c.selected >= 0 && c.selected != c.target {
			cl.closeFile(c) // the folder selected before is closed
		}
	case l.Revalidate:
		cl.call(c, nfsmodel.GETATTR, 0, 0)
	}
	if cl.kind == nfsmodel.KindFUSE && l.Changed {
		// The FUSE client drops the file's pages when it sees its
		// modification time change (FUSE_AUTO_INVAL_DATA).
		*cl.page(c.backend, owner, folder, pageLog) = mb.idxVer
	}
	attrStale := l.Stale
	if l.Changed && !cfg.Dovecot.MmapDisable {
		// With mmap_disable=no the index is read through a mapping whose
		// pages an NFS client does not reliably invalidate: the change is
		// noticed but the mapped data can still be the old one.
		l.Stale = true
	}
	if l.Stale && cl.measuring {
		cl.res.StaleReads++
	}
	// Which of the files the connection holds are still the folder's.
	v := cl.views(c, mb, open)
	if cl.sh(mb).logCorrupt && cl.logCorrupted(c, b, mb, open) {
		return
	}
	if locksFirst(c.cmd) && (cfg.Dovecot.LockMethod != "dotlock" || cfg.Dovecot.MailNFSIndex) {
		// A command that changes the mailbox syncs its index under the
		// log's lock (mail_index_sync_begin), which drops the backend's
		// cached pages of the log before it reads the main index.
		*cl.page(c.backend, owner, folder, pageLog) = mb.idxVer
	}
	cl.mainIndexView(c, b, mb, open)
	if mb.lastWriter >= 0 && mb.lastWriter != c.backend && now-mb.lastWrite < cfg.Mount.Acregmax+sim.Second {
		skew := cl.clockOffset(int(c.backend)) - cl.clockOffset(int(mb.lastWriter))
		if (skew > sim.Second || skew < -sim.Second) && cl.measuring {
			// Dovecot compares file times written by the other backend's
			// clock (FACTS.md 3.1: clocks must agree within 1 s).
			cl.res.ClockErrors++
		}
	}
	// The working set in memory: a change seen on revalidation invalidates
	// the cached pages, and a miss reads the index files again.
	ws := int64(mb.msgs) * cfg.IndexBytesPerMessage
	if l.Changed {
		b.cache.drop(c.target)
	}
	if b.cache.touch(c.target, ws) {
		b.hits++
	} else {
		b.misses++
		cl.readBytes(c, max(ws, 4096))
	}

	if cl.dbox() {
		if c.cmd == workloads.Idle && c.unseen != 0 && !attrStale {
			cl.idleNotified(c) // dbox's IDLE watches the transaction log
		}
		if c.cmd == workloads.Deliver {
			cl.dboxSave(c, mb)
		}
	}
	// Commands that sync the Maildir look for new mail in new/, move it
	// to cur/ and give it UIDs in dovecot-uidlist.
	switch c.cmd {
	case workloads.Select, workloads.Idle, workloads.Deliver:
		if cl.dbox() {
			break
		}
		_, e := cl.attr(c.backend, owner, dirObj(folder))
		seen := e.version
		dl := cl.attrAccess(c.backend, owner, dirObj(folder), mb.dirVer, now, true, cfg.Dovecot.MailNFSStorage)
		if c.cmd != workloads.Deliver {
			cl.expungeRace(c, mb, dl.Stale && !attrStale, seen)
		}
		if c.cmd == workloads.Idle && c.unseen != 0 && !(dl.Stale && attrStale) {
			// The periodic check's stat() of the Maildir's directories
			// or of the transaction log shows the change.
			cl.idleNotified(c)
		}
		if dl.Revalidate {
			cl.call(c, nfsmodel.GETATTR, 0, 0)
		}
		if mb.unsynced > 0 && (dl.Revalidate || c.cmd == workloads.Deliver) {
			cl.readdir(c, mb.unsynced)
			cl.glockWrite(c, dirObj(folder))
			for range mb.unsynced {
				cl.call(c, nfsmodel.RENAME, 0, 0) // new/ -> cur/
			}
			cl.dotlock(c) // dovecot-uidlist.lock
			cl.appendUidlist(c, mb, v, mb.unsynced, c.cmd != workloads.Deliver)
			mb.uncached += mb.unsynced
			mb.unsynced = 0
			mb.dirVer++
			c.write = true
		} else if c.cmd != workloads.Deliver {
			// The session looks up the files of the messages others
			// added to the index (their UIDs are in the log) in
			// dovecot-uidlist.
			cl.readUidlist(c, mb, v)
		}
	}

	begun := locksFirst(c.cmd) && !cl.dbox()
	if begun {
		cl.lockBegin(c, mb)
	}
	cl.mailFileOps(c, mb, v)
	// The session knows the records its backend's pages of the log show.
	cl.useCache(c, mb, v, *cl.page(c.backend, owner, folder, pageLog) == mb.idxVer)
	if c.write {
		cl.logView(c, b, mb, v)
		cl.lockedWrite(c, mb, open, begun) // an opener replayed the log since the last rewrite
	} else if begun {
		cl.lockEnd(c)
	}
}

// mailFileOps adds what command c does to the mail files of mailbox mb
// and its CPU work per message, whatever the index: a body read, a flag
// change (Maildir keeps flags in the file name), an expunge, an append;
// v is the connection's view of the folder's files (for dovecot-uidlist).
func (cl *cluster) mailFileOps(c *conn, mb *mailbox, v fileView) {
	cfg := cl.cfg
	m := &cfg.Mount
	folder := cl.mailboxFolder(c.target)
	msgBytes := int64(cfg.Population.MessageBytesMean)
	fsyncData := cfg.Dovecot.MailFsync != "never" || m.Noac
	switch c.cmd {
	case workloads.Select:
		c.cpu += cfg.CPU.SelectPerMessage * perMsg(mb.msgs)
	case workloads.Search:
		c.cpu += cfg.CPU.SearchPerMessage * perMsg(mb.msgs)
	case workloads.FetchBody:
		if m.Lookupcache == nfsmodel.LookupNone {
			cl.call(c, nfsmodel.LOOKUP, 0, 0) // every path lookup goes to the server
		}
		if !cl.msgDelegated(c, mb) {
			cl.openFile(c) // open() of the message file
		}
		cl.readBytes(c, msgBytes)
		cl.closeFile(c)
	case workloads.Store:
		if !cl.dbox() {
			cl.msgChange(c, mb)
			cl.glockWrite(c, dirObj(folder))
			cl.call(c, nfsmodel.RENAME, 0, 0) // Maildir flags live in the file name
		}
		c.write = true
	case workloads.Expunge:
		if cl.dbox() {
			cl.dboxExpunge(c, mb)
			c.write = true
			break
		}
		if mb.msgs > 0 {
			cl.msgChange(c, mb)
			cl.glockWrite(c, dirObj(folder))
			cl.call(c, nfsmodel.REMOVE, 0, 0)
			mb.msgs--
			mb.dirVer++
			if mb.cacheDeleted < math.MaxUint16 {
				mb.cacheDeleted++
			}
			cl.sh(mb).expungeVer, cl.sh(mb).expungeBy = uint16(mb.dirVer), c.backend
		}
		cl.dotlock(c)
		c.write = true
	case workloads.Append:
		if cl.dbox() {
			cl.dboxSave(c, mb)
			break
		}
		cl.call(c, nfsmodel.CREATE, 0, 0)
		cl.write(c, msgBytes)
		if fsyncData {
			cl.call(c, nfsmodel.COMMIT, 0, 0)
		}
		cl.closeFile(c)
		cl.glockWrite(c, dirObj(folder))
		cl.call(c, nfsmodel.RENAME, 0, 0)
		cl.dotlock(c)
		cl.appendUidlist(c, mb, v, 1, false)
		mb.msgs++
		mb.uncached++
		c.write = true
	}
}

// locksFirst reports whether command cmd takes the index's lock before
// it reads the index: IMAP commands that change the mailbox. An LMTP
// delivery opens (and reads) the mailbox before it saves.
func locksFirst(cmd workloads.Command) bool {
	switch cmd {
	case workloads.Store, workloads.Expunge, workloads.Append:
		return true
	}
	return false
}

// perMsg converts a message count to a multiplier of a per-message time.
func perMsg(n int32) sim.Time { return sim.Time(n) }

// write adds the WRITE calls for n bytes.
func (cl *cluster) write(c *conn, n int64) {
	ws := cl.cfg.Mount.Rsize
	for n > 0 {
		chunk := min(n, ws)
		cl.call(c, nfsmodel.WRITE, chunk, 0)
		n -= chunk
	}
}

// readdir lists a directory of n entries, as a Maildir scan reads it
// (names only, no stat() of the entries). The Linux client asks for
// READDIRPLUS on the first getdents() from the start of a directory and
// with READDIR after that, unless the caller stat()ed or looked up more
// than 8 of the directory's entries since its previous call
// (fs/nfs/dir.c, nfs_use_readdirplus and nfs_readdir_handle_cache_misses);
// nordirplus makes every reply a READDIR. Entries per reply from
// MEASURED.md (~420 per READDIR reply, ~167 per READDIRPLUS reply).
func (cl *cluster) readdir(c *conn, n int32) {
	cl.readdirAs(c, n, false)
}

// readdirAs is readdir; statted says that the caller stats every entry
// (ls -l, a quota scan), which keeps the client on READDIRPLUS.
func (cl *cluster) readdirAs(c *conn, n int32, statted bool) {
	plus := !cl.cfg.Mount.Nordirplus
	for {
		op, per := nfsmodel.READDIR, int32(420)
		if plus {
			op, per = nfsmodel.READDIRPLUS, 167
		}
		k := min(n, per)
		cl.call(c, op, 0, k)
		n -= k
		if n <= 0 {
			return
		}
		plus = plus && statted
	}
}

// dotlock takes and releases dovecot-uidlist.lock, the dotlock Dovecot
// always uses for dovecot-uidlist (maildir-uidlist.c): the lock file's
// creation (see createLock) and its REMOVE. Both change the folder's
// directory, which the backend's own change leaves it seeing as current
// (see renamed).
func (cl *cluster) dotlock(c *conn) {
	cl.createLock(c)
	cl.call(c, nfsmodel.REMOVE, 0, 0)
	cl.renamed(c, &cl.mboxes[c.target])
}

// createLock creates a dotlock file. With dotlock_use_excl (Dovecot's
// default) it is one exclusive create: the kernel sends no LOOKUP before
// an O_EXCL create, whatever lookupcache says, because the CREATE itself
// fails if the name exists (fs/nfs/dir.c, nfs_lookup skips exclusive
// creates). Without it Dovecot writes a temporary file and link()s it
// to the lock's name (lib/file-dotlock.c, try_create_lock_hardlink): a
// CREATE, a WRITE of its PID, a LINK and the temporary file's REMOVE.
func (cl *cluster) createLock(c *conn) {
	cl.glockWrite(c, folderDirObj(cl.mailboxFolder(c.target)))
	if cl.cfg.Dovecot.DotlockUseExcl {
		cl.call(c, nfsmodel.CREATE, 0, 0)
		if cl.cfg.Mount.Vers == nfsmodel.V3 || cl.cfg.Mount.Vers == nfsmodel.V40 {
			// An exclusive create stores its verifier in the file's
			// times; the client then sets the real attributes
			// (fs/nfs/nfs3proc.c, nfs3_proc_create; NFSv4.1 sends them
			// with the OPEN, EXCLUSIVE4_1).
			cl.call(c, nfsmodel.SETATTR, 0, 0)
		}
		cl.closeFile(c)
		return
	}
	cl.call(c, nfsmodel.CREATE, 0, 0)
	cl.call(c, nfsmodel.WRITE, 16, 0)
	cl.closeFile(c)
	cl.call(c, nfsmodel.LINK, 0, 0)
	cl.call(c, nfsmodel.REMOVE, 0, 0)
}

// fsck repairs a folder's index after a lost or corrupted transaction
// log, as Dovecot's mail_index_fsck does: it reads the index files again,
// checks every record in memory (lib-index/mail-index-fsck.c: an index
// scan, charged as SELECT's per message) and writes the main index
// afresh.
func (cl *cluster) fsck(c *conn, b *backend, mb *mailbox) {
	cfg := cl.cfg
	cl.errorAt(ErrIndexFsck, 1)
	cl.readBytes(c, max(4096, int64(mb.msgs)*cfg.IndexBytesPerMessage))
	c.cpu += cfg.CPU.SelectPerMessage * perMsg(mb.msgs)
	cl.call(c, nfsmodel.CREATE, 0, 0)
	cl.write(c, mainIndexHeaderBytes+int64(mb.msgs)*mainIndexRecordBytes)
	cl.call(c, nfsmodel.RENAME, 0, 0)
	b.cache.drop(c.target)
	if cl.dbox() {
		// dbox has nothing but its index to rebuild it from: the mail
		// files themselves.
		cl.dboxRebuild(c, mb)
	}
	cl.sh(mb).mainBy = c.backend
	cl.sh(mb).mainLogVer = mb.idxVer
	cl.renamed(c, mb)
	c.write = true
	if cl.measuring {
		cl.res.IndexFscks++
		cl.res.FsckMessages += uint64(mb.msgs)
	}
}

// clockOffset is backend b's clock error: backends' clocks are spread
// evenly over cfg.ClockSkew.
func (cl *cluster) clockOffset(b int) sim.Time {
	n := len(cl.backends)
	if n < 2 {
		return 0
	}
	return cl.cfg.ClockSkew * sim.Time(b) / sim.Time(n-1)
}

// mailboxFolder returns the folder number of mailbox mb.
func (cl *cluster) mailboxFolder(mb int32) int32 { return mb % cl.mboxPerUser }
