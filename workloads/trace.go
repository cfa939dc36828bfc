package workloads

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/mailsim/mailsim/model/sim"
)

// TraceVersion is the version of the trace format written by
// [TraceWriter] and read by [ReadTrace].
//
// The trace format, version 2, is text in lines, each ending in a newline:
//
//	# mailsim-trace v2
//	# population	KEY	VALUE     (zero or more, see below)
//	# at	user	device	kind	conn	op	mailbox	bytes	wait	length
//	RECORD                        (one per operation)
//	# end	records	N	sha256	HEX
//
// The population lines say what the trace was recorded for: the run seed
// (key run_seed), every [workload] spec key that shapes the population
// (workload.users, workload.domain, workload.folders, ... in the order of
// [Population]'s fields; strings quoted as in Go) and the number of
// devices that population has (key devices). A trace written by mailsim
// has all of them, in that order; one written by hand for a program that
// needs no population (package imapload) may have none. When they are
// there, [ReadTrace] checks every record against them (users, devices,
// connections, folders within the population; one user and one kind per
// device), and the simulator replays the trace only for a spec whose keys
// all match ([TraceHeader.Check]).
//
// A record is one operation, ten tab-separated fields:
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
// Times and durations are at most [MaxTraceDuration], bytes at most
// [MaxTraceBytes]; the wait of a command or session is at most its at.
// Within each stream the times do not decrease: a device's sessions, a
// connection's retries and the deliveries by at; a connection's commands
// by at, or where at decreases by at − wait, the time the client chose
// the command (a command chosen before a failure is recorded though the
// failure kept it from being sent, and the reconnection's commands can be
// due before it). Streams interleave in the file, in the order the run
// chose their operations. The trailer counts the records and gives the
// SHA-256 of every byte before it, so that a trace cut short, with lines
// lost, added, moved or changed, is refused; nothing may follow it.
//
// A SESSION line starts all of a device's connections; each connection
// then sends its commands in order, each after its wait. LMTP lines are
// deliveries at their time. Replayed under the strategy and faults that
// produced it, a trace gives exactly the run that wrote it; under another
// strategy or other faults the same users do the same things, each command
// still sent its think time after the previous reply (a connection that
// fails where the recorded one did not logs in again first).
//
// Version 1 traces (no population, no trailer) are refused with a message
// saying how to record them again.
const TraceVersion = 2

// Limits of what [ReadTrace] accepts. A trace that exceeds one is refused
// with an error naming the file and line, so that reading a trace takes
// bounded time and memory and no duration read from it can overflow the
// simulator's clock.
const (
	// MaxTraceLineBytes is the longest line, newline included.
	MaxTraceLineBytes = 4096
	// MaxTraceRecords is the largest number of operations (record lines).
	MaxTraceRecords = 20_000_000
	// MaxTraceDuration bounds every time and duration of a trace (at,
	// wait, length): 10⁶ s, about 11.6 days.
	MaxTraceDuration = 1_000_000 * sim.Second
	// MaxTraceBytes bounds the bytes field: 1 GiB.
	MaxTraceBytes = 1 << 30
)

// maxTraceRecords is MaxTraceRecords, lowered by tests.
var maxTraceRecords = MaxTraceRecords

// traceHeader is the first line of a trace (see [TraceVersion]).
const traceHeader = "# mailsim-trace v2"

const (
	traceColumns    = "# at\tuser\tdevice\tkind\tconn\top\tmailbox\tbytes\twait\tlength"
	tracePopulation = "# population\t"
	traceTrailer    = "# end\t"
)

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

// TraceHeader says what population a trace was recorded for.
type TraceHeader struct {
	// Seed is the run seed the population was drawn with.
	Seed uint64
	// Population holds the spec's population keys.
	Population Population
	// Devices is the number of devices the population has.
	Devices int
}

// popKey is one population key of a trace header.
type popKey struct {
	key   string
	value func(h *TraceHeader) reflect.Value
}

