package model

import (
	"hash/fnv"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/strategies"
)

// userHashRouter pins every user to one backend by a hash of the name, and
// can instead spread connections round-robin. It stands in for real
// strategies in model tests.
type userHashRouter struct {
	n          int
	roundRobin bool
	next       int
}

func (r *userHashRouter) Name() string { return "test" }
func (r *userHashRouter) Route(req strategies.Request) strategies.Decision {
	if r.roundRobin {
		r.next = (r.next + 1) % r.n
		return strategies.Decision{Backend: r.next, Entry: -1}
	}
	h := fnv.New32a()
	h.Write([]byte(req.User))
	return strategies.Decision{Backend: int(h.Sum32() % uint32(r.n)), Entry: -1}
}
func (r *userHashRouter) Closed(strategies.Request, int)   {}
func (r *userHashRouter) SetDown(time.Duration, int, bool) {}

func smallConfig() Config {
	cfg := DefaultConfig()
	cfg.Population.Users = 300
	cfg.Duration = 10 * sim.Minute
	cfg.Warmup = sim.Minute
	return cfg
}

func TestRunSmoke(t *testing.T) {
	cfg := smallConfig()
	for _, rr := range []bool{false, true} {
		res, err := Run(cfg, &userHashRouter{n: cfg.Backends, roundRobin: rr}, 1)
		if err != nil {
			t.Fatal(err)
		}
		all := res.IMAPLatency()
		t.Logf("roundRobin=%v commands=%d p50=%.4f p99=%.4f nfs=%.0f/s stale=%d errors=%d multi=%d hit=%.3f events=%d",
			rr, res.Commands, all.Quantile(.5), all.Quantile(.99), res.NFSOpsPerSecond(), res.StaleReads, res.errorTotal(), res.UsersMultiBackend, res.CacheHitRatio(), res.Events)
		if res.Commands == 0 || all.N == 0 {
			t.Fatalf("no commands measured")
		}
		if !rr && res.UsersMultiBackend != 0 {
			t.Errorf("a router that pins users by name put %d users on two backends", res.UsersMultiBackend)
		}
		if rr && res.UsersMultiBackend == 0 {
			t.Errorf("round-robin routing should put multi-device users on several backends")
		}
	}
}

func TestRunIsDeterministic(t *testing.T) {
	cfg := smallConfig()
	a, err := Run(cfg, &userHashRouter{n: cfg.Backends, roundRobin: true}, 7)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Run(cfg, &userHashRouter{n: cfg.Backends, roundRobin: true}, 7)
	c, _ := Run(cfg, &userHashRouter{n: cfg.Backends, roundRobin: true}, 8)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different results")
	}
	if reflect.DeepEqual(a.Latency, c.Latency) {
		t.Fatal("different seeds gave identical latencies")
	}
}

