package strategies

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Never is a time after any a monitor schedules: [Monitor.Next] returns it
// when no probe is due.
const Never = time.Duration(math.MaxInt64)

// Probe is one health check the model must run against a backend: it
// starts at Start and the model reports its outcome with
// [Monitor.Result] no later than Start+Timeout (as a failure if the
// backend has not answered by then).
type Probe struct {
	// ID identifies the probe in [Monitor.Result].
	ID uint64
	// Backend is the index of the backend to probe.
	Backend int
	// Start is when the probe starts.
	Start time.Duration
	// Timeout is how long the monitor waits for an answer.
	Timeout time.Duration
}

// ActionKind is what a monitor tells the router to do to a backend.
type ActionKind uint8

// Actions a monitor applies to a router, named after the director's
// doveadm commands.
const (
	HostDown       ActionKind = iota // mark down (HOST-DOWN, HAProxy server DOWN)
	HostUp                           // mark up (HOST-UP)
	HostFlush                        // delete the host's user entries (HOST-FLUSH)
	HostResetUsers                   // move the host's users, kicking them (HOST-RESET-USERS)
)

// String returns the action's name.
func (k ActionKind) String() string {
	switch k {
	case HostDown:
		return "down"
	case HostUp:
		return "up"
	case HostFlush:
		return "flush"
	case HostResetUsers:
		return "reset-users"
	}
	return fmt.Sprintf("ActionKind(%d)", uint8(k))
}

// Action is one action for the router, to be applied with [Apply].
type Action struct {
	// Kind is what to do.
	Kind ActionKind
	// Backend is the index of the backend to do it to.
	Backend int
}

// Apply applies a monitor's action to r at now and returns the users a
// director moved or whose entries it dropped. Routers without a user table
// ignore HostFlush and HostResetUsers.
func Apply(r Router, now time.Duration, a Action) []Move {
	switch a.Kind {
	case HostDown:
		r.SetDown(now, a.Backend, true)
	case HostUp:
		r.SetDown(now, a.Backend, false)
	case HostFlush:
		if d, ok := r.(*Director); ok {
			return d.FlushHost(now, a.Backend)
		}
	case HostResetUsers:
		if d, ok := r.(*Director); ok {
			return d.ResetUsers(now, a.Backend)
		}
	}
	return nil
}

// Monitor is a health monitor as a deterministic state machine: it has no
// clock and no goroutines. The model asks it when it next wants to probe
// ([Monitor.Next]), starts the probes it returns at that time
// ([Monitor.Start]), and reports each probe's outcome ([Monitor.Result]),
// applying the actions that come back to the router with [Apply].
// A monitor sees only probe outcomes, never the backends' true state.
type Monitor interface {
	// Name returns the monitor's name.
	Name() string
	// Next returns the earliest time at which Start has probes to start,
	// or Never.
	Next() time.Duration
	// Start appends to dst the probes due at or before now and returns it.
	Start(now time.Duration, dst []Probe) []Probe
	// Result records the outcome of probe id at now and appends to dst the
	// actions to apply. Unknown or repeated ids are ignored.
	Result(now time.Duration, id uint64, ok bool, dst []Action) []Action
}

// MonitorParams holds the monitors' parameters; zero fields take the
// defaults documented on each.
type MonitorParams struct {
	Poolmon PoolmonParams
	Dovemon DovemonParams
	HAProxy CheckParams
}

// PoolmonParams are poolmon's settings.
type PoolmonParams struct {
	// Interval is the time between scan starts. Default 20 s (poolmon's
	// --interval).
	Interval time.Duration
	// Timeout is a port check's timeout. Default 5 s (poolmon's
	// --timeout).
	Timeout time.Duration
}

// DovemonParams are dovemon's settings (Dovecot Pro documentation).
type DovemonParams struct {
	// Interval is the polling interval. Default 10 s (dovemon interval).
	Interval time.Duration
	// Timeout is a normal poll's timeout. Default 3 s (dovemon
	// poll_timeout).
	Timeout time.Duration
	// RetryCount is how many consecutive failed rounds start rapid
	// polling. Default 3 (dovemon retry_count).
	RetryCount int
	// RapidRounds is the number of rapid polls. Default 10 (dovemon
	// rapid_rounds).
	RapidRounds int
	// RapidTimeout is a rapid poll's timeout. Default 2 s (dovemon
	// rapid_timeout).
	RapidTimeout time.Duration
	// RapidFailsNeeded is how many rapid polls must fail for the host to
	// be marked down. Default 7 (dovemon rapid_fails_needed; one older
	// documentation page says 8).
	RapidFailsNeeded int
	// UseHostFlush sends HOST-FLUSH instead of HOST-RESET-USERS after
	// HOST-DOWN. Default false (dovemon use_host_flush=no).
	UseHostFlush bool
}

