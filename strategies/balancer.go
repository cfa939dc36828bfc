package strategies

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// balanceKind is the algorithm of an HAProxy-style [Balancer].
type balanceKind uint8

const (
	balanceRandom     balanceKind = iota // balance random
	balanceLeastConn                     // balance leastconn
	balanceSourceMap                     // balance source, hash-type map-based
	balanceSourceCons                    // balance source, hash-type consistent
)

// Balancer is a TCP load balancer in HAProxy's style in front of the
// backends: no proxy hop of its own that the model costs (Hops 0) and no
// TLS termination. It chooses per connection:
//
//   - "random": a weighted random choice among the servers that are up
//     (with Draws > 1, the least loaded of that many draws);
//   - "leastconn": the up server with the fewest connections relative to
//     its weight, ties taken in turn (round robin), as HAProxy does;
//   - "per-ip": balance source with hash-type map-based: the client
//     address is hashed (its 32-bit words XORed, then mixed) and taken
//     modulo the total weight of the up servers, over a table in which each
//     server appears weight times, smoothly interleaved. When the set of up
//     servers changes, most clients move.
//   - "per-ip-consistent": balance source with hash-type consistent: each
//     server has weight × ConsistentPointsPerWeight points on a ring keyed
//     by its position in the configuration (HAProxy's server id); a client
//     goes to the first point at or above its hash. A server going down or
//     up moves only its own clients.
//
// The hash functions are HAProxy-like rather than HAProxy's own, so the
// exact client-to-server mapping differs from a real HAProxy; the
// properties above (smoothness, disruption) are those of the real thing.
// Health comes only from SetDown, which an HAProxy-style [Monitor] drives.
type Balancer struct {
	name     string
	kind     balanceKind
	backends []Backend
	down     []bool
	conns    []int
	rng      *rand.Rand
	draws    int
	ppw      int

	dirty bool
	live  []int32
	sumW  int
	table []int32
	ring  []ringPoint
	rr    int
}

func newBalancer(name string, kind balanceKind, backends []Backend, p Params, src rand.Source) (*Balancer, error) {
	for i, b := range backends {
		if !b.Addr.IsValid() {
			return nil, fmt.Errorf("strategies: backend %d has no address", i)
		}
		if b.Weight < 0 || b.Weight > MaxHAProxyWeight {
			return nil, fmt.Errorf("strategies: backend %s: weight %d is outside HAProxy's 0..%d", b.Addr, b.Weight, MaxHAProxyWeight)
		}
		for _, o := range backends[:i] {
			if o.Addr == b.Addr {
				return nil, fmt.Errorf("strategies: backend %s configured twice", b.Addr)
			}
		}
	}
	return &Balancer{
		name:     name,
		kind:     kind,
		backends: slices.Clone(backends),
		down:     make([]bool, len(backends)),
		conns:    make([]int, len(backends)),
		rng:      rand.New(src),
		draws:    p.HAProxy.Draws,
		ppw:      p.HAProxy.ConsistentPointsPerWeight,
		dirty:    true,
	}, nil
}

// Name returns the strategy's name.
func (b *Balancer) Name() string { return b.name }

// SetDown marks a server down or up, as HAProxy's health checks do.
func (b *Balancer) SetDown(_ time.Duration, backend int, down bool) {
	if b.down[backend] != down {
		b.down[backend] = down
		b.dirty = true
	}
}

// IsDown reports whether a server is marked down.
func (b *Balancer) IsDown(backend int) bool { return b.down[backend] }

// Closed records the end of a connection, for leastconn and random draws.
func (b *Balancer) Closed(_ Request, backend int) {
	if backend >= 0 && b.conns[backend] > 0 {
		b.conns[backend]--
	}
}

// Route picks a server for a new connection.
func (b *Balancer) Route(req Request) Decision {
	d := Decision{Backend: b.pick(req), Entry: -1}
	if d.Backend >= 0 {
		b.conns[d.Backend]++
	}
	return d
}

