package model

import (
	"math"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/workloads"
)

// ErrorClass is a kind of error Dovecot logs about its index files, named
// as the testbed classifies Dovecot's log lines (the metric is
// "dovecot.errors." + its name), so that a simulated result set and a
// testbed one line up.
type ErrorClass uint8

// The error classes the model's mechanisms produce. The testbed knows
// more (dovecotlog.Classes): those the model has no mechanism for are not
// reported by it, rather than reported as zero.
const (
	// ErrTransactionLogCorrupted: "Corrupted transaction log", "Unexpected
	// garbage at EOF": a transaction appended over another backend's (a
	// writer that read the log through stale pages, or two writers at
	// once), found by every command until the folder is opened again.
	ErrTransactionLogCorrupted ErrorClass = iota
	// ErrTransactionLogLost: "Lost log": the main index points past the
	// end of the log as the reader sees it, or changes went to a rotated
	// log.
	ErrTransactionLogLost
	// ErrIndexFsck: "fscking index file": the repair after a lost or
	// corrupted log.
	ErrIndexFsck
	// ErrCacheCorrupted: "Deleting corrupted cache": cache records another
	// backend added, read through stale pages of dovecot.index.cache.
	ErrCacheCorrupted
	// ErrUidlistBroken: "Broken file dovecot-uidlist": lines another
	// backend added, read as zeros from stale pages, or overwritten by an
	// append at a stale end of the file.
	ErrUidlistBroken
	// ErrUidlistDuplicate: "Duplicate file entry": a message listed again
	// with a new UID by a backend that could not read its line.
	ErrUidlistDuplicate
	// ErrUidlistNextUIDLowered: "next_uid was lowered": the uidlist was
	// written afresh without the last lines another backend had added,
	// whose sessions knew higher UIDs.
	ErrUidlistNextUIDLowered
	// ErrExpungedReappeared: "Expunged message reappeared, giving a new
	// UID": a listing of cur/ cached from before another backend's
	// expunge.
	ErrExpungedReappeared
	// ErrStaleFileHandle: "Stale file handle": a file another backend
	// replaced or deleted, used through a handle opened before.
	ErrStaleFileHandle
	// ErrLockTimeout: "Timeout ... while waiting for lock": a command
	// gave up waiting for an index lock another connection held (see
	// lockTimeout).
	ErrLockTimeout
	// NumErrorClasses is the number of classes.
	NumErrorClasses
)

var errorClassNames = [NumErrorClasses]string{
	"transaction_log_corrupted", "transaction_log_lost", "index_fsck", "cache_corrupted",
	"uidlist_broken", "uidlist_duplicate", "uidlist_next_uid_lowered", "expunged_reappeared",
	"stale_file_handle", "lock_timeout",
}

// String returns the class's name, as the testbed names it.
func (e ErrorClass) String() string {
	if e < NumErrorClasses {
		return errorClassNames[e]
	}
	return "unknown"
}

// ErrorMetricPrefix prefixes an error class's metric name.
const ErrorMetricPrefix = "dovecot.errors."

// Sizes that drive the index files' mechanisms.
const (
	// cacheBytesPerMessage is what a new message adds to
	// dovecot.index.cache once clients fetch envelopes: 412 B measured
	// on Dovecot 2.3.19 (experiments/profiles/index-growth.md).
	cacheBytesPerMessage = 412
	// mailCachePurgeMinSize and mailCachePurgeDeletePercentage are
	// Dovecot's mail_cache_purge_min_size (32 KiB) and
	// mail_cache_purge_delete_percentage (20): a cache file at least that
	// large is purged (rewritten to a temporary file and renamed over
	// dovecot.index.cache) once that share of its records belongs to
	// expunged messages (lib-index/mail-cache.c,
	// mail_cache_update_need_purge).
	mailCachePurgeMinSize          = 32 * 1024
	mailCachePurgeDeletePercentage = 20
)

