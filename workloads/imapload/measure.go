package imapload

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mailsim/mailsim/model/hist"
)

// MaxEvents bounds [Measurements.Events]; later events are only counted.
const MaxEvents = 10000

// Measurements is what a replay measured. It is plain data and marshals to
// JSON with a fixed layout (slices are sorted, map keys are sorted by
// encoding/json); durations are in nanoseconds.
//
// The measured period is [Warmup, Warmup+Duration) from the start of the
// run. Latencies and error counts are of the commands started in it;
// interval counts are of the answers received in it.
type Measurements struct {
	// Warmup, Duration and Interval are those of the [Config].
	Warmup   time.Duration `json:"warmup_ns"`
	Duration time.Duration `json:"duration_ns"`
	Interval time.Duration `json:"interval_ns"`
	// Elapsed is how long the replay ran (at most Warmup+Duration).
	Elapsed time.Duration `json:"elapsed_ns"`

	// Latency holds per command, as the trace spells it (LOGIN, SELECT,
	// ..., LOGOUT, and LMTP for a whole delivery), the latencies in
	// seconds from sending the command to its tagged reply, of the
	// commands that got a reply (OK, NO or BAD; for LMTP any reply to
	// DATA or a rejection before it). CONNECT is the TCP connect plus the
	// server's greeting, which precede a LOGIN. The ID command after each
	// login, and IDLE, are not measured.
	Latency map[string]hist.Histogram `json:"latency"`

	// Intervals are the measured period's intervals in order: interval i
	// starts at Warmup+i*Interval.
	Intervals []Interval `json:"intervals"`

	// LoginsOK, LoginsFailed, DeliveriesOK and DeliveriesFailed are the
	// sums over Intervals.
	LoginsOK         uint64 `json:"logins_ok"`
	LoginsFailed     uint64 `json:"logins_failed"`
	DeliveriesOK     uint64 `json:"deliveries_ok"`
	DeliveriesFailed uint64 `json:"deliveries_failed"`

	// Backends are the backends that logins reached, by the "x-backend"
	// field of their ID reply, sorted by name; "" collects the logins
	// whose backend is unknown.
	Backends []Backend `json:"backends"`

	// MultiBackendUsers are the users that, during the measured period,
	// had connections open on two or more backends at once (a connection
	// is open from its login's ID reply to its close), sorted.
	MultiBackendUsers []string `json:"multi_backend_users"`
	// MultiBackendOverlap is the time those users spent so, summed over
	// the users, within the measured period.
	MultiBackendOverlap time.Duration `json:"multi_backend_overlap_ns"`

	// Errors counts the commands started in the measured period that
	// failed, by command and kind, sorted.
	Errors []ErrorCount `json:"errors"`

	// Events are the first MaxEvents failed logins, failed commands,
	// disconnections and failed deliveries of the whole run (warm-up
	// included), in the order they happened; EventsDropped counts the
	// rest.
	Events        []Event `json:"events"`
	EventsDropped uint64  `json:"events_dropped"`

	// AutoSelects counts the SELECTs sent because a command needed a
	// selected mailbox (they are also in Latency["SELECT"]);
	// SkippedLogins the trace's LOGIN lines skipped because the
	// connection was logged in; ImplicitLogouts the LOGOUTs of
	// connections whose commands ran out (also in Latency["LOGOUT"]).
	// All three are of the measured period.
	AutoSelects     uint64 `json:"auto_selects"`
	SkippedLogins   uint64 `json:"skipped_logins"`
	ImplicitLogouts uint64 `json:"implicit_logouts"`

	// Slow are the first MaxEvents commands of the whole run (warm-up
	// included) that took SlowCommand or longer to be answered or to
	// fail, in the order they ended: what a client waited on a lock, a
	// recalled delegation or a frozen backend. Empty, not nil, when
	// there were none (nil: measured by a replay that did not look).
	Slow []Slow `json:"slow"`
}

// SlowCommand is how long a command must take to count as slow.
const SlowCommand = 2 * time.Second

