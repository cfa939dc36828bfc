package strategies

import (
	"flag"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"testing"
)

var findRingCases = flag.Bool("find-ring-cases", false, "search for the pinned ring edge cases (user hash equal to a point, colliding points) and print them")

// TestFindRingCases searches for the edge cases pinned in
// TestDirectorEdgeCases. It runs only with -find-ring-cases (it takes a
// few seconds of CPU) and prints what it finds.
func TestFindRingCases(t *testing.T) {
	if !*findRingCases {
		t.Skip("run with -find-ring-cases")
	}
	// Ring points of many IPs, sorted by hash.
	type pt struct {
		hash uint32
		ip   netip.Addr
		i    int
	}
	var pts []pt
	for a := 0; a < 80; a++ {
		for b := 1; b < 255; b++ {
			ip := netip.AddrFrom4([4]byte{10, 20, byte(a), byte(b)})
			for i := 0; i < 100; i++ {
				pts = append(pts, pt{pointHash(ip.String(), i), ip, i})
			}
		}
	}
	slices.SortFunc(pts, func(x, y pt) int {
		if x.hash < y.hash {
			return -1
		} else if x.hash > y.hash {
			return 1
		}
		return 0
	})
	// Collisions between two IPs' points.
	collided := map[uint32][2]pt{}
	for k := 1; k < len(pts); k++ {
		if pts[k].hash == pts[k-1].hash && pts[k].ip != pts[k-1].ip {
			collided[pts[k].hash] = [2]pt{pts[k-1], pts[k]}
		}
	}
	t.Logf("%d points, %d colliding pairs", len(pts), len(collided))
	keys := slices.Sorted(maps.Keys(collided))
	for _, h := range keys[:min(3, len(keys))] {
		c := collided[h]
		t.Logf("collision %d: %s-%d and %s-%d", h, c[0].ip, c[0].i, c[1].ip, c[1].i)
	}
	// Users whose hash equals some point, and users whose hash equals a
	// collided point.
	exact := 0
	for u := 0; u < 40_000_000; u++ {
		name := fmt.Sprintf("u%d", u)
		h := UserHash(name)
		if c, ok := collided[h]; ok {
			t.Logf("user %q hash %d equals collided points %s-%d and %s-%d", name, h, c[0].ip, c[0].i, c[1].ip, c[1].i)
			break
		}
		if exact < 3 && u < 1_000_000 {
			k, found := slices.BinarySearchFunc(pts, h, func(p pt, h uint32) int {
				if p.hash < h {
					return -1
				} else if p.hash > h {
					return 1
				}
				return 0
			})
			if found {
				exact++
				t.Logf("user %q hash %d equals point %s-%d", name, h, pts[k].ip, pts[k].i)
			}
		}
	}
}
