package results

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Kind is the kind of a [Statement]: what the strategies' means of one
// metric say across the sweep points.
type Kind string

// Kinds of statement, from the strongest finding to none.
const (
	// ZeroSplit: some strategies kept the metric at exactly zero at every
	// point and others did not. Zero against non-zero is a finding
	// whatever the intervals say: the zero strategies never did the
	// thing at all.
	ZeroSplit Kind = "zero-split"
	// OnlyOne: one strategy differs from all others by more than the
	// practical threshold, and the others are the same among themselves.
	OnlyOne Kind = "only-one"
	// Differs: strategies differ by more than the practical threshold,
	// with an interval that excludes zero (or without intervals, where
	// there is one replica).
	Differs Kind = "differs"
	// Same: every difference is below the practical threshold, at every
	// point.
	Same Kind = "same"
	// Unresolved: some differences are above the practical threshold, but
	// no interval excludes zero: more replicas would tell.
	Unresolved Kind = "unresolved"
	// AllZero: every strategy kept the metric at zero everywhere.
	AllZero Kind = "all-zero"
)

// Statement is the answer an experiment gives about one metric, in words
// with the deciding numbers.
type Statement struct {
	Metric MetricInfo
	Kind   Kind
	// Strategies are those the statement is about: the zero ones of a
	// ZeroSplit, the one of OnlyOne, the best then the worst of Differs.
	Strategies []string
	// Points is how many points the difference holds at, of Of.
	Points, Of int
	// Spread is the largest relative difference between two strategies'
	// means at one point (0.25 is 25 %); it orders statements.
	Spread float64
	// Text is the statement as an English sentence.
	Text string
}

// Statements returns one statement per metric that has a direction
// (Neutral metrics and the steady-state checks describe the run, not the
// strategies), in table order. The rules:
//   - zero against non-zero is a finding (ZeroSplit);
//   - a difference smaller than the practical threshold of its kind (see
//     [Practical]) is "the same", even when its interval excludes zero;
//   - a difference counts where it is practical and its interval excludes
//     zero; with one replica there is no interval, and a practical
//     difference counts with the note that it has none;
//   - a metric that only one strategy moves names that strategy (OnlyOne).
func (c *Comparison) Statements() []Statement {
	var out []Statement
	for mi, m := range c.Metrics {
		if m.Better == Neutral || GroupOf(m.Name) == GroupSteady || len(c.Strategies) < 2 {
			continue
		}
		if st, ok := c.statement(mi, m); ok {
			out = append(out, st)
		}
	}
	return out
}

// means returns strategy i's mean of metric mi at every point (NaN where
// it has no value).
func (c *Comparison) means(mi, i int) []float64 {
	out := make([]float64, len(c.Points))
	for p, pc := range c.Points {
		iv := pc.Rows[mi].Cells[i]
		out[p] = math.NaN()
		if iv.N > 0 {
			out[p] = iv.Mean
		}
	}
	return out
}

// matters reports whether strategies i and j differ in metric mi at
// point p by the rules of [Comparison.Statements].
func (c *Comparison) matters(mi, p, i, j int) bool {
	row := &c.Points[p].Rows[mi]
	a, b := row.Cells[i], row.Cells[j]
	if a.N == 0 || b.N == 0 || !Practical(row.Metric, a.Mean, b.Mean) {
		return false
	}
	if (a.Mean == 0) != (b.Mean == 0) {
		return true
	}
	d := row.diff(i, j, c.Strategies, c.Level)
	if math.IsNaN(d.Abs.Lo) {
		return true // one replica: no interval to ask
	}
	return d.Significant()
}

