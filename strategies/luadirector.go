package strategies

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// UserTable is implemented by routers that keep a user-to-backend table
// the model can sample over time: [Director], [LuaProxy] and
// [PassdbProxy].
type UserTable interface {
	// Users returns the number of users in the table at now.
	Users(now time.Duration) int
	// Loads appends to dst the number of users assigned to each backend
	// at now.
	Loads(now time.Duration, dst []int) []int
}

// LuaProxy ("lua-director") is a Dovecot proxy running the sample
// director.lua that Dovecot 2.4 offers (dovecot/tools repository) to sites
// that used the director, which 2.4 removed: a Lua passdb that keeps a
// user-to-backend table in SQL (Dovecot 2.4 documentation, "Lua Director",
// which calls it unsupported and meant for a few servers only).
//
// On a login, a user with a row is sent to the row's backend. A user with
// no row gets a backend drawn uniformly at random among those whose state
// is up (the script's math.random over the backends with state 0, whatever
// their weights), and the row is stored for good: rows never expire, and
// nothing moves or kicks users. The backend's state is what SetDown sets
// (an operator or a monitor updating the backends table). A user whose
// backend is down is still sent there, so its logins fail until the
// backend is back; new users avoid it. With no backend up the script's
// assertion fails, the passdb lookup errs and the login fails: Route
// returns Backend -1 with Delay 0 and stores nothing.
//
// User names are compared lower-cased (ASCII letters), as Dovecot's default
// auth_username_format hands them to the passdb. The proxy is one hop that
// terminates TLS. Randomness comes only from the source given to New, so
// runs are reproducible.
//
// Memory: one map entry per user ever seen, about 40 bytes (string header,
// 32-bit backend index and map overhead) plus the name, which is the
// request's own string unless it had to be lower-cased; 10 million users
// take roughly 0.4 GB beyond their names.
type LuaProxy struct {
	users map[string]int32
	loads []int
	down  []bool
	up    []int32
	dirty bool
	rng   *rand.Rand
}

// NewLuaDirector returns a lua-director router over backends, drawing new users'
// backends from src (a fixed source if nil).
func NewLuaDirector(backends []Backend, src rand.Source) (*LuaProxy, error) {
	if len(backends) == 0 {
		return nil, fmt.Errorf("strategies: %s: no backends", LuaDirector)
	}
	if len(backends) > math.MaxInt32 {
		return nil, fmt.Errorf("strategies: %s: %d backends is too many", LuaDirector, len(backends))
	}
	if src == nil {
		src = rand.NewPCG(1, 2)
	}
	return &LuaProxy{
		users: make(map[string]int32),
		loads: make([]int, len(backends)),
		down:  make([]bool, len(backends)),
		dirty: true,
		rng:   rand.New(src),
	}, nil
}

// Name returns "lua-director".
func (l *LuaProxy) Name() string { return LuaDirector }

// Route sends a login to the user's stored backend, or draws one for a new
// user among the backends that are up and stores it.
func (l *LuaProxy) Route(req Request) Decision {
	d := Decision{Backend: -1, Entry: -1, Hops: 1, TerminatesTLS: true}
	key := asciiLower(req.User)
	if b, ok := l.users[key]; ok {
		d.Backend = int(b)
		return d
	}
	if l.dirty {
		l.dirty = false
		l.up = l.up[:0]
		for i, down := range l.down {
			if !down {
				l.up = append(l.up, int32(i))
			}
		}
	}
	if len(l.up) == 0 {
		return d
	}
	b := l.up[l.rng.IntN(len(l.up))]
	l.users[key] = b
	l.loads[b]++
	d.Backend = int(b)
	return d
}

// Lookup returns the user's stored backend, or ok false when the user has
// no row yet.
func (l *LuaProxy) Lookup(user string) (backend int, ok bool) {
	b, ok := l.users[asciiLower(user)]
	if !ok {
		return -1, false
	}
	return int(b), true
}

// Closed does nothing: the script keeps no connection counts.
func (l *LuaProxy) Closed(Request, int) {}

// SetDown sets a backend's state: a down backend gets no new users but
// keeps its rows.
func (l *LuaProxy) SetDown(_ time.Duration, backend int, down bool) {
	if l.down[backend] != down {
		l.down[backend] = down
		l.dirty = true
	}
}

// IsDown reports whether a backend is marked down.
func (l *LuaProxy) IsDown(backend int) bool { return l.down[backend] }

// Users returns the number of rows in the user table; rows never expire,
// so now does not matter.
func (l *LuaProxy) Users(time.Duration) int { return len(l.users) }

// Loads appends to dst the number of rows naming each backend.
func (l *LuaProxy) Loads(_ time.Duration, dst []int) []int { return append(dst, l.loads...) }
