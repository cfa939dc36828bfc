package sim

// Event is one scheduled occurrence. It is a small value (32 bytes): the
// model encodes what happens in Kind, which entity it concerns in Obj, and
// one word of payload in Arg. Events never carry pointers or interfaces, so
// scheduling one allocates nothing once the heap has grown to its working
// size.
type Event struct {
	At   Time   // when the event happens
	seq  uint64 // scheduling order; breaks ties between equal times
	Kind uint32 // model-defined event type
	Obj  uint32 // model-defined entity index (a connection, a backend, ...)
	Arg  int64  // model-defined payload
}

// Seq returns the event's sequence number: the order in which it was
// scheduled within its run. Events at equal times are dispatched in
// sequence order.
func (e Event) Seq() uint64 { return e.seq }

func (e *Event) before(o *Event) bool {
	return e.At < o.At || (e.At == o.At && e.seq < o.seq)
}

// queue is a 4-ary min-heap of events ordered by (At, seq). A 4-ary heap is
// shallower than a binary one and its children share cache lines, which
// makes it the faster choice for the small value events used here.
type queue struct {
	h []Event
}

func (q *queue) push(e Event) {
	q.h = append(q.h, e)
	h := q.h
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) >> 2
		if !e.before(&h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = e
}

func (q *queue) pop() Event {
	h := q.h
	top := h[0]
	n := len(h) - 1
	last := h[n]
	q.h = h[:n]
	if n == 0 {
		return top
	}
	h = h[:n]
	i := 0
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		end := c + 4
		if end > n {
			end = n
		}
		for j := c + 1; j < end; j++ {
			if h[j].before(&h[m]) {
				m = j
			}
		}
		if !h[m].before(&last) {
			break
		}
		h[i] = h[m]
		i = m
	}
	h[i] = last
	return top
}
