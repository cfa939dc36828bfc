package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/mailsim/mailsim/strategies"
)

func init() {
	register(command{
		name:    "place",
		summary: "print the backend a strategy gives each user (CSV) for user names on stdin",
		run:     runPlace,
	})
}

func runPlace(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("place", "< users",
		"Reads user names, one per line, on standard input and prints CSV user,backend:\n"+
			"the backend a new login of each user gets from a freshly started router.\n"+
			"For the director this is what a Dovecot 2.3 director with the same hosts\n"+
			"and vhost counts answers. Placement-by-user strategies: director,\n"+
			"director-bounded, director-maglev, owner-proxy, lua-director, and\n"+
			"passdb-static (with --passdb-map); by client IP (input lines\n"+
			"\"user,client-ip\"): per-ip, per-ip-consistent.",
		stderr)
	strategy := fs.String("strategy", strategies.DirectorRing, "routing strategy: "+strings.Join(strategies.Names(), ", "))
	backends := fs.String("backends", "", "comma-separated backends `ip[:weight]` (weight: the director's vhost count, default 100; HAProxy's server weight, default 1)")
	down := fs.String("down", "", "comma-separated backend `ips` to mark down")
	failover := fs.String("failover", "none", "owner-proxy failover when the owner is down: none or standby")
	passdbMap := fs.String("passdb-map", "", "passdb-static's map: a CSV `file` of user,host rows (as dovecot.passdb_map)")
	pos, rc := parseInterspersed(fs, args)
	if rc >= 0 {
		return rc
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "mailsim place: unexpected argument %q\n", pos[0])
		fs.Usage()
		return 2
	}
	if *backends == "" {
		fmt.Fprintln(stderr, "mailsim place: --backends is required")
		return 2
	}
	bs, err := strategies.ParseBackends(*backends, strategies.DefaultWeight(*strategy))
	if err != nil {
		fmt.Fprintf(stderr, "mailsim place: %v\n", err)
		return 2
	}
	var downs []netip.Addr
	if *down != "" {
		for _, item := range strings.Split(*down, ",") {
			a, err := netip.ParseAddr(strings.TrimSpace(item))
			if err != nil {
				fmt.Fprintf(stderr, "mailsim place: --down %q is not an IP address\n", item)
				return 2
			}
			downs = append(downs, a)
		}
	}
	var p strategies.Params
	if p.Owner.Failover, err = strategies.ParseFailover(*failover); err != nil {
		fmt.Fprintf(stderr, "mailsim place: %v\n", err)
		return 2
	}
	if *strategy == strategies.PassdbStatic {
		if *passdbMap == "" {
			fmt.Fprintln(stderr, "mailsim place: passdb-static needs --passdb-map, a CSV file of user,host rows")
			return 2
		}
		f, err := os.Open(*passdbMap)
		if err != nil {
			fmt.Fprintf(stderr, "mailsim place: %v\n", err)
			return 2
		}
		p.Passdb.Map, err = strategies.ParsePassdbMap(*passdbMap, f, bs)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "mailsim place: %v\n", err)
			return 2
		}
	}
	if err := strategies.Place(*strategy, bs, downs, p, stdin, stdout); err != nil {
		fmt.Fprintf(stderr, "mailsim place: %v\n", err)
		if errors.Is(err, strategies.ErrInput) {
			return 2
		}
		return 1
	}
	return 0
}
