package model

// MSER5 returns the truncation point that MSER-5 (White's marginal
// standard error rule on batch means of 5 observations; White, Cobb and
// Spratt, "A comparison of five steady-state truncation heuristics for
// simulation", Proc. Winter Simulation Conference 2000) chooses for the
// series xs: the number of leading observations (a multiple of 5) whose
// removal minimises the squared standard error of the mean of the rest.
// Candidates are limited to the first half of the batches, as the rule
// prescribes; ok is false when the series has fewer than 4 batches or
// the minimum lies at that limit, so that the rule finds no steady state
// in the series.
//
// A series that starts in steady state gives a truncation near 0; a series
// that ramps up gives one near the end of the ramp.
func MSER5(xs []float64) (cut int, ok bool) {
	const batch = 5
	k := len(xs) / batch
	if k < 4 {
		return 0, false
	}
	means := make([]float64, k)
	for i := range means {
		var s float64
		for _, x := range xs[i*batch : (i+1)*batch] {
			s += x
		}
		means[i] = s / batch
	}
	// Suffix sums give each candidate's mean and sum of squares in one
	// pass from the end.
	best, bestD := 0.0, -1
	var sum, sumSq float64
	stat := make([]float64, k)
	for i := k - 1; i >= 0; i-- {
		sum += means[i]
		sumSq += means[i] * means[i]
		n := float64(k - i)
		mean := sum / n
		ss := sumSq - n*mean*mean
		if ss < 0 {
			ss = 0
		}
		stat[i] = ss / (n * n)
	}
	for d := 0; d <= k/2; d++ {
		if bestD < 0 || stat[d] < best {
			best, bestD = stat[d], d
		}
	}
	return bestD * batch, bestD < k/2
}

// Stationarity is what MSER-5 finds in a run's measured period.
type Stationarity struct {
	// Discard is the largest fraction of the measured period that MSER-5
	// would discard as warm-up, over the series checked (open connections
	// and commands per sample interval); 0.5 where it found no steady
	// state at all.
	Discard float64
	// Shift is, for the series and cut that give Discard, how far the
	// mean of the discarded part lies from the mean of the rest, relative
	// to the latter.
	Shift float64
	// Stationary is false when MSER-5 would discard more than
	// [StationaryMaxDiscard] of the period and the part it discards
	// differs from the rest by more than [StationaryMaxShift]: the
	// measured period then begins with a transient that biases its
	// averages (lengthen run.warmup).
	Stationary bool
}

// The thresholds of [Result.Stationarity]. MSER-5 alone also cuts the
// random excursions of a stationary series (the open connections of a
// few hundred users wander by several per cent over a session length),
// so a cut counts only when the part cut off is also materially
// different: the 5 % is the tolerance for the connections at the start of
// the measured period against its mean.
const (
	StationaryMaxDiscard = 0.1
	StationaryMaxShift   = 0.05
)

// Stationarity checks the run's time series with MSER-5, up to its first
// fault: what a fault does to the series is the experiment, not a
// transient of the start. A run with fewer than 20 samples before it is
// reported stationary: there is nothing to judge by.
func (r *Result) Stationarity() Stationarity {
	st := Stationarity{Stationary: true}
	series := r.Series
	if r.FaultAt > 0 {
		n := 0
		for n < len(series) && series[n].At <= r.FaultAt {
			n++
		}
		series = series[:n]
	}
	if len(series) < 20 {
		return st
	}
	conns := make([]float64, len(series))
	cmds := make([]float64, len(series))
	var prev uint64
	for i, s := range series {
		conns[i] = float64(s.Connections)
		cmds[i] = float64(s.Commands - prev)
		prev = s.Commands
	}
	for _, xs := range [][]float64{conns, cmds} {
		cut, ok := MSER5(xs)
		if !ok {
			cut = len(xs) / 2
		}
		f := float64(cut) / float64(len(xs))
		shift := relShift(xs, cut)
		if f > StationaryMaxDiscard && shift > StationaryMaxShift {
			st.Stationary = false
		}
		if f > st.Discard || f == st.Discard && shift > st.Shift {
			st.Discard, st.Shift = f, shift
		}
	}
	return st
}

// relShift returns |mean(xs[:cut]) - mean(xs[cut:])| / |mean(xs[cut:])|
// (0 when either part is empty or the rest's mean is 0).
func relShift(xs []float64, cut int) float64 {
	if cut <= 0 || cut >= len(xs) {
		return 0
	}
	mean := func(v []float64) float64 {
		var s float64
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	head, rest := mean(xs[:cut]), mean(xs[cut:])
	if rest == 0 {
		return 0
	}
	d := (head - rest) / rest
	if d < 0 {
		d = -d
	}
	return d
}