func (b *Balancer) pick(req Request) int {
	if b.dirty {
		b.rebuild()
	}
	if len(b.live) == 0 {
		return -1
	}
	switch b.kind {
	case balanceRandom:
		best := b.draw()
		for k := 1; k < b.draws; k++ {
			if c := b.draw(); b.lighter(c, best) {
				best = c
			}
		}
		return best
	case balanceLeastConn:
		n := len(b.live)
		best := -1
		for k := 0; k < n; k++ {
			c := int(b.live[(b.rr+k)%n])
			if best < 0 || b.lighter(c, best) {
				best = c
			}
		}
		b.rr = (b.rr + 1) % n
		return best
	case balanceSourceMap:
		return int(b.table[sourceHash(req)%uint32(len(b.table))])
	default:
		i := ringIndex(b.ring, sourceHash(req))
		return int(b.ring[i].backend)
	}
}

// lighter reports whether server a has fewer connections per unit of
// weight than server c.
func (b *Balancer) lighter(a, c int) bool {
	return b.conns[a]*b.backends[c].Weight < b.conns[c]*b.backends[a].Weight
}

// draw returns a server chosen at random in proportion to weight.
func (b *Balancer) draw() int {
	r := b.rng.IntN(b.sumW)
	for _, i := range b.live {
		r -= b.backends[i].Weight
		if r < 0 {
			return int(i)
		}
	}
	return int(b.live[len(b.live)-1])
}

func (b *Balancer) rebuild() {
	b.dirty = false
	b.live = b.live[:0]
	b.sumW = 0
	for i, s := range b.backends {
		if !b.down[i] && s.Weight > 0 {
			b.live = append(b.live, int32(i))
			b.sumW += s.Weight
		}
	}
	if b.rr >= len(b.live) {
		b.rr = 0
	}
	switch b.kind {
	case balanceSourceMap:
		b.table = smoothTable(b.table, b.backends, b.live, b.sumW)
	case balanceSourceCons:
		b.ring = b.ring[:0]
		for _, i := range b.live {
			id := uint32(i) + 1 // HAProxy numbers servers from 1
			for k := 0; k < b.backends[i].Weight*b.ppw; k++ {
				b.ring = append(b.ring, ringPoint{hash: mix32(id<<16 | uint32(k)), backend: i})
			}
		}
		slices.SortFunc(b.ring, func(x, y ringPoint) int {
			if x.hash != y.hash {
				if x.hash < y.hash {
					return -1
				}
				return 1
			}
			return int(x.backend) - int(y.backend)
		})
	}
}

// smoothTable returns a table of sumW slots in which each live server
// appears weight times, spread out by smooth weighted round robin (each
// slot goes to the server with the highest accumulated weight, which then
// gives back the total), like HAProxy's map of servers.
func smoothTable(dst []int32, backends []Backend, live []int32, sumW int) []int32 {
	dst = dst[:0]
	cur := make([]int, len(live))
	for range sumW {
		best := 0
		for k, i := range live {
			cur[k] += backends[i].Weight
			if cur[k] > cur[best] {
				best = k
			}
		}
		cur[best] -= sumW
		dst = append(dst, live[best])
	}
	return dst
}

// sourceHash hashes a client address as HAProxy's balance source does: the
// address's 32-bit words XORed together, then mixed.
func sourceHash(req Request) uint32 {
	a := req.ClientIP.As16()
	var h uint32
	if req.ClientIP.Is4() {
		h = uint32(a[12])<<24 | uint32(a[13])<<16 | uint32(a[14])<<8 | uint32(a[15])
	} else {
		for i := 0; i < 16; i += 4 {
			h ^= uint32(a[i])<<24 | uint32(a[i+1])<<16 | uint32(a[i+2])<<8 | uint32(a[i+3])
		}
	}
	return mix32(h)
}

// mix32 is a 32-bit avalanche finaliser (MurmurHash3's fmix32).
func mix32(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}
