package strategies

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	bs := testBackends(3, 1)
	withMap := Params{Passdb: PassdbParams{Map: map[string]int{"alice": 2}}}
	for _, name := range Names() {
		r, err := New(name, bs, withMap, nil)
		if err != nil {
			t.Fatalf("New(%q): %v", name, err)
		}
		if r.Name() != name {
			t.Errorf("New(%q).Name() = %q", name, r.Name())
		}
		d := r.Route(Request{User: "alice", ClientIP: netip.MustParseAddr("192.0.2.1")})
		if d.Backend < 0 || d.Backend >= len(bs) {
			t.Errorf("%s: routed to %d", name, d.Backend)
		}
		wantTLS := strings.HasPrefix(name, "director") || name == PassdbStatic || name == LuaDirector
		if d.TerminatesTLS != wantTLS || (wantTLS && d.Hops != 1) {
			t.Errorf("%s: decision %+v", name, d)
		}
	}
	tests := []struct {
		name   string
		bs     []Backend
		p      Params
		errHas string
	}{
		{"sticky", bs, Params{}, `unknown strategy "sticky"`},
		{DirectorRing, nil, Params{}, "no backends"},
		{DirectorRing, bs, Params{Director: DirectorParams{UserExpire: 5 * time.Second}}, "below Dovecot's minimum"},
		{DirectorRing, bs, Params{Director: DirectorParams{SyncDelay: -1}}, "sync delay"},
		{DirectorRing, bs, Params{Director: DirectorParams{Directors: -2}}, "director count"},
		{DirectorBounded, bs, Params{Bounded: BoundedParams{Epsilon: -0.5}}, "epsilon"},
		{DirectorMaglev, bs, Params{Maglev: MaglevParams{TableSize: 65536}}, "not a prime"},
		{Random, bs, Params{HAProxy: HAProxyParams{Draws: -1}}, "draws"},
		{PerIP, []Backend{{Addr: netip.MustParseAddr("10.0.0.1"), Weight: 257}}, Params{}, "weight 257"},
		{OwnerProxyName, bs, Params{Owner: OwnerParams{Failover: 9}}, "failover"},
		{PassdbStatic, bs, Params{}, "needs a user-to-backend map"},
		{PassdbStatic, bs, Params{Passdb: PassdbParams{Map: map[string]int{"bob": 3}}}, "backend 3 of 3"},
		{PassdbStatic, bs, Params{Passdb: PassdbParams{Map: map[string]int{"Bob": 0, "bob": 1}}}, "twice once lower-cased"},
		{LuaDirector, nil, Params{}, "no backends"},
	}
	for _, tc := range tests {
		_, err := New(tc.name, tc.bs, tc.p, nil)
		if err == nil || !strings.Contains(err.Error(), tc.errHas) || !strings.HasPrefix(err.Error(), "strategies: ") {
			t.Errorf("New(%q, %+v): error %v, want one mentioning %q", tc.name, tc.p, err, tc.errHas)
		}
	}
}

func TestParseBackends(t *testing.T) {
	tests := []struct {
		in     string
		want   string // backends as "addr/weight ..."
		errHas string
	}{
		{in: "10.0.0.1,10.0.0.2:200, 10.0.0.3", want: "10.0.0.1/100 10.0.0.2/200 10.0.0.3/100"},
		{in: "2001:db8::1,[2001:db8::2]:5,[::1]", want: "2001:db8::1/100 2001:db8::2/5 ::1/100"},
		{in: "10.0.0.1:0", want: "10.0.0.1/0"},
		{in: "10.0.0.1,,10.0.0.2", errHas: "empty item"},
		{in: "host.example", errHas: `"host.example" is not an IP address`},
		{in: "10.0.0.1:-3", errHas: `weight "-3"`},
		{in: "10.0.0.1:", errHas: "empty weight"},
		{in: "[::1", errHas: "missing ]"},
		{in: "[::1]x", errHas: "unexpected"},
		{in: "fe80::1%eth0", errHas: "not an IP address"},
		{in: "10.0.0.1,10.0.0.1", errHas: "listed twice"},
	}
	for _, tc := range tests {
		bs, err := ParseBackends(tc.in, 100)
		if tc.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errHas) || !errors.Is(err, ErrInput) {
				t.Errorf("ParseBackends(%q): error %v, want one mentioning %q", tc.in, err, tc.errHas)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseBackends(%q): %v", tc.in, err)
			continue
		}
		var got []string
		for _, b := range bs {
			got = append(got, b.Addr.String()+"/"+strconv.Itoa(b.Weight))
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("ParseBackends(%q) = %v, want %s", tc.in, got, tc.want)
		}
	}
}
