package experiments

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/mailsim/mailsim/results"
)

// Search is a capacity search: for each strategy, the smallest candidate
// that meets every objective. Configurations are ordered by backends, then
// NFS threads, then cache; the search assumes each objective's metric
// gets no worse as any of the three grows (more backends, threads or
// memory never hurt), and finds the least backends at the most threads
// and memory, then the least threads there, then the least memory.
//
// A full probe judges a configuration by the plan's rule: ReplicasMin
// replicas of normal operation, more up to ReplicasMax while a verdict is
// inconclusive, then the failure scenario likewise when normal operation
// passes. With Screen, the search first steers with screens, one run of
// normal operation each (replica 0, which a later full probe of the same
// configuration reuses; the first screen, at the top of the backends,
// runs replicas_min replicas to calibrate the others), and gives its
// answer only on full probes: the
// chosen configuration passes a full probe and the configuration one
// step below it on each axis (the one its binding reason describes) fails
// one. A full probe that contradicts a screen overrides it and the search
// goes on from there. Since passing is assumed monotone on every axis, a
// full pass at the chosen configuration implies a full pass at every
// configuration above it, so these probes alone determine the answer:
// the same answer the search gives without screens.
type Search struct {
	Strategies  []string
	BackendsMin int
	BackendsMax int
	NFSThreads  []int   // ascending
	CacheBytes  []int64 // ascending
	Objectives  []results.Objective
	Failure     bool
	ReplicasMin int
	ReplicasMax int
	Confidence  float64
	Measure     Measure
	Users       int
	// Screen makes the search steer with screens before its full probes
	// (see above).
	Screen bool
	// ProbeStarted, if set, is told of every probe (full) or screen as it
	// starts.
	ProbeStarted func(strategy string, c results.Candidate, screen bool)
	// Speculate, if set, is told of trials the search is likely to ask for
	// soon, so that a Measure with idle workers may run them ahead. Their
	// outcomes count only when the search asks for them, so what it finds
	// does not depend on whether they ran. It must not block.
	Speculate func(trials []Trial)
}

