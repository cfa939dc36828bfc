package testbed

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailsim/mailsim/model"
	"github.com/mailsim/mailsim/model/hist"
	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/workloads/imapload"
	"github.com/mailsim/mailsim/workloads/testbed/guest"
)

func TestMountOptionsVers(t *testing.T) {
	tail := ",proto=tcp,nosharecache,hard,acregmin=3,acregmax=60,acdirmin=30,acdirmax=60,lookupcache=all,rsize=1048576,wsize=1048576"
	for _, tc := range []struct {
		vers nfsmodel.Vers
		want string
	}{
		{"", "vers=3" + tail},
		{nfsmodel.V3, "vers=3" + tail},
		{nfsmodel.V40, "vers=4.0" + tail},
		{nfsmodel.V41, "vers=4.1" + tail},
		{nfsmodel.V42, "vers=4.2" + tail},
	} {
		cfg := model.DefaultConfig()
		cfg.Mount.Vers = tc.vers
		if got := mountOptions(&cfg); got != tc.want {
			t.Errorf("vers %q: %s, want %s", tc.vers, got, tc.want)
		}
	}
	// nocto and local_lock are NFSv2/v3 options: never on a v4 mount
	// (Check refuses them before).
	cfg := model.DefaultConfig()
	cfg.Mount.Vers, cfg.Mount.Nocto, cfg.Mount.LocalLock = nfsmodel.V42, true, true
	if got := mountOptions(&cfg); strings.Contains(got, "nocto") || strings.Contains(got, "local_lock") {
		t.Errorf("v4.2 with nocto and local_lock: %s", got)
	}
}

