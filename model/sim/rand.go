package sim

import (
	"hash/fnv"
	"math/rand/v2"
)

// Stream returns the random stream called name within the run whose seed is
// seed. Streams with different names are independent; the same seed and
// name always give the same sequence. Naming streams after what consumes
// them ("workload/user/123", "strategy/random") keeps a user's behaviour
// independent of everything else in the run, so that two routing strategies
// see the same users doing the same things (common random numbers).
func Stream(seed uint64, name string) *rand.Rand {
	return rand.New(Source(seed, name))
}

// Source returns the PCG source behind [Stream], for callers that want to
// embed or reseed it.
func Source(seed uint64, name string) *rand.PCG {
	h := fnv.New64a()
	h.Write([]byte(name))
	k := h.Sum64()
	return rand.NewPCG(mix64(seed^k), mix64(k+0x9e3779b97f4a7c15*(seed|1)))
}

// SubSeed derives a 64-bit seed from a parent seed and a name, for seeding a
// whole run from an experiment seed and a run ID.
func SubSeed(seed uint64, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return mix64(seed ^ mix64(h.Sum64()))
}

// mix64 is the splitmix64 finaliser: a bijective avalanche of all 64 bits.
func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