// Run searches every strategy, all at once, and returns the plan.
func (s *Search) Run(ctx context.Context) (*results.PlanOutcome, error) {
	if s.BackendsMin < 1 || s.BackendsMax < s.BackendsMin {
		return nil, fmt.Errorf("experiments: plan backends %d to %d is not a range", s.BackendsMin, s.BackendsMax)
	}
	if len(s.NFSThreads) == 0 || len(s.CacheBytes) == 0 {
		return nil, fmt.Errorf("experiments: plan needs NFS thread counts and cache sizes to choose from")
	}
	if s.ReplicasMin < 2 || s.ReplicasMax < s.ReplicasMin {
		return nil, fmt.Errorf("experiments: plan replicas %d to %d; need at least 2", s.ReplicasMin, s.ReplicasMax)
	}
	out := &results.PlanOutcome{
		Users: s.Users, Confidence: s.Confidence, ReplicasMin: s.ReplicasMin, ReplicasMax: s.ReplicasMax,
		Failure: s.Failure, Objectives: s.Objectives,
		Strategies: make([]results.StrategyPlan, len(s.Strategies)),
	}
	errs := make([]error, len(s.Strategies))
	var wg sync.WaitGroup
	for i, st := range s.Strategies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sp, err := s.strategy(ctx, st)
			out.Strategies[i], errs[i] = sp, err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// strategySearch is the search state of one strategy.
type strategySearch struct {
	*Search
	ctx  context.Context
	plan results.StrategyPlan
	// full and screened index plan.Probes and plan.Screens by candidate;
	// first holds each screen's run.
	full     map[results.Candidate]int
	screened map[results.Candidate]int
	first    map[results.Candidate]Outcome
	// zero holds replica 0 of normal operation at every configuration
	// measured.
	zero map[results.Candidate]Outcome
	// calibrated holds the normal-operation checks of the screens that
	// ran replicas_min replicas.
	calibrated map[results.Candidate][]results.Check
	ran        map[Trial]bool
	// careful is set once a full probe contradicted what the screens
	// said: from then on the search forgets the screens' verdicts and
	// probes in full, as it does without screening.
	careful bool
}

func (s *Search) strategy(ctx context.Context, st string) (results.StrategyPlan, error) {
	ss := &strategySearch{
		Search: s, ctx: ctx, plan: results.StrategyPlan{Strategy: st},
		full: map[results.Candidate]int{}, screened: map[results.Candidate]int{},
		first: map[results.Candidate]Outcome{}, zero: map[results.Candidate]Outcome{}, calibrated: map[results.Candidate][]results.Check{}, ran: map[Trial]bool{},
	}
	err := ss.search()
	return ss.plan, err
}

// axis is one dimension the search looks along: indexes lo to hi, each a
// candidate.
type axis struct {
	lo, hi int
	at     func(int) results.Candidate
	// value is the candidate's coordinate on the axis.
	value func(results.Candidate) float64
	// law says which objectives' metrics scale as 1/value on the axis.
	law func(results.Objective) bool
	// spare is added to a law's estimate: one backend, when the failure
	// scenario must hold with one backend down.
	spare float64
	// calibrate screens the top with replicas_min replicas (see screen).
	calibrate bool
}

// perBackend reports whether ob's metric is a per-backend load that
// scales as 1/backends: the busiest backend's CPU utilisation and its
// connections. The users and their work are the same whatever the
// backend count, and each strategy spreads them evenly enough that the
// busiest backend's share is a fixed multiple of the mean share.
func perBackend(ob results.Objective) bool {
	return ob.Metric == "backend.cpu_util.max" || ob.Metric == MaxConnectionsMetric
}

// perThread reports whether ob's metric scales as 1/nfsd threads: the NFS
// server's utilisation. It is the busy time of the server's threads over
// threads × time, and a request's service time does not depend on how
// many threads there are, so utilisation × threads is the server's work
// per second. That work is set by the backends' requests, which the
// thread count changes only through the latency clients see while they
// wait for a thread: little, as long as the server keeps up. Hence the
// least threads for a utilisation ceiling L are about work / L. This holds
// for utilisation, not for latency: waiting for a thread grows steeply as
// utilisation nears 1 (Erlang C), so latency objectives are left to the
// probes and to interpolation.
func perThread(ob results.Objective) bool {
	return ob.Metric == "nfs.utilization"
}

func (ss *strategySearch) search() error {
	threads, caches := ss.NFSThreads, ss.CacheBytes
	top := results.Candidate{Backends: ss.BackendsMax, NFSThreads: threads[len(threads)-1], CacheBytes: caches[len(caches)-1]}
	spare := 0.0
	if ss.Failure {
		spare = 1
	}
	backends := axis{
		lo: ss.BackendsMin, hi: ss.BackendsMax,
		at:    func(i int) results.Candidate { c := top; c.Backends = i; return c },
		value: func(c results.Candidate) float64 { return float64(c.Backends) },
		law:   perBackend, spare: spare, calibrate: true,
	}
	for {
		// The least backends, at the most threads and memory.
		n, err := ss.least(backends)
		if err != nil {
			return err
		}
		if n < 0 {
			ss.plan.Binding = "no configuration up to " + top.String() + " passes: " + ss.reasons(top)
			return nil
		}
		chosen := top
		chosen.Backends = n
		// The least threads there, then the least memory.
		k := len(threads) - 1
		if k > 0 {
			at := chosen
			k, err = ss.least(axis{
				lo: 0, hi: len(threads) - 1,
				at:    func(i int) results.Candidate { c := at; c.NFSThreads = threads[i]; return c },
				value: func(c results.Candidate) float64 { return float64(c.NFSThreads) },
				law:   perThread,
			})
			if err != nil {
				return err
			}
			if k < 0 {
				// The most threads fail after all: back to the backends.
				ss.careful = true
				continue
			}
		}
		chosen.NFSThreads = threads[k]
		j := len(caches) - 1
		if j > 0 {
			at := chosen
			j, err = ss.least(axis{
				lo: 0, hi: len(caches) - 1,
				at:    func(i int) results.Candidate { c := at; c.CacheBytes = caches[i]; return c },
				value: func(c results.Candidate) float64 { return float64(c.CacheBytes) },
			})
			if err != nil {
				return err
			}
			if j < 0 {
				ss.careful = true
				continue
			}
		}
		chosen.CacheBytes = caches[j]
		// The answer rests on a full probe of the chosen configuration.
		p, err := ss.probe(chosen)
		if err != nil {
			return err
		}
		if !p.Pass {
			ss.careful = true
			continue
		}
		var binding string
		if n > ss.BackendsMin {
			binding = ss.reasons(backends.at(n - 1))
		}
		if k > 0 {
			c := chosen
			c.NFSThreads, c.CacheBytes = threads[k-1], caches[len(caches)-1]
			binding = join(binding, "fewer nfsd threads fail "+ss.reasons(c))
		}
		if j > 0 {
			c := chosen
			c.CacheBytes = caches[j-1]
			binding = join(binding, "less cache fails "+ss.reasons(c))
		}
		ss.plan.Found, ss.plan.Chosen = true, chosen
		ss.plan.Binding = binding
		if ss.plan.Binding == "" {
			ss.plan.Binding = "none: the smallest configuration searched passes"
		}
		return nil
	}
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// belief is what the search holds about candidate c: whether anything is
// known, whether it is a full probe's verdict, and whether it passes. A
// full probe's verdict outranks a screen's.
func (ss *strategySearch) belief(c results.Candidate) (known, full, pass bool) {
	if i, ok := ss.full[c]; ok {
		return true, true, ss.plan.Probes[i].Pass
	}
	if o, ok := ss.first[c]; ok && !ss.careful {
		return true, false, ss.screenPass(c, o)
	}
	return false, false, false
}

// least finds the smallest index of ax whose candidate passes, assuming
// passing is monotone along the axis; it returns -1 when the top fails a
// full probe. On return, the index below the one returned (if in range)
// has failed a full probe; the one returned may rest on a screen (the
// caller confirms it).
//
// Each round reads the bracket off what is known: F is the highest index
// that failed a full probe (everything at or below fails), pass the
// lowest passing index above it, fail the highest index between them
// believed to fail. While pass and fail are apart, a screen (or, without
// screening, a full probe) goes between them where the estimate points;
// once they are next to each other, a screened fail endpoint is confirmed
// with a full probe (which, if it passes, contradicts the screen and makes
// the search careful). Every round adds a screen or a full probe, or
// makes the search careful, which it does once, so the loop ends.
func (ss *strategySearch) least(ax axis) (int, error) {
	edges := 0
	for {
		f := ax.lo - 1
		for i := ax.lo; i <= ax.hi; i++ {
			if known, full, pass := ss.belief(ax.at(i)); known && full && !pass {
				f = i
			}
		}
		pass := -1
		for i := f + 1; i <= ax.hi; i++ {
			if known, _, p := ss.belief(ax.at(i)); known && p {
				pass = i
				break
			}
		}
		if pass < 0 {
			if f == ax.hi {
				return -1, nil
			}
			// The top is unknown, or a screen says it fails: a full probe
			// decides whether anything passes.
			top := ax.at(ax.hi)
			if known, _, _ := ss.belief(top); !known {
				if err := ss.screen(top, ax.calibrate); err != nil {
					return 0, err
				}
				continue
			}
			if _, err := ss.probe(top); err != nil {
				return 0, err
			}
			continue
		}
		fail := f
		for i := pass - 1; i > f; i-- {
			if known, _, p := ss.belief(ax.at(i)); known && !p {
				fail = i
				break
			}
		}
		switch {
		case pass-fail > 1:
			next := ss.steer(ax, fail, pass, &edges)
			if ss.Speculate != nil && ss.Screen && !ss.careful {
				// The next screen usually lands next to this one.
				var ts []Trial
				for _, i := range []int{next - 1, next + 1} {
					if i > fail && i < pass {
						ts = append(ts, Trial{Strategy: ss.plan.Strategy, Candidate: ax.at(i)})
					}
				}
				ss.Speculate(ts)
			}
			if err := ss.screen(ax.at(next), false); err != nil {
				return 0, err
			}
		case fail > f:
			p, err := ss.probe(ax.at(fail))
			if err != nil {
				return 0, err
			}
			if p.Pass {
				ss.careful = true
			}
		default:
			return pass, nil
		}
	}
}

// steer picks the next index strictly between fail and pass: the
// estimate's, or a step from the edge it points at. An estimate at an
// edge of the bracket (the passing point looks minimal, or the failing
// one maximal) is followed once; while it stays at the edge, the steps
// away from that edge double (2, 4, 8, ... indexes, never past the
// middle), so that an estimate biased to one side (as interpolation is
// for a metric that grows steeply near saturation) cannot make the search
// walk one step at a time, and one that is nearly right (the boundary a
// few indexes from the edge, as where replicas' noise straddles the
// limit) does not send it to the middle of a wide bracket.
func (ss *strategySearch) steer(ax axis, fail, pass int, edges *int) int {
	mid := (fail + pass) / 2
	g := ss.estimate(ax, fail, pass)
	if g < 0 {
		*edges = 0
		return mid
	}
	g = min(max(g, fail+1), pass-1)
	if g != fail+1 && g != pass-1 {
		*edges = 0
		return g
	}
	*edges++
	if *edges == 1 {
		return g
	}
	step := 1 << min(*edges-1, 30)
	if g == pass-1 {
		return max(pass-step, mid)
	}
	return min(fail+step, mid)
}

// estimate guesses the least index of ax that meets every objective, from
// the bracket's ends; -1 when they say nothing. Two sources:
//
//   - The axis's law (see perBackend and perThread): a metric y measured
//     at value v that scales as 1/v needs v·y/L to stay within limit L,
//     plus a spare backend when the failure scenario counts (with one of
//     n backends down, n-1 carry the load). The end whose value is nearer
//     the limit is extrapolated from, as the shorter extrapolation.
//   - Interpolation: an objective that fails at the failing end and
//     passes at the passing end crosses its limit in between; its metric
//     is taken as a power of the value, y = a·v^k (a utilisation is one,
//     with k = -1; a latency falls faster than any such line near
//     saturation, which makes the estimate err high, and steer's rule
//     against walking along an edge bounds the cost), so log y is linear
//     in log v between the ends (vf, yf) and (vp, yp).
//
// The estimate is the largest need over the objectives.
func (ss *strategySearch) estimate(ax axis, fail, pass int) int {
	cp := ax.at(pass)
	var cf results.Candidate
	hasFail := fail >= ax.lo
	if hasFail {
		cf = ax.at(fail)
	}
	vp := ax.value(cp)
	vf := 0.0
	if hasFail {
		vf = ax.value(cf)
	}
	need := 0.0
	for _, ob := range ss.Objectives {
		if ob.Limit <= 0 {
			continue
		}
		if ax.law != nil && ax.law(ob) {
			best, dist := 0.0, math.Inf(1)
			for _, e := range []struct {
				c  results.Candidate
				v  float64
				ok bool
			}{{cp, vp, true}, {cf, vf, hasFail}} {
				if !e.ok {
					continue
				}
				y, ok := ss.normalValue(e.c, ob)
				if !ok || y <= 0 {
					continue
				}
				if d := math.Abs(math.Log(y / ob.Limit)); d < dist {
					best, dist = e.v*y/ob.Limit+ax.spare, d
				}
			}
			need = math.Max(need, best)
		}
		if !hasFail || vf <= 0 || vp <= 0 {
			continue
		}
		yf, okf := ss.judgedValue(cf, ob)
		yp, okp := ss.judgedValue(cp, ob)
		if !okf || !okp || yf <= ob.Limit || yp > ob.Limit || yp <= 0 {
			continue
		}
		lf, lp := math.Log(vf), math.Log(vp)
		need = math.Max(need, math.Exp(lf+(math.Log(ob.Limit)-math.Log(yf))*(lp-lf)/(math.Log(yp)-math.Log(yf))))
	}
	if need <= 0 || math.IsInf(need, 0) || math.IsNaN(need) {
		return -1
	}
	for i := ax.lo; i <= ax.hi; i++ {
		if ax.value(ax.at(i)) >= need*(1-1e-12) {
			return i
		}
	}
	return ax.hi
}

// normalValue is ob's metric in normal operation at c, as the search
// judges it: a full probe's upper confidence bound, or a screen's run
// widened by the spread full probes have shown.
func (ss *strategySearch) normalValue(c results.Candidate, ob results.Objective) (float64, bool) {
	if i, ok := ss.full[c]; ok {
		p := &ss.plan.Probes[i]
		if p.Overloaded != "" {
			return 0, false
		}
		for _, ch := range p.Checks {
			if ch.Objective == ob.Name && ch.Scenario == results.ScenarioNormal {
				if math.IsInf(ch.Upper, 0) || math.IsNaN(ch.Upper) {
					return ch.Mean, true
				}
				return ch.Upper, true
			}
		}
		return 0, false
	}
	if o, ok := ss.first[c]; ok && o.Overloaded == "" {
		return metricOf(o, ob) * ss.bias(ob) * (1 + ss.spread(ob)), true
	}
	return 0, false
}

// judgedValue is the value the search compares with ob's limit at c: a
// full probe's largest upper bound over its scenarios, or a screen's
// widened run, with a per-backend load raised to what it would be with
// one backend down when the failure scenario counts.
func (ss *strategySearch) judgedValue(c results.Candidate, ob results.Objective) (float64, bool) {
	if i, ok := ss.full[c]; ok {
		p := &ss.plan.Probes[i]
		if p.Overloaded != "" {
			return 0, false
		}
		y, ok := math.Inf(-1), false
		for _, ch := range p.Checks {
			if ch.Objective == ob.Name && !math.IsInf(ch.Upper, 0) && !math.IsNaN(ch.Upper) {
				y, ok = math.Max(y, ch.Upper), true
			}
		}
		return y, ok
	}
	if o, ok := ss.first[c]; ok && o.Overloaded == "" {
		return ss.screenValue(c, o, ob), true
	}
	return 0, false
}

// metricOf reads ob's metric from an outcome; a command that never ran
// has no latency: nothing to exceed the limit.
func metricOf(o Outcome, ob results.Objective) float64 {
	v, ok := o.Metrics[ob.Metric]
	if !ok || math.IsNaN(v) {
		return 0
	}
	return v
}

// spread is how far above a single run's value a full probe's upper
// confidence bound may lie, relative to the value, for ob. A screen's
// value is widened by it, so that a screen passes roughly where a full
// probe would. Near the limit a full probe usually ends with the most
// replicas, whose bound lies t(R-1)·s/sqrt(R) above the mean, R being
// ReplicasMax and s the relative standard deviation of one replica; s is
// pooled over the strategy's full probes that measured ob in normal
// operation (each check's half-width h over n replicas gives
// s = h·sqrt(n)/t(n-1)). Zero before any full probe.
func (ss *strategySearch) spread(ob results.Objective) float64 {
	var sum float64
	var k int
	for _, ch := range ss.normalChecks() {
		if ch.Objective != ob.Name || ch.Mean == 0 {
			continue
		}
		h := (ch.Upper - ch.Mean) / math.Abs(ch.Mean)
		if h < 0 || math.IsInf(h, 0) || math.IsNaN(h) {
			continue
		}
		sd := h * math.Sqrt(float64(ch.N)) / studentT(ss.Confidence, ch.N-1)
		sum += sd * sd
		k++
	}
	if k == 0 {
		return 0
	}
	r := ss.ReplicasMax
	return studentT(ss.Confidence, r-1) * math.Sqrt(sum/float64(k)) / math.Sqrt(float64(r))
}

// normalCheck is a check of normal operation with two replicas or more,
// and the configuration it was made at.
type normalCheck struct {
	results.Check
	at results.Candidate
}

// normalChecks lists the checks of normal operation with two replicas
// or more: the full probes', then the calibrating screens'.
func (ss *strategySearch) normalChecks() []normalCheck {
	var out []normalCheck
	for _, ps := range [][]results.Probe{ss.plan.Probes, ss.plan.Screens} {
		for i := range ps {
			for _, ch := range ps[i].Checks {
				if ch.Scenario == results.ScenarioNormal && ch.N >= 2 {
					out = append(out, normalCheck{ch, ps[i].Candidate})
				}
			}
		}
	}
	return out
}

// bias is how the mean of a full probe's replicas compares with its
// replica 0, which is what a screen measures, as a factor for ob: the
// geometric mean of mean / replica 0 over the strategy's checks of normal
// operation. Every configuration's replica r serves the same users doing
// the same things (common random numbers), so replica 0's luck is much
// the same everywhere, and a screen is corrected by it. 1 before any
// check.
func (ss *strategySearch) bias(ob results.Objective) float64 {
	var sum float64
	var k int
	for _, ch := range ss.normalChecks() {
		o, ok := ss.zero[ch.at]
		if ch.Objective != ob.Name || !ok {
			continue
		}
		x := metricOf(o, ob)
		if x <= 0 || ch.Mean <= 0 {
			continue
		}
		sum += math.Log(ch.Mean / x)
		k++
	}
	if k == 0 {
		return 1
	}
	return math.Exp(sum / float64(k))
}

// studentT is the one-sided quantile of Student's t with nu degrees of
// freedom at confidence conf.
func studentT(conf float64, nu int) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(nu)}.Quantile(conf)
}

