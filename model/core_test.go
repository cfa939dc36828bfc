package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/strategies"
	"github.com/mailsim/mailsim/workloads"
)

// contractRouter wraps a router and checks the router contract: every
// decision that names a backend is closed exactly once, on that backend,
// no earlier than it was made.
type contractRouter struct {
	strategies.Router
	t       *testing.T
	n       int
	routed  map[routeKey]int
	open    int
	routes  int
	closes  []closeAt
	warmup  time.Duration
	measure int // routes with Now >= warmup that named a backend
	now     func() time.Duration
}

type routeKey struct {
	req     strategies.Request
	backend int
}

type closeAt struct {
	at      time.Duration
	backend int
}

func newContractRouter(t *testing.T, r strategies.Router, n int, warmup time.Duration) *contractRouter {
	return &contractRouter{Router: r, t: t, n: n, routed: map[routeKey]int{}, warmup: warmup}
}

func (c *contractRouter) Route(req strategies.Request) strategies.Decision {
	d := c.Router.Route(req)
	if d.Backend >= 0 && d.Backend < c.n {
		c.routed[routeKey{req, d.Backend}]++
		c.open++
		c.routes++
		if req.Now >= c.warmup {
			c.measure++
		}
	}
	return d
}

func (c *contractRouter) Closed(req strategies.Request, backend int) {
	k := routeKey{req, backend}
	if c.routed[k] == 0 {
		c.t.Errorf("Closed(%s at %v, backend %d) for a decision not routed there or already closed", req.User, req.Now, backend)
		return
	}
	c.routed[k]--
	c.open--
	var at time.Duration
	if c.now != nil {
		at = c.now()
		if at < req.Now {
			c.t.Errorf("Closed at %v before the routing at %v", at, req.Now)
		}
	}
	c.closes = append(c.closes, closeAt{at, backend})
	c.Router.Closed(req, backend)
}

// outstanding counts what a run still owes the router at its end: routed
// connections still open, and notices not yet due.
func outstanding(cl *cluster) int {
	n := 0
	for i := range cl.conns {
		c := &cl.conns[i]
		if c.dev > -2 && c.open && c.routed {
			n++
		}
	}
	for _, nt := range cl.notices {
		if !nt.done && nt.routed {
			n++
		}
	}
	return n
}

// TestRouterContract checks routed = closed + open for every strategy and
// fault kind, and that the router hears of connections to a hung backend
// only when a client or proxy could have noticed.
func TestRouterContract(t *testing.T) {
	hangAt := 2 * sim.Minute
	faults := []struct {
		name   string
		faults []Fault
	}{
		{"none", nil},
		{"crash", []Fault{{At: hangAt, Backend: 1, Kind: Crash}}},
		{"crash-recover", []Fault{{At: hangAt, Backend: 1, Kind: Crash}, {At: 4 * sim.Minute, Backend: 1, Kind: Recover}}},
		{"hang", []Fault{{At: hangAt, Backend: 1, Kind: Hang}}},
		{"hang-crash", []Fault{{At: hangAt, Backend: 1, Kind: Hang}, {At: hangAt + 40*sim.Second, Backend: 1, Kind: Crash}}},
		{"slow", []Fault{{At: hangAt, Backend: 1, Kind: Slow, Factor: 50}}},
		{"nfs-slow", []Fault{{At: hangAt, Kind: NFSSlow, Factor: 20}}},
	}
	for _, name := range strategies.Names() {
		for _, f := range faults {
			for _, lmtpAny := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/lmtp-any=%v", name, f.name, lmtpAny), func(t *testing.T) {
					cfg := smallConfig()
					cfg.Duration = 6 * sim.Minute
					cfg.Faults = f.faults
					cfg.LMTPToAnyBackend = lmtpAny
					bs := make([]strategies.Backend, cfg.Backends)
					for i := range bs {
						bs[i] = strategies.Backend{Addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), Weight: strategies.DefaultWeight(name)}
					}
					var p strategies.Params
					if name == strategies.PassdbStatic {
						// Every user has a row, spread over the backends.
						p.Passdb.Map = map[string]int{}
						for u := range cfg.Population.Users {
							p.Passdb.Map[fmt.Sprintf("user%06d@%s", u, cfg.Population.Domain)] = u % cfg.Backends
						}
					}
					inner, err := strategies.New(name, bs, p, sim.Source(1, "strategy"))
					if err != nil {
						t.Fatal(err)
					}
					mon := strategies.MonitorHAProxy
					if inner.Name() == "director" || len(name) > 8 && name[:8] == "director" {
						mon = strategies.MonitorNone
					}
					m, err := strategies.NewMonitor(mon, cfg.Backends, strategies.MonitorParams{})
					if err != nil {
						t.Fatal(err)
					}
					r := newContractRouter(t, inner, cfg.Backends, time.Duration(cfg.Warmup))
					cl, err := newCluster(&cfg, r, 1)
					if err != nil {
						t.Fatal(err)
					}
					r.now = func() time.Duration { return time.Duration(cl.s.Now()) }
					cl.monitor, cl.monitorAt = m, sim.Never
					cl.start(1)
					cl.s.Run(cfg.Warmup, cl)
					cl.startMeasuring()
					cl.s.Run(cfg.Warmup+cfg.Duration, cl)
					if cl.overload != nil {
						t.Fatal(cl.overload)
					}
					if r.routes == 0 {
						t.Fatal("nothing was routed")
					}
					if got := outstanding(cl); got != r.open {
						t.Errorf("routed %d, closed %d: %d still open by the router's count, %d open or pending in the model",
							r.routes, r.routes-r.open, r.open, got)
					}
					if f.name == "hang" || f.name == "hang-crash" {
						// Nobody learns of a hang before the proxy's or the
						// client's timeout, whichever is shorter.
						at := time.Duration(cfg.Warmup + hangAt)
						quiet := at + time.Duration(min(cfg.Clients.LoginProxyTimeout, cfg.Clients.Timeout))
						for _, c := range r.closes {
							if c.backend == 1 && c.at > at && c.at < quiet {
								t.Errorf("the router heard of a connection to hung backend 1 closing at %v, before anyone could notice (hang at %v)", c.at, at)
								break
							}
						}
					}
				})
			}
		}
	}
}