func TestCheckRefusesWhatNFSv4AndTheMailLocationCannotDo(t *testing.T) {
	v4 := func(c *Cluster) { c.Config.Mount.Vers = nfsmodel.V42 }
	cases := []struct {
		name   string
		change func(c *Cluster)
		key    string
	}{
		{"cluster file system", func(c *Cluster) { c.Config.Storage = nfsmodel.KindClusterFS }, "storage.kind"},
		{"fuse", func(c *Cluster) { c.Config.Storage = nfsmodel.KindFUSE }, "storage.kind"},
		{"local", func(c *Cluster) { c.Config.Storage = nfsmodel.KindLocal }, "storage.kind"},
		{"short lease", func(c *Cluster) { v4(c); c.Config.Server.LeaseTime = sim.Time(5 * time.Second) }, "nfs.lease_time"},
		{"fractional lease", func(c *Cluster) { v4(c); c.Config.Server.LeaseTime = sim.Time(45500 * time.Millisecond) }, "nfs.lease_time"},
		{"nocto under v4", func(c *Cluster) { v4(c); c.Config.Mount.Nocto = true }, "nfs.client.nocto"},
		{"local_lock under v4", func(c *Cluster) { v4(c); c.Config.Mount.LocalLock = true }, "nfs.client.local_lock"},
		{"fractional lock timeout", func(c *Cluster) { c.Config.Dovecot.MailMaxLockTimeout = sim.Time(1500 * time.Millisecond) }, "dovecot.mail_max_lock_timeout"},
		{"mbox", func(c *Cluster) { c.Config.Dovecot.MailLocation = "mbox:~/mail" }, "dovecot.mail_location"},
		{"sdbox with CONTROL", func(c *Cluster) { c.Config.Dovecot.MailLocation = "sdbox:~/sdbox:CONTROL=~/control" }, "dovecot.mail_location"},
		{"mdbox without LMTP index updates", func(c *Cluster) {
			c.Config.Dovecot.MailLocation = "mdbox:~/mdbox"
			c.Config.Dovecot.LMTPIndexUpdate = false
		}, "dovecot.lmtp_index_update"},
		{"index nowhere known", func(c *Cluster) { c.Config.Dovecot.MailLocation = "maildir:~/Maildir:INDEX=/srv/index/%u" }, "dovecot.mail_location"},
		{"mail outside the home", func(c *Cluster) { c.Config.Dovecot.MailLocation = "maildir:/srv/mail/%u" }, "dovecot.mail_location"},
		{"layout", func(c *Cluster) { c.Config.Dovecot.MailLocation = "maildir:~/Maildir:LAYOUT=fs" }, "dovecot.mail_location"},
		{"home on local disk", func(c *Cluster) { c.Config.LocalPaths = []string{"~"} }, "storage.local_paths"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := smallCluster("random")
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
	// What the testbed takes.
	for _, change := range []func(c *Cluster){
		v4,
		func(c *Cluster) { c.Config.Mount.Vers = nfsmodel.V40 },
		func(c *Cluster) {
			v4(c)
			c.Config.Server.LeaseTime = sim.Time(30 * time.Second)
			c.Config.Server.Delegations = false
		},
		func(c *Cluster) {
			c.Config.LocalPaths = []string{"/var/dovecot"}
			c.Config.Dovecot.MailLocation = "maildir:~/Maildir:INDEX=/var/dovecot/index/%u:CONTROL=/var/dovecot/control/%u"
		},
		func(c *Cluster) { c.Config.Dovecot.MailLocation = "maildir:~/Maildir:INDEX=MEMORY" },
		func(c *Cluster) { c.Config.Dovecot.MailLocation = "maildir:~/mail:INDEX=~/index" },
		func(c *Cluster) { c.Config.Dovecot.MailLocation = "sdbox:~/sdbox" },
		func(c *Cluster) { c.Config.Dovecot.MailLocation = "mdbox:~/mdbox" },
		// The lease means nothing under NFSv3: not refused.
		func(c *Cluster) { c.Config.Server.LeaseTime = sim.Time(5 * time.Second) },
	} {
		c := smallCluster("random")
		change(c)
		if errs := c.Check(); len(errs) > 0 {
			t.Errorf("refused: %v", errs)
		}
	}
}

func TestMailLocationRendering(t *testing.T) {
	cases := []struct {
		loc, local          string
		oneKernel, hosts    string
		lmtp                string
		oneKernelDirs, path string
	}{
		{nfsmodel.DefaultMailLocation, "", "maildir:/mnt/b2/%d/%n/Maildir", "maildir:/mnt/b2/%d/%n/Maildir", "maildir:~/Maildir:INDEX=MEMORY", "", "example.net/u/Maildir"},
		{"maildir:~/Maildir:INDEX=/var/dovecot/index/%u", "/var/dovecot",
			"maildir:/mnt/b2/%d/%n/Maildir:INDEX=/local/b2/var/dovecot/index/%u", "maildir:/mnt/b2/%d/%n/Maildir:INDEX=/var/dovecot/index/%u",
			"maildir:~/Maildir:INDEX=MEMORY", "/local/b2/var/dovecot", "example.net/u/Maildir"},
		{"maildir:~/Maildir:INDEX=/var/dovecot/index/%u:CONTROL=/var/dovecot/control/%u", "/var/dovecot/",
			"maildir:/mnt/b2/%d/%n/Maildir:INDEX=/local/b2/var/dovecot/index/%u:CONTROL=/local/b2/var/dovecot/control/%u",
			"maildir:/mnt/b2/%d/%n/Maildir:INDEX=/var/dovecot/index/%u:CONTROL=/var/dovecot/control/%u",
			"maildir:~/Maildir:INDEX=MEMORY:CONTROL=/local/b2/var/dovecot/control/%u", "/local/b2/var/dovecot", "example.net/u/Maildir"},
		{"maildir:~/Maildir:INDEX=MEMORY", "", "maildir:/mnt/b2/%d/%n/Maildir:INDEX=MEMORY", "maildir:/mnt/b2/%d/%n/Maildir:INDEX=MEMORY", "maildir:~/Maildir:INDEX=MEMORY", "", "example.net/u/Maildir"},
		{"maildir:~/mail:INDEX=~/index:CONTROL=~/control", "", "maildir:/mnt/b2/%d/%n/mail:INDEX=/mnt/b2/%d/%n/index:CONTROL=/mnt/b2/%d/%n/control",
			"maildir:/mnt/b2/%d/%n/mail:INDEX=/mnt/b2/%d/%n/index:CONTROL=/mnt/b2/%d/%n/control", "maildir:~/mail:INDEX=MEMORY:CONTROL=~/control", "", "example.net/u/mail"},
	}
	for _, tc := range cases {
		cfg := model.DefaultConfig()
		cfg.Dovecot.MailLocation = tc.loc
		if tc.local != "" {
			cfg.LocalPaths = []string{tc.local}
		}
		lay, errs := parseLayout(&cfg)
		if len(errs) > 0 {
			t.Errorf("%s: %v", tc.loc, errs)
			continue
		}
		lr := oneKernelLocalRoot(1)
		if got := lay.render("/mnt/b2", lr); got != tc.oneKernel {
			t.Errorf("%s, one kernel: %s, want %s", tc.loc, got, tc.oneKernel)
		}
		if got := lay.render("/mnt/b2", ""); got != tc.hosts {
			t.Errorf("%s, hosts: %s, want %s", tc.loc, got, tc.hosts)
		}
		if got := lay.lmtpNoIndex(lr); got != tc.lmtp {
			t.Errorf("%s, LMTP: %s, want %s", tc.loc, got, tc.lmtp)
		}
		if got := strings.Join(lay.localDirs(lr), " "); got != tc.oneKernelDirs {
			t.Errorf("%s: local directories %q, want %q", tc.loc, got, tc.oneKernelDirs)
		}
		if got := lay.maildirPath("u@example.net"); got != tc.path {
			t.Errorf("%s: Maildir %s, want %s", tc.loc, got, tc.path)
		}
	}
}

// nfsv4Cluster is the small cluster on NFSv4.2.
func nfsv4Cluster() *Cluster {
	c := smallCluster("random")
	c.Config.Mount.Vers = nfsmodel.V42
	return c
}

// localIndexCluster is the small cluster with its indexes on each
// backend's own disk.
func localIndexCluster() *Cluster {
	c := smallCluster("random")
	c.Config.LocalPaths = []string{"/var/dovecot"}
	c.Config.Dovecot.MailLocation = "maildir:~/Maildir:INDEX=/var/dovecot/index/%u"
	return c
}

// TestOneKernelGoldenNFSv4AndLocalIndex pins the guest configurations of
// an NFSv4.2 cluster (with a lease of its own and no delegations) and of
// one with its indexes on the backends' own disks. Run with -update
// after a deliberate change.
func TestOneKernelGoldenNFSv4AndLocalIndex(t *testing.T) {
	lease := nfsv4Cluster()
	lease.Config.Server.LeaseTime = sim.Time(30 * time.Second)
	lease.Config.Server.Delegations = false
	lease.Config.Dovecot.DotlockUseExcl = false
	lease.Config.Dovecot.MailMaxLockTimeout = sim.Time(20 * time.Second)
	for name, c := range map[string]*Cluster{"nfs42": nfsv4Cluster(), "nfs42-lease30-nodeleg": lease, "local-index": localIndexCluster()} {
		t.Run(name, func(t *testing.T) {
			g, err := c.OneKernel(TraceFile)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(g, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", "one-kernel-random-"+name+".golden.json")
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

// TestDboxGuests: an sdbox or mdbox location has its mail generated as a
// Maildir in each home and converted by doveadm sync on the NFS server
// before anything else, in both topologies.
func TestDboxGuests(t *testing.T) {
	for _, format := range []string{"sdbox", "mdbox"} {
		c := smallCluster("random")
		c.Config.Dovecot.MailLocation = format + ":~/" + format
		g, err := c.OneKernel(TraceFile)
		if err != nil {
			t.Fatal(err)
		}
		if want := "mail_location = " + format + ":/mnt/b1/%d/%n/" + format + "\n"; !strings.Contains(guestFile(t, g, "/etc/dovecot/b1.conf"), want) {
			t.Errorf("b1.conf lacks %q", want)
		}
		conv := guestFile(t, g, convertConf)
		if want := "mail_location = " + format + ":/export/%d/%n/" + format + "\n"; !strings.Contains(conv, want) {
			t.Errorf("%s lacks %q:\n%s", convertConf, want, conv)
		}
		for _, md := range g.Server.Populate {
			if !strings.HasSuffix(md.Path, "/"+stagingDir) {
				t.Errorf("generated at %s", md.Path)
			}
		}
		cmds := guestCommands(g)
		var syncs int
		for i, cmd := range cmds {
			if strings.HasPrefix(cmd, "doveadm -c "+convertConf+" sync -u ") {
				syncs++
				if !strings.HasSuffix(cmd, "/"+stagingDir) || !strings.HasPrefix(cmds[i+1], "rm -rf /export/") {
					t.Errorf("%q then %q", cmd, cmds[i+1])
				}
			}
			if strings.HasPrefix(cmd, "rpc.nfsd") && (syncs != c.Config.Population.Users || !slices.Contains(cmds[:i], "doveadm -c "+convertConf+" stop")) {
				t.Errorf("nfsd starts after %d conversions of %d users, or before the conversion's Dovecot stops", syncs, c.Config.Population.Users)
			}
		}
		plan, err := c.Hosts(TraceFile)
		if err != nil {
			t.Fatal(err)
		}
		if cmds := guestCommands(plan.Server); !strings.HasPrefix(cmds[1], "doveadm -c "+convertConf+" sync -u ") || cmds[len(cmds)-1] == "" {
			t.Errorf("hosts server: %q", cmds)
		}
	}
}

func guestFile(t *testing.T, g *guest.Config, path string) string {
	t.Helper()
	for _, f := range g.Files {
		if f.Path == path {
			return f.Content
		}
	}
	t.Fatalf("no %s", path)
	return ""
}

func guestCommands(g *guest.Config) []string {
	var out []string
	for _, s := range g.Steps {
		if s.Command != nil {
			out = append(out, strings.Join(s.Command.Argv, " "))
		}
	}
	return out
}

// TestNFSv4Guests: under NFSv4 the server serves version 4, the lease and
// delegations follow the spec, every one-kernel backend is an NFSv4
// client of its own, and the hosts topology's backends wait for nfsd's
// version 4.
func TestNFSv4Guests(t *testing.T) {
	c := nfsv4Cluster()
	c.Config.Server.LeaseTime = sim.Time(30 * time.Second)
	c.Config.Server.Delegations = false
	g, err := c.OneKernel(TraceFile)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(g.Modules, "nfsv4") {
		t.Errorf("modules %v lack nfsv4", g.Modules)
	}
	cmds := strings.Join(guestCommands(g), "\n")
	for _, want := range []string{"echo 30 > /proc/fs/nfsd/nfsv4leasetime", "rpc.nfsd 8"} {
		if !strings.Contains(cmds, want) {
			t.Errorf("commands lack %q:\n%s", want, cmds)
		}
	}
	if strings.Contains(cmds, "--no-nfs-version 4") {
		t.Errorf("NFSv4 turned off:\n%s", cmds)
	}
	for _, kv := range []guest.KV{{Key: "/proc/sys/fs/leases-enable", Value: "0"}, v4Sysctls[0], v4Sysctls[1]} {
		if !slices.Contains(g.Sysctls, kv) {
			t.Errorf("sysctls %v lack %v", g.Sysctls, kv)
		}
	}
	var mounts []guest.Mount
	for _, s := range g.Steps {
		if s.Mount != nil {
			mounts = append(mounts, *s.Mount)
		}
	}
	want := []guest.Mount{
		{Source: "127.0.0.1:/export", Dir: "/mnt/b1", Options: mountOptions(&c.Config), Nodename: "b1"},
		{Source: "127.0.0.2:/export", Dir: "/mnt/b2", Options: mountOptions(&c.Config), Nodename: "b2"},
	}
	if !slices.Equal(mounts, want) {
		t.Errorf("mounts %+v, want %+v", mounts, want)
	}
	// The default lease is nfsd's own: not written.
	c = nfsv4Cluster()
	if g, err = c.OneKernel(TraceFile); err != nil {
		t.Fatal(err)
	}
	if cmds := strings.Join(guestCommands(g), "\n"); strings.Contains(cmds, "nfsv4leasetime") || slices.Contains(g.Sysctls, guest.KV{Key: "/proc/sys/fs/leases-enable", Value: "0"}) {
		t.Errorf("the default lease or delegations changed:\n%s\n%v", cmds, g.Sysctls)
	}
	plan, err := c.Hosts(TraceFile)
	if err != nil {
		t.Fatal(err)
	}
	if cmds := strings.Join(guestCommands(plan.Server), "\n"); !strings.Contains(cmds, "rpc.nfsd 8") || !slices.Contains(plan.Server.Modules, "nfsv4") {
		t.Errorf("hosts server: modules %v, commands:\n%s", plan.Server.Modules, cmds)
	}
	if len(plan.Server.Watch) == 0 || plan.Server.WatchInterval <= 0 {
		t.Errorf("hosts server watches nothing")
	}
	for _, b := range plan.Backends {
		if cmds := strings.Join(guestCommands(b), "\n"); !strings.Contains(cmds, "rpcinfo -t 10.255.0.2 100003 4") || !slices.Contains(b.Modules, "nfsv4") {
			t.Errorf("%s: modules %v, commands:\n%s", b.Hostname, b.Modules, cmds)
		}
		for _, s := range b.Steps {
			if s.Mount != nil && (s.Mount.Nodename != "" || !strings.HasPrefix(s.Mount.Options, "vers=4.2,")) {
				t.Errorf("%s: mount %+v", b.Hostname, *s.Mount)
			}
		}
	}
}

// TestLocalIndexGuests: an INDEX= under storage.local_paths is a directory
// of each backend's own, made for the mail's user, in both topologies.
func TestLocalIndexGuests(t *testing.T) {
	c := localIndexCluster()
	g, err := c.OneKernel(TraceFile)
	if err != nil {
		t.Fatal(err)
	}
	cmds := guestCommands(g)
	for _, b := range []string{"b1", "b2"} {
		conf := guestFile(t, g, "/etc/dovecot/"+b+".conf")
		if want := "mail_location = maildir:/mnt/" + b + "/%d/%n/Maildir:INDEX=/local/" + b + "/var/dovecot/index/%u\n"; !strings.Contains(conf, want) {
			t.Errorf("%s.conf lacks %q:\n%s", b, want, conf)
		}
		if want := "install -d -o 5000 -g 5000 /local/" + b + "/var/dovecot"; !slices.Contains(cmds, want) {
			t.Errorf("no %q in %q", want, cmds)
		}
	}
	plan, err := c.Hosts(TraceFile)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range plan.Backends {
		conf := guestFile(t, b, "/etc/dovecot/"+backendName(i)+".conf")
		if want := "mail_location = maildir:/mnt/" + backendName(i) + "/%d/%n/Maildir:INDEX=/var/dovecot/index/%u\n"; !strings.Contains(conf, want) {
			t.Errorf("%s.conf lacks %q:\n%s", backendName(i), want, conf)
		}
		if want := "install -d -o 5000 -g 5000 /var/dovecot"; !slices.Contains(guestCommands(b), want) {
			t.Errorf("%s: no %q", backendName(i), want)
		}
	}
}

func v4mountstats(dir string, ops map[string]int) string {
	var b strings.Builder
	b.WriteString("device 127.0.0.1:/export mounted on " + dir + " with fstype nfs4 statvers=1.1\n\topts:\trw,vers=4.2\n\tper-op statistics\n")
	for _, name := range []string{"NULL", "READ", "WRITE", "OPEN", "OPEN_NOATTR", "CLOSE", "LOCK", "LOCKU", "GETATTR", "LOOKUP", "DELEGRETURN", "SEQUENCE", "FREE_STATEID", "TEST_STATEID"} {
		b.WriteString("\t" + name + ": " + itoa(ops[name]) + " 0 0 0 0 0 0 0 0\n")
	}
	return b.String() + "\n"
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestRecordNFSv4 maps the NFSv4 client's procedures to the model's
// operations (LOCKU is UNLOCK, OPEN_NOATTR an OPEN, SEQUENCE and the
// like state), takes the calls from nfsd's COMPOUND count, counts the
// delegations held and the clients' slow commands.
func TestRecordNFSv4(t *testing.T) {
	c := nfsv4Cluster()
	work := t.TempDir()
	var h hist.Histogram
	h.Add(0.001)
	m := &imapload.Measurements{
		Warmup: 10 * time.Second, Duration: 60 * time.Second, Interval: 30 * time.Second,
		Latency:   map[string]hist.Histogram{"SELECT": h},
		Intervals: []imapload.Interval{{Start: 10 * time.Second}, {Start: 40 * time.Second}},
		Slow: []imapload.Slow{
			{User: "u", Backend: "b1", Command: "SELECT", Start: 5 * time.Second, Took: 3 * time.Second},   // warm-up
			{User: "u", Backend: "b1", Command: "SELECT", Start: 20 * time.Second, Took: 90 * time.Second}, // counted
			{User: "u", Backend: "b2", Command: "FETCH", Start: 30 * time.Second, Took: 2 * time.Second, Kind: "timeout"},
		},
		Events: []imapload.Event{{At: 110 * time.Second, Kind: imapload.EventCommandSlow, User: "u", Detail: "SELECT on b1 took 90.0 s from 20.0 s"}},
	}
	before := v4mountstats("/mnt/b1", map[string]int{"OPEN": 10, "LOCK": 5, "LOCKU": 5, "SEQUENCE": 100}) + v4mountstats("/mnt/b2", nil)
	after := v4mountstats("/mnt/b1", map[string]int{"OPEN": 40, "OPEN_NOATTR": 30, "CLOSE": 60, "LOCK": 65, "LOCKU": 65, "SEQUENCE": 160, "DELEGRETURN": 30, "GETATTR": 120}) +
		v4mountstats("/mnt/b2", map[string]int{"FREE_STATEID": 60, "LOOKUP": 60})
	res := &guest.Result{
		LoadStart:    time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC),
		Measurements: m,
		CountersBefore: []guest.KV{{Key: "nfsd", Value: "proc3 22 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\nproc4 2 1 1000\n"},
			{Key: "mountstats", Value: before}},
		CountersAfter: []guest.KV{{Key: "nfsd", Value: "proc3 22 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\nproc4 2 1 1600\n"},
			{Key: "mountstats", Value: after},
			{Key: "nfsd_states", Value: "==> /proc/fs/nfsd/clients/3/states <==\n- 0x1: { type: deleg, access: r }\n- 0x2: { type: open, access: rw }\n- 0x3: { type: deleg, access: r }\n"}},
	}
	r, err := Record(results.PlannedRun{ID: "p0-random-r0", Strategy: "random"}, c, res, work)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mt := range r.Metrics {
		got[mt.Name] = mt.Value
	}
	want := map[string]float64{
		"nfs.ops_per_s":             600 / 60.0,
		"nfs.OPEN_per_s":            60 / 60.0,
		"nfs.CLOSE_per_s":           1,
		"nfs.LOCK_per_s":            1,
		"nfs.UNLOCK_per_s":          1,
		"nfs.DELEGRETURN_per_s":     0.5,
		"nfs.GETATTR_per_s":         2,
		"nfs.LOOKUP_per_s":          1,
		"nfs.READDIRPLUS_per_s":     0,
		"nfs.v4_state_per_s":        120 / 60.0,
		"nfs.delegations_held":      2,
		"imap.slow_commands":        2,
		"imap.slow_command_seconds": 92,
	}
	for k, v := range want {
		if math.Abs(got[k]-v) > 1e-9 {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	vec := map[string][]float64{}
	for _, v := range r.Backends {
		vec[v.Name] = v.Values
	}
	if g := vec["backend.nfs.UNLOCK"]; !slices.Equal(g, []float64{60, 0}) {
		t.Errorf("backend.nfs.UNLOCK = %v, want [60 0]", g)
	}
	if g := vec["backend.nfs.OPEN"]; !slices.Equal(g, []float64{60, 0}) {
		t.Errorf("backend.nfs.OPEN = %v, want [60 0]", g)
	}
	if g := vec["backend.nfs_ops"]; !slices.Equal(g, []float64{60 + 60 + 60 + 60 + 30 + 120 + 60, 120}) {
		t.Errorf("backend.nfs_ops = %v", g)
	}
	var slow int
	for _, e := range r.Events {
		if e.Kind == "imap.slow" {
			slow++
		}
	}
	if slow != 1 {
		t.Errorf("%d imap.slow events, want 1", slow)
	}
	// NFSv3: the state metrics are NaN and LINK comes from nfsd.
	r, err = Record(results.PlannedRun{ID: "p0-random-r0", Strategy: "random"}, smallCluster("random"), &guest.Result{LoadStart: res.LoadStart, Measurements: m}, work)
	if err != nil {
		t.Fatal(err)
	}
	for _, mt := range r.Metrics {
		if (mt.Name == "nfs.v4_state_per_s" || mt.Name == "nfs.delegations_held") && !math.IsNaN(mt.Value) {
			t.Errorf("NFSv3: %s = %v, want NaN", mt.Name, mt.Value)
		}
	}
	// Measurements that did not look for slow commands say nothing
	// about them; an empty list is none.
	for _, slow := range [][]imapload.Slow{nil, {}} {
		m.Slow = slow
		r, err = Record(results.PlannedRun{ID: "p0-random-r0", Strategy: "random"}, c, res, work)
		if err != nil {
			t.Fatal(err)
		}
		for _, mt := range r.Metrics {
			if mt.Name == "imap.slow_commands" && (slow == nil) != math.IsNaN(mt.Value) {
				t.Errorf("slow commands %v: %s = %v", slow, mt.Name, mt.Value)
			}
		}
	}
}
