// Package imapload replays a mailsim workload trace (see [workloads.TraceWriter]
// for the format) against real servers: IMAP sessions against an IMAP entry
// point (a proxy, a director or one backend) and LMTP deliveries against an
// LMTP entry point, in wall-clock time, and measures what the servers did.
//
// The protocol work is done by go-imap v2 (imapclient) and go-smtp (its
// LMTP client); this package only schedules the trace and measures.
//
// # Replay
//
// Time runs from [Run]'s start: a trace operation at offset at happens at
// that offset of real time. A SESSION line starts all of its device's
// connections at its time, or as soon as the device's previous session
// has ended if that is later. The commands of a connection that belong to
// a session are those recorded between that session's time and the
// device's next session's time; the connection sends them in order, each
// its recorded think time (wait) after the previous reply.
//
//   - LOGIN opens a TCP connection, waits for the greeting, sends LOGIN
//     user password, then ID, whose "x-backend" field (Dovecot's
//     imap_id_send = "x-backend" "b1") names the backend that serves the
//     connection. A LOGIN line on a connection that is already logged in
//     (in the recorded run it was a reconnect after a failure) is skipped
//     and counted in [Measurements.SkippedLogins]; any other command on a
//     connection that is not logged in logs in first.
//   - SELECT selects the folder; STATUS asks (MESSAGES UNSEEN) of it; LIST
//     sends LIST "" "*"; APPEND appends a generated message of the line's
//     bytes to it.
//   - FETCH fetches FLAGS, ENVELOPE, INTERNALDATE, RFC822.SIZE and UID of
//     the last ten messages of the selected mailbox, FETCHBODY BODY.PEEK[]
//     of one message, STORE sets or clears \Seen on one message (a coin
//     toss), EXPUNGE stores \Deleted on one message and then sends
//     EXPUNGE (its latency covers both), SEARCH sends SEARCH UNSEEN. On an
//     empty mailbox FETCH, FETCHBODY and STORE address UID 1:* (which
//     matches nothing), EXPUNGE sends EXPUNGE alone. These commands need a
//     selected mailbox: when none is selected, the connection first
//     selects the one it last had selected, or INBOX; that SELECT is
//     measured as a SELECT and counted in [Measurements.AutoSelects].
//   - LOGOUT logs out and closes the connection. A connection whose
//     commands run out without a LOGOUT (the second connection of a
//     desktop client sits in IDLE) stays open in IDLE until the session's
//     length has passed since the session started, then logs out; that
//     LOGOUT is measured and counted in [Measurements.ImplicitLogouts].
//   - A login that fails (NO, BAD, connection refused, timeout) or a
//     connection that breaks makes the client wait and reconnect: the wait
//     is the connection slot's next RETRY line, or [Config.Retry] once
//     those are used up. A client does not reconnect when the session
//     would be over by then. After a reconnect the connection goes on with
//     its next command; the failed command is not repeated.
//   - An LMTP line opens a connection to the LMTP entry point at its time
//     and sends LHLO, MAIL FROM, RCPT TO the user (with "@"+[Config.Domain]
//     when the name has no domain), DATA with a generated RFC 5322 message
//     of the line's bytes, then QUIT. A failed delivery is not retried.
//
// The replay stops at Warmup+Duration: connections still open are closed
// without LOGOUT and commands in flight are not measured.
package imapload

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailsim/mailsim/workloads"
)

