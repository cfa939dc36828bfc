package strategies_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/mailsim/mailsim/strategies"
)

// TestPlacementMatchesTheTestbed holds placement to what real Dovecot
// 2.3.19 did on the testbed. In the committed testbed set of
// experiments/testbed-small.toml, every user must be served on the
// backend mailsim places it on, with the same backend addresses:
//   - director: the backend whose log shows the user's login, which the
//     real director chose;
//   - owner-proxy: the backend whose log shows the user's imap process,
//     where Dovecot's proxy_maybe served it (the entry balancer picks any
//     backend, and a backend that does not own the user proxies it on).
func TestPlacementMatchesTheTestbed(t *testing.T) {
	for _, tc := range []struct {
		strategy string
		served   *regexp.Regexp
	}{
		{"director", regexp.MustCompile(`imap-login: Info: Login: user=<([^>]+)>`)},
		{"owner-proxy", regexp.MustCompile(` imap\(([^)]+)\)<`)},
	} {
		t.Run(tc.strategy, func(t *testing.T) { checkPlacement(t, tc.strategy, tc.served) })
	}
}

func checkPlacement(t *testing.T, strategy string, served *regexp.Regexp) {
	runs, err := filepath.Glob(filepath.Join("..", "results", "reference", "testbed-small-testbed", "testbed", "p*-"+strategy+"-r*"))
	if err != nil || len(runs) == 0 {
		t.Fatalf("no %s runs in the committed testbed set (%v)", strategy, err)
	}
	addrs := map[string]string{"b1": "10.0.0.1", "b2": "10.0.0.2"}
	real := map[string]string{}
	for _, run := range runs {
		for b, addr := range addrs {
			f, err := os.Open(filepath.Join(run, "logs", b+".log"))
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				m := served.FindStringSubmatch(sc.Text())
				if m == nil {
					continue
				}
				if prev, ok := real[m[1]]; ok && prev != addr {
					t.Errorf("real %s: %s served on both %s and %s", strategy, m[1], prev, addr)
				}
				real[m[1]] = addr
			}
			f.Close()
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(real) < 10 {
		t.Fatalf("only %d users served under the real %s", len(real), strategy)
	}
	var users []string
	for u := range real {
		users = append(users, u)
	}
	sort.Strings(users)
	backends, err := strategies.ParseBackends("10.0.0.1,10.0.0.2", strategies.DefaultVhostCount)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := strategies.Place(strategy, backends, nil, strategies.Params{}, strings.NewReader(strings.Join(users, "\n")+"\n"), &out); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows[1:] {
		if real[row[0]] != row[1] {
			t.Errorf("%s: served on %s for real, placed on %s by mailsim's %s", row[0], real[row[0]], row[1], strategy)
		}
	}
	t.Logf("%d users placed where real Dovecot served them", len(rows)-1)
}
