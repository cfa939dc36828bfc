package experiments

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/results"
)

// erlangC is the probability that an arrival waits in an M/M/c queue
// with offered load a = λ/μ Erlangs.
func erlangC(c int, a float64) float64 {
	// Erlang B by its stable recursion, then C from B.
	b := 1.0
	for k := 1; k <= c; k++ {
		b = a * b / (float64(k) + a*b)
	}
	rho := a / float64(c)
	return b / (1 - rho + rho*b)
}

// mmcWait simulates n customers of an FCFS M/M/c queue and returns their
// mean wait: each arrival takes the server that frees up first.
func mmcWait(c int, lambda, mu float64, n int, seed uint64) float64 {
	r := rand.New(rand.NewPCG(seed, 0x6d6d63))
	free := make([]float64, c)
	t, sum := 0.0, 0.0
	for range n {
		t += r.ExpFloat64() / lambda
		k := 0
		for j := 1; j < c; j++ {
			if free[j] < free[k] {
				k = j
			}
		}
		w := math.Max(0, free[k]-t)
		sum += w
		free[k] = t + w + r.ExpFloat64()/mu
	}
	return sum / float64(n)
}

// TestSearchFindsErlangC plans the servers of an M/M/c queue for a mean
// wait target and checks that the search finds the smallest c that Erlang
// C's closed form gives, with the queue simulated and judged with
// confidence like any plan.
func TestSearchFindsErlangC(t *testing.T) {
	const lambda, mu = 20.0, 1.0 // 20 Erlangs
	a := lambda / mu
	wq := func(c int) float64 { return erlangC(c, a) / (float64(c)*mu - lambda) }
	for _, tc := range []struct {
		name string
		want int // smallest c meeting the target
	}{
		{"light target", 22},
		{"tight target", 27},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A target halfway (geometrically) between the waits of want-1
			// and want servers, so that the answer is not a coin toss.
			target := math.Sqrt(wq(tc.want-1) * wq(tc.want))
			if !(wq(tc.want) <= target && wq(tc.want-1) > target) {
				t.Fatalf("bad target %g", target)
			}
			var ran []int
			s := &Search{
				Strategies:  []string{"fcfs"},
				BackendsMin: 1, BackendsMax: 64,
				NFSThreads: []int{1}, CacheBytes: []int64{0},
				Objectives:  []results.Objective{{Name: "mean wait", Metric: "wait", Unit: "s", Limit: target}},
				ReplicasMin: 3, ReplicasMax: 10, Confidence: 0.95,
				Measure: func(_ context.Context, trials []Trial) ([]Outcome, error) {
					out := make([]Outcome, len(trials))
					for i, tr := range trials {
						c := tr.Backends
						ran = append(ran, c)
						if float64(c)*mu <= lambda {
							out[i] = Outcome{Overloaded: "the queue"}
							continue
						}
						seed := sim.SubSeed(uint64(c), "r"+string(rune('0'+tr.Replica)))
						out[i] = Outcome{Metrics: map[string]float64{"wait": mmcWait(c, lambda, mu, 400_000, seed)}}
					}
					return out, nil
				},
			}
			plan, err := s.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			sp := plan.Strategies[0]
			if !sp.Found || sp.Chosen.Backends != tc.want {
				t.Fatalf("chose %+v (found %v), Erlang C says %d servers; probes %v", sp.Chosen, sp.Found, tc.want, probesOf(sp))
			}
			if sp.Binding == "" {
				t.Errorf("no binding objective reported")
			}
			// A bisection over 1..64 takes at most 7 probes.
			if len(sp.Probes) > 7 {
				t.Errorf("%d probes: %v", len(sp.Probes), probesOf(sp))
			}
			t.Logf("c=%d target %.4gs: %d probes %v, %d runs; binding: %s", tc.want, target, len(sp.Probes), probesOf(sp), sp.Runs, sp.Binding)
		})
	}
}

