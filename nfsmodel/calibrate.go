package nfsmodel

import (
	"fmt"

	"mailsim/model/sim"
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
// Lock calls keep the bare RPC time. An operation the profile lacks keeps
// its current service time.
func (s *Server) Calibrate(p *Profile) error {
	if p == nil {
		return fmt.Errorf("nfsmodel: no profile to calibrate with")
	}
	rpc := s.Service[GETATTR]
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
			for _, o := range []Op{GETATTR, LOOKUP, ACCESS} {
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
