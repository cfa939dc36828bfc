package workloads

import (
	"fmt"
	"math/rand/v2"

	"github.com/mailsim/mailsim/model/sim"
)

// Command is an IMAP command, or an LMTP delivery, as the model costs it.
type Command uint8

// Commands. The mix and per-command effects follow Dovecot's imaptest
// states (FACTS.md 1.3, [IMT-STATES]).
const (
	Login     Command = iota // LOGIN (with the TLS handshake before it)
	Select                   // SELECT a folder: open its index, sync new mail
	Status                   // STATUS of a folder: answered from the index header
	List                     // LIST the folders
	Fetch                    // FETCH metadata of up to 100 messages
	FetchBody                // FETCH one full body (BODY.PEEK[])
	Store                    // STORE flags
	Expunge                  // EXPUNGE \Deleted messages
	Append                   // APPEND a message
	Search                   // SEARCH/SORT over a folder
	Idle                     // an IDLE connection's periodic mailbox check
	Logout                   // LOGOUT
	Deliver                  // an LMTP delivery of one message
	NumCommands
)

var commandNames = [...]string{"LOGIN", "SELECT", "STATUS", "LIST", "FETCH", "FETCHBODY", "STORE", "EXPUNGE", "APPEND", "SEARCH", "IDLE", "LOGOUT", "LMTP"}

// String returns the command's IMAP name ("LMTP" for a delivery).
func (c Command) String() string {
	if int(c) < len(commandNames) {
		return commandNames[c]
	}
	return fmt.Sprintf("command(%d)", c)
}

// Behavior is how one class of user drives its sessions.
type Behavior struct {
	// SessionLength is the mean length of a connection's session
	// (imaptest mail_session_length: 20 min normal, 3 min aggressive;
	// FACTS.md 1.3, [IMT-PROFILE]).
	SessionLength sim.Time
	// ActionDelay is the mean think time between commands (imaptest
	// mail_action_repeat_delay: 10 s normal, 1 s aggressive).
	ActionDelay sim.Time
	// Reconnect is the mean pause between the end of a session and the
	// device's next one.
	Reconnect sim.Time
	// DeliveryInterval is the mean time between deliveries to the user
	// (imaptest mail_inbox_delivery_interval: 120 s normal, 5 s
	// aggressive).
	DeliveryInterval sim.Time
}

// Profile is a site's workload: user behaviour and the command mix.
type Profile struct {
	Normal     Behavior
	Aggressive Behavior
	// Mix weights the commands a client sends after login and SELECT.
	Mix [NumCommands]float64
	// IdleCheckInterval is how often a backend re-checks the mailbox of
	// an IDLE connection (Dovecot mailbox_idle_check_interval, default
	// 30 s; FACTS.md 3.2).
	IdleCheckInterval sim.Time
	// ListProbability is the chance that a session starts with LIST
	// (imaptest LIST 50 %).
	ListProbability float64
	// Diurnal gives the relative activity of each hour of the day, from
	// 00:00; empty means every hour is a peak hour. The busiest hour
	// behaves as Normal and Aggressive say; in an hour with half its
	// activity, devices reconnect half as often and half as much mail
	// arrives.
	Diurnal []float64
	// StartHour is the hour of the day at which a run starts.
	StartHour int
}

// Activity returns the relative activity (0 to 1) at simulated time t.
func (p *Profile) Activity(t sim.Time) float64 {
	s := p.Script()
	return s.Activity(t)
}

// Script is a Profile prepared for drawing sessions: the mix's total weight
// and the diurnal peak are worked out once instead of on every draw. It
// reads the profile it was made from, which must not change while the
// Script is in use; it draws exactly what the Profile's own methods draw.
type Script struct {
	*Profile
	mixTotal float64
	peak     float64
}

// Script returns p prepared for drawing.
func (p *Profile) Script() Script {
	s := Script{Profile: p}
	for _, w := range p.Mix {
		s.mixTotal += w
	}
	for _, a := range p.Diurnal {
		s.peak = max(s.peak, a)
	}
	return s
}

// Activity returns the relative activity (0 to 1) at simulated time t.
func (s *Script) Activity(t sim.Time) float64 {
	p := s.Profile
	if len(p.Diurnal) == 0 || s.peak <= 0 {
		return 1
	}
	h := (p.StartHour + int(t/sim.Hour)) % len(p.Diurnal)
	return p.Diurnal[h] / s.peak
}

