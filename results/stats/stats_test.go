package stats

import (
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestTQuantile(t *testing.T) {
	// Reference values: two-sided 95% critical values of Student's t from
	// standard tables (NIST/SEMATECH e-Handbook, table 1.3.6.7.2).
	tests := []struct {
		p, df, want float64
	}{
		{0.975, 1, 12.706},
		{0.975, 2, 4.303},
		{0.975, 4, 2.776},
		{0.975, 9, 2.262},
		{0.975, 29, 2.045},
		{0.95, 10, 1.812},
		{0.995, 5, 4.032},
		{0.025, 4, -2.776},
		{0.5, 3, 0},
	}
	for _, tt := range tests {
		if got := TQuantile(tt.p, tt.df); !near(got, tt.want, 1e-3) {
			t.Errorf("TQuantile(%g, %g) = %.5f, want %.3f", tt.p, tt.df, got, tt.want)
		}
	}
}

func TestMeanCI(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name         string
		xs           []float64
		n            int
		mean, lo, hi float64
	}{
		// mean 3, s = √2.5, half-width t(.975,4)·s/√5 = 2.776445·0.7071068.
		{"one to five", []float64{1, 2, 3, 4, 5}, 5, 3, 3 - 1.963243, 3 + 1.963243},
		{"NaN left out", []float64{1, nan, 2, 3, 4, 5}, 5, 3, 3 - 1.963243, 3 + 1.963243},
		{"constant", []float64{7, 7, 7}, 3, 7, 7, 7},
		{"single", []float64{4}, 1, 4, nan, nan},
		{"empty", nil, 0, nan, nan, nan},
	}
	eq := func(a, b float64) bool { return (math.IsNaN(a) && math.IsNaN(b)) || near(a, b, 1e-5) }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iv := MeanCI(tt.xs, DefaultLevel)
			if iv.N != tt.n || !eq(iv.Mean, tt.mean) || !eq(iv.Lo, tt.lo) || !eq(iv.Hi, tt.hi) {
				t.Errorf("MeanCI(%v) = %+v, want n=%d mean=%g [%g, %g]", tt.xs, iv, tt.n, tt.mean, tt.lo, tt.hi)
			}
		})
	}
}

func TestPairedDiff(t *testing.T) {
	tests := []struct {
		name     string
		a, b     []float64
		mean, hw float64
		excludes bool
	}{
		// d = {1,1,0,1}: mean 0.75, s = 0.5, hw = t(.975,3)·0.5/2 = 3.182446·0.25.
		{"not significant", []float64{10, 12, 11, 13}, []float64{9, 11, 11, 12}, 0.75, 0.7956116, false},
		// d = {2,2.2,1.8,2.1}: mean 2.025, s = 0.170783, hw = 3.182446·0.0853913.
		{"significant", []float64{12, 13.2, 12.8, 14.1}, []float64{10, 11, 11, 12}, 2.025, 0.2717531, true},
		{"identical", []float64{1, 2, 3}, []float64{1, 2, 3}, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iv, err := PairedDiff(tt.a, tt.b, DefaultLevel)
			if err != nil {
				t.Fatal(err)
			}
			if !near(iv.Mean, tt.mean, 1e-9) || !near(iv.HalfWidth(), tt.hw, 1e-5) || iv.ExcludesZero() != tt.excludes {
				t.Errorf("got %v (hw %g, excludes zero %v), want mean %g hw %g excludes %v", iv, iv.HalfWidth(), iv.ExcludesZero(), tt.mean, tt.hw, tt.excludes)
			}
		})
	}
	if _, err := PairedDiff([]float64{1}, []float64{1, 2}, DefaultLevel); err == nil {
		t.Error("PairedDiff accepted samples of different lengths")
	}
}