func probesOf(sp results.StrategyPlan) []int {
	var out []int
	for _, p := range sp.Probes {
		out = append(out, p.Backends)
	}
	return out
}

func TestErlangCFormula(t *testing.T) {
	// Textbook value: a = 2 Erlangs on 3 servers waits with probability
	// 4/9 (Kleinrock, Queueing Systems vol. 1).
	if got := erlangC(3, 2); math.Abs(got-4.0/9) > 1e-12 {
		t.Fatalf("erlangC(3, 2) = %v, want 4/9", got)
	}
	// The simulation agrees with the formula within 3 % over three
	// replicas of 2 million customers.
	c, lambda := 24, 20.0
	want := erlangC(c, lambda) / (float64(c) - lambda)
	got := (mmcWait(c, lambda, 1, 2_000_000, 1) + mmcWait(c, lambda, 1, 2_000_000, 2) + mmcWait(c, lambda, 1, 2_000_000, 3)) / 3
	if math.Abs(got-want)/want > 0.03 {
		t.Fatalf("simulated M/M/24 wait %g, Erlang C %g", got, want)
	}
}

func TestJudge(t *testing.T) {
	ob := results.Objective{Name: "x", Limit: 10}
	for _, tc := range []struct {
		name string
		xs   []float64
		want results.Verdict
	}{
		{"clearly below", []float64{5, 5.1, 4.9}, results.Pass},
		{"clearly above", []float64{15, 15.1, 14.9}, results.Fail},
		{"straddles", []float64{9, 11, 10}, results.Inconclusive},
		{"mean below but noisy", []float64{2, 17}, results.Inconclusive},
		{"exactly at the limit, no spread", []float64{10, 10}, results.Pass},
		{"one replica has no interval", []float64{1}, results.Inconclusive},
		{"no replicas", nil, results.Inconclusive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Judge(ob, results.ScenarioNormal, tc.xs, 0.95)
			if c.Verdict != tc.want {
				t.Fatalf("verdict %s (mean %g, bounds %g..%g), want %s", c.Verdict, c.Mean, c.Lower, c.Upper, tc.want)
			}
		})
	}
	// The bound is Student's t: two replicas 1 apart at 95 % one-sided
	// give t(0.95, 1) = 6.314 times the standard error 0.5.
	c := Judge(ob, "", []float64{4, 5}, 0.95)
	if math.Abs(c.Upper-(4.5+6.3138*0.5)) > 1e-3 {
		t.Fatalf("upper bound %g", c.Upper)
	}
}

// TestSearchLexicographic checks the search on a deterministic pass rule
// over three axes: it finds the least backends at the most threads and
// memory, then the least threads, then the least memory, and says what
// binds.
func TestSearchLexicographic(t *testing.T) {
	// Passing needs backends*threads ≥ 640 and cache ≥ 2 at 10+ backends.
	pass := func(c results.Candidate) bool {
		return c.Backends*c.NFSThreads >= 640 && c.CacheBytes >= 2 && c.Backends >= 10
	}
	// Measure is called from several goroutines at once.
	var calls atomic.Int64
	s := &Search{
		Strategies:  []string{"a", "b"},
		BackendsMin: 2, BackendsMax: 40,
		NFSThreads: []int{8, 16, 32, 64}, CacheBytes: []int64{1, 2, 4},
		Objectives:  []results.Objective{{Name: "rule", Metric: "bad", Limit: 0.5}},
		ReplicasMin: 2, ReplicasMax: 2, Confidence: 0.95, Failure: true,
		Measure: func(_ context.Context, trials []Trial) ([]Outcome, error) {
			out := make([]Outcome, len(trials))
			for i, tr := range trials {
				calls.Add(1)
				v := 1.0
				if pass(tr.Candidate) {
					v = 0
				}
				out[i] = Outcome{Metrics: map[string]float64{"bad": v}}
			}
			return out, nil
		},
	}
	plan, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() == 0 {
		t.Fatal("the search measured nothing")
	}
	want := results.Candidate{Backends: 10, NFSThreads: 64, CacheBytes: 2}
	for _, sp := range plan.Strategies {
		if !sp.Found || sp.Chosen != want {
			t.Fatalf("%s chose %+v, want %+v", sp.Strategy, sp.Chosen, want)
		}
		if sp.Binding == "" {
			t.Errorf("%s: no binding", sp.Strategy)
		}
		// Every probe that passed ran both scenarios.
		for _, p := range sp.Probes {
			n := 0
			for _, c := range p.Checks {
				if c.Scenario == results.ScenarioFailure {
					n++
				}
			}
			if p.Pass && n == 0 {
				t.Errorf("probe %+v passed without the failure scenario", p.Candidate)
			}
		}
	}
	if !slices.Equal(probesOf(plan.Strategies[0]), probesOf(plan.Strategies[1])) {
		t.Errorf("strategies searched differently: %v %v", probesOf(plan.Strategies[0]), probesOf(plan.Strategies[1]))
	}
}

