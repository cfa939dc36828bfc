package sim

import (
	"math/rand/v2"
	"testing"
)

// The minimal hand-written loop that BenchmarkPHOLD is judged against: the
// same PHOLD model with a binary heap of value events coded inline, no
// kernel API in between.

type baseEvent struct {
	at  Time
	seq uint64
	lp  uint32
}

type baseHeap []baseEvent

func (h baseHeap) less(i, j int) bool {
	return h[i].at < h[j].at || (h[i].at == h[j].at && h[i].seq < h[j].seq)
}

func (h *baseHeap) push(e baseEvent) {
	*h = append(*h, e)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *baseHeap) pop() baseEvent {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && s.less(r, l) {
			m = r
		}
		if !s.less(m, i) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

func BenchmarkPHOLDBaseline(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 1000
	h := make(baseHeap, 0, n)
	var seq uint64
	var now Time
	for i := 0; i < n; i++ {
		seq++
		h.push(baseEvent{at: lookahead + Seconds(rng.ExpFloat64()), seq: seq, lp: uint32(i)})
	}
	step := func() {
		e := h.pop()
		now = e.at
		seq++
		h.push(baseEvent{at: now + lookahead + Seconds(rng.ExpFloat64()), seq: seq, lp: uint32(rng.IntN(n))})
	}
	for i := 0; i < 10000; i++ {
		step()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
