package nfsmodel

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadProfile(t *testing.T) {
	p, err := LoadProfile(filepath.Join("testdata", "profile.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Meta.FSType != "tmpfs" || len(p.Ops) != 2 || len(p.Measurements) != 1 {
		t.Fatalf("loaded %+v", p)
	}
	op, ok := p.Op("readdir", Warm)
	if !ok {
		t.Fatal("readdir/warm not found")
	}
	if got, want := op.Predict(10000, 0), 4020*time.Microsecond; got != want {
		t.Errorf("readdir on 10000 entries: got %v, want %v", got, want)
	}
	if _, ok := p.Op("readdir", Cold); ok {
		t.Error("readdir/cold found in a profile without it")
	}
}

func TestProfileRoundTrip(t *testing.T) {
	p, err := LoadProfile(filepath.Join("testdata", "profile.toml"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	q, err := ParseProfile("encoded", data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if !reflect.DeepEqual(p, q) {
		t.Errorf("round trip changed the profile:\n%+v\n%+v", p, q)
	}
}

func TestParseProfileErrors(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("testdata", "profile.toml"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(base)
	tests := []struct {
		name string
		edit func(string) string
		want string
	}{
		{"unknown key", func(s string) string {
			return strings.Replace(s, "points = 2\n", "points = 2\nper_entry_us = 3\n", 1)
		}, "bad.toml:18: nfsmodel: unknown key op.per_entry_us"},
		{"unknown meta key", func(s string) string {
			return strings.Replace(s, "seed = 1\n", "seed = 1\nhostname = \"x\"\n", 1)
		}, "bad.toml:8: nfsmodel: unknown key meta.hostname"},
		{"wrong type", func(s string) string {
			return strings.Replace(s, "fixed_ns = 20000.0", `fixed_ns = "fast"`, 1)
		}, "bad.toml:14: nfsmodel:"},
		{"negative cost", func(s string) string {
			return strings.Replace(s, "per_byte_ns = 0.5", "per_byte_ns = -0.5", 1)
		}, "bad.toml:25: nfsmodel: op \"deliver\" (warm): per_byte_ns = -0.5"},
		{"bad cache", func(s string) string {
			return strings.Replace(s, "cache = \"warm\"\nscope = \"message\"", "cache = \"tepid\"\nscope = \"message\"", 1)
		}, "bad.toml:21: nfsmodel: op \"deliver\": cache \"tepid\""},
		{"bad scope", func(s string) string {
			return strings.Replace(s, `scope = "folder"`, `scope = "mailbox"`, 1)
		}, "bad.toml:13: nfsmodel: op \"readdir\": scope \"mailbox\""},
		{"duplicate op", func(s string) string {
			return strings.Replace(s, `name = "deliver"`, `name = "readdir"`, 1)
		}, "bad.toml:20: nfsmodel: op \"readdir\" (warm) given twice"},
		{"orphan measurement", func(s string) string {
			return strings.Replace(s, `op = "readdir"`, `op = "rebuild"`, 1)
		}, "bad.toml:29: nfsmodel: measurement of \"rebuild\" (warm) has no matching [[op]]"},
		{"zero count", func(s string) string {
			return strings.Replace(s, "count = 5", "count = 0", 1)
		}, "bad.toml:33: nfsmodel: measurement of \"readdir\": entries must be >= 0 and count > 0"},
		{"syntax", func(s string) string {
			return strings.Replace(s, "seed = 1", "seed = = 1", 1)
		}, "bad.toml:7: nfsmodel:"},
		{"no ops", func(s string) string {
			head, _, _ := strings.Cut(s, "[[op]]")
			return head
		}, "bad.toml: nfsmodel: profile has no [[op]] entries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseProfile("bad.toml", []byte(tt.edit(src)))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %q\nwant prefix %q", err, tt.want)
			}
		})
	}
}

func ExampleOpCost_Predict() {
	listing := OpCost{Name: "readdir", Cache: Warm, Scope: "folder", FixedNs: 20000, PerEntryNs: 400}
	for _, n := range []int{1000, 100000} {
		fmt.Println(n, listing.Predict(n, 0))
	}
	// Output:
	// 1000 420µs
	// 100000 40.02ms
}

func TestCheck(t *testing.T) {
	p := &Profile{
		Ops: []OpCost{
			{Name: "readdir", Cache: Warm, Scope: "folder", FixedNs: 1000, PerEntryNs: 100},
			{Name: "deliver", Cache: Warm, Scope: "message", FixedNs: 100, PerByteNs: 1},
			{Name: "expunge", Cache: Warm, Scope: "message", FixedNs: 50},
		},
		Measurements: []Measurement{
			{Op: "readdir", Cache: Warm, Entries: 10, Count: 5, TrimmedNs: 2000},            // predicted 2000: exact
			{Op: "readdir", Cache: Warm, Entries: 100, Count: 5, TrimmedNs: 8800},           // predicted 11000: +25 %
			{Op: "deliver", Cache: Warm, Entries: 5, Bytes: 900, Count: 5, TrimmedNs: 2000}, // predicted 1000: −50 %
		},
	}
	got := p.Check(0.25)
	if len(got) != 2 {
		t.Fatalf("%d checks, want 2 (expunge has no measurements): %+v", len(got), got)
	}
	tests := []struct {
		op     string
		rows   int
		maxErr float64
		ok     bool
	}{
		{"readdir", 2, 0.25, true},
		{"deliver", 1, 0.5, false},
	}
	for i, tt := range tests {
		c := got[i]
		if c.Op != tt.op || len(c.Rows) != tt.rows || math.Abs(c.MaxAbsRelErr-tt.maxErr) > 1e-12 || c.OK != tt.ok {
			t.Errorf("check %d = %+v, want %s with %d rows, worst %v, ok %v", i, c, tt.op, tt.rows, tt.maxErr, tt.ok)
		}
	}
	if r := got[1].Rows[0]; r.PredictedNs != 1000 || r.RelErr != -0.5 {
		t.Errorf("deliver row %+v", r)
	}
	if got := p.Check(0.5); !got[1].OK {
		t.Error("tolerance 0.5 rejects an error of exactly 50 %")
	}
}
