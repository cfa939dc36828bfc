package strategies

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
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
//   - "per-ip": balance source with the default hash-type map-based. The
//     client address (an IPv4 address as one 32-bit number, an IPv6 address
//     as the XOR of its four 32-bit words; backend.c, get_server_sh) is
//     taken, without any mixing, modulo the total weight of the up servers
//     (weights divided by their greatest common divisor) and indexes a table
//     in which each up server appears weight times, interleaved as
//     lb_map.c's recalc_server_map builds it. When the set of up servers
//     changes, most clients move.
//   - "per-ip-consistent": balance source with hash-type consistent: the
//     same address key goes through HAProxy's avalanche mixer (full_hash,
//     include/haproxy/intops.h, on by default for consistent hashing), and
//     each up server has weight × 16 points on a tree, point j of the server
//     with id n (its position in the configuration, from 1) being
//     full_hash(n·4096 + j); the client goes to the nearer of the points on
//     either side of its key, the lower one on a tie (lb_chash.c,
//     chash_get_server_hash). A server going down removes its points, so
//     only its own clients move.
//
// These are HAProxy's own functions, not look-alikes: the client-to-server
// mapping is the one a real HAProxy gives for the same server list with no
// explicit server ids, as checked against the live routing of HAProxy 2.6
// for both hash types, with servers down and with unequal weights. With a
// single usable server HAProxy does not hash at all (key 0), which changes
// nothing. Not modelled: backup servers, slow start, runtime weight
// changes, hash-balance-factor and the redispatch rule that avoids the
// previous server. Note that HAProxy 3.0.0 to 3.2.x computed the point keys
// as full_hash(full_hash(n)+j) by mistake, so those releases place clients
// differently; 3.3.0 restored the formula used here, which is that of
// 2.x (lb_chash.c, chash_init_server_tree). A ConsistentPointsPerWeight
// other than its default of 16 (HAProxy's BE_WEIGHT_SCALE) departs from
// HAProxy.
//
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
	gcd      int

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
		if kind == balanceSourceCons && b.Weight*p.HAProxy.ConsistentPointsPerWeight > haproxyPointRange {
			return nil, fmt.Errorf("strategies: backend %s: weight %d × %d points per weight exceeds HAProxy's %d points per server",
				b.Addr, b.Weight, p.HAProxy.ConsistentPointsPerWeight, haproxyPointRange)
		}
	}
	g := 0
	for _, b := range backends {
		g = gcd(g, b.Weight)
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
		gcd:      max(g, 1),
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
		return int(b.table[b.sourceKey(req.ClientIP, false)%uint32(len(b.table))])
	default:
		return int(b.ring[nearestPoint(b.ring, b.sourceKey(req.ClientIP, true))].backend)
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
		b.table = serverMap(b.table, b.backends, b.live, b.gcd)
	case balanceSourceCons:
		b.ring = b.ring[:0]
		for _, i := range b.live {
			id := uint32(i) + 1 // HAProxy numbers servers from 1 in configuration order
			for j := 0; j < b.backends[i].Weight*b.ppw; j++ {
				b.ring = append(b.ring, ringPoint{hash: fullHash(id*haproxyPointRange + uint32(j)), backend: i})
			}
		}
		// Equal keys keep the order they were added in, as HAProxy's tree
		// does; none occur among a few servers' points.
		slices.SortStableFunc(b.ring, func(x, y ringPoint) int {
			switch {
			case x.hash < y.hash:
				return -1
			case x.hash > y.hash:
				return 1
			}
			return 0
		})
	}
}

// haproxyPointRange is HAProxy's SRV_EWGHT_RANGE (its maximum server weight
// 256 times BE_WEIGHT_SCALE 16): the stride between two servers' point
// numbers in the consistent-hash tree.
const haproxyPointRange = 4096

// serverMap returns HAProxy's map-based table over the live servers
// (lb_map.c, recalc_server_map): with each weight divided by g, the table
// has one slot per unit of total weight tot. For every slot, each live
// server's score grows by its weight; the slot goes to the first server, in
// configuration order, with the largest (score+tot)/tot, whose score then
// drops by tot. Comparing that quotient rather than the score itself
// favours earlier servers more than smooth weighted round robin does.
func serverMap(dst []int32, backends []Backend, live []int32, g int) []int32 {
	dst = dst[:0]
	tot := 0
	for _, i := range live {
		tot += backends[i].Weight / g
	}
	score := make([]int, len(live))
	for range tot {
		best, bestV := -1, 0
		for k, i := range live {
			score[k] += backends[i].Weight / g
			if v := (score[k] + tot) / tot; best < 0 || v > bestV {
				best, bestV = k, v
			}
		}
		score[best] -= tot
		dst = append(dst, live[best])
	}
	return dst
}

// nearestPoint returns the index of the point HAProxy's consistent hashing
// picks for key on a non-empty ring sorted by hash (lb_chash.c,
// chash_get_server_hash): of the first point at or above key (wrapping to
// the first point) and the point before it (wrapping to the last), the one
// nearer to key, measured modulo 2^32, the earlier one on a tie.
func nearestPoint(ring []ringPoint, key uint32) int {
	n := len(ring)
	next, _ := slices.BinarySearchFunc(ring, key, func(p ringPoint, k uint32) int {
		switch {
		case p.hash < k:
			return -1
		case p.hash > k:
			return 1
		}
		return 0
	})
	if next == n {
		next = 0
	}
	prev := next - 1
	if prev < 0 {
		prev = n - 1
	}
	if key-ring[prev].hash <= ring[next].hash-key {
		return prev
	}
	return next
}

// sourceKey returns the key HAProxy's balance source computes for a client
// address (backend.c, get_server_sh): 0 when a single server is usable;
// otherwise an IPv4 address read as a big-endian 32-bit number, or for
// IPv6 (including IPv4-mapped addresses) its four big-endian 32-bit words
// XORed together; then, if avalanche is set (the default of hash-type
// consistent), mixed by [fullHash].
func (b *Balancer) sourceKey(addr netip.Addr, avalanche bool) uint32 {
	if len(b.live) == 1 {
		return 0
	}
	h := addrKey(addr)
	if avalanche {
		h = fullHash(h)
	}
	return h
}

// addrKey folds an address into 32 bits as get_server_sh does.
func addrKey(addr netip.Addr) uint32 {
	a := addr.As16()
	if addr.Is4() {
		return binary.BigEndian.Uint32(a[12:])
	}
	var h uint32
	for i := 0; i < 16; i += 4 {
		h ^= binary.BigEndian.Uint32(a[i:])
	}
	return h
}

// fullHash is HAProxy's full_hash (include/haproxy/intops.h): Bob Jenkins'
// six-step 32-bit integer hash followed by a multiplication by 3221225473,
// all modulo 2^32.
func fullHash(a uint32) uint32 {
	a = a + 0x7ed55d16 + a<<12
	a = a ^ 0xc761c23c ^ a>>19
	a = a + 0x165667b1 + a<<5
	a = (a + 0xd3a2646c) ^ a<<9
	a = a + 0xfd7046c5 + a<<3
	a = a ^ 0xb55a4f09 ^ a>>16
	return a * 3221225473
}

// gcd returns the greatest common divisor of a and b (gcd(0, b) = b).
func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