func (c *Comparison) statement(mi int, m MetricInfo) (Statement, bool) {
	st := Statement{Metric: m, Of: len(c.Points)}
	n := len(c.Strategies)
	means := make([][]float64, n)
	var all []float64
	for i := range n {
		means[i] = c.means(mi, i)
		all = append(all, means[i]...)
	}
	disp := DisplayOf(m, all...)
	label := MetricLabel(m)
	var zero, nonzero []string
	present := false
	valued := 0 // strategies with a value
	for i, s := range c.Strategies {
		has, nz := false, false
		for _, v := range means[i] {
			if math.IsNaN(v) {
				continue
			}
			present, has = true, true
			if v != 0 {
				nz = true
			}
		}
		// A strategy without a value (a metric its source does not
		// measure) is neither zero nor non-zero.
		if has {
			valued++
		}
		switch {
		case nz:
			nonzero = append(nonzero, s)
		case has:
			zero = append(zero, s)
		}
	}
	if !present || valued < 2 {
		return st, false // nothing to compare
	}
	// atPoint returns every strategy's mean at point p.
	atPoint := func(p int) []float64 {
		vs := make([]float64, n)
		for i := range n {
			vs[i] = means[i][p]
		}
		return vs
	}
	// The largest relative spread at one point, for ordering.
	for p := range c.Points {
		lo, hi := minMax(atPoint(p))
		if ref := math.Max(math.Abs(lo), math.Abs(hi)); ref > 0 && !math.IsInf(lo, 0) {
			st.Spread = math.Max(st.Spread, (hi-lo)/ref)
		}
	}
	where := ""
	if len(c.Points) > 1 {
		where = " at every point"
	}
	valueOf := func(i int) string { return rangeText(disp, means[i], c.Points) }
	switch {
	case len(nonzero) == 0:
		st.Kind = AllZero
		st.Text = fmt.Sprintf("%s: zero for every strategy%s.", label, where)
		return st, true
	case len(zero) > 0:
		st.Kind = ZeroSplit
		st.Strategies = zero
		var parts []string
		for _, s := range nonzero {
			parts = append(parts, s+" "+valueOf(slices.Index(c.Strategies, s)))
		}
		st.Points = len(c.Points)
		st.Text = fmt.Sprintf("%s: zero under %s%s; %s.", label, joinAnd(zero), where, strings.Join(parts, ", "))
		return st, true
	}
	// Which pairs differ at which points, each pair asked once.
	differ := make([][]bool, len(c.Points)) // differ[p][i*n+j]
	counts := make([]int, len(c.Points))
	for p := range c.Points {
		differ[p] = make([]bool, n*n)
		for i := range n {
			for j := i + 1; j < n; j++ {
				if c.matters(mi, p, i, j) {
					differ[p][i*n+j], differ[p][j*n+i] = true, true
					counts[p]++
				}
			}
		}
	}
	// alone reports whether strategy i alone differs at point p: from
	// every other strategy, while the others are the same among
	// themselves.
	alone := func(p, i int) bool {
		if n <= 2 {
			return false
		}
		for j := range n {
			if j != i && !differ[p][i*n+j] {
				return false
			}
		}
		return counts[p] == n-1
	}
	pts := 0
	worst := 0 // the point with the largest relative spread among those that matter
	bestSpread := -1.0
	for p, k := range counts {
		if k == 0 {
			continue
		}
		pts++
		lo, hi := minMax(atPoint(p))
		if s := (hi - lo) / math.Max(math.Abs(lo), math.Abs(hi)); s > bestSpread {
			bestSpread, worst = s, p
		}
	}
	if pts == 0 {
		st.Kind = Same
		lo, hi := minMax(all)
		who := "under every strategy"
		if len(c.Sources) > 1 {
			who = "in " + joinAnd(c.Sources)
		}
		st.Text = fmt.Sprintf("%s: the same %s%s (%s; differences below %s).", label, who, where, spanText(disp, lo, hi), thresholdText(m))
		// Differences large enough to matter whose intervals all include
		// zero are not "the same": the replicas cannot tell.
		for p := range c.Points {
			for i := range n {
				for j := i + 1; j < n; j++ {
					if Practical(m, means[i][p], means[j][p]) {
						st.Kind = Unresolved
						st.Text = fmt.Sprintf("%s: no difference shown%s (%s): the intervals are too wide for differences of this size; more replicas would tell.", label, where, spanText(disp, lo, hi))
						return st, true
					}
				}
			}
		}
		return st, true
	}
	st.Points = pts
	at := ""
	if len(c.Points) > 1 {
		at = " at " + c.Points[worst].Point.String()
		if pts == len(c.Points) {
			at = " (at every point; largest" + at + ")"
		} else {
			at = fmt.Sprintf(" (at %d of %d points; largest%s)", pts, len(c.Points), at)
		}
	}
	if len(c.Sources) > 1 {
		// Sets side by side (the model and the testbed): each strategy
		// across the sets, not a ranking of sets.
		st.Kind = Differs
		st.Text = fmt.Sprintf("%s%s: %s.", label, at, c.acrossSources(means, worst, disp))
		return st, true
	}
	for i := range n {
		onlyI := true
		for p := range c.Points {
			if counts[p] > 0 && !alone(p, i) {
				onlyI = false
			}
		}
		if onlyI {
			st.Kind = OnlyOne
			st.Strategies = []string{c.Strategies[i]}
			var others []float64
			for j := range n {
				if j != i {
					others = append(others, means[j][worst])
				}
			}
			lo, hi := minMax(others)
			st.Text = fmt.Sprintf("%s%s: only %s differs, %s against %s for the others.", label, at, c.Strategies[i],
				disp.FormatUnit(means[i][worst]), spanText(disp, lo, hi))
			return st, true
		}
	}
	// Best and worst by the metric's direction at the point that shows
	// the largest spread.
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		va, vb := means[a][worst], means[b][worst]
		if m.Better == Higher {
			va, vb = -va, -vb
		}
		switch {
		case va < vb:
			return -1
		case va > vb:
			return 1
		}
		return 0
	})
	best, bad := order[0], order[n-1]
	// The strategies that are the same as the best, and as the worst.
	var good, poor, mid []int
	for _, i := range order {
		// The worst strategy is never among the best, even where its own
		// difference from the best is not shown (the pair that matters
		// may be two others).
		switch {
		case i == best || i != bad && !differ[worst][best*n+i]:
			good = append(good, i)
		case i == bad || !differ[worst][bad*n+i]:
			poor = append(poor, i)
		default:
			mid = append(mid, i)
		}
	}
	st.Kind = Differs
	st.Strategies = []string{c.Strategies[best], c.Strategies[bad]}
	vb, vw := means[best][worst], means[bad][worst]
	rel := ""
	switch {
	case disp.Percent:
		rel = fmt.Sprintf(", %s percentage points", Readable(math.Abs(vw-vb)*100))
	case vb != 0:
		rel = ", " + relText(vw, vb)
	}
	group := func(ix []int) (string, string) {
		var names []string
		var vs []float64
		for _, i := range ix {
			names = append(names, c.Strategies[i])
			vs = append(vs, means[i][worst])
		}
		lo, hi := minMax(vs)
		return joinAnd(names), spanText(disp, lo, hi)
	}
	gn, gv := group(good)
	pn, pv := group(poor)
	between := ""
	if len(mid) > 0 {
		mn, mv := group(mid)
		between = fmt.Sprintf("; %s in between (%s)", mn, mv)
	}
	// Across a sweep, the worst strategy's own range says how much the
	// swept parameter matters to it.
	spread := ""
	if len(c.Points) > 1 && len(poor) == 1 {
		lo, hi := minMax(means[bad])
		if Practical(m, lo, hi) {
			spread = fmt.Sprintf("; %s ranges from %s", c.Strategies[bad], rangeText(disp, means[bad], c.Points))
		}
	}
	st.Text = fmt.Sprintf("%s%s: best under %s (%s), worst under %s (%s%s)%s%s.", label, at, gn, gv, pn, pv, rel, between, spread)
	return st, true
}