// screenValue is the value a screen's run o at c is judged by for ob: a
// calibrating screen's upper confidence bound, or the run's value widened
// by the spread; a per-backend load raised by n/(n-1), what it would be
// with one of the n backends down, when the failure scenario counts.
func (ss *strategySearch) screenValue(c results.Candidate, o Outcome, ob results.Objective) float64 {
	x := metricOf(o, ob) * ss.bias(ob) * (1 + ss.spread(ob))
	for _, ch := range ss.calibrated[c] {
		if ch.Objective == ob.Name {
			x = ch.Upper
		}
	}
	if ss.Failure && perBackend(ob) && c.Backends > 1 {
		x *= float64(c.Backends) / float64(c.Backends-1)
	}
	return x
}

// screenPass is a screen's verdict: every objective's judged value within
// its limit, and nothing overloaded.
func (ss *strategySearch) screenPass(c results.Candidate, o Outcome) bool {
	if o.Overloaded != "" {
		return false
	}
	for _, ob := range ss.Objectives {
		if ss.screenValue(c, o, ob) > ob.Limit {
			return false
		}
	}
	return true
}

// measure performs trials and counts the runs the search has not used
// before.
func (ss *strategySearch) measure(trials []Trial) ([]Outcome, error) {
	got, err := ss.Measure(ss.ctx, trials)
	if err != nil {
		return nil, err
	}
	for _, t := range trials {
		if !ss.ran[t] {
			ss.ran[t] = true
			ss.plan.Runs++
		}
	}
	return got, nil
}

