package model

import (
	"mailsim/model/sim"
	"mailsim/nfsmodel"
)

// attrCache is one backend's NFS attribute cache, kept compactly: the
// attributes of a user's objects (the mail root, and each folder's index
// and new/ directory) sit together in a block, made when the backend
// first touches one of them, and each entry takes 16 bytes. Entries
// behave exactly as an [nfsmodel.AttrCache]'s (see [nfsmodel.Consult]).
type attrCache struct {
	// blocks maps a user to the index in ents of its block's first entry.
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

// entry returns the entry of user u's object obj, making the user's block
// if it has none.
func (c *attrCache) entry(u, obj int32) *attrEntry {
	first, ok := c.blocks[u]
	if !ok {
		first = int32(len(c.ents))
		c.blocks[u] = first
		c.ents = append(c.ents, make([]attrEntry, c.perUser)...)
	}
	return &c.ents[first+obj]
}

// access is [nfsmodel.AttrCache.Access] for user u's object obj.
func (c *attrCache) access(m *nfsmodel.Mount, u, obj int32, version uint32, now sim.Time, dir, force bool) nfsmodel.Lookup {
	e := c.entry(u, obj)
	var a nfsmodel.Attr
	if e.timeout != 0 {
		a = nfsmodel.Attr{Validated: e.validated, Timeout: c.timeouts.of[e.timeout], Version: e.version}
	}
	l, update := nfsmodel.Consult(m, &a, e.timeout != 0, version, now, dir, force)
	if update {
		c.store(e, a)
	}
	return l
}

// wrote is [nfsmodel.AttrCache.Wrote] for user u's object obj.
func (c *attrCache) wrote(m *nfsmodel.Mount, u, obj int32, version uint32, now sim.Time, dir bool) {
	c.store(c.entry(u, obj), nfsmodel.Written(m, version, now, dir))
}

func (c *attrCache) store(e *attrEntry, a nfsmodel.Attr) {
	t := e.timeout
	if t == 0 || c.timeouts.of[t] != a.Timeout {
		t = c.timeouts.index(a.Timeout)
	}
	*e = attrEntry{validated: a.Validated, version: a.Version, timeout: t}
}
