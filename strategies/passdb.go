package strategies

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"
)

// PassdbParams are the parameters of "passdb-static".
type PassdbParams struct {
	// Map assigns each user its backend: the user name (compared with
	// ASCII letters lower-cased) to the index of the backend in the list
	// the router is built over, as [ParsePassdbMap] returns it. The router
	// keeps the map and reads it without changing it; the caller must not
	// change it afterwards either. Required by "passdb-static"; there is
	// no default.
	Map map[string]int
}

// MaxPassdbRows is the most rows [ParsePassdbMap] accepts.
const MaxPassdbRows = 10_000_000

// passdbRowLimit is MaxPassdbRows, lowered by tests.
var passdbRowLimit = MaxPassdbRows

// PassdbProxy ("passdb-static") is a Dovecot proxy whose passdb assigns
// each user a backend: the lookup returns proxy=y and host=<the user's
// backend> (Dovecot 2.4 documentation, "Proxy passdb": the host field
// names the destination). This is the Dovecot 2.4 era replacement of the
// director, which 2.4 removed, for backends that share storage. The table
// is static: an operator writes it (in SQL, LDAP or a file) and the proxy
// looks the user up on every login and every LMTP delivery.
//
// The lookup key is the login name lower-cased, as Dovecot's default
// auth_username_format does before any passdb lookup (mailsim lowers ASCII
// letters only, as Dovecot's str_lcase does); the table's names are
// lower-cased likewise.
//
// There is no automatic failover. A backend marked down (SetDown) is still
// returned for its users: Dovecot's proxy only retries the host the passdb
// gave (login_proxy_max_reconnects times) and then fails the login, and
// the model turns the returned decision into those failures. An operator
// would have to edit the table to move users. A user with no row fails to
// log in: the passdb gives the proxy no host to send it to, so the
// authentication fails, and Dovecot answers a failed authentication after
// auth_failure_delay (default 2 s): Route returns Backend -1 with that
// Delay.
//
// The router is one proxy hop that terminates TLS (a Dovecot proxy), keeps
// no connection counts (Closed does nothing) and draws no randomness.
// Memory is that of the map it is given; it is shared, not copied, unless
// some names need lower-casing.
type PassdbProxy struct {
	users map[string]int
	down  []bool
	loads []int
}

// authFailureDelay is Dovecot's auth_failure_delay: how long a failed
// authentication waits before it is answered (default 2 s, Dovecot's
// auth settings).
const authFailureDelay = 2 * time.Second

// NewPassdbStatic returns a passdb-static router over backends with rows
// as its table (user name to backend index, see [PassdbParams.Map]).
// Unmapped users fail to log in, as [PassdbProxy] describes. It refuses an
// index outside backends, an empty name, and two names that are equal once
// lower-cased.
func NewPassdbStatic(backends []Backend, rows map[string]int) (*PassdbProxy, error) {
	if len(backends) == 0 {
		return nil, fmt.Errorf("strategies: %s: no backends", PassdbStatic)
	}
	users := rows
	lowered := false
	for u := range rows {
		if asciiLower(u) != u {
			lowered = true
			break
		}
	}
	if lowered {
		users = make(map[string]int, len(rows))
		for u, b := range rows {
			l := asciiLower(u)
			if _, dup := users[l]; dup {
				return nil, fmt.Errorf("strategies: %s: user %q is in the map twice once lower-cased", PassdbStatic, l)
			}
			users[l] = b
		}
	}
	p := &PassdbProxy{users: users, down: make([]bool, len(backends)), loads: make([]int, len(backends))}
	for u, b := range users {
		if u == "" {
			return nil, fmt.Errorf("strategies: %s: the map has an empty user name", PassdbStatic)
		}
		if b < 0 || b >= len(backends) {
			return nil, fmt.Errorf("strategies: %s: user %q mapped to backend %d of %d", PassdbStatic, u, b, len(backends))
		}
		p.loads[b]++
	}
	return p, nil
}

// Name returns "passdb-static".
func (p *PassdbProxy) Name() string { return PassdbStatic }