// hangConfig is a small run with a hung backend and a client timeout long
// enough to see when failures are counted.
func hangConfig(faults ...Fault) Config {
	cfg := smallConfig()
	cfg.Duration = 12 * sim.Minute
	cfg.Clients.Timeout = 5 * sim.Minute
	cfg.Faults = faults
	return cfg
}

// failedLoginsBetween sums the failed logins the time series saw in
// samples taken in (from, to], times counted from the end of warm-up.
func failedLoginsBetween(cfg Config, res *Result, from, to sim.Time) uint64 {
	var sum, prev uint64
	for _, s := range res.Series {
		at := s.At - cfg.Warmup
		if at > from && at <= to {
			sum += s.FailedLogins - prev
		}
		prev = s.FailedLogins
	}
	return sum
}

// TestFailuresCountedAtAnswer: a login to a hung backend fails, for the
// client, only when its timeout expires; the time series and
// time_to_recover both count it then.
func TestFailuresCountedAtAnswer(t *testing.T) {
	hang := Fault{At: sim.Minute, Backend: 0, Kind: Hang}
	cfg := hangConfig(hang)
	res, err := Run(cfg, &userHashRouter{n: cfg.Backends, roundRobin: true}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if early := failedLoginsBetween(cfg, res, hang.At, hang.At+cfg.Clients.Timeout-cfg.SampleInterval); early != 0 {
		t.Errorf("%d failed logins counted before any client could time out", early)
	}
	if res.FailedLogins == 0 {
		t.Fatal("no failed logins at all")
	}
	if res.LastFailure < cfg.Warmup+hang.At+cfg.Clients.Timeout {
		t.Errorf("last failure at %v, before the first timeout", res.LastFailure)
	}
}

// TestCrashAfterHang: a crash of a hung backend resets its connections, so
// the clients still waiting on it learn of it at the crash, not at their
// timeout.
func TestCrashAfterHang(t *testing.T) {
	hang := Fault{At: sim.Minute, Backend: 0, Kind: Hang}
	crash := Fault{At: 2 * sim.Minute, Backend: 0, Kind: Crash}
	for _, tc := range []struct {
		name   string
		faults []Fault
		early  bool
	}{
		{"hang", []Fault{hang}, false},
		{"hang then crash", []Fault{hang, crash}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := hangConfig(tc.faults...)
			res, err := Run(cfg, &userHashRouter{n: cfg.Backends, roundRobin: true}, 3)
			if err != nil {
				t.Fatal(err)
			}
			got := failedLoginsBetween(cfg, res, crash.At-cfg.SampleInterval, hang.At+cfg.Clients.Timeout-cfg.SampleInterval)
			if (got > 0) != tc.early {
				t.Errorf("%d failed logins between the crash and the clients' timeout; want some: %v", got, tc.early)
			}
		})
	}
}

