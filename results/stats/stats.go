// Package stats computes the confidence intervals that mailsim's tables,
// charts and reports show: the mean of a metric across replicas, and the
// mean paired difference between two strategies.
//
// Intervals use Student's t distribution with n−1 degrees of freedom,
// which assumes the per-replica values (or per-replica differences) are
// roughly normal; with the handful of replicas a sweep can afford this is
// the usual and honest choice, and wider than a normal interval.
//
// Differences between strategies are paired by replica: replica k of every
// strategy at a sweep point sees the same workload (common random
// numbers), so the per-replica difference removes the workload's own
// variance and needs far fewer replicas than comparing two independent
// means.
//
// Percentiles. Every percentile in mailsim (a run's imap.latency.p99, a
// point on a latency CDF) comes from the fixed log-scale histograms of
// package mailsim/model/hist and follows its definition: the target rank is
// q·N (at least 1), the bucket holding that rank is found from cumulative
// counts, and the value is interpolated linearly inside the bucket (its
// bounds clamped to the observed minimum and maximum) by the rank's
// position among the bucket's observations. The value and the exact order
// statistic lie in the same bucket, and bucket bounds differ by a factor
// of 10^(1/20) ≈ 1.122, so a percentile is within about 12% of the exact
// one.
// Percentiles across replicas are never averaged into a "percentile of
// percentiles" for charts: histograms are merged by adding counts, and the
// percentile is read from the merged histogram. Tables, on the other hand,
// treat each run's p99 as a scalar metric and average it across replicas,
// with an interval, like any other metric.
package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// DefaultLevel is the confidence level of every interval mailsim shows.
const DefaultLevel = 0.95

// Interval is a confidence interval for a mean.
type Interval struct {
	// N is the number of values (or pairs) behind the interval.
	N int
	// Mean is the sample mean, NaN when N is 0.
	Mean float64
	// Lo and Hi bound the interval. They are NaN when N < 2: one value
	// gives no estimate of its spread.
	Lo, Hi float64
	// Level is the confidence level, such as 0.95.
	Level float64
	// DF is the degrees of freedom of the t distribution behind the
	// interval: N−1, or the Welch–Satterthwaite estimate for
	// [WelchDiff].
	DF float64
}

// HalfWidth returns half the width of the interval, the "±" in
// "mean ± half-width", or NaN when there is no interval.
func (iv Interval) HalfWidth() float64 { return (iv.Hi - iv.Lo) / 2 }

// ExcludesZero reports whether the whole interval lies on one side of
// zero: for a difference, whether it is significant at the interval's
// level. It is false when there is no interval.
func (iv Interval) ExcludesZero() bool { return iv.Lo > 0 || iv.Hi < 0 }

// String formats the interval as "mean [lo, hi]".
func (iv Interval) String() string {
	return fmt.Sprintf("%.4g [%.4g, %.4g]", iv.Mean, iv.Lo, iv.Hi)
}

// TQuantile returns the p-quantile of Student's t distribution with df
// degrees of freedom.
func TQuantile(p, df float64) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(p)
}

// MeanCI returns the mean of xs with its two-sided confidence interval at
// level (such as 0.95): mean ± t(1−(1−level)/2, n−1)·s/√n, with s the
// sample standard deviation. NaN values (a metric a run could not
// measure) are left out and not counted in N.
func MeanCI(xs []float64, level float64) Interval {
	clean := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			clean = append(clean, x)
		}
	}
	iv := Interval{N: len(clean), Mean: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), Level: level}
	if iv.N == 0 {
		return iv
	}
	if iv.N == 1 {
		iv.Mean = clean[0]
		return iv
	}
	mean, sd := stat.MeanStdDev(clean, nil)
	iv.Mean = mean
	if math.IsInf(mean, 0) || math.IsNaN(sd) {
		return iv
	}
	iv.DF = float64(iv.N - 1)
	h := TQuantile(1-(1-level)/2, iv.DF) * sd / math.Sqrt(float64(iv.N))
	iv.Lo, iv.Hi = mean-h, mean+h
	return iv
}

// WelchDiff returns the difference of the means of two independent
// samples, mean(a) − mean(b), with Welch's confidence interval at level:
// the standard error is √(s²a/na + s²b/nb) and the degrees of freedom are
// the Welch–Satterthwaite estimate. It is the fallback when runs cannot be
// paired (their seeds differ), and is wider than a paired interval when
// the pairing would have removed shared variance. NaN values are left out;
// N is the smaller of the two sample sizes.
func WelchDiff(a, b []float64, level float64) Interval {
	ia, ib := MeanCI(a, level), MeanCI(b, level)
	iv := Interval{N: min(ia.N, ib.N), Mean: ia.Mean - ib.Mean, Lo: math.NaN(), Hi: math.NaN(), Level: level}
	if ia.N < 2 || ib.N < 2 {
		return iv
	}
	va := variance(a) / float64(ia.N)
	vb := variance(b) / float64(ib.N)
	se2 := va + vb
	if se2 == 0 {
		iv.Lo, iv.Hi = iv.Mean, iv.Mean
		iv.DF = float64(ia.N + ib.N - 2)
		return iv
	}
	iv.DF = se2 * se2 / (va*va/float64(ia.N-1) + vb*vb/float64(ib.N-1))
	h := TQuantile(1-(1-level)/2, iv.DF) * math.Sqrt(se2)
	iv.Lo, iv.Hi = iv.Mean-h, iv.Mean+h
	return iv
}

// variance is the sample variance of the non-NaN values of xs.
func variance(xs []float64) float64 {
	clean := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			clean = append(clean, x)
		}
	}
	return stat.Variance(clean, nil)
}

// PairedDiff returns the mean of the differences a[i]−b[i] with its
// confidence interval at level. a and b hold the same replicas in the same
// order; a pair with a NaN on either side is left out.
func PairedDiff(a, b []float64, level float64) (Interval, error) {
	if len(a) != len(b) {
		return Interval{}, fmt.Errorf("stats: paired samples of different lengths %d and %d", len(a), len(b))
	}
	d := make([]float64, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	return MeanCI(d, level), nil
}

// RelativeDiff expresses a paired difference interval relative to the
// baseline mean base, as fractions (0.25 is 25% above the baseline). It
// returns an interval with NaN bounds when base is zero.
func RelativeDiff(d Interval, base float64) Interval {
	if base == 0 || math.IsNaN(base) {
		return Interval{N: d.N, Mean: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), Level: d.Level}
	}
	r := Interval{N: d.N, Mean: d.Mean / base, Lo: d.Lo / base, Hi: d.Hi / base, Level: d.Level}
	if base < 0 {
		r.Lo, r.Hi = r.Hi, r.Lo
	}
	return r
}
