package model

import (
	"testing"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
)

// storageBase is the damage tests' cluster: busy users on two backends.
func storageBase() Config {
	cfg := smallConfig()
	cfg.Backends = 2
	cfg.Population.Users = 12
	cfg.Population.AggressiveFraction = 1
	return cfg
}

// TestStorageKinds runs each storage kind with users pinned to one
// backend and with users spread over both, and checks what each kind's
// mechanisms promise: coherent storage (a cluster file system, one
// server's disk) shows no stale reads and no damage whatever the routing,
// a cluster file system pays for the spreading with lock transfers
// between nodes instead; a FUSE file system caches attributes as NFS
// does and shows the same damage.
func TestStorageKinds(t *testing.T) {
	tests := []struct {
		name      string
		kind      nfsmodel.Kind
		spread    bool
		damage    bool // Dovecot errors and stale reads occur
		transfers bool // the cluster's lock manager moves locks
	}{
		{"nfs pinned", nfsmodel.KindNFS, false, false, false},
		{"nfs spread", nfsmodel.KindNFS, true, true, false},
		{"cluster-fs pinned", nfsmodel.KindClusterFS, false, false, false},
		{"cluster-fs spread", nfsmodel.KindClusterFS, true, false, true},
		{"fuse pinned", nfsmodel.KindFUSE, false, false, false},
		{"fuse spread", nfsmodel.KindFUSE, true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := storageBase()
			cfg.Storage = tt.kind
			res, err := Run(cfg, &userHashRouter{n: cfg.Backends, roundRobin: tt.spread}, 11)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.errorTotal() > 0 && res.StaleReads > 0; got != tt.damage {
				t.Errorf("%d Dovecot errors and %d stale reads; want damage %v", res.errorTotal(), res.StaleReads, tt.damage)
			}
			if got := res.ClusterLockTransfers > 0; got != tt.transfers {
				t.Errorf("%d lock transfers; want some: %v", res.ClusterLockTransfers, tt.transfers)
			}
			if res.Commands == 0 {
				t.Error("no commands")
			}
		})
	}
}