// Config says what to replay and where.
type Config struct {
	// Ops is the trace to replay, in any order; [ReadOps] reads it from a
	// trace file. Ops at the same offset keep their order.
	Ops []workloads.TraceOp `json:"-"`
	// IMAP is host:port of the IMAP entry point (a proxy or a backend),
	// without TLS. Required when the trace has sessions.
	IMAP string
	// LMTP is host:port of the LMTP entry point. Required when the trace
	// has deliveries.
	LMTP string
	// Password is every user's password.
	Password string
	// Folders maps a trace mailbox index to an IMAP mailbox name: index 0
	// is the INBOX. It must name every index the trace uses; empty means
	// {"INBOX"}.
	Folders []string
	// Domain is appended (after "@") to a user name without a domain for
	// LMTP's RCPT TO; IMAP logs in with the trace's name as it is.
	Domain string
	// Warmup is the offset at which the measured period starts: earlier
	// operations are executed but not measured.
	Warmup time.Duration
	// Duration is the measured period's length; the replay stops at
	// Warmup+Duration. Must be positive.
	Duration time.Duration
	// Interval is the length of one time-series interval; 0 means one
	// interval for the whole measured period.
	Interval time.Duration
	// Timeout bounds each command (and the connect with its greeting, and
	// a whole LMTP delivery): when it passes, the connection is closed and
	// the command fails with kind "timeout". 0 means 30 s.
	Timeout time.Duration
	// Retry is how long a client waits before reconnecting when the
	// trace has no RETRY line left for its connection; 0 means the
	// simulator's defaults: 15 s for desktop, 30 s for phone, 5 s for
	// webmail clients.
	Retry time.Duration
	// RetryByKind gives, per client kind as the trace spells it
	// (desktop, phone, webmail), the reconnect wait once the trace's
	// RETRY lines run out; a kind it does not name takes Retry or the
	// default. Retry, when set, takes precedence.
	RetryByKind map[string]time.Duration
	// Sources gives, per trace device, the local address its connections
	// come from (as the simulator's population draws a device's IP), so
	// that a balancer hashing the client address sees the same clients
	// as the simulated one; a device without one, or an empty address,
	// leaves the choice to the kernel. The addresses must be local to
	// the machine running the replay.
	Sources []string
	// Clock reads the time; nil means time.Now. All offsets are measured
	// with it, but waits sleep on real timers, so it must advance at the
	// pace of real time. It must be safe for concurrent use.
	Clock func() time.Time `json:"-"`
	// Start is the origin of the run's offsets, on Clock: the trace's,
	// the measured period's and the intervals'. Zero means when Run
	// starts; a caller that times other things from its own origin (the
	// faults of a testbed run) gives that origin, and a start in the past
	// makes the operations due by now start at once.
	Start time.Time `json:"-"`
}

// origin returns the run's origin: Start, or now.
func (c Config) origin() time.Time {
	if c.Start.IsZero() {
		return c.Clock()
	}
	return c.Start
}

// DefaultTimeout is the command timeout when [Config.Timeout] is zero.
const DefaultTimeout = 30 * time.Second

// imapCommands are the IMAP operations a trace may hold, as it spells them.
var imapCommands = map[string]bool{
	"LOGIN": true, "SELECT": true, "STATUS": true, "LIST": true, "FETCH": true, "FETCHBODY": true,
	"STORE": true, "EXPUNGE": true, "APPEND": true, "SEARCH": true, "LOGOUT": true,
}

// slotKey names one connection slot of one device.
type slotKey struct{ dev, conn int }

// plan is a trace grouped for replay.
type plan struct {
	devices    []int
	sessions   map[int][]workloads.TraceOp
	slots      map[int][]int
	steps      map[slotKey][]workloads.TraceOp
	retries    map[slotKey][]workloads.TraceOp
	deliveries []workloads.TraceOp
}