// TestMeasuredPeriodOnly: counters cover the measured period, not
// warm-up, so a long warm-up before a short measurement leaves them small.
func TestMeasuredPeriodOnly(t *testing.T) {
	cfg := smallConfig()
	cfg.Warmup = 20 * sim.Minute
	cfg.Duration = 2 * sim.Minute
	r := newContractRouter(t, &userHashRouter{n: cfg.Backends}, cfg.Backends, time.Duration(cfg.Warmup))
	res, err := Run(cfg, r, 5)
	if err != nil {
		t.Fatal(err)
	}
	var logins uint64
	for _, b := range res.Backends {
		logins += b.Logins
	}
	if logins != uint64(r.measure) {
		t.Errorf("backends counted %d logins; the router routed %d in the measured period (%d in all)", logins, r.measure, r.routes)
	}
	if res.NFSUtilization*float64(cfg.Duration) > float64(cfg.Duration)*float64(cfg.Server.Threads) {
		t.Errorf("NFS utilisation %g over 1", res.NFSUtilization)
	}
}

// TestStationaryStart: the measured period starts at steady state, so the
// connections open at its start are within 5 % of its mean.
func TestStationaryStart(t *testing.T) {
	isp := DefaultConfig()
	isp.Population.Users = 10000
	isp.Backends, isp.Server.Threads = 8, 64
	isp.Profile.Normal = workloads.Behavior{SessionLength: 10 * sim.Minute, ActionDelay: 30 * sim.Second, Reconnect: 50 * sim.Minute, DeliveryInterval: 20 * sim.Minute}
	isp.Profile.Aggressive = workloads.Behavior{SessionLength: 20 * sim.Minute, ActionDelay: 10 * sim.Second, Reconnect: 2 * sim.Minute, DeliveryInterval: 2 * sim.Minute}
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"default", DefaultConfig()},
		{"isp", isp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Run(tc.cfg, &userHashRouter{n: tc.cfg.Backends}, 1)
			if err != nil {
				t.Fatal(err)
			}
			var sum float64
			for _, s := range res.Series {
				sum += float64(s.Connections)
			}
			mean := sum / float64(len(res.Series))
			first := float64(res.Series[0].Connections)
			if math.Abs(first-mean) > 0.05*mean {
				t.Errorf("%.0f connections at the start of the measured period, %.0f on average", first, mean)
			}
			if st := res.Stationarity(); !st.Stationary {
				t.Errorf("not stationary: %+v", st)
			}
		})
	}
}

// TestStationarityFlagsRamp: a measured period that begins with a ramp is
// reported as not stationary.
func TestStationarityFlagsRamp(t *testing.T) {
	var res Result
	for i := range 360 {
		level := 6600.0
		if i < 100 {
			level = 2200 + 44*float64(i)
		}
		res.Series = append(res.Series, Sample{Connections: int(level) + i%7, Commands: uint64(i) * 1000})
	}
	st := res.Stationarity()
	if st.Stationary || st.Discard < 0.2 {
		t.Errorf("a ramp over the first 28 %% of the period: %+v", st)
	}
}

func TestMSER5(t *testing.T) {
	flat := make([]float64, 100)
	ramp := make([]float64, 100)
	for i := range flat {
		flat[i] = 10 + float64(i%3)
		ramp[i] = 10 + float64(i%3)
		if i < 30 {
			ramp[i] = float64(i) / 3
		}
	}
	for _, tc := range []struct {
		name     string
		xs       []float64
		min, max int
		ok       bool
	}{
		{"too short", flat[:19], 0, 0, false},
		{"flat", flat, 0, 5, true},
		{"ramp", ramp, 25, 35, true},
		{"constant", make([]float64, 40), 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cut, ok := MSER5(tc.xs)
			if ok != tc.ok || cut < tc.min || cut > tc.max {
				t.Errorf("MSER5 = %d, %v; want %d..%d, %v", cut, ok, tc.min, tc.max, tc.ok)
			}
		})
	}
}

// countdownContext is a context that reports itself cancelled after its
// Err has been asked n times: a deterministic stand-in for a Ctrl-C in
// the middle of a run.
type countdownContext struct {
	context.Context
	n int
}

