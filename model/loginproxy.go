package model

import (
	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/workloads"
)

// A Dovecot login process keeps, for each backend it proxies to, when it
// last connected and last failed to connect, and how many of its
// connections are connecting (login-common/login-proxy.c, its
// login_proxy_record). Once a backend has failed for longer than
// proxy_host_immediate_failure_after since the last success, a login that
// finds another connection to it waiting fails at once ("Host is down")
// instead of trying: login_proxy_connect. In the default high-security
// mode every connection has a login process of its own, whose record has
// seen nothing before it, so the rule needs high-performance login
// processes (service_count = 0), which serve many connections each; the
// model keeps one record per backend, as one such process would.

// proxyRecord is a login process's connect state for one backend.
type proxyRecord struct {
	lastSuccess, lastFailure sim.Time
	waiting                  int32
	seen                     bool
}

// proxyState reports whether logins proxied to backends keep the login
// process's per-host state (high-performance login processes).
func (cl *cluster) proxyState() bool {
	return cl.cfg.LoginServiceCount == 0 && cl.cfg.ProxyHostImmediateFailureAfter > 0
}

// proxyConnected records a proxy's successful connect to backend b.
func (cl *cluster) proxyConnected(b int16) {
	rec := &cl.proxyRecs[b]
	rec.seen = true
	rec.lastSuccess = cl.s.Now()
}

// proxyAttempt is a login proxy's attempt to connect connection id to its
// backend, which refuses connections: the attempt fails at once if the
// host counts as down, and otherwise when the refusal comes back, a proxy
// hop later.
func (cl *cluster) proxyAttempt(id int32) {
	c := &cl.conns[id]
	rec := &cl.proxyRecs[c.backend]
	now := cl.s.Now()
	rec.waiting++
	if !rec.seen {
		// The first connect to a host: login_proxy_connect does not let
		// it count as down at once.
		rec.seen = true
		rec.lastSuccess = now - sim.Second
	}
	after := int64(cl.cfg.ProxyHostImmediateFailureAfter / sim.Second)
	if rec.lastFailure > rec.lastSuccess && int64(rec.lastFailure/sim.Second)-int64(rec.lastSuccess/sim.Second) > after && rec.waiting > 1 {
		rec.waiting--
		if cl.measuring {
			cl.res.ProxyHostDown++
		}
		cl.loginFailed(id, c, 0, c.routed)
		return
	}
	cl.s.After(max(cl.cfg.ProxyHop, sim.Microsecond), evProxyRefused, uint32(id), c.gen)
}

// proxyRefused is the refusal of connection id's connect attempt: the
// proxy retries after login_proxy_reconnect_interval while it has
// reconnects and time left (proxy_try_reconnect), and otherwise the login
// fails.
func (cl *cluster) proxyRefused(id int32, gen uint32) {
	c := &cl.conns[id]
	if c.gen != gen || c.dead || c.dev < 0 {
		return
	}
	rec := &cl.proxyRecs[c.backend]
	now := cl.s.Now()
	if c.routedAt >= rec.lastSuccess {
		rec.lastFailure = now
	}
	rec.waiting--
	if b := &cl.backends[c.backend]; b.state == backendUp {
		// The backend came back meanwhile: the next attempt connects.
		// The login is routed again, so the router hears that the first
		// routing ended.
		cl.proxyConnected(c.backend)
		if c.routed {
			cl.router.Closed(cl.request(c, c.routedAt), int(c.backend))
			c.routed = false
		}
		c.backend, c.entry = -1, -1
		cl.begin(id, c, workloads.Login, c.target)
		return
	}
	cc := &cl.cfg.Clients
	left := cc.LoginProxyTimeout - (now - c.routedAt)
	if int(c.attempts) < cc.LoginProxyMaxReconnects && left > proxyRetryMin {
		c.attempts++
		cl.s.After(cc.LoginProxyReconnectInterval, evProxyAttempt, uint32(id), c.gen)
		return
	}
	cl.loginFailed(id, c, 0, c.routed)
}

// proxyRetryMin is the least time a proxied login must have left before
// its timeout for another reconnect (PROXY_CONNECT_RETRY_MIN_MSECS,
// login-proxy.c).
const proxyRetryMin = 1100 * sim.Millisecond
