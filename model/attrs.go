package model

import (
	"mailsim/model/sim"
	"mailsim/nfsmodel"
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
	// perUser is the size of a block: the root, then an index and a
	// directory entry per folder.
	perUser int32
	// other holds objects outside the users' blocks (the listing probe's
	// folder).
	other *nfsmodel.AttrCache
	// timeouts interns the attribute timeouts (shared by the backends).
	timeouts *timeouts
}

// attrEntry is one object's cached attributes; timeout 0 means none are
// cached, otherwise the attribute timeout is timeouts.of[timeout].
type attrEntry struct {
	validated sim.Time
	version   uint32
	timeout   uint8
}

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
	return &attrCache{blocks: make(map[int32]int32), perUser: perUser, other: nfsmodel.NewAttrCache(), timeouts: t}
}

// Attribute objects within a user's block.
func rootObj() int32            { return 0 }
func idxObj(folder int32) int32 { return 1 + 2*folder }
func dirObj(folder int32) int32 { return 2 + 2*folder }

// attr returns backend b's attribute entry for user u's object obj,
// making the user's block there if it has none.
func (cl *cluster) attr(b int16, u, obj int32) (*attrCache, *attrEntry) {
	c := cl.backends[b].attrs
	usr := &cl.users[u]
	if usr.attrBackend == b {
		return c, &c.ents[usr.attrBlock+obj]
	}
	first, ok := c.blocks[u]
	if !ok {
		first = int32(len(c.ents))
		c.ents = append(c.ents, make([]attrEntry, c.perUser)...)
		if usr.attrBackend < 0 {
			usr.attrBackend, usr.attrBlock = b, first
		} else {
			c.blocks[u] = first
		}
	}
	return c, &c.ents[first+obj]
}

// attrAccess is [nfsmodel.AttrCache.Access] on backend b for user u's
// object obj.
func (cl *cluster) attrAccess(b int16, u, obj int32, version uint32, now sim.Time, dir, force bool) nfsmodel.Lookup {
	c, e := cl.attr(b, u, obj)
	var a nfsmodel.Attr
	if e.timeout != 0 {
		a = nfsmodel.Attr{Validated: e.validated, Timeout: c.timeouts.of[e.timeout], Version: e.version}
	}
	l, update := nfsmodel.Consult(&cl.cfg.Mount, &a, e.timeout != 0, version, now, dir, force)
	if update {
		c.store(e, a)
	}
	return l
}

// attrWrote is [nfsmodel.AttrCache.Wrote] on backend b for user u's
// object obj.
func (cl *cluster) attrWrote(b int16, u, obj int32, version uint32, now sim.Time, dir bool) {
	c, e := cl.attr(b, u, obj)
	c.store(e, nfsmodel.Written(&cl.cfg.Mount, version, now, dir))
}

func (c *attrCache) store(e *attrEntry, a nfsmodel.Attr) {
	t := e.timeout
	if t == 0 || c.timeouts.of[t] != a.Timeout {
		t = c.timeouts.index(a.Timeout)
	}
	*e = attrEntry{validated: a.Validated, version: a.Version, timeout: t}
}