// CheckParams are HAProxy's server health-check settings.
type CheckParams struct {
	// Inter is the interval between two checks of a server. Default 2 s
	// (HAProxy configuration manual, server "inter").
	Inter time.Duration
	// Timeout is a check's timeout. Default Inter (HAProxy uses "inter"
	// when "timeout check" is not set).
	Timeout time.Duration
	// Fall is how many consecutive failed checks mark a server down.
	// Default 3 (HAProxy, server "fall").
	Fall int
	// Rise is how many consecutive good checks mark it up again. Default 2
	// (HAProxy, server "rise").
	Rise int
}

func (p *MonitorParams) fill() {
	pm := &p.Poolmon
	pm.Interval = orDur(pm.Interval, 20*time.Second)
	pm.Timeout = orDur(pm.Timeout, 5*time.Second)
	dm := &p.Dovemon
	dm.Interval = orDur(dm.Interval, 10*time.Second)
	dm.Timeout = orDur(dm.Timeout, 3*time.Second)
	dm.RetryCount = orInt(dm.RetryCount, 3)
	dm.RapidRounds = orInt(dm.RapidRounds, 10)
	dm.RapidTimeout = orDur(dm.RapidTimeout, 2*time.Second)
	dm.RapidFailsNeeded = orInt(dm.RapidFailsNeeded, 7)
	hc := &p.HAProxy
	hc.Inter = orDur(hc.Inter, 2*time.Second)
	hc.Timeout = orDur(hc.Timeout, hc.Inter)
	hc.Fall = orInt(hc.Fall, 3)
	hc.Rise = orInt(hc.Rise, 2)
}