// Slow is one slow command.
type Slow struct {
	User string `json:"user"`
	// Backend is the backend that served the connection, "" when
	// unknown (a LOGIN, before the backend named itself).
	Backend string `json:"backend"`
	Command string `json:"command"`
	// Start is when the command was sent, from the start of the run,
	// and Took how long it took.
	Start time.Duration `json:"start_ns"`
	Took  time.Duration `json:"took_ns"`
	// Kind is "" for a command answered OK, else its error kind.
	Kind string `json:"kind,omitempty"`
}

// Interval is one interval of the measured period's time series. Commands
// and events are counted in the interval in which their answer came.
type Interval struct {
	// Start is the interval's start, from the start of the run.
	Start time.Duration `json:"start_ns"`
	// Commands counts IMAP commands answered (OK, NO or BAD). Errors
	// counts IMAP commands that failed: answered NO or BAD, or not
	// answered (timeout, broken connection), and connects (with their
	// greeting) that failed.
	Commands uint64 `json:"commands"`
	Errors   uint64 `json:"errors"`
	// LoginsOK and LoginsFailed count login attempts, when their outcome
	// was known: a failed connect or greeting counts as a failed login.
	LoginsOK     uint64 `json:"logins_ok"`
	LoginsFailed uint64 `json:"logins_failed"`
	// DeliveriesOK and DeliveriesFailed count LMTP deliveries.
	DeliveriesOK     uint64 `json:"deliveries_ok"`
	DeliveriesFailed uint64 `json:"deliveries_failed"`
}

// Backend is what one backend served.
type Backend struct {
	// Name is the backend's "x-backend" ID field, "" when unknown.
	Name string `json:"name"`
	// LoginsOK counts the successful logins it served in the measured
	// period, LoginsOKPerInterval per interval.
	LoginsOK            uint64   `json:"logins_ok"`
	LoginsOKPerInterval []uint64 `json:"logins_ok_per_interval"`
}

// Error kinds of [ErrorCount] and of the details of [Event].
const (
	// KindNO is an IMAP NO reply.
	KindNO = "NO"
	// KindBAD is an IMAP BAD reply.
	KindBAD = "BAD"
	// Kind4xx is an LMTP reply of class 4 (temporary failure).
	Kind4xx = "4xx"
	// Kind5xx is an LMTP reply of class 5 (permanent failure).
	Kind5xx = "5xx"
	// KindTimeout is no answer within [Config.Timeout].
	KindTimeout = "timeout"
	// KindConnection is a connection that could not be opened or that
	// broke (including an IMAP BYE).
	KindConnection = "connection"
)

// ErrorCount counts failed commands of one command and kind. Command is a
// trace command, LMTP, or CONNECT (a connect or greeting that failed
// before LOGIN).
type ErrorCount struct {
	Command string `json:"command"`
	Kind    string `json:"kind"`
	Count   uint64 `json:"count"`
}

// Kinds of [Event].
const (
	// EventLoginFailed is a login attempt that failed: refused, or its
	// connect or greeting failed.
	EventLoginFailed = "login-failed"
	// EventCommandFailed is a command other than LOGIN that failed.
	EventCommandFailed = "command-failed"
	// EventDisconnected is a connection that broke while logged in: a
	// command without an answer, or the server closing it.
	EventDisconnected = "disconnected"
	// EventDeliveryFailed is an LMTP delivery that failed.
	EventDeliveryFailed = "delivery-failed"
	// EventCommandSlow is a command that took SlowCommand or longer
	// (also in Measurements.Slow).
	EventCommandSlow = "command-slow"
)

// Event is one noteworthy thing that happened.
type Event struct {
	// At is when, from the start of the run.
	At time.Duration `json:"at_ns"`
	// Kind is one of the Event constants.
	Kind string `json:"kind"`
	// User is the user concerned.
	User string `json:"user"`
	// Detail says what happened, for people.
	Detail string `json:"detail"`
}

// replied reports whether a command of this error kind got an answer.
func replied(kind string) bool {
	switch kind {
	case "", KindNO, KindBAD, Kind4xx, Kind5xx:
		return true
	}
	return false
}

