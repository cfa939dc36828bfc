package strategies

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func TestPassdbStaticRouting(t *testing.T) {
	bs := testBackends(3, 1)
	r, err := New(PassdbStatic, bs, Params{Passdb: PassdbParams{Map: map[string]int{
		"alice":             0,
		"bob@example.com":   2,
		"Carol@Example.COM": 1, // looked up lower-cased
	}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		step    string
		down    int // backend to mark down before routing, or -1
		up      int // backend to mark up before routing, or -1
		user    string
		want    int
		wantHit bool
	}{
		{"mapped", -1, -1, "alice", 0, true},
		{"mapped, other backend", -1, -1, "bob@example.com", 2, true},
		{"case folded", -1, -1, "ALICE", 0, true},
		{"row with capitals", -1, -1, "carol@example.com", 1, true},
		{"unmapped fails", -1, -1, "dave", -1, false},
		{"down backend still returned", 0, -1, "alice", 0, true},
		{"others unaffected", -1, -1, "bob@example.com", 2, true},
		{"every backend down", 2, -1, "bob@example.com", 2, true},
		{"back up", -1, 0, "alice", 0, true},
		{"unmapped still fails", -1, -1, "", -1, false},
	}
	for _, tc := range tests {
		if tc.down >= 0 {
			r.SetDown(0, tc.down, true)
		}
		if tc.up >= 0 {
			r.SetDown(0, tc.up, false)
		}
		d := r.Route(Request{User: tc.user})
		want := Decision{Backend: tc.want, Entry: -1, Hops: 1, TerminatesTLS: true}
		if !tc.wantHit {
			want.Delay = authFailureDelay // the failed authentication's answer waits
		}
		if d != want {
			t.Errorf("%s: %s routed %+v, want %+v", tc.step, tc.user, d, want)
		}
		if b, ok := r.(*PassdbProxy).Lookup(tc.user); b != tc.want || ok != tc.wantHit {
			t.Errorf("%s: Lookup(%q) = %d, %v", tc.step, tc.user, b, ok)
		}
	}
	p := r.(*PassdbProxy)
	if p.IsDown(0) || p.IsDown(1) || !p.IsDown(2) {
		t.Error("IsDown does not follow SetDown")
	}
	if n, loads := p.Users(0), p.Loads(0, nil); n != 3 || fmt.Sprint(loads) != "[1 1 1]" {
		t.Errorf("Users %d, Loads %v", n, loads)
	}
}

func TestNewPassdbStaticShares(t *testing.T) {
	rows := map[string]int{"alice": 0, "bob": 1}
	p, err := NewPassdbStatic(testBackends(2, 1), rows)
	if err != nil {
		t.Fatal(err)
	}
	// Already lower-case: the map is used as given, not copied.
	rows["carol"] = 1
	if b, ok := p.Lookup("Carol"); !ok || b != 1 {
		t.Errorf("shared map not used: Lookup(Carol) = %d, %v", b, ok)
	}
	for _, tc := range []struct {
		rows   map[string]int
		errHas string
	}{
		{map[string]int{"": 0}, "empty user name"},
		{map[string]int{"x": -1}, "backend -1 of 2"},
		{map[string]int{"X": 0, "x": 0}, `"x" is in the map twice`},
	} {
		if _, err := NewPassdbStatic(testBackends(2, 1), tc.rows); err == nil || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("NewPassdbStatic(%v): error %v, want one mentioning %q", tc.rows, err, tc.errHas)
		}
	}
	if _, err := NewPassdbStatic(nil, rows); err == nil {
		t.Error("no backends accepted")
	}
}

func TestParsePassdbMap(t *testing.T) {
	bs, err := ParseBackends("10.0.0.1,10.0.0.2,2001:db8::3", 1)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		in     string
		want   string // "user=index ..." sorted by user
		errHas string
	}{
		{name: "plain", in: "alice,10.0.0.1\nbob,10.0.0.2\n", want: "alice=0 bob=1"},
		{name: "header, comments, blanks, CRLF, spaces",
			in:   "user,host\r\n# a comment\r\n\r\n  alice , 10.0.0.2 \r\n   # indented comment\nbob,2001:db8::3",
			want: "alice=1 bob=2"},
		{name: "header any case", in: "User , Host\nalice,10.0.0.1\n", want: "alice=0"},
		{name: "comma in name", in: "smith, john,10.0.0.1\n", want: "smith, john=0"},
		{name: "names lower-cased", in: "Alice@Example.COM,10.0.0.1\n", want: "alice@example.com=0"},
		{name: "header after data", in: "alice,10.0.0.1\nuser,host\n", errHas: `m.csv:2: host "host" is not an IP address`},
		{name: "no comma", in: "alice 10.0.0.1\n", errHas: `m.csv:1: "alice 10.0.0.1" is not a user,host line`},
		{name: "empty user", in: "# x\n ,10.0.0.1\n", errHas: "m.csv:2: empty user name"},
		{name: "bad host", in: "alice,10.0.0.1\nbob,mail2\n", errHas: `m.csv:2: host "mail2" is not an IP address`},
		{name: "zone", in: "alice,fe80::1%eth0\n", errHas: `m.csv:1: host "fe80::1%eth0" is not an IP address`},
		{name: "unknown host", in: "user,host\nalice,10.0.0.9\n", errHas: "m.csv:2: host 10.0.0.9 is not one of the 3 backends"},
		{name: "listed twice", in: "alice,10.0.0.1\n\nalice,10.0.0.2\n", errHas: `m.csv:3: user "alice" listed twice`},
		{name: "twice once lower-cased", in: "alice,10.0.0.1\nALICE,10.0.0.1\n", errHas: `m.csv:2: user "ALICE" listed twice (as "alice" once lower-cased)`},
		{name: "empty", in: "user,host\n# nothing\n", errHas: "m.csv: no user,host rows"},
		{name: "long line", in: "alice,10.0.0.1\n" + strings.Repeat("x", 1<<20+1) + ",10.0.0.1\n", errHas: "m.csv:2: line longer than 1 MiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParsePassdbMap("m.csv", strings.NewReader(tc.in), bs)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) || !errors.Is(err, ErrInput) {
					t.Fatalf("error %v, want an input error mentioning %q", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for u, b := range m {
				got = append(got, fmt.Sprintf("%s=%d", u, b))
			}
			slices.Sort(got)
			if s := strings.Join(got, " "); s != tc.want {
				t.Errorf("got %s, want %s", s, tc.want)
			}
		})
	}
	t.Run("read error", func(t *testing.T) {
		_, err := ParsePassdbMap("m.csv", iotest.ErrReader(io.ErrUnexpectedEOF), bs)
		if err == nil || errors.Is(err, ErrInput) || !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "m.csv") {
			t.Errorf("error %v, want the read error, naming the file", err)
		}
	})
}