func newPlan(ops []workloads.TraceOp, folders int) (*plan, error) {
	sorted := slices.Clone(ops)
	slices.SortStableFunc(sorted, byAt)
	p := &plan{
		sessions: map[int][]workloads.TraceOp{},
		slots:    map[int][]int{},
		steps:    map[slotKey][]workloads.TraceOp{},
		retries:  map[slotKey][]workloads.TraceOp{},
	}
	for _, op := range sorted {
		if op.Mailbox < 0 || op.Mailbox >= folders {
			return nil, fmt.Errorf("imapload: %s of %s at %d uses mailbox %d, but Folders names %d", op.Op, op.User, op.At, op.Mailbox, folders)
		}
		k := slotKey{op.Device, op.Conn}
		switch {
		case op.Op == "LMTP":
			p.deliveries = append(p.deliveries, op)
			continue
		case op.Op == "SESSION":
			if len(p.sessions[op.Device]) == 0 {
				p.devices = append(p.devices, op.Device)
			}
			p.sessions[op.Device] = append(p.sessions[op.Device], op)
			continue
		case op.Op == "RETRY":
			p.retries[k] = append(p.retries[k], op)
		case imapCommands[op.Op]:
			p.steps[k] = append(p.steps[k], op)
		default:
			return nil, fmt.Errorf("imapload: unknown operation %q of %s at %d", op.Op, op.User, op.At)
		}
		if op.Device < 0 || op.Conn < 0 {
			return nil, fmt.Errorf("imapload: %s of %s at %d has device %d, connection %d", op.Op, op.User, op.At, op.Device, op.Conn)
		}
		if !slices.Contains(p.slots[op.Device], op.Conn) {
			p.slots[op.Device] = append(p.slots[op.Device], op.Conn)
		}
	}
	for d, cs := range p.slots {
		if len(p.sessions[d]) == 0 {
			return nil, fmt.Errorf("imapload: device %d has commands but no SESSION", d)
		}
		slices.Sort(cs)
	}
	slices.Sort(p.devices)
	return p, nil
}

