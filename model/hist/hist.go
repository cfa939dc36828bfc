// Package hist provides fixed log-scale histograms for latencies and other
// positive quantities. Every histogram has the same bucket boundaries, so
// histograms from different runs, replicas or shards merge by adding counts
// and the result does not depend on the order of merging.
package hist

import (
	"math"
)

// Bucket layout: BucketsPerDecade buckets per power of ten from Min up to
// Max. Values below Min fall in an underflow bucket (index 0), values at or
// above Max in an overflow bucket (the last index).
const (
	// Min is the lower bound of the first regular bucket: 1 µs when values
	// are seconds.
	Min = 1e-6
	// Max is the upper bound of the last regular bucket: 10,000 s.
	Max = 1e4
	// BucketsPerDecade sets the resolution: successive bounds differ by a
	// factor of 10^(1/20) ≈ 1.122, so a quantile interpolated linearly
	// within its bucket is within about 12% of the exact one.
	BucketsPerDecade = 20
	decades          = 10
	// NumBuckets counts all buckets, including underflow and overflow.
	NumBuckets = decades*BucketsPerDecade + 2
)

// mantissas are 10^(j/20) for j = 0..19, to 17 significant digits.
var mantissas = [BucketsPerDecade]float64{
	1,
	1.1220184543019634,
	1.2589254117941672,
	1.4125375446227543,
	1.5848931924611135,
	1.7782794100389228,
	1.9952623149688796,
	2.2387211385683396,
	2.5118864315095801,
	2.8183829312644538,
	3.1622776601683793,
	3.5481338923357546,
	3.9810717055349725,
	4.4668359215096312,
	5.0118723362727229,
	5.6234132519034908,
	6.3095734448019325,
	7.0794578438413791,
	7.9432823472428150,
	8.9125093813374553,
}

// decadeStart holds Min·10^k for k = 0..decades-1.
var decadeStart = [decades]float64{1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 1e1, 1e2, 1e3}

// upper holds the buckets' upper bounds. Each is one product of two
// constants, rounded once, so that the bounds are the same bits on every
// machine (math.Pow's result can differ in the last place with and
// without fused multiply-add).
var upper = func() [NumBuckets]float64 {
	var u [NumBuckets]float64
	u[0] = Min
	for i := 1; i < NumBuckets-1; i++ {
		if i == NumBuckets-2 {
			u[i] = Max
			continue
		}
		u[i] = decadeStart[i/BucketsPerDecade] * mantissas[i%BucketsPerDecade]
	}
	u[NumBuckets-1] = math.Inf(1)
	return u
}()

// UpperBound returns the exclusive upper bound of bucket i (+Inf for the
// overflow bucket).
func UpperBound(i int) float64 { return upper[i] }

// LowerBound returns the inclusive lower bound of bucket i (0 for the
// underflow bucket).
func LowerBound(i int) float64 {
	if i == 0 {
		return 0
	}
	return upper[i-1]
}

// Index returns the bucket that holds v.
func Index(v float64) int {
	if !(v >= Min) { // also catches NaN
		return 0
	}
	if v >= Max {
		return NumBuckets - 1
	}
	i := int(math.Floor(math.Log10(v/Min)*BucketsPerDecade)) + 1
	// The logarithm is an estimate; the bounds decide.
	i = max(1, min(i, NumBuckets-2))
	for i > 1 && v < upper[i-1] {
		i--
	}
	for i < NumBuckets-1 && v >= upper[i] {
		i++
	}
	return i
}

// Histogram counts observations in the fixed buckets and keeps their exact
// count, sum, minimum and maximum. The zero value is empty and ready to use.
type Histogram struct {
	Counts [NumBuckets]uint64
	N      uint64
	Sum    float64
	MinV   float64
	MaxV   float64
}

// Add records one observation.
func (h *Histogram) Add(v float64) {
	h.Counts[Index(v)]++
	if h.N == 0 || v < h.MinV {
		h.MinV = v
	}
	if h.N == 0 || v > h.MaxV {
		h.MaxV = v
	}
	h.N++
	h.Sum += v
}

// Merge adds o's observations to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.N == 0 {
		return
	}
	for i, c := range o.Counts {
		h.Counts[i] += c
	}
	if h.N == 0 || o.MinV < h.MinV {
		h.MinV = o.MinV
	}
	if h.N == 0 || o.MaxV > h.MaxV {
		h.MaxV = o.MaxV
	}
	h.N += o.N
	h.Sum += o.Sum
}

// Mean returns the exact mean of the observations, or NaN when empty.
func (h *Histogram) Mean() float64 {
	if h.N == 0 {
		return math.NaN()
	}
	return h.Sum / float64(h.N)
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) estimated from the buckets,
// or NaN when the histogram is empty.
//
// Definition: the target rank is r = q·N (at least 1 observation deep,
// nearest-rank style); the bucket holding the r-th smallest observation is
// found from the cumulative counts, and the value is interpolated linearly
// within that bucket (its bounds clamped to the observed minimum and
// maximum) by the rank's position in it. Quantile(0) is the minimum and
// Quantile(1) the maximum. Only additions, multiplications and divisions
// are used, each rounded on its own, so the result is the same on every
// machine.
func (h *Histogram) Quantile(q float64) float64 {
	if h.N == 0 || math.IsNaN(q) {
		return math.NaN()
	}
	if q <= 0 {
		return h.MinV
	}
	if q >= 1 {
		return h.MaxV
	}
	r := q * float64(h.N)
	if r < 1 {
		r = 1
	}
	var cum float64
	for i, c := range h.Counts {
		if c == 0 {
			continue
		}
		next := cum + float64(c)
		if next >= r {
			lo, hi := LowerBound(i), UpperBound(i)
			if lo < h.MinV {
				lo = h.MinV
			}
			if hi > h.MaxV {
				hi = h.MaxV
			}
			frac := (r - cum) / float64(c)
			// The conversion rounds the product, so that no compiler
			// fuses it with the addition.
			return lo + float64((hi-lo)*frac)
		}
		cum = next
	}
	return h.MaxV
}