func TestParsePassdbMapRowLimit(t *testing.T) {
	defer func(n int) { passdbRowLimit = n }(passdbRowLimit)
	passdbRowLimit = 3
	bs := testBackends(1, 1)
	in := "user,host\n# rows\nu1,10.0.0.1\nu2,10.0.0.1\n\nu3,10.0.0.1\n"
	if m, err := ParsePassdbMap("big.csv", strings.NewReader(in), bs); err != nil || len(m) != 3 {
		t.Fatalf("%d rows at the limit: %v", len(m), err)
	}
	_, err := ParsePassdbMap("big.csv", strings.NewReader(in+"u4,10.0.0.1\n"), bs)
	if want := "big.csv:7: more than 3 rows"; err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrInput) {
		t.Errorf("error %v, want an input error mentioning %q", err, want)
	}
}

func TestPlacePassdbStatic(t *testing.T) {
	bs := testBackends(2, 1)
	m, err := ParsePassdbMap("m.csv", strings.NewReader("alice,10.0.0.2\nbob,10.0.0.1\n"), bs)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	down := []netip.Addr{bs[1].Addr}
	if err := Place(PassdbStatic, bs, down, Params{Passdb: PassdbParams{Map: m}}, strings.NewReader("alice\nBob\ncarol\n"), &out); err != nil {
		t.Fatal(err)
	}
	if want := "user,backend\nalice,10.0.0.2\nBob,10.0.0.1\ncarol,\n"; out.String() != want {
		t.Errorf("Place wrote\n%s\nwant\n%s", out.String(), want)
	}
	if err := Place(PassdbStatic, bs, nil, Params{}, strings.NewReader("alice\n"), &out); err == nil || !errors.Is(err, ErrInput) {
		t.Errorf("Place without a map: %v", err)
	}
}
