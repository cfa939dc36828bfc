package strategies

import (
	"fmt"
	"time"
)

// Params holds every strategy's parameters. A zero field means "use the
// default"; [DefaultParams] returns the defaults filled in. Each strategy
// reads only its own part.
type Params struct {
	Director DirectorParams
	Bounded  BoundedParams
	Maglev   MaglevParams
	HAProxy  HAProxyParams
	Owner    OwnerParams
	Passdb   PassdbParams
}

// DirectorParams are a Dovecot 2.3 director's settings, named after them.
type DirectorParams struct {
	// UserExpire is director_user_expire: how long a user's assignment
	// lives after the user's last request. Default 15 min (900 s,
	// director-settings.c and the core settings documentation); Dovecot
	// requires at least 10 s.
	UserExpire time.Duration
	// UserKickDelay is director_user_kick_delay: after a moved user's
	// sessions have been kicked, how long new logins for the user wait
	// before going to the new backend. Default 2 s (director-settings.c);
	// [NoKickDelay] asks for none.
	UserKickDelay time.Duration
	// MaxParallelMoves is director_max_parallel_moves: how many user moves
	// a HOST-RESET-USERS (doveadm director flush) runs at once. Default 100
	// (director-settings.c).
	MaxParallelMoves int
	// LoginProxyMaxReconnects is login_proxy_max_reconnects: how many times
	// a login proxy retries connecting to the backend the director chose
	// before the login fails. The director does not use it; the model
	// does. Default 3 (core settings documentation).
	LoginProxyMaxReconnects int
	// LoginProxyReconnectInterval is the wait between a login proxy's
	// reconnect attempts. Default 1 s (core settings documentation,
	// login_proxy_max_reconnects).
	LoginProxyReconnectInterval time.Duration
	// Directors is how many directors form the ring. They are modelled as
	// one director whose host changes take SyncDelay to go round the ring;
	// with more than one, a user near expiry whose hashed backend changed
	// is moved there by the USER-WEAK round (see [Director]). Default 1.
	Directors int
	// SyncDelay is how long a host change (up, down, vhost count, flush)
	// takes to go round the director ring, during which new users wait
	// ("ring not synced"), and how long a USER-WEAK or USER-KILLED round
	// takes. Default 0 (a lone director syncs with itself at once); the
	// director documentation says the extra latency after such events is
	// "usually less than a second".
	SyncDelay time.Duration
}

// BoundedParams are the parameters of consistent hashing with bounded loads
// ("director-bounded").
type BoundedParams struct {
	// Epsilon sets each backend's capacity to ⌈(1+ε)·n·w/W⌉ users, n being
	// the users currently assigned (including the new one), w the
	// backend's weight and W the total weight of usable backends
	// (Mirrokni, Thorup and Zadimoghaddam, arXiv 1608.01350). Default 0.5,
	// the equivalent of HAProxy's documented example hash-balance-factor
	// 150.
	Epsilon float64
}

// MaglevParams are the parameters of Maglev hashing ("director-maglev").
type MaglevParams struct {
	// TableSize is the lookup table size M, a prime. Default 65537
	// (Eisenbud et al., "Maglev", NSDI 2016).
	TableSize int
}

// HAProxyParams are the parameters of the HAProxy-style balancers
// ("random", "leastconn", "per-ip", "per-ip-consistent").
type HAProxyParams struct {
	// Draws is the <draws> argument of HAProxy's "balance random": how many
	// backends are drawn at random, the one with the fewest connections
	// winning. Default 1: a uniform (weighted) random choice.
	Draws int
	// ConsistentPointsPerWeight is how many ring points a server gets per
	// unit of weight with "hash-type consistent". Default 16 (HAProxy's
	// BE_WEIGHT_SCALE, the factor its consistent-hash tree applies to
	// server weights).
	ConsistentPointsPerWeight int
}

// Failover says what an owner proxy does when a user's owner is down.
type Failover uint8

// Owner-proxy failover policies.
const (
	// FailoverNone leaves the user unserved while the owner is down.
	FailoverNone Failover = iota
	// FailoverStandby sends the user to a standby owner once the owner has
	// been marked down: the next backend in the user's rendezvous order.
	FailoverStandby
)

// String returns the policy's name.
func (f Failover) String() string {
	switch f {
	case FailoverNone:
		return "none"
	case FailoverStandby:
		return "standby"
	}
	return fmt.Sprintf("Failover(%d)", uint8(f))
}

// ParseFailover parses a failover policy name ("none" or "standby").
func ParseFailover(s string) (Failover, error) {
	switch s {
	case "none", "":
		return FailoverNone, nil
	case "standby":
		return FailoverStandby, nil
	}
	return 0, fmt.Errorf("strategies: unknown owner failover %q (want none or standby)", s)
}

// OwnerParams are the owner-proxy strategy's parameters.
type OwnerParams struct {
	// Failover is what happens when the owner is marked down. Default
	// FailoverNone.
	Failover Failover
}