func TestSearchNothingPasses(t *testing.T) {
	s := &Search{
		Strategies:  []string{"a"},
		BackendsMin: 1, BackendsMax: 8,
		NFSThreads: []int{8}, CacheBytes: []int64{1},
		Objectives:  []results.Objective{{Name: "rule", Metric: "bad", Limit: 0.5}},
		ReplicasMin: 2, ReplicasMax: 3, Confidence: 0.95,
		Measure: func(_ context.Context, trials []Trial) ([]Outcome, error) {
			out := make([]Outcome, len(trials))
			for i := range trials {
				out[i] = Outcome{Metrics: map[string]float64{"bad": 1}}
			}
			return out, nil
		},
	}
	plan, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sp := plan.Strategies[0]
	if sp.Found || len(sp.Probes) != 1 || sp.Binding == "" {
		t.Fatalf("found %v after %d probes, binding %q", sp.Found, len(sp.Probes), sp.Binding)
	}
}

// TestSearchFollowsUtilisation checks that a utilisation objective, which
// scales as 1/backends, leads the search to the answer in three probes:
// the top of the range, the estimate, and one below it.
func TestSearchFollowsUtilisation(t *testing.T) {
	s := &Search{
		Strategies:  []string{"a"},
		BackendsMin: 2, BackendsMax: 64,
		NFSThreads: []int{8}, CacheBytes: []int64{1},
		Objectives:  []results.Objective{{Name: "backend CPU", Metric: "backend.cpu_util.max", Limit: 0.7}},
		ReplicasMin: 2, ReplicasMax: 2, Confidence: 0.95,
		Measure: func(_ context.Context, trials []Trial) ([]Outcome, error) {
			out := make([]Outcome, len(trials))
			for i, tr := range trials {
				out[i] = Outcome{Metrics: map[string]float64{"backend.cpu_util.max": 30 / float64(tr.Backends)}}
			}
			return out, nil
		},
	}
	plan, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sp := plan.Strategies[0]
	if got := probesOf(sp); sp.Chosen.Backends != 43 || !slices.Equal(got, []int{64, 43, 42}) {
		t.Fatalf("chose %d after probes %v; want 43 after [64 43 42]", sp.Chosen.Backends, got)
	}
	// With screens: the same three configurations screened (the top with
	// replicas_min replicas, to calibrate), and the two that decide probed
	// in full, with no more runs.
	s.Screen = true
	plan, err = s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sp = plan.Strategies[0]
	if got, screens := probesOf(sp), candidatesOf(sp.Screens); sp.Chosen.Backends != 43 || !slices.Equal(got, []int{42, 43}) || len(screens) != 3 || sp.Runs != 6 {
		t.Fatalf("chose %d after probes %v, screens %v, %d runs; want 43 after probes [42 43], 3 screens, 6 runs", sp.Chosen.Backends, got, screens, sp.Runs)
	}
}

