package model

import (
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/workloads"
)

// ispProfile is a consumer ISP's peak hour, the profile of the example
// capacity plan (experiments/isp-1m-plan.toml): most devices connect
// about once an hour for ten minutes, a tenth of the users behave like
// imaptest's "normal" user. imaptest's own profiles (the default) are
// stress profiles in which every user is connected and busy, with about
// 13,000 simulated events per user and hour.
func ispProfile(cfg *Config) {
	cfg.Profile.Normal = workloads.Behavior{
		SessionLength: 10 * sim.Minute, ActionDelay: 30 * sim.Second,
		Reconnect: 50 * sim.Minute, DeliveryInterval: 20 * sim.Minute,
	}
	cfg.Profile.Aggressive = workloads.Behavior{
		SessionLength: 20 * sim.Minute, ActionDelay: 10 * sim.Second,
		Reconnect: 2 * sim.Minute, DeliveryInterval: 2 * sim.Minute,
	}
}

// BenchmarkCluster runs the default cluster for one simulated hour (and
// five minutes of warm-up) under a router that pins each user to a backend
// by name. It reports simulated user-hours per second of wall time
// (userh/s: users times simulated hours, warm-up included), events per
// second, the events per second the call-by-call model would have
// dispatched for the same run (callEvents/s: every storage call its own
// arrival and completion, see nfschain.go), and two measures of heap per
// user:
// heapB/user is the growth of the heap over the run read without a
// collection (so it includes the run's garbage not yet collected), and
// liveB/user is the live heap after a collection at the end of the run,
// with the cluster's state still reachable.
func BenchmarkCluster(b *testing.B) {
	isp := ispProfile
	for _, bc := range []struct {
		name    string
		users   int
		profile func(*Config)
	}{
		{"3000users", 3000, nil},
		{"20000users", 20000, nil},
		{"100000users", 100000, nil},
		{"100000users-isp", 100000, isp},
		// The storage variants on the ISP case: what they cost.
		{"100000users-isp-nfs42", 100000, func(c *Config) { isp(c); c.Mount.Vers = nfsmodel.V42 }},
		{"100000users-isp-clusterfs", 100000, func(c *Config) { isp(c); c.Storage = nfsmodel.KindClusterFS }},
		{"100000users-isp-localindex", 100000, func(c *Config) {
			isp(c)
			c.LocalPaths = []string{"/var/dovecot"}
			c.Dovecot.MailLocation = "maildir:~/Maildir:INDEX=/var/dovecot/index/%u"
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Population.Users = bc.users
			if bc.users >= 20000 {
				// An ISP-sized cluster: 8 backends, and a filer with 64
				// server threads (8 would be overloaded by 100,000 users
				// and its queue would grow without bound).
				cfg.Backends = 8
				cfg.Server.Threads = 64
			}
			if bc.profile != nil {
				bc.profile(&cfg)
			}
			cfg.Warmup = 5 * sim.Minute
			var events, callEvents uint64
			var heap, live float64
			for i := 0; i < b.N; i++ {
				var before runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				cl, err := run(cfg, &userHashRouter{n: cfg.Backends}, Options{}, uint64(i+1))
				if err != nil {
					b.Fatal(err)
				}
				events += cl.res.Events
				callEvents += cl.callEvents()
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				heap = float64(after.HeapAlloc) - float64(before.HeapAlloc)
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&after)
				live = float64(after.HeapAlloc) - float64(before.HeapAlloc)
				runtime.KeepAlive(cl)
				b.StartTimer()
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(callEvents)/b.Elapsed().Seconds(), "callEvents/s")
			b.ReportMetric(float64(b.N)*float64(bc.users)*(cfg.Warmup+cfg.Duration).Sec()/3600/b.Elapsed().Seconds(), "userh/s")
			b.ReportMetric(heap/float64(bc.users), "heapB/user")
			b.ReportMetric(live/float64(bc.users), "liveB/user")
		})
	}
}

// benchUsers is the population of the ISP-sized benchmarks:
// MAILSIM_BENCH_USERS, else def.
func benchUsers(b *testing.B, def int) int {
	v := os.Getenv("MAILSIM_BENCH_USERS")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("MAILSIM_BENCH_USERS=%q: want a positive number of users", v)
	}
	return n
}

// ispCluster is an ISP-sized cluster for the given population, with the
// ISP profile: backends as the 100,000-user case has them and twice its
// nfsd threads, scaled with the population (one filer's threads stand
// for the filers a site this size would have, with room for the logins
// of the devices in session at the start). Devices start at a random
// point of their session cycle, so the population is in its steady
// state from the start and the run has no warm-up.
func ispCluster(users int, d sim.Time) Config {
	cfg := DefaultConfig()
	cfg.Population.Users = users
	cfg.Backends = max(8, users/12_500)
	cfg.Server.Threads = max(64, 128*users/100_000)
	ispProfile(&cfg)
	cfg.Warmup = 0
	cfg.Duration = d
	return cfg
}

// BenchmarkISPHour runs one peak hour of an ISP's population
// (MAILSIM_BENCH_USERS, default 1,000,000) and reports the simulated
// user-hours per second of wall time (on one core: the run is one
// goroutine).
func BenchmarkISPHour(b *testing.B) {
	users := benchUsers(b, 1_000_000)
	cfg := ispCluster(users, sim.Hour)
	var callEvents uint64
	for i := 0; i < b.N; i++ {
		cl, err := run(cfg, &userHashRouter{n: cfg.Backends}, Options{}, uint64(i+1))
		if err != nil {
			b.Fatal(err)
		}
		callEvents += cl.callEvents()
	}
	b.ReportMetric(float64(b.N)*float64(users)/b.Elapsed().Seconds(), "userh/s")
	b.ReportMetric(float64(callEvents)/b.Elapsed().Seconds(), "callEvents/s")
}

// BenchmarkClusterMemory builds an ISP-sized population and runs it for a
// simulated minute, to measure what a user costs in memory at scale:
// liveB/user is the live heap per user after a collection at the end,
// with the cluster reachable. MAILSIM_BENCH_USERS sets the population
// (default 1,000,000; the target is 10,000,000 users on a 24 GB machine,
// under 1 KB each).
func BenchmarkClusterMemory(b *testing.B) {
	users := benchUsers(b, 1_000_000)
	cfg := ispCluster(users, sim.Minute)
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		cl, err := run(cfg, &userHashRouter{n: cfg.Backends}, Options{}, uint64(i+1))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric((float64(after.HeapAlloc)-float64(before.HeapAlloc))/float64(users), "liveB/user")
		b.ReportMetric(float64(after.Sys)/float64(users), "sysB/user")
		runtime.KeepAlive(cl)
		b.StartTimer()
	}
}
