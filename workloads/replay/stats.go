package replay

import (
	"errors"
	"math"
	"slices"
	"time"
)

// Summary summarises the timings of one operation.
type Summary struct {
	// Count is the number of timings.
	Count int
	// Mean, P50 and P99 are the mean and the 50th and 99th percentiles.
	// Percentiles are nearest-rank: the value at rank ceil(q·Count) of the
	// sorted timings.
	Mean, P50, P99 time.Duration
	// Trimmed is a trimmed mean: the mean after dropping the fastest and
	// the slowest tenth of the timings, or quarter when there are fewer
	// than 20 (rounded to the nearest count). Unlike the mean it ignores
	// the odd stall; unlike the median it does not jump between the modes
	// of a two-mode operation (an fsync that sometimes waits for a journal
	// commit and sometimes not) but moves smoothly with their mix. It is
	// what profiles are fitted to.
	Trimmed time.Duration
}

// Summarize returns the summary of samples.
func Summarize(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	var sum float64
	for _, d := range s {
		sum += float64(d)
	}
	k := (len(s) + 5) / 10
	if len(s) < 20 {
		k = (len(s) + 2) / 4
	}
	k = min(k, (len(s)-1)/2) // keep at least one timing
	var tsum float64
	for _, d := range s[k : len(s)-k] {
		tsum += float64(d)
	}
	return Summary{
		Count:   len(s),
		Mean:    time.Duration(math.Round(sum / float64(len(s)))),
		P50:     rank(s, 0.50),
		P99:     rank(s, 0.99),
		Trimmed: time.Duration(math.Round(tsum / float64(len(s)-2*k))),
	}
}

func rank(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// FitNonNeg solves the weighted least-squares problem y ≈ X·β subject to
// β ≥ 0. Each row of X holds one observation's regressors; w holds the
// weights (nil for equal weights). A coefficient the unconstrained fit
// makes negative is pinned at zero and the rest refitted, until all are
// non-negative: costs cannot be negative, and with few, noisy points an
// unconstrained fit would otherwise predict negative times for small
// folders.
func FitNonNeg(X [][]float64, y, w []float64) ([]float64, error) {
	if len(X) == 0 || len(X) != len(y) || (w != nil && len(w) != len(y)) {
		return nil, errors.New("replay: fit needs as many observations as values")
	}
	if w != nil {
		// Normalise the weights: relative weights such as 1/y² are tiny in
		// nanoseconds and would otherwise look singular.
		top := 0.0
		for _, v := range w {
			top = max(top, v)
		}
		if top <= 0 {
			return nil, errors.New("replay: fit weights must be positive")
		}
		nw := make([]float64, len(w))
		for i, v := range w {
			nw[i] = v / top
		}
		w = nw
	}
	k := len(X[0])
	active := make([]bool, k)
	for j := range active {
		active[j] = true
	}
	for {
		var cols []int
		for j := range k {
			if active[j] {
				cols = append(cols, j)
			}
		}
		beta := make([]float64, k)
		if len(cols) == 0 {
			return beta, nil
		}
		sol, err := solveLS(X, y, w, cols)
		if err != nil {
			return nil, err
		}
		worst, worstJ := 0.0, -1
		for i, j := range cols {
			beta[j] = sol[i]
			if sol[i] < worst {
				worst, worstJ = sol[i], j
			}
		}
		if worstJ < 0 {
			return beta, nil
		}
		active[worstJ] = false
	}
}

// solveLS solves the normal equations of the weighted least-squares fit on
// columns cols of X by Gaussian elimination with partial pivoting, after
// scaling each column to unit size so that regressors of very different
// magnitude (1, entries, bytes) stay well conditioned. A column that is
// all zero gets a zero coefficient.
func solveLS(X [][]float64, y, w []float64, cols []int) ([]float64, error) {
	n := len(cols)
	scale := make([]float64, n)
	for i, j := range cols {
		for r := range X {
			scale[i] = max(scale[i], math.Abs(X[r][j]))
		}
		if scale[i] == 0 {
			scale[i] = 1
		}
	}
	A := make([][]float64, n)
	for i := range A {
		A[i] = make([]float64, n+1)
	}
	for r := range X {
		wr := 1.0
		if w != nil {
			wr = w[r]
		}
		for a, ja := range cols {
			xa := X[r][ja] / scale[a]
			for b, jb := range cols {
				A[a][b] += wr * xa * X[r][jb] / scale[b]
			}
			A[a][n] += wr * xa * y[r]
		}
	}
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(A[r][c]) > math.Abs(A[p][c]) {
				p = r
			}
		}
		A[c], A[p] = A[p], A[c]
		if math.Abs(A[c][c]) < 1e-12 {
			// A regressor that never varies independently: leave its
			// coefficient at zero.
			A[c][c], A[c][n] = 1, 0
			for r := range n {
				if r != c {
					A[c][r] = 0
				}
			}
			continue
		}
		for r := range n {
			if r == c || A[r][c] == 0 {
				continue
			}
			f := A[r][c] / A[c][c]
			for k := c; k <= n; k++ {
				A[r][k] -= f * A[c][k]
			}
		}
	}
	beta := make([]float64, n)
	for i := range n {
		beta[i] = A[i][n] / A[i][i] / scale[i]
		if math.IsNaN(beta[i]) || math.IsInf(beta[i], 0) {
			return nil, errors.New("replay: fit is singular")
		}
	}
	return beta, nil
}
