package model

import (
	"fmt"
	"strings"
	"time"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/strategies"
	"github.com/mailsim/mailsim/workloads"
)

// ActionKind is an operator's action: a doveadm director command sent to
// the director ring, or a backend's Dovecot stopped or started.
type ActionKind uint8

// Action kinds, named after the doveadm commands they stand for.
const (
	// DirectorUp is doveadm director up HOST (HOST-UP): the host gets its
	// ring points back.
	DirectorUp ActionKind = iota
	// DirectorDown is doveadm director down HOST (HOST-DOWN): the host
	// loses its ring points; its users keep their entries.
	DirectorDown
	// DirectorFlush is doveadm director flush HOST in Dovecot 2.3
	// (HOST-RESET-USERS): the host's users whose ring host differs are
	// moved there, their sessions kicked, director_max_parallel_moves at a
	// time, each move waiting director_user_kick_delay.
	DirectorFlush
	// DirectorFlushForce is doveadm director flush -F HOST (HOST-FLUSH):
	// the host's user entries are deleted without kicking anyone.
	DirectorFlushForce
	// DirectorRemove is doveadm director remove HOST (HOST-REMOVE).
	DirectorRemove
	// DirectorAdd is doveadm director add HOST [VHOSTS]: a removed host
	// comes back, or a host's vhost count changes.
	DirectorAdd
	// DirectorVhost sets a host's vhost count (doveadm director add HOST
	// VHOSTS on a host in the ring).
	DirectorVhost
	// BackendStop stops the backend's Dovecot (doveadm stop): its
	// sessions end, and it accepts connections without serving them until
	// its master process has exited (Config.BackendStopTime), then
	// refuses them.
	BackendStop
	// BackendStart starts the backend's Dovecot again.
	BackendStart
	numActionKinds
)

var actionNames = [...]string{"director up", "director down", "director flush", "director flush-force", "director remove", "director add", "director vhost", "backend stop", "backend start"}

// String returns the action's name as a spec writes it.
func (k ActionKind) String() string {
	if k < numActionKinds {
		return actionNames[k]
	}
	return fmt.Sprintf("action(%d)", k)
}

// ParseActionKind returns the action kind of a spec's "director down" or
// "backend stop" (two words).
func ParseActionKind(s string) (ActionKind, error) {
	for i, n := range actionNames {
		if n == s {
			return ActionKind(i), nil
		}
	}
	return 0, fmt.Errorf("model: unknown action %q (want director up|down|flush|flush-force|remove|add|vhost, or backend stop|start)", s)
}

// Action is an operator's action at a given time.
type Action struct {
	// At is when the action is taken, counted from the end of warm-up
	// (the clock of faults).
	At sim.Time
	// Kind is the action.
	Kind ActionKind
	// Backend is the index of the host it names.
	Backend int
	// Vhosts is the vhost count of DirectorAdd and DirectorVhost.
	Vhosts int
	// Text is the action as the spec wrote it, for the run's timeline.
	Text string
}

// hostAdmin is what a director-like router does for doveadm director's
// host commands beyond marking a host up or down.
type hostAdmin interface {
	ResetUsers(now time.Duration, backend int) []strategies.Move
	FlushHost(now time.Duration, backend int) []strategies.Move
	RemoveHost(now time.Duration, backend int) []strategies.Move
	Readd(now time.Duration, backend, vhosts int) error
}