// screen measures replica 0 of normal operation at c, unless anything is
// known of c already. Without screening, and where the full rule needs no
// run (one backend, which cannot survive losing it), it probes in full.
//
// A calibrating screen measures replicas_min replicas instead, the first
// batch of a full probe, and is judged by their upper confidence bound:
// the search makes one, at the top of the backends, so that it knows from
// the start how far apart replicas lie (see spread) and how far above one
// run's value a full probe's bound will be; it costs one run more than a
// plain screen and the runs of the failure scenario less than a full
// probe.
func (ss *strategySearch) screen(c results.Candidate, calibrate bool) error {
	if !ss.Screen || ss.careful || (ss.Failure && c.Backends < 2) {
		_, err := ss.probe(c)
		return err
	}
	if known, _, _ := ss.belief(c); known {
		return nil
	}
	if ss.ProbeStarted != nil {
		ss.ProbeStarted(ss.plan.Strategy, c, true)
	}
	ss.speculate(c)
	n := 1
	if calibrate {
		n = ss.ReplicasMin
	}
	var trials []Trial
	for r := range n {
		trials = append(trials, Trial{Strategy: ss.plan.Strategy, Candidate: c, Replica: r})
	}
	got, err := ss.measure(trials)
	if err != nil {
		return err
	}
	o := got[0]
	for _, g := range got {
		if g.Overloaded != "" && o.Overloaded == "" {
			o = g
		}
	}
	ss.first[c] = o
	ss.zero[c] = got[0]
	p := results.Probe{Candidate: c, Overloaded: o.Overloaded}
	if o.Overloaded == "" && n > 1 {
		ss.calibrated[c] = ss.judge(got, false)
		p.Checks = slices.Clone(ss.calibrated[c])
		p.Pass = ss.screenPass(c, o)
		for i := range p.Checks {
			p.Checks[i].Verdict = results.Pass
			if ss.screenValue(c, o, ss.Objectives[i]) > ss.Objectives[i].Limit {
				p.Checks[i].Verdict = results.Fail
			}
		}
	} else if o.Overloaded == "" {
		p.Pass = ss.screenPass(c, o)
		for _, ob := range ss.Objectives {
			x := metricOf(o, ob)
			v := results.Pass
			if ss.screenValue(c, o, ob) > ob.Limit {
				v = results.Fail
			}
			p.Checks = append(p.Checks, results.Check{Objective: ob.Name, Scenario: results.ScenarioNormal, N: 1, Mean: x, Lower: x, Upper: x, Verdict: v})
		}
	}
	ss.plan.Screens = append(ss.plan.Screens, p)
	ss.screened[c] = len(ss.plan.Screens) - 1
	return nil
}