// popKeys lists the header's keys in the order they are written: seed,
// the [Population] fields as spec keys (workload.NAME), devices. Every
// field of Population with a spec key is one, so that a new field is
// checked too.
var popKeys = func() []popKey {
	keys := []popKey{{"run_seed", func(h *TraceHeader) reflect.Value { return reflect.ValueOf(&h.Seed).Elem() }}}
	t := reflect.TypeFor[Population]()
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("toml")
		if tag == "" {
			panic("workloads: Population field " + t.Field(i).Name + " has no toml key")
		}
		if tag == "-" {
			// Set only for an imaptest load, which no trace records.
			continue
		}
		keys = append(keys, popKey{"workload." + tag, func(h *TraceHeader) reflect.Value { return reflect.ValueOf(&h.Population).Elem().Field(i) }})
	}
	return append(keys, popKey{"devices", func(h *TraceHeader) reflect.Value { return reflect.ValueOf(&h.Devices).Elem() }})
}()

// formatValue writes a header value: integers in decimal, floats in the
// shortest form that reads back exactly, strings quoted.
func formatValue(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Int:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.String:
		return strconv.Quote(v.String())
	}
	panic("workloads: trace header value of kind " + v.Kind().String())
}

// parseValue sets v from s, the inverse of formatValue.
func parseValue(v reflect.Value, s string) error {
	switch v.Kind() {
	case reflect.Int:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || n > math.MaxInt32 {
			return fmt.Errorf("%q is not an integer from 0 to %d", s, math.MaxInt32)
		}
		v.SetInt(n)
	case reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an unsigned integer", s)
		}
		v.SetUint(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%q is not a finite number", s)
		}
		v.SetFloat(f)
	case reflect.String:
		q, err := strconv.Unquote(s)
		if err != nil || s[0] != '"' {
			return fmt.Errorf("%q is not a quoted string", s)
		}
		v.SetString(q)
	}
	return nil
}

// Check reports whether the trace was recorded for the population p drawn
// with seed: every key must match, and the error names each key that does
// not, with the trace's value and the spec's.
func (h *TraceHeader) Check(p Population, seed uint64) error {
	spec := TraceHeader{Seed: seed, Population: p, Devices: h.Devices}
	var diff []string
	for _, k := range popKeys {
		if k.key == "devices" {
			continue
		}
		tv, sv := formatValue(k.value(h)), formatValue(k.value(&spec))
		if tv != sv {
			d := fmt.Sprintf("%s is %s in the trace, %s in the spec", k.key, tv, sv)
			if k.key == "run_seed" {
				d += " (a run seed derives from the spec's seed and the run)"
			}
			diff = append(diff, d)
		}
	}
	if len(diff) > 0 {
		return fmt.Errorf("recorded for another population (%s): record it again with this spec ('mailsim trace -o FILE SPEC')", strings.Join(diff, "; "))
	}
	return nil
}

// TraceWriter writes a trace.
type TraceWriter struct {
	w       *bufio.Writer
	sum     hash.Hash
	out     io.Writer // w through sum
	begun   bool
	records int64
	err     error
}

// NewTraceWriter starts a trace on w. The header is written by
// [TraceWriter.Begin], or without population lines by the first Write or
// Close.
func NewTraceWriter(w io.Writer) *TraceWriter {
	t := &TraceWriter{w: bufio.NewWriter(w), sum: sha256.New()}
	t.out = io.MultiWriter(t.w, t.sum)
	return t
}

// Begin writes the header with the population the trace is recorded for.
// It must come before the first Write.
func (t *TraceWriter) Begin(h TraceHeader) {
	if t.begun {
		if t.err == nil {
			t.err = fmt.Errorf("workloads: trace header written twice")
		}
		return
	}
	t.begin(&h)
}