// recorder collects measurements from all connections.
type recorder struct {
	since                 func() time.Duration
	warmup, end, interval time.Duration
	mu                    sync.Mutex
	m                     Measurements
	backends              map[string]*Backend
	errs                  map[[2]string]uint64
	users                 map[string]*userOpen
	lat                   map[string]*hist.Histogram
	multiUsers            map[string]bool
}

// userOpen tracks a user's open connections by backend.
type userOpen struct {
	open  map[string]int
	multi bool          // open on two or more backends
	from  time.Duration // since when
}

func newRecorder(since func() time.Duration, warmup, duration, interval time.Duration) *recorder {
	n := int((duration + interval - 1) / interval)
	rc := &recorder{
		since: since, warmup: warmup, end: warmup + duration, interval: interval,
		backends:   map[string]*Backend{},
		errs:       map[[2]string]uint64{},
		users:      map[string]*userOpen{},
		lat:        map[string]*hist.Histogram{},
		multiUsers: map[string]bool{},
	}
	rc.m = Measurements{Warmup: warmup, Duration: duration, Interval: interval, Intervals: make([]Interval, n)}
	for i := range rc.m.Intervals {
		rc.m.Intervals[i].Start = warmup + time.Duration(i)*interval
	}
	return rc
}

func (rc *recorder) measured(t time.Duration) bool { return t >= rc.warmup && t < rc.end }

// index returns the interval of offset t, or -1 outside the measured
// period.
func (rc *recorder) index(t time.Duration) int {
	if !rc.measured(t) {
		return -1
	}
	return min(int((t-rc.warmup)/rc.interval), len(rc.m.Intervals)-1)
}

// slot returns the interval of offset t, or nil outside the measured
// period.
func (rc *recorder) slot(t time.Duration) *Interval {
	if i := rc.index(t); i >= 0 {
		return &rc.m.Intervals[i]
	}
	return nil
}

func (rc *recorder) eventLocked(kind, user, detail string) {
	if len(rc.m.Events) >= MaxEvents {
		rc.m.EventsDropped++
		return
	}
	rc.m.Events = append(rc.m.Events, Event{At: rc.since(), Kind: kind, User: user, Detail: detail})
}

// event records an event now.
func (rc *recorder) event(kind, user, detail string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.eventLocked(kind, user, detail)
}

func (rc *recorder) latencyLocked(name string, d time.Duration) {
	h := rc.lat[name]
	if h == nil {
		h = &hist.Histogram{}
		rc.lat[name] = h
	}
	h.Add(d.Seconds())
}

// command records an IMAP command sent at start and answered (or failed)
// at end; kind is "" for OK, else the error kind.
func (rc *recorder) command(user, name string, start, end time.Duration, kind, detail string) {
	rc.commandOn(user, "", name, start, end, kind, detail)
}

// commandOn records an IMAP command as command does, on a connection to
// backend ("" when unknown).
func (rc *recorder) commandOn(user, backend, name string, start, end time.Duration, kind, detail string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if d := end - start; d >= SlowCommand && len(rc.m.Slow) < MaxEvents {
		rc.m.Slow = append(rc.m.Slow, Slow{User: user, Backend: backend, Command: name, Start: start, Took: d, Kind: kind})
		on := backend
		if on == "" {
			on = "an unknown backend"
		}
		rc.eventLocked(EventCommandSlow, user, fmt.Sprintf("%s on %s took %.1f s from %.1f s%s", name, on, d.Seconds(), start.Seconds(), map[bool]string{true: "", false: " (" + kind + ")"}[kind == ""]))
	}
	if rc.measured(start) {
		if replied(kind) {
			rc.latencyLocked(name, end-start)
		}
		if kind != "" {
			rc.errs[[2]string{name, kind}]++
		}
	}
	if iv := rc.slot(end); iv != nil {
		if replied(kind) && name != "CONNECT" {
			iv.Commands++
		}
		if kind != "" {
			iv.Errors++
		}
	}
	if kind != "" && name != "LOGIN" && name != "CONNECT" {
		rc.eventLocked(EventCommandFailed, user, name+" "+kind+": "+detail)
	}
}

