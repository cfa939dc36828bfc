package model

import (
	"math"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
)

// attrCache is one backend's NFS attribute cache, kept compactly: the
// attributes of a user's objects (the mail root, and each folder's index
// and new/ directory) sit together in a block, made when the backend
// first touches one of them, and each entry takes 16 bytes. The block of
// the first backend a user touches is found from the user (see
// [cluster.attr]); others are in the backend's blocks map. Entries behave
// exactly as an [nfsmodel.AttrCache]'s (see [nfsmodel.Consult]).
type attrCache struct {
	// blocks maps a user to the index in ents of its block's first entry,
	// unless the user's home attribute backend is this one.
	blocks map[int32]int32
	ents   []attrEntry
	// perUser is the size of a block: the root, then objsPerFolder
	// entries per folder.
	perUser int32
	// other holds objects outside the users' blocks (the listing probe's
	// folder).
	other *nfsmodel.AttrCache
	// timeouts interns the attribute timeouts (shared by the backends).
	timeouts *timeouts
	// pages holds what the backend's page cache holds of each folder's
	// files (see page), numPageFiles versions per folder, for the users
	// more than one backend has touched; pageAt maps such a user's block
	// (its first entry's index) to its first version.
	pages  []uint32
	pageAt map[int32]int32
	// local holds, for indexes on each backend's disk, the version of
	// each folder's index the backend has (see localIndex), parallel to
	// ents; empty otherwise.
	local []uint32
}

// attrEntry is one object's cached attributes, in 8 bytes; timeout 0
// means none are cached, otherwise the attribute timeout is
// timeouts.of[timeout]. The validation time is kept in units of
// attrTick (the kernel keeps it in jiffies, 4 ms at its default HZ of
// 250), which cover the longest run a spec may ask for, and the version in
// 16 bits: an object would have to change 65,536 times between two looks
// for a change to go unnoticed. expired marks attributes the kernel no
// longer trusts (see relookup).
type attrEntry struct {
	validated uint32 // in attrTick
	version   uint16
	timeout   uint8
	expired   bool
}

// attrTick is the unit of attrEntry.validated: 2^32 ticks are 397 days,
// longer than any run (experiments' limit is a year).
const attrTick = 8 * sim.Millisecond

// timeouts interns attribute timeouts: a run sees only a few distinct ones
// (the minimum doubled until it reaches the maximum, for files and for
// directories), so that an entry can name its timeout in a byte.
type timeouts struct {
	of []sim.Time // of[0] is unused: 0 marks an empty entry
}

func (t *timeouts) index(v sim.Time) uint8 {
	for i := 1; i < len(t.of); i++ {
		if t.of[i] == v {
			return uint8(i)
		}
	}
	if len(t.of) == 256 {
		// One mount gives at most 2·64 distinct timeouts.
		panic("model: more than 255 distinct attribute timeouts")
	}
	t.of = append(t.of, v)
	return uint8(len(t.of) - 1)
}

func newAttrCache(perUser int32, t *timeouts) *attrCache {
	return &attrCache{blocks: make(map[int32]int32), pageAt: make(map[int32]int32), perUser: perUser, other: nfsmodel.NewAttrCache(), timeouts: t}
}

// Attribute objects within a user's block: the mail root, then per
// folder its dovecot.index.log, its Maildir new/ directory, the folder's
// own directory (whose entries name the index files and the uidlist) and
// dovecot-uidlist.
func rootObj() int32                  { return 0 }
func idxObj(folder int32) int32       { return 1 + objsPerFolder*folder }
func dirObj(folder int32) int32       { return 2 + objsPerFolder*folder }
func folderDirObj(folder int32) int32 { return 3 + objsPerFolder*folder }
func uidObj(folder int32) int32       { return 4 + objsPerFolder*folder }

// objsPerFolder is the number of attribute objects per folder.
const objsPerFolder = 4

// attr returns backend b's attribute entry for user u's object obj,
// making the user's block there if it has none.
func (cl *cluster) attr(b int16, u, obj int32) (*attrCache, *attrEntry) {
	c, first := cl.block(b, u)
	return c, &c.ents[first+obj]
}

// block returns backend b's attribute cache and the index of user u's
// block in it, making the block if there is none: a backend that never
// touched the user's files has nothing of them cached, so its pages are
// as current as the files.
func (cl *cluster) block(b int16, u int32) (*attrCache, int32) {
	c := cl.backends[b].attrs
	usr := &cl.users[u]
	if usr.attrBackend == b {
		return c, usr.attrBlock
	}
	first, ok := c.blocks[u]
	if !ok {
		first = int32(len(c.ents))
		c.ents = append(c.ents, make([]attrEntry, c.perUser)...)
		if usr.attrBackend < 0 {
			usr.attrBackend, usr.attrBlock = b, first
		} else {
			c.blocks[u] = first
			if !usr.has(sharedFiles) {
				cl.startSharing(u)
			}
		}
	}
	return c, first
}

// Files whose pages a backend caches, in a folder's entry of
// attrCache.pages.
const (
	pageLog    = iota // dovecot.index.log (version: mailbox.idxVer)
	pageCache         // dovecot.index.cache (mailbox.cacheVer)
	pageUid           // dovecot-uidlist: the size up to which they are current (mailbox.uidBytes)
	pageUidGap        // dovecot-uidlist: where the backend's own lines follow a region it holds as zeros (0: they do not)
	numPageFiles
)