// speculate tells Speculate of the trials a full probe of c would need
// beyond a screen: the rest of its replicas, and the failure scenario.
func (ss *strategySearch) speculate(c results.Candidate) {
	if ss.Speculate == nil {
		return
	}
	var ts []Trial
	for r := 1; r < ss.ReplicasMin; r++ {
		ts = append(ts, Trial{Strategy: ss.plan.Strategy, Candidate: c, Replica: r})
	}
	if ss.Failure {
		for r := 0; r < ss.ReplicasMin; r++ {
			ts = append(ts, Trial{Strategy: ss.plan.Strategy, Candidate: c, Failure: true, Replica: r})
		}
	}
	ss.Speculate(ts)
}

// reasons describes why the full probe at c failed.
func (ss *strategySearch) reasons(c results.Candidate) string {
	i, ok := ss.full[c]
	if !ok {
		return ""
	}
	p := &ss.plan.Probes[i]
	if p.Overloaded != "" {
		return fmt.Sprintf("%s overloaded at %s", p.Overloaded, p.Candidate.BackendsText())
	}
	var parts []string
	for _, c := range p.Failing() {
		ob := ss.objective(c.Objective)
		if ob.Metric == "" {
			parts = append(parts, c.Objective+" "+string(c.Verdict))
			continue
		}
		s := fmt.Sprintf("%s %s (mean %s, limit %s", c.Objective, c.Verdict, results.FormatNumber(c.Mean)+unitOf(ob), results.FormatNumber(ob.Limit)+unitOf(ob))
		if c.Scenario == results.ScenarioFailure {
			s += ", one backend down"
		}
		parts = append(parts, s+")")
	}
	return fmt.Sprintf("at %s: %s", results.Candidate{Backends: p.Backends}.BackendsText(), strings.Join(parts, "; "))
}