// TestLocalStorageOneServer checks that local storage is one server.
func TestLocalStorageOneServer(t *testing.T) {
	cfg := smallConfig()
	cfg.Storage = nfsmodel.KindLocal
	if err := cfg.Validate(); err == nil {
		t.Fatal("local storage with 4 backends accepted")
	}
	cfg.Backends = 1
	res, err := Run(cfg, &userHashRouter{n: 1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if res.NFSOps[nfsmodel.GETATTR]+res.NFSOps[nfsmodel.LOOKUP] != 0 {
		t.Errorf("local storage sent %d GETATTR and %d LOOKUP calls", res.NFSOps[nfsmodel.GETATTR], res.NFSOps[nfsmodel.LOOKUP])
	}
	if res.IdleNotify.N == 0 || res.IdleNotify.Quantile(0.99) > idleNotifyDelay.Sec()+1e-3 {
		t.Errorf("IDLE notifications on one server: n=%d p99=%v s; want all after inotify's 500 ms", res.IdleNotify.N, res.IdleNotify.Quantile(0.99))
	}
}

// TestIndexLocation checks indexes kept off the shared storage: a local
// index per backend cannot be damaged by another backend (only the
// shared dovecot-uidlist can), and a backend that finds its index behind
// lists the folder again; one pinned backend never has to.
func TestIndexLocation(t *testing.T) {
	for _, tt := range []struct {
		name     string
		location string
		spread   bool
		syncs    bool
	}{
		{"local pinned", "maildir:~/Maildir:INDEX=/var/dovecot/index/%u", false, false},
		{"local spread", "maildir:~/Maildir:INDEX=/var/dovecot/index/%u", true, true},
		// Each IMAP process has its own index in memory: even on one
		// backend, an IDLE connection finds its index behind the others'.
		{"memory pinned", "maildir:~/Maildir:INDEX=MEMORY", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := storageBase()
			cfg.Dovecot.MailLocation = tt.location
			cfg.LocalPaths = []string{"/var/dovecot"}
			res, err := Run(cfg, &userHashRouter{n: cfg.Backends, roundRobin: tt.spread}, 11)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range []ErrorClass{ErrTransactionLogCorrupted, ErrTransactionLogLost, ErrIndexFsck, ErrCacheCorrupted} {
				if res.Errors[e] != 0 {
					t.Errorf("%d %s errors with the index off the shared storage", res.Errors[e], e)
				}
			}
			if res.IndexBuilds == 0 {
				t.Error("no index was ever built")
			}
			if got := res.IndexResyncs > 0; got != tt.syncs {
				t.Errorf("%d index syncs; want some: %v", res.IndexResyncs, tt.syncs)
			}
			if tt.spread && tt.location != "maildir:~/Maildir:INDEX=MEMORY" && res.Errors[ErrUidlistBroken] == 0 {
				t.Error("no uidlist damage although dovecot-uidlist stays shared")
			}
		})
	}
}

// TestLockRetention hangs or crashes one of two backends serving busy
// users and checks how long the index locks it held stay held, by lock
// method and NFS version: an NLM lock until the host comes back, an
// NFSv4 lock until its lease expires, a dotlock until it is stale; a
// crash of Dovecot alone frees fcntl locks at once.
func TestLockRetention(t *testing.T) {
	tests := []struct {
		name     string
		kind     FaultKind
		vers     nfsmodel.Vers
		lock     string
		retained bool
		// timeouts: waiters give up (the lock outlives the 3 min wait):
		// 1 yes, 0 no, -1 either (a dotlock goes stale 3 min after it
		// was made, as a wait that began just after it gives up, so
		// that the waiters queued behind the first may or may not).
		timeouts int
	}{
		{"hang NLM", Hang, nfsmodel.V3, "fcntl", true, 1},
		// The lease frees the locks after 90 s, but commands waiting on
		// recalls of the hung host's delegations hold the lock meanwhile:
		// some waits still run out (fewer than under NLM, checked below).
		{"hang NFSv4.2", Hang, nfsmodel.V42, "fcntl", true, -1},
		{"crash NLM", Crash, nfsmodel.V3, "fcntl", false, 0},
		{"crash dotlock", Crash, nfsmodel.V3, "dotlock", true, -1},
	}
	timeouts := map[string]uint64{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Many busy users behind a slow filer, so that the backend
			// holds index locks when it fails.
			cfg := storageBase()
			cfg.Population.Users = 300
			cfg.Server.RTT = 50 * sim.Millisecond
			cfg.Duration = 15 * sim.Minute
			cfg.Mount.Vers = tt.vers
			cfg.Dovecot.LockMethod = tt.lock
			cfg.Faults = []Fault{{At: 2 * sim.Minute, Backend: 1, Kind: tt.kind}}
			res, err := Run(cfg, &userHashRouter{n: cfg.Backends, roundRobin: true}, 4)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.LocksRetained > 0; got != tt.retained {
				t.Errorf("%d locks retained; want some: %v", res.LocksRetained, tt.retained)
			}
			if got := res.LockTimeouts > 0; tt.timeouts >= 0 && got != (tt.timeouts == 1) {
				t.Errorf("%d lock timeouts; want some: %v", res.LockTimeouts, tt.timeouts == 1)
			}
			if res.Errors[ErrLockTimeout] != res.LockTimeouts {
				t.Errorf("%d lock_timeout errors for %d timeouts", res.Errors[ErrLockTimeout], res.LockTimeouts)
			}
			timeouts[tt.name] = res.LockTimeouts
		})
	}
	if timeouts["hang NFSv4.2"] >= timeouts["hang NLM"] {
		t.Errorf("a hang under NFSv4.2 gave %d lock timeouts, NLM %d: the lease should free the locks sooner", timeouts["hang NFSv4.2"], timeouts["hang NLM"])
	}
}

// TestDelegations checks NFSv4 read delegations of the index files: a
// backend alone with a user returns its delegation before each
// read-write open and is never recalled; two backends on one folder
// recall it.
func TestDelegations(t *testing.T) {
	for _, spread := range []bool{false, true} {
		cfg := storageBase()
		cfg.Mount.Vers = nfsmodel.V42
		res, err := Run(cfg, &userHashRouter{n: cfg.Backends, roundRobin: spread}, 7)
		if err != nil {
			t.Fatal(err)
		}
		if res.NFSOps[nfsmodel.OPEN] == 0 || res.NFSOps[nfsmodel.CLOSE] == 0 {
			t.Errorf("spread %v: NFSv4 sent %d OPEN and %d CLOSE calls", spread, res.NFSOps[nfsmodel.OPEN], res.NFSOps[nfsmodel.CLOSE])
		}
		if res.NFSOps[nfsmodel.DELEGRETURN] == 0 {
			t.Errorf("spread %v: no delegation was returned", spread)
		}
		if got := res.DelegationRecalls > 0; got != spread {
			t.Errorf("spread %v: %d recalls", spread, res.DelegationRecalls)
		}
	}
	cfg := storageBase()
	cfg.Mount.Vers = nfsmodel.V42
	cfg.Server.Delegations = false
	res, err := Run(cfg, &userHashRouter{n: cfg.Backends, roundRobin: true}, 7)
	if err != nil {
		t.Fatal(err)
	}
	if res.NFSOps[nfsmodel.DELEGRETURN]+res.DelegationRecalls != 0 {
		t.Error("delegations without nfs.delegations")
	}
}

