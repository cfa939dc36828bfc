package sim

import "fmt"

// Sim is one simulation run's clock and pending-event set. The zero value is
// ready to use at time 0.
type Sim struct {
	now     Time
	seq     uint64
	q       queue
	done    uint64
	stopped bool
}

// New returns a simulator whose event heap has room for capacity pending
// events before it grows.
func New(capacity int) *Sim {
	return &Sim{q: queue{h: make([]Event, 0, capacity)}}
}

// Now returns the current simulated time: the time of the event most
// recently returned by [Sim.Next].
func (s *Sim) Now() Time { return s.now }

// Pending returns the number of scheduled events not yet dispatched.
func (s *Sim) Pending() int { return len(s.q.h) }

// Dispatched returns the number of events dispatched so far.
func (s *Sim) Dispatched() uint64 { return s.done }

// Schedule adds an event of the given kind (at most [MaxKind]) at absolute
// time at. Scheduling in the past is a model bug and panics.
func (s *Sim) Schedule(at Time, kind, obj, arg uint32) {
	if at < s.now || kind > MaxKind {
		s.bad(at, kind)
	}
	s.seq++
	s.q.push(Event{At: at, key: s.seq<<16 | uint64(kind), Obj: obj, Arg: arg})
}

// bad reports a model bug; it is kept out of Schedule so that Schedule
// stays small.
//
//go:noinline
func (s *Sim) bad(at Time, kind uint32) {
	if kind > MaxKind {
		panic(fmt.Sprintf("sim: event kind %d exceeds MaxKind", kind))
	}
	panic(fmt.Sprintf("sim: event kind %d scheduled at %v, before now %v", kind, at, s.now))
}

// After schedules an event d after the current time.
func (s *Sim) After(d Time, kind, obj, arg uint32) {
	s.Schedule(s.now+d, kind, obj, arg)
}

// PeekTime returns the time of the next pending event, or [Never] if none is
// pending.
func (s *Sim) PeekTime() Time {
	if len(s.q.h) == 0 {
		return Never
	}
	return s.q.h[0].At
}

// Next removes the earliest pending event, advances the clock to its time
// and returns it. It returns false when no event is pending.
func (s *Sim) Next() (Event, bool) {
	if len(s.q.h) == 0 {
		return Event{}, false
	}
	e := s.q.pop()
	s.now = e.At
	s.done++
	return e, true
}

// Handler receives dispatched events. Models usually implement it with a
// switch on [Event.Kind].
type Handler interface {
	Handle(e Event)
}

// Run dispatches events in (time, sequence) order to h until no event is
// pending or the next one lies after until. It leaves the clock at until if
// it stopped for that reason, so that a model can read Now as the end of the
// run.
func (s *Sim) Run(until Time, h Handler) {
	s.stopped = false
	for len(s.q.h) > 0 && s.q.h[0].At <= until && !s.stopped {
		e := s.q.pop()
		s.now = e.At
		s.done++
		h.Handle(e)
	}
	if until != Never && s.now < until && !s.stopped {
		s.now = until
	}
}

// Stop makes the current [Sim.Run] return after the event being handled;
// the remaining events stay pending.
func (s *Sim) Stop() { s.stopped = true }

// Stopped reports whether the last [Sim.Run] ended through [Sim.Stop].
func (s *Sim) Stopped() bool { return s.stopped }
