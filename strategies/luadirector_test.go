package strategies

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestLuaDirector(t *testing.T) {
	bs := testBackends(4, 1)
	t.Run("placement is random, sticky and reproducible", func(t *testing.T) {
		a, _ := New(LuaDirector, bs, Params{}, rand.NewPCG(9, 10))
		b, _ := New(LuaDirector, bs, Params{}, rand.NewPCG(9, 10))
		first := map[string]int{}
		for i := 0; i < 200; i++ {
			u := fmt.Sprintf("user%d", i)
			da, db := a.Route(Request{User: u}), b.Route(Request{User: u})
			if da != db {
				t.Fatalf("%s: %+v vs %+v from the same seed", u, da, db)
			}
			if da.Hops != 1 || !da.TerminatesTLS || da.Entry != -1 || da.Delay != 0 || da.Backend < 0 {
				t.Fatalf("%s: decision %+v", u, da)
			}
			first[u] = da.Backend
		}
		for u, want := range first {
			if got := a.Route(Request{User: strings.ToUpper(u)}).Backend; got != want {
				t.Fatalf("%s moved from %d to %d", u, want, got)
			}
		}
		if n := a.(*LuaProxy).Users(0); n != 200 {
			t.Errorf("%d users stored, want 200", n)
		}
	})
	t.Run("uniform among up backends, whatever the weights", func(t *testing.T) {
		ws := testBackends(5, 1)
		ws[0].Weight = 100 // weights are ignored
		r, err := NewLuaDirector(ws, rand.NewPCG(1, 2))
		if err != nil {
			t.Fatal(err)
		}
		r.SetDown(0, 3, true)
		const users = 40000
		for i := 0; i < users; i++ {
			if b := r.Route(Request{User: fmt.Sprintf("u%d", i)}).Backend; b == 3 {
				t.Fatal("new user placed on a down backend")
			}
		}
		loads := r.Loads(0, nil)
		// Chi-square over the four up backends, 3 degrees of freedom:
		// 16.27 is the 0.1% critical value.
		exp := float64(users) / 4
		chi := 0.0
		for i, n := range loads {
			if i == 3 {
				if n != 0 {
					t.Errorf("down backend has %d users", n)
				}
				continue
			}
			chi += (float64(n) - exp) * (float64(n) - exp) / exp
		}
		if chi > 16.27 {
			t.Errorf("loads %v: chi-square %.1f over 3 degrees of freedom", loads, chi)
		}
		if r.Users(0) != users {
			t.Errorf("Users %d", r.Users(0))
		}
	})
	t.Run("failure behaviour", func(t *testing.T) {
		r, _ := NewLuaDirector(bs, rand.NewPCG(3, 4))
		alice := r.Route(Request{User: "alice"}).Backend
		steps := []struct {
			step string
			down []int
			up   []int
			user string
			want int // -2: any up backend other than those down
		}{
			{"own backend down: still sent there", []int{alice}, nil, "alice", alice},
			{"new user avoids it", nil, nil, "bob", -2},
			{"every backend down: new user fails", []int{0, 1, 2, 3}, nil, "carol", -1},
			{"known user still routed", nil, nil, "alice", alice},
			{"failed user was not stored", []int{}, []int{0, 1, 2, 3}, "carol", -2},
			{"back up: same backend", nil, nil, "alice", alice},
		}
		for _, s := range steps {
			for _, b := range s.down {
				r.SetDown(0, b, true)
			}
			for _, b := range s.up {
				r.SetDown(0, b, false)
			}
			got := r.Route(Request{User: s.user}).Backend
			switch {
			case s.want == -2 && (got < 0 || r.IsDown(got)):
				t.Errorf("%s: %s sent to %d", s.step, s.user, got)
			case s.want != -2 && got != s.want:
				t.Errorf("%s: %s sent to %d, want %d", s.step, s.user, got, s.want)
			}
		}
		if b, ok := r.Lookup("ALICE"); !ok || b != alice {
			t.Errorf("Lookup(ALICE) = %d, %v", b, ok)
		}
		if _, ok := r.Lookup("dave"); ok {
			t.Error("Lookup found a user never routed")
		}
		total := 0
		for _, n := range r.Loads(0, nil) {
			total += n
		}
		if total != r.Users(0) || total != 3 {
			t.Errorf("loads sum to %d, Users %d, want 3", total, r.Users(0))
		}
	})
}
