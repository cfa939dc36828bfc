package model

// fifo is a growable ring buffer of connection indexes.
type fifo struct {
	buf        []int32
	head, size int
}

func (f *fifo) push(v int32) {
	if f.size == len(f.buf) {
		nb := make([]int32, max(16, 2*len(f.buf)))
		for i := 0; i < f.size; i++ {
			nb[i] = f.buf[(f.head+i)%len(f.buf)]
		}
		f.buf, f.head = nb, 0
	}
	f.buf[(f.head+f.size)%len(f.buf)] = v
	f.size++
}

func (f *fifo) pop() int32 {
	v := f.buf[f.head]
	f.head = (f.head + 1) % len(f.buf)
	f.size--
	return v
}

// station is a first-come-first-served queue in front of a number of
// identical servers (CPU cores, NFS server threads). It tracks how long its
// servers were busy.
type station struct {
	servers int
	busy    int
	waiting fifo
	// busyTime is the sum of service times started, for utilisation.
	busyTime int64
}

// arrive returns true when the customer can start service at once;
// otherwise it is queued.
func (s *station) arrive(c int32) bool {
	if s.busy < s.servers {
		s.busy++
		return true
	}
	s.waiting.push(c)
	return false
}

// depart frees a server and returns the next waiting customer, if any,
// which then holds the server.
func (s *station) depart() (int32, bool) {
	if s.waiting.size > 0 {
		return s.waiting.pop(), true
	}
	s.busy--
	return -1, false
}