// staleHandle records that a connection used n times a handle of a file
// another backend deleted or replaced. Under NFSv3 the server has
// forgotten the file, and the call fails with ESTALE ("Stale file
// handle"). Under NFSv4 the client's OPEN state keeps the file open at
// the server (nfsd holds it in its file cache until the CLOSE), so the
// handle still reads the old file, without an error.
func (cl *cluster) staleHandle(n uint64) {
	if !cl.v4 {
		cl.errorAt(ErrStaleFileHandle, n)
	}
}

// errorAt records n Dovecot errors of class e.
func (cl *cluster) errorAt(e ErrorClass, n uint64) {
	if cl.measuring {
		cl.res.Errors[e] += n
	}
}

// fileView is what a command of connection c sees of the files of its
// folder on its backend's NFS client.
type fileView struct {
	// names is true when the backend's cached names in the folder's
	// directory are current: a path names the file there now.
	names bool
	// cacheStale, uidStale, logStale: the connection's handle of
	// dovecot.index.cache, dovecot-uidlist or dovecot.index.log refers
	// to a file another backend has replaced or deleted since, and the
	// connection has not noticed.
	cacheStale, uidStale, logStale bool
}

// views works out which of connection c's file handles on mailbox mb are
// still good, before its command uses them. A command that opens the
// mailbox (SELECT, an LMTP delivery, a command on a folder other than the
// selected one) opens every file by its path: the
// kernel revalidates the name and, if the file handle turns out stale,
// looks the name up again (an open() that gets ESTALE is retried with a
// fresh lookup), so it gets the current files. Later commands use the
// handles they hold; Dovecot stat()s the path and compares inode numbers
// to notice a replaced file (mail_cache_need_reopen,
// maildir_uidlist_has_changed, mail_transaction_log_refresh), which finds
// the new file only when the backend's cached directory entry is current:
// once the directory's attributes expire (acdirmin..acdirmax), with
// lookupcache=none, or when mail_nfs_index (index files) or
// mail_nfs_storage (dovecot-uidlist) make Dovecot flush the file handle
// cache first (nfs_flush_file_handle_cache). A file replaced by another
// connection of the same backend is never stale: the backend's own
// rename updates its own directory entry, and the kernel keeps the old
// file alive for whoever has it open (NFS "silly rename").
func (cl *cluster) views(c *conn, mb *mailbox, open bool) fileView {
	cfg := cl.cfg
	if cl.coherent() {
		// A cluster file system keeps a file another node deleted alive
		// for whoever has it open (GFS2's iopen glock, OCFS2's open
		// lock), and every node sees every rename at once: Dovecot's
		// check of the name against its open file finds the new file
		// and reopens it, without an error.
		s := cl.sh(mb)
		c.cacheGen, c.uidGen, c.logSeq = s.cacheGen, s.uidGen, s.logSeq
		return fileView{names: true}
	}
	owner, folder := cl.mailboxObj(c.target)
	force := cfg.Mount.Lookupcache == nfsmodel.LookupNone
	d := cl.attrAccess(c.backend, owner, folderDirObj(folder), uint32(cl.sh(mb).names), cl.s.Now(), true, force || cfg.Dovecot.MailNFSIndex)
	if d.Revalidate {
		cl.call(c, nfsmodel.GETATTR, 0, 0)
	}
	v := fileView{names: !d.Stale}
	if d.Changed {
		cl.relookup(c.backend, owner, folder)
	}
	if open {
		if c.target == c.selected || c.cmd == workloads.Select || c.dev < 0 {
			c.cacheGen, c.uidGen, c.logSeq = cl.sh(mb).cacheGen, cl.sh(mb).uidGen, cl.sh(mb).logSeq
		}
		if !cl.openOn(c, owner) {
			// Nobody else on the backend holds the files: close-to-open
			// finds them changed and drops their cached pages.
			*cl.page(c.backend, owner, folder, pageLog) = mb.idxVer
			*cl.page(c.backend, owner, folder, pageCache) = cl.sh(mb).cacheVer
			*cl.page(c.backend, owner, folder, pageUid) = cl.sh(mb).uidBytes
			*cl.page(c.backend, owner, folder, pageUidGap) = 0
		}
		return v
	}
	uidNames := v.names || cfg.Dovecot.MailNFSStorage
	if c.cacheGen != cl.sh(mb).cacheGen {
		switch {
		case cl.sh(mb).cacheBy == c.backend:
			// The old file lives on where this backend renamed it away.
			c.cacheGen = cl.sh(mb).cacheGen
			*cl.page(c.backend, owner, folder, pageCache) = cl.sh(mb).cacheVer
		case cfg.Dovecot.LockMethod != "dotlock" && !cl.localLocks() && !cl.v4:
			// Dovecot locks the cache file it has open before it checks
			// whether the name now points to a newer one
			// (mail_cache_lock, mail_cache_sync_reset_id): over NLM the
			// lock of a file deleted at the server fails with ESTALE, so
			// the check is never reached and the handle stays stale for
			// as long as the connection keeps the mailbox open.
			v.cacheStale = true
		default:
			// A dotlock (taken by name, which changes the directory and so
			// shows the backend its current names) or a local lock
			// succeeds, and the check then finds the new file; Dovecot's
			// fstat() of the old one fails with ESTALE on the way.
			c.cacheGen = cl.sh(mb).cacheGen
			*cl.page(c.backend, owner, folder, pageCache) = cl.sh(mb).cacheVer
			cl.staleHandle(1)
		}
	}
	if c.uidGen != cl.sh(mb).uidGen {
		if uidNames || cl.sh(mb).uidGenBy == c.backend {
			c.uidGen = cl.sh(mb).uidGen
			*cl.page(c.backend, owner, folder, pageUid) = cl.sh(mb).uidBytes
			*cl.page(c.backend, owner, folder, pageUidGap) = 0
		} else {
			v.uidStale = true
		}
	}
	if c.logSeq != cl.sh(mb).logSeq {
		if v.names || cl.sh(mb).rotatedBy == c.backend {
			c.logSeq = cl.sh(mb).logSeq
			*cl.page(c.backend, owner, folder, pageLog) = mb.idxVer
		} else {
			v.logStale = true
		}
	}
	return v
}

