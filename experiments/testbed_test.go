//go:build linux

package experiments

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/workloads/testbed"
)

// TestTestbedRefusalsPointAtTheSpec: what the testbed cannot honour is
// refused before anything runs, each problem at its key in the file.
func TestTestbedRefusalsPointAtTheSpec(t *testing.T) {
	spec := `name = "too-big"
strategies = ["director", "director-bounded"]

[workload]
users = 3000

[[faults]]
at = "10s"
kind = "nfs-slow"
factor = 2
`
	e, err := Load("too-big.toml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Clusters("one-kernel")
	if err == nil {
		t.Fatal("a 3,000-user spec was accepted")
	}
	got := err.Error()
	for _, want := range []string{
		"too-big.toml:2:14: the testbed (one-kernel) cannot honour this: director-bounded has no real counterpart",
		"too-big.toml:5:9: the testbed (one-kernel) cannot honour this: 3000 users",
		"(key workload.users)",
		"too-big.toml:9:8: the testbed (one-kernel) cannot honour this: nfs-slow faults cannot be made real",
		"(key faults[0].kind)",
		"(key run.duration)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("refusal lacks %q:\n%s", want, got)
		}
	}
}

// TestTestbedRefusesOtherStorage: the testbed serves mail from the
// kernel NFS server only; another storage.kind, and a mail_location it
// cannot lay out (an index on a path it cannot place), are refused at
// their keys.
func TestTestbedRefusesOtherStorage(t *testing.T) {
	spec := `name = "gfs2"
strategies = ["random"]

[cluster]
backends = 2

[storage]
kind = "cluster-fs"

[dovecot]
mail_location = "maildir:~/Maildir:INDEX=/srv/index/%u"
`
	e, err := Load("gfs2.toml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Clusters(testbed.OneKernel)
	if err == nil {
		t.Fatal("a cluster-fs spec was accepted")
	}
	got := err.Error()
	for _, want := range []string{
		"gfs2.toml:8:8: the testbed (one-kernel) cannot honour this: \"cluster-fs\"; the testbed keeps the mail on the Linux kernel NFS server only",
		"(key storage.kind)",
		"(key dovecot.mail_location)",
		"INDEX=/srv/index/%u is neither under the user's home",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("refusal lacks %q:\n%s", want, got)
		}
	}
	// The index damage matrix's NFSv4.2 and local-index configurations
	// run.
	for _, name := range []string{"nfs42", "local-index"} {
		e := loadSpecFile(t, filepath.Join("index-damage", name+".toml"))
		if _, err := e.Clusters(testbed.OneKernel); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, name := range []string{"v3", "v42"} {
		e := loadSpecFile(t, filepath.Join("hung-host", name+".toml"))
		if _, err := e.Clusters(testbed.Hosts); err != nil {
			t.Errorf("hung-host/%s: %v", name, err)
		}
	}
}

func loadSpecFile(t *testing.T, path string) *Experiment {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := Load(path, b)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestRecordTestbed derives the committed testbed set's records again from
// its raw files: the same runs with the same measured values, and the new
// set holds every metric this build records.
func TestRecordTestbed(t *testing.T) {
	src := filepath.Join("..", "results", "reference", "testbed-small-testbed")
	out := filepath.Join(t.TempDir(), "again")
	w, err := RecordTestbed(src, out, results.Session{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := results.Read(src)
	if err != nil {
		t.Fatal(err)
	}
	b, err := results.Read(w.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Runs) != len(a.Runs) || len(b.Missing()) != 0 {
		t.Fatalf("%d runs again, %d missing; the source has %d", len(b.Runs), len(b.Missing()), len(a.Runs))
	}
	for i, r := range a.Runs {
		for _, m := range r.Metrics {
			v, ok := b.Runs[i].Metric(m.Name)
			if !ok || !(v == m.Value || math.IsNaN(v) && math.IsNaN(m.Value)) {
				t.Errorf("run %s: %s = %v again, was %v", r.ID, m.Name, v, m.Value)
			}
		}
	}
	for _, mi := range testbed.MetricInfos() {
		if _, ok := b.Runs[0].Metric(mi.Name); !ok {
			t.Errorf("the new set lacks %s", mi.Name)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "testbed", a.Runs[0].ID, "logs")); err != nil {
		t.Errorf("the new set lacks the raw files: %v", err)
	}
	if _, err := RecordTestbed(src, out, results.Session{}); err == nil {
		t.Error("recording into an existing folder was allowed")
	}
	if _, err := RecordTestbed(filepath.Join("..", "results", "reference", "testbed-small"), filepath.Join(t.TempDir(), "x"), results.Session{}); err == nil {
		t.Error("a simulated set was recorded as a testbed set")
	}
}

// TestTestbedImaptestDrill: the imaptest drills run on the testbed as
// they are, without a trace (the guest runs imaptest's clients), with the
// spec's backend addresses and the operator's actions.
func TestTestbedImaptestDrill(t *testing.T) {
	for _, name := range []string{"imaptest-drill.toml", "imaptest-drill-flush.toml"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			e, err := Load(name, data)
			if err != nil {
				t.Fatal(err)
			}
			cs, err := e.Clusters(testbed.OneKernel)
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != 3 {
				t.Fatalf("%d runs, want 3 replicas", len(cs))
			}
			for _, c := range cs {
				if len(c.Trace) != 0 {
					t.Errorf("a trace of %d bytes for an imaptest load", len(c.Trace))
				}
				if c.Config.Imaptest.Clients != 40 || c.Backends[1].String() != "127.0.0.12" || len(c.Vhosts) != 4 || c.Vhosts[1] != 100 {
					t.Errorf("cluster: %d clients, backends %v, vhosts %v", c.Config.Imaptest.Clients, c.Backends, c.Vhosts)
				}
				g, err := c.OneKernel(testbed.TraceFile)
				if err != nil {
					t.Fatal(err)
				}
				if g.Load.Imaptest == nil || g.Load.Sample == nil {
					t.Errorf("load %+v", g.Load)
				}
				if want := 1 + len(c.Config.Actions); len(g.Faults) != want {
					t.Errorf("%d faults and actions, want %d", len(g.Faults), want)
				}
			}
		})
	}
}