// Route sends a login or delivery to the user's backend from the table, up
// or down, or fails it (Backend -1) when the user has no row.
func (p *PassdbProxy) Route(req Request) Decision {
	d := Decision{Backend: -1, Entry: -1, Hops: 1, TerminatesTLS: true}
	if b, ok := p.users[asciiLower(req.User)]; ok {
		d.Backend = b
	} else {
		d.Delay = authFailureDelay
	}
	return d
}

// Lookup returns the user's backend from the table, or ok false when the
// user has no row.
func (p *PassdbProxy) Lookup(user string) (backend int, ok bool) {
	backend, ok = p.users[asciiLower(user)]
	if !ok {
		backend = -1
	}
	return backend, ok
}

// Closed does nothing: the passdb keeps no connection counts.
func (p *PassdbProxy) Closed(Request, int) {}

// SetDown records the backend's state, which changes no routing: nothing
// in a static passdb reacts to it.
func (p *PassdbProxy) SetDown(_ time.Duration, backend int, down bool) { p.down[backend] = down }

// IsDown reports whether a backend is marked down.
func (p *PassdbProxy) IsDown(backend int) bool { return p.down[backend] }

// Users returns the number of rows in the table, which never changes.
func (p *PassdbProxy) Users(time.Duration) int { return len(p.users) }

// Loads appends to dst the number of rows naming each backend.
func (p *PassdbProxy) Loads(_ time.Duration, dst []int) []int { return append(dst, p.loads...) }

// ParsePassdbMap reads a passdb-static table from r, whose name (a file
// name) is used in errors. Each line is "user,host": a user name and the
// IP address of one of backends, the user name running to the last comma;
// spaces around either are ignored. A first line "user,host" is taken as a
// header, and blank lines and lines starting with # are skipped. User
// names are lower-cased (ASCII letters) as [PassdbProxy] looks them up.
//
// It returns each user's index in backends. It refuses a line without a
// comma, an empty user, a host that is not an IP address or not among
// backends, a user listed twice (after lower-casing), a line longer than
// 1 MiB, a file with no rows and more than [MaxPassdbRows] rows. Such
// errors name the file and line ("users.csv:12: ...") and wrap
// [ErrInput].
func ParsePassdbMap(name string, r io.Reader, backends []Backend) (map[string]int, error) {
	index := make(map[netip.Addr]int, len(backends))
	for i, b := range backends {
		index[b.Addr] = i
	}
	out := make(map[string]int)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	line := 0
	seenData := false
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		first := !seenData
		seenData = true
		comma := strings.LastIndexByte(text, ',')
		if comma < 0 {
			return nil, inputErr("strategies: %s:%d: %q is not a user,host line", name, line, text)
		}
		user, host := strings.TrimSpace(text[:comma]), strings.TrimSpace(text[comma+1:])
		if first && strings.EqualFold(user, "user") && strings.EqualFold(host, "host") {
			continue
		}
		if user == "" {
			return nil, inputErr("strategies: %s:%d: empty user name", name, line)
		}
		addr, err := netip.ParseAddr(host)
		if err != nil || addr.Zone() != "" {
			return nil, inputErr("strategies: %s:%d: host %q is not an IP address", name, line, host)
		}
		b, ok := index[addr]
		if !ok {
			return nil, inputErr("strategies: %s:%d: host %s is not one of the %d backends", name, line, addr, len(backends))
		}
		key := asciiLower(user)
		if _, dup := out[key]; dup {
			if key != user {
				return nil, inputErr("strategies: %s:%d: user %q listed twice (as %q once lower-cased)", name, line, user, key)
			}
			return nil, inputErr("strategies: %s:%d: user %q listed twice", name, line, user)
		}
		if len(out) == passdbRowLimit {
			return nil, inputErr("strategies: %s:%d: more than %d rows", name, line, passdbRowLimit)
		}
		out[key] = b
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, inputErr("strategies: %s:%d: line longer than 1 MiB", name, line+1)
		}
		return nil, fmt.Errorf("strategies: %s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, inputErr("strategies: %s: no user,host rows", name)
	}
	return out, nil
}

// asciiLower returns s with ASCII letters lower-cased, as Dovecot's
// str_lcase does, without allocating when nothing changes.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
