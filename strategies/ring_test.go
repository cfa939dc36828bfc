package strategies

import (
	"bytes"
	"crypto/md5"
	"encoding/csv"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// refUserHash is the director's user hash written out plainly: MD5 of the
// name with ASCII capitals lowered, first four bytes big-endian.
func refUserHash(user string) uint32 {
	b := []byte(user)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	s := md5.Sum(b)
	return uint32(s[0])<<24 | uint32(s[1])<<16 | uint32(s[2])<<8 | uint32(s[3])
}

// refPlace places a user by scanning every ring point: the point with the
// smallest value at or above the user's hash, or else the smallest value
// of all. It returns every backend holding such a point: more than one
// only when points of several backends share that value.
func refPlace(user string, backends []Backend, down map[netip.Addr]bool) []netip.Addr {
	h := refUserHash(user)
	type point struct {
		v  uint64
		ip netip.Addr
	}
	var best []point
	for _, b := range backends {
		if down[b.Addr] {
			continue
		}
		for i := 0; i < b.Weight; i++ {
			s := md5.Sum([]byte(ipText(b.Addr) + "-" + strconv.Itoa(i)))
			v := uint64(s[0])<<24 | uint64(s[1])<<16 | uint64(s[2])<<8 | uint64(s[3])
			if v < uint64(h) {
				v += 1 << 32 // past the wrap
			}
			switch {
			case len(best) == 0 || v < best[0].v:
				best = []point{{v, b.Addr}}
			case v == best[0].v && best[len(best)-1].ip != b.Addr:
				best = append(best, point{v, b.Addr})
			}
		}
	}
	var out []netip.Addr
	for _, p := range best {
		out = append(out, p.ip)
	}
	return out
}

func goldenUsers() []string {
	users := []string{"alice", "Alice", "ALICE@EXAMPLE.COM", "J\u00fcrgen@EXAMPLE.de", "\u00c9LODIE@x.fr",
		strings.Repeat("x", 200), strings.Repeat("Y", 129), "a", "Z", "u1063", "u1228", "u1402", "u20325635"}
	for i := 0; i < 100; i++ {
		users = append(users, fmt.Sprintf("user%d@example.com", i))
	}
	return users
}

// The cases below were also compared with a running Dovecot 2.3.19.1
// director ("doveadm director status USER", line "Hashed:") and agreed for
// every user, including the tie cases.
var placeCases = []struct {
	name     string
	backends string
	down     string
}{
	{"equal", "10.0.0.1,10.0.0.2,10.0.0.3", ""},
	{"weighted-down", "10.0.0.1:50,10.0.0.2:100,10.0.0.3:200,10.0.0.4:0,192.168.1.10:1000", "10.0.0.2"},
	{"ipv6", "2001:db8::1,[::7.8.9.10],10.0.0.9,[::ffff:10.1.1.1]:30,fe80::abcd:1", ""},
	{"point-equal", "10.20.31.21,10.20.52.130,10.20.0.19,10.0.0.1", ""},
	// 10.20.47.4-7 and 10.20.74.102-15 have the same MD5 prefix, equal to
	// user u20325635's hash. Dovecot's binary search lands on either
	// point depending on the ring around them.
	{"collision", "10.20.47.4,10.20.74.102", ""},
	{"collision-3", "10.20.47.4,10.20.74.102,10.30.0.1", ""},
	{"all-down", "10.0.0.1,10.0.0.2", "10.0.0.1,10.0.0.2"},
}

func TestDirectorPlacementGolden(t *testing.T) {
	users := goldenUsers()
	input := strings.Join(users, "\n") + "\n"
	for _, tc := range placeCases {
		t.Run(tc.name, func(t *testing.T) {
			bs, err := ParseBackends(tc.backends, DefaultVhostCount)
			if err != nil {
				t.Fatal(err)
			}
			var downs []netip.Addr
			down := map[netip.Addr]bool{}
			if tc.down != "" {
				for _, s := range strings.Split(tc.down, ",") {
					a := netip.MustParseAddr(s)
					downs = append(downs, a)
					down[a] = true
				}
			}
			var out bytes.Buffer
			if err := Place(DirectorRing, bs, downs, Params{}, strings.NewReader(input), &out); err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(bytes.NewReader(out.Bytes())).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != len(users)+1 {
				t.Fatalf("got %d records for %d users", len(recs), len(users))
			}
			for i, u := range users {
				got := recs[i+1][1]
				want := refPlace(u, bs, down)
				ok := len(want) == 0 && got == ""
				for _, w := range want {
					ok = ok || ipText(w) == got
				}
				if recs[i+1][0] != u || !ok {
					t.Errorf("user %q: got %q, reference %v", u, got, want)
				}
			}
			golden := filepath.Join("testdata", "place", tc.name+".csv")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("output differs from %s", golden)
			}
		})
	}
}

