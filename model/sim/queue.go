package sim

// Event is one scheduled occurrence. It is a small value (24 bytes): the
// model encodes what happens in its kind, which entity it concerns in Obj,
// and one word of payload in Arg. Events never carry pointers or
// interfaces, so scheduling one allocates nothing once the heap has grown
// to its working size.
type Event struct {
	At Time // when the event happens
	// key holds the scheduling sequence number in its upper 48 bits and
	// the kind in its lower 16: comparing keys compares sequence numbers,
	// which are unique, so (At, key) orders events as (time, sequence).
	key uint64
	Obj uint32 // model-defined entity index (a connection, a backend, ...)
	Arg uint32 // model-defined payload
}

// MaxKind is the largest event kind a model may use.
const MaxKind = 1<<16 - 1

// Kind returns the model-defined event type.
func (e Event) Kind() uint32 { return uint32(e.key & MaxKind) }

// Seq returns the event's sequence number: the order in which it was
// scheduled within its run. Events at equal times are dispatched in
// sequence order.
func (e Event) Seq() uint64 { return e.key >> 16 }

func (e *Event) before(o *Event) bool {
	return e.At < o.At || (e.At == o.At && e.key < o.key)
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
	h = h[:n]
	q.h = h
	if n == 0 {
		return top
	}
	i := 0
	for {
		c := 4*i + 1
		if c+3 < n {
			// All four children exist: find the smallest without a loop.
			m, m2 := c, c+2
			if h[c+1].before(&h[c]) {
				m = c + 1
			}
			if h[c+3].before(&h[c+2]) {
				m2 = c + 3
			}
			if h[m2].before(&h[m]) {
				m = m2
			}
			if !h[m].before(&last) {
				break
			}
			h[i] = h[m]
			i = m
			continue
		}
		if c >= n {
			break
		}
		m := c
		for j := c + 1; j < n; j++ {
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
