//go:build linux

package testbed_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailsim/mailsim/experiments"
	"github.com/mailsim/mailsim/workloads/testbed"
	"github.com/mailsim/mailsim/workloads/testbed/guest"
)

// hostsSpec is a small spec on three backends; extra is appended.
func hostsSpec(t *testing.T, strategies, extra string) []*testbed.Cluster {
	t.Helper()
	text := `name = "hosts"
seed = 3
strategies = [` + strategies + `]
[run]
warmup = "10s"
duration = "60s"
[cluster]
backends = 3
[workload]
users = 5
max_folder_messages = 300
message_bytes_mean = 3000
[health]
owner_failover = "none"
` + extra
	exp, err := experiments.Load("hosts.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	// Clusters checks what every topology needs; the tests check the
	// hosts topology's own refusals.
	out, err := exp.Clusters(testbed.OneKernel)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func commands(g *guest.Config) []string {
	var out []string
	for _, s := range g.Steps {
		if s.Command != nil {
			out = append(out, strings.Join(s.Command.Argv, " "))
		}
	}
	return out
}

func mounts(g *guest.Config) []guest.Mount {
	var out []guest.Mount
	for _, s := range g.Steps {
		if s.Mount != nil {
			out = append(out, *s.Mount)
		}
	}
	return out
}

func file(g *guest.Config, path string) (string, bool) {
	for _, f := range g.Files {
		if f.Path == path {
			return f.Content, true
		}
	}
	return "", false
}

// TestHostsPlan checks the multi-host topology's guests for every
// strategy: names and addresses, /etc/hosts, the export's clients, every
// backend mounting the server over the network, and the client
// addresses local to the entry guest only.
func TestHostsPlan(t *testing.T) {
	for _, c := range hostsSpec(t, `"random", "per-ip", "director", "owner-proxy"`, "") {
		t.Run(c.Strategy, func(t *testing.T) {
			plan, err := c.Hosts(testbed.TraceFile)
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Backends) != 3 {
				t.Fatalf("%d backend guests, want 3", len(plan.Backends))
			}
			want := map[string]string{
				"nfs": "10.255.0.2/8", "entry": "10.255.0.1/8",
				"b1": "10.0.0.1/8", "b2": "10.0.0.2/8", "b3": "10.0.0.3/8",
			}
			var names []string
			for _, ng := range plan.Guests() {
				g := ng.Config
				names = append(names, ng.Name)
				if g.Hostname != ng.Name {
					t.Errorf("%s: hostname %q", ng.Name, g.Hostname)
				}
				if len(g.Interfaces) != 1 || g.Interfaces[0].Name != "eth0" || g.Interfaces[0].Addr != want[ng.Name] {
					t.Errorf("%s: interfaces %v, want eth0 %s", ng.Name, g.Interfaces, want[ng.Name])
				}
				for name, addr := range want {
					line := strings.TrimSuffix(addr, "/8") + "\t" + name
					if !slices.Contains(g.Hosts, line) {
						t.Errorf("%s: /etc/hosts lacks %q (has %q)", ng.Name, line, g.Hosts)
					}
				}
				if len(g.Hosts) != len(want) {
					t.Errorf("%s: %d hosts lines, want %d", ng.Name, len(g.Hosts), len(want))
				}
				// Only the entry guest has local routes, and never the
				// backends' network: its addresses are other hosts.
				for _, cmd := range commands(g) {
					if strings.HasPrefix(cmd, "ip route add local") && (ng.Name != "entry" || strings.Contains(cmd, " 10.0.0.0/8 ")) {
						t.Errorf("%s: %q", ng.Name, cmd)
					}
				}
			}
			if !slices.Equal(names, []string{"nfs", "b1", "b2", "b3", "entry"}) {
				t.Errorf("guests %v", names)
			}

			srv := plan.Server
			if srv.Server == nil || srv.Server.Clients != "10.0.0.0/8" {
				t.Fatalf("server: %+v, want the export open to 10.0.0.0/8", srv.Server)
			}
			if exports, _ := file(srv, "/etc/exports"); !strings.HasPrefix(exports, "/export 10.0.0.0/8(") {
				t.Errorf("server: /etc/exports = %q", exports)
			}
			if len(srv.Server.Populate) != 5 {
				t.Errorf("server populates %d Maildirs, want 5", len(srv.Server.Populate))
			}
			if srv.Hold != testbed.HoldFile || srv.Load != nil || len(mounts(srv)) != 0 {
				t.Errorf("server: hold %q, load %v, mounts %v", srv.Hold, srv.Load, mounts(srv))
			}
			if len(srv.Counters) == 0 || srv.Counters[0] != (guest.KV{Key: "nfsd", Value: "/proc/net/rpc/nfsd"}) {
				t.Errorf("server counters %v", srv.Counters)
			}

			for i, g := range plan.Backends {
				name := fmt.Sprintf("b%d", i+1)
				ms := mounts(g)
				if len(ms) != 1 || ms[0].Source != "10.255.0.2:/export" || ms[0].Dir != "/mnt/"+name {
					t.Errorf("%s: mounts %+v, want 10.255.0.2:/export on /mnt/%s", name, ms, name)
				}
				if g.Server != nil || g.Load != nil || g.Hold != testbed.HoldFile {
					t.Errorf("%s: server %v, load %v, hold %q", name, g.Server, g.Load, g.Hold)
				}
				if !slices.Contains(g.Modules, "nfs") || slices.Contains(g.Modules, "nfsd") {
					t.Errorf("%s: modules %v, want the client's only", name, g.Modules)
				}
				// The lock manager's helpers start before the mount.
				var order []string
				for _, s := range g.Steps {
					switch {
					case s.Service != nil:
						order = append(order, s.Service.Name)
					case s.Mount != nil:
						order = append(order, "mount")
					}
				}
				if !slices.Equal(order, []string{"rpcbind", "statd", "mount", name}) {
					t.Errorf("%s: services and mounts in order %v", name, order)
				}
				conf, ok := file(g, "/etc/dovecot/"+name+".conf")
				if !ok || !strings.Contains(conf, "listen = 10.0.0."+fmt.Sprint(i+1)+"\n") || !strings.Contains(conf, "mail_location = maildir:/mnt/"+name+"/") {
					t.Errorf("%s: dovecot.conf does not listen on its address or serve its mount:\n%s", name, conf)
				}
				for j := range plan.Backends {
					if _, ok := file(g, fmt.Sprintf("/etc/dovecot/b%d.conf", j+1)); ok != (j == i) {
						t.Errorf("%s: has b%d's configuration: %v", name, j+1, ok)
					}
				}
				if _, ok := file(g, "/etc/dovecot/owners.passwd"); ok != (c.Strategy == "owner-proxy") {
					t.Errorf("%s: owners.passwd present = %v", name, ok)
				}
				if len(g.Counters) != 1 || g.Counters[0].Value != "/proc/self/mountstats" || !slices.Contains(g.Logs, guest.KV{Key: "/var/log/mailsim/" + name + ".log", Value: name + ".log"}) {
					t.Errorf("%s: counters %v, logs %v", name, g.Counters, g.Logs)
				}
			}

			e := plan.Entry
			if e.Load == nil || e.Load.IMAP != "10.255.0.1:143" || e.Load.LMTP != "10.255.0.1:24" || e.Load.Trace != testbed.TraceFile {
				t.Fatalf("entry load %+v", e.Load)
			}
			if e.Hold != "" || e.Server != nil || len(mounts(e)) != 0 || len(e.Faults) != 0 || len(e.Modules) != 0 {
				t.Errorf("entry: hold %q, server %v, mounts %v, faults %v, modules %v", e.Hold, e.Server, mounts(e), e.Faults, e.Modules)
			}
			for _, r := range []string{"100.64.0.0/10", "198.51.100.0/24", "192.0.2.0/24"} {
				if !slices.Contains(commands(e), "ip route add local "+r+" dev lo") {
					t.Errorf("entry: no local route for the clients' %s", r)
				}
			}
			switch c.Strategy {
			case "director":
				conf, ok := file(e, "/etc/dovecot/director.conf")
				if !ok || !strings.Contains(conf, "director_mail_servers = 10.0.0.1 10.0.0.2 10.0.0.3\n") || !strings.Contains(conf, "listen = 10.255.0.1\n") {
					t.Errorf("entry: director.conf:\n%s", conf)
				}
			default:
				conf, ok := file(e, "/etc/haproxy/mailsim.cfg")
				if !ok || !strings.Contains(conf, "bind 10.255.0.1:143") || !strings.Contains(conf, "server b3 10.0.0.3:143") {
					t.Errorf("entry: haproxy.cfg:\n%s", conf)
				}
			}
		})
	}
}

// TestHostsFaults checks that the host applies the faults to the
// backends' machines at their offsets from the load's start, and that a
// recovery after a crash is refused in hosts (a powered-off machine does
// not come back) but not in one-kernel.
func TestHostsFaults(t *testing.T) {
	faults := `
[[faults]]
at = "20s"
backend = 0
kind = "hang"
[[faults]]
at = "5s"
backend = 2
kind = "crash"
[[faults]]
at = "30s"
backend = 0
kind = "recover"
`
	c := hostsSpec(t, `"random"`, faults)[0]
	plan, err := c.Hosts(testbed.TraceFile)
	if err != nil {
		t.Fatal(err)
	}
	want := []guest.Fault{
		{At: 15 * time.Second, Kind: "crash", Service: "b3"},
		{At: 30 * time.Second, Kind: "hang", Service: "b1"},
		{At: 40 * time.Second, Kind: "recover", Service: "b1"},
	}
	if !reflect.DeepEqual(plan.Faults, want) {
		t.Errorf("faults %v, want %v", plan.Faults, want)
	}
	for _, g := range plan.Guests() {
		if len(g.Config.Faults) != 0 {
			t.Errorf("%s applies faults itself: %v", g.Name, g.Config.Faults)
		}
	}

	crashed := hostsSpec(t, `"random"`, faults+`
[[faults]]
at = "50s"
backend = 2
kind = "recover"
`)[0]
	if _, err := crashed.OneKernel(testbed.TraceFile); err != nil {
		t.Errorf("one-kernel refuses a recovery after a crash: %v", err)
	}
	_, err = crashed.Hosts(testbed.TraceFile)
	if err == nil || !strings.Contains(err.Error(), "faults[3].kind") || strings.Contains(err.Error(), "faults[2].kind") {
		t.Errorf("hosts: err = %v, want faults[3].kind refused and faults[2] (recover after a hang) accepted", err)
	}
	if errs := crashed.CheckTopology(testbed.Hosts); len(errs) != 1 {
		t.Errorf("CheckTopology(hosts) = %q, want one complaint", errs)
	}
	if errs := crashed.CheckTopology(testbed.OneKernel); len(errs) != 0 {
		t.Errorf("CheckTopology(one-kernel) = %q", errs)
	}
}

// hostsGuestDir returns the built guest named by MAILSIM_TESTBED_GUEST,
// or skips.
func hostsGuestDir(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("the hosts topology boots four kernels")
	}
	dir := guestDir(t)
	if miss := testbed.Missing(true); len(miss) > 0 {
		t.Skipf("the hosts topology cannot run here: %v", miss)
	}
	return dir
}

