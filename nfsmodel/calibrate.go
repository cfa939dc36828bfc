package nfsmodel

import (
	"fmt"
	"strings"

	"github.com/mailsim/mailsim/model/sim"
)

// Calibrate sets the server's service times from a calibration profile
// measured on the file system behind the server. Each procedure costs the
// server's bare RPC time (what Service[GETATTR] was before, the cost of an
// empty call) plus the file-system work it causes, taken from the
// profile's warm costs:
//
//	GETATTR, LOOKUP, ACCESS  a stat: readdir_stat less readdir, per entry
//	READ                     header_read (open, read 4 KB, close)
//	WRITE                    deliver's cost per byte
//	COMMIT                   log_append (append and fsync)
//	CREATE                   half a dotlock (create, then rename or remove)
//	REMOVE                   expunge (unlink)
//	RENAME                   flag_change (rename)
//	READDIR                  readdir, fixed and per entry
//	READDIRPLUS              readdir_stat, fixed and per entry
//
// Lock calls keep the bare RPC time.
//
// A calibrated server takes every cost above from the profile: a profile
// that lacks a warm cost for one of [CalibrationOps] is refused, naming
// the operations, rather than mixing measured costs with the model's
// defaults. So is a profile whose costs exceed the limits of [ParseProfile]
// (see [MaxProfileNs]), which it checks again for a profile built in code.
// The one exception is a deliver cost per byte of zero, which says nothing
// of the server's streaming rate: BytesPerSec keeps its value.
func (s *Server) Calibrate(p *Profile) error {
	if p == nil {
		return fmt.Errorf("nfsmodel: no profile to calibrate with")
	}
	name := p.source
	if name == "" {
		name = "profile"
	}
	if miss := p.Missing(); len(miss) > 0 {
		return fmt.Errorf("%s: nfsmodel: no warm cost for %s: a calibrated run takes every NFS service time from its profile (measure them with mailsim replay)", name, strings.Join(miss, ", "))
	}
	for _, o := range p.Ops {
		for _, f := range o.bounded() {
			if !(f.v >= 0 && f.v <= f.max) {
				return fmt.Errorf("%s: nfsmodel: op %q (%s): %s = %v, want a value from 0 to %g", name, o.Name, o.Cache, f.key, f.v, f.max)
			}
		}
	}
	rpc := s.Service[GETATTR]
	// Every cost is at most MaxProfileNs (10⁶ s), so no sum below can
	// overflow; a per-entry cost is at most 1 s and a per-byte cost at
	// most 1 ms, so ServiceTime's products stay below 2.2·10¹⁸ ns for any
	// int32 number of entries and 10¹² ns for a call of up to 1 GiB.
	ns := func(v float64) sim.Time { return sim.Time(max(0, v)) }
	op := func(name string) (OpCost, bool) { return p.Op(name, Warm) }
	set := func(o Op, name string, f func(OpCost) float64) {
		if c, ok := op(name); ok {
			s.Service[o] = rpc + ns(f(c))
		}
	}
	if rd, ok := op("readdir"); ok {
		if rs, ok := op("readdir_stat"); ok {
			stat := ns(rs.PerEntryNs - rd.PerEntryNs)
			// An NFSv4 OPEN looks the name up, checks access and returns
			// the attributes: on the server, a stat's work.
			for _, o := range []Op{GETATTR, LOOKUP, ACCESS, OPEN} {
				s.Service[o] = rpc + stat
			}
			s.Service[READDIRPLUS] = rpc + ns(rs.FixedNs)
			s.ReaddirplusPerEntry = ns(rs.PerEntryNs)
		}
		s.Service[READDIR] = rpc + ns(rd.FixedNs)
		s.ReaddirPerEntry = ns(rd.PerEntryNs)
	}
	set(READ, "header_read", func(c OpCost) float64 { return c.FixedNs })
	set(COMMIT, "log_append", func(c OpCost) float64 { return c.FixedNs })
	set(CREATE, "dotlock", func(c OpCost) float64 { return c.FixedNs / 2 })
	set(REMOVE, "expunge", func(c OpCost) float64 { return c.FixedNs })
	set(RENAME, "flag_change", func(c OpCost) float64 { return c.FixedNs })
	if c, ok := op("deliver"); ok && c.PerByteNs > 0 {
		s.BytesPerSec = 1e9 / c.PerByteNs
	}
	return nil
}