func (t *TraceWriter) begin(h *TraceHeader) {
	t.begun = true
	if t.err != nil {
		return
	}
	var b strings.Builder
	b.WriteString(traceHeader + "\n")
	if h != nil {
		for _, k := range popKeys {
			fmt.Fprintf(&b, "%s%s\t%s\n", tracePopulation, k.key, formatValue(k.value(h)))
		}
	}
	b.WriteString(traceColumns + "\n")
	_, t.err = io.WriteString(t.out, b.String())
}

// Write adds one operation.
func (t *TraceWriter) Write(op TraceOp) {
	if !t.begun {
		t.begin(nil)
	}
	if t.err != nil {
		return
	}
	t.records++
	_, t.err = fmt.Fprintf(t.out, "%d\t%s\t%d\t%s\t%d\t%s\t%d\t%d\t%d\t%d\n",
		op.At, op.User, op.Device, op.Kind, op.Conn, op.Op, op.Mailbox, op.Bytes, op.Wait, op.Length)
}

// Close writes the trailer, flushes the trace and returns the first error
// met.
func (t *TraceWriter) Close() error {
	if !t.begun {
		t.begin(nil)
	}
	if t.err != nil {
		return t.err
	}
	if _, err := fmt.Fprintf(t.w, "%srecords\t%d\tsha256\t%x\n", traceTrailer, t.records, t.sum.Sum(nil)); err != nil {
		return err
	}
	return t.w.Flush()
}

// Trace is a trace read for replay: per device its sessions, per
// connection its commands and retries, and the deliveries, each in order.
type Trace struct {
	// Name is the name the trace was read under, for error messages.
	Name string
	// Header is the population the trace was recorded for; nil for a trace
	// without population lines.
	Header *TraceHeader
	// Records is the number of operations.
	Records  int
	sessions map[int][]TraceOp
	steps    map[[2]int][]TraceOp
	retries  map[[2]int][]TraceOp
	devs     map[int]devOwner // with a header: each device's user and kind
	// Deliveries are the LMTP operations in time order.
	Deliveries []TraceOp
}

// traceReader holds the state of [ReadTrace].
type traceReader struct {
	name   string
	t      *Trace
	line   int
	sum    hash.Hash
	users  map[string]string // interned user names
	kinds  map[string]string // interned kinds
	header TraceHeader
}

// devOwner is the user and kind of a device's first record.
type devOwner struct {
	user, kind string
	line       int
}

func (r *traceReader) errorf(format string, a ...any) error {
	return fmt.Errorf("%s:%d: %s", r.name, r.line, fmt.Sprintf(format, a...))
}

