package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestOrderByTimeThenSequence(t *testing.T) {
	s := New(0)
	s.Schedule(5, 1, 0, 0)
	s.Schedule(3, 2, 0, 0)
	s.Schedule(5, 3, 0, 0)
	s.Schedule(3, 4, 0, 0)
	s.Schedule(0, 5, 0, 0)
	var got []uint32
	for e, ok := s.Next(); ok; e, ok = s.Next() {
		got = append(got, e.Kind())
	}
	want := []uint32{5, 2, 4, 1, 3}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("dispatch order %v, want %v", got, want)
		}
	}
}

func TestHeapMatchesSortedOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	s := New(0)
	var last Event
	n := 0
	for i := 0; i < 20000; i++ {
		s.Schedule(s.Now()+Time(rng.IntN(1000)), 0, 0, uint32(i))
		if rng.IntN(3) == 0 {
			e, _ := s.Next()
			if n > 0 && e.before(&last) {
				t.Fatalf("event %v dispatched after %v", e, last)
			}
			last, n = e, n+1
		}
	}
	for e, ok := s.Next(); ok; e, ok = s.Next() {
		if e.before(&last) {
			t.Fatalf("event %v dispatched after %v", e, last)
		}
		last = e
	}
}

func TestScheduleInPastPanics(t *testing.T) {
	s := New(0)
	s.Schedule(10, 0, 0, 0)
	s.Next()
	defer func() {
		if recover() == nil {
			t.Fatal("scheduling before now did not panic")
		}
	}()
	s.Schedule(9, 0, 0, 0)
}

func TestRunStopsAtUntil(t *testing.T) {
	s := New(0)
	for i := Time(1); i <= 10; i++ {
		s.Schedule(i*Second, 0, 0, 0)
	}
	var n int
	s.Run(5*Second, handlerFunc(func(Event) { n++ }))
	if n != 5 || s.Now() != 5*Second || s.Pending() != 5 {
		t.Fatalf("ran %d events, now %v, %d pending", n, s.Now(), s.Pending())
	}
	s.Run(Never, handlerFunc(func(Event) { n++ }))
	if n != 10 || s.Now() != 10*Second {
		t.Fatalf("ran %d events, now %v", n, s.Now())
	}
}

type handlerFunc func(Event)

func (f handlerFunc) Handle(e Event) { f(e) }

func TestStreamsAreNamedAndReproducible(t *testing.T) {
	a1 := Stream(42, "workload/user/1").Uint64()
	a2 := Stream(42, "workload/user/1").Uint64()
	b := Stream(42, "workload/user/2").Uint64()
	c := Stream(43, "workload/user/1").Uint64()
	if a1 != a2 {
		t.Fatal("same seed and name gave different streams")
	}
	if a1 == b || a1 == c {
		t.Fatal("different names or seeds gave the same stream")
	}
	if SubSeed(1, "p00-r0") == SubSeed(1, "p00-r1") {
		t.Fatal("SubSeed ignores the name")
	}
}

// phold is the PHOLD benchmark model: n logical processes with one pending
// event each; each event schedules one event at a uniformly random process
// after 0.1 + Exp(1) time units (1 unit = 1 s).
type phold struct {
	s   *Sim
	rng *rand.Rand
	n   int
}

const lookahead = Second / 10

func newPHOLD(seed uint64, n int) *phold {
	p := &phold{s: New(n), rng: Stream(seed, "phold"), n: n}
	for i := 0; i < n; i++ {
		p.s.Schedule(lookahead+Seconds(p.rng.ExpFloat64()), 0, uint32(i), 0)
	}
	return p
}

func (p *phold) Handle(e Event) {
	p.s.After(lookahead+Seconds(p.rng.ExpFloat64()), 0, uint32(p.rng.IntN(p.n)), 0)
}

// step dispatches k events.
func (p *phold) step(k int) {
	for i := 0; i < k; i++ {
		e, _ := p.s.Next()
		p.Handle(e)
	}
}

