package strategies

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// OwnerProxy is the owner-proxy design: every backend accepts connections
// (a load balancer in front picks one uniformly among those up:
// Decision.Entry), and each user has a static owner backend that serves its
// mailboxes. A connection that lands on another backend is proxied to the
// owner (one extra hop, like Dovecot's proxy_maybe); one that lands on the
// owner is served there.
//
// The owner comes from the user database. mailsim provisions it by
// weighted rendezvous hashing of the user's [UserHash] over all configured
// backends (up or not): deterministic, balanced in proportion to weight,
// and when a backend is added only the users it now wins move to it. The
// user's rendezvous order also names its standby owner.
//
// When the owner is marked down (SetDown, driven by a health monitor),
// FailoverNone fails the user's logins; FailoverStandby sends them to the
// highest-ranked backend that is up.
type OwnerProxy struct {
	backends []Backend
	keys     []uint64
	down     []bool
	rng      *rand.Rand
	failover Failover
	live     []int32
	dirty    bool
}

func newOwnerProxy(backends []Backend, p Params, src rand.Source) (*OwnerProxy, error) {
	o := &OwnerProxy{
		backends: slices.Clone(backends),
		down:     make([]bool, len(backends)),
		rng:      rand.New(src),
		failover: p.Owner.Failover,
		dirty:    true,
	}
	for i, b := range backends {
		if !b.Addr.IsValid() {
			return nil, fmt.Errorf("strategies: backend %d has no address", i)
		}
		if b.Weight < 0 {
			return nil, fmt.Errorf("strategies: backend %s: weight %d is negative", b.Addr, b.Weight)
		}
		for _, x := range backends[:i] {
			if x.Addr == b.Addr {
				return nil, fmt.Errorf("strategies: backend %s configured twice", b.Addr)
			}
		}
		sum := md5.Sum([]byte(ipText(b.Addr)))
		o.keys = append(o.keys, binary.BigEndian.Uint64(sum[:8]))
	}
	return o, nil
}

// Name returns "owner-proxy".
func (o *OwnerProxy) Name() string { return "owner-proxy" }

// SetDown marks a backend down or up for both the entry load balancer and
// owner failover.
func (o *OwnerProxy) SetDown(_ time.Duration, backend int, down bool) {
	if o.down[backend] != down {
		o.down[backend] = down
		o.dirty = true
	}
}

// IsDown reports whether a backend is marked down.
func (o *OwnerProxy) IsDown(backend int) bool { return o.down[backend] }

// Closed does nothing: the entry balancer chooses uniformly.
func (o *OwnerProxy) Closed(Request, int) {}

// Route picks an entry backend and sends the connection on to the user's
// owner (or its standby).
func (o *OwnerProxy) Route(req Request) Decision {
	if o.dirty {
		o.dirty = false
		o.live = o.live[:0]
		for i := range o.backends {
			if !o.down[i] {
				o.live = append(o.live, int32(i))
			}
		}
	}
	d := Decision{Backend: -1, Entry: -1}
	if len(o.live) == 0 {
		return d
	}
	d.Entry = int(o.live[o.rng.IntN(len(o.live))])
	d.Backend = o.Serving(UserHash(req.User))
	if d.Backend >= 0 && d.Backend != d.Entry {
		d.Hops = 1
	}
	return d
}

// Owner returns the owner backend of a user hash: the configured backend
// with the highest weighted rendezvous score, up or not.
func (o *OwnerProxy) Owner(hash uint32) int {
	return o.best(hash, -1, false)
}

// Serving returns the backend that serves a user hash now: its owner, or
// when the owner is down, its standby (FailoverStandby) or -1
// (FailoverNone).
func (o *OwnerProxy) Serving(hash uint32) int {
	owner := o.Owner(hash)
	if owner < 0 || !o.down[owner] {
		return owner
	}
	if o.failover == FailoverNone {
		return -1
	}
	return o.best(hash, owner, true)
}

// best returns the backend with the highest score −w/ln(u) for the user,
// u being a uniform (0,1) variate derived from the user and backend keys,
// skipping backend skip and, if upOnly, backends marked down.
func (o *OwnerProxy) best(hash uint32, skip int, upOnly bool) int {
	best, bestScore := -1, math.Inf(-1)
	for i, b := range o.backends {
		if i == skip || b.Weight == 0 || (upOnly && o.down[i]) {
			continue
		}
		x := mix64(o.keys[i] ^ uint64(hash)*0x9e3779b97f4a7c15)
		u := (float64(x>>11) + 0.5) / (1 << 53)
		if s := -float64(b.Weight) / math.Log(u); s > bestScore {
			best, bestScore = i, s
		}
	}
	return best
}

// mix64 is the splitmix64 finaliser.
func mix64(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	return z ^ z>>31
}