func (ss *strategySearch) objective(name string) results.Objective {
	for _, ob := range ss.Objectives {
		if ob.Name == name {
			return ob
		}
	}
	return results.Objective{Name: name}
}

func unitOf(ob results.Objective) string {
	if ob.Unit == "" {
		return ""
	}
	return " " + ob.Unit
}

// probe judges candidate c by the full rule: replicas of normal operation,
// added while any verdict is inconclusive, then the failure scenario only
// when normal operation passes. A screen's run is reused as replica 0; a
// screen that found a station overloaded already decides the probe, since
// an overloaded replica fails normal operation whatever the others show.
func (ss *strategySearch) probe(c results.Candidate) (results.Probe, error) {
	if i, ok := ss.full[c]; ok {
		return ss.plan.Probes[i], nil
	}
	if ss.ProbeStarted != nil {
		ss.ProbeStarted(ss.plan.Strategy, c, false)
	}
	p := results.Probe{Candidate: c}
	scenarios := []bool{false}
	if ss.Failure {
		scenarios = append(scenarios, true)
	}
	pass := true
	if ss.Failure && c.Backends < 2 {
		// Losing the only backend leaves nobody to serve the users.
		p.Checks = append(p.Checks, results.Check{Objective: "survives a backend failure", Scenario: results.ScenarioFailure, Verdict: results.Fail})
		scenarios, pass = nil, false
	}
	if o, ok := ss.first[c]; ok && o.Overloaded != "" && pass {
		p.Overloaded = o.Overloaded
		scenarios, pass = nil, false
	}
	for _, failure := range scenarios {
		checks, over, err := ss.scenario(c, failure)
		if err != nil {
			return results.Probe{}, err
		}
		p.Checks = append(p.Checks, checks...)
		if over != "" {
			p.Overloaded = over
			pass = false
			break
		}
		for _, ch := range checks {
			if ch.Verdict != results.Pass {
				pass = false
			}
		}
		if !pass {
			break
		}
	}
	p.Pass = pass
	ss.plan.Probes = append(ss.plan.Probes, p)
	ss.full[c] = len(ss.plan.Probes) - 1
	return p, nil
}

