package nfsmodel

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mailsim/mailsim/model/sim"
)

// step is one access in a scripted scenario: backend b touches the object
// at time at (seconds), optionally writing it.
type step struct {
	at    float64
	b     int
	write bool
	open  bool // an open(): close-to-open revalidates
}

// play runs a scenario with two backends sharing one file and returns, per
// step, "G" when a GETATTR went out, "S" for a stale read, "C" when a
// revalidation found a change, "-" otherwise.
func play(m Mount, dir bool, steps []step) string {
	caches := []*AttrCache{NewAttrCache(), NewAttrCache()}
	var version uint32
	var out []string
	for _, s := range steps {
		now := sim.Seconds(s.at)
		force := s.open && !m.Nocto
		l := caches[s.b].Access(&m, 1, version, now, dir, force)
		r := ""
		if l.Revalidate {
			r += "G"
		}
		if l.Stale {
			r += "S"
		}
		if l.Changed {
			r += "C"
		}
		if r == "" {
			r = "-"
		}
		if s.write {
			version++
			caches[s.b].Wrote(&m, 1, version, now, dir)
		}
		out = append(out, r)
	}
	return strings.Join(out, " ")
}

func TestAttributeCacheScenarios(t *testing.T) {
	def := DefaultMount()
	zero := DefaultMount()
	zero.SetActimeo(0)
	noac := DefaultMount()
	noac.Noac = true
	long := DefaultMount()
	long.SetActimeo(60 * sim.Second)
	nocto := DefaultMount()
	nocto.Nocto = true
	tests := []struct {
		name  string
		m     Mount
		dir   bool
		steps []step
		want  string
	}{
		{"first access fetches, then the cache serves for acregmin", def, false,
			[]step{{at: 0}, {at: 1}, {at: 2.9}, {at: 3}}, "G - - G"},
		{"an unchanged file doubles the timeout 3-6-12", def, false,
			[]step{{at: 0}, {at: 3}, {at: 8.9}, {at: 9}, {at: 20.9}, {at: 21}}, "G G - G - G"},
		{"the timeout stops at acregmax", def, false,
			[]step{{at: 0}, {at: 3}, {at: 9}, {at: 21}, {at: 45}, {at: 93}, {at: 152}, {at: 153}, {at: 212}, {at: 213}}, "G G G G G G - G - G"},
		{"another backend's write inside the window is a stale read", def, false,
			[]step{{at: 0, b: 0}, {at: 1, b: 1, write: true}, {at: 2, b: 0}, {at: 3, b: 0}}, "G G S GC"},
		{"a change found on revalidation resets the timeout to acregmin, then it doubles again", def, false,
			[]step{{at: 0}, {at: 3}, {at: 9, b: 1, write: true}, {at: 9.5}, {at: 12.4}, {at: 12.5}, {at: 18.4}, {at: 18.5}}, "G G G GC - G - G"},
		{"own writes never make the own cache stale", def, false,
			[]step{{at: 0, write: true}, {at: 1}, {at: 2, write: true}, {at: 2.5}}, "G - - -"},
		{"close-to-open revalidates on every open", def, false,
			[]step{{at: 0, b: 0}, {at: 1, b: 1, write: true}, {at: 2, b: 0, open: true}}, "G G GC"},
		{"nocto trusts the cache even on open", nocto, false,
			[]step{{at: 0, b: 0}, {at: 1, b: 1, write: true}, {at: 2, b: 0, open: true}}, "G G S"},
		{"actimeo=0 revalidates every access", zero, false,
			[]step{{at: 0, b: 0}, {at: 0.1, b: 1, write: true}, {at: 0.2, b: 0}, {at: 0.3, b: 0}}, "G G GC G"},
		{"noac revalidates every access", noac, false,
			[]step{{at: 0}, {at: 0.001}, {at: 0.002}}, "G G G"},
		{"directories use acdirmin 30 s", def, true,
			[]step{{at: 0, b: 0}, {at: 1, b: 1, write: true}, {at: 29, b: 0}, {at: 30, b: 0}}, "G G S GC"},
		{"actimeo=60 keeps a stale view for a minute", long, false,
			[]step{{at: 0, b: 0}, {at: 1, b: 1, write: true}, {at: 59.9, b: 0}, {at: 60, b: 0}}, "G G S GC"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := play(tc.m, tc.dir, tc.steps); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// ExampleAttrCache shows a stale read: backend B caches a file's
// attributes, backend A changes the file, and B keeps using its cached
// attributes until acregmin (3 s) has passed.
func ExampleAttrCache() {
	m := DefaultMount()
	a, b := NewAttrCache(), NewAttrCache()
	version := uint32(0)
	b.Access(&m, 1, version, 0, false, false)
	version++
	a.Wrote(&m, 1, version, sim.Second, false)
	for _, t := range []sim.Time{2 * sim.Second, 3 * sim.Second} {
		l := b.Access(&m, 1, version, t, false, false)
		fmt.Printf("%v: getattr=%v stale=%v\n", t, l.Revalidate, l.Stale)
	}
	// Output:
	// 2s: getattr=false stale=true
	// 3s: getattr=true stale=false
}