// relText says how much larger or smaller w is than b: "+49 %", "−30 %",
// "3.2×" for large ratios.
func relText(w, b float64) string {
	r := w / b
	switch {
	case r >= 3:
		return Readable(r) + "×"
	case r <= 1.0/3 && r > 0:
		return "÷" + Readable(1/r)
	}
	return signedPercent(100*(r-1)) + " %"
}

// rangeText is one strategy's value, or its range over the points ("from
// 30,210 at cluster.backends=2 to 216,004 at cluster.backends=16").
func rangeText(d Display, vs []float64, pts []PointComparison) string {
	lo, hi := -1, -1
	for p, v := range vs {
		if math.IsNaN(v) {
			continue
		}
		if lo < 0 || v < vs[lo] {
			lo = p
		}
		if hi < 0 || v > vs[hi] {
			hi = p
		}
	}
	switch {
	case lo < 0:
		return "n/a"
	case len(pts) == 1 || vs[lo] == vs[hi]:
		return d.FormatUnit(vs[hi])
	}
	return fmt.Sprintf("%s (%s) to %s (%s)", d.FormatUnit(vs[lo]), pts[lo].Point.String(), d.FormatUnit(vs[hi]), pts[hi].Point.String())
}

// spanText is "14.8 ms" or "14.6–14.8 ms".
func spanText(d Display, lo, hi float64) string {
	if d.Format(lo) == d.Format(hi) {
		return d.FormatUnit(hi)
	}
	return d.Format(lo) + "–" + d.FormatUnit(hi)
}

// thresholdText states the practical threshold of m's kind.
func thresholdText(m MetricInfo) string {
	switch {
	case m.Unit == "s":
		return fmt.Sprintf("%g %% or %g ms", 100*SameLatency, 1000*SameLatencyAbs)
	case DisplayOf(m).Percent:
		return fmt.Sprintf("%g percentage point", SameShare)
	}
	return fmt.Sprintf("%g %%", 100*SameRate)
}

func minMax(vs []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		if !math.IsNaN(v) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	return lo, hi
}