// ReadTrace parses and checks a trace (see [TraceVersion] for the format);
// name is used in error messages, which name the line.
func ReadTrace(name string, rd io.Reader) (*Trace, error) {
	r := &traceReader{name: name, sum: sha256.New(), users: map[string]string{}, kinds: map[string]string{}}
	r.t = &Trace{Name: name, sessions: map[int][]TraceOp{}, steps: map[[2]int][]TraceOp{}, retries: map[[2]int][]TraceOp{}}
	br := bufio.NewReaderSize(rd, MaxTraceLineBytes)
	// state: 0 version line, 1 population lines or columns, 2 records,
	// 3 after the trailer.
	state := 0
	npop := 0
	for {
		raw, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			r.line++
			return nil, r.errorf("line longer than %d bytes", MaxTraceLineBytes)
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		if len(raw) == 0 && err == io.EOF {
			break
		}
		r.line++
		if raw[len(raw)-1] != '\n' {
			if state == 0 {
				return nil, r.notTrace(string(raw))
			}
			return nil, r.errorf("last line has no newline: the trace is cut short")
		}
		text := string(raw[:len(raw)-1])
		switch state {
		case 0:
			if text != traceHeader {
				return nil, r.notTrace(text)
			}
			state = 1
		case 1:
			if rest, ok := strings.CutPrefix(text, tracePopulation); ok {
				if npop == len(popKeys) {
					return nil, r.errorf("population line after the last key %s", popKeys[len(popKeys)-1].key)
				}
				if err := r.popLine(rest, popKeys[npop]); err != nil {
					return nil, err
				}
				npop++
				break
			}
			if npop != 0 && npop != len(popKeys) {
				return nil, r.errorf("population key %s missing (the trace names %d of %d keys)", popKeys[npop].key, npop, len(popKeys))
			}
			if npop == len(popKeys) {
				if err := r.checkHeader(); err != nil {
					return nil, err
				}
				h := r.header
				r.t.Header = &h
				r.t.devs = map[int]devOwner{}
			}
			if text != traceColumns {
				return nil, r.errorf("want the column line %q", traceColumns)
			}
			state = 2
		case 2:
			if rest, ok := strings.CutPrefix(text, traceTrailer); ok {
				if err := r.trailer(rest); err != nil {
					return nil, err
				}
				state = 3
				continue // the trailer is not part of the checksum
			}
			if strings.HasPrefix(text, "#") {
				return nil, r.errorf("unexpected comment line in the records")
			}
			if r.t.Records == maxTraceRecords {
				return nil, r.errorf("more than %d records", maxTraceRecords)
			}
			if err := r.record(text); err != nil {
				return nil, err
			}
		case 3:
			return nil, r.errorf("data after the trailer")
		}
		r.sum.Write(raw)
	}
	switch state {
	case 0:
		return nil, fmt.Errorf("%s: empty file, not a mailsim trace", name)
	case 1, 2:
		return nil, fmt.Errorf("%s:%d: no trailer (\"# end\" line): the trace is cut short", name, r.line)
	}
	return r.t, nil
}

// notTrace explains a first line that is not the version line.
func (r *traceReader) notTrace(text string) error {
	if strings.TrimSpace(text) == "# mailsim-trace v1" {
		return r.errorf("a mailsim trace v1, which has no population or checksum and is no longer read: record it again with 'mailsim trace -o FILE SPEC' (the spec and strategy of the run)")
	}
	return r.errorf("not a mailsim trace v%d (want the line %q)", TraceVersion, traceHeader)
}

// popLine reads the population line "KEY\tVALUE" that should give k.
func (r *traceReader) popLine(rest string, k popKey) error {
	key, val, ok := strings.Cut(rest, "\t")
	if !ok || key != k.key {
		return r.errorf("population key %q, want %s", key, k.key)
	}
	if val == "" {
		return r.errorf("population key %s has no value", key)
	}
	if err := parseValue(k.value(&r.header), val); err != nil {
		return r.errorf("population key %s: %v", key, err)
	}
	return nil
}

// checkHeader checks the population keys for what the readers rely on.
func (r *traceReader) checkHeader() error {
	p := r.header.Population
	if err := p.Validate(); err != nil {
		return r.errorf("population: %v", err)
	}
	if p.Folders > 1000 || p.DesktopConnections > 100 {
		return r.errorf("population: at most 1000 folders and 100 desktop connections")
	}
	return nil
}