// NoKickDelay, as DirectorParams.UserKickDelay, sets
// director_user_kick_delay to 0 (a zero field means the default).
const NoKickDelay time.Duration = -1

// Defaults of the parameters; each field's doc comment gives its source.
const (
	DefaultUserExpire                = 15 * time.Minute
	DefaultUserKickDelay             = 2 * time.Second
	DefaultMaxParallelMoves          = 100
	DefaultLoginProxyMaxReconnects   = 3
	DefaultLoginProxyReconnect       = time.Second
	DefaultVhostCount                = 100 // Dovecot VHOST_MULTIPLIER, mail-host.c
	MaxVhostCount                    = 1000
	DefaultEpsilon                   = 0.5
	DefaultMaglevTableSize           = 65537
	DefaultHAProxyWeight             = 1   // HAProxy configuration manual, server "weight"
	MaxHAProxyWeight                 = 256 // HAProxy configuration manual, server "weight"
	DefaultConsistentPointsPerWeight = 16
	minUserExpire                    = 10 * time.Second
	directorRequestTimeout           = 30 * time.Second // DIRECTOR_REQUEST_TIMEOUT_SECS, director-request.c
)

// DefaultParams returns the parameters with every default filled in.
func DefaultParams() Params {
	var p Params
	p.fill()
	return p
}

// fill replaces zero fields with their defaults.
func (p *Params) fill() {
	d := &p.Director
	if d.UserExpire == 0 {
		d.UserExpire = DefaultUserExpire
	}
	switch {
	case d.UserKickDelay == 0:
		d.UserKickDelay = DefaultUserKickDelay
	case d.UserKickDelay == NoKickDelay:
		d.UserKickDelay = 0
	}
	if d.MaxParallelMoves == 0 {
		d.MaxParallelMoves = DefaultMaxParallelMoves
	}
	if d.LoginProxyMaxReconnects == 0 {
		d.LoginProxyMaxReconnects = DefaultLoginProxyMaxReconnects
	}
	if d.LoginProxyReconnectInterval == 0 {
		d.LoginProxyReconnectInterval = DefaultLoginProxyReconnect
	}
	if d.Directors == 0 {
		d.Directors = 1
	}
	if p.Bounded.Epsilon == 0 {
		p.Bounded.Epsilon = DefaultEpsilon
	}
	if p.Maglev.TableSize == 0 {
		p.Maglev.TableSize = DefaultMaglevTableSize
	}
	if p.HAProxy.Draws == 0 {
		p.HAProxy.Draws = 1
	}
	if p.HAProxy.ConsistentPointsPerWeight == 0 {
		p.HAProxy.ConsistentPointsPerWeight = DefaultConsistentPointsPerWeight
	}
}

// Validate reports the first parameter that is out of range, after
// defaults have been applied to zero fields.
func (p Params) Validate() error {
	p.fill()
	d := p.Director
	switch {
	case d.UserExpire < minUserExpire:
		return fmt.Errorf("strategies: director_user_expire %v is below Dovecot's minimum of 10s", d.UserExpire)
	case d.UserKickDelay < 0:
		return fmt.Errorf("strategies: director_user_kick_delay %v is negative", d.UserKickDelay)
	case d.MaxParallelMoves < 0:
		return fmt.Errorf("strategies: director_max_parallel_moves %d is negative", d.MaxParallelMoves)
	case d.LoginProxyMaxReconnects < 0:
		return fmt.Errorf("strategies: login_proxy_max_reconnects %d is negative", d.LoginProxyMaxReconnects)
	case d.LoginProxyReconnectInterval < 0:
		return fmt.Errorf("strategies: login proxy reconnect interval %v is negative", d.LoginProxyReconnectInterval)
	case d.Directors < 1:
		return fmt.Errorf("strategies: director count %d is below 1", d.Directors)
	case d.SyncDelay < 0:
		return fmt.Errorf("strategies: director ring sync delay %v is negative", d.SyncDelay)
	case !(p.Bounded.Epsilon > 0):
		return fmt.Errorf("strategies: bounded-load epsilon %v is not positive", p.Bounded.Epsilon)
	case p.Maglev.TableSize < 1 || !isPrime(p.Maglev.TableSize):
		return fmt.Errorf("strategies: maglev table size %d is not a prime", p.Maglev.TableSize)
	case p.HAProxy.Draws < 1:
		return fmt.Errorf("strategies: random draws %d is below 1", p.HAProxy.Draws)
	case p.HAProxy.ConsistentPointsPerWeight < 1:
		return fmt.Errorf("strategies: consistent points per weight %d is below 1", p.HAProxy.ConsistentPointsPerWeight)
	case p.Owner.Failover > FailoverStandby:
		return fmt.Errorf("strategies: unknown owner failover %v", p.Owner.Failover)
	}
	return nil
}

func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}
