package workloads

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"mailsim/model/sim"
)

// TraceVersion is the version of the trace format written by
// [TraceWriter] and read by [ReadTrace].
const TraceVersion = 1

// The trace format, version 1, is text: a first line
//
//	# mailsim-trace v1
//
// then one operation per line, nine tab-separated fields:
//
//	at       when the operation starts, in nanoseconds from the start of the run
//	user     the user name
//	device   the device, as an index into the site's device list (-1 for LMTP)
//	kind     desktop, phone, webmail, or mx for a delivery
//	conn     the connection slot of the device (0 for the first; -1 for LMTP)
//	op       SESSION, RETRY, an IMAP command (LOGIN, SELECT, STATUS, LIST,
//	         FETCH, FETCHBODY, STORE, EXPUNGE, APPEND, SEARCH, LOGOUT) or LMTP
//	mailbox  the folder, 0 for INBOX
//	bytes    the message size of APPEND and LMTP, else 0
//	wait     nanoseconds: for a command, the client's think time after the
//	         previous reply; for SESSION, the pause since the device's
//	         previous session (or the start of the run); for RETRY, the
//	         client's wait before reconnecting after a failure
//	length   for SESSION, the session's length in nanoseconds; else 0
//
// (ten fields in all: at, user, device, kind, conn, op, mailbox, bytes,
// wait, length). Lines starting with '#' are comments. A SESSION line
// starts all of a device's connections; each connection then sends its
// commands in order, each after its wait. LMTP lines are deliveries at
// their time. Replayed under the strategy that produced it, a trace gives
// exactly the run that wrote it; under another strategy the same users do
// the same things, each command still sent its think time after the
// previous reply.
const traceHeader = "# mailsim-trace v1"

// TraceOp is one line of a trace.
type TraceOp struct {
	At      sim.Time
	User    string
	Device  int
	Kind    string
	Conn    int
	Op      string
	Mailbox int
	Bytes   int64
	Wait    sim.Time
	Length  sim.Time
}

// TraceWriter writes a trace.
type TraceWriter struct {
	w   *bufio.Writer
	err error
}

// NewTraceWriter starts a trace on w.
func NewTraceWriter(w io.Writer) *TraceWriter {
	t := &TraceWriter{w: bufio.NewWriter(w)}
	_, t.err = fmt.Fprintf(t.w, "%s\n# at\tuser\tdevice\tkind\tconn\top\tmailbox\tbytes\twait\tlength\n", traceHeader)
	return t
}

// Write adds one operation.
func (t *TraceWriter) Write(op TraceOp) {
	if t.err != nil {
		return
	}
	_, t.err = fmt.Fprintf(t.w, "%d\t%s\t%d\t%s\t%d\t%s\t%d\t%d\t%d\t%d\n",
		op.At, op.User, op.Device, op.Kind, op.Conn, op.Op, op.Mailbox, op.Bytes, op.Wait, op.Length)
}

// Close flushes the trace and returns the first error met.
func (t *TraceWriter) Close() error {
	if t.err != nil {
		return t.err
	}
	return t.w.Flush()
}

// Trace is a trace read for replay: per device its sessions, per
// connection its commands and retries, and the deliveries, each in order.
type Trace struct {
	sessions map[int][]TraceOp
	steps    map[[2]int][]TraceOp
	retries  map[[2]int][]TraceOp
	// Deliveries are the LMTP operations in time order.
	Deliveries []TraceOp
}

