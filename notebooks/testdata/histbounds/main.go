// Command histbounds prints the bucket bounds of package mailsim/model/hist,
// one line per bucket: the index, then the lower and upper bound as the
// hexadecimal bits of the float64 and in decimal. The notebooks' Python
// helper is checked against this output, so that its histogram buckets are
// Go's to the last bit or within one unit in the last place.
package main

import (
	"fmt"
	"math"

	"github.com/mailsim/mailsim/model/hist"
)

func main() {
	for i := 0; i < hist.NumBuckets; i++ {
		lo, hi := hist.LowerBound(i), hist.UpperBound(i)
		fmt.Printf("%d %016x %016x %v %v\n", i, math.Float64bits(lo), math.Float64bits(hi), lo, hi)
	}
}
