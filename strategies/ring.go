package strategies

import (
	"crypto/md5"
	"encoding/binary"
	"net/netip"
	"slices"
	"strconv"
)

// UserHash returns the 32-bit hash a Dovecot 2.3 director computes for a
// user name with its default director_username_hash = "%Lu": the user name
// lower-cased (ASCII letters only, as Dovecot's str_lcase does), hashed with
// MD5, and the first four digest bytes read most significant first
// (mail-user-hash.c). Users whose hashes collide share one user-table entry
// and one backend.
func UserHash(user string) uint32 {
	var buf [128]byte
	var b []byte
	if len(user) <= len(buf) {
		b = buf[:len(user)]
	} else {
		b = make([]byte, len(user))
	}
	for i := 0; i < len(user); i++ {
		c := user[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	sum := md5.Sum(b)
	return binary.BigEndian.Uint32(sum[:4])
}

// ipText formats addr as the C library's inet_ntop does, which is the text
// a director hashes for a backend's ring points (net_ip2addr). It differs
// from [netip.Addr.String] only for IPv6 addresses whose first 96 bits are
// zero (apart from ::1 and ::), which glibc prints with an embedded IPv4
// part ("::1.2.3.4").
func ipText(addr netip.Addr) string {
	if addr.Is6() && !addr.Is4In6() {
		a := addr.As16()
		zero := true
		for _, x := range a[:12] {
			if x != 0 {
				zero = false
				break
			}
		}
		// glibc prints "::" and "::1" plainly, and an embedded IPv4 part
		// only when the zero run spans exactly the first six words.
		if zero && (a[12] != 0 || a[13] != 0) {
			return "::" + netip.AddrFrom4([4]byte{a[12], a[13], a[14], a[15]}).String()
		}
	}
	return addr.String()
}

// ringPoint is one of a director's virtual hosts: a position on the hash
// ring owned by a backend.
type ringPoint struct {
	hash    uint32
	backend int32
}

// pointHash returns the ring position of a backend's i-th virtual host:
// the first four bytes, most significant first, of MD5 of "<ip>-<i>"
// (mail-host.c, mail_vhost_add).
func pointHash(ip string, i int) uint32 {
	var buf [64]byte
	b := append(buf[:0], ip...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(i), 10)
	sum := md5.Sum(b)
	return binary.BigEndian.Uint32(sum[:4])
}

// buildRing returns the sorted ring of the backends for which live reports
// true: weights[i] points for backend i, ordered by hash and, for equal
// hashes, by backend IP address as Dovecot's net_ip_cmp orders them (IPv4
// before IPv6, then by address bytes). dst is reused when large enough.
func buildRing(dst []ringPoint, backends []Backend, texts []string, weights []int, live func(int) bool) []ringPoint {
	dst = dst[:0]
	for i := range backends {
		if !live(i) {
			continue
		}
		for v := 0; v < weights[i]; v++ {
			dst = append(dst, ringPoint{hash: pointHash(texts[i], v), backend: int32(i)})
		}
	}
	slices.SortFunc(dst, func(a, b ringPoint) int {
		if a.hash != b.hash {
			if a.hash < b.hash {
				return -1
			}
			return 1
		}
		if c := backends[a.backend].Addr.Compare(backends[b.backend].Addr); c != 0 {
			return c
		}
		return int(a.backend) - int(b.backend)
	})
	return dst
}

// ringIndex returns the index of the ring point a director picks for hash:
// the position Dovecot's bsearch_insert_pos finds, wrapped to 0 past the
// end, or -1 for an empty ring. The binary search is reproduced step by
// step because, when hash equals several points' value (two backends'
// points collide), which of them it lands on depends on the midpoints it
// probes, not simply on order.
func ringIndex(ring []ringPoint, hash uint32) int {
	n := len(ring)
	if n == 0 {
		return -1
	}
	idx, left, right := 0, 0, n
	found := false
	for left < right {
		idx = (left + right) / 2
		h := ring[idx].hash
		if h < hash {
			left = idx + 1
		} else if h > hash {
			right = idx
		} else {
			found = true
			break
		}
	}
	if !found && left > idx {
		idx++
	}
	if idx == n {
		idx = 0
	}
	return idx
}