// openOn reports whether another IMAP connection of user u than c has
// c's folder selected on c's backend: its process holds the folder's
// index files open.
func (cl *cluster) openOn(c *conn, u int32) bool {
	n := cl.mboxes[c.target].selectedBy
	if c.open && c.dev >= 0 && c.selected == c.target {
		n-- // c is one of them
	}
	if n == 0 {
		return false
	}
	return cl.anyUserConn(u, c, func(o *conn) bool {
		return o != c && o.open && o.backend == c.backend && o.selected == c.target
	})
}

// appended records that backend b appended to a file of which the truth
// is at version ver before the append, and whose pages it holds at *p:
// pages that were current stay so (the backend wrote what it caches);
// pages missing another backend's appends go on missing them.
func appended(p *uint32, ver uint32) {
	if *p == ver || *p == noPages {
		*p = ver + 1
	}
}

// fetchMessages is how many messages a FETCH of metadata asks for: the
// last ten of the folder, as the load generator that runs the model's
// workloads on the testbed sends it (workloads/imapload), for FLAGS,
// ENVELOPE, INTERNALDATE, RFC822.SIZE and UID.
const fetchMessages = 10

// fetchCacheFields is how many of those items Dovecot looks up in
// dovecot.index.cache per message: ENVELOPE (imap.envelope) and
// INTERNALDATE (date.received). FLAGS and UID live in the index, and a
// Maildir message's RFC822.SIZE in its file name (",W=").
const fetchCacheFields = 2

// cacheLookups is how many times command cmd on a folder of msgs messages
// looks a message's field up in dovecot.index.cache: FETCH of metadata
// per message and cached field, FETCH of a body once; saving and
// expunging lock the cache once to add or drop records. Flags live in the
// index, so STORE and SEARCH UNSEEN need no cache.
func cacheLookups(cmd workloads.Command, msgs int32) int32 {
	switch cmd {
	case workloads.Fetch:
		return min(msgs, fetchMessages) * fetchCacheFields
	case workloads.FetchBody, workloads.Append, workloads.Expunge, workloads.Deliver:
		return 1
	}
	return 0
}

