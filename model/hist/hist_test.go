package hist

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

func TestIndexBounds(t *testing.T) {
	for _, v := range []float64{0, 1e-9, Min, 1.5e-6, 1e-3, 0.0123, 1, 9.99, 10, 123.4, Max * 0.999, Max, 1e9} {
		i := Index(v)
		if v < LowerBound(i) || v >= UpperBound(i) {
			t.Errorf("Index(%g) = %d with bounds [%g, %g)", v, i, LowerBound(i), UpperBound(i))
		}
	}
	if Index(math.NaN()) != 0 {
		t.Errorf("NaN should land in the underflow bucket")
	}
}

func TestQuantileAgainstExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	xs := make([]float64, 100000)
	for i := range xs {
		xs[i] = rng.ExpFloat64() * 0.01
		h.Add(xs[i])
	}
	sort.Float64s(xs)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := xs[int(math.Ceil(q*float64(len(xs))))-1]
		got := h.Quantile(q)
		if rel := math.Abs(got-exact) / exact; rel > 0.06 {
			t.Errorf("q=%g: got %g, exact %g (rel err %.3f)", q, got, exact, rel)
		}
	}
	if h.Quantile(0) != xs[0] || h.Quantile(1) != xs[len(xs)-1] {
		t.Errorf("Quantile(0)/Quantile(1) should be the min/max")
	}
}

func TestMergeIsOrderFree(t *testing.T) {
	var a, b, ab, ba Histogram
	for i := 1; i <= 1000; i++ {
		a.Add(float64(i) * 1e-4)
		b.Add(float64(i) * 3e-3)
	}
	ab.Merge(&a)
	ab.Merge(&b)
	ba.Merge(&b)
	ba.Merge(&a)
	if ab != ba {
		t.Fatalf("merge depends on order")
	}
	if ab.N != 2000 || ab.MinV != 1e-4 || ab.MaxV != 3 {
		t.Fatalf("merged N=%d min=%g max=%g", ab.N, ab.MinV, ab.MaxV)
	}
}

func TestEmpty(t *testing.T) {
	var h Histogram
	if !math.IsNaN(h.Quantile(0.5)) || !math.IsNaN(h.Mean()) {
		t.Fatalf("empty histogram should report NaN")
	}
}

// TestBoundsAreExactPowers checks every bound against 10^(i/20)·Min
// computed independently, and that bounds increase.
func TestBoundsAreExactPowers(t *testing.T) {
	for i := 1; i < NumBuckets-1; i++ {
		want := Min * math.Pow(10, float64(i)/BucketsPerDecade)
		if got := UpperBound(i); math.Abs(got-want) > 2e-15*want {
			t.Errorf("bound %d = %.17g, want %.17g", i, got, want)
		}
		if UpperBound(i) <= UpperBound(i-1) {
			t.Errorf("bound %d does not increase", i)
		}
	}
	if UpperBound(NumBuckets-2) != Max {
		t.Errorf("last regular bound %g, want %g", UpperBound(NumBuckets-2), Max)
	}
	for i := 1; i < NumBuckets-1; i++ {
		if Index(LowerBound(i)) != i {
			t.Errorf("Index(lower bound of %d) = %d", i, Index(LowerBound(i)))
		}
	}
}
