package strategies

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// ErrInput marks errors caused by bad input (a backend list, a user line,
// a strategy name or parameter), as opposed to I/O failures: such errors
// satisfy errors.Is(err, ErrInput).
var ErrInput = errors.New("strategies: bad input")

// inputError is an error caused by bad input.
type inputError struct{ msg string }

func (e inputError) Error() string        { return e.msg }
func (e inputError) Is(target error) bool { return target == ErrInput }

func inputErr(format string, args ...any) error {
	return inputError{fmt.Sprintf(format, args...)}
}

// ParseBackends parses a comma-separated backend list: each item an IP
// address with an optional ":weight" ("10.0.0.1", "10.0.0.2:200",
// "[2001:db8::1]:50", or a bare IPv6 address). Items without a weight get
// defaultWeight. Errors name the offending item and wrap [ErrInput].
func ParseBackends(spec string, defaultWeight int) ([]Backend, error) {
	var out []Backend
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, inputErr("strategies: empty item in backend list %q", spec)
		}
		host, weight := item, ""
		switch {
		case strings.HasPrefix(item, "["):
			end := strings.Index(item, "]")
			if end < 0 {
				return nil, inputErr("strategies: backend %q: missing ]", item)
			}
			host = item[1:end]
			rest := item[end+1:]
			if rest != "" {
				if !strings.HasPrefix(rest, ":") {
					return nil, inputErr("strategies: backend %q: unexpected %q after ]", item, rest)
				}
				weight = rest[1:]
				if weight == "" {
					return nil, inputErr("strategies: backend %q: empty weight", item)
				}
			}
		case strings.Count(item, ":") == 1:
			host, weight, _ = strings.Cut(item, ":")
			if weight == "" {
				return nil, inputErr("strategies: backend %q: empty weight", item)
			}
		}
		addr, err := netip.ParseAddr(host)
		if err != nil || addr.Zone() != "" {
			return nil, inputErr("strategies: backend %q: %q is not an IP address", item, host)
		}
		w := defaultWeight
		if weight != "" {
			w, err = strconv.Atoi(weight)
			if err != nil || w < 0 {
				return nil, inputErr("strategies: backend %q: weight %q is not a non-negative integer", item, weight)
			}
		}
		for _, b := range out {
			if b.Addr == addr {
				return nil, inputErr("strategies: backend %s listed twice", addr)
			}
		}
		out = append(out, Backend{Addr: addr, Weight: w})
	}
	return out, nil
}

// PlacementKey says what a strategy's placement is a function of.
type PlacementKey uint8

// What a strategy's placement depends on.
const (
	// ByConnection: each connection is placed afresh (random, leastconn);
	// there is no placement to print.
	ByConnection PlacementKey = iota
	// ByUser: the backend is a function of the user name (the director
	// variants, owner-proxy, passdb-static; lua-director once the user's
	// first login has drawn it).
	ByUser
	// ByClientIP: the backend is a function of the client address (per-ip,
	// per-ip-consistent).
	ByClientIP
)

// KeyOf returns what strategy name's placement is a function of.
func KeyOf(name string) PlacementKey {
	switch name {
	case DirectorRing, DirectorBounded, DirectorMaglev, OwnerProxyName, PassdbStatic, LuaDirector:
		return ByUser
	case PerIP, PerIPConsistent:
		return ByClientIP
	}
	return ByConnection
}

// placer places users one after another on a fresh router.
type placer struct {
	r   Router
	key PlacementKey
}

func newPlacer(name string, backends []Backend, down []netip.Addr, p Params) (*placer, error) {
	if !isKnown(name) {
		_, err := New(name, backends, p, nil)
		return nil, inputErr("%v", err)
	}
	key := KeyOf(name)
	if key == ByConnection {
		return nil, inputErr("strategies: %s chooses a backend per connection, so placement is not a function of the user or client IP; use one of %s", name, strings.Join(placeable(), ", "))
	}
	r, err := New(name, backends, p, nil)
	if err != nil {
		return nil, inputErr("%v", err)
	}
	for _, a := range down {
		i := -1
		for k, b := range backends {
			if b.Addr == a {
				i = k
			}
		}
		if i < 0 {
			return nil, inputErr("strategies: down backend %s is not in the backend list", a)
		}
		r.SetDown(0, i, true)
	}
	return &placer{r: r, key: key}, nil
}

func isKnown(name string) bool {
	for _, n := range Names() {
		if n == name {
			return true
		}
	}
	return false
}

func placeable() []string {
	var out []string
	for _, n := range Names() {
		if KeyOf(n) != ByConnection {
			out = append(out, n)
		}
	}
	return out
}

// place returns the backend for one user (and client address) as a new
// login at time 0, or -1.
func (pl *placer) place(user string, ip netip.Addr) int {
	if o, ok := pl.r.(*OwnerProxy); ok {
		return o.Serving(UserHash(user))
	}
	return pl.r.Route(Request{User: user, ClientIP: ip}).Backend
}

// Place reads user names, one per line, from in and writes CSV lines
// "user,backend" (after a header line) to out: the backend a new login of
// each user gets from a freshly started router of strategy name over
// backends, with the backends in down marked down. Users are placed one
// after another on the same router, so a repeated name keeps its backend
// and "director-bounded" counts earlier users' loads.
//
// For the director the output agrees with a Dovecot 2.3 director with
// director_username_hash %Lu, no tags, and the same hosts and vhost
// counts. For owner-proxy it is the owner (or its standby) that serves the
// user. For passdb-static it is the user's row of p.Passdb.Map (empty for a
// user with no row). For lua-director it is the random draw of a fresh
// table with a fixed source, so it depends on the order of the users. For
// per-ip and per-ip-consistent each line is "user,client-ip" (or just the
// client IP). Strategies that choose per connection ("random",
// "leastconn") are refused. Blank lines are skipped; a trailing carriage
// return is removed. A user with nowhere to go gets an empty backend.
// Errors caused by the input wrap [ErrInput].
func Place(name string, backends []Backend, down []netip.Addr, p Params, in io.Reader, out io.Writer) error {
	pl, err := newPlacer(name, backends, down, p)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	w := csv.NewWriter(out)
	if err := w.Write([]string{"user", "backend"}); err != nil {
		return err
	}
	line := 0
	rec := make([]string, 2)
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if text == "" {
			continue
		}
		user := text
		var ip netip.Addr
		if pl.key == ByClientIP {
			ipText := text
			if i := strings.LastIndexByte(text, ','); i >= 0 {
				user, ipText = text[:i], text[i+1:]
			}
			ip, err = netip.ParseAddr(strings.TrimSpace(ipText))
			if err != nil {
				return inputErr("strategies: line %d: %q is not a client IP address", line, ipText)
			}
		}
		rec[0] = user
		rec[1] = ""
		if b := pl.place(user, ip); b >= 0 {
			rec[1] = ipText(backends[b].Addr)
		}
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return inputErr("strategies: line %d: longer than 1 MiB", line+1)
		}
		return err
	}
	w.Flush()
	return w.Error()
}
