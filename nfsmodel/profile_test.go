package nfsmodel

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "write the hostile profiles of testdata/profiles and their errors again")

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
	q, err := ParseProfile(filepath.Join("testdata", "profile.toml"), data)
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
			return strings.Replace(s, `op = "readdir"`, `op = "expunge"`, 1)
		}, "bad.toml:29: nfsmodel: measurement of \"expunge\" (warm) has no matching [[op]]"},
		{"unknown op", func(s string) string {
			return strings.Replace(s, `name = "readdir"`, `name = "readdirr"`, 1)
		}, "bad.toml:11: nfsmodel: op.name: unknown operation \"readdirr\" (did you mean \"readdir\"?)"},
		{"unknown op, part of a name", func(s string) string {
			return strings.Replace(s, `name = "readdir"`, `name = "rebuild"`, 1)
		}, "bad.toml:11: nfsmodel: op.name: unknown operation \"rebuild\" (did you mean \"index_rebuild\"?)"},
		{"unknown op, far from any", func(s string) string {
			return strings.Replace(s, `name = "deliver"`, `name = "fsync"`, 1)
		}, "bad.toml:20: nfsmodel: op.name: unknown operation \"fsync\" (known: deliver, new_to_cur, readdir, readdir_stat, index_rebuild, header_read, flag_change, expunge, log_append, dotlock)"},
		{"unknown measured op", func(s string) string {
			return strings.Replace(s, `op = "readdir"`, `op = "Readdir"`, 1)
		}, "bad.toml:29: nfsmodel: measurement.op: unknown operation \"Readdir\" (did you mean \"readdir\"?)"},
		{"key in capitals", func(s string) string {
			return strings.Replace(s, "fixed_ns = 20000.0", "FIXED_NS = 20000.0", 1)
		}, "bad.toml:14: nfsmodel: key op.FIXED_NS: keys are case-sensitive, write fixed_ns"},
		{"key twice in two spellings", func(s string) string {
			return strings.Replace(s, "fixed_ns = 20000.0", "fixed_ns = 20000.0\nFixed_ns = 0.0", 1)
		}, "bad.toml:15: nfsmodel: key op.Fixed_ns: keys are case-sensitive, write fixed_ns"},
		{"table in capitals", func(s string) string {
			return strings.Replace(s, "[meta]", "[Meta]", 1)
		}, "bad.toml:1: nfsmodel: key Meta: keys are case-sensitive, write meta"},
		{"huge fixed cost", func(s string) string {
			return strings.Replace(s, "fixed_ns = 20000.0", "fixed_ns = 1e300", 1)
		}, "bad.toml:14: nfsmodel: op \"readdir\" (warm): fixed_ns = 1e+300, want a value from 0 to 1e+15"},
		{"fixed cost over a million seconds", func(s string) string {
			return strings.Replace(s, "fixed_ns = 20000.0", "fixed_ns = 1.0000001e15", 1)
		}, "bad.toml:14: nfsmodel: op \"readdir\" (warm): fixed_ns = 1.0000001e+15, want a value from 0 to 1e+15"},
		{"infinite cost", func(s string) string {
			return strings.Replace(s, "fixed_ns = 20000.0", "fixed_ns = inf", 1)
		}, "bad.toml:14: nfsmodel: op \"readdir\" (warm): fixed_ns = +Inf"},
		{"nan cost", func(s string) string {
			return strings.Replace(s, "per_entry_ns = 400.0", "per_entry_ns = nan", 1)
		}, "bad.toml:15: nfsmodel: op \"readdir\" (warm): per_entry_ns = NaN"},
		{"huge per-entry cost", func(s string) string {
			return strings.Replace(s, "per_entry_ns = 400.0", "per_entry_ns = 2e9", 1)
		}, "bad.toml:15: nfsmodel: op \"readdir\" (warm): per_entry_ns = 2e+09, want a value from 0 to 1e+09"},
		{"huge per-byte cost", func(s string) string {
			return strings.Replace(s, "per_byte_ns = 0.5", "per_byte_ns = 1e7", 1)
		}, "bad.toml:25: nfsmodel: op \"deliver\" (warm): per_byte_ns = 1e+07, want a value from 0 to 1e+06"},
		{"negative points", func(s string) string {
			return strings.Replace(s, "points = 2", "points = -1", 1)
		}, "bad.toml:17: nfsmodel: op \"readdir\" (warm): points = -1"},
		{"huge measured time", func(s string) string {
			return strings.Replace(s, "p99_ns = 500000.0", "p99_ns = 9.3e18", 1)
		}, "bad.toml:37: nfsmodel: measurement of \"readdir\": p99_ns = 9.3e+18, want a value from 0 to 1e+15"},
		{"huge entries", func(s string) string {
			return strings.Replace(s, "entries = 1000\n", "entries = 9223372036854775807\n", 1)
		}, "bad.toml:31: nfsmodel: measurement of \"readdir\": entries = 9223372036854775807, want at most 1000000000"},
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
	if *update {
		// The corpus of TestProfileCorpus: each case as a file.
		for _, tt := range tests {
			name := strings.ReplaceAll(strings.ReplaceAll(tt.name, ",", ""), " ", "-")
			if err := os.WriteFile(filepath.Join("testdata", "profiles", name+".toml"), []byte(tt.edit(src)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
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

// TestProfileCorpus loads every profile of testdata/profiles: each is
// refused with the error of its .err file, which names the file and line.
func TestProfileCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "profiles", "*.toml"))
	if err != nil || len(files) < 20 {
		t.Fatalf("%d profiles (%v)", len(files), err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			errFile := strings.TrimSuffix(f, ".toml") + ".err"
			_, err := LoadProfile(f)
			if err == nil {
				t.Fatal("accepted")
			}
			if *update {
				if werr := os.WriteFile(errFile, []byte(err.Error()+"\n"), 0o644); werr != nil {
					t.Fatal(werr)
				}
			}
			want, rerr := os.ReadFile(errFile)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if err.Error()+"\n" != string(want) {
				t.Fatalf("error\n%v\nwant\n%s", err, want)
			}
			if !strings.HasPrefix(err.Error(), f+":") {
				t.Fatalf("error does not name the file: %v", err)
			}
		})
	}
}