// loginFailed records a login attempt that failed at offset at.
func (rc *recorder) loginFailed(user string, at time.Duration, detail string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if iv := rc.slot(at); iv != nil {
		iv.LoginsFailed++
		rc.m.LoginsFailed++
	}
	rc.eventLocked(EventLoginFailed, user, detail)
}

// loginOK records a login answered OK at offset at on backend, and that
// the user has a connection open there from now on.
func (rc *recorder) loginOK(user, backend string, at time.Duration) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if i := rc.index(at); i >= 0 {
		rc.m.Intervals[i].LoginsOK++
		rc.m.LoginsOK++
		b := rc.backends[backend]
		if b == nil {
			b = &Backend{Name: backend, LoginsOKPerInterval: make([]uint64, len(rc.m.Intervals))}
			rc.backends[backend] = b
		}
		b.LoginsOK++
		b.LoginsOKPerInterval[i]++
	}
	if backend == "" {
		return
	}
	u := rc.users[user]
	if u == nil {
		u = &userOpen{open: map[string]int{}}
		rc.users[user] = u
	}
	u.open[backend]++
	if !u.multi && len(u.open) >= 2 {
		u.multi, u.from = true, rc.since()
	}
}

// closed records that a connection of user on backend closed now.
func (rc *recorder) closed(user, backend string) {
	if backend == "" {
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	u := rc.users[user]
	if u == nil || u.open[backend] == 0 {
		return
	}
	u.open[backend]--
	if u.open[backend] == 0 {
		delete(u.open, backend)
	}
	if u.multi && len(u.open) < 2 {
		rc.endMultiLocked(user, u, rc.since())
	}
}

func (rc *recorder) endMultiLocked(user string, u *userOpen, at time.Duration) {
	u.multi = false
	lo, hi := max(u.from, rc.warmup), min(at, rc.end)
	if lo < hi || lo == hi && rc.measured(lo) {
		rc.multiUsers[user] = true
		rc.m.MultiBackendOverlap += hi - lo
	}
}

// delivery records an LMTP delivery started at start and finished at end.
func (rc *recorder) delivery(user string, start, end time.Duration, kind, detail string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.measured(start) {
		if replied(kind) {
			rc.latencyLocked("LMTP", end-start)
		}
		if kind != "" {
			rc.errs[[2]string{"LMTP", kind}]++
		}
	}
	if iv := rc.slot(end); iv != nil {
		if kind == "" {
			iv.DeliveriesOK++
			rc.m.DeliveriesOK++
		} else {
			iv.DeliveriesFailed++
			rc.m.DeliveriesFailed++
		}
	}
	if kind != "" {
		rc.eventLocked(EventDeliveryFailed, user, kind+": "+detail)
	}
}

// count adds one to one of the counters of the measured period, if now is
// in it.
func (rc *recorder) count(c *uint64) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.measured(rc.since()) {
		*c++
	}
}

// finish closes the books at offset at and returns the measurements.
func (rc *recorder) finish(at time.Duration) *Measurements {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for user, u := range rc.users {
		if u.multi {
			rc.endMultiLocked(user, u, at)
		}
	}
	m := rc.m
	m.Elapsed = at
	if m.Slow == nil {
		m.Slow = []Slow{}
	}
	m.Latency = map[string]hist.Histogram{}
	for k, h := range rc.lat {
		m.Latency[k] = *h
	}
	for _, b := range rc.backends {
		m.Backends = append(m.Backends, *b)
	}
	slices.SortFunc(m.Backends, func(a, b Backend) int { return strings.Compare(a.Name, b.Name) })
	for k, n := range rc.errs {
		m.Errors = append(m.Errors, ErrorCount{Command: k[0], Kind: k[1], Count: n})
	}
	slices.SortFunc(m.Errors, func(a, b ErrorCount) int {
		if c := strings.Compare(a.Command, b.Command); c != 0 {
			return c
		}
		return strings.Compare(a.Kind, b.Kind)
	})
	for u := range rc.multiUsers {
		m.MultiBackendUsers = append(m.MultiBackendUsers, u)
	}
	slices.Sort(m.MultiBackendUsers)
	m.Intervals = slices.Clone(rc.m.Intervals)
	m.Events = slices.Clone(rc.m.Events)
	return &m
}