// Validate reports the first inconsistency in p.
func (p *Profile) Validate() error {
	if len(p.Diurnal) != 0 && len(p.Diurnal) != 24 {
		return fmt.Errorf("workloads: diurnal needs 24 hourly values, not %d", len(p.Diurnal))
	}
	peak := 0.0
	for _, a := range p.Diurnal {
		if a < 0 {
			return fmt.Errorf("workloads: diurnal activity %g is negative", a)
		}
		peak = max(peak, a)
	}
	if len(p.Diurnal) > 0 && peak == 0 {
		return fmt.Errorf("workloads: diurnal activity is zero all day")
	}
	if p.StartHour < 0 || p.StartHour > 23 {
		return fmt.Errorf("workloads: start hour %d is not within 0-23", p.StartHour)
	}
	return nil
}

// DefaultProfile returns imaptest's documented profile: 90 % normal and
// 10 % aggressive users (FACTS.md 1.3). The command mix after SELECT gives
// imaptest's per-session state probabilities (STATUS 50, FETCH 100,
// FETCH2 100, STORE 50, DELETE+EXPUNGE 100, APPEND 100) relative weights,
// with SEARCH and a folder change added at small weights.
func DefaultProfile() Profile {
	p := Profile{
		Normal: Behavior{
			SessionLength:    20 * sim.Minute,
			ActionDelay:      10 * sim.Second,
			Reconnect:        2 * sim.Minute,
			DeliveryInterval: 120 * sim.Second,
		},
		Aggressive: Behavior{
			SessionLength:    3 * sim.Minute,
			ActionDelay:      1 * sim.Second,
			Reconnect:        10 * sim.Second,
			DeliveryInterval: 5 * sim.Second,
		},
		IdleCheckInterval: 30 * sim.Second,
		ListProbability:   0.5,
	}
	p.Mix[Status] = 50
	p.Mix[Fetch] = 100
	p.Mix[FetchBody] = 100
	p.Mix[Store] = 50
	p.Mix[Expunge] = 50
	p.Mix[Append] = 50
	p.Mix[Search] = 10
	p.Mix[Select] = 20
	return p
}

// Behavior returns the behaviour of a user of the given class.
func (p *Profile) Behavior(aggressive bool) *Behavior {
	if aggressive {
		return &p.Aggressive
	}
	return &p.Normal
}

// Step is what a connection does next.
type Step struct {
	Cmd     Command
	Mailbox int // folder index, 0 = INBOX
	// Think is the client's pause before sending Cmd.
	Think sim.Time
}

// Phase is where a connection is in its session script.
type Phase uint8

// Session phases: LOGIN, optional LIST, SELECT INBOX, a first FETCH, then
// commands from the mix until the session's length is used up, then
// LOGOUT.
const (
	PhaseLogin Phase = iota
	PhaseList
	PhaseSelect
	PhaseFirstFetch
	PhaseLoop
	PhaseLogout
	PhaseDone
)

// Next returns the next step of a connection in phase ph and the phase that
// follows it. expired says that the session's length is used up. Draws come
// only from rng, the connection's own stream.
func (p *Profile) Next(rng *rand.Rand, ph Phase, b *Behavior, folders int, expired bool) (Step, Phase) {
	s := p.Script()
	return s.Next(rng, ph, b, folders, expired)
}

// Next is [Profile.Next].
func (s *Script) Next(rng *rand.Rand, ph Phase, b *Behavior, folders int, expired bool) (Step, Phase) {
	switch ph {
	case PhaseLogin:
		return Step{Cmd: Login}, PhaseList
	case PhaseList:
		if rng.Float64() < s.ListProbability {
			return Step{Cmd: List}, PhaseSelect
		}
		fallthrough
	case PhaseSelect:
		return Step{Cmd: Select}, PhaseFirstFetch
	case PhaseFirstFetch:
		return Step{Cmd: Fetch}, PhaseLoop
	case PhaseLoop:
		think := sim.Time(rng.ExpFloat64() * float64(b.ActionDelay))
		if expired {
			return Step{Cmd: Logout, Think: think}, PhaseDone
		}
		c := s.pick(rng)
		mb := 0
		if (c == Select || c == Status) && folders > 0 {
			mb = 1 + rng.IntN(folders)
		}
		return Step{Cmd: c, Mailbox: mb, Think: think}, PhaseLoop
	}
	return Step{Cmd: Logout}, PhaseDone
}

func (s *Script) pick(rng *rand.Rand) Command {
	r := rng.Float64() * s.mixTotal
	for c, w := range s.Mix {
		if r < w {
			return Command(c)
		}
		r -= w
	}
	return Fetch
}