// scenario measures one scenario of a probe.
func (ss *strategySearch) scenario(c results.Candidate, failure bool) ([]results.Check, string, error) {
	var outs []Outcome
	n := ss.ReplicasMin
	for {
		var trials []Trial
		for r := len(outs); r < n; r++ {
			trials = append(trials, Trial{Strategy: ss.plan.Strategy, Candidate: c, Failure: failure, Replica: r})
		}
		got, err := ss.measure(trials)
		if err != nil {
			return nil, "", err
		}
		outs = append(outs, got...)
		if !failure {
			ss.zero[c] = outs[0]
		}
		for _, o := range got {
			if o.Overloaded != "" {
				return nil, o.Overloaded, nil
			}
		}
		checks := ss.judge(outs, failure)
		open := slices.ContainsFunc(checks, func(ch results.Check) bool { return ch.Verdict == results.Inconclusive })
		if !open || n >= ss.ReplicasMax {
			return checks, "", nil
		}
		n++
	}
}

// judge turns the replicas' outcomes into a verdict on every objective.
func (ss *strategySearch) judge(outs []Outcome, failure bool) []results.Check {
	scen := results.ScenarioNormal
	if failure {
		scen = results.ScenarioFailure
	}
	var checks []results.Check
	for _, ob := range ss.Objectives {
		xs := make([]float64, 0, len(outs))
		for _, o := range outs {
			xs = append(xs, metricOf(o, ob))
		}
		checks = append(checks, Judge(ob, scen, xs, ss.Confidence))
	}
	return checks
}