// trailer checks the trailer "records\tN\tsha256\tHEX".
func (r *traceReader) trailer(rest string) error {
	f := strings.Split(rest, "\t")
	if len(f) != 4 || f[0] != "records" || f[2] != "sha256" {
		return r.errorf("malformed trailer, want \"# end\\trecords\\tN\\tsha256\\tHEX\"")
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n < 0 {
		return r.errorf("trailer: records %q is not a count", f[1])
	}
	if n != r.t.Records {
		return r.errorf("the trailer counts %d records but the trace has %d: lines were lost or added", n, r.t.Records)
	}
	if got := hex.EncodeToString(r.sum.Sum(nil)); f[3] != got {
		return r.errorf("checksum mismatch (trailer %.16s…, contents %.16s…): the trace was changed after it was written", f[3], got)
	}
	return nil
}

// record parses one record, checks it and files it in its stream.
func (r *traceReader) record(text string) error {
	op, err := parseTraceOp(text)
	if err != nil {
		return r.errorf("%v", err)
	}
	if k, ok := r.kinds[op.Kind]; ok {
		op.Kind = k
	} else if len(r.kinds) < 8 {
		r.kinds[op.Kind] = op.Kind
	}
	if u, ok := r.users[op.User]; ok {
		op.User = u
	} else {
		r.users[op.User] = op.User
	}
	if r.t.Header != nil {
		if err := r.inPopulation(&op); err != nil {
			return err
		}
	}
	switch op.Op {
	case "RETRY", "LMTP":
	default:
		// A command is sent its think time after the client chose it, a
		// session its pause after the previous one: both in the run.
		if op.Wait > op.At {
			return r.errorf("wait %d is more than at %d: the %s would be chosen before the run starts", op.Wait, op.At, op.Op)
		}
	}
	t := r.t
	key := [2]int{op.Device, op.Conn}
	var stream []TraceOp
	var what string
	switch op.Op {
	case "SESSION":
		stream, what = t.sessions[op.Device], fmt.Sprintf("device %d's sessions", op.Device)
	case "RETRY":
		stream, what = t.retries[key], fmt.Sprintf("device %d connection %d's retries", op.Device, op.Conn)
	case "LMTP":
		stream, what = t.Deliveries, "deliveries"
	default:
		stream, what = t.steps[key], fmt.Sprintf("device %d connection %d's commands", op.Device, op.Conn)
	}
	if n := len(stream); n > 0 && stream[n-1].At > op.At {
		prev := &stream[n-1]
		switch op.Op {
		case "SESSION", "RETRY", "LMTP":
			return r.errorf("at %d is before %d, the time of the previous of %s: lines out of order", op.At, prev.At, what)
		}
		if prev.At-prev.Wait > op.At-op.Wait {
			return r.errorf("at %d and at − wait %d are before %d and %d, those of the previous of %s: lines out of order", op.At, op.At-op.Wait, prev.At, prev.At-prev.Wait, what)
		}
	}
	stream = append(stream, op)
	switch op.Op {
	case "SESSION":
		t.sessions[op.Device] = stream
	case "RETRY":
		t.retries[key] = stream
	case "LMTP":
		t.Deliveries = stream
	default:
		t.steps[key] = stream
	}
	t.Records++
	return nil
}

// inPopulation checks a record against the trace's population.
func (r *traceReader) inPopulation(op *TraceOp) error {
	h := &r.header
	p := &h.Population
	if u, ok := userIndex(op.User, p.Domain); !ok || u >= p.Users {
		return r.errorf("user %q is not one of the population's %d users of %q", op.User, p.Users, p.Domain)
	}
	if op.Mailbox > p.Folders || op.Op == "LMTP" && op.Mailbox != 0 {
		return r.errorf("mailbox %d is not one of the population's folders (0 to %d)", op.Mailbox, p.Folders)
	}
	if op.Op == "LMTP" {
		if op.Kind != "mx" || op.Device != -1 || op.Conn != -1 {
			return r.errorf("a delivery has kind mx, device -1 and conn -1")
		}
		return nil
	}
	if op.Device >= h.Devices {
		return r.errorf("device %d is not one of the population's %d devices", op.Device, h.Devices)
	}
	conns := 1
	switch op.Kind {
	case "desktop":
		conns = p.DesktopConnections
	case "phone", "webmail":
	default:
		return r.errorf("kind %q is not desktop, phone or webmail", op.Kind)
	}
	if op.Conn >= conns {
		return r.errorf("conn %d: a %s device has %d connections", op.Conn, op.Kind, conns)
	}
	if o, ok := r.t.devs[op.Device]; !ok {
		r.t.devs[op.Device] = devOwner{user: op.User, kind: op.Kind, line: r.line}
	} else if o.user != op.User || o.kind != op.Kind {
		return r.errorf("device %d is %s's %s, but line %d makes it %s's %s", op.Device, op.User, op.Kind, o.line, o.user, o.kind)
	}
	return nil
}

// userIndex returns u for the name user%06d@domain that
// [GenerateEach] gives user u.
func userIndex(name, domain string) (int, bool) {
	s, ok := strings.CutSuffix(name, "@"+domain)
	if !ok {
		return 0, false
	}
	s, ok = strings.CutPrefix(s, "user")
	if !ok || len(s) < 6 || len(s) > 10 {
		return 0, false
	}
	u, err := strconv.Atoi(s)
	if err != nil || u < 0 || fmt.Sprintf("%06d", u) != s {
		return 0, false
	}
	return u, true
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
		max  int64
	}{{"at", (*int64)(&op.At), int64(MaxTraceDuration)}, {"bytes", &op.Bytes, MaxTraceBytes},
		{"wait", (*int64)(&op.Wait), int64(MaxTraceDuration)}, {"length", (*int64)(&op.Length), int64(MaxTraceDuration)}}
	vals := []string{f[0], f[7], f[8], f[9]}
	for i, v := range ints {
		n, err := strconv.ParseInt(vals[i], 10, 64)
		if err != nil || n < 0 {
			return op, fmt.Errorf("field %s: %q is not a non-negative integer", v.name, vals[i])
		}
		if n > v.max {
			return op, fmt.Errorf("field %s: %d is more than the maximum %d", v.name, n, v.max)
		}
		*v.dst = n
	}
	small := []struct {
		name string
		dst  *int
		s    string
	}{{"device", &op.Device, f[2]}, {"conn", &op.Conn, f[4]}, {"mailbox", &op.Mailbox, f[6]}}
	for _, v := range small {
		n, err := strconv.ParseInt(v.s, 10, 32)
		// A delivery has no device or connection: -1.
		if err != nil || n < 0 && !(n == -1 && f[5] == "LMTP" && v.name != "mailbox") {
			return op, fmt.Errorf("field %s: %q is not a non-negative integer", v.name, v.s)
		}
		*v.dst = int(n)
	}
	op.User, op.Kind, op.Op = f[1], f[3], f[5]
	if op.User == "" {
		return op, fmt.Errorf("field user is empty")
	}
	if op.Kind == "" {
		return op, fmt.Errorf("field kind is empty")
	}
	switch op.Op {
	case "SESSION", "RETRY", "LMTP":
	default:
		if _, ok := commandByName[op.Op]; !ok || op.Op == "IDLE" || op.Op == "DELIVER" {
			return op, fmt.Errorf("field op: unknown operation %q", op.Op)
		}
	}
	return op, nil
}

