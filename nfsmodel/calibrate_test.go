package nfsmodel

import (
	"testing"

	"mailsim/model/sim"
)

func TestCalibrate(t *testing.T) {
	p := &Profile{Ops: []OpCost{
		{Name: "readdir", Cache: Warm, FixedNs: 1000, PerEntryNs: 500},
		{Name: "readdir_stat", Cache: Warm, FixedNs: 2000, PerEntryNs: 3500},
		{Name: "expunge", Cache: Warm, FixedNs: 250000},
		{Name: "dotlock", Cache: Warm, FixedNs: 60000},
		{Name: "deliver", Cache: Warm, FixedNs: 300000, PerByteNs: 2},
		{Name: "expunge", Cache: Cold, FixedNs: 9e9}, // cold costs are not used
	}}
	s := DefaultServer()
	rpc := s.Service[GETATTR]
	commit := s.Service[COMMIT]
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
		{"COMMIT unchanged without log_append", s.Service[COMMIT], commit},
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