// useCache carries out command c's use of the folder's
// dovecot.index.cache, given its file view v and whether the backend's
// pages of the transaction log are current (logFresh: the session knows of
// every record the log names). With a stale handle every lookup fails with
// ESTALE: the index names a newer cache file, so Dovecot tries to lock the
// one it has to resynchronise (mail_cache_lookup_offset), once per lookup.
// Reading records another backend added, which the log names, from the
// backend's stale pages of the cache file (see page) finds a record of an
// invalid size or outside the file: Dovecot deletes the cache file
// (mail_cache_set_corrupted). New messages are cached under the cache's
// lock; with lock_method=fcntl that lock drops the backend's pages of the
// file (fs/nfs/file.c, do_setlk), and a purge is due once a fifth of the
// records are expunged ones.
func (cl *cluster) useCache(c *conn, mb *mailbox, v fileView, logFresh bool) {
	n := cacheLookups(c.cmd, mb.msgs)
	if n == 0 {
		return
	}
	if v.cacheStale {
		cl.staleHandle(uint64(n))
		return
	}
	cfg := cl.cfg
	owner, folder := cl.mailboxObj(c.target)
	pc := cl.page(c.backend, owner, folder, pageCache)
	read := c.cmd == workloads.Fetch || c.cmd == workloads.FetchBody
	if read && mb.cacheBytes > 0 && logFresh && pageNow(pc, cl.sh(mb).cacheVer) != cl.sh(mb).cacheVer {
		// The log told the session of records another backend added to
		// the cache, and the backend reads them from pages cached before
		// (or up to the old size): Dovecot finds an invalid record or
		// one outside the file and deletes the cache.
		cl.errorAt(ErrCacheCorrupted, 1)
		cl.replaceCache(c, mb, true)
		if cl.measuring {
			cl.res.CacheRefills += uint64(mb.msgs)
		}
		return
	}
	// Records to add: messages not yet cached, or expunged ones to mark.
	if mb.uncached == 0 && c.cmd != workloads.Expunge {
		return
	}
	switch {
	case cfg.Dovecot.LockMethod == "dotlock":
		cl.call(c, nfsmodel.CREATE, 0, 0)
		cl.renamed(c, mb) // dovecot.index.cache.lock
	case !cl.localLocks():
		cl.call(c, nfsmodel.LOCK, 0, 0)
	}
	if cfg.Dovecot.LockMethod != "dotlock" {
		*pc = cl.sh(mb).cacheVer // the fcntl lock drops the cached pages
	}
	if mb.cacheBytes == 0 {
		// No cache file (none yet, or deleted as corrupted): create one.
		cl.replaceCache(c, mb, false)
	} else if cacheRecords := int64(mb.msgs) + int64(mb.cacheDeleted); int64(mb.cacheBytes) >= mailCachePurgeMinSize &&
		int64(mb.cacheDeleted)*100 >= mailCachePurgeDeletePercentage*cacheRecords {
		cl.replaceCache(c, mb, false)
		if cl.measuring {
			cl.res.CachePurges++
		}
	}
	added := int64(mb.uncached)
	if c.cmd == workloads.Fetch {
		// The records' offsets go into the index through the log.
		c.write = true
		// Dovecot parses the headers of the fetched messages it has no
		// records of from their files (the newest, which the fetch of the
		// last ten asks for).
		cl.readHeaders(c, mb, int32(min(added, fetchMessages)))
	}
	mb.cacheBytes = uint32(min(int64(mb.cacheBytes)+added*cacheBytesPerMessage, math.MaxUint32))
	mb.uncached = 0
	appended(pc, cl.sh(mb).cacheVer)
	cl.sh(mb).cacheVer++
	cl.write(c, max(added*cacheBytesPerMessage, 64))
	switch {
	case cfg.Dovecot.LockMethod == "dotlock":
		cl.call(c, nfsmodel.REMOVE, 0, 0)
	case !cl.localLocks():
		cl.call(c, nfsmodel.UNLOCK, 0, 0)
	}
}

