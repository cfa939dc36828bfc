package nfsmodel

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailsim/mailsim/model/sim"
)

func TestCalibrate(t *testing.T) {
	p := fullProfile()
	s := DefaultServer()
	rpc := s.Service[GETATTR]
	if err := s.Calibrate(p); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  sim.Time
		want sim.Time
	}{
		{"GETATTR is an RPC and a stat", s.Service[GETATTR], rpc + 3000},
		{"REMOVE is an RPC and an unlink", s.Service[REMOVE], rpc + 250000},
		{"CREATE is half a dotlock", s.Service[CREATE], rpc + 30000},
		{"READDIR fixed", s.Service[READDIR], rpc + 1000},
		{"READDIR per entry", s.ReaddirPerEntry, 500},
		{"READDIRPLUS per entry", s.ReaddirplusPerEntry, 3500},
		{"COMMIT is an RPC and a log append", s.Service[COMMIT], rpc + 180000},
		{"READ is an RPC and a header read", s.Service[READ], rpc + 40000},
		{"RENAME is an RPC and a flag change", s.Service[RENAME], rpc + 70000},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if s.BytesPerSec != 5e8 {
		t.Errorf("bytes per second %g, want 5e8", s.BytesPerSec)
	}
}

// fullProfile has a warm cost for every operation Calibrate uses.
func fullProfile() *Profile {
	return &Profile{Ops: []OpCost{
		{Name: "readdir", Cache: Warm, FixedNs: 1000, PerEntryNs: 500},
		{Name: "readdir_stat", Cache: Warm, FixedNs: 2000, PerEntryNs: 3500},
		{Name: "expunge", Cache: Warm, FixedNs: 250000},
		{Name: "dotlock", Cache: Warm, FixedNs: 60000},
		{Name: "deliver", Cache: Warm, FixedNs: 300000, PerByteNs: 2},
		{Name: "header_read", Cache: Warm, FixedNs: 40000},
		{Name: "log_append", Cache: Warm, FixedNs: 180000},
		{Name: "flag_change", Cache: Warm, FixedNs: 70000},
		{Name: "expunge", Cache: Cold, FixedNs: 9e9}, // cold costs are not used
	}}
}

// TestCalibrateRefuses: a profile that lacks an operation Calibrate uses,
// or whose costs would overflow the clock, leaves the server as it was
// and says why, naming the file.
func TestCalibrateRefuses(t *testing.T) {
	loaded, err := LoadProfile(filepath.Join("testdata", "profile.toml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    *Profile
		want string
	}{
		{"missing", loaded, "testdata/profile.toml: nfsmodel: no warm cost for readdir_stat, header_read, flag_change, expunge, log_append, dotlock: a calibrated run takes every NFS service time from its profile"},
		{"only cold", func() *Profile {
			p := fullProfile()
			p.Ops[6].Cache = Cold
			return p
		}(), "profile: nfsmodel: no warm cost for log_append:"},
		{"fixed_ns = 1e300", func() *Profile {
			p := fullProfile()
			p.Ops[2].FixedNs = 1e300
			return p
		}(), `profile: nfsmodel: op "expunge" (warm): fixed_ns = 1e+300, want a value from 0 to 1e+15`},
		{"per_byte_ns = NaN", func() *Profile {
			p := fullProfile()
			p.Ops[4].PerByteNs = math.NaN()
			return p
		}(), `profile: nfsmodel: op "deliver" (warm): per_byte_ns = NaN`},
	}
	for _, tc := range tests {
		s := DefaultServer()
		before := s
		err := s.Calibrate(tc.p)
		if err == nil || !strings.HasPrefix(err.Error(), filepath.FromSlash(tc.want)) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
		if s != before {
			t.Errorf("%s: the server changed", tc.name)
		}
	}
}

// TestCalibrateLimits: a profile at every limit gives service times that
// stay positive for any int32 number of entries and 1 GiB calls.
func TestCalibrateLimits(t *testing.T) {
	p := fullProfile()
	for i := range p.Ops {
		p.Ops[i].FixedNs, p.Ops[i].PerEntryNs, p.Ops[i].PerByteNs = MaxProfileNs, MaxPerEntryNs, MaxPerByteNs
	}
	s := DefaultServer()
	if err := s.Calibrate(p); err != nil {
		t.Fatal(err)
	}
	for o := range NumOps {
		if st := s.ServiceTime(o, 1<<30, math.MaxInt32); st <= 0 {
			t.Errorf("%v: service time %d", o, st)
		}
	}
	if d := p.Ops[0].Predict(math.MaxInt, math.MaxFloat64); d != math.MaxInt64 {
		t.Errorf("an overflowing prediction gives %v, want the largest duration", d)
	}
}
