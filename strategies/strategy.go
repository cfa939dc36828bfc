// Package strategies holds mailsim's routing strategies: the load balancers,
// proxies and directors that decide which backend serves an IMAP or LMTP
// connection.
//
// A strategy sees only what a real router sees: the user name, the client
// IP, its list of backends with their weights, and whatever its health
// monitor reports. It never reads simulator truth it could not know (for
// example whether a backend has in fact crashed).
//
// [New] builds a router by name ([Names] lists them): "random" and
// "leastconn" (HAProxy-style per-connection balancers), "per-ip" and
// "per-ip-consistent" (HAProxy balance source with map-based or consistent
// hashing, HAProxy's own hashes); "director" (a Dovecot 2.3 director: its
// MD5 ring bit for bit, plus its user table), "director-bounded" and
// "director-maglev" (the director with consistent hashing with bounded
// loads or a Maglev table in place of the ring), all three Dovecot 2.3 and
// earlier (the director was removed in 2.4); "owner-proxy" (every backend
// proxies to the user's owner); and the Dovecot 2.4 replacements of the
// director, "passdb-static" (the proxy's passdb names each user's host
// from a static table) and "lua-director" (Dovecot's sample director.lua:
// a random backend on first login, kept for good).
//
// Health comes from a [Monitor] ([NewMonitor]: none, poolmon, dovemon,
// haproxy), a clockless state machine: the model starts the probes it asks
// for, reports their outcomes, and applies the actions it returns with
// [Apply], learning which users a director moved or kicked.
//
// [Place] and [Churn] answer design-review questions without a
// simulation: where each user lands, and how unevenly and how many move
// when a backend is added or removed.
package strategies

import (
	"net/netip"
	"time"
)

// Backend is a backend server as a router is configured with it.
type Backend struct {
	// Addr is the backend's IP address as written in the router's
	// configuration (the director hashes its text form).
	Addr netip.Addr
	// Weight is the backend's share of new users or connections: the
	// director's vhost_count (default 100), HAProxy's server weight.
	Weight int
}

// Protocol says what kind of connection is being routed.
type Protocol uint8

// Protocols routed by a strategy.
const (
	IMAP Protocol = iota // a client's IMAP (or POP3) connection
	LMTP                 // a delivery from an MX host
)

// Request is one connection to route.
type Request struct {
	// Now is the simulated time since the start of the run.
	Now time.Duration
	// User is the login name as the client sent it.
	User string
	// ClientIP is the source address the router sees.
	ClientIP netip.Addr
	// Proto is the connection's protocol.
	Proto Protocol
}

// Decision is where a connection goes.
type Decision struct {
	// Backend is the index, in the configured backend list, of the backend
	// that will serve the connection's mailbox work, or -1 when the router
	// has nowhere to send it (the login fails).
	Backend int
	// Entry is the index of the backend that accepted the connection
	// before proxying it on (owner-proxy), or -1 when the connection went
	// straight to Backend or through a separate proxy tier.
	Entry int
	// Hops counts proxy hops between the client and Backend: 0 for a plain
	// load balancer, 1 for a director or an owner proxy.
	Hops int
	// TerminatesTLS is true when a proxy tier in front of the backends
	// terminates TLS, as Dovecot directors do.
	TerminatesTLS bool
	// Delay is how long the router holds the login before proxying it: a
	// director queues a request while the user is being moved (until the
	// kick finishes) or while the ring is not synced. When Backend is -1,
	// Delay is how long the client waits before the login fails.
	Delay time.Duration
}

// Router chooses backends for connections. Implementations are
// deterministic: given the same calls in the same order, they make the same
// decisions. They draw randomness only from the source given at
// construction.
type Router interface {
	// Name returns the strategy's name as used in specs and tables.
	Name() string
	// Route decides where a new connection goes. Route may update the
	// router's state (a director's user table is refreshed by every
	// request, including one whose login then fails at the backend).
	Route(req Request) Decision
	// Closed tells the router that a connection it routed to backend has
	// ended (for least-connections balancing). req is the request Route
	// was given. The model calls it exactly once for every decision that
	// named a backend, when the proxy in front would learn of the end: at
	// the client's logout, at once for a crash, a refusal or a kick, and
	// only at the proxy's or the client's timeout for a hung backend; a
	// login that failed at its backend counts as ended then too.
	Closed(req Request, backend int)
	// SetDown marks a backend down (true) or up (false), as the router's
	// health monitor or an operator would.
	SetDown(now time.Duration, backend int, down bool)
}
