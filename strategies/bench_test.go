package strategies

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkRoute measures one routing decision in steady state: 100,000
// known users on 10 backends, each connection closed after routing.
func BenchmarkRoute(b *testing.B) {
	const users = 100000
	names := make([]string, users)
	for i := range names {
		names[i] = fmt.Sprintf("user%d@example.com", i)
	}
	ips := clientIPs(users)
	var p Params
	p.Passdb.Map = make(map[string]int, users)
	for i, u := range names {
		p.Passdb.Map[u] = i % 10
	}
	for _, name := range Names() {
		b.Run(name, func(b *testing.B) {
			r, err := New(name, testBackends(10, DefaultWeight(name)), p, rand.NewPCG(1, 2))
			if err != nil {
				b.Fatal(err)
			}
			// Warm up: every user known, tables built.
			for i := range names {
				req := Request{User: names[i], ClientIP: ips[i]}
				r.Closed(req, r.Route(req).Backend)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := i % users
				req := Request{Now: time.Duration(i) * time.Millisecond % (10 * time.Minute), User: names[k], ClientIP: ips[k]}
				r.Closed(req, r.Route(req).Backend)
			}
		})
	}
}

// BenchmarkUserHash measures the director's user hash.
func BenchmarkUserHash(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		UserHash("someone.with.a.name@example.com")
	}
}
