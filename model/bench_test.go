package model

import (
	"runtime"
	"testing"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/workloads"
)

// BenchmarkCluster runs the default cluster for one simulated hour under a
// router that pins each user to a backend by name; it reports simulated
// events per second of wall time and two measures of heap per user:
// heapB/user is the growth of the heap over the run read without a
// collection (so it includes the run's garbage not yet collected), and
// liveB/user is the live heap after a collection at the end of the run,
// with the cluster's state still reachable.
func BenchmarkCluster(b *testing.B) {
	// isp is a consumer ISP's peak hour, the profile of the example
	// capacity plan (experiments/isp-1m-plan.toml): most devices connect
	// about once an hour for ten minutes, a tenth of the users behave like
	// imaptest's "normal" user. imaptest's own profiles (the default) are
	// stress profiles in which every user is connected and busy, with
	// about 13,000 simulated events per user and hour.
	isp := func(cfg *Config) {
		cfg.Profile.Normal = workloads.Behavior{
			SessionLength: 10 * sim.Minute, ActionDelay: 30 * sim.Second,
			Reconnect: 50 * sim.Minute, DeliveryInterval: 20 * sim.Minute,
		}
		cfg.Profile.Aggressive = workloads.Behavior{
			SessionLength: 20 * sim.Minute, ActionDelay: 10 * sim.Second,
			Reconnect: 2 * sim.Minute, DeliveryInterval: 2 * sim.Minute,
		}
	}
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
			var events uint64
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
			b.ReportMetric(heap/float64(bc.users), "heapB/user")
			b.ReportMetric(live/float64(bc.users), "liveB/user")
		})
	}
}
