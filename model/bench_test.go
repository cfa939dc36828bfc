package model

import (
	"runtime"
	"testing"

	"mailsim/model/sim"
)

// BenchmarkCluster runs the default cluster for one simulated hour under a
// router that pins each user to a backend by name; it reports simulated
// events per second of wall time and two measures of heap per user:
// heapB/user is the growth of the heap over the run read without a
// collection (so it includes the run's garbage not yet collected), and
// liveB/user is the live heap after a collection at the end of the run,
// with the cluster's state still reachable.
func BenchmarkCluster(b *testing.B) {
	for _, users := range []int{3000, 20000, 100000} {
		b.Run(itoa(users)+"users", func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Population.Users = users
			if users >= 20000 {
				// An ISP-sized cluster: 8 backends, and a filer with 64
				// server threads (8 would be overloaded by 100,000 users
				// and its queue would grow without bound).
				cfg.Backends = 8
				cfg.Server.Threads = 64
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
			b.ReportMetric(heap/float64(users), "heapB/user")
			b.ReportMetric(live/float64(users), "liveB/user")
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