// replaceCache replaces the folder's dovecot.index.cache by connection c:
// deleted as corrupted (deleted), or written afresh and renamed over it
// (a purge, or the first cache file). Whoever holds the old file open on
// another backend now holds a stale handle.
func (cl *cluster) replaceCache(c *conn, mb *mailbox, deleted bool) {
	if deleted {
		cl.call(c, nfsmodel.REMOVE, 0, 0)
		mb.cacheBytes = 0
		mb.uncached = mb.msgs
	} else {
		size := max(int64(mb.cacheBytes)-int64(mb.cacheDeleted)*cacheBytesPerMessage, 1024)
		cl.call(c, nfsmodel.CREATE, 0, 0)
		cl.write(c, size)
		cl.call(c, nfsmodel.RENAME, 0, 0)
		mb.cacheBytes = uint32(size)
	}
	mb.cacheDeleted = 0
	cl.sh(mb).cacheGen++
	cl.sh(mb).cacheBy = c.backend
	cl.sh(mb).cacheVer++
	c.cacheGen = cl.sh(mb).cacheGen
	cl.replaced(c, mb, pageCache)
	cl.renamed(c, mb)
}

// renamed records that connection c changed the names in mailbox mb's
// directory (a file created, renamed or deleted there).
func (cl *cluster) renamed(c *conn, mb *mailbox) {
	owner, folder := cl.mailboxObj(c.target)
	cl.sh(mb).names++
	cl.attrWrote(c.backend, owner, folderDirObj(folder), uint32(cl.sh(mb).names), cl.s.Now(), true)
}

// relookup records that backend b found the directory of user u's folder
// changed by someone else: the kernel no longer trusts the names cached
// in it (fs/nfs/dir.c, nfs_force_lookup_revalidate), so the next stat()
// or open() of each file there is a LOOKUP, whose reply refreshes the
// file's attributes. The files' cached attributes are as good as expired.
func (cl *cluster) relookup(b int16, u, folder int32) {
	for _, obj := range [...]int32{idxObj(folder), uidObj(folder)} {
		if _, e := cl.attr(b, u, obj); e.timeout != 0 {
			e.expired = true
		}
	}
}

// expired is a validation time so long ago that every attribute timeout
// has run out since.
const expired = sim.Time(math.MinInt64 / 2)

// pageBytes is the size of a page of the Linux page cache.
const pageBytes = 4096

// refreshUidlist reads what others added to the folder's dovecot-uidlist
// since connection c's backend last looked, as Dovecot does under the
// file's dotlock before it adds lines (maildir_uidlist_refresh), and
// returns how many lines were lost. Dovecot notices from the file's
// attributes that it grew and reads the new part, through the backend's
// cached pages (see page): where another backend appended after the
// backend cached the file's last page, the page holds zeros. Zeros up to
// the end of the file read as a line not yet finished, so the backend
// does not see those messages: a session that scans the Maildir (sync)
// finds their files without a UID and lists them again with new ones,
// which the next reader finds as "Duplicate file entry", and clients
// download again. Zeros followed by data (the next page, fetched from the
// server, or the backend's own later lines) read as "Broken file
// dovecot-uidlist ... Invalid data": Dovecot writes the file afresh from
// what it could read, and the messages of the lost lines get new UIDs.
// mail_nfs_storage makes Dovecot refresh the file's attributes first
// (nfs_flush_attr_cache_unlocked: an open() and close()), which does not
// drop the pages. Whether Dovecot notices the change at all depends on
// those attributes: uv is the attribute lookup of the file.
func (cl *cluster) refreshUidlist(c *conn, mb *mailbox, uv nfsmodel.Lookup, sync bool) {
	if uv.Stale {
		return // the attributes still show the old size
	}
	owner, folder := cl.mailboxObj(c.target)
	pv, pg := cl.page(c.backend, owner, folder, pageUid), cl.page(c.backend, owner, folder, pageUidGap)
	if pageNow(pv, cl.sh(mb).uidBytes) >= cl.sh(mb).uidBytes {
		*pg = 0
		return
	}
	if *pg <= *pv || *pg > cl.sh(mb).uidBytes {
		*pg = 0 // the backend's own lines no longer follow its gap
	}
	gapEnd := cl.sh(mb).uidBytes
	if *pg != 0 {
		gapEnd = *pg
	}
	lost := (gapEnd - *pv + uidlistLineBytes - 1) / uidlistLineBytes
	if *pg != 0 || cl.sh(mb).uidBytes > (*pv/pageBytes+1)*pageBytes {
		cl.errorAt(ErrUidlistBroken, 1)
		if *pg == 0 {
			// The lost lines were the last ones, with the highest UIDs:
			// the file written afresh lowers next_uid below what the
			// other backend's sessions read (maildir_uidlist_update_read).
			cl.errorAt(ErrUidlistNextUIDLowered, 1)
		}
		if cl.measuring {
			cl.res.NewUIDs += uint64(lost)
		}
		cl.recreateUidlist(c, mb, lost)
		return
	}
	if !sync {
		return
	}
	// Listed again with new UIDs.
	cl.errorAt(ErrUidlistDuplicate, uint64(lost))
	if cl.measuring {
		cl.res.NewUIDs += uint64(lost)
	}
	cl.addUidlistLines(c, mb, lost)
}