// TestDirectorEdgeCases pins the ring edge cases found by
// TestFindRingCases, with the answers a Dovecot 2.3.19.1 director gave.
func TestDirectorEdgeCases(t *testing.T) {
	if h, p := UserHash("u1063"), pointHash("10.20.31.21", 41); h != p || h != 2075622396 {
		t.Fatalf("u1063 hash %d, point 10.20.31.21-41 %d: want both 2075622396", h, p)
	}
	a, b, u := pointHash("10.20.47.4", 7), pointHash("10.20.74.102", 15), UserHash("u20325635")
	if a != b || a != u || a != 3994023507 {
		t.Fatalf("collision points %d, %d, user hash %d: want all 3994023507", a, b, u)
	}
	tests := []struct {
		backends, user, want string
	}{
		// A user hash equal to a point goes to that point's backend.
		{"10.20.31.21,10.20.52.130,10.20.0.19,10.0.0.1", "u1063", "10.20.31.21"},
		{"10.20.31.21,10.20.52.130,10.20.0.19,10.0.0.1", "u1228", "10.20.52.130"},
		{"10.20.31.21,10.20.52.130,10.20.0.19,10.0.0.1", "u1402", "10.20.0.19"},
		// Equal to two backends' colliding points: Dovecot's binary search
		// picks the higher IP here and the lower one once a third host is
		// added (both checked against Dovecot).
		{"10.20.47.4,10.20.74.102", "u20325635", "10.20.74.102"},
		{"10.20.47.4,10.20.74.102", "U20325635", "10.20.74.102"},
		{"10.20.47.4,10.20.74.102,10.30.0.1", "u20325635", "10.20.47.4"},
		{"10.20.47.4,10.20.74.102,10.30.0.1,10.30.0.2,10.30.0.3,10.30.0.4", "u20325635", "10.20.74.102"},
		{"10.20.47.4,10.20.74.102,10.30.0.1,10.30.0.2,10.30.0.3,10.30.0.4,10.30.0.5", "u20325635", "10.20.47.4"},
	}
	for _, tc := range tests {
		bs, err := ParseBackends(tc.backends, DefaultVhostCount)
		if err != nil {
			t.Fatal(err)
		}
		r, err := New(DirectorRing, bs, Params{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := r.Route(Request{User: tc.user}).Backend
		if ipText(bs[got].Addr) != tc.want {
			t.Errorf("%s on %s: got %s, want %s", tc.user, tc.backends, bs[got].Addr, tc.want)
		}
	}
}

func TestRingTiesOrderedByIP(t *testing.T) {
	// Both colliding points sit next to each other, the lower IP first,
	// whatever the configuration order.
	for _, spec := range []string{"10.20.47.4,10.20.74.102", "10.20.74.102,10.20.47.4"} {
		bs, _ := ParseBackends(spec, DefaultVhostCount)
		texts := []string{ipText(bs[0].Addr), ipText(bs[1].Addr)}
		ring := buildRing(nil, bs, texts, []int{100, 100}, func(int) bool { return true })
		for k := 1; k < len(ring); k++ {
			if ring[k].hash == ring[k-1].hash {
				lo, hi := bs[ring[k-1].backend].Addr, bs[ring[k].backend].Addr
				if lo.Compare(hi) >= 0 {
					t.Errorf("%s: tie ordered %s before %s", spec, lo, hi)
				}
			}
		}
	}
}

func TestIPText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"10.0.0.1", "10.0.0.1"},
		{"::1", "::1"},
		{"::", "::"},
		{"::7.8.9.10", "::7.8.9.10"},
		{"::ffff:10.1.1.1", "::ffff:10.1.1.1"},
		{"2001:db8::1", "2001:db8::1"},
		{"::1:0:0", "::1:0:0"},
		{"fe80::abcd:1", "fe80::abcd:1"},
	}
	for _, tc := range tests {
		if got := ipText(netip.MustParseAddr(tc.in)); got != tc.want {
			t.Errorf("ipText(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestUserHash(t *testing.T) {
	for _, u := range goldenUsers() {
		if got, want := UserHash(u), refUserHash(u); got != want {
			t.Errorf("UserHash(%q) = %d, want %d", u, got, want)
		}
	}
	// Only ASCII letters are lowered, as Dovecot's str_lcase does.
	if UserHash("\u00c9") == UserHash("\u00e9") {
		t.Error("non-ASCII letters were case-folded")
	}
	if UserHash("ALICE") != UserHash("alice") {
		t.Error("ASCII letters were not lowered")
	}
}

// TestPlaceGoldenOthers pins the placement of the other strategies that
// place by user or client address, so that a change to them shows up.
func TestPlaceGoldenOthers(t *testing.T) {
	var in strings.Builder
	for i, u := range goldenUsers()[:40] {
		fmt.Fprintf(&in, "%s,192.0.2.%d\n", u, i*7%256)
	}
	for _, name := range []string{DirectorBounded, DirectorMaglev, OwnerProxyName, PerIP, PerIPConsistent} {
		t.Run(name, func(t *testing.T) {
			bs, err := ParseBackends("10.0.0.1,10.0.0.2:2,10.0.0.3,10.0.0.4", 0)
			if err != nil {
				t.Fatal(err)
			}
			for i := range bs {
				if bs[i].Weight == 0 {
					bs[i].Weight = DefaultWeight(name)
				}
			}
			input := in.String()
			if KeyOf(name) == ByUser {
				// User lines only: strip the addresses.
				var b strings.Builder
				for _, l := range strings.Split(strings.TrimSpace(input), "\n") {
					b.WriteString(l[:strings.LastIndexByte(l, ',')] + "\n")
				}
				input = b.String()
			}
			var out bytes.Buffer
			down := []netip.Addr{netip.MustParseAddr("10.0.0.4")}
			if err := Place(name, bs, down, Params{Owner: OwnerParams{Failover: FailoverStandby}}, strings.NewReader(input), &out); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "place", "strategy-"+name+".csv")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("output differs from %s:\n%s", golden, out.String())
			}
			if strings.Contains(out.String(), ",10.0.0.4\n") {
				t.Error("a user was placed on the down backend")
			}
		})
	}
}
