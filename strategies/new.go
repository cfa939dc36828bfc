package strategies

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Strategy names accepted by [New].
const (
	Random          = "random"            // HAProxy balance random
	LeastConn       = "leastconn"         // HAProxy balance leastconn
	PerIP           = "per-ip"            // HAProxy balance source, hash-type map-based
	PerIPConsistent = "per-ip-consistent" // HAProxy balance source, hash-type consistent
	DirectorRing    = "director"          // Dovecot 2.3 director (2.3 and earlier; removed in 2.4)
	DirectorBounded = "director-bounded"  // director with consistent hashing with bounded loads
	DirectorMaglev  = "director-maglev"   // director with a Maglev table instead of the ring
	OwnerProxyName  = "owner-proxy"       // every backend proxies to the user's owner
	PassdbStatic    = "passdb-static"     // Dovecot 2.4 proxy passdb with a static user-to-host table
	LuaDirector     = "lua-director"      // Dovecot 2.4's sample director.lua: random, then sticky
)

// Names returns the known strategy names in a fixed order. The director*
// strategies model Dovecot 2.3 and earlier (the director was removed in
// 2.4); passdb-static and lua-director are the Dovecot 2.4 replacements.
func Names() []string {
	return []string{Random, LeastConn, PerIP, PerIPConsistent, DirectorRing, DirectorBounded, DirectorMaglev, OwnerProxyName, PassdbStatic, LuaDirector}
}

// DefaultWeight returns the weight a backend has in strategy name when the
// configuration gives none: a director's vhost_count of 100 (Dovecot
// VHOST_MULTIPLIER, mail-host.c), HAProxy's server weight 1 otherwise.
func DefaultWeight(name string) int {
	if strings.HasPrefix(name, "director") {
		return DefaultVhostCount
	}
	return DefaultHAProxyWeight
}

// New returns the router called name over backends, with parameters p
// (zero fields take their defaults) and src as its only source of
// randomness ("random", "owner-proxy" and "lua-director" draw from it; nil
// gives a fixed source). The director variants ("director",
// "director-bounded", "director-maglev") are Dovecot 2.3 and earlier
// (removed in 2.4). "passdb-static" needs p.Passdb.Map, which has no
// default.
func New(name string, backends []Backend, p Params, src rand.Source) (Router, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p.fill()
	if src == nil {
		src = rand.NewPCG(1, 2)
	}
	if len(backends) == 0 {
		return nil, fmt.Errorf("strategies: %s: no backends", name)
	}
	switch name {
	case Random:
		return newBalancer(name, balanceRandom, backends, p, src)
	case LeastConn:
		return newBalancer(name, balanceLeastConn, backends, p, src)
	case PerIP:
		return newBalancer(name, balanceSourceMap, backends, p, src)
	case PerIPConsistent:
		return newBalancer(name, balanceSourceCons, backends, p, src)
	case DirectorRing:
		return newDirector(name, placeRing, backends, p)
	case DirectorBounded:
		return newDirector(name, placeBounded, backends, p)
	case DirectorMaglev:
		return newDirector(name, placeMaglev, backends, p)
	case OwnerProxyName:
		return newOwnerProxy(backends, p, src)
	case PassdbStatic:
		if len(p.Passdb.Map) == 0 {
			return nil, fmt.Errorf("strategies: %s needs a user-to-backend map (Params.Passdb.Map, e.g. from ParsePassdbMap); it has no default", name)
		}
		return NewPassdbStatic(backends, p.Passdb.Map)
	case LuaDirector:
		return NewLuaDirector(backends, src)
	}
	return nil, fmt.Errorf("strategies: unknown strategy %q (known: %s)", name, strings.Join(Names(), ", "))
}

// The routers New returns.
var (
	_ Router = (*Director)(nil)
	_ Router = (*Balancer)(nil)
	_ Router = (*OwnerProxy)(nil)
	_ Router = (*PassdbProxy)(nil)
	_ Router = (*LuaProxy)(nil)

	_ UserTable = (*Director)(nil)
	_ UserTable = (*PassdbProxy)(nil)
	_ UserTable = (*LuaProxy)(nil)
)
