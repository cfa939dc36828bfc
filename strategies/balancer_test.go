package strategies

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"
)

func clientIPs(n int) []netip.Addr {
	rng := rand.New(rand.NewPCG(1, 1))
	out := make([]netip.Addr, n)
	for i := range out {
		v := rng.Uint32()
		out[i] = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	return out
}

func TestSourceHashing(t *testing.T) {
	ips := clientIPs(20000)
	for _, tc := range []struct {
		name string
		// fraction of the clients not on the downed server that move when
		// it goes down: map-based moves most, consistent none.
		minOthersMoved, maxOthersMoved float64
		shareTol                       float64
	}{
		{PerIP, 0.5, 1, 0.01},
		{PerIPConsistent, 0, 0, 0.1}, // 16 points per unit of weight: "never very smooth"
	} {
		t.Run(tc.name, func(t *testing.T) {
			bs := testBackends(5, 1)
			bs[4].Weight = 2
			r, err := New(tc.name, bs, Params{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			before := make([]int, len(ips))
			counts := make([]float64, len(bs))
			for i, ip := range ips {
				d := r.Route(Request{ClientIP: ip})
				if d.Hops != 0 || d.Entry != -1 || d.TerminatesTLS {
					t.Fatalf("decision %+v", d)
				}
				before[i] = d.Backend
				counts[d.Backend]++
				// Same client, same server.
				if again := r.Route(Request{ClientIP: ip}).Backend; again != d.Backend {
					t.Fatalf("client %s moved from %d to %d", ip, d.Backend, again)
				}
			}
			for i, c := range counts {
				want := float64(bs[i].Weight) / 6
				if got := c / float64(len(ips)); math.Abs(got-want) > tc.shareTol {
					t.Errorf("server %d share %.3f, want %.3f", i, got, want)
				}
			}
			r.SetDown(0, 2, true)
			others, moved := 0, 0
			for i, ip := range ips {
				b := r.Route(Request{ClientIP: ip}).Backend
				if b == 2 {
					t.Fatalf("client sent to a down server")
				}
				if before[i] != 2 {
					others++
					if b != before[i] {
						moved++
					}
				}
			}
			f := float64(moved) / float64(others)
			if f < tc.minOthersMoved || f > tc.maxOthersMoved {
				t.Errorf("%.3f of the other servers' clients moved, want %.2f..%.2f", f, tc.minOthersMoved, tc.maxOthersMoved)
			}
		})
	}
}

func TestRandomAndLeastConn(t *testing.T) {
	bs := testBackends(3, 1)
	bs[2].Weight = 2
	t.Run("random follows weights", func(t *testing.T) {
		r, _ := New(Random, bs, Params{}, rand.NewPCG(3, 4))
		counts := make([]float64, 3)
		for i := 0; i < 40000; i++ {
			counts[r.Route(Request{}).Backend]++
		}
		for i, want := range []float64{0.25, 0.25, 0.5} {
			if got := counts[i] / 40000; math.Abs(got-want) > 0.01 {
				t.Errorf("server %d share %.3f, want %.2f", i, got, want)
			}
		}
	})
	t.Run("random with two draws takes the lighter", func(t *testing.T) {
		r, _ := New(Random, testBackends(4, 1), Params{HAProxy: HAProxyParams{Draws: 2}}, rand.NewPCG(5, 6))
		counts := make([]int, 4)
		for i := 0; i < 400; i++ {
			counts[r.Route(Request{}).Backend]++
		}
		lo, hi := counts[0], counts[0]
		for _, c := range counts {
			lo, hi = min(lo, c), max(hi, c)
		}
		if hi-lo > 6 {
			t.Errorf("two-choice counts %v spread by %d", counts, hi-lo)
		}
	})
	t.Run("random is reproducible from its source", func(t *testing.T) {
		a, _ := New(Random, bs, Params{}, rand.NewPCG(7, 8))
		b, _ := New(Random, bs, Params{}, rand.NewPCG(7, 8))
		for i := 0; i < 100; i++ {
			if x, y := a.Route(Request{}).Backend, b.Route(Request{}).Backend; x != y {
				t.Fatalf("connection %d: %d vs %d", i, x, y)
			}
		}
	})
	t.Run("leastconn", func(t *testing.T) {
		r, _ := New(LeastConn, bs, Params{}, nil)
		var got []int
		for i := 0; i < 4; i++ {
			got = append(got, r.Route(Request{}).Backend)
		}
		// Weight 2 makes server 2 take two connections for one elsewhere.
		if fmt.Sprint(got) != "[0 1 2 2]" {
			t.Errorf("first four connections went to %v", got)
		}
		r.Closed(Request{}, 1)
		if b := r.Route(Request{}).Backend; b != 1 {
			t.Errorf("after a close on 1 the next connection went to %d", b)
		}
		r.SetDown(0, 0, true)
		for i := 0; i < 10; i++ {
			if b := r.Route(Request{}).Backend; b == 0 {
				t.Fatal("connection sent to a down server")
			}
		}
	})
	t.Run("nothing up", func(t *testing.T) {
		for _, name := range []string{Random, LeastConn, PerIP, PerIPConsistent} {
			r, _ := New(name, testBackends(2, 1), Params{}, nil)
			r.SetDown(0, 0, true)
			r.SetDown(0, 1, true)
			if d := r.Route(Request{ClientIP: netip.MustParseAddr("192.0.2.1")}); d.Backend != -1 {
				t.Errorf("%s: routed to %d with every server down", name, d.Backend)
			}
		}
	})
}

func TestOwnerProxy(t *testing.T) {
	bs := testBackends(4, 1)
	users := make([]string, 8000)
	for i := range users {
		users[i] = fmt.Sprintf("user%d", i)
	}
	for _, tc := range []struct {
		failover Failover
	}{{FailoverNone}, {FailoverStandby}} {
		t.Run(tc.failover.String(), func(t *testing.T) {
			r, err := New(OwnerProxyName, bs, Params{Owner: OwnerParams{Failover: tc.failover}}, rand.NewPCG(1, 2))
			if err != nil {
				t.Fatal(err)
			}
			o := r.(*OwnerProxy)
			counts := make([]float64, 4)
			owners := make([]int, len(users))
			local := 0
			for i, u := range users {
				d := r.Route(Request{User: u})
				owners[i] = d.Backend
				counts[d.Backend]++
				if d.Backend != o.Owner(UserHash(u)) {
					t.Fatalf("%s served by %d, owner %d", u, d.Backend, o.Owner(UserHash(u)))
				}
				if (d.Entry == d.Backend) != (d.Hops == 0) {
					t.Fatalf("decision %+v", d)
				}
				if d.Hops == 0 {
					local++
				}
			}
			for i, c := range counts {
				if got := c / float64(len(users)); math.Abs(got-0.25) > 0.02 {
					t.Errorf("backend %d owns %.3f of users", i, got)
				}
			}
			if f := float64(local) / float64(len(users)); math.Abs(f-0.25) > 0.03 {
				t.Errorf("%.3f of connections landed on the owner, want about 1/4", f)
			}
			r.SetDown(0, 1, true)
			for i, u := range users {
				d := r.Route(Request{User: u})
				if d.Entry == 1 {
					t.Fatal("entry balancer chose a down backend")
				}
				switch {
				case owners[i] != 1 && d.Backend != owners[i]:
					t.Fatalf("%s moved from %d to %d though its owner is up", u, owners[i], d.Backend)
				case owners[i] == 1 && tc.failover == FailoverNone && d.Backend != -1:
					t.Fatalf("%s served by %d with its owner down and no failover", u, d.Backend)
				case owners[i] == 1 && tc.failover == FailoverStandby && (d.Backend < 0 || d.Backend == 1):
					t.Fatalf("%s served by %d with its owner down and a standby", u, d.Backend)
				}
			}
		})
	}
}
