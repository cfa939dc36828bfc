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

	"mailsim/strategies"
)

// loginRE matches a successful IMAP login in a Dovecot 2.3 backend's log.
var loginRE = regexp.MustCompile(`imap-login: Info: Login: user=<([^>]+)>`)

// TestDirectorMatchesTheTestbed holds the director's placement to what a
// real Dovecot 2.3.19 director did on the testbed: in the committed
// testbed set of experiments/testbed-small.toml, every user the director
// sent to a backend (as that backend's log shows the login) must be where
// mailsim's director places it, on the same backend addresses.
func TestDirectorMatchesTheTestbed(t *testing.T) {
	runs, err := filepath.Glob(filepath.Join("..", "results", "reference", "testbed-small-testbed", "testbed", "p*-director-r*"))
	if err != nil || len(runs) == 0 {
		t.Fatalf("no director runs in the committed testbed set (%v)", err)
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
				m := loginRE.FindStringSubmatch(sc.Text())
				if m == nil {
					continue
				}
				if prev, ok := real[m[1]]; ok && prev != addr {
					t.Errorf("the real director sent %s to both %s and %s", m[1], prev, addr)
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
		t.Fatalf("only %d users logged in through the real director", len(real))
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
	if err := strategies.Place("director", backends, nil, strategies.Params{}, strings.NewReader(strings.Join(users, "\n")+"\n"), &out); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows[1:] {
		if real[row[0]] != row[1] {
			t.Errorf("%s: the real director chose %s, mailsim's director %s", row[0], real[row[0]], row[1])
		}
	}
	t.Logf("%d users placed as the real director placed them", len(rows)-1)
}
