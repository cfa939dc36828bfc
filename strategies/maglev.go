package strategies

import (
	"crypto/md5"
	"encoding/binary"
)

// buildMaglev fills a Maglev lookup table of prime size m (Eisenbud et al.,
// "Maglev: A Fast and Reliable Software Network Load Balancer", NSDI 2016)
// with the backends for which live is true, and returns it.
//
// Backend i's preference list is the permutation (offset + j·skip) mod m,
// where offset and skip come from the MD5 of its IP text (first and second
// 8 bytes): offset = h1 mod m, skip = h2 mod (m−1) + 1. Backends take turns
// claiming the next free entry of their list; a backend's turns per round
// are proportional to its weight (accumulated weight/maxWeight credits), so
// shares follow weights. An entry holds the backend's index.
func buildMaglev(dst []int32, m int, texts []string, weights []int, live func(int) bool) []int32 {
	type perm struct {
		backend      int32
		offset, skip uint64
		next         uint64
		credit       float64
		step         float64
	}
	var perms []perm
	maxW := 0
	for i := range texts {
		if live(i) && weights[i] > maxW {
			maxW = weights[i]
		}
	}
	for i, t := range texts {
		if !live(i) {
			continue
		}
		sum := md5.Sum([]byte(t))
		h1 := binary.BigEndian.Uint64(sum[:8])
		h2 := binary.BigEndian.Uint64(sum[8:])
		perms = append(perms, perm{
			backend: int32(i),
			offset:  h1 % uint64(m),
			skip:    h2%uint64(m-1) + 1,
			step:    float64(weights[i]) / float64(maxW),
		})
	}
	if cap(dst) >= m {
		dst = dst[:m]
	} else {
		dst = make([]int32, m)
	}
	for i := range dst {
		dst[i] = -1
	}
	if len(perms) == 0 {
		return dst
	}
	filled := 0
	for filled < m {
		for k := range perms {
			p := &perms[k]
			p.credit += p.step
			for p.credit >= 1 && filled < m {
				p.credit--
				for {
					c := (p.offset + p.next*p.skip) % uint64(m)
					p.next++
					if dst[c] < 0 {
						dst[c] = p.backend
						filled++
						break
					}
				}
			}
		}
	}
	return dst
}