// TestMeasuredProfiles: the profiles mailsim replay measured load, name
// every operation it measures, and calibrate a server.
func TestMeasuredProfiles(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "experiments", "profiles", "*.toml"))
	if len(files) == 0 {
		t.Skip("no measured profiles")
	}
	for _, f := range files {
		p, err := LoadProfile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range ProfileOps {
			if _, ok := p.Op(name, Warm); !ok {
				t.Errorf("%s: no warm %s", f, name)
			}
		}
		s := DefaultServer()
		if err := s.Calibrate(p); err != nil {
			t.Error(err)
		}
	}
}

// FuzzParseProfile: ParseProfile never panics on any input, and a profile
// it accepts encodes to one that reads back the same and calibrates a
// server without a negative service time.
func FuzzParseProfile(f *testing.F) {
	for _, pattern := range []string{"testdata/*.toml", "testdata/profiles/*.toml", "../experiments/profiles/*.toml", "../cmd/mailsim/testdata/calibrate/*.toml"} {
		files, _ := filepath.Glob(filepath.FromSlash(pattern))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProfile("fuzz.toml", b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.toml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		data, err := p.Encode()
		if err != nil {
			t.Fatal(err)
		}
		q, err := ParseProfile("fuzz.toml", data)
		if err != nil {
			t.Fatalf("encoded profile refused: %v\n%s", err, data)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip changed the profile:\n%+v\n%+v", p, q)
		}
		s := DefaultServer()
		if s.Calibrate(p) == nil {
			for o := range NumOps {
				if st := s.ServiceTime(o, 1<<30, math.MaxInt32); st < 0 {
					t.Fatalf("%v: service time %d", o, st)
				}
			}
		}
		for _, o := range p.Ops {
			if o.Predict(math.MaxInt32, 1<<40) < 0 {
				t.Fatalf("%s: negative prediction", o.Name)
			}
		}
	})
}
