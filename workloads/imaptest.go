package workloads

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/mailsim/mailsim/model/sim"
)

// ImaptestState is one state of imaptest's default client state machine,
// in the order a connection steps through them (imaptest
// src/client-state.c, the states table).
type ImaptestState uint8

// imaptest's states that a default run can reach, in imaptest's order.
// SEARCH, SORT, THREAD, COPY (off without copybox=), NOOP, IDLE and CHECK
// are 0 % by default and not modelled; the LIST "" "" imaptest sends
// after every login is folded into LOGIN.
const (
	StateLogin   ImaptestState = iota // LOGIN
	StateList                         // LIST "" *
	StateStatus                       // STATUS of the mailbox
	StateSelect                       // SELECT the mailbox
	StateFetch                        // FETCH of up to 100 messages' metadata
	StateFetch2                       // FETCH of one message's header or body
	StateStore                        // STORE of random flags
	StateDelete                       // STORE +FLAGS \Deleted
	StateExpunge                      // EXPUNGE
	StateAppend                       // APPEND
	StateLogout                       // LOGOUT
	NumImaptestStates
)

var imaptestStateNames = [...]string{"login", "list", "status", "select", "fetch", "fetch2", "store", "delete", "expunge", "append", "logout"}

// String returns the state's name as a spec writes it (imaptest's own
// state name in lower case).
func (s ImaptestState) String() string {
	if s < NumImaptestStates {
		return imaptestStateNames[s]
	}
	return fmt.Sprintf("state(%d)", s)
}

// imaptestCommand is the command the model costs for each state.
var imaptestCommand = [NumImaptestStates]Command{Login, List, Status, Select, Fetch, FetchBody, Store, Store, Expunge, Append, Logout}

// LoginFailure is what an imaptest client does after a failed login.
type LoginFailure uint8

// Login failure policies.
const (
	// SameUser reconnects as the same user at once, as stock imaptest
	// does (src/client.c, client_unref: a connection that ends before its
	// LOGOUT is replaced by one for the same user).
	SameUser LoginFailure = iota
	// NewUser reconnects at once as a newly drawn user.
	NewUser
)

// ParseLoginFailure parses "same-user" or "new-user".
func ParseLoginFailure(s string) (LoginFailure, error) {
	switch s {
	case "same-user", "":
		return SameUser, nil
	case "new-user":
		return NewUser, nil
	}
	return 0, fmt.Errorf("workloads: unknown on_login_failure %q (want same-user or new-user)", s)
}

// Imaptest is a closed-loop load in the manner of Dovecot's imaptest
// (github.com/dovecot/imaptest): Clients connections are kept busy; each
// logs in as a user drawn uniformly from the range, runs one pass of the
// state machine with no think time, logs out and reconnects at once as a
// newly drawn user. A failed login or a dropped connection reconnects at
// once too, as OnLoginFailure says. imaptest starts min(100, clients)
// connections and each successful login starts up to three more until
// Clients are running (src/imaptest.c, src/client-state.c).
type Imaptest struct {
	// Clients is imaptest's clients=: the connections kept busy. 0 turns
	// the imaptest load off.
	Clients int
	// User is imaptest's user= template with one integer verb (%d, or
	// %0Nd for N-digit zero padding), for example "user%04d" or
	// "user%d@example.net".
	User string
	// First and Last are imaptest's users= range, inclusive.
	First, Last int
	// OnLoginFailure is what a client does after a failed login.
	OnLoginFailure LoginFailure
	// Probability is each state's chance, in percent, that a connection
	// runs it on its pass (imaptest's defaults: LOGIN, SELECT, FETCH,
	// FETCH2, DELETE, EXPUNGE, APPEND and LOGOUT 100, LIST, STATUS and
	// STORE 50; src/client-state.c).
	Probability [NumImaptestStates]float64
	// Again is each state's chance, in percent, of running again at once
	// after it ran (imaptest's defaults: FETCH2 30, APPEND 5).
	Again [NumImaptestStates]float64
	// Reconnect is the mean time a reconnection takes (exponentially
	// distributed): imaptest reconnects with no delay of its own, so this
	// is the round trips of a new TCP connection and the proxy's work
	// before it connects on.
	Reconnect sim.Time
}

// DefaultImaptest returns imaptest's defaults with the load off (Clients
// 0); imaptest's own default is clients=10, users 1..99 (src/settings.h).
func DefaultImaptest() Imaptest {
	t := Imaptest{User: "user%d", First: 1, Last: 99, Reconnect: sim.Millisecond}
	t.Probability = [NumImaptestStates]float64{100, 50, 50, 100, 100, 100, 50, 100, 100, 100, 100}
	t.Again[StateFetch2] = 30
	t.Again[StateAppend] = 5
	return t
}

