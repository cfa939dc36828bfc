package workloads

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestImaptestPass checks the order of a pass: LOGIN, then the states in
// imaptest's order, each run with its probability, repeats by their
// "again" chance, and LOGOUT.
func TestImaptestPass(t *testing.T) {
	only := func(on ...ImaptestState) Imaptest {
		x := DefaultImaptest()
		x.Again = [NumImaptestStates]float64{}
		for s := range x.Probability {
			x.Probability[s] = 0
		}
		x.Probability[StateLogin] = 100
		for _, s := range on {
			x.Probability[s] = 100
		}
		return x
	}
	tests := []struct {
		name string
		t    Imaptest
		want []Command
	}{
		{"every state", only(StateList, StateStatus, StateSelect, StateFetch, StateFetch2, StateStore, StateDelete, StateExpunge, StateAppend, StateLogout),
			[]Command{Login, List, Status, Select, Fetch, FetchBody, Store, Store, Expunge, Append, Logout}},
		{"select and logout", only(StateSelect, StateLogout), []Command{Login, Select, Logout}},
		{"nothing but login", only(), []Command{Login, Logout}},
		{"no logout: round again", only(StateSelect), []Command{Login, Select, Select, Select}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			var got []Command
			st, ran := StateLogin, false
			for len(got) < len(tc.want) {
				step, next := tc.t.Next(rng, st, ran)
				got = append(got, step.Cmd)
				if step.Think != 0 || step.Mailbox != 0 {
					t.Errorf("step %+v: imaptest has no think time and uses INBOX", step)
				}
				if step.Cmd == Logout {
					break
				}
				st, ran = next, true
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("pass %v, want %v", got, tc.want)
			}
		})
	}
}

// TestImaptestDefaultsMix checks the default pass's expected commands per
// pass: FETCH2 runs 1/(1-0.3) times, APPEND 1/(1-0.05), LIST, STATUS and
// STORE half the time.
func TestImaptestDefaultsMix(t *testing.T) {
	x := DefaultImaptest()
	rng := rand.New(rand.NewPCG(3, 4))
	var n [NumCommands]float64
	const passes = 20000
	for range passes {
		st, ran := StateLogin, false
		for {
			step, next := x.Next(rng, st, ran)
			n[step.Cmd]++
			if step.Cmd == Logout {
				break
			}
			st, ran = next, true
		}
	}
	want := map[Command]float64{Login: 1, List: 0.5, Status: 0.5, Select: 1, Fetch: 1, FetchBody: 1 / 0.7, Store: 1.5, Expunge: 1, Append: 1 / 0.95, Logout: 1}
	for c, w := range want {
		if got := n[c] / passes; got < w*0.97 || got > w*1.03 {
			t.Errorf("%v: %.3f per pass, want %.3f", c, got, w)
		}
	}
}

func TestUserTemplate(t *testing.T) {
	tests := []struct {
		tmpl string
		n    int
		want string
		err  bool
	}{
		{"user%d", 7, "user7", false},
		{"user%04d", 7, "user0007", false},
		{"user%04d", 12345, "user12345", false},
		{"u%3d@example.net", 7, "u  7@example.net", false},
		{"100%%user%d", 1, "100%user1", false},
		{"user", 0, "", true},
		{"user%d%d", 0, "", true},
		{"user%s", 0, "", true},
		{"user%099d", 0, "", true},
		{"user%", 0, "", true},
	}
	for _, tc := range tests {
		tm, err := ParseUserTemplate(tc.tmpl)
		if (err != nil) != tc.err {
			t.Errorf("%q: error %v", tc.tmpl, err)
			continue
		}
		if err == nil && tm.Name(tc.n) != tc.want {
			t.Errorf("%q with %d: %q, want %q", tc.tmpl, tc.n, tm.Name(tc.n), tc.want)
		}
	}
}