// Encode writes the trace in the format [ReadTrace] reads: the header if
// it has one, then each device's sessions, each connection's commands and
// retries, and the deliveries. The order of the streams' operations
// between each other is not kept, so the bytes can differ from the file
// the trace was read from, but the trace read back is the same.
func (t *Trace) Encode(w io.Writer) error {
	tw := NewTraceWriter(w)
	if t.Header != nil {
		tw.Begin(*t.Header)
	}
	for _, d := range slices.Sorted(maps.Keys(t.sessions)) {
		for _, op := range t.sessions[d] {
			tw.Write(op)
		}
	}
	for _, m := range []map[[2]int][]TraceOp{t.steps, t.retries} {
		keys := slices.SortedFunc(maps.Keys(m), func(a, b [2]int) int {
			if a[0] != b[0] {
				return a[0] - b[0]
			}
			return a[1] - b[1]
		})
		for _, k := range keys {
			for _, op := range m[k] {
				tw.Write(op)
			}
		}
	}
	for _, op := range t.Deliveries {
		tw.Write(op)
	}
	return tw.Close()
}

// Device returns the user and kind of device d in a trace with a header;
// ok is false for a device without operations or a trace without header.
func (t *Trace) Device(d int) (user, kind string, ok bool) {
	o, ok := t.devs[d]
	return o.user, o.kind, ok
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
