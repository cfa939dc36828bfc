package nfsmodel

import "github.com/mailsim/mailsim/model/sim"

// Attr is one file's or directory's cached attributes on one NFS client.
type Attr struct {
	// Validated is when the attributes were last fetched from the server.
	Validated sim.Time
	// Timeout is the current attribute cache time (attrtimeo).
	Timeout sim.Time
	// Version is the change the client saw when it last fetched.
	Version uint32
}

// AttrCache is one NFS client's attribute cache, sparse: it holds only the
// objects the client touched. Keys are model-assigned object IDs.
type AttrCache struct {
	m map[uint64]Attr
}

// NewAttrCache returns an empty cache.
func NewAttrCache() *AttrCache { return &AttrCache{m: make(map[uint64]Attr)} }

// Len returns the number of objects with cached attributes.
func (c *AttrCache) Len() int { return len(c.m) }

// Lookup is the outcome of consulting the attribute cache.
type Lookup struct {
	// Revalidate is true when the client must send a GETATTR.
	Revalidate bool
	// Stale is true when the client used cached attributes although the
	// object had changed on the server since they were fetched.
	Stale bool
	// Changed is true when a revalidation found a change (the client must
	// then re-read the data).
	Changed bool
	// Miss is true when the client had no attributes cached at all.
	Miss bool
}

// Access consults the cache for object id whose current version on the
// server is version, at time now. dir selects the acdir* bounds. force
// makes the client revalidate whatever the cache says (close-to-open on
// open, or a Dovecot cache flush). It updates the entry the way Linux's
// nfs_update_inode does: a revalidation that finds a change resets the
// timeout to the minimum; one that finds none after the previous window
// has passed doubles it up to the maximum.
func (c *AttrCache) Access(m *Mount, id uint64, version uint32, now sim.Time, dir, force bool) Lookup {
	a, ok := c.m[id]
	l, update := Consult(m, &a, ok, version, now, dir, force)
	if update {
		c.m[id] = a
	}
	return l
}

// Consult is [AttrCache.Access] for attributes kept elsewhere, for callers
// that store them more compactly than an AttrCache: a holds the object's
// cached attributes if cached is true. Consult returns the outcome, and
// whether it changed *a, which the caller must then store (as cached).
func Consult(m *Mount, a *Attr, cached bool, version uint32, now sim.Time, dir, force bool) (Lookup, bool) {
	lo, hi := m.Acregmin, m.Acregmax
	if dir {
		lo, hi = m.Acdirmin, m.Acdirmax
	}
	if m.Noac {
		lo, hi = 0, 0
	}
	if cached && !force && now-a.Validated < a.Timeout {
		return Lookup{Stale: a.Version != version}, false
	}
	l := Lookup{Revalidate: true}
	switch {
	case !cached:
		l.Miss = true
		*a = Attr{Timeout: lo}
	case a.Version != version:
		l.Changed = true
		a.Timeout = lo
	case now-a.Validated >= a.Timeout:
		a.Timeout = min(max(2*a.Timeout, lo), hi)
	}
	a.Validated, a.Version = now, version
	return l, true
}

// Wrote records that this client itself changed object id to version: its
// own writes never make its cache stale. The attribute timeout restarts
// from the minimum, as a change does.
func (c *AttrCache) Wrote(m *Mount, id uint64, version uint32, now sim.Time, dir bool) {
	c.m[id] = Written(m, version, now, dir)
}

// Written returns the attributes [AttrCache.Wrote] stores for an object the
// client itself changed to version at time now.
func Written(m *Mount, version uint32, now sim.Time, dir bool) Attr {
	lo := m.Acregmin
	if dir {
		lo = m.Acdirmin
	}
	if m.Noac {
		lo = 0
	}
	return Attr{Validated: now, Timeout: lo, Version: version}
}

// Forget drops object id from the cache (a Dovecot attribute-cache flush).
func (c *AttrCache) Forget(id uint64) { delete(c.m, id) }