// joinAnd joins names as "a", "a and b", "a, b and c".
func joinAnd(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// headline lists the metrics a design review reads first, in the order
// an answer names them.
var headline = []string{
	"stale_reads", "dovecot.errors.total", "users_multi_backend", "messages_new_uid",
	"failed_logins", "users_affected", "time_to_detect", "time_to_recover", "failed_deliveries",
	"imap.latency.p99", "lmtp.latency.p99", "nfs.ops_per_s", "nfs.utilization", "cache.hit_ratio",
	"load_imbalance", "backend.cpu_util.max",
}

// Answer returns the few statements that answer the experiment's
// question, at most max (0 means 6): first every zero-against-non-zero
// finding of the headline metrics (those that share the same zero
// strategies merged into one), then the headline metrics' other verdicts
// in headline order (a latency that is the same is an answer too), then
// other metrics that only one strategy moves or that differ, by spread.
func (c *Comparison) Answer(max int) []Statement {
	if max <= 0 {
		max = 6
	}
	all := c.Statements()
	byName := map[string]Statement{}
	for _, s := range all {
		byName[s.Metric.Name] = s
	}
	var out []Statement
	used := map[string]bool{}
	add := func(s Statement) {
		if len(out) < max && !used[s.Metric.Name] {
			out = append(out, s)
			used[s.Metric.Name] = true
		}
	}
	// Zero splits, the same zero strategies once.
	seen := map[string]int{} // zero strategies → index in out, or -1
	likewise := map[int][]string{}
	for _, name := range headline {
		s, ok := byName[name]
		if !ok || s.Kind != ZeroSplit {
			continue
		}
		key := strings.Join(s.Strategies, ",")
		if k, ok := seen[key]; ok {
			used[name] = true
			if k >= 0 {
				likewise[k] = append(likewise[k], lowerFirst(MetricLabel(s.Metric)))
			}
			continue
		}
		seen[key] = -1
		if len(out) < max {
			seen[key] = len(out)
		}
		add(s)
	}
	for k, l := range likewise {
		out[k].Text = strings.TrimSuffix(out[k].Text, ".") + " (likewise " + joinAnd(l) + ")."
	}
	for _, name := range headline {
		if s, ok := byName[name]; ok && s.Kind != AllZero && s.Kind != ZeroSplit {
			add(s)
		}
	}
	rest := slices.Clone(all)
	slices.SortStableFunc(rest, func(a, b Statement) int {
		switch {
		case a.Spread > b.Spread:
			return -1
		case a.Spread < b.Spread:
			return 1
		}
		return 0
	})
	for _, s := range rest {
		if s.Kind == OnlyOne || s.Kind == Differs || (s.Kind == ZeroSplit && !hasKey(seen, strings.Join(s.Strategies, ","))) {
			add(s)
		}
	}
	return out
}

func hasKey(m map[string]int, k string) bool {
	_, ok := m[k]
	return ok
}

// lowerFirst lower-cases the first letter of a label unless it starts an
// acronym or a name ("IMAP latency", "Dovecot index errors").
func lowerFirst(s string) string {
	if len(s) > 1 && s[1] >= 'A' && s[1] <= 'Z' || strings.HasPrefix(s, "Dovecot") {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// signedPercent formats a percentage with its sign: one decimal below 10,
// whole numbers up to 1,000, readably beyond ("+2,005", "-1.46e+306").
func signedPercent(p float64) string {
	var s string
	switch a := math.Abs(p); {
	case a < 10:
		s = strconv.FormatFloat(p, 'f', 1, 64)
	case a < 1000:
		s = strconv.FormatFloat(p, 'f', 0, 64)
	default:
		s = Readable(p)
	}
	if p >= 0 && !strings.HasPrefix(s, "+") {
		s = "+" + s
	}
	return s
}

// acrossSources phrases, for a side-by-side comparison, each strategy's
// values at point p in every set, with each set's difference from the
// first: "director: model 557, testbed 434 (-22 %)".
func (c *Comparison) acrossSources(means [][]float64, p int, disp Display) string {
	var parts []string
	var order []string
	vals := map[string][]string{}
	first := map[string]float64{}
	for i, name := range c.Strategies {
		base, src, ok := strings.Cut(name, " [")
		src = strings.TrimSuffix(src, "]")
		if !ok {
			base, src = name, ""
		}
		if _, seen := vals[base]; !seen {
			order = append(order, base)
			first[base] = means[i][p]
		}
		v := strings.TrimSpace(src + " " + disp.FormatUnit(means[i][p]))
		if len(vals[base]) > 0 && first[base] != 0 && !math.IsNaN(first[base]) && !math.IsNaN(means[i][p]) {
			v += " (" + relText(means[i][p], first[base]) + ")"
		}
		vals[base] = append(vals[base], v)
	}
	for _, base := range order {
		parts = append(parts, base+": "+strings.Join(vals[base], ", "))
	}
	return strings.Join(parts, "; ")
}
