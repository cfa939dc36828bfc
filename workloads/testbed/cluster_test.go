package testbed

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailsim/mailsim/model"
	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/strategies"
	"github.com/mailsim/mailsim/workloads/testbed/guest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func smallCluster(strategy string) *Cluster {
	cfg := model.DefaultConfig()
	cfg.Backends = 2
	cfg.Population.Users = 3
	cfg.Population.Folders = 1
	cfg.Population.InboxMessagesMedian = 10
	cfg.Population.FolderMessagesMedian = 5
	cfg.Population.MaxFolderMessages = 100
	cfg.Population.MessageBytesMean = 1000
	cfg.Warmup, cfg.Duration = sim.Time(10*time.Second), sim.Time(time.Minute)
	var p strategies.Params
	p.Director.UserExpire = 15 * time.Minute
	return &Cluster{
		Config: cfg, Strategy: strategy, Params: p, VhostCount: strategies.DefaultVhostCount,
		Backends: []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")},
		Seed:     1, SampleInterval: 10 * time.Second,
	}
}

// TestOneKernelGolden pins the guest configuration of each strategy:
// mount options, Dovecot's and HAProxy's configuration files, the order of
// the steps. Run with -update after a deliberate change.
func TestOneKernelGolden(t *testing.T) {
	for _, s := range []string{"random", "per-ip", "director", "owner-proxy"} {
		t.Run(s, func(t *testing.T) {
			g, err := smallCluster(s).OneKernel(TraceFile)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(g, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", "one-kernel-"+s+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("guest configuration differs from %s (run with -update after a deliberate change)", path)
			}
		})
	}
}

func TestCheckRefusesWhatTheTestbedCannotHonour(t *testing.T) {
	cases := []struct {
		name   string
		change func(c *Cluster)
		key    string
	}{
		{"too many users", func(c *Cluster) { c.Config.Population.Users = MaxUsers + 1 }, "workload.users"},
		{"too many backends", func(c *Cluster) { c.Config.Backends = MaxBackends + 1 }, "cluster.backends"},
		{"too long", func(c *Cluster) { c.Config.Duration = sim.Time(MaxDuration) }, "run.duration"},
		{"huge folders", func(c *Cluster) {
			c.Config.Population.MaxFolderMessages = MaxMessages + 1
			c.Config.Population.InboxMessagesMedian, c.Config.Population.InboxMessagesSigma = MaxMessages+1, 0
		}, "workload.max_folder_messages"},
		{"many imaptest clients", func(c *Cluster) {
			c.Config.Imaptest.Clients = MaxImaptestClients + 1
		}, "workload.imaptest.clients"},
		{"director ring", func(c *Cluster) {
			c.Strategy = "director"
			c.Params.Director.Directors = 3
		}, "dovecot.directors"},
		{"director down beside HAProxy", func(c *Cluster) {
			c.Config.Actions = []model.Action{{Kind: model.DirectorDown, Backend: 1, Text: "director down 10.0.0.2"}}
		}, "actions[0].do"},
		{"daily cycle", func(c *Cluster) { c.Config.Profile.Diurnal = make([]float64, 24) }, "workload.diurnal"},
		{"clock skew", func(c *Cluster) { c.Config.ClockSkew = sim.Time(time.Second) }, "cluster.clock_skew"},
		{"index thresholds", func(c *Cluster) { c.Config.MailIndexLogRotateMaxSize = 1 }, "dovecot.mail_index_*"},
		{"nfs slowdown", func(c *Cluster) { c.Config.Faults = []model.Fault{{Kind: model.NFSSlow, Factor: 2}} }, "faults[0].kind"},
		{"bounded director", func(c *Cluster) { c.Strategy = "director-bounded" }, "strategies"},
		{"poolmon", func(c *Cluster) { c.Monitor = "poolmon" }, "health.monitor"},
		{"LMTP balancer beside the director", func(c *Cluster) {
			c.Strategy = "director"
			c.Config.LMTPToAnyBackend = true
		}, "cluster.lmtp_routing"},
		{"immediate retry", func(c *Cluster) { c.Config.Clients.Retry[1] = 0 }, "clients.phone_retry"},
		{"proxy reconnect interval", func(c *Cluster) { c.Config.Clients.LoginProxyReconnectInterval = sim.Time(2 * time.Second) }, "clients.login_proxy_reconnect_interval"},
		{"standby owner with faults", func(c *Cluster) {
			c.Strategy = "owner-proxy"
			c.Params.Owner.Failover = strategies.FailoverStandby
			c.Config.Faults = []model.Fault{{Kind: model.Crash}}
		}, "health.owner_failover"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := smallCluster("random")
			if errs := c.Check(); len(errs) != 0 {
				t.Fatalf("the small cluster is refused: %v", errs)
			}
			tc.change(c)
			errs := c.Check()
			if len(errs) != 1 || !strings.HasPrefix(errs[0], tc.key+": ") {
				t.Errorf("Check() = %q, want one error naming %s", errs, tc.key)
			}
			if _, err := c.OneKernel(TraceFile); err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Errorf("OneKernel: %v, want a refusal naming %s", err, tc.key)
			}
		})
	}
}