// TestIdleNotifyDelay checks the delay from a delivery to the IDLE
// client's notification: inotify on the delivering backend (500 ms), the
// periodic check with the directory's attribute cache elsewhere.
func TestIdleNotifyDelay(t *testing.T) {
	pinned, spread := storageBase(), storageBase()
	rp, err := Run(pinned, &userHashRouter{n: 2}, 3)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Run(spread, &userHashRouter{n: 2, roundRobin: true}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if rp.IdleNotify.N == 0 || rs.IdleNotify.N == 0 {
		t.Fatalf("no IDLE notifications: pinned %d, spread %d", rp.IdleNotify.N, rs.IdleNotify.N)
	}
	if p := rp.IdleNotify.Quantile(0.99); p > idleNotifyDelay.Sec()+1e-3 {
		t.Errorf("pinned users' IDLE p99 %v s, want inotify's %v", p, idleNotifyDelay.Sec())
	}
	if p := rs.IdleNotify.Quantile(0.99); p < 5 {
		t.Errorf("spread users' IDLE p99 %v s, want the periodic check's seconds", p)
	}
}

// TestDotlockCreate checks the calls of a dotlock: an exclusive create
// sends no LOOKUP whatever lookupcache says; without dotlock_use_excl the
// lock is a link() of a temporary file.
func TestDotlockCreate(t *testing.T) {
	for _, excl := range []bool{true, false} {
		cfg := smallConfig()
		cfg.Dovecot.LockMethod = "dotlock"
		cfg.Dovecot.DotlockUseExcl = excl
		cfg.Mount.Lookupcache = nfsmodel.LookupPos
		res, err := Run(cfg, &userHashRouter{n: cfg.Backends}, 3)
		if err != nil {
			t.Fatal(err)
		}
		if res.NFSOps[nfsmodel.LOOKUP] != 0 {
			t.Errorf("excl %v: %d LOOKUP calls before creates", excl, res.NFSOps[nfsmodel.LOOKUP])
		}
		if got := res.NFSOps[nfsmodel.LINK] > 0; got == excl {
			t.Errorf("excl %v: %d LINK calls", excl, res.NFSOps[nfsmodel.LINK])
		}
	}
}

// TestReaddirplusFirstReply checks that a Maildir scan asks for
// READDIRPLUS on its first reply only, and the stat()ing listing probe on
// every reply.
func TestReaddirplusFirstReply(t *testing.T) {
	cl := &cluster{cfg: &Config{Mount: nfsmodel.DefaultMount()}}
	c := &conn{}
	cl.takeOps(c)
	cl.readdir(c, 1000)
	var plus, plain int
	for _, r := range cl.ops(c) {
		switch r.op {
		case nfsmodel.READDIRPLUS:
			plus++
		case nfsmodel.READDIR:
			plain++
		}
	}
	// 167 entries in the READDIRPLUS reply, then 420 per READDIR reply.
	if plus != 1 || plain != 2 {
		t.Errorf("a 1000-entry scan: %d READDIRPLUS and %d READDIR replies, want 1 and 2", plus, plain)
	}
	cl.releaseOps(c)
	cl.takeOps(c)
	cl.readdirAs(c, 1000, true)
	if n := len(cl.ops(c)); n != 6 {
		t.Errorf("a 1000-entry stat()ed listing: %d replies, want 6 READDIRPLUS", n)
	}
}

// TestDbox checks the dbox formats: no dovecot-uidlist (so none of its
// damage), flags in the index alone, and a rebuild from the mail files
// after a lost index.
func TestDbox(t *testing.T) {
	for _, loc := range []string{"sdbox:~/sdbox", "mdbox:~/mdbox"} {
		cfg := storageBase()
		cfg.Dovecot.MailLocation = loc
		res, err := Run(cfg, &userHashRouter{n: cfg.Backends, roundRobin: true}, 11)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range []ErrorClass{ErrUidlistBroken, ErrUidlistDuplicate, ErrUidlistNextUIDLowered, ErrExpungedReappeared} {
			if res.Errors[e] != 0 {
				t.Errorf("%s: %d %s errors without a dovecot-uidlist", loc, res.Errors[e], e)
			}
		}
		if res.Errors[ErrIndexFsck] > 0 && res.IndexBuilds == 0 {
			t.Errorf("%s: %d index fscks and no rebuild from the mail files", loc, res.Errors[ErrIndexFsck])
		}
	}
}