// readUidlist is refreshUidlist for a session's sync that adds no lines
// itself.
func (cl *cluster) readUidlist(c *conn, mb *mailbox, v fileView) {
	if v.uidStale {
		return
	}
	owner, folder := cl.mailboxObj(c.target)
	uv := cl.attrAccess(c.backend, owner, uidObj(folder), uint32(cl.sh(mb).uidVer), cl.s.Now(), false, cl.cfg.Dovecot.MailNFSStorage)
	if uv.Revalidate {
		cl.call(c, nfsmodel.GETATTR, 0, 0)
	}
	cl.uidlistRead(c, mb)
	cl.refreshUidlist(c, mb, uv, true)
}

// recreateUidlist writes the folder's dovecot-uidlist afresh from
// connection c's view, without the lost lines it could not read, and
// renames it over the old one.
func (cl *cluster) recreateUidlist(c *conn, mb *mailbox, lost uint32) {
	cl.call(c, nfsmodel.CREATE, 0, 0)
	cl.call(c, nfsmodel.WRITE, max(int64(mb.msgs)*uidlistLineBytes, 1), 0)
	cl.call(c, nfsmodel.RENAME, 0, 0)
	cl.sh(mb).uidBytes -= min(lost*uidlistLineBytes, cl.sh(mb).uidBytes-uidlistHeaderBytes)
	cl.sh(mb).uidGen++
	cl.sh(mb).uidGenBy = c.backend
	c.uidGen = cl.sh(mb).uidGen
	cl.sh(mb).uidVer++
	owner, folder := cl.mailboxObj(c.target)
	cl.replaced(c, mb, pageUid)
	cl.attrWrote(c.backend, owner, uidObj(folder), uint32(cl.sh(mb).uidVer), cl.s.Now(), false)
	cl.renamed(c, mb)
	if cl.sh(mb).logCorrupt {
		// Neither the index nor the uidlist holds the UIDs any more: the
		// mailbox gets a new UIDVALIDITY.
		if cl.measuring && cl.users[c.user].set(uidValidityChanged) {
			cl.res.UsersUIDValidityChanged++
		}
	}
}

// addUidlistLines appends n lines to the folder's dovecot-uidlist for
// connection c, at the true end of the file. The backend caches what it
// wrote: after a region it holds as zeros, its own lines now follow them.
func (cl *cluster) addUidlistLines(c *conn, mb *mailbox, n uint32) {
	owner, folder := cl.mailboxObj(c.target)
	pv, pg := cl.page(c.backend, owner, folder, pageUid), cl.page(c.backend, owner, folder, pageUidGap)
	grow := n * uidlistLineBytes
	switch {
	case pageNow(pv, cl.sh(mb).uidBytes) >= cl.sh(mb).uidBytes:
		*pv, *pg = cl.sh(mb).uidBytes+grow, 0
	case *pg == 0:
		*pg = cl.sh(mb).uidBytes
	}
	cl.sh(mb).uidBytes += grow
	cl.sh(mb).uidVer++
	cl.call(c, nfsmodel.WRITE, int64(grow), 0)
	cl.attrWrote(c.backend, owner, uidObj(folder), uint32(cl.sh(mb).uidVer), cl.s.Now(), false)
}

