package report_test

import (
	"io"
	"testing"

	"github.com/mailsim/mailsim/results/report"
	"github.com/mailsim/mailsim/results/resultstest"
)

// BenchmarkWrite measures rendering the report of the default synthetic
// set (18 runs, 14 charts) with PNG charts.
func BenchmarkWrite(b *testing.B) {
	s := synthSet(b, resultstest.Default)
	b.ResetTimer()
	for range b.N {
		if err := report.Write(io.Discard, s, report.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
