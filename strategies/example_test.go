package strategies_test

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/strategies"
)

func ExampleNew() {
	backends, err := strategies.ParseBackends("10.0.0.1,10.0.0.2,10.0.0.3", strategies.DefaultWeight("director"))
	if err != nil {
		panic(err)
	}
	r, err := strategies.New("director", backends, strategies.Params{}, sim.Source(1, "strategy"))
	if err != nil {
		panic(err)
	}
	d := r.Route(strategies.Request{Now: 0, User: "alice"})
	fmt.Println("alice ->", backends[d.Backend].Addr, "hops", d.Hops)

	// Marking the host down keeps alice's entry: she is still sent there.
	r.SetDown(time.Minute, d.Backend, true)
	d2 := r.Route(strategies.Request{Now: time.Minute, User: "alice"})
	fmt.Println("after down ->", backends[d2.Backend].Addr)

	// HOST-RESET-USERS moves her and kicks her sessions.
	for _, m := range strategies.Apply(r, time.Minute, strategies.Action{Kind: strategies.HostResetUsers, Backend: d.Backend}) {
		fmt.Println("moved", m.User, "to", backends[m.To].Addr, "kicked", m.Kicked, "logins wait until", m.Done)
	}
	// Output:
	// alice -> 10.0.0.2 hops 1
	// after down -> 10.0.0.2
	// moved alice to 10.0.0.3 kicked true logins wait until 1m2s
}

func ExamplePlace() {
	backends, err := strategies.ParseBackends("10.0.0.1,10.0.0.2:200,10.0.0.3", strategies.DefaultVhostCount)
	if err != nil {
		panic(err)
	}
	// The answers are those a Dovecot 2.3 director with these hosts gives.
	users := strings.NewReader("alice\nHeidi\noscar\nwalter@example.com\n")
	if err := strategies.Place("director", backends, nil, strategies.Params{}, users, os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// user,backend
	// alice,10.0.0.2
	// Heidi,10.0.0.3
	// oscar,10.0.0.1
	// walter@example.com,10.0.0.3
}

func ExampleParsePassdbMap() {
	backends, err := strategies.ParseBackends("10.0.0.1,10.0.0.2", strategies.DefaultWeight(strategies.PassdbStatic))
	if err != nil {
		panic(err)
	}
	// The proxy's passdb: each user's host, written by the operator.
	table := "user,host\n# moved to the new server in March\nalice,10.0.0.2\nbob@example.com,10.0.0.1\n"
	var p strategies.Params
	p.Passdb.Map, err = strategies.ParsePassdbMap("users.csv", strings.NewReader(table), backends)
	if err != nil {
		panic(err)
	}
	r, err := strategies.New(strategies.PassdbStatic, backends, p, nil)
	if err != nil {
		panic(err)
	}
	for _, u := range []string{"Alice", "bob@example.com", "carol"} {
		d := r.Route(strategies.Request{User: u})
		if d.Backend < 0 {
			fmt.Println(u, "-> login fails: no host in the passdb")
			continue
		}
		fmt.Println(u, "->", backends[d.Backend].Addr, "hops", d.Hops)
	}

	// No failover: with alice's host down she is still sent there, and
	// her logins fail until it is back or the table is changed.
	r.SetDown(time.Minute, 1, true)
	fmt.Println("alice after down ->", backends[r.Route(strategies.Request{User: "alice"}).Backend].Addr)

	_, err = strategies.ParsePassdbMap("users.csv", strings.NewReader("alice,10.0.0.1\nalice,10.0.0.2\n"), backends)
	fmt.Println(err)
	// Output:
	// Alice -> 10.0.0.2 hops 1
	// bob@example.com -> 10.0.0.1 hops 1
	// carol -> login fails: no host in the passdb
	// alice after down -> 10.0.0.2
	// strategies: users.csv:2: user "alice" listed twice
}
