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

// TestHAProxySourceVectors holds per-ip and per-ip-consistent to the
// servers a real HAProxy 2.6 chose for the same clients with balance
// source: four servers s1..s4 (ids 1..4 in configuration order), with and
// without s2 down, equal and unequal weights, IPv4 and IPv6 clients.
func TestHAProxySourceVectors(t *testing.T) {
	seq := func(prefix string, from, to int) []string {
		var out []string
		for i := from; i <= to; i++ {
			out = append(out, fmt.Sprintf("%s%d", prefix, i))
		}
		return out
	}
	v4 := seq("198.51.100.", 1, 16)
	tests := []struct {
		name     string
		strategy string
		weights  []int
		down     int // index of the server marked down, or -1
		clients  []string
		want     string // servers, 1-based, one per client
	}{
		{"consistent", PerIPConsistent, []int{1, 1, 1, 1}, -1, v4, "4111131312134424"},
		{"consistent s2 down", PerIPConsistent, []int{1, 1, 1, 1}, 1, v4, "4111131314134434"},
		{"map", PerIP, []int{1, 1, 1, 1}, -1, v4, "2341234123412341"},
		{"map s2 down", PerIP, []int{1, 1, 1, 1}, 1, v4[:5], "41341"},
		{"consistent weights 1,2,3,1", PerIPConsistent, []int{1, 2, 3, 1}, -1, v4, "3311131312133224"},
		{"map weights 1,2,3,1", PerIP, []int{1, 2, 3, 1}, -1, v4, "2323341232334123"},
		{"consistent IPv6", PerIPConsistent, []int{1, 1, 1, 1}, -1, seq("2001:db8::", 1, 3), "134"},
		{"map IPv6", PerIP, []int{1, 1, 1, 1}, -1, seq("2001:db8::", 1, 3), "234"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bs := make([]Backend, len(tc.weights))
			for i, w := range tc.weights {
				bs[i] = Backend{Addr: netip.AddrFrom4([4]byte{10, 77, 0, byte(i + 1)}), Weight: w}
			}
			r, err := New(tc.strategy, bs, Params{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.down >= 0 {
				r.SetDown(0, tc.down, true)
			}
			if len(tc.want) != len(tc.clients) {
				t.Fatalf("%d clients, %d answers", len(tc.clients), len(tc.want))
			}
			for i, c := range tc.clients {
				got := r.Route(Request{ClientIP: netip.MustParseAddr(c)}).Backend + 1
				if want := int(tc.want[i] - '0'); got != want {
					t.Errorf("%s: s%d, HAProxy chose s%d", c, got, want)
				}
			}
		})
	}
}

func TestFullHash(t *testing.T) {
	// include/haproxy/intops.h full_hash of the keys of 198.51.100.1..5.
	for in, want := range map[uint32]uint32{
		0xc6336401: 0xa0ec88e3,
		0xc6336402: 0xdf88d0c4,
		0xc6336403: 0x3e45d5e0,
		0xc6336404: 0x5ce29dc0,
		0xc6336405: 0x6412aa09,
	} {
		if got := fullHash(in); got != want {
			t.Errorf("fullHash(%#x) = %#x, want %#x", in, got, want)
		}
	}
	if k := addrKey(netip.MustParseAddr("198.51.100.1")); k != 0xc6336401 {
		t.Errorf("IPv4 key %#x", k)
	}
	if k := addrKey(netip.MustParseAddr("2001:db8::1")); k != 0x20010db8^1 {
		t.Errorf("IPv6 key %#x", k)
	}
}

func TestServerMap(t *testing.T) {
	// Tables built by the rule of lb_map.c's recalc_server_map; the first
	// was also seen in a live HAProxy 2.6's routing.
	tests := []struct {
		weights []int
		want    string
	}{
		{[]int{1, 2, 3, 1}, "[0 1 2 1 2 2 3]"},
		{[]int{2, 4, 6, 2}, "[0 1 2 1 2 2 3]"}, // weights divided by their gcd
		{[]int{3, 1, 2}, "[0 0 2 0 1 2]"},
		{[]int{5, 3, 2}, "[0 0 1 0 2 0 1 0 1 2]"},
		{[]int{1, 1, 1, 1}, "[0 1 2 3]"},
	}
	for _, tc := range tests {
		bs := make([]Backend, len(tc.weights))
		live := make([]int32, len(tc.weights))
		g := 0
		for i, w := range tc.weights {
			bs[i].Weight = w
			live[i] = int32(i)
			g = gcd(g, w)
		}
		if got := fmt.Sprint(serverMap(nil, bs, live, g)); got != tc.want {
			t.Errorf("weights %v: map %s, want %s", tc.weights, got, tc.want)
		}
	}
}

func TestConsistentPointRange(t *testing.T) {
	bs := []Backend{{Addr: netip.MustParseAddr("10.0.0.1"), Weight: 256}}
	if _, err := New(PerIPConsistent, bs, Params{}, nil); err != nil {
		t.Errorf("weight 256 refused: %v", err)
	}
	if _, err := New(PerIPConsistent, bs, Params{HAProxy: HAProxyParams{ConsistentPointsPerWeight: 17}}, nil); err == nil {
		t.Error("more than 4096 points per server accepted")
	}
}
