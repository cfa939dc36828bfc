package strategies

import (
	"bytes"
	"strings"
	"testing"
)

func TestChurn(t *testing.T) {
	rows, err := Churn(Names(), 20000, 10, 1, Params{Bounded: BoundedParams{Epsilon: 0.1}})
	if err != nil {
		t.Fatal(err)
	}
	// Published expectations (see the strategies' doc comments): ring
	// consistent hashing moves about 1/(N+1) of the users when a backend
	// is added and the removed backend's share when one goes; modulo
	// hashing moves nearly all; Maglev is the smoothest of the hashes;
	// bounded loads cap the largest backend at (1+ε) times the mean.
	tests := map[string]struct {
		maxMean          [2]float64
		movedAdd, movedR [2]float64
	}{
		Random:          {[2]float64{1, 1.08}, [2]float64{0.85, 0.95}, [2]float64{0.85, 0.95}},
		LeastConn:       {[2]float64{1, 1}, [2]float64{0.85, 0.95}, [2]float64{0.85, 0.95}},
		PerIP:           {[2]float64{1, 1.08}, [2]float64{0.85, 1}, [2]float64{0.85, 1}},
		PerIPConsistent: {[2]float64{1, 1.6}, [2]float64{0.02, 0.2}, [2]float64{0.02, 0.2}},
		DirectorRing:    {[2]float64{1.05, 1.5}, [2]float64{0.06, 0.13}, [2]float64{0.06, 0.15}},
		DirectorBounded: {[2]float64{1, 1.1}, [2]float64{0.06, 0.2}, [2]float64{0.06, 0.2}},
		DirectorMaglev:  {[2]float64{1, 1.08}, [2]float64{0.07, 0.12}, [2]float64{0.08, 0.13}},
		OwnerProxyName:  {[2]float64{1, 1.08}, [2]float64{0.07, 0.12}, [2]float64{0.08, 0.12}},
		// The default table (user i on backend i mod 10) moves nobody.
		PassdbStatic: {[2]float64{1, 1}, [2]float64{0, 0}, [2]float64{0, 0}},
		// A fresh table redraws everyone: 10/11 and 9/10 move.
		LuaDirector: {[2]float64{1, 1.08}, [2]float64{0.88, 0.94}, [2]float64{0.87, 0.93}},
	}
	for _, r := range rows {
		want, ok := tests[r.Strategy]
		if !ok {
			t.Fatalf("unexpected row %+v", r)
		}
		in := func(v float64, b [2]float64) bool { return v >= b[0] && v <= b[1] }
		if !in(r.MaxMean, want.maxMean) || !in(r.MovedAdd, want.movedAdd) || !in(r.MovedRemove, want.movedR) {
			t.Errorf("%s: max/mean %.3f moved +1 %.3f moved -1 %.3f; want within %v %v %v",
				r.Strategy, r.MaxMean, r.MovedAdd, r.MovedRemove, want.maxMean, want.movedAdd, want.movedR)
		}
		if r.CV < 0 || (r.MaxMean > 1 && r.CV == 0) {
			t.Errorf("%s: CV %v with max/mean %v", r.Strategy, r.CV, r.MaxMean)
		}
	}
	var buf bytes.Buffer
	if err := WriteChurn(&buf, rows); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(buf.String(), "\n"); lines != len(rows)+1 {
		t.Errorf("table has %d lines:\n%s", lines, buf.String())
	}
	if _, err := Churn(Names(), 10, 1, 1, Params{}); err == nil {
		t.Error("Churn accepted one backend")
	}
}