// page returns the version of file kind of user u's folder that backend
// b's page cache holds. Linux's NFS client does not drop a file's cached
// pages when it sees that another client changed the file while a
// process of its own has the file open for writing ("Could it be a race
// with writeback?", fs/nfs/inode.c, nfs_update_inode): the invalidation
// waits until the last writer closes it (NFS_INO_DATA_INVAL_DEFER). Dovecot
// keeps its index files and dovecot-uidlist open read-write for as long as
// a mailbox is open, so a backend serving the user reads the region
// another backend appended from pages cached before: the zeros past the
// old end of the file, or old data. Only an fcntl lock on the file
// (do_setlk invalidates the caches unconditionally), or a first open with
// nobody else on the backend holding the file, shows it the file as it is.
//
// While a single backend has touched a user, its pages are current by
// construction (it wrote all there is): they are only kept from the
// moment a second backend touches the user, starting from current.
func (cl *cluster) page(b int16, u, folder int32, kind int) *uint32 {
	c, first := cl.block(b, u)
	usr := &cl.users[u]
	if usr.attrBackend == b && !usr.has(sharedFiles) || cl.coherent() {
		// On coherent storage a backend's pages are current whenever it
		// reads them: the lock manager took them away when another node
		// changed the file.
		cl.scratch[kind] = cl.pageTruth(u, folder, kind)
		return &cl.scratch[kind]
	}
	at, ok := c.pageAt[first]
	if !ok {
		at = int32(len(c.pages))
		for f := range cl.mboxPerUser {
			for k := range numPageFiles {
				c.pages = append(c.pages, cl.pageTruth(u, f, k))
			}
		}
		c.pageAt[first] = at
	}
	return &c.pages[at+numPageFiles*folder+int32(kind)]
}

// noPages marks a page entry of a backend that has nothing cached of the
// file now under the name (another backend replaced it): whatever it reads
// next comes from the server (see pageNow).
const noPages = math.MaxUint32

// pageNow returns the version the pages at p hold, truth being the file's
// current one: a backend with nothing cached reads the file as it is.
func pageNow(p *uint32, truth uint32) uint32 {
	if *p == noPages {
		*p = truth
	}
	return *p
}

// replaced records that connection c's backend replaced file kind of the
// folder of mailbox mb (a new file under the name): it holds what it
// wrote, every other backend that holds pages of the user's files has
// nothing cached of the new one.
func (cl *cluster) replaced(c *conn, mb *mailbox, kind int) {
	owner, folder := cl.mailboxObj(c.target)
	if !cl.users[owner].has(sharedFiles) {
		return
	}
	for b := range cl.backends {
		at, ok := cl.pagesOf(int16(b), owner)
		if !ok {
			continue
		}
		pages := cl.backends[b].attrs.pages
		i := at + numPageFiles*folder
		switch {
		case int16(b) == c.backend:
			pages[i+int32(kind)] = cl.pageTruth(owner, folder, kind)
			if kind == pageUid {
				pages[i+pageUidGap] = 0
			}
		default:
			pages[i+int32(kind)] = noPages
			if kind == pageUid {
				pages[i+pageUidGap] = 0
			}
		}
	}
}

// pagesOf returns where backend b keeps user u's page entries, if it has
// any.
func (cl *cluster) pagesOf(b int16, u int32) (int32, bool) {
	c := cl.backends[b].attrs
	usr := &cl.users[u]
	first := usr.attrBlock
	if usr.attrBackend != b {
		f, ok := c.blocks[u]
		if !ok {
			return 0, false
		}
		first = f
	}
	at, ok := c.pageAt[first]
	return at, ok
}

// pageTruth is the version of file kind of user u's folder that current
// pages hold.
func (cl *cluster) pageTruth(u, folder int32, kind int) uint32 {
	mb := &cl.mboxes[cl.firstMailbox(u)+folder]
	switch kind {
	case pageLog:
		return mb.idxVer
	case pageCache:
		return cl.sh(mb).cacheVer
	case pageUid:
		return cl.sh(mb).uidBytes
	}
	return 0
}

// attrAccess is [nfsmodel.AttrCache.Access] on backend b for user u's
// object obj.
func (cl *cluster) attrAccess(b int16, u, obj int32, version uint32, now sim.Time, dir, force bool) nfsmodel.Lookup {
	c, e := cl.attr(b, u, obj)
	if cl.coherent() {
		return cl.coherentAccess(c, e, b, u, obj, version)
	}
	var a nfsmodel.Attr
	if e.timeout != 0 {
		a = nfsmodel.Attr{Validated: sim.Time(e.validated) * attrTick, Timeout: c.timeouts.of[e.timeout], Version: uint32(e.version)}
		if e.expired {
			a.Validated = expired
		}
	}
	l, update := nfsmodel.Consult(&cl.cfg.Mount, &a, e.timeout != 0, uint32(uint16(version)), now, dir, force)
	if update {
		c.store(e, a)
	}
	return l
}

// attrWrote is [nfsmodel.AttrCache.Wrote] on backend b for user u's
// object obj.
func (cl *cluster) attrWrote(b int16, u, obj int32, version uint32, now sim.Time, dir bool) {
	c, e := cl.attr(b, u, obj)
	if cl.coherent() {
		c.store(e, nfsmodel.Attr{Timeout: sim.Never, Version: version})
		return
	}
	c.store(e, nfsmodel.Written(&cl.cfg.Mount, version, now, dir))
}

func (c *attrCache) store(e *attrEntry, a nfsmodel.Attr) {
	t := e.timeout
	if t == 0 || c.timeouts.of[t] != a.Timeout {
		t = c.timeouts.index(a.Timeout)
	}
	*e = attrEntry{validated: uint32(a.Validated / attrTick), version: uint16(a.Version), timeout: t}
}