// leftovers lists this process's network namespaces and the user-mode
// kernels running on a folder under dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	prefix := fmt.Sprintf("mailsim-%d-", os.Getpid())
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, prefix) {
			left = append(left, "network namespace "+line)
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) > 0 && args[0] == testbed.Kernel && strings.Contains(string(b), dir) {
			left = append(left, "kernel "+filepath.Dir(p))
		}
	}
	return left
}

// TestHostsOneMailbox runs testdata/one-mailbox.toml in the hosts
// topology: real NFS between hosts, real NLM. With random routing the
// user's connections land on both backends and Dovecot logs index
// damage; with the director it logs none. Nothing is left behind.
func TestHostsOneMailbox(t *testing.T) {
	dir := hostsGuestDir(t)
	exp := loadSpec(t, "one-mailbox.toml")
	out := filepath.Join(t.TempDir(), "set")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	_, err := exp.ExecuteTestbed(ctx, experiments.TestbedOptions{Out: out, Guest: dir, Topology: testbed.Hosts, Log: testWriter{t}})
	if left := leftovers(t, out); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	if err != nil {
		t.Fatal(err)
	}
	set := checkOneMailbox(t, out)
	// Each backend's own NFS client made calls.
	for _, r := range set.Runs {
		for _, v := range r.Backends {
			if v.Name == "backend.nfs_ops" && slices.Contains(v.Values, 0) && r.Strategy == "random" {
				t.Errorf("%s: per-backend NFS calls %v", r.Strategy, v.Values)
			}
		}
	}
}

// TestHostsInterrupt cancels a hosts run while it boots and checks that it
// returns at once, leaving no kernel and no network namespace behind.
func TestHostsInterrupt(t *testing.T) {
	dir := hostsGuestDir(t)
	exp := loadSpec(t, "one-mailbox.toml")
	out := filepath.Join(t.TempDir(), "set")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := exp.ExecuteTestbed(ctx, experiments.TestbedOptions{Out: out, Guest: dir, Topology: testbed.Hosts, Log: testWriter{t}})
		done <- err
	}()
	time.Sleep(8 * time.Second)
	if left := leftovers(t, out); len(left) == 0 {
		t.Error("nothing running 8 s into the run")
	}
	cancel()
	start := time.Now()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not stop within 10 s of its cancellation")
	}
	t.Logf("stopped %.2f s after the cancellation", time.Since(start).Seconds())
	if left := leftovers(t, out); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

// raceBuild reports whether the test binary was built with -race.
func raceBuild() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}