// md1Plan is a capacity plan on the cluster model whose answer has a
// closed form: users only receive mail, a plain balancer spreads the
// Poisson deliveries uniformly over single-core backends (so each backend
// sees a Poisson stream of λ/c), and each delivery costs a fixed 100 ms of
// CPU and nothing on NFS, so every backend is an M/D/1 queue.
const md1Plan = `name = "md1-plan"
strategies = ["random"]
[run]
duration = "1h"
warmup = "2m"
[cluster]
cores = 1
lmtp_routing = "balancer"
proxy_hop = "0s"
[cluster.cpu]
deliver = "100ms"
[nfs]
rtt = "0s"
bytes_per_sec = 1e30
[nfs.service]
getattr = "0s"
lookup = "0s"
access = "0s"
read = "0s"
write = "0s"
commit = "0s"
create = "0s"
remove = "0s"
rename = "0s"
setattr = "0s"
readdir = "0s"
readdir_per_entry = "0s"
readdirplus = "0s"
readdirplus_per_entry = "0s"
lock = "0s"
unlock = "0s"
[dovecot]
lmtp_index_update = false
[workload]
users = 1000
desktop = 0.0
phone = 0.0
webmail = 0.0
aggressive_fraction = 0.0
[workload.normal]
mail_inbox_delivery_interval = "20s"
[plan]
backends_min = 1
backends_max = 32
survive_backend_failure = false
[plan.objectives]
cpu_util = 0.0
nfs_util = 0.0
lmtp_mean = "200ms"
`

// TestPlanRemovedObjectives: a plan that still names the objectives the
// index damage metrics replaced is told what replaced them.
func TestPlanRemovedObjectives(t *testing.T) {
	for _, tc := range []struct{ key, want string }{
		{"corrupted_per_million_sessions", "replaced by dovecot_errors_per_million_sessions"},
		{"users_empty_mailbox", "replaced by users_uidvalidity_changed"},
	} {
		_, err := Load("plan.toml", []byte("[plan]\nbackends_max = 4\n[plan.objectives]\n"+tc.key+" = 100\n"))
		if err == nil || !strings.Contains(err.Error(), "plan.toml:4:1: "+tc.key+" was "+tc.want) {
			t.Errorf("%s: %v", tc.key, err)
		}
	}
}

// TestPlanFindsPollaczekKhinchine runs a whole plan on the cluster model
// and checks its answer against Pollaczek-Khinchine: with λ = 50
// deliveries/s and D = 0.1 s, c backends give a mean time in system of
// D + (λ/c)D²/(2(1-λD/c)): 0.225 s for 7 and 0.183 s for 8, so the
// smallest cluster with a mean under 200 ms has 8 backends.
func TestPlanFindsPollaczekKhinchine(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a dozen one-hour simulations")
	}
	const lambda, d, target = 50.0, 0.1, 0.2
	want := 0
	for c := 1; ; c++ {
		if rho := lambda * d / float64(c); rho < 1 && d+rho*d/(2*(1-rho)) <= target {
			want = c
			break
		}
	}
	e, err := Load("md1.toml", []byte(md1Plan))
	if err != nil {
		t.Fatal(err)
	}
	plan, _, err := e.ExecutePlan(context.Background(), PlanOptions{Out: t.TempDir() + "/set"})
	if err != nil {
		t.Fatal(err)
	}
	sp := plan.Strategies[0]
	if !sp.Found || sp.Chosen.Backends != want {
		t.Fatalf("plan chose %+v after probes %v; Pollaczek-Khinchine gives %d backends", sp.Chosen, probesOf(sp), want)
	}
	for _, p := range sp.Probes {
		for _, c := range p.Checks {
			rho := lambda * d / float64(p.Backends)
			if rho < 0.9 {
				pk := d + rho*d/(2*(1-rho))
				if math.Abs(c.Mean-pk)/pk > 0.05 {
					t.Errorf("%d backends: mean delivery latency %.4f s, M/D/1 gives %.4f s", p.Backends, c.Mean, pk)
				}
			}
		}
	}
	t.Logf("chose %d backends after probes %v (%d runs); binding: %s", sp.Chosen.Backends, probesOf(sp), sp.Runs, sp.Binding)
}