func orDur(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Monitor names accepted by [NewMonitor].
const (
	MonitorNone    = "none"    // Dovecot alone: nothing detects a dead backend
	MonitorPoolmon = "poolmon" // poolmon: scan, then HOST-DOWN + HOST-FLUSH
	MonitorDovemon = "dovemon" // dovemon: poll, rapid polls, HOST-DOWN + HOST-RESET-USERS
	MonitorHAProxy = "haproxy" // HAProxy server checks: inter, fall, rise
)

// MonitorNames returns the known monitor names.
func MonitorNames() []string {
	return []string{MonitorNone, MonitorPoolmon, MonitorDovemon, MonitorHAProxy}
}

// NewMonitor returns the monitor called name for backends backends, all
// initially considered up.
//
//   - "none" never probes.
//   - "poolmon" probes every backend at once (one thread per host), a scan
//     every Interval (it sleeps Interval after starting the detached
//     threads); a failed probe of a backend it considers up gives
//     HOST-DOWN then HOST-FLUSH, a good probe of one it considers down
//     gives HOST-UP. Poolmon itself sets vhost count 0 instead of
//     HOST-DOWN (newer forks use HOST-DOWN); both take the host's points
//     off the ring. It checks ports 110 and 143 in turn, failing at the
//     first that does not answer within Timeout: one probe stands for
//     both.
//   - "dovemon" polls each backend every Interval (start to start). After
//     RetryCount consecutive failed polls it runs RapidRounds rapid polls
//     back to back; if at least RapidFailsNeeded fail, HOST-DOWN then
//     HOST-RESET-USERS (or HOST-FLUSH). The first good poll of a down
//     backend gives HOST-UP. The optional delayed-down queue is not
//     modelled.
//   - "haproxy" checks each server every Inter after the previous check
//     ended, first checks spread evenly over one Inter; Fall consecutive
//     failures mark it down, Rise consecutive successes up.
func NewMonitor(name string, backends int, p MonitorParams) (Monitor, error) {
	p.fill()
	if backends < 1 || backends >= 1<<20 {
		return nil, fmt.Errorf("strategies: monitor for %d backends", backends)
	}
	m := &monitor{name: name, p: p, bs: make([]monState, backends)}
	switch name {
	case MonitorNone:
		for i := range m.bs {
			m.bs[i].next = Never
		}
	case MonitorPoolmon:
		if p.Poolmon.Interval < 0 || p.Poolmon.Timeout <= 0 {
			return nil, fmt.Errorf("strategies: bad poolmon interval %v or timeout %v", p.Poolmon.Interval, p.Poolmon.Timeout)
		}
	case MonitorDovemon:
		d := p.Dovemon
		if d.Interval <= 0 || d.Timeout <= 0 || d.RapidTimeout <= 0 || d.RetryCount < 1 || d.RapidRounds < 1 ||
			d.RapidFailsNeeded < 1 || d.RapidFailsNeeded > d.RapidRounds {
			return nil, fmt.Errorf("strategies: bad dovemon settings %+v", d)
		}
	case MonitorHAProxy:
		h := p.HAProxy
		if h.Inter <= 0 || h.Timeout <= 0 || h.Fall < 1 || h.Rise < 1 {
			return nil, fmt.Errorf("strategies: bad haproxy check settings %+v", h)
		}
		for i := range m.bs {
			m.bs[i].next = time.Duration(i) * h.Inter / time.Duration(backends)
		}
	default:
		return nil, fmt.Errorf("strategies: unknown monitor %q (known: %s)", name, strings.Join(MonitorNames(), ", "))
	}
	return m, nil
}

// monState is a monitor's view of one backend.
type monState struct {
	next    time.Duration // when the next probe is due
	pending uint64        // outstanding probe id, 0 if none
	down    bool          // the monitor has marked it down
	fails   int           // consecutive failures (dovemon rounds, haproxy checks)
	oks     int           // consecutive successes while down (haproxy)
	rapid   bool          // dovemon is in rapid polling
	rapidN  int
	rapidF  int
}

type monitor struct {
	name string
	p    MonitorParams
	bs   []monState
	seq  uint64
	// poolmon: when the next scan starts
	scanNext time.Duration
}

func (m *monitor) Name() string { return m.name }

func (m *monitor) Next() time.Duration {
	if m.name == MonitorPoolmon {
		return m.scanNext
	}
	next := Never
	for i := range m.bs {
		if s := &m.bs[i]; s.pending == 0 && s.next < next {
			next = s.next
		}
	}
	return next
}

func (m *monitor) probe(b int, now, timeout time.Duration, dst []Probe) []Probe {
	m.seq++
	id := m.seq<<20 | uint64(b)
	m.bs[b].pending = id
	return append(dst, Probe{ID: id, Backend: b, Start: now, Timeout: timeout})
}

func (m *monitor) Start(now time.Duration, dst []Probe) []Probe {
	switch m.name {
	case MonitorPoolmon:
		if m.scanNext > now {
			return dst
		}
		for b := range m.bs {
			if m.bs[b].pending == 0 {
				dst = m.probe(b, now, m.p.Poolmon.Timeout, dst)
			}
		}
		m.scanNext = now + m.p.Poolmon.Interval
	case MonitorDovemon:
		for b := range m.bs {
			s := &m.bs[b]
			if s.pending != 0 || s.next > now {
				continue
			}
			if s.rapid {
				dst = m.probe(b, now, m.p.Dovemon.RapidTimeout, dst)
				s.next = Never
			} else {
				dst = m.probe(b, now, m.p.Dovemon.Timeout, dst)
				s.next += m.p.Dovemon.Interval
				if s.next <= now {
					s.next = now + m.p.Dovemon.Interval
				}
			}
		}
	case MonitorHAProxy:
		for b := range m.bs {
			if s := &m.bs[b]; s.pending == 0 && s.next <= now {
				dst = m.probe(b, now, m.p.HAProxy.Timeout, dst)
				s.next = Never
			}
		}
	}
	return dst
}

func (m *monitor) Result(now time.Duration, id uint64, ok bool, dst []Action) []Action {
	b := int(id & (1<<20 - 1))
	if id == 0 || b >= len(m.bs) || m.bs[b].pending != id {
		return dst
	}
	s := &m.bs[b]
	s.pending = 0
	switch m.name {
	case MonitorPoolmon:
		if ok && s.down {
			s.down = false
			dst = append(dst, Action{HostUp, b})
		} else if !ok && !s.down {
			s.down = true
			dst = append(dst, Action{HostDown, b}, Action{HostFlush, b})
		}
	case MonitorDovemon:
		d := m.p.Dovemon
		if s.rapid {
			s.rapidN++
			if !ok {
				s.rapidF++
			}
			if s.rapidN < d.RapidRounds {
				s.next = now
				break
			}
			s.rapid = false
			s.fails = 0
			s.next = now + d.Interval
			if s.rapidF >= d.RapidFailsNeeded {
				s.down = true
				act := HostResetUsers
				if d.UseHostFlush {
					act = HostFlush
				}
				dst = append(dst, Action{HostDown, b}, Action{act, b})
			}
			break
		}
		if ok {
			s.fails = 0
			if s.down {
				s.down = false
				dst = append(dst, Action{HostUp, b})
			}
			break
		}
		s.fails++
		if !s.down && s.fails >= d.RetryCount {
			s.rapid = true
			s.rapidN, s.rapidF = 0, 0
			s.next = now
		}
	case MonitorHAProxy:
		h := m.p.HAProxy
		s.next = now + h.Inter
		if ok {
			s.fails = 0
			if s.down {
				s.oks++
				if s.oks >= h.Rise {
					s.down, s.oks = false, 0
					dst = append(dst, Action{HostUp, b})
				}
			}
			break
		}
		s.oks = 0
		if !s.down {
			s.fails++
			if s.fails >= h.Fall {
				s.down, s.fails = true, 0
				dst = append(dst, Action{HostDown, b})
			}
		}
	}
	return dst
}