func TestMountOptions(t *testing.T) {
	cases := []struct {
		name   string
		change func(m *model.Config)
		want   string
	}{
		{"defaults", func(*model.Config) {}, "vers=3,proto=tcp,nosharecache,hard,acregmin=3,acregmax=60,acdirmin=30,acdirmax=60,lookupcache=all,rsize=1048576,wsize=1048576"},
		{"actimeo=0", func(m *model.Config) { m.Mount.SetActimeo(0) }, "vers=3,proto=tcp,nosharecache,hard,acregmin=0,acregmax=0,acdirmin=0,acdirmax=0,lookupcache=all,rsize=1048576,wsize=1048576"},
		{"noac and friends", func(m *model.Config) {
			m.Mount.Noac, m.Mount.Nocto, m.Mount.Nordirplus, m.Mount.LocalLock = true, true, true, true
			m.Mount.Lookupcache = "none"
		}, "vers=3,proto=tcp,nosharecache,hard,noac,lookupcache=none,nocto,nordirplus,local_lock=all,rsize=1048576,wsize=1048576"},
	}
	for _, tc := range cases {
		cfg := model.DefaultConfig()
		tc.change(&cfg)
		if got := mountOptions(&cfg); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	cfg := model.DefaultConfig()
	cfg.Mount.Acregmin = sim.Time(1500 * time.Millisecond)
	if errs := checkMountTimes(&cfg); len(errs) != 1 || !strings.HasPrefix(errs[0], "nfs.client.acregmin") {
		t.Errorf("a fractional acregmin: %v", errs)
	}
}

// TestSpecSettingsReachTheGuest: settings away from the real systems'
// defaults reach their configuration files.
func TestSpecSettingsReachTheGuest(t *testing.T) {
	file := func(g *guest.Config, path string) string {
		for _, f := range g.Files {
			if f.Path == path {
				return f.Content
			}
		}
		t.Fatalf("no %s", path)
		return ""
	}
	c := smallCluster("per-ip")
	c.Config.LMTPToAnyBackend = true
	g, err := c.OneKernel(TraceFile)
	if err != nil {
		t.Fatal(err)
	}
	if h := file(g, "/etc/haproxy/mailsim.cfg"); !strings.Contains(h, "backend imap_backends\n  balance source") || !strings.Contains(h, "backend lmtp_backends\n  balance random") {
		t.Errorf("per-ip with LMTP to any backend:\n%s", h)
	}
	c = smallCluster("director")
	c.Config.Clients.LoginProxyTimeout = sim.Time(10 * time.Second)
	c.Config.Clients.LoginProxyMaxReconnects = 5
	if g, err = c.OneKernel(TraceFile); err != nil {
		t.Fatal(err)
	}
	if d := file(g, "/etc/dovecot/director.conf"); !strings.Contains(d, "login_proxy_timeout = 10000 msecs\n") || !strings.Contains(d, "login_proxy_max_reconnects = 5\n") {
		t.Errorf("director.conf lacks the login proxy settings:\n%s", d)
	}
	if got := g.Load.RetryByKind["phone"]; got != time.Duration(c.Config.Clients.Retry[1]) {
		t.Errorf("phone retry %v, want %v", got, time.Duration(c.Config.Clients.Retry[1]))
	}
}