// appendUidlist adds lines for n new messages to the folder's
// dovecot-uidlist under the file's dotlock, as Dovecot does when it saves
// a message or gives new mail its UIDs (maildir_uidlist_sync_update),
// after refreshing its view (see refreshUidlist; sync says the session
// scanned the Maildir). It appends at the end of the file it has open,
// which SEEK_END takes from the backend's cached attributes while they
// are fresh (nfs_revalidate_file_size), unless mail_nfs_storage makes
// Dovecot refresh them first: lines another backend appended since are
// overwritten, and the next reader finds the file broken and writes it
// afresh without them. A handle of a file another backend recreated fails
// with ESTALE.
func (cl *cluster) appendUidlist(c *conn, mb *mailbox, v fileView, n int32, sync bool) {
	if v.uidStale {
		// The append goes to the file the connection holds, which is no
		// longer the folder's: lost (with ESTALE under NFSv3).
		cl.staleHandle(1)
		return
	}
	cfg := cl.cfg
	owner, folder := cl.mailboxObj(c.target)
	_, e := cl.attr(c.backend, owner, uidObj(folder))
	seen := e.version
	uv := cl.attrAccess(c.backend, owner, uidObj(folder), uint32(cl.sh(mb).uidVer), cl.s.Now(), false, cfg.Dovecot.MailNFSStorage)
	if uv.Revalidate {
		cl.call(c, nfsmodel.GETATTR, 0, 0)
	}
	cl.uidlistRead(c, mb)
	cl.refreshUidlist(c, mb, uv, sync)
	cl.uidlistWrite(c, mb)
	if behind := int16(uint16(cl.sh(mb).uidVer) - seen); uv.Stale && behind > 0 {
		// Overwritten at the old end: the next reader finds the file
		// broken. The backend's attributes count appends, not lines:
		// each missed append is taken as one line, the most a delivery
		// or an APPEND adds.
		lost := uint32(behind)
		cl.errorAt(ErrUidlistBroken, 1)
		if cl.measuring {
			cl.res.NewUIDs += uint64(lost)
		}
		cl.recreateUidlist(c, mb, lost)
	}
	cl.addUidlistLines(c, mb, uint32(max(n, 1)))
}

// uidlistLineBytes is a dovecot-uidlist line, ~52 B per message
// (MEASURED.md, as Config.IndexBytesPerMessage), and uidlistHeaderBytes
// its header line (version, UIDVALIDITY, next UID, mailbox GUID).
const (
	uidlistLineBytes   = 52
	uidlistHeaderBytes = 64
)

// logView checks connection c's index write before it appends to the
// transaction log, given its file view v. With lock_method=fcntl the lock
// drops the backend's cached pages and attributes of the log
// (fs/nfs/file.c, do_setlk: "locking act[s] as a cache coherency point"),
// and Dovecot reads the log to its true end before appending: no damage;
// Dovecot's code relies on it (nfs_flush_read_cache_locked: "already
// flushed when fcntl() was called"). A dotlock excludes other writers but
// flushes nothing: the writer reads the transactions another backend
// appended from its cached pages, finds zeros where they are ("Unexpected
// garbage at EOF"), and its append lands over them. mail_nfs_index makes
// Dovecot drop the pages after taking a dotlock (mail_index_flush_read_cache,
// which takes and releases an fcntl read lock). The log stays corrupted
// until the folder is next opened (see logCorrupted). A handle of a rotated
// log (the name moved to a new file while the backend's directory entry
// still named the old one) takes the changes to dovecot.index.log.2, where
// no one reads them: the writer finds its log lost when it next refreshes
// ("Lost log") and fscks its index.
func (cl *cluster) logView(c *conn, b *backend, mb *mailbox, v fileView) {
	owner, folder := cl.mailboxObj(c.target)
	pl := cl.page(c.backend, owner, folder, pageLog)
	switch {
	case v.logStale:
		cl.errorAt(ErrTransactionLogLost, 1)
		cl.fsck(c, b, mb)
		c.logSeq = cl.sh(mb).logSeq
	case cl.cfg.Dovecot.LockMethod != "dotlock" || cl.cfg.Dovecot.MailNFSIndex:
		*pl = mb.idxVer
	case pageNow(pl, mb.idxVer) != mb.idxVer:
		cl.sh(mb).logCorrupt = true
		*pl = mb.idxVer // it read past them now
	}
}