// action applies scheduled action i.
func (cl *cluster) action(i int) {
	a := cl.cfg.Actions[i]
	now := time.Duration(cl.s.Now())
	detail := strings.TrimSpace(strings.TrimPrefix(a.Text, a.Kind.String()))
	if detail == "" {
		detail = fmt.Sprintf("backend %d", a.Backend)
	}
	switch a.Kind {
	case BackendStop:
		cl.event("action."+a.Kind.String(), detail)
		cl.stopBackend(a.Backend)
		return
	case BackendStart:
		cl.event("action."+a.Kind.String(), detail)
		b := &cl.backends[a.Backend]
		if b.state == backendStopping || b.state == backendCrashed {
			b.state = backendUp
		}
		return
	case DirectorUp, DirectorDown:
		cl.event("action."+a.Kind.String(), detail)
		cl.router.SetDown(now, a.Backend, a.Kind == DirectorDown)
		return
	}
	adm, ok := cl.router.(hostAdmin)
	if !ok {
		cl.event("action."+a.Kind.String(), detail+" (ignored: "+cl.router.Name()+" is not a director)")
		return
	}
	cl.event("action."+a.Kind.String(), detail)
	var moves []strategies.Move
	switch a.Kind {
	case DirectorFlush:
		moves = adm.ResetUsers(now, a.Backend)
	case DirectorFlushForce:
		moves = adm.FlushHost(now, a.Backend)
	case DirectorRemove:
		moves = adm.RemoveHost(now, a.Backend)
	case DirectorAdd, DirectorVhost:
		if err := adm.Readd(now, a.Backend, a.Vhosts); err != nil {
			cl.event("action."+a.Kind.String(), detail+" (refused: "+strings.TrimPrefix(err.Error(), "strategies: ")+")")
		}
	}
	cl.moved(moves)
}

// moved applies a director's moves: each kicked user's sessions on its old
// backend end when its move starts (director_max_parallel_moves at a
// time).
func (cl *cluster) moved(moves []strategies.Move) {
	now := cl.s.Now()
	for _, mv := range moves {
		if !mv.Kicked {
			continue
		}
		at := sim.FromDuration(mv.At)
		if at <= now {
			cl.kick(mv.User, mv.From)
			continue
		}
		cl.kicks = append(cl.kicks, pendingKick{user: mv.User, from: mv.From})
		cl.s.Schedule(at, evKick, uint32(len(cl.kicks)-1), 0)
	}
}

// proxyNotifier is a director whose login proxies refresh the entries of
// users with open sessions (see strategies.Director.Notify).
type proxyNotifier interface {
	ProxyRefresh() time.Duration
	Notify(now time.Duration, user string)
}

// proxyRefresh is the login proxy's periodic refresh of connection id's
// user: while the proxied session stays open, the login process tells
// the director every ProxyRefresh that the user is still there.
func (cl *cluster) proxyRefresh(id int32, gen uint32) {
	c := &cl.conns[id]
	if c.gen != gen || c.dead || !c.open || !c.routed || c.dev < 0 {
		return
	}
	n := cl.router.(proxyNotifier)
	n.Notify(time.Duration(cl.s.Now()), cl.userName(c.user))
	cl.s.After(sim.FromDuration(n.ProxyRefresh()), evRefresh, uint32(id), gen)
}

// pendingKick is a director's kick due later, when its move starts.
type pendingKick struct {
	user string
	from int
}

// stopBackend stops backend b's Dovecot (doveadm stop, or the master's
// SIGTERM). Its login processes stop accepting at once, but the master
// keeps the listening sockets until it exits, so a connection made
// meanwhile is accepted and never answered, and is reset when they close
// (master/main.c: the master waits for its children, kills those left and
// closes its listeners). With shutdown_clients = yes (the default) the
// imap processes send BYE to the sessions sitting idle, here those in
// IDLE, and the busy ones end when the master kills them, when it exits
// after BackendStopTime; after that, connections are refused.
func (cl *cluster) stopBackend(b int) {
	be := &cl.backends[b]
	if be.state != backendUp {
		return
	}
	if cl.firstFault == 0 {
		cl.firstFault = cl.s.Now()
	}
	for id := range cl.conns {
		c := &cl.conns[id]
		if c.dev >= 0 && c.open && c.backend == int16(b) && c.idle && c.phase == workloads.PhaseLoop {
			cl.drop(int32(id), 0, true, false) // BYE: the client reconnects
		}
	}
	be.state = backendStopping
	be.stopped = cl.s.Now() + cl.cfg.BackendStopTime
	cl.s.Schedule(be.stopped, evStopped, uint32(b), be.epoch)
}

// stopped ends a stopping backend's stop: its sockets close, so the
// connections it accepted meanwhile are reset and new ones refused.
func (cl *cluster) stopped(b int, epoch uint32) {
	be := &cl.backends[b]
	if be.state != backendStopping || be.epoch != epoch {
		return
	}
	cl.killSessions(b, 0)
	be.state = backendCrashed
	cl.expedite(b, be)
}