// ReadTrace parses a trace; name is used in error messages.
func ReadTrace(name string, r io.Reader) (*Trace, error) {
	t := &Trace{sessions: map[int][]TraceOp{}, steps: map[[2]int][]TraceOp{}, retries: map[[2]int][]TraceOp{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			if strings.TrimSpace(text) != traceHeader {
				return nil, fmt.Errorf("%s:1: not a mailsim trace v%d (want the line %q)", name, TraceVersion, traceHeader)
			}
			continue
		}
		if text == "" || text[0] == '#' {
			continue
		}
		op, err := parseTraceOp(text)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		key := [2]int{op.Device, op.Conn}
		switch op.Op {
		case "SESSION":
			t.sessions[op.Device] = append(t.sessions[op.Device], op)
		case "RETRY":
			t.retries[key] = append(t.retries[key], op)
		case "LMTP":
			t.Deliveries = append(t.Deliveries, op)
		default:
			t.steps[key] = append(t.steps[key], op)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if line == 0 {
		return nil, fmt.Errorf("%s: empty file, not a mailsim trace", name)
	}
	sort.SliceStable(t.Deliveries, func(i, j int) bool { return t.Deliveries[i].At < t.Deliveries[j].At })
	return t, nil
}

var commandByName = func() map[string]Command {
	m := map[string]Command{}
	for c := range NumCommands {
		m[c.String()] = c
	}
	return m
}()

func parseTraceOp(text string) (TraceOp, error) {
	f := strings.Split(text, "\t")
	if len(f) != 10 {
		return TraceOp{}, fmt.Errorf("%d fields, want 10 (at, user, device, kind, conn, op, mailbox, bytes, wait, length)", len(f))
	}
	var op TraceOp
	ints := []struct {
		name string
		dst  *int64
	}{{"at", (*int64)(&op.At)}, {"bytes", &op.Bytes}, {"wait", (*int64)(&op.Wait)}, {"length", (*int64)(&op.Length)}}
	vals := []string{f[0], f[7], f[8], f[9]}
	for i, v := range ints {
		n, err := strconv.ParseInt(vals[i], 10, 64)
		if err != nil || n < 0 {
			return op, fmt.Errorf("field %s: %q is not a non-negative integer", v.name, vals[i])
		}
		*v.dst = n
	}
	small := []struct {
		name string
		dst  *int
		s    string
	}{{"device", &op.Device, f[2]}, {"conn", &op.Conn, f[4]}, {"mailbox", &op.Mailbox, f[6]}}
	for _, v := range small {
		n, err := strconv.Atoi(v.s)
		// A delivery has no device or connection: -1.
		if err != nil || n < 0 && !(n == -1 && f[5] == "LMTP" && v.name != "mailbox") {
			return op, fmt.Errorf("field %s: %q is not a non-negative integer", v.name, v.s)
		}
		*v.dst = n
	}
	op.User, op.Kind, op.Op = f[1], f[3], f[5]
	if op.User == "" {
		return op, fmt.Errorf("field user is empty")
	}
	switch op.Op {
	case "SESSION", "RETRY", "LMTP":
	default:
		if _, ok := commandByName[op.Op]; !ok || op.Op == "IDLE" {
			return op, fmt.Errorf("field op: unknown operation %q", op.Op)
		}
	}
	return op, nil
}

// Sessions returns device d's sessions in order.
func (t *Trace) Sessions(d int) []TraceOp { return t.sessions[d] }

// Steps returns the commands of connection slot conn of device d in order.
func (t *Trace) Steps(d, conn int) []TraceOp { return t.steps[[2]int{d, conn}] }

// Retries returns the reconnect waits of connection slot conn of device d.
func (t *Trace) Retries(d, conn int) []TraceOp { return t.retries[[2]int{d, conn}] }

// CommandOf returns the command a trace operation names.
func CommandOf(op string) (Command, bool) {
	c, ok := commandByName[op]
	return c, ok
}

// NextPhase returns the phase a connection is in after sending cmd in
// phase ph, following the session script of [Profile.Next].
func NextPhase(ph Phase, cmd Command) Phase {
	switch {
	case cmd == Logout:
		return PhaseDone
	case ph == PhaseLogin:
		return PhaseList
	case ph == PhaseList && cmd == List:
		return PhaseSelect
	case ph == PhaseList || ph == PhaseSelect:
		return PhaseFirstFetch
	case ph == PhaseFirstFetch:
		return PhaseLoop
	}
	return ph
}
