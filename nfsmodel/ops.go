// Package nfsmodel models NFS as Dovecot backends see it: the NFS server as
// a queueing resource with per-operation service times, each backend's NFS
// client with its attribute cache and mount options (nfs(5)), and Dovecot's
// NFS-related settings. Staleness is a fact of the model: a backend that
// acts on attributes cached before another backend's change reads stale
// data.
package nfsmodel

import (
	"fmt"

	"github.com/mailsim/mailsim/model/sim"
)

// Op is an NFS procedure: NFSv3's, the NLM lock calls, and the NFSv4
// operations that have no NFSv3 counterpart (OPEN, CLOSE, DELEGRETURN).
// Under NFSv4, LOCK and UNLOCK are the LOCK and LOCKU operations, and a
// COMPOUND counts as its main operation.
type Op uint8

// NFS operations counted and costed by the model.
const (
	GETATTR Op = iota
	LOOKUP
	ACCESS
	READ
	WRITE
	COMMIT
	CREATE
	REMOVE
	RENAME
	SETATTR
	READDIR
	READDIRPLUS
	LOCK        // NLM lock (NFSv4 LOCK)
	UNLOCK      // NLM unlock (NFSv4 LOCKU)
	OPEN        // NFSv4 OPEN (with the GETATTR of its compound)
	CLOSE       // NFSv4 CLOSE
	DELEGRETURN // NFSv4 DELEGRETURN: a client gives a delegation back
	LINK        // a hard link (Dovecot's dotlocks without dotlock_use_excl)
	NumOps
)

var opNames = [...]string{"GETATTR", "LOOKUP", "ACCESS", "READ", "WRITE", "COMMIT", "CREATE", "REMOVE", "RENAME", "SETATTR", "READDIR", "READDIRPLUS", "LOCK", "UNLOCK", "OPEN", "CLOSE", "DELEGRETURN", "LINK"}

// String returns the procedure's name.
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", o)
}

// Server describes the NFS server (filer) and the network to it.
type Server struct {
	// Threads is the number of NFS server threads serving requests in
	// parallel (Linux nfsd's default thread count is 8, RPCNFSDCOUNT).
	Threads int `toml:"threads"`
	// RTT is the network round trip between a backend and the server. A
	// loopback RPC costs 40–60 µs; a real filer over a LAN under load adds
	// 0.2–2 ms (MEASURED.md, NFSv3 over loopback).
	RTT sim.Time `toml:"rtt"`
	// Service is the server's time per operation, per procedure
	// (MEASURED.md: GETATTR ≈ an empty RPC, 40–60 µs on loopback; unlink
	// 112–148 µs on ext4; fsync p50 184 µs).
	Service [NumOps]sim.Time `toml:"-"`
	// PerEntry is READDIR's and READDIRPLUS's extra service time per
	// directory entry (MEASURED.md: 1.4–2.0 µs and 3.6–5.4 µs).
	ReaddirPerEntry     sim.Time `toml:"-"`
	ReaddirplusPerEntry sim.Time `toml:"-"`
	// ReadBytesPerSec is the server's streaming rate for READ and WRITE
	// payloads beyond the per-call cost.
	BytesPerSec float64 `toml:"bytes_per_sec"`
	// LeaseTime is the NFSv4 lease: a client that has not renewed its
	// lease for this long loses its locks and delegations (Linux nfsd's
	// default 90 s, /proc/fs/nfsd/nfsv4leasetime, fs/nfsd/nfsctl.c).
	LeaseTime sim.Time `toml:"-"`
	// Delegations says whether an NFSv4 server hands out read
	// delegations (Linux nfsd does while the fs.leases-enable sysctl is
	// 1, its default).
	Delegations bool `toml:"-"`
	// DelayRetry is how long an NFSv4 client waits before it retries a
	// call the server answered with NFS4ERR_DELAY, as it does while a
	// delegation it conflicts with is recalled: the Linux client waits
	// NFS4_POLL_RETRY_MIN (HZ/10, 100 ms) first (fs/nfs/nfs4proc.c,
	// nfs4_delay).
	DelayRetry sim.Time `toml:"-"`
}

// DefaultServer returns the default server: Linux nfsd's 8 threads, a LAN
// round trip of 0.5 ms and service times from MEASURED.md.
func DefaultServer() Server {
	s := Server{
		Threads:             8,
		RTT:                 500 * sim.Microsecond,
		ReaddirPerEntry:     1700 * sim.Nanosecond,
		ReaddirplusPerEntry: 4500 * sim.Nanosecond,
		BytesPerSec:         400e6,
	}
	for o := range s.Service {
		s.Service[o] = 50 * sim.Microsecond
	}
	s.Service[READ] = 60 * sim.Microsecond
	s.Service[WRITE] = 80 * sim.Microsecond
	s.Service[COMMIT] = 184 * sim.Microsecond
	s.Service[CREATE] = 120 * sim.Microsecond
	s.Service[REMOVE] = 130 * sim.Microsecond
	s.Service[RENAME] = 120 * sim.Microsecond
	s.Service[READDIR] = 60 * sim.Microsecond
	s.Service[READDIRPLUS] = 60 * sim.Microsecond
	// NFSv4: an OPEN does a LOOKUP's and a GETATTR's work on the server;
	// CLOSE and DELEGRETURN only drop state (an empty call's cost).
	s.Service[OPEN] = 60 * sim.Microsecond
	s.Service[LINK] = 120 * sim.Microsecond // a name made, as RENAME
	s.LeaseTime = 90 * sim.Second
	s.Delegations = true
	s.DelayRetry = 100 * sim.Millisecond
	return s
}

// ServiceTime returns the server time for one call of op moving bytes of
// payload or listing entries directory entries.
func (s *Server) ServiceTime(op Op, bytes int64, entries int) sim.Time {
	t := s.Service[op]
	switch op {
	case READ, WRITE:
		if s.BytesPerSec > 0 {
			// Saturating: an absurd size costs forever, not a negative time.
			x := sim.FromFloat(float64(bytes) / s.BytesPerSec * float64(sim.Second))
			if x > sim.Never-t {
				return sim.Never
			}
			t += x
		}
	case READDIR:
		t += sim.Time(entries) * s.ReaddirPerEntry
	case READDIRPLUS:
		t += sim.Time(entries) * s.ReaddirplusPerEntry
	}
	return t
}