func TestPinnedUsersNeverConflict(t *testing.T) {
	cfg := smallConfig()
	res, err := Run(cfg, &userHashRouter{n: cfg.Backends}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if res.StaleReads != 0 || res.errorTotal() != 0 {
		t.Fatalf("users pinned to one backend (deliveries included) saw %d stale reads and %d Dovecot errors %v", res.StaleReads, res.errorTotal(), res.Errors)
	}
}

func TestClockSkew(t *testing.T) {
	cfg := smallConfig()
	spread, err := Run(cfg, &userHashRouter{n: cfg.Backends, roundRobin: true}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if spread.ClockErrors != 0 {
		t.Errorf("%d clock errors with synchronised clocks", spread.ClockErrors)
	}
	cfg.ClockSkew = 3 * sim.Second
	skewed, _ := Run(cfg, &userHashRouter{n: cfg.Backends, roundRobin: true}, 5)
	if skewed.ClockErrors == 0 {
		t.Error("3 s of clock skew between backends sharing mailboxes gave no errors")
	}
	pinned, _ := Run(cfg, &userHashRouter{n: cfg.Backends}, 5)
	if pinned.ClockErrors != 0 {
		t.Errorf("pinned users: %d clock errors", pinned.ClockErrors)
	}
}

func TestLockMethodsAndMmap(t *testing.T) {
	base := smallConfig()
	base.Dovecot.MmapDisable = true
	run := func(mut func(*Config)) *Result {
		cfg := base
		mut(&cfg)
		res, err := Run(cfg, &userHashRouter{n: cfg.Backends, roundRobin: true}, 9)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	fcntl := run(func(*Config) {})
	dot := run(func(c *Config) { c.Dovecot.LockMethod = "dotlock" })
	local := run(func(c *Config) { c.Mount.LocalLock = true })
	mapped := run(func(c *Config) { c.Dovecot.MmapDisable = false })
	// Commands in flight when measuring starts may have locked before
	// and unlock after; those in flight when the run ends, the reverse.
	if l, u := fcntl.NFSOps[nfsmodel.LOCK], fcntl.NFSOps[nfsmodel.UNLOCK]; l == 0 || max(l, u)-min(l, u) > 10 {
		t.Errorf("fcntl: %d LOCK and %d UNLOCK calls", fcntl.NFSOps[nfsmodel.LOCK], fcntl.NFSOps[nfsmodel.UNLOCK])
	}
	if dot.NFSOps[nfsmodel.LOCK] != 0 || dot.NFSOps[nfsmodel.CREATE] <= fcntl.NFSOps[nfsmodel.CREATE] {
		t.Errorf("dotlock: %d LOCK calls, %d CREATE against fcntl's %d", dot.NFSOps[nfsmodel.LOCK], dot.NFSOps[nfsmodel.CREATE], fcntl.NFSOps[nfsmodel.CREATE])
	}
	if local.NFSOps[nfsmodel.LOCK] != 0 {
		t.Errorf("local_lock still sent %d LOCK calls", local.NFSOps[nfsmodel.LOCK])
	}
	if fcntl.LockWaits == 0 || fcntl.LockWait <= 0 {
		t.Errorf("users spread over backends never waited for an index lock (%d waits)", fcntl.LockWaits)
	}
	if mapped.StaleReads <= fcntl.StaleReads {
		t.Errorf("mmap_disable=no gave %d stale reads, no more than mmap_disable=yes's %d", mapped.StaleReads, fcntl.StaleReads)
	}
	t.Logf("lock waits: fcntl %d (mean %.4f s), dotlock %d, local %d; stale reads with mmap %d, without %d",
		fcntl.LockWaits, fcntl.lockWaitMean(), dot.LockWaits, local.LockWaits, mapped.StaleReads, fcntl.StaleReads)
}

func TestProcessLimitAndUserMoves(t *testing.T) {
	cfg := smallConfig()
	pinned, err := Run(cfg, &userHashRouter{n: cfg.Backends}, 2)
	if err != nil {
		t.Fatal(err)
	}
	spread, _ := Run(cfg, &userHashRouter{n: cfg.Backends, roundRobin: true}, 2)
	if pinned.UserMoves != 0 || spread.UserMoves == 0 {
		t.Errorf("user moves: pinned %d, spread %d", pinned.UserMoves, spread.UserMoves)
	}
	if pinned.RefusedLogins != 0 {
		t.Errorf("%d logins refused without a process limit", pinned.RefusedLogins)
	}
	most := 0
	for _, b := range pinned.Backends {
		most = max(most, b.MaxConnections)
	}
	cfg.ProcessLimit = most / 2
	limited, _ := Run(cfg, &userHashRouter{n: cfg.Backends}, 2)
	if limited.RefusedLogins == 0 || limited.FailedLogins < limited.RefusedLogins {
		t.Errorf("process limit %d: %d refused, %d failed logins", cfg.ProcessLimit, limited.RefusedLogins, limited.FailedLogins)
	}
	for i, b := range limited.Backends {
		if b.MaxConnections > cfg.ProcessLimit+cfg.MXHosts*10 {
			t.Errorf("backend %d held %d connections over a limit of %d", i, b.MaxConnections, cfg.ProcessLimit)
		}
	}
}

// TestOverloadStopsTheRun checks that an NFS server that cannot keep up
// with the deliveries (which arrive whatever the latency, unlike client
// commands) ends the run with an error saying so, instead of queueing
// without bound.
func TestOverloadStopsTheRun(t *testing.T) {
	cfg := smallConfig()
	cfg.Population.Users = 1000
	cfg.Population.AggressiveFraction = 1 // a delivery every 5 s for every user
	cfg.Server.Threads = 1
	for op := range cfg.Server.Service {
		cfg.Server.Service[op] = 20 * sim.Millisecond
	}
	_, err := Run(cfg, &userHashRouter{n: cfg.Backends}, 1)
	if err == nil || !strings.Contains(err.Error(), "the NFS server is overloaded") || !strings.Contains(err.Error(), "nfs.threads") {
		t.Fatalf("an overloaded NFS server gave %v", err)
	}
}