// logCorrupted handles connection c's command on a folder whose
// transaction log is corrupted, and reports whether the command fails. A
// command of an open session finds garbage where it expects transactions
// ("Corrupted transaction log", "Unexpected garbage at EOF") and is
// answered with an error; the next connection that opens the folder
// finds its index pointing into a log it cannot read ("Lost log"), fscks
// the index and writes a new log (mail_index_fsck).
func (cl *cluster) logCorrupted(c *conn, b *backend, mb *mailbox, open bool) bool {
	if open {
		cl.errorAt(ErrTransactionLogLost, 1)
		cl.fsck(c, b, mb)
		// The corrupted log is replaced by a new one.
		cl.call(c, nfsmodel.CREATE, 0, 0)
		cl.call(c, nfsmodel.RENAME, 0, 0)
		mb.log.reset(cl.s.Now())
		cl.sh(mb).logSeq++
		cl.sh(mb).rotatedBy = c.backend
		c.logSeq = cl.sh(mb).logSeq
		cl.replaced(c, mb, pageLog)
		cl.renamed(c, mb)
		cl.sh(mb).logCorrupt = false
		return false
	}
	cl.errorAt(ErrTransactionLogCorrupted, 1)
	if c.cmd != workloads.Idle && cl.measuring {
		cl.res.FailedCommands++
		cl.res.IndexFailedCommands++
		cl.noteFailure(c.user, cl.s.Now())
	}
	return true
}

// mainIndexView checks connection c's reading of the main index when it
// opens the mailbox. A session already open brings its view up to date
// from the log alone (mail_index_map tries the log first); an opener reads
// dovecot.index and then the log from where the main index says it ended
// at its last rewrite. If another backend rewrote it, and this backend's
// cached pages of the log miss transactions from before that point (see
// page; another process on the backend holding the log open keeps them),
// the log ends earlier as the reader sees it: "Lost log", and an fsck.
func (cl *cluster) mainIndexView(c *conn, b *backend, mb *mailbox, open bool) {
	if !open {
		return
	}
	cl.mainIndexRead(c, mb)
	owner, folder := cl.mailboxObj(c.target)
	// Pages that hold every completed append are current, even when the
	// main index names a transaction still being written.
	pl := pageNow(cl.page(c.backend, owner, folder, pageLog), mb.idxVer)
	if cl.sh(mb).mainBy >= 0 && cl.sh(mb).mainBy != c.backend && pl < cl.sh(mb).mainLogVer && pl != mb.idxVer && !cl.sh(mb).logCorrupt {
		cl.errorAt(ErrTransactionLogLost, 1)
		cl.fsck(c, b, mb)
	}
}

// expungeRace checks connection c's scan of the Maildir's directories.
// The index records a newer cur/ than the backend's cached attributes of
// the directory, so Dovecot scans it; but while the attributes are still
// fresh the kernel lists the directory from its cached pages
// (listingStale), seen being the version they are from. A message another backend expunged since is listed still: the
// first scan marks it as racing, and a second scan that lists it again
// gives it a new UID (maildir-sync-index.c: "Expunged message reappeared,
// giving a new UID").
func (cl *cluster) expungeRace(c *conn, mb *mailbox, listingStale bool, seen uint16) {
	if !listingStale || cl.sh(mb).expungeBy == c.backend || cl.sh(mb).expungeBy < 0 || int16(seen-uint16(cl.sh(mb).expungeVer)) >= 0 {
		c.racing = false
		return
	}
	if !c.racing {
		c.racing = true
		return
	}
	c.racing = false
	cl.errorAt(ErrExpungedReappeared, 1)
	if cl.measuring {
		cl.res.NewUIDs++
	}
}