// cancelOnRun cancels a context when the log reports the nth finished run.
type cancelOnRun struct {
	n      int
	cancel context.CancelFunc
}

func (c *cancelOnRun) Write(p []byte) (int, error) {
	if strings.Contains(string(p), " done\n") {
		c.n--
		if c.n == 0 {
			c.cancel()
		}
	}
	return len(p), nil
}

// TestPlanInterruptedResumes interrupts a plan after its third run, checks
// that the finished runs are kept and the error says interrupted, and that
// running it again gives the same plan as an uninterrupted one.
func TestPlanInterruptedResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a dozen one-hour simulations")
	}
	e, err := Load("md1.toml", []byte(md1Plan))
	if err != nil {
		t.Fatal(err)
	}
	whole, _, err := e.ExecutePlan(context.Background(), PlanOptions{Out: t.TempDir() + "/whole", Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir() + "/set"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, w, err := e.ExecutePlan(ctx, PlanOptions{Out: dir, Workers: 1, Log: &cancelOnRun{n: 3, cancel: cancel}})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted plan returned %v", err)
	}
	if n := len(w.Done()); n < 3 {
		t.Fatalf("%d runs kept after the interrupt, want at least 3", n)
	}
	again, _, err := e.ExecutePlan(context.Background(), PlanOptions{Out: dir, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(whole)
	b, _ := json.Marshal(again)
	if !bytes.Equal(a, b) {
		t.Fatalf("resumed plan differs from the uninterrupted one:\n%s\n%s", a, b)
	}
}

// analyticCluster is a fake cluster whose metrics follow closed forms in
// the backends, nfsd threads and cache, with replica noise, for checking
// the search against brute force.
type analyticCluster struct {
	cpuWork, conns, nfsWork float64 // totals spread over the backends or threads
	cacheGain               float64 // NFS work saved per doubling of cache
	latBase, latScale       float64
	noise                   float64 // relative spread between replicas
	// perCandidate draws each replica's noise afresh for every
	// configuration (no common random numbers), which can make even the
	// full rule's verdict non-monotone near the limits.
	perCandidate bool
	recovery     float64 // time to recover after a backend failure
}

func (a analyticCluster) outcome(t Trial) Outcome {
	b := float64(t.Backends)
	if t.Failure {
		b--
	}
	eps := func(k uint64) float64 {
		seed := uint64(t.Replica)*7919 + k
		if a.perCandidate {
			seed = sim.SubSeed(seed, fmt.Sprintf("%d-%d-%d-%v", t.Backends, t.NFSThreads, t.CacheBytes, t.Failure))
		}
		r := rand.New(rand.NewPCG(seed, 0x616e61))
		return a.noise * r.NormFloat64()
	}
	cpu := a.cpuWork / b * (1 + eps(1))
	nfsWork := a.nfsWork * (1 - a.cacheGain*math.Log2(float64(t.CacheBytes)))
	nfs := nfsWork / float64(t.NFSThreads) * (1 + eps(2))
	if cpu >= 1 || nfs >= 1 {
		if nfs >= 1 {
			return Outcome{Overloaded: "the NFS server"}
		}
		return Outcome{Overloaded: "a backend"}
	}
	m := map[string]float64{
		"backend.cpu_util.max": cpu,
		"nfs.utilization":      nfs,
		MaxConnectionsMetric:   a.conns / b * (1 + eps(3)),
		"latency.SELECT.p99":   (a.latBase + a.latScale*(nfs/(1-nfs)+cpu/(1-cpu))) * (1 + eps(4)),
	}
	if t.Failure {
		m["time_to_recover"] = a.recovery * (1 + eps(5))
	}
	return Outcome{Metrics: m}
}

// fullVerdicts judges every configuration of s by the full rule, without
// screens.
func fullVerdicts(s *Search, st string) map[results.Candidate]bool {
	ss := &strategySearch{Search: s, ctx: context.Background(), plan: results.StrategyPlan{Strategy: st},
		full: map[results.Candidate]int{}, screened: map[results.Candidate]int{}, first: map[results.Candidate]Outcome{}, zero: map[results.Candidate]Outcome{}, calibrated: map[results.Candidate][]results.Check{}, ran: map[Trial]bool{}}
	out := map[results.Candidate]bool{}
	for b := s.BackendsMin; b <= s.BackendsMax; b++ {
		for _, t := range s.NFSThreads {
			for _, c := range s.CacheBytes {
				cand := results.Candidate{Backends: b, NFSThreads: t, CacheBytes: c}
				p, err := ss.probe(cand)
				if err != nil {
					panic(err)
				}
				out[cand] = p.Pass
			}
		}
	}
	return out
}

// monotone reports whether passing never turns into failing as any axis
// grows.
func monotone(s *Search, pass map[results.Candidate]bool) bool {
	for c, ok := range pass {
		if !ok {
			continue
		}
		ups := []results.Candidate{c, c, c}
		ups[0].Backends++
		if i := slices.Index(s.NFSThreads, c.NFSThreads); i+1 < len(s.NFSThreads) {
			ups[1].NFSThreads = s.NFSThreads[i+1]
		}
		if i := slices.Index(s.CacheBytes, c.CacheBytes); i+1 < len(s.CacheBytes) {
			ups[2].CacheBytes = s.CacheBytes[i+1]
		}
		for _, u := range ups {
			if p, in := pass[u]; in && !p {
				return false
			}
		}
	}
	return true
}

// TestSearchScreenedMatchesFull checks, over many analytic clusters (noise
// near the limits, per-configuration noise that makes single runs
// mislead, overloads, nothing passing, the smallest passing), that the
// search with screens chooses what the search without them chooses, for
// the same reason, whenever the full rule is monotone; that its answer
// always rests on full probes (the chosen one passes, the ones one step
// below fail); and that it uses fewer runs.
func TestSearchScreenedMatchesFull(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	var runsFull, runsScreened, compared, traps, quietFull, quietScreened int
	byNoise := map[string][2]int{}
	for i := range 300 {
		a := analyticCluster{
			cpuWork:   2 + 30*r.Float64(),
			conns:     5000 + 100000*r.Float64(),
			nfsWork:   10 + 150*r.Float64(),
			cacheGain: 0.02 * r.Float64(),
			latBase:   0.01 + 0.05*r.Float64(),
			latScale:  0.02 * r.Float64(),
			noise:     []float64{0, 0.002, 0.01, 0.03, 0.08}[i%5],
			recovery:  30 + 100*r.Float64(),
		}
		a.perCandidate = i%3 == 2
		obs := []results.Objective{
			{Name: "backend CPU", Metric: "backend.cpu_util.max", Limit: 0.7},
			{Name: "NFS server", Metric: "nfs.utilization", Limit: 0.7},
			{Name: "connections per backend", Metric: MaxConnectionsMetric, Limit: 2000 + 8000*r.Float64()},
			{Name: "SELECT p99", Metric: "latency.SELECT.p99", Unit: "s", Limit: 0.05 + 0.15*r.Float64()},
		}
		failure := i%4 != 3
		if failure {
			obs = append(obs, results.Objective{Name: "recovery", Metric: "time_to_recover", Unit: "s", Limit: 120})
		}
		mk := func(screen bool) *Search {
			return &Search{
				Strategies:  []string{"s"},
				BackendsMin: 1 + r.IntN(4), BackendsMax: 20 + r.IntN(60),
				NFSThreads: []int{16, 32, 64, 128, 256}, CacheBytes: []int64{256, 1024, 4096},
				Objectives: obs, Failure: failure,
				ReplicasMin: 2, ReplicasMax: 2 + i%3, Confidence: 0.95, Screen: screen,
				Measure: func(_ context.Context, trials []Trial) ([]Outcome, error) {
					out := make([]Outcome, len(trials))
					for k, tr := range trials {
						out[k] = a.outcome(tr)
					}
					return out, nil
				},
			}
		}
		seed := r.Uint64()
		full := mk(false)
		r = rand.New(rand.NewPCG(seed, 12))
		screened := mk(true)
		screened.BackendsMin, screened.BackendsMax = full.BackendsMin, full.BackendsMax
		pf, err := full.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ps, err := screened.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		f, s := pf.Strategies[0], ps.Strategies[0]
		runsFull += f.Runs
		runsScreened += s.Runs
		if a.noise <= 0.01 && !a.perCandidate {
			quietFull += f.Runs
			quietScreened += s.Runs
		}
		key := fmt.Sprintf("noise %g, per configuration %v", a.noise, a.perCandidate)
		byNoise[key] = [2]int{byNoise[key][0] + f.Runs, byNoise[key][1] + s.Runs}
		if testing.Verbose() && s.Runs > f.Runs+10 {
			t.Logf("case %d noise %g per %v: full %d runs %v; screened %d runs %v screens %v", i, a.noise, a.perCandidate, f.Runs, candidatesOf(f.Probes), s.Runs, candidatesOf(s.Probes), candidatesOf(s.Screens))
		}
		// The answer rests on full probes.
		if s.Found {
			if p := s.Probe(s.Chosen); p == nil || !p.Pass {
				t.Fatalf("case %d: chosen %v has no passing full probe", i, s.Chosen)
			}
			below := s.Chosen
			below.Backends--
			if below.Backends >= screened.BackendsMin {
				below.NFSThreads, below.CacheBytes = 256, 4096
				if p := s.Probe(below); p == nil || p.Pass {
					t.Fatalf("case %d: %v below the chosen has no failing full probe", i, below)
				}
			}
		} else if p := s.Probe(results.Candidate{Backends: screened.BackendsMax, NFSThreads: 256, CacheBytes: 4096}); p == nil || p.Pass {
			t.Fatalf("case %d: nothing found without a failing full probe of the top", i)
		}
		if !monotone(full, fullVerdicts(full, "s")) {
			traps++
			continue
		}
		compared++
		if f.Found != s.Found || f.Chosen != s.Chosen || f.Binding != s.Binding {
			t.Errorf("case %d (%+v, backends %d-%d, failure %v): full search found %v %v (%s), screened %v %v (%s)\nfull probes %v\nscreened probes %v screens %v",
				i, a, full.BackendsMin, full.BackendsMax, failure, f.Found, f.Chosen, f.Binding, s.Found, s.Chosen, s.Binding, candidatesOf(f.Probes), candidatesOf(s.Probes), candidatesOf(s.Screens))
		}
	}
	t.Logf("%d cases compared, %d with a non-monotone full rule; runs: %d without screens, %d with", compared, traps, runsFull, runsScreened)
	for _, k := range slices.Sorted(maps.Keys(byNoise)) {
		t.Logf("%s: runs %d without screens, %d with", k, byNoise[k][0], byNoise[k][1])
	}
	if compared < 200 {
		t.Errorf("only %d monotone cases", compared)
	}
	// Screens pay off where one run says much about the full rule: with
	// the common random numbers the plans use and little noise between
	// replicas. With much noise they mislead more often, and each
	// contradiction costs full probes, but they still must not cost more
	// overall.
	if quietScreened*10 > quietFull*8 {
		t.Errorf("screens saved too little with little noise: %d runs against %d", quietScreened, quietFull)
	}
	if runsScreened >= runsFull {
		t.Errorf("screens cost runs: %d against %d", runsScreened, runsFull)
	}
}

func candidatesOf(ps []results.Probe) []string {
	var out []string
	for _, p := range ps {
		v := "fail"
		if p.Pass {
			v = "pass"
		}
		out = append(out, fmt.Sprintf("%d/%d/%d:%s", p.Backends, p.NFSThreads, p.CacheBytes, v))
	}
	return out
}
