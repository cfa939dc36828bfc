package sim

import "fmt"

// Sim is one simulation run's clock and pending-event set. The zero value is
// ready to use at time 0.
//
// Pending events sit in two heaps: those due within the near horizon of
// when they were scheduled (see [Sim.SetNearHorizon]), and the rest. A
// model whose many pending events are mostly far off (clients thinking)
// while most of its events are near (requests in service) then pushes and
// pops most events on a small heap. Which heap an event sits in does not
// change the order of dispatch, which is always (time, sequence).
type Sim struct {
	now     Time
	seq     uint64
	q       queue // far events
	near    queue
	horizon Time
	done    uint64
	stopped bool
	// check, if set, is called every checkEvery dispatched events (see
	// [Sim.SetCheck]); its error stops Run and is kept in err.
	check func() error
	err   error
}

// checkEvery is how often [Sim.Run] calls its check function: often enough
// that a run stops within milliseconds of being cancelled, rarely enough
// that the call costs nothing measurable.
const checkEvery = 4096

// SetCheck has [Sim.Run] call fn every few thousand dispatched events (and
// once before dispatching the first); when fn returns an error, Run stops
// after the event being handled and [Sim.Err] returns that error. A model
// uses it to honour a context's cancellation and to bound a run's work.
func (s *Sim) SetCheck(fn func() error) { s.check = fn }

// Err returns the error of the check function that stopped the last
// [Sim.Run], or nil.
func (s *Sim) Err() error { return s.err }

// New returns a simulator whose event heap has room for capacity pending
// events before it grows.
func New(capacity int) *Sim {
	return &Sim{q: queue{h: make([]Event, 0, capacity)}}
}

// Now returns the current simulated time: the time of the event most
// recently returned by [Sim.Next].
func (s *Sim) Now() Time { return s.now }

// SetNearHorizon sets the near horizon: events scheduled less than d
// ahead go to the near heap. 0 (the default) puts every event in one heap.
func (s *Sim) SetNearHorizon(d Time) { s.horizon = d }

// Pending returns the number of scheduled events not yet dispatched.
func (s *Sim) Pending() int { return len(s.q.h) + len(s.near.h) }

// Dispatched returns the number of events dispatched so far.
func (s *Sim) Dispatched() uint64 { return s.done }

// Schedule adds an event of the given kind (at most [MaxKind]) at absolute
// time at. Scheduling in the past is a model bug and panics.
func (s *Sim) Schedule(at Time, kind, obj, arg uint32) {
	if at < s.now || kind > MaxKind {
		s.bad(at, kind)
	}
	s.seq++
	e := Event{At: at, key: s.seq<<16 | uint64(kind), Obj: obj, Arg: arg}
	if at-s.now < s.horizon {
		s.near.push(e)
	} else {
		s.q.push(e)
	}
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

// After schedules an event d after the current time; a delay so long that
// the time would overflow schedules it at [Never].
func (s *Sim) After(d Time, kind, obj, arg uint32) {
	at := s.now + d
	if d > 0 && at < s.now {
		at = Never
	}
	s.Schedule(at, kind, obj, arg)
}

// PeekTime returns the time of the next pending event, or [Never] if none is
// pending.
func (s *Sim) PeekTime() Time {
	if h := s.first(); h != nil {
		return h.h[0].At
	}
	return Never
}

// first returns the heap holding the earliest pending event, or nil if
// none is pending.
func (s *Sim) first() *queue {
	switch {
	case len(s.near.h) == 0:
		if len(s.q.h) == 0 {
			return nil
		}
		return &s.q
	case len(s.q.h) == 0 || s.near.h[0].before(&s.q.h[0]):
		return &s.near
	}
	return &s.q
}

// Next removes the earliest pending event, advances the clock to its time
// and returns it. It returns false when no event is pending.
func (s *Sim) Next() (Event, bool) {
	h := s.first()
	if h == nil {
		return Event{}, false
	}
	e := h.pop()
	s.now = e.At
	s.done++
	return e, true
}

// Handler receives dispatched events. Models usually implement it with a
// switch on [Event.Kind].
type Handler interface {
	Handle(e Event)
}

// Run dispatches events in (time, sequence) order to hd until no event is
// pending or the next one lies after until. It leaves the clock at until if
// it stopped for that reason, so that a model can read Now as the end of the
// run.
func (s *Sim) Run(until Time, hd Handler) {
	s.stopped = false
	if s.check != nil && s.err == nil {
		s.err = s.check()
	}
	if s.err != nil {
		s.stopped = true
		return
	}
	for !s.stopped {
		h := s.first()
		if h == nil || h.h[0].At > until {
			break
		}
		if s.done%checkEvery == checkEvery-1 && s.check != nil {
			if s.err = s.check(); s.err != nil {
				s.stopped = true
				break
			}
		}
		e := h.pop()
		s.now = e.At
		s.done++
		hd.Handle(e)
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
