package strategies

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/netip"
	"text/tabwriter"
)

// ChurnRow is one strategy's load imbalance and disruption over synthetic
// users, as computed by [Churn].
type ChurnRow struct {
	// Strategy is the strategy's name.
	Strategy string
	// Backends is the number of backends before the change.
	Backends int
	// Users is the number of synthetic users.
	Users int
	// MaxMean is the largest backend's user count over the mean.
	MaxMean float64
	// CV is the coefficient of variation (population standard deviation
	// over mean) of the users per backend.
	CV float64
	// MovedAdd is the fraction of users placed on a different backend
	// once one backend is added.
	MovedAdd float64
	// MovedRemove is the fraction of users placed on a different backend
	// once one backend (the first) is marked down.
	MovedRemove float64
}

// Churn places users synthetic users ("user<i>@example.com", each with a
// client address drawn from 10.0.0.0/8 with the given seed) on backends
// backends (10.1.0.1, 10.1.0.2, ..., with each strategy's default weight)
// for every strategy in names, and reports the load imbalance and the
// fraction of users that land elsewhere when a backend is added or the
// first one is marked down.
//
// Placement is that of a fresh router for each backend set, so for the
// director variants the fractions are what happens once the user table
// has expired or been flushed (a running director moves nobody when a host
// is added). Owner-proxy is measured with FailoverStandby. For "random"
// and "leastconn" each user is one connection and the fractions are the
// chance that a user's next connection goes elsewhere: they keep no
// affinity at all. "lua-director" starts from an empty table each time, so
// its fractions are those of redrawing every user (a running one moves
// nobody). "passdb-static" uses p.Passdb.Map if set; otherwise user i is
// given backend i mod backends, the balanced table an operator might
// write. Neither change moves anyone there: the added backend gets no
// rows, and the downed backend's users are still sent to it (their logins
// fail), which the fractions do not show.
func Churn(names []string, users, backends int, seed uint64, p Params) ([]ChurnRow, error) {
	if users < 1 || backends < 2 || backends > 250 {
		return nil, fmt.Errorf("strategies: churn needs at least 1 user and 2..250 backends, got %d and %d", users, backends)
	}
	p.Owner.Failover = FailoverStandby
	names2 := make([]string, users)
	ips := make([]netip.Addr, users)
	rng := rand.New(rand.NewPCG(seed, 0x636875726e))
	for i := range names2 {
		names2[i] = fmt.Sprintf("user%d@example.com", i)
		v := rng.Uint32()
		ips[i] = netip.AddrFrom4([4]byte{10, byte(v >> 16), byte(v >> 8), byte(v)})
	}
	var rows []ChurnRow
	for _, name := range names {
		p := p
		if name == PassdbStatic && len(p.Passdb.Map) == 0 {
			p.Passdb.Map = make(map[string]int, users)
			for i, u := range names2 {
				p.Passdb.Map[u] = i % backends
			}
		}
		bs := make([]Backend, backends+1)
		for i := range bs {
			bs[i] = Backend{Addr: netip.AddrFrom4([4]byte{10, 1, 0, byte(i + 1)}), Weight: DefaultWeight(name)}
		}
		base, err := placeAll(name, bs[:backends], -1, p, seed, 0, names2, ips)
		if err != nil {
			return nil, err
		}
		added, err := placeAll(name, bs, -1, p, seed, 1, names2, ips)
		if err != nil {
			return nil, err
		}
		removed, err := placeAll(name, bs[:backends], 0, p, seed, 2, names2, ips)
		if err != nil {
			return nil, err
		}
		row := ChurnRow{Strategy: name, Backends: backends, Users: users}
		row.MaxMean, row.CV = imbalance(base, backends)
		row.MovedAdd = movedFraction(base, added)
		row.MovedRemove = movedFraction(base, removed)
		rows = append(rows, row)
	}
	return rows, nil
}

// placeAll places every user on a fresh router over bs with backend down
// (if ≥ 0) marked down, and returns their backends. The router draws from
// random stream stream of seed.
func placeAll(name string, bs []Backend, down int, p Params, seed, stream uint64, users []string, ips []netip.Addr) ([]int, error) {
	r, err := New(name, bs, p, rand.NewPCG(seed, 0x726f75746572+stream))
	if err != nil {
		return nil, err
	}
	if down >= 0 {
		r.SetDown(0, down, true)
	}
	pl := &placer{r: r, key: KeyOf(name)}
	out := make([]int, len(users))
	for i, u := range users {
		out[i] = pl.place(u, ips[i])
	}
	return out, nil
}

// imbalance returns max/mean and the coefficient of variation of the
// number of placements per backend.
func imbalance(placed []int, backends int) (maxMean, cv float64) {
	counts := make([]float64, backends)
	for _, b := range placed {
		if b >= 0 {
			counts[b]++
		}
	}
	mean := float64(len(placed)) / float64(backends)
	var mx, ss float64
	for _, c := range counts {
		mx = math.Max(mx, c)
		ss += (c - mean) * (c - mean)
	}
	return mx / mean, math.Sqrt(ss/float64(backends)) / mean
}

func movedFraction(a, b []int) float64 {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return float64(n) / float64(len(a))
}

// WriteChurn prints rows as an aligned table.
func WriteChurn(w io.Writer, rows []ChurnRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "strategy\tbackends\tusers\tmax/mean\tCV\tmoved +1\tmoved -1\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.3f\t%.3f\t%.1f%%\t%.1f%%\t\n",
			r.Strategy, r.Backends, r.Users, r.MaxMean, r.CV, 100*r.MovedAdd, 100*r.MovedRemove)
	}
	return tw.Flush()
}

// Shares returns the fraction of users placed on each backend by a fresh
// router of strategy name (user-keyed strategies; client addresses are
// not used), e.g. to check the director's documented 50/100/200 vhost
// example.
func Shares(name string, backends []Backend, users []string, p Params) ([]float64, error) {
	if KeyOf(name) != ByUser {
		return nil, fmt.Errorf("strategies: %s does not place by user name", name)
	}
	placed, err := placeAll(name, backends, -1, p, 0, 0, users, make([]netip.Addr, len(users)))
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(backends))
	for _, b := range placed {
		if b >= 0 {
			out[b] += 1 / float64(len(users))
		}
	}
	return out, nil
}