func TestWelchDiff(t *testing.T) {
	tests := []struct {
		name             string
		a, b             []float64
		mean, lo, hi, df float64
	}{
		// Equal sizes and variances: df = 2(n−1) = 4, se = √(2/3),
		// half-width t(.975,4)·se = 2.776445·0.816497 = 2.266958.
		{"equal variances", []float64{1, 2, 3}, []float64{4, 5, 6}, -3, -3 - 2.266958, -3 + 2.266958, 4},
		// s²a/na = 0.5, s²b/nb = 4/3: df = 1.833333² / (0.5²/4 + 1.333333²/2)
		// = 3.361111 / 0.951389 = 3.532847.
		{"unequal", []float64{1, 2, 3, 4, 5}, []float64{2, 4, 6}, -1, math.NaN(), math.NaN(), 3.532847},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iv := WelchDiff(tt.a, tt.b, DefaultLevel)
			if !near(iv.Mean, tt.mean, 1e-12) || !near(iv.DF, tt.df, 1e-5) {
				t.Errorf("mean %g df %g, want %g and %g", iv.Mean, iv.DF, tt.mean, tt.df)
			}
			if !math.IsNaN(tt.lo) && (!near(iv.Lo, tt.lo, 1e-5) || !near(iv.Hi, tt.hi, 1e-5)) {
				t.Errorf("interval [%g, %g], want [%g, %g]", iv.Lo, iv.Hi, tt.lo, tt.hi)
			}
			// The half-width is t(df)·se whatever df is.
			se := math.Sqrt(variance(tt.a)/float64(len(tt.a)) + variance(tt.b)/float64(len(tt.b)))
			if want := TQuantile(0.975, iv.DF) * se; !near(iv.HalfWidth(), want, 1e-9) {
				t.Errorf("half-width %g, want %g", iv.HalfWidth(), want)
			}
		})
	}
	// Between the df=3 and df=4 critical values.
	iv := WelchDiff([]float64{1, 2, 3, 4, 5}, []float64{2, 4, 6}, DefaultLevel)
	if tq := iv.HalfWidth() / math.Sqrt(1.833333333); tq < 2.776 || tq > 3.183 {
		t.Errorf("t quantile %g outside [t(4), t(3)]", tq)
	}
	if iv := WelchDiff([]float64{1}, []float64{2, 3}, DefaultLevel); !math.IsNaN(iv.Lo) || iv.Mean != -1.5 {
		t.Errorf("one value on a side should give a mean without interval, got %+v", iv)
	}
}

func TestRelativeDiff(t *testing.T) {
	d := Interval{N: 4, Mean: -2, Lo: -3, Hi: -1, Level: DefaultLevel}
	r := RelativeDiff(d, 10)
	if !near(r.Mean, -0.2, 1e-12) || !near(r.Lo, -0.3, 1e-12) || !near(r.Hi, -0.1, 1e-12) {
		t.Errorf("RelativeDiff = %v", r)
	}
	r = RelativeDiff(d, -10)
	if !(r.Lo < r.Hi) {
		t.Errorf("negative base should keep Lo < Hi: %v", r)
	}
	if r := RelativeDiff(d, 0); !math.IsNaN(r.Mean) {
		t.Errorf("zero base should give NaN, got %v", r)
	}
}

// The coverage of the interval is its reason to exist: about 95% of
// intervals from normal samples must contain the true mean.
func TestMeanCICoverage(t *testing.T) {
	const trials, n = 4000, 5
	src := distuv.Normal{Mu: 10, Sigma: 3, Src: rand.NewPCG(7, 11)}
	hits := 0
	xs := make([]float64, n)
	for range trials {
		for i := range xs {
			xs[i] = src.Rand()
		}
		iv := MeanCI(xs, DefaultLevel)
		if iv.Lo <= 10 && 10 <= iv.Hi {
			hits++
		}
	}
	// Binomial(4000, 0.95) has sd ≈ 0.0034; allow four of them.
	if cov := float64(hits) / trials; !near(cov, 0.95, 0.014) {
		t.Errorf("coverage %.4f, want about 0.95", cov)
	}
}