// ReadOps reads a trace file (the format of [workloads.TraceWriter]) for
// [Config.Ops]. The file is checked by [workloads.ReadTrace]; name is used
// in error messages. The operations come back in time order.
func ReadOps(name string, r io.Reader) ([]workloads.TraceOp, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	t, err := workloads.ReadTrace(name, bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	// The parsed trace is indexed by device and connection but does not
	// list them; the lines do.
	devices := map[int]bool{}
	slots := map[slotKey]bool{}
	for line := range strings.SplitSeq(string(data), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(strings.TrimSuffix(line, "\r"), "\t")
		if len(f) != 10 {
			continue // not a line ReadTrace accepted: cannot happen
		}
		d, _ := strconv.Atoi(f[2])
		c, _ := strconv.Atoi(f[4])
		switch f[5] {
		case "LMTP":
		case "SESSION":
			devices[d] = true
		default:
			slots[slotKey{d, c}] = true
		}
	}
	var ops []workloads.TraceOp
	for _, d := range slices.Sorted(maps.Keys(devices)) {
		ops = append(ops, t.Sessions(d)...)
	}
	keys := slices.SortedFunc(maps.Keys(slots), func(a, b slotKey) int {
		if a.dev != b.dev {
			return a.dev - b.dev
		}
		return a.conn - b.conn
	})
	for _, k := range keys {
		ops = append(ops, t.Steps(k.dev, k.conn)...)
		ops = append(ops, t.Retries(k.dev, k.conn)...)
	}
	ops = append(ops, t.Deliveries...)
	slices.SortStableFunc(ops, byAt)
	return ops, nil
}

// byAt orders operations by time.
func byAt(a, b workloads.TraceOp) int { return cmp.Compare(a.At, b.At) }

// runner is one replay.
type runner struct {
	cfg   Config
	plan  *plan
	start time.Time
	rec   *recorder
	msgID atomic.Uint64
}

// since returns the offset of now from the start of the run.
func (r *runner) since() time.Duration { return r.cfg.Clock().Sub(r.start) }

// sleep waits d, or until ctx is done; it reports whether ctx is still
// live.
func (r *runner) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// sleepUntil waits until offset at of the run.
func (r *runner) sleepUntil(ctx context.Context, at time.Duration) bool {
	return r.sleep(ctx, at-r.since())
}

func (c Config) check() (Config, error) {
	var errs []error
	if c.Duration <= 0 {
		errs = append(errs, errors.New("the duration (Config.Duration) must be positive"))
	}
	if c.Warmup < 0 {
		errs = append(errs, errors.New("the warm-up (Config.Warmup) must not be negative"))
	}
	if c.Interval < 0 || c.Timeout < 0 || c.Retry < 0 {
		errs = append(errs, errors.New("the interval, timeout and retry wait must not be negative"))
	}
	if c.Interval == 0 {
		c.Interval = c.Duration
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if len(c.Folders) == 0 {
		c.Folders = []string{"INBOX"}
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	for d, a := range c.Sources {
		if a != "" && net.ParseIP(a) == nil {
			errs = append(errs, fmt.Errorf("source address %q of device %d is not an IP address", a, d))
		}
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("imapload: %w", errors.Join(errs...))
	}
	return c, nil
}

// Run replays cfg.Ops against cfg.IMAP and cfg.LMTP and returns what it
// measured. It returns when the trace is done or at Warmup+Duration,
// whichever comes first. When ctx is cancelled it returns promptly, with
// the measurements so far and ctx's error. Other errors (an invalid
// configuration or trace) come before anything is sent.
func Run(ctx context.Context, cfg Config) (*Measurements, error) {
	cfg, err := cfg.check()
	if err != nil {
		return nil, err
	}
	p, err := newPlan(cfg.Ops, len(cfg.Folders))
	if err != nil {
		return nil, err
	}
	if len(p.devices) > 0 && cfg.IMAP == "" {
		return nil, errors.New("imapload: the trace has IMAP sessions but Config.IMAP is empty")
	}
	if len(p.deliveries) > 0 && cfg.LMTP == "" {
		return nil, errors.New("imapload: the trace has LMTP deliveries but Config.LMTP is empty")
	}
	r := &runner{cfg: cfg, plan: p, start: cfg.origin()}
	r.rec = newRecorder(r.since, cfg.Warmup, cfg.Duration, cfg.Interval)
	end := cfg.Warmup + cfg.Duration

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := time.AfterFunc(end-r.since(), cancel)
	defer stop.Stop()

	var wg sync.WaitGroup
	for _, d := range p.devices {
		wg.Go(func() { r.device(runCtx, d) })
	}
	if len(p.deliveries) > 0 {
		wg.Go(func() { r.deliveries(runCtx, &wg) })
	}
	wg.Wait()
	m := r.rec.finish(min(r.since(), end))
	if err := ctx.Err(); err != nil {
		return m, err
	}
	return m, nil
}

// device replays device d's sessions one after another.
func (r *runner) device(ctx context.Context, d int) {
	sessions := r.plan.sessions[d]
	slots := r.plan.slots[d]
	next := make([]int, len(slots))  // per slot, the first step not yet given out
	retry := make([]int, len(slots)) // per slot, the first RETRY not yet used
	for i, s := range sessions {
		if !r.sleepUntil(ctx, time.Duration(s.At)) {
			return
		}
		begin := r.since()
		until := time.Duration(math.MaxInt64)
		if i+1 < len(sessions) {
			until = time.Duration(sessions[i+1].At)
		}
		var wg sync.WaitGroup
		for j, slot := range slots {
			k := slotKey{d, slot}
			steps := r.plan.steps[k]
			e := next[j]
			for e < len(steps) && time.Duration(steps[e].At) < until {
				e++
			}
			mine := steps[next[j]:e]
			next[j] = e
			if len(mine) == 0 {
				continue
			}
			c := &conn{
				r: r, user: s.User, kind: s.Kind, dev: d, slot: slot, session: i,
				end:     begin + time.Duration(s.Length),
				retries: r.plan.retries[k], retryAt: &retry[j],
			}
			wg.Go(func() { c.run(ctx, mine) })
		}
		wg.Wait()
		if ctx.Err() != nil {
			return
		}
	}
}

// deliveries starts each delivery at its time.
func (r *runner) deliveries(ctx context.Context, wg *sync.WaitGroup) {
	for _, op := range r.plan.deliveries {
		if !r.sleepUntil(ctx, time.Duration(op.At)) {
			return
		}
		wg.Go(func() { r.deliver(ctx, op) })
	}
}

// retryWait returns the default reconnect wait of a client of kind.
func (r *runner) retryWait(kind string) time.Duration {
	if r.cfg.Retry > 0 {
		return r.cfg.Retry
	}
	if d, ok := r.cfg.RetryByKind[kind]; ok && d > 0 {
		return d
	}
	switch kind {
	case "phone":
		return 30 * time.Second
	case "webmail":
		return 5 * time.Second
	}
	return 15 * time.Second
}
