package replay

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		name    string
		samples []time.Duration
		want    Summary
	}{
		{"empty", nil, Summary{}},
		{"one", []time.Duration{7}, Summary{Count: 1, Mean: 7, P50: 7, P99: 7, Trimmed: 7}},
		{"two", []time.Duration{4, 8}, Summary{Count: 2, Mean: 6, P50: 4, P99: 8, Trimmed: 6}},
		{"three", []time.Duration{4, 8, 1}, Summary{Count: 3, Mean: 4, P50: 4, P99: 8, Trimmed: 4}},
		{"four", []time.Duration{4, 1, 3, 2}, Summary{Count: 4, Mean: 3, P50: 2, P99: 4, Trimmed: 3}}, // middle 2, 3: 2.5 rounds up
		// Five timings: the fastest and slowest are trimmed.
		{"five with a stall", []time.Duration{10, 11, 12, 13, 1000}, Summary{Count: 5, Mean: 209, P50: 12, P99: 1000, Trimmed: 12}},
		// Two modes, half each: the median sits on one of them, the
		// trimmed mean between.
		{"two modes", []time.Duration{1, 1, 1, 1, 1, 9, 9, 9, 9, 9}, Summary{Count: 10, Mean: 5, P50: 1, P99: 9, Trimmed: 5}},
		// Twenty timings, two stalls: a tenth (two) trimmed from each end.
		{"twenty", []time.Duration{5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 400, 900}, Summary{Count: 20, Mean: 70, P50: 5, P99: 900, Trimmed: 5}},
		// Seven timings with two stalls: the middle three count.
		{"seven with stalls", []time.Duration{900, 10, 12, 11, 13, 14, 700}, Summary{Count: 7, Mean: 237, P50: 13, P99: 900, Trimmed: 13}},
		{"hundred", func() []time.Duration {
			s := make([]time.Duration, 100)
			for i := range s {
				s[i] = time.Duration(100 - i)
			}
			return s
		}(), Summary{Count: 100, Mean: 51, P50: 50, P99: 99, Trimmed: 51}}, // 50.5 rounds half away from zero
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.samples)
			if got := Summarize(tt.samples); got != tt.want {
				t.Errorf("Summarize = %+v, want %+v", got, tt.want)
			}
			if !slices.Equal(in, tt.samples) {
				t.Error("Summarize reordered its input")
			}
		})
	}
}

func TestFitNonNeg(t *testing.T) {
	line := func(a, b float64, xs ...float64) ([][]float64, []float64) {
		var X [][]float64
		var y []float64
		for _, x := range xs {
			X = append(X, []float64{1, x})
			y = append(y, a+b*x)
		}
		return X, y
	}
	tests := []struct {
		name string
		X    [][]float64
		y, w []float64
		want []float64
	}{
		{"exact line", func() [][]float64 { X, _ := line(3, 2, 1, 2, 5, 9); return X }(), func() []float64 { _, y := line(3, 2, 1, 2, 5, 9); return y }(), nil, []float64{3, 2}},
		{"weighted exact line", func() [][]float64 { X, _ := line(20000, 400, 250, 1000, 10000); return X }(), func() []float64 { _, y := line(20000, 400, 250, 1000, 10000); return y }(), []float64{1e-12, 1e-14, 1e-16}, []float64{20000, 400}},
		// A falling line: the slope is pinned at zero and the fixed cost
		// becomes the mean.
		{"negative slope pinned", [][]float64{{1, 1}, {1, 2}, {1, 3}}, []float64{12, 10, 8}, nil, []float64{10, 0}},
		// A negative intercept: the line is refitted through the origin.
		{"negative intercept pinned", [][]float64{{1, 1}, {1, 2}, {1, 3}}, []float64{1, 3, 5}, nil, []float64{0, 22.0 / 14}},
		// A regressor that is always zero gets a zero coefficient.
		{"zero column", [][]float64{{1, 10, 0}, {1, 20, 0}, {1, 30, 0}}, []float64{15, 25, 35}, nil, []float64{5, 1, 0}},
		{"three regressors", [][]float64{{1, 100, 1000}, {1, 200, 50}, {1, 300, 7000}, {1, 50, 300}}, []float64{2 + 0.5*100 + 0.25*1000, 2 + 0.5*200 + 0.25*50, 2 + 0.5*300 + 0.25*7000, 2 + 0.5*50 + 0.25*300}, nil, []float64{2, 0.5, 0.25}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FitNonNeg(tt.X, tt.y, tt.w)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.want {
				if math.Abs(got[i]-tt.want[i]) > 1e-6*math.Max(1, math.Abs(tt.want[i])) {
					t.Fatalf("FitNonNeg = %v, want %v", got, tt.want)
				}
			}
		})
	}
	if _, err := FitNonNeg([][]float64{{1}}, []float64{1, 2}, nil); err == nil {
		t.Error("mismatched lengths: no error")
	}
}
