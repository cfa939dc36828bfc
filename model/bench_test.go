package model

import (
	"runtime"
	"testing"

	"mailsim/model/sim"
)

// BenchmarkCluster runs the default cluster for one simulated hour under a
// router that pins each user to a backend by name; it reports simulated
// events per second of wall time and the heap per user (measured after
// the run, so it includes the run's queues at their end).
func BenchmarkCluster(b *testing.B) {
	for _, users := range []int{3000, 100000} {
		b.Run(itoa(users)+"users", func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Population.Users = users
			if users >= 100000 {
				// An ISP-sized cluster: 8 backends, and a filer with 64
				// server threads (8 would be overloaded by 100,000 users
				// and its queue would grow without bound).
				cfg.Backends = 8
				cfg.Server.Threads = 64
			}
			cfg.Warmup = 5 * sim.Minute
			var events uint64
			var heap float64
			for i := 0; i < b.N; i++ {
				var before runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				res, err := Run(cfg, &userHashRouter{n: cfg.Backends}, uint64(i+1))
				if err != nil {
					b.Fatal(err)
				}
				events += res.Events
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				heap = float64(after.HeapAlloc) - float64(before.HeapAlloc)
				_ = res
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(heap/float64(users), "heapB/user")
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