func traceHash(seed uint64, events int) [32]byte {
	p := newPHOLD(seed, 1000)
	h := sha256.New()
	var buf [24]byte
	for i := 0; i < events; i++ {
		e, _ := p.s.Next()
		binary.LittleEndian.PutUint64(buf[0:], uint64(e.At))
		binary.LittleEndian.PutUint64(buf[8:], e.Seq())
		binary.LittleEndian.PutUint32(buf[16:], e.Obj)
		binary.LittleEndian.PutUint32(buf[20:], e.Kind())
		h.Write(buf[:])
		p.Handle(e)
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

func TestTraceDeterminism(t *testing.T) {
	a, b := traceHash(1, 200000), traceHash(1, 200000)
	if a != b {
		t.Fatalf("same seed gave different traces: %x vs %x", a, b)
	}
	if c := traceHash(2, 200000); c == a {
		t.Fatalf("different seeds gave the same trace %x", a)
	}
}

func TestNoAllocationPerEvent(t *testing.T) {
	p := newPHOLD(1, 1000)
	p.step(10000) // reach the working size
	allocs := testing.AllocsPerRun(100, func() { p.step(1000) })
	if allocs != 0 {
		t.Fatalf("%v allocations per 1,000 events, want 0", allocs)
	}
}

func BenchmarkPHOLD(b *testing.B) {
	p := newPHOLD(1, 1000)
	p.step(10000)
	b.ReportAllocs()
	b.ResetTimer()
	p.step(b.N)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// mmc is an M/M/c queue on the kernel.
type mmc struct {
	s              *Sim
	arr, svc       *rand.Rand
	lambda, mu     float64
	c, busy        int
	queue          []Time // arrival times of waiting customers (ring)
	head, size     int
	served         int
	waitSum        float64
	want           int
	arrivals, done int
}

const (
	evArrive uint32 = iota
	evDepart
)

func newMMc(seed uint64, c int, lambda, mu float64, customers int) *mmc {
	m := &mmc{s: New(64), arr: Stream(seed, "mmc/arrivals"), svc: Stream(seed, "mmc/service"),
		lambda: lambda, mu: mu, c: c, queue: make([]Time, 1024), want: customers}
	m.s.Schedule(Seconds(m.arr.ExpFloat64()/lambda), evArrive, 0, 0)
	return m
}

func (m *mmc) push(t Time) {
	if m.size == len(m.queue) {
		nq := make([]Time, 2*len(m.queue))
		for i := 0; i < m.size; i++ {
			nq[i] = m.queue[(m.head+i)%len(m.queue)]
		}
		m.queue, m.head = nq, 0
	}
	m.queue[(m.head+m.size)%len(m.queue)] = t
	m.size++
}

func (m *mmc) startService(arrived Time) {
	m.served++
	m.waitSum += (m.s.Now() - arrived).Sec()
	m.s.After(Seconds(m.svc.ExpFloat64()/m.mu), evDepart, 0, 0)
}

func (m *mmc) Handle(e Event) {
	switch e.Kind() {
	case evArrive:
		m.arrivals++
		if m.arrivals < m.want {
			m.s.After(Seconds(m.arr.ExpFloat64()/m.lambda), evArrive, 0, 0)
		}
		if m.busy < m.c {
			m.busy++
			m.startService(m.s.Now())
		} else {
			m.push(m.s.Now())
		}
	case evDepart:
		m.done++
		if m.size > 0 {
			t := m.queue[m.head]
			m.head = (m.head + 1) % len(m.queue)
			m.size--
			m.startService(t)
		} else {
			m.busy--
		}
	}
}

// erlangCWait is the mean waiting time in an M/M/c queue (Erlang C).
func erlangCWait(c int, lambda, mu float64) float64 {
	a := lambda / mu
	rho := a / float64(c)
	term, sum := 1.0, 1.0
	for k := 1; k < c; k++ {
		term *= a / float64(k)
		sum += term
	}
	last := term * a / float64(c) / (1 - rho)
	pw := last / (sum + last)
	return pw / (float64(c)*mu - lambda)
}

func TestMMcMatchesErlangC(t *testing.T) {
	want := erlangCWait(10, 9, 1)
	if math.Abs(want-0.66873) > 1e-4 {
		t.Fatalf("Erlang C formula gives %.5f, want 0.66873", want)
	}
	if testing.Short() {
		t.Skip("1,000,000 customers")
	}
	m := newMMc(1, 10, 9, 1, 1_000_000)
	m.s.Run(Never, m)
	got := m.waitSum / float64(m.served)
	if m.served != 1_000_000 {
		t.Fatalf("served %d customers", m.served)
	}
	if rel := math.Abs(got-want) / want; rel > 0.03 {
		t.Fatalf("mean wait %.5f, Erlang C %.5f (%.1f%% off)", got, want, 100*rel)
	}
	t.Logf("mean wait %.5f, Erlang C %.5f", got, want)
}

func BenchmarkMMc(b *testing.B) {
	m := newMMc(1, 10, 9, 1, math.MaxInt)
	b.ReportAllocs()
	b.ResetTimer()
	for m.done < b.N {
		e, _ := m.s.Next()
		m.Handle(e)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "customers/s")
}

// TestNearHorizonKeepsOrder checks that splitting the pending events into
// a near and a far heap dispatches them in the same order as one heap.
func TestNearHorizonKeepsOrder(t *testing.T) {
	order := func(horizon Time) []uint32 {
		rng := rand.New(rand.NewPCG(3, 3))
		s := New(0)
		s.SetNearHorizon(horizon)
		var got []uint32
		for i := 0; i < 50000; i++ {
			// Many ties, near and far delays.
			d := Time(rng.IntN(4)) * Millisecond
			if rng.IntN(4) == 0 {
				d = Time(rng.IntN(100)) * Second
			}
			s.After(d, 0, uint32(i), 0)
			if s.Pending() != i+1-len(got) {
				t.Fatalf("%d pending after %d scheduled and %d dispatched", s.Pending(), i+1, len(got))
			}
			if rng.IntN(2) == 0 {
				e, _ := s.Next()
				got = append(got, e.Obj)
			}
		}
		s.Run(Never, handlerFunc(func(e Event) { got = append(got, e.Obj) }))
		return got
	}
	one := order(0)
	for _, h := range []Time{Millisecond, 2 * Millisecond, Second, Hour} {
		two := order(h)
		if len(two) != len(one) {
			t.Fatalf("horizon %v: %d events dispatched, want %d", h, len(two), len(one))
		}
		for i := range one {
			if one[i] != two[i] {
				t.Fatalf("horizon %v: event %d is %d, want %d", h, i, two[i], one[i])
			}
		}
	}
}

type nopHandler struct{ s *Sim }

func (h nopHandler) Handle(e Event) { h.s.After(Millisecond, 0, 0, 0) }

// TestSetCheck: the check runs every few thousand events; its error stops
// Run with the remaining events still pending, and Err keeps it.
func TestSetCheck(t *testing.T) {
	s := New(4)
	s.Schedule(0, 0, 0, 0)
	calls := 0
	stop := errors.New("stop")
	s.SetCheck(func() error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	s.Run(Hour, nopHandler{s})
	if !errors.Is(s.Err(), stop) || !s.Stopped() {
		t.Fatalf("Err() = %v, Stopped() = %v", s.Err(), s.Stopped())
	}
	if d := s.Dispatched(); d != 2*checkEvery-1 {
		t.Errorf("dispatched %d events before the third check, want %d", d, 2*checkEvery-1)
	}
	if s.Pending() != 1 {
		t.Errorf("%d events pending, want the one not dispatched", s.Pending())
	}
	// A stopped kernel stays stopped.
	s.Run(Hour, nopHandler{s})
	if s.Dispatched() != 2*checkEvery-1 {
		t.Error("Run went on after its check failed")
	}
}

func TestFromFloat(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want Time
	}{
		{0, 0},
		{1.9, 1},
		{-1.9, -1},
		{1e300, Never},
		{math.Inf(1), Never},
		{math.NaN(), Never},
		{-1e300, -Never},
		{float64(Hour), Hour},
	} {
		if got := FromFloat(tc.in); got != tc.want {
			t.Errorf("FromFloat(%g) = %d, want %d", tc.in, got, tc.want)
		}
	}
	if got := Scale(Hour, 1e300); got != Never {
		t.Errorf("Scale(Hour, 1e300) = %d, want Never", got)
	}
}

// TestAfterSaturates: a delay that would overflow the clock schedules the
// event at Never instead of in the past.
func TestAfterSaturates(t *testing.T) {
	s := New(4)
	s.Schedule(Hour, 0, 0, 0)
	s.Next()
	s.After(Never-1, 1, 0, 0)
	if at := s.PeekTime(); at != Never {
		t.Errorf("scheduled at %d, want Never", at)
	}
}
