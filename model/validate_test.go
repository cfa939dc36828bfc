package model

import (
	"math"
	"testing"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/workloads"
)

// deliveriesOnly is a cluster of one single-core backend whose users only
// receive mail: deliveries arrive as a Poisson process and each costs a
// fixed CPU demand, with no NFS cost, so the backend is an M/D/1 queue.
func deliveriesOnly(users int, interval, demand sim.Time) Config {
	cfg := DefaultConfig()
	cfg.Backends, cfg.Cores = 1, 1
	cfg.Population.Users = users
	cfg.Population.Desktop, cfg.Population.Phone, cfg.Population.Webmail = 0, 0, 0
	cfg.Population.AggressiveFraction = 0
	cfg.Profile.Normal.DeliveryInterval = interval
	cfg.CPU.Command[workloads.Deliver] = demand
	cfg.Server.RTT = 0
	cfg.Server.Service = [nfsmodel.NumOps]sim.Time{}
	cfg.Server.BytesPerSec = 1e30
	cfg.Dovecot.LMTPIndexUpdate = false
	cfg.Warmup = 2 * sim.Minute
	cfg.Duration = sim.Hour
	return cfg
}

// TestDeliveriesMatchMD1 checks the model against Pollaczek-Khinchine: an
// M/D/1 queue with arrival rate λ and service time D has mean time in
// system D + λD²/(2(1-λD)).
func TestDeliveriesMatchMD1(t *testing.T) {
	for _, rho := range []float64{0.5, 0.8} {
		const users = 1000
		interval := 20 * sim.Second // λ = 1000/20 = 50 per second
		lambda := float64(users) / interval.Sec()
		d := rho / lambda
		cfg := deliveriesOnly(users, interval, sim.Seconds(d))
		res, err := Run(cfg, &userHashRouter{n: 1}, 11)
		if err != nil {
			t.Fatal(err)
		}
		h := &res.Latency[workloads.Deliver]
		want := d + lambda*d*d/(2*(1-lambda*d))
		got := h.Mean()
		t.Logf("ρ=%.1f: %d deliveries, mean time in system %.5f s, M/D/1 %.5f s", rho, h.N, got, want)
		if rel := math.Abs(got-want) / want; rel > 0.05 {
			t.Errorf("ρ=%.1f: mean %.5f s, M/D/1 gives %.5f s (%.1f%% off)", rho, got, want, 100*rel)
		}
		// The count is Poisson with mean λ·T: allow four standard deviations.
		n := lambda * cfg.Duration.Sec()
		if math.Abs(float64(h.N)-n) > 4*math.Sqrt(n) {
			t.Errorf("ρ=%.1f: %d deliveries in %v, expected %.0f ± %.0f", rho, h.N, cfg.Duration, n, 4*math.Sqrt(n))
		}
	}
}

func TestLRU(t *testing.T) {
	tests := []struct {
		name     string
		capacity int64
		pattern  []int32
		size     int64
		hits     int
	}{
		{"fits", 300, []int32{1, 2, 3, 1, 2, 3, 1, 2, 3}, 100, 6},
		{"cyclic scan one too many", 300, []int32{1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4}, 100, 0},
		{"recency protects", 300, []int32{1, 2, 3, 1, 4, 1, 2}, 100, 2},
		{"larger than cache", 50, []int32{1, 1, 1}, 100, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newLRU(tc.capacity)
			hits := 0
			for _, k := range tc.pattern {
				if c.touch(k, tc.size) {
					hits++
				}
				if c.used > c.capacity {
					t.Fatalf("cache holds %d bytes over its %d", c.used, c.capacity)
				}
			}
			if hits != tc.hits {
				t.Errorf("%d hits, want %d", hits, tc.hits)
			}
		})
	}
}

// TestDiurnalThinsDeliveries checks that an hour with a quarter of the
// peak activity gets a quarter of the peak's deliveries.
func TestDiurnalThinsDeliveries(t *testing.T) {
	cfg := deliveriesOnly(1000, 20*sim.Second, sim.Millisecond)
	cfg.Warmup = 0
	cfg.Duration = 2 * sim.Hour
	cfg.Profile.Diurnal = make([]float64, 24)
	for h := range cfg.Profile.Diurnal {
		cfg.Profile.Diurnal[h] = 4
	}
	cfg.Profile.Diurnal[11] = 1 // the second hour of a run starting at 10:00
	cfg.Profile.StartHour = 10
	res, err := Run(cfg, &userHashRouter{n: 1}, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := 50.0*3600 + 50.0*3600/4
	got := float64(res.Latency[workloads.Deliver].N)
	if math.Abs(got-want) > 4*math.Sqrt(want) {
		t.Errorf("%v deliveries in a peak hour and a quarter hour, expected %.0f", got, want)
	}
}