func (c *countdownContext) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}

// TestRunsEnd: configurations that used to run forever end, or stop with
// an error that names what to change.
func TestRunsEnd(t *testing.T) {
	allDown := func(cfg *Config) {
		for b := range cfg.Backends {
			cfg.Faults = append(cfg.Faults, Fault{At: 0, Backend: b, Kind: Crash})
		}
	}
	for _, tc := range []struct {
		name   string
		edit   func(*Config, *Options)
		target any // nil: the run must succeed
		check  func(*testing.T, *Result)
	}{
		{name: "no deliveries for normal users", edit: func(c *Config, _ *Options) { c.Profile.Normal.DeliveryInterval = 0 },
			check: func(t *testing.T, r *Result) {
				if r.Latency[workloads.Deliver].N == 0 {
					t.Error("aggressive users got no mail")
				}
			}},
		{name: "no deliveries at all", edit: func(c *Config, _ *Options) {
			c.Profile.Normal.DeliveryInterval, c.Profile.Aggressive.DeliveryInterval = 0, 0
		}},
		{name: "zero retry delays with every backend down", edit: func(c *Config, _ *Options) {
			allDown(c)
			c.Clients.Retry = [3]sim.Time{}
			c.Clients.DeliveryRetry = 0
		}, target: new(*StallError)},
		{name: "nanosecond retry delays with every backend down", edit: func(c *Config, _ *Options) {
			allDown(c)
			c.Clients.Retry = [3]sim.Time{1, 1, 1}
			c.MaxEvents = 3_000_000
		}, target: new(*BudgetError)},
		{name: "cancelled context", edit: func(_ *Config, o *Options) {
			o.Context = &countdownContext{Context: context.Background(), n: 50}
		}, target: &context.Canceled},
		{name: "absurd slowdown factors", edit: func(c *Config, _ *Options) {
			c.Faults = []Fault{{At: sim.Minute, Backend: 0, Kind: Slow, Factor: 1e300}, {At: sim.Minute, Kind: NFSSlow, Factor: 1e300}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := smallConfig()
			var o Options
			tc.edit(&cfg, &o)
			res, err := RunOptions(cfg, &userHashRouter{n: cfg.Backends}, o, 1)
			switch target := tc.target.(type) {
			case nil:
				if err != nil {
					t.Fatal(err)
				}
				if tc.check != nil {
					tc.check(t, res)
				}
			case *error:
				if !errors.Is(err, *target) {
					t.Fatalf("error %v, want %v", err, *target)
				}
			default:
				if err == nil || !errors.As(err, target) {
					t.Fatalf("error %v (%T), want a %T", err, err, target)
				}
				t.Log(err)
			}
		})
	}
}

// TestEventBudget: the automatic budget grows with the users and the
// simulated time, and run.max_events overrides it.
func TestEventBudget(t *testing.T) {
	cfg := DefaultConfig()
	small := cfg.EventBudget()
	cfg.Population.Users *= 10
	if big := cfg.EventBudget(); big <= small {
		t.Errorf("budget %d for 10x the users, %d before", big, small)
	}
	// A default run uses a small part of it.
	res, err := Run(smallConfig(), &userHashRouter{n: 4}, 1)
	if err != nil {
		t.Fatal(err)
	}
	sc := smallConfig()
	if b := sc.EventBudget(); res.Events*10 > b {
		t.Errorf("a small run used %d of its budget of %d events", res.Events, b)
	}
	cfg.MaxEvents = 7
	if b := cfg.EventBudget(); b != 7 {
		t.Errorf("MaxEvents 7 gave a budget of %d", b)
	}
}

// TestStationarityBeforeFaults: what a fault does to the series is not a
// transient of the start; the period before it is what is judged.
func TestStationarityBeforeFaults(t *testing.T) {
	var res Result
	for i := range 360 {
		level := 6600.0
		if i >= 120 {
			level = 3000 // a crash at sample 120 halves the connections
		}
		res.Series = append(res.Series, Sample{At: sim.Time(i+1) * 10 * sim.Second, Connections: int(level) + i%7, Commands: uint64(i) * 1000})
	}
	if st := res.Stationarity(); st.Stationary {
		t.Fatalf("a step in the series without a fault looks stationary: %+v", st)
	}
	res.FaultAt = 120 * 10 * sim.Second
	if st := res.Stationarity(); !st.Stationary {
		t.Errorf("the period before the fault is stationary, but: %+v", st)
	}
}