// Users returns the number of users in the range.
func (t *Imaptest) Users() int { return t.Last - t.First + 1 }

// Validate reports the first inconsistency in t.
func (t *Imaptest) Validate() error {
	if t.Clients == 0 {
		return nil
	}
	if _, err := ParseUserTemplate(t.User); err != nil {
		return err
	}
	switch {
	case t.Clients < 0:
		return fmt.Errorf("workloads: imaptest clients must not be negative")
	case t.First < 0 || t.Last < t.First:
		return fmt.Errorf("workloads: imaptest users range [%d, %d] is empty or negative", t.First, t.Last)
	case t.Reconnect < 0:
		return fmt.Errorf("workloads: imaptest reconnect delay must not be negative")
	case t.Probability[StateLogin] != 100:
		return fmt.Errorf("workloads: imaptest's login state must have probability 100")
	}
	for s := range t.Probability {
		if p, a := t.Probability[s], t.Again[s]; p < 0 || p > 100 || a < 0 || a >= 100 {
			return fmt.Errorf("workloads: imaptest state %s: probability %g must be within 0..100 and again %g within 0..99", ImaptestState(s), p, a)
		}
	}
	return nil
}

// Next returns what a connection in state st does next and the state
// after it: imaptest's sequential mode (src/client-state.c,
// client_get_next_state) steps to the following states in order, running
// each with its probability; a state that ran may run again with its
// "again" chance; after LOGOUT the connection is done; if LOGOUT is
// skipped, the pass starts again after LOGIN. Draws come only from rng.
// ran says whether st itself was run (for its "again" draw); a new
// connection starts in StateLogin with ran false.
func (t *Imaptest) Next(rng *rand.Rand, st ImaptestState, ran bool) (Step, ImaptestState) {
	if st == StateLogin && !ran {
		return Step{Cmd: Login}, StateLogin
	}
	if ran && st != StateLogin && st != StateLogout && t.Again[st] > 0 && rng.Float64()*100 < t.Again[st] {
		return Step{Cmd: imaptestCommand[st]}, st
	}
	for range 2 * NumImaptestStates {
		st++
		if st == NumImaptestStates {
			st = StateList
		}
		if p := t.Probability[st]; p >= 100 || p > 0 && rng.Float64()*100 < p {
			return Step{Cmd: imaptestCommand[st]}, st
		}
	}
	// Every state is at 0 %: the pass is LOGIN and LOGOUT alone.
	return Step{Cmd: Logout}, StateLogout
}

// UserTemplate is a parsed imaptest user= template.
type UserTemplate struct {
	prefix, suffix string
	width          int
	zero           bool
}

// ParseUserTemplate parses a template with exactly one integer verb: %d
// or %0Nd (N up to 20); "%%" is a literal percent sign.
func ParseUserTemplate(s string) (UserTemplate, error) {
	var t UserTemplate
	var b strings.Builder
	found := false
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		j := i + 1
		if j < len(s) && s[j] == '%' {
			b.WriteByte('%')
			i = j
			continue
		}
		if found {
			return t, fmt.Errorf("workloads: user template %q has more than one %%d", s)
		}
		zero := j < len(s) && s[j] == '0'
		k := j
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if k >= len(s) || s[k] != 'd' {
			return t, fmt.Errorf("workloads: user template %q: only %%d or %%0Nd may follow %%", s)
		}
		w := 0
		if k > j {
			n, err := strconv.Atoi(s[j:k])
			if err != nil || n > 20 {
				return t, fmt.Errorf("workloads: user template %q: width %q is not within 0..20", s, s[j:k])
			}
			w = n
		}
		t.prefix, t.width, t.zero = b.String(), w, zero
		b.Reset()
		found = true
		i = k
	}
	if !found {
		return t, fmt.Errorf("workloads: user template %q has no %%d for the user number", s)
	}
	t.suffix = b.String()
	return t, nil
}

// Name returns the user name for number n.
func (t UserTemplate) Name(n int) string {
	d := strconv.Itoa(n)
	pad := ""
	if len(d) < t.width {
		c := " "
		if t.zero {
			c = "0"
		}
		pad = strings.Repeat(c, t.width-len(d))
	}
	return t.prefix + pad + d + t.suffix
}
