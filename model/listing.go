package model

import (
	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
)

// ListingProbe lists a large Maildir folder from backend 0 at a fixed
// interval and stats every entry, as ls -l, a Maildir quota scan or an
// index rebuild that checks file sizes does. It measures how long such a
// listing takes under the run's mount options and NFS server load; its
// calls queue at the server like everyone else's.
type ListingProbe struct {
	// Entries is the folder's size; 0 turns the probe off.
	Entries int
	// Interval is the time between listings.
	Interval sim.Time
}

// probeDev marks the listing probe's connections.
const probeDev = -3

// listingKey is the attribute-cache object standing for the probe
// folder's entries, which are fetched together.
const listingKey = 1<<62 | 3

// listing starts one listing and schedules the next.
func (cl *cluster) listing() {
	cl.s.After(cl.cfg.Listing.Interval, evListing, 0, 0)
	id := cl.allocConn()
	c := &cl.conns[id]
	*c = conn{dev: probeDev, user: 0, backend: 0, entry: -1, selected: -1, nextFree: -1, gen: c.gen + 1}
	c.start = cl.s.Now()
	cl.takeOps(c)
	n := int32(cl.cfg.Listing.Entries)
	m := &cl.cfg.Mount
	b := &cl.backends[0]
	cl.readdirAs(c, n, true)
	// READDIRPLUS returns every entry's attributes with the listing; they
	// serve the stat calls while the attribute cache keeps them. Without
	// them (nordirplus), or with no attribute cache, every stat is a
	// GETATTR, and with lookupcache=none a LOOKUP as well.
	plus := !m.Nordirplus
	l := b.attrs.other.Access(m, listingKey, 0, cl.s.Now(), false, false)
	fresh := !m.Noac && m.Acregmin > 0 && (plus || !l.Revalidate)
	if plus && fresh {
		b.attrs.other.Wrote(m, listingKey, 0, cl.s.Now(), false)
	}
	if !fresh {
		for range n {
			if m.Lookupcache == nfsmodel.LookupNone {
				cl.call(c, nfsmodel.LOOKUP, 0, 0)
			}
			cl.call(c, nfsmodel.GETATTR, 0, 0)
		}
	}
	cl.advance(id, c)
}
