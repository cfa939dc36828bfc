package testbed

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mailsim/mailsim/model"
	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/strategies"
	"github.com/mailsim/mailsim/workloads"
	"github.com/mailsim/mailsim/workloads/imapload"
	"github.com/mailsim/mailsim/workloads/testbed/guest"
)

// Password is every testbed user's password.
const Password = "testbed"

// MailUID owns the mail on the export and runs the imap processes
// (Dovecot mail_uid and mail_gid).
const MailUID = 5000

// Cluster is one run of a spec on the testbed: the model's configuration
// (the same one a simulated run of the spec gets), the routing strategy and
// its parameters, and the workload.
type Cluster struct {
	// Config is the spec's model configuration: mount options, Dovecot
	// settings, population, faults, durations.
	Config model.Config
	// Strategy is the routing strategy's name.
	Strategy string
	// Params are the strategy's parameters (vhost count, director user
	// expiry, owner failover).
	Params strategies.Params
	// Monitor is the spec's health.monitor: the testbed runs HAProxy's
	// server checks in front of balancers and owner proxies and no monitor
	// beside the director, and refuses any other.
	Monitor string
	// VhostCount is the director's vhost count per backend (Dovecot's
	// doveadm director add HOST VHOSTS; 100 by default).
	VhostCount int
	// Vhosts, when set, gives each backend's own vhost count (as
	// cluster.backend_addresses may); a 0 takes VhostCount.
	Vhosts []int
	// Backends are the backends' addresses, as the simulated run gives
	// them, so that a director's ring places users the same way.
	Backends []netip.Addr
	// Seed is the run's seed; the population is generated from it.
	Seed uint64
	// Trace is the run's workload (a mailsim trace).
	Trace []byte
	// SampleInterval is the period of the time series.
	SampleInterval time.Duration
}

// Addresses inside the guest (one-kernel topology): the backends listen on
// their own addresses, the entry point (HAProxy, director or nothing) on
// EntryAddr, and clients connect from their devices' addresses. All of
// them are local routes on the guest's loopback, so nothing leaves the
// guest. The hosts topology keeps the same addresses on its guests'
// network interfaces (see Hosts).
var (
	// EntryAddr is where clients and MX hosts connect: in hosts, the
	// entry guest's address.
	EntryAddr = netip.MustParseAddr("10.255.0.1")
	// localRanges are routed to the loopback inside the guest so that any
	// address in them can be bound: backends (10.0.0.0/8 as
	// experiments.BackendAddrs gives them) and the clients' ranges.
	localRanges = append([]string{"10.0.0.0/8"}, clientRanges...)
	// clientRanges are the devices' addresses as workloads.Generate draws
	// them: desktop addresses (100.64.0.0/10), carrier NAT pools
	// (198.51.100.0/24) and webmail front ends (192.0.2.0/24); and the
	// benchmarking block (198.18.0.0/15, RFC 2544) of the imaptest load
	// generator's address, LoadGeneratorAddr.
	clientRanges = []string{"100.64.0.0/10", "198.51.100.0/24", "192.0.2.0/24", "198.18.0.0/15"}
	// LoadGeneratorAddr is the address every imaptest client connects
	// from, as in the model: one load-generating host.
	LoadGeneratorAddr = netip.MustParseAddr("198.18.0.1")
)

// Limits of what the testbed can honour: a guest runs every backend's
// processes on one emulated CPU.
const (
	MaxUsers    = 200
	MaxBackends = 8
	MaxDuration = 30 * time.Minute
	MaxMessages = 2000
	// MaxImaptestClients bounds workload.imaptest.clients: each client
	// holds a login process on the proxy and an imap process on a
	// backend, within Dovecot's process limits (default_process_limit
	// 1000 in the guests' configuration).
	MaxImaptestClients = 500
)

// Check lists what in a cluster the testbed cannot honour, naming the
// spec key of each.
func (c *Cluster) Check() []string {
	cfg := &c.Config
	var errs []string
	bad := func(key, format string, a ...any) {
		errs = append(errs, key+": "+fmt.Sprintf(format, a...))
	}
	if cfg.Population.Users > MaxUsers {
		bad("workload.users", "%d users; the testbed holds at most %d (it runs real Dovecot processes in one emulated machine)", cfg.Population.Users, MaxUsers)
	}
	if cfg.Backends > MaxBackends {
		bad("cluster.backends", "%d backends; the testbed runs at most %d", cfg.Backends, MaxBackends)
	}
	if d := time.Duration(cfg.Warmup + cfg.Duration); d > MaxDuration {
		bad("run.duration", "warm-up and duration add up to %v; the testbed runs at most %v of real time", d, MaxDuration)
	}
	if cfg.Population.MaxFolderMessages > MaxMessages && cfg.Population.Users <= MaxUsers {
		if u, f, n := c.largestFolder(); n > MaxMessages {
			bad("workload.max_folder_messages", "%d; user %s's folder %d would hold %d messages, and the testbed creates every message for real, at most %d per folder", cfg.Population.MaxFolderMessages, u, f, n, MaxMessages)
		}
	}
	if n := cfg.Imaptest.Clients; n > MaxImaptestClients {
		bad("workload.imaptest.clients", "%d; the testbed runs at most %d imaptest clients (each holds a Dovecot login process and an imap process)", n, MaxImaptestClients)
	}
	if cfg.Population.MessageBytesMean > 1<<20 {
		bad("workload.message_bytes_mean", "%.0f bytes; the testbed generates messages of at most 1 MiB", cfg.Population.MessageBytesMean)
	}
	if len(cfg.Profile.Diurnal) > 0 {
		bad("workload.diurnal", "a daily cycle cannot be replayed in the testbed's minutes")
	}
	def := model.DefaultConfig()
	if cfg.MailIndexLogRotateMinSize != def.MailIndexLogRotateMinSize || cfg.MailIndexLogRotateMaxSize != def.MailIndexLogRotateMaxSize ||
		cfg.MailIndexLogRotateMinAge != def.MailIndexLogRotateMinAge || cfg.MailIndexRewriteMinLogBytes != def.MailIndexRewriteMinLogBytes ||
		cfg.MailIndexRewriteMaxLogBytes != def.MailIndexRewriteMaxLogBytes {
		bad("dovecot.mail_index_*", "Dovecot 2.3 has these thresholds built in; the testbed runs them at their defaults only")
	}
	if cfg.ClockSkew != 0 {
		bad("cluster.clock_skew", "the guests share one clock")
	}
	if cfg.Listing.Entries > 0 {
		bad("probe.listing_entries", "the listing probe is not run on the testbed")
	}
	if cfg.ProcessLimit > 0 && cfg.ProcessLimit < 4 {
		bad("cluster.process_limit", "%d; Dovecot needs a few processes to start", cfg.ProcessLimit)
	}
	for i, f := range cfg.Faults {
		switch f.Kind {
		case model.Crash, model.Hang, model.Recover:
		default:
			bad(fmt.Sprintf("faults[%d].kind", i), "%s faults cannot be made real on the testbed (crash, hang and recover can)", f.Kind)
		}
	}
	switch c.Strategy {
	case "random", "per-ip", "director", "owner-proxy":
	default:
		bad("strategies", "%s has no real counterpart on the testbed (random and per-ip run on HAProxy, director on Dovecot's director, owner-proxy on Dovecot proxies)", c.Strategy)
	}
	if want := map[bool]string{true: "none", false: "haproxy"}[c.Strategy == "director"]; c.Monitor != "" && c.Monitor != "auto" && c.Monitor != want {
		bad("health.monitor", "%s cannot run on the testbed beside the %s; it runs %s there (\"auto\")", c.Monitor, c.Strategy, want)
	}
	if cfg.LMTPToAnyBackend && c.Strategy == "director" {
		bad("cluster.lmtp_routing", "balancer: the testbed's director guest has no separate LMTP balancer")
	}
	for k, d := range cfg.Clients.Retry {
		if d <= 0 {
			bad("clients."+workloads.DeviceKind(k).String()+"_retry", "0 s: a real client that retries at once would flood the proxy; give a delay")
		}
	}
	if time.Duration(cfg.Clients.LoginProxyReconnectInterval) != time.Second {
		// login-common/login-proxy.c: PROXY_CONNECT_RETRY_MSECS 1000.
		bad("clients.login_proxy_reconnect_interval", "%v; Dovecot 2.3 reconnects a proxied login every second, without a setting", time.Duration(cfg.Clients.LoginProxyReconnectInterval))
	}
	if c.Strategy == "owner-proxy" && len(cfg.Faults) > 0 && c.Params.Owner.Failover == strategies.FailoverStandby {
		bad("health.owner_failover", "standby needs a tool that rewrites the user database when an owner is down; the testbed's passdb is static (set it to \"none\")")
	}
	if c.Strategy == "director" {
		if n := c.Params.Director.Directors; n > 1 {
			bad("dovecot.directors", "%d; the testbed runs one director", n)
		}
		if d := c.Params.Director.SyncDelay; d != 0 {
			bad("dovecot.director_ring_sync_delay", "%v; the testbed's lone director syncs its ring with itself, taking what it takes", d)
		}
	}
	for i, a := range cfg.Actions {
		if a.Backend < 0 || a.Backend >= len(c.Backends) {
			bad(fmt.Sprintf("actions[%d].do", i), "%q names backend %d of %d", a.Text, a.Backend, len(c.Backends))
			continue
		}
		switch a.Kind {
		case model.DirectorUp, model.DirectorDown:
			if c.Strategy != "director" {
				bad(fmt.Sprintf("actions[%d].do", i), "%q: the testbed's %s has no operator's command to mark a host up or down (the director has, doveadm director up and down)", a.Text, c.Strategy)
			}
		case model.DirectorFlush, model.DirectorFlushForce, model.DirectorRemove, model.DirectorAdd, model.DirectorVhost,
			model.BackendStop, model.BackendStart:
		default:
			bad(fmt.Sprintf("actions[%d].do", i), "%q cannot be made real on the testbed", a.Text)
		}
	}
	errs = append(errs, checkNFS(cfg)...)
	_, lerrs := parseLayout(cfg)
	return append(errs, lerrs...)
}

// largestFolder returns the largest folder of the cluster's population:
// its user, its index (0 is INBOX) and its message count.
func (c *Cluster) largestFolder() (user string, folder, n int) {
	_ = workloads.GenerateEach(c.Config.Population, c.Seed, func(_ int, u *workloads.User, _ []workloads.Device) {
		for f, mb := range u.Mailboxes {
			if int(mb.Messages) > n {
				user, folder, n = u.Name, f, int(mb.Messages)
			}
		}
	})
	return user, folder, n
}

// backendName is the name of backend i in logs and metrics.
func backendName(i int) string { return "b" + strconv.Itoa(i+1) }

// mountOptions renders the model's mount as nfs(5) options, with the
// spec's NFS version (nfs.client.vers). Every backend mount gets
// nosharecache so that two mounts of the same export in one kernel keep
// separate caches, as two hosts would. nocto and local_lock are options of
// NFS versions 2 and 3 only (nfs(5)); Check refuses them under NFSv4.
func mountOptions(cfg *model.Config) string {
	m := cfg.Mount
	secs := func(t sim.Time) string { return strconv.FormatInt(int64(time.Duration(t)/time.Second), 10) }
	o := []string{"vers=" + string(vers(cfg)), "proto=tcp", "nosharecache", "hard"}
	if m.Noac {
		o = append(o, "noac")
	} else {
		o = append(o, "acregmin="+secs(m.Acregmin), "acregmax="+secs(m.Acregmax), "acdirmin="+secs(m.Acdirmin), "acdirmax="+secs(m.Acdirmax))
	}
	o = append(o, "lookupcache="+string(m.Lookupcache))
	if m.Nocto && !vers(cfg).V4() {
		o = append(o, "nocto")
	}
	if m.Nordirplus {
		o = append(o, "nordirplus")
	}
	if m.LocalLock && !vers(cfg).V4() {
		o = append(o, "local_lock=all")
	}
	o = append(o, "rsize="+strconv.FormatInt(m.Rsize, 10), "wsize="+strconv.FormatInt(m.Rsize, 10))
	return strings.Join(o, ",")
}

// vers is the NFS version the backends mount (nfs.client.vers; 3 when
// unset).
func vers(cfg *model.Config) nfsmodel.Vers {
	if cfg.Mount.Vers == "" {
		return nfsmodel.V3
	}
	return cfg.Mount.Vers
}

// defaultLease is Linux nfsd's NFSv4 lease (fs/nfsd/netns.h, 90 s);
// /proc/fs/nfsd/nfsv4leasetime takes whole seconds from 10 to 3600
// (fs/nfsd/nfsctl.c, nfsd4_write_time).
const (
	defaultLease = 90 * time.Second
	minLease     = 10 * time.Second
	maxLease     = time.Hour
)

// checkNFS refuses the storage and NFS keys the testbed cannot honour:
// storage other than NFS, options NFSv4 has not, lease times nfsd cannot
// take, lock timeouts Dovecot cannot take.
func checkNFS(cfg *model.Config) []string {
	var errs []string
	bad := func(key, format string, a ...any) {
		errs = append(errs, key+": "+fmt.Sprintf(format, a...))
	}
	if k := cfg.Storage; k != "" && k != nfsmodel.KindNFS {
		bad("storage.kind", "%q; the testbed keeps the mail on the Linux kernel NFS server only (storage.kind = \"nfs\"): it has no cluster file system, FUSE file system or single local server", k)
		return errs
	}
	v := vers(cfg)
	if !v.Valid() {
		bad("nfs.client.vers", "%q is not one of 3, 4.0, 4.1, 4.2", v)
	}
	if v.V4() {
		if cfg.Mount.Nocto {
			bad("nfs.client.nocto", "nfs(5) lists nocto among the options of NFS versions 2 and 3 only; under vers=%s every open is an OPEN call", v)
		}
		if cfg.Mount.LocalLock {
			bad("nfs.client.local_lock", "nfs(5) lists local_lock among the options of NFS versions 2 and 3 only; under vers=%s every lock goes to the server", v)
		}
		if l := time.Duration(cfg.Server.LeaseTime); l != defaultLease && (l%time.Second != 0 || l < minLease || l > maxLease) {
			bad("nfs.lease_time", "%v; Linux nfsd takes whole seconds from %v to %v (/proc/fs/nfsd/nfsv4leasetime)", l, minLease, maxLease)
		}
	}
	if t := time.Duration(cfg.Dovecot.MailMaxLockTimeout); t%time.Second != 0 {
		bad("dovecot.mail_max_lock_timeout", "%v; Dovecot 2.3 takes whole seconds", t)
	}
	return errs
}

// checkMountTimes refuses attribute-cache times the kernel cannot take:
// nfs(5) takes whole seconds.
func checkMountTimes(cfg *model.Config) []string {
	var errs []string
	m := cfg.Mount
	for _, x := range []struct {
		key string
		t   sim.Time
	}{{"nfs.client.acregmin", m.Acregmin}, {"nfs.client.acregmax", m.Acregmax}, {"nfs.client.acdirmin", m.Acdirmin}, {"nfs.client.acdirmax", m.Acdirmax}} {
		if time.Duration(x.t)%time.Second != 0 {
			errs = append(errs, fmt.Sprintf("%s: %v; nfs(5) takes whole seconds", x.key, time.Duration(x.t)))
		}
	}
	return errs
}

// dovecotConf is a backend's (or a proxy's) dovecot.conf.
type dovecotConf struct {
	name     string
	listen   netip.Addr
	mailRoot string
	// mailLocation is the backend's mail_location, rendered from the
	// spec's (see mailLayout.render).
	mailLocation string
	passdb       string
	settings     []string
	director     bool
	lmtpProxy    bool
	// fastLogin runs the login processes in Dovecot's high-performance
	// mode (service_count = 0: a process serves many connections)
	// rather than its default high-security mode (a new process for
	// each connection).
	fastLogin bool
}

func (d dovecotConf) String() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("# %s: written by mailsim testbed", d.name)
	w("instance_name = dovecot-%s", d.name)
	w("base_dir = /run/dovecot-%s", d.name)
	w("state_dir = /var/lib/dovecot-%s", d.name)
	w("listen = %s", d.listen)
	w("protocols = imap lmtp")
	w("ssl = no")
	w("disable_plaintext_auth = no")
	w("auth_mechanisms = plain login")
	w("log_path = /var/log/mailsim/%s.log", d.name)
	w("log_timestamp = \"%%Y-%%m-%%d %%H:%%M:%%S.%%{usecs} \"")
	w("login_trusted_networks = 10.0.0.0/8 %s 127.0.0.0/8", strings.Join(clientRanges, " "))
	w("mail_max_userip_connections = 1000")
	w("default_process_limit = 1000")
	w("default_client_limit = 4000")
	w("default_vsz_limit = 0")
	w("imap_id_send = x-backend %s", d.name)
	if d.mailRoot != "" {
		w("mail_location = %s", d.mailLocation)
		w("mail_uid = %d", MailUID)
		w("mail_gid = %d", MailUID)
		w("first_valid_uid = %d", MailUID)
		w("userdb {\n  driver = static\n  args = uid=%d gid=%d home=%s/%%d/%%n\n}", MailUID, MailUID, d.mailRoot)
	}
	for _, s := range d.settings {
		w("%s", s)
	}
	w("%s", d.passdb)
	var login string
	if d.director {
		login += "\n  executable = imap-login director"
	}
	if d.fastLogin {
		// Dovecot's login process documentation: service_count = 0,
		// process_min_avail = the CPU cores (one in a guest).
		login += "\n  service_count = 0\n  process_min_avail = 1"
	}
	w("service imap-login {\n  inet_listener imap {\n    port = 143\n  }\n  inet_listener imaps {\n    port = 0\n  }%s\n}", login)
	w("service lmtp {\n  inet_listener lmtp {\n    port = 24\n  }\n}")
	if d.lmtpProxy {
		w("lmtp_proxy = yes")
	}
	if d.director {
		w("service director {\n  unix_listener login/director {\n    mode = 0666\n  }\n  fifo_listener login/proxy-notify {\n    mode = 0666\n  }\n  unix_listener director-userdb {\n    mode = 0600\n  }\n  inet_listener {\n    port = 9090\n  }\n}")
		w("protocol lmtp {\n  auth_socket_path = director-userdb\n}")
	}
	return b.String()
}

// fastLogin reports whether the cluster's Dovecot login processes run in
// high-performance mode, as the spec's dovecot.login_service_count = 0
// asks. The imaptest drills ask for it: their closed loop makes logins
// the bottleneck, and a user-mode guest spends about a tenth of a second
// of its one CPU to start a login process, which high-security mode does
// for every connection, on the proxy and again on the backend. The
// routing, the proxying and its reconnects are the same in both modes;
// only a high-performance login process counts a failing backend as down
// (proxy_host_immediate_failure_after).
func (c *Cluster) fastLogin() bool { return c.Config.LoginServiceCount == 0 }

// backendSettings are the spec's Dovecot settings as dovecot.conf lines,
// for a backend whose mail is laid out as lay says, with its own disk's
// paths under localRoot.
func backendSettings(cfg *model.Config, lay mailLayout, localRoot string) []string {
	d := cfg.Dovecot
	yn := func(v bool) string { return map[bool]string{true: "yes", false: "no"}[v] }
	s := []string{
		"mail_nfs_storage = " + yn(d.MailNFSStorage),
		"mail_nfs_index = " + yn(d.MailNFSIndex),
		"mmap_disable = " + yn(d.MmapDisable),
		"mail_fsync = " + d.MailFsync,
		"lock_method = " + d.LockMethod,
		fmt.Sprintf("mailbox_idle_check_interval = %d secs", max(1, int64(time.Duration(cfg.Profile.IdleCheckInterval)/time.Second))),
	}
	// Settings away from Dovecot 2.3's defaults (dotlock_use_excl yes,
	// mail_max_lock_timeout 0).
	if !d.DotlockUseExcl {
		s = append(s, "dotlock_use_excl = no")
	}
	if t := time.Duration(d.MailMaxLockTimeout); t > 0 {
		s = append(s, fmt.Sprintf("mail_max_lock_timeout = %d secs", int64(t/time.Second)))
	}
	if !d.LMTPIndexUpdate {
		s = append(s, "protocol lmtp {\n  mail_location = "+lay.lmtpNoIndex(localRoot)+"\n}")
	}
	if cfg.ProcessLimit > 0 {
		s = append(s, fmt.Sprintf("service imap {\n  process_limit = %d\n}", cfg.ProcessLimit))
	}
	return s
}

// proxySettings are a login proxy's settings that the spec sets away from
// Dovecot's defaults (login_proxy_timeout 30 s, login_proxy_max_reconnects
// 3).
func proxySettings(cfg *model.Config) []string {
	var s []string
	if t := time.Duration(cfg.Clients.LoginProxyTimeout); t != 30*time.Second {
		s = append(s, fmt.Sprintf("login_proxy_timeout = %d msecs", t.Milliseconds()))
	}
	if n := cfg.Clients.LoginProxyMaxReconnects; n != 3 {
		s = append(s, fmt.Sprintf("login_proxy_max_reconnects = %d", n))
	}
	return s
}

// folders returns the IMAP names of a user's folders.
func folders(n int) []string {
	out := []string{"INBOX"}
	for i := 1; i <= n; i++ {
		out = append(out, fmt.Sprintf("f%d", i))
	}
	return out
}

// ownerMap returns, per user, the owner backend the owner proxy's user
// database names.
func (c *Cluster) ownerMap(users []string) ([]int, error) {
	bs := make([]strategies.Backend, len(c.Backends))
	for i, a := range c.Backends {
		bs[i] = strategies.Backend{Addr: a, Weight: 1}
	}
	r, err := strategies.New("owner-proxy", bs, c.Params, sim.Source(c.Seed, "testbed/owner"))
	if err != nil {
		return nil, err
	}
	o, ok := r.(*strategies.OwnerProxy)
	if !ok {
		return nil, fmt.Errorf("testbed: owner-proxy router is a %T", r)
	}
	out := make([]int, len(users))
	for i, u := range users {
		out[i] = o.Owner(strategies.UserHash(u))
	}
	return out, nil
}

// OneKernel returns the guest configuration of the one-kernel topology:
// one user-mode kernel runs the NFS server, one NFS mount per backend
// (nosharecache, so each has its own attribute and data caches), one
// Dovecot instance per backend on its own mount, the strategy's proxy and
// the load. The trace is in the shared folder under traceFile.
func (c *Cluster) OneKernel(traceFile string) (*guest.Config, error) {
	if errs := c.CheckTopology(OneKernel); len(errs) > 0 {
		return nil, refuse(errs)
	}
	p, err := c.prepare()
	if err != nil {
		return nil, err
	}
	cfg := &c.Config
	g := nfsServerGuest(serverFor(cfg, "127.0.0.0/8", localRanges))
	g.Server.Populate = p.maildirs
	p.convert(g)
	opts := mountOptions(cfg)
	for i := range cfg.Backends {
		m := &guest.Mount{Source: "127.0.0.1:" + g.Server.Export, Dir: "/mnt/" + backendName(i), Options: opts}
		if vers(cfg).V4() {
			// One kernel keeps one NFSv4 client (one client ID, one
			// lease) per server address and node name, whatever
			// nosharecache says: the backends would be one client to
			// the server, which never recalls a client's delegation
			// for that same client's opens, so a backend would keep
			// trusting its cached pages under a delegation while
			// another wrote the file. Each backend mounts another
			// loopback address of the server (127.0.0.N) under its
			// own node name, and so is a client of its own, with its
			// own lease, as separate hosts are.
			m.Source = oneKernelServerAddr(i) + ":" + g.Server.Export
			m.Nodename = backendName(i)
		}
		g.Steps = append(g.Steps, guest.Step{Mount: m})
	}
	if !cfg.Mount.LocalLock {
		for i := range cfg.Backends {
			g.Steps = append(g.Steps, guest.Step{LockCheck: "/mnt/" + backendName(i)})
		}
	}
	for i := range cfg.Backends {
		c.addBackend(g, i, p.owners != nil, oneKernelLocalRoot(i))
	}
	if p.owners != nil {
		g.Files = append(g.Files, c.ownersFile(p))
	}
	c.addEntry(g)
	g.Counters = []guest.KV{{Key: "nfsd", Value: "/proc/net/rpc/nfsd"}, {Key: "mountstats", Value: "/proc/self/mountstats"},
		{Key: "stat", Value: "/proc/stat"}, {Key: "self", Value: "/proc/self/stat"}}
	if vers(cfg).V4() {
		addV4Watch(g, 10*time.Second)
	}
	g.Load = c.load(p, traceFile)
	g.Faults = c.timeline()
	return g, nil
}

// oneKernelServerAddr is the NFS server's address backend i mounts in
// the one-kernel topology under NFSv4: 127.0.0.1, 127.0.0.2, ... (the
// loopback answers on all of 127.0.0.0/8).
func oneKernelServerAddr(i int) string { return "127.0.0." + strconv.Itoa(i+1) }

// refuse is the error of a cluster the testbed cannot run.
func refuse(errs []string) error {
	return fmt.Errorf("testbed: the spec asks for what the testbed cannot do:\n  %s", strings.Join(errs, "\n  "))
}

// CheckTopology lists what in a cluster the testbed cannot honour in the
// given topology, naming the spec key of each: [Cluster.Check], the mount
// options the kernel cannot take, and what the topology itself cannot do.
func (c *Cluster) CheckTopology(topology string) []string {
	errs := append(c.Check(), checkMountTimes(&c.Config)...)
	if topology == Hosts {
		errs = append(errs, c.checkHosts()...)
	}
	return errs
}

// prepared is what every topology derives from a cluster before it
// places it on guests: the users, their Maildirs and, for the owner
// proxy, their owners.
type prepared struct {
	site     *workloads.Site
	users    []string
	maildirs []guest.Maildir
	// layout is the mail's layout (dovecot.mail_location).
	layout mailLayout
	// owners gives each user's owner backend (owner-proxy only).
	owners []int
}

// prepare generates the cluster's population from its seed.
func (c *Cluster) prepare() (*prepared, error) {
	cfg := &c.Config
	site, err := workloads.Generate(cfg.Population, c.Seed)
	if err != nil {
		return nil, err
	}
	lay, errs := parseLayout(cfg)
	if len(errs) > 0 {
		return nil, refuse(errs)
	}
	p := &prepared{site: site, layout: lay}
	for _, u := range site.Users {
		md := guest.Maildir{Path: lay.maildirPath(u.Name), Bytes: int(min(cfg.Population.MessageBytesMean, 1<<20))}
		for _, mb := range u.Mailboxes {
			md.Folders = append(md.Folders, int(mb.Messages))
		}
		p.maildirs = append(p.maildirs, md)
		p.users = append(p.users, u.Name)
	}
	if c.Strategy == "owner-proxy" {
		if p.owners, err = c.ownerMap(p.users); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// convert makes the NFS server's guest g convert the generated Maildirs
// into the mail_location's dbox format before anything else it does (in
// the hosts topology, before its nfsd answers the backends), keeping
// the conversion's log.
func (p *prepared) convert(g *guest.Config) {
	files, steps := p.layout.conversion(g.Server.Export, p.users)
	if len(steps) == 0 {
		return
	}
	g.Files = append(g.Files, files...)
	g.Steps = append(steps, g.Steps...)
	g.Logs = append(g.Logs, guest.KV{Key: "/var/log/mailsim/convert.log", Value: "convert.log"})
}

// serviceStep is a service step whose output goes to
// /var/log/mailsim/NAME.out.
// rpcbindReady is where rpcbind answers once it is ready. rpc.nfsd,
// rpc.statd and rpc.mountd register with it, and rpc.nfsd fails with
// "writing fd to kernel failed: errno 111 (Connection refused)" when it
// runs before rpcbind listens, which a loaded host makes likely.
const rpcbindReady = "127.0.0.1:111"

func serviceStep(name, ready string, argv ...string) guest.Step {
	return guest.Step{Service: &guest.Service{Name: name, Argv: argv, Ready: ready, Log: "/var/log/mailsim/" + name + ".out"}}
}

// addBackend adds backend i's Dovecot to g: its configuration, serving
// the mail of its mount /mnt/bI+1, its service and its log. Paths of
// storage.local_paths are under localRoot on the guest ("" when the
// backend has a machine of its own). With owned, its passdb proxies each
// user to the owner the owners file names (Dovecot's proxy_maybe).
func (c *Cluster) addBackend(g *guest.Config, i int, owned bool, localRoot string) {
	name := backendName(i)
	lay, _ := parseLayout(&c.Config)
	root := "/mnt/" + name
	d := dovecotConf{name: name, listen: c.Backends[i], mailRoot: root, mailLocation: lay.render(root, localRoot),
		settings: backendSettings(&c.Config, lay, localRoot), fastLogin: c.fastLogin()}
	// The directories on the backend's own disk that the mail_location
	// puts index or control files under, owned by the mail's user.
	for _, dir := range lay.localDirs(localRoot) {
		g.Steps = append(g.Steps, guest.Step{Command: &guest.Command{Argv: []string{"install", "-d", "-o", strconv.Itoa(MailUID), "-g", strconv.Itoa(MailUID), dir}}})
	}
	d.passdb = fmt.Sprintf("passdb {\n  driver = static\n  args = password=%s\n}", Password)
	if owned {
		// Dovecot's proxy_maybe: serve the user here when this is
		// the owner, proxy to the owner otherwise.
		d.passdb = "passdb {\n  driver = passwd-file\n  args = /etc/dovecot/owners.passwd\n}"
		d.lmtpProxy = true
		d.settings = append(d.settings, proxySettings(&c.Config)...)
	}
	g.Files = append(g.Files, guest.File{Path: "/etc/dovecot/" + name + ".conf", Mode: 0o644, Content: d.String()})
	g.Steps = append(g.Steps, serviceStep(name, netip.AddrPortFrom(c.Backends[i], 143).String(), "dovecot", "-F", "-c", "/etc/dovecot/"+name+".conf"))
	g.Logs = append(g.Logs, guest.KV{Key: "/var/log/mailsim/" + name + ".log", Value: name + ".log"})
}

// ownersFile is the owner proxy's passdb: every user with its owner.
func (c *Cluster) ownersFile(p *prepared) guest.File {
	var b strings.Builder
	for i, u := range p.users {
		fmt.Fprintf(&b, "%s:{PLAIN}%s::::::proxy_maybe=y host=%s\n", u, Password, c.Backends[p.owners[i]])
	}
	return guest.File{Path: "/etc/dovecot/owners.passwd", Mode: 0o644, Content: b.String()}
}

// addEntry adds the strategy's entry point on EntryAddr to g: HAProxy
// (random, per-ip, and in front of the owner proxies) or Dovecot's
// director.
func (c *Cluster) addEntry(g *guest.Config) {
	entry := netip.AddrPortFrom(EntryAddr, 143).String()
	switch c.Strategy {
	case "random", "per-ip", "owner-proxy":
		balance := map[string]string{"random": "random", "per-ip": "source", "owner-proxy": "random"}[c.Strategy]
		lmtp := balance
		if c.Config.LMTPToAnyBackend {
			// cluster.lmtp_routing = "balancer": any backend.
			lmtp = "random"
		}
		g.Files = append(g.Files, guest.File{Path: "/etc/haproxy/mailsim.cfg", Mode: 0o644, Content: haproxyConf(balance, lmtp, c.Backends)})
		g.Steps = append(g.Steps, serviceStep("haproxy", entry, "haproxy", "-db", "-f", "/etc/haproxy/mailsim.cfg"))
	case "director":
		d := dovecotConf{name: "director", listen: EntryAddr, director: true, lmtpProxy: true, fastLogin: c.fastLogin()}
		d.passdb = "passdb {\n  driver = static\n  args = proxy=y nopassword=y\n}"
		var hosts []string
		for _, a := range c.Backends {
			hosts = append(hosts, a.String())
		}
		dp := c.Params.Director
		d.settings = []string{
			"director_servers = " + EntryAddr.String(),
			"director_mail_servers = " + strings.Join(hosts, " "),
			fmt.Sprintf("director_user_expire = %d secs", int64(dp.UserExpire/time.Second)),
		}
		// director_user_kick_delay and director_max_parallel_moves, when
		// the spec sets them away from Dovecot 2.3's defaults (2 s and
		// 100, director-settings.c).
		switch kd := dp.UserKickDelay; {
		case kd == strategies.NoKickDelay:
			d.settings = append(d.settings, "director_user_kick_delay = 0")
		case kd > 0 && kd != 2*time.Second:
			d.settings = append(d.settings, fmt.Sprintf("director_user_kick_delay = %d msecs", kd.Milliseconds()))
		}
		if n := dp.MaxParallelMoves; n > 0 && n != 100 {
			d.settings = append(d.settings, fmt.Sprintf("director_max_parallel_moves = %d", n))
		}
		d.settings = append(d.settings, proxySettings(&c.Config)...)
		g.Files = append(g.Files, guest.File{Path: directorConf, Mode: 0o644, Content: d.String()})
		g.Steps = append(g.Steps, serviceStep("director", entry, "dovecot", "-F", "-c", directorConf))
		g.Logs = append(g.Logs, guest.KV{Key: "/var/log/mailsim/director.log", Value: "director.log"})
		for i, a := range c.Backends {
			if v := c.vhosts(i); v != strategies.DefaultVhostCount {
				g.Steps = append(g.Steps, guest.Step{Command: &guest.Command{Argv: []string{"doveadm", "-c", directorConf, "director", "add", a.String(), strconv.Itoa(v)}, Retry: 5}})
			}
		}
	}
	g.Logs = append(g.Logs, guest.KV{Key: "/var/log/mailsim/haproxy.out", Value: "haproxy.out"})
}

// vhosts returns backend i's vhost count in the director's ring.
func (c *Cluster) vhosts(i int) int {
	if i < len(c.Vhosts) && c.Vhosts[i] > 0 {
		return c.Vhosts[i]
	}
	return c.VhostCount
}

// load is the load of the cluster's trace (traceFile in the load guest's
// shared folder) against the entry point, each device connecting from its
// own address; or, with an imaptest load, imaptest's clients, all from
// LoadGeneratorAddr. Beside a director, the load guest samples the
// director's user table at the end of every interval.
func (c *Cluster) load(p *prepared, traceFile string) *guest.Load {
	cfg := &c.Config
	l := &guest.Load{Trace: traceFile, Config: imapload.Config{
		IMAP: netip.AddrPortFrom(EntryAddr, 143).String(), LMTP: netip.AddrPortFrom(EntryAddr, 24).String(),
		Password: Password, Folders: folders(cfg.Population.Folders), Domain: cfg.Population.Domain,
		Warmup: time.Duration(cfg.Warmup), Duration: time.Duration(cfg.Duration), Interval: c.SampleInterval,
		Timeout: time.Duration(cfg.Clients.Timeout),
	}}
	if c.Strategy == "director" {
		l.Sample = &guest.Sample{Socket: directorAdmin, Request: directorHostList, Start: time.Duration(cfg.Warmup), Interval: c.SampleInterval}
	}
	if cfg.Imaptest.Clients > 0 {
		l.Imaptest = &imapload.Imaptest{Load: cfg.Imaptest, Seed: c.Seed,
			MessageBytes: int(min(cfg.Population.MessageBytesMean, 1<<20)), Source: LoadGeneratorAddr.String()}
		return l
	}
	for _, d := range p.site.Devices {
		l.Sources = append(l.Sources, d.IP.String())
	}
	l.RetryByKind = map[string]time.Duration{}
	for k, d := range cfg.Clients.Retry {
		l.RetryByKind[workloads.DeviceKind(k).String()] = time.Duration(d)
	}
	return l
}

// faults are the spec's faults on the backends, at offsets from the
// load's start (warm-up included), in time order.
func (c *Cluster) faults() []guest.Fault {
	cfg := &c.Config
	var out []guest.Fault
	for _, f := range cfg.Faults {
		out = append(out, guest.Fault{At: time.Duration(cfg.Warmup + f.At), Kind: f.Kind.String(), Service: backendName(f.Backend)})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out
}

// timeline is the faults and the actions of the one-kernel topology, in
// time order, faults first among those at the same time.
func (c *Cluster) timeline() []guest.Fault {
	out := append(c.faults(), c.actions()...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out
}

// directorConf is the director's configuration file in its guest.
const directorConf = "/etc/dovecot/director.conf"

// directorAdmin is the director's admin socket (base_dir/director-admin),
// where doveadm director talks to it.
const directorAdmin = "/run/dovecot-director/director-admin"

// directorHandshake opens a doveadm connection to the director's admin
// socket; the director answers with its own.
const directorHandshake = "VERSION\tdirector-doveadm\t1\t0\n"

// directorHostList asks the director for its hosts with their users, as
// doveadm director status does: HOST-LIST, which the director answers
// with a line per host (address, vhost count, users, tag, U or D, time
// of the last change) and an empty line (Dovecot 2.3
// src/director/doveadm-connection.c and src/doveadm/doveadm-director.c).
const directorHostList = directorHandshake + "HOST-LIST\n"

// actions are the spec's operators' actions as the guest that runs the
// director (for doveadm director) or the backends (for backend stop and
// start) applies them, at offsets from the load's start, in time order.
// A director action against another strategy is only recorded, as the
// model does: it has no director to act on.
//
// The director's host commands go to its admin socket as doveadm
// director sends them (Dovecot 2.3 src/doveadm/doveadm-director.c): the
// handshake, then HOST-UP, HOST-DOWN, HOST-RESET-USERS (flush: the
// host's users moved and kicked, director_max_parallel_moves at a time),
// HOST-FLUSH (flush -F: its user entries dropped, nobody kicked),
// HOST-REMOVE or HOST-SET with the vhost count (add), each answered OK.
// Sent by the guest itself, they reach the director at their time: a
// doveadm process would take the busy guest most of a second to start.
func (c *Cluster) actions() []guest.Fault {
	cfg := &c.Config
	var out []guest.Fault
	for _, a := range cfg.Actions {
		kind := a.Kind.String()
		f := guest.Fault{At: time.Duration(cfg.Warmup + a.At), Event: "action." + kind,
			Detail: strings.TrimSpace(strings.TrimPrefix(a.Text, kind))}
		if f.Detail == "" {
			f.Detail = fmt.Sprintf("backend %d", a.Backend)
		}
		host := c.Backends[a.Backend].String()
		var cmd string
		switch a.Kind {
		case model.BackendStop:
			f.Kind, f.Service = "stop", backendName(a.Backend)
		case model.BackendStart:
			f.Kind, f.Service = "start", backendName(a.Backend)
		case model.DirectorUp:
			cmd = "HOST-UP\t" + host
		case model.DirectorDown:
			cmd = "HOST-DOWN\t" + host
		case model.DirectorFlush:
			cmd = "HOST-RESET-USERS\t" + host
		case model.DirectorFlushForce:
			cmd = "HOST-FLUSH\t" + host
		case model.DirectorRemove:
			cmd = "HOST-REMOVE\t" + host
		case model.DirectorAdd, model.DirectorVhost:
			cmd = "HOST-SET\t" + host + "\t" + strconv.Itoa(a.Vhosts)
		}
		switch {
		case cmd != "" && c.Strategy != "director":
			f.Kind, f.Detail = "note", f.Detail+" (ignored: "+c.Strategy+" is not a director)"
		case cmd != "":
			f.Kind, f.Socket, f.Request, f.Lines, f.Expect = "ask", directorAdmin, directorHandshake+cmd+"\n", 2, "OK"
		}
		out = append(out, f)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out
}

// lockSysctls shorten lockd's grace period: it refuses new locks during
// it after it starts (90 s by default; the period is the larger of
// nlm_grace_period and nlm_timeout).
var lockSysctls = []guest.KV{
	{Key: "/proc/sys/fs/nfs/nlm_grace_period", Value: "3"},
	{Key: "/proc/sys/fs/nfs/nlm_timeout", Value: "3"},
}

// nfsServer says how a guest serves the export.
type nfsServer struct {
	// Threads is nfsd's thread count.
	Threads int
	// Clients is the exports(5) client specification.
	Clients string
	// Local are ranges routed to the loopback first, so that any
	// address in them can be bound.
	Local []string
	// Vers is the version the clients mount: 3 serves NFSv3 alone, as
	// every testbed run before NFSv4 did; a 4.x serves NFSv3 and every
	// NFSv4 minor version.
	Vers nfsmodel.Vers
	// Lease is the NFSv4 lease (0: nfsd's 90 s).
	Lease time.Duration
	// NoDelegations turns nfsd's delegations off (fs.leases-enable = 0).
	NoDelegations bool
}

// serverFor is the NFS server a cluster's spec asks for.
func serverFor(cfg *model.Config, clients string, local []string) nfsServer {
	s := nfsServer{Threads: cfg.Server.Threads, Clients: clients, Local: local, Vers: vers(cfg)}
	if s.Vers.V4() {
		s.Lease = time.Duration(cfg.Server.LeaseTime)
		s.NoDelegations = !cfg.Server.Delegations
	}
	return s
}

// nfsServerGuest returns the configuration of a guest that serves /export
// to the clients spec (exports(5)): the first steps of every testbed
// guest but the multi-host topology's backends and entry. The ranges in
// s.Local are routed to the loopback first, so that any address in them
// can be bound.
//
// Under NFSv4 the kernel still asks rpc.mountd about exports (the
// export and file handle caches, and the pseudo-root above /export that
// nfs-utils makes), so mountd runs in both cases. NFSv4 carries users as
// strings: nfsd and the client send and take numeric ids with sec=sys
// (nfs4_disable_idmapping, set explicitly), so the mail keeps its owner
// without an idmapd.
func nfsServerGuest(s nfsServer) *guest.Config {
	g := &guest.Config{Hostname: "testbed"}
	g.Modules = []string{"nfsd", "nfs", "nfsv3"}
	g.Sysctls = append([]guest.KV(nil), lockSysctls...)
	v4 := s.Vers.V4()
	if v4 {
		g.Modules = append(g.Modules, "nfsv4")
		g.Sysctls = append(g.Sysctls, v4Sysctls...)
		if s.NoDelegations {
			// nfsd hands out a delegation through a lease on the
			// file (fs/nfsd/nfs4state.c, nfs4_set_delegation); with
			// leases off it hands out none.
			g.Sysctls = append(g.Sysctls, guest.KV{Key: "/proc/sys/fs/leases-enable", Value: "0"})
		}
	}
	srv := &guest.Server{Export: "/export", Clients: s.Clients, Threads: s.Threads, Owner: MailUID}
	g.Server = srv
	g.Files = append(g.Files,
		guest.File{Path: "/etc/exports", Mode: 0o644, Content: fmt.Sprintf("%s %s(rw,sync,no_subtree_check,no_root_squash,fsid=1)\n", srv.Export, srv.Clients)},
	)
	step := func(s guest.Step) { g.Steps = append(g.Steps, s) }
	cmd := func(argv ...string) { step(guest.Step{Command: &guest.Command{Argv: argv}}) }
	for _, r := range s.Local {
		cmd("ip", "route", "add", "local", r, "dev", "lo")
	}
	cmd("mount", "-t", "nfsd", "nfsd", "/proc/fs/nfsd")
	// nfsd's NFSv4 grace period (90 s by default) also holds back NLM
	// locks (locks_in_grace covers every lock manager of the network
	// namespace): shorten it before nfsd starts, and end it once started.
	// Under NFSv3 the lease is shortened too, as it always was (it
	// bounds nothing there); under NFSv4 it is the spec's
	// nfs.lease_time, written only when it is not nfsd's own 90 s.
	switch {
	case !v4:
		cmd("sh", "-c", "echo 10 > /proc/fs/nfsd/nfsv4gracetime; echo 10 > /proc/fs/nfsd/nfsv4leasetime")
	case s.Lease > 0 && s.Lease != defaultLease:
		cmd("sh", "-c", fmt.Sprintf("echo 10 > /proc/fs/nfsd/nfsv4gracetime; echo %d > /proc/fs/nfsd/nfsv4leasetime", int64(s.Lease/time.Second)))
	default:
		cmd("sh", "-c", "echo 10 > /proc/fs/nfsd/nfsv4gracetime")
	}
	step(serviceStep("rpcbind", rpcbindReady, "rpcbind", "-f", "-w"))
	step(serviceStep("statd", "", "rpc.statd", "-F", "--no-notify"))
	cmd("exportfs", "-ra")
	if v4 {
		// The NFSv4 client state's records (nfsd's legacy client
		// tracking; without the directory nfsd looks for nfsdcld).
		cmd("mkdir", "-p", "/var/lib/nfs/v4recovery")
		step(serviceStep("mountd", "", "rpc.mountd", "-F"))
		cmd("rpc.nfsd", strconv.Itoa(max(1, s.Threads)))
	} else {
		step(serviceStep("mountd", "", "rpc.mountd", "-F", "--no-nfs-version", "4"))
		cmd("rpc.nfsd", "--no-nfs-version", "4", strconv.Itoa(max(1, s.Threads)))
	}
	cmd("sh", "-c", "echo Y > /proc/fs/nfsd/v4_end_grace")
	return g
}

// v4Counters are nfsd's NFSv4 clients and their state (opens, locks,
// delegations: fs/nfsd/nfs4state.c, client_info_show and states_show),
// read with the other counters.
var v4Counters = []guest.KV{
	{Key: "nfsd_clients", Value: "/proc/fs/nfsd/clients/*/info"},
	{Key: "nfsd_states", Value: "/proc/fs/nfsd/clients/*/states"},
}

// addV4Watch makes the NFS server's guest g read nfsd's NFSv4 clients and
// their state with its counters, and every interval with its locks into
// its watch log.
func addV4Watch(g *guest.Config, interval time.Duration) {
	g.Counters = append(g.Counters, v4Counters...)
	g.Watch = append(g.Watch, guest.KV{Key: "locks", Value: "/proc/locks"}, v4Counters[1])
	g.WatchInterval = interval
	g.Logs = append(g.Logs, guest.KV{Key: guest.WatchLog, Value: "watch.log"})
}

// v4Sysctls make nfsd and the NFS client carry numeric user and group
// ids as NFSv4 owner strings (sec=sys), so that files keep the mail's
// owner without an idmapper. Both are the kernels' defaults; the testbed
// writes them so that a guest with other defaults does not map every
// owner to nobody.
var v4Sysctls = []guest.KV{
	{Key: "/sys/module/nfsd/parameters/nfs4_disable_idmapping", Value: "Y"},
	{Key: "/sys/module/nfs/parameters/nfs4_disable_idmapping", Value: "Y"},
}

// maildirPath is a user's Maildir relative to the export: domain/user/Maildir,
// as the default mail_location's %d/%n/Maildir gives it.
func maildirPath(user string) string { return homePath(user) + "/Maildir" }

// homePath is a user's home relative to the export: domain/user, as the
// userdb's home=/mnt/bN/%d/%n gives it.
func homePath(user string) string {
	n, d, _ := strings.Cut(user, "@")
	if d == "" {
		// %d is empty: %d/%n is the name alone.
		return n
	}
	return d + "/" + n
}

// haproxyConf is HAProxy's configuration for IMAP and LMTP in TCP mode.
// Server checks follow HAProxy's defaults (inter 2s, fall 3, rise 2), as
// the model's haproxy monitor does.
func haproxyConf(imap, lmtp string, backends []netip.Addr) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("# written by mailsim testbed")
	w("global\n  maxconn 20000\n\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 1h\n  timeout server 1h\n")
	for _, p := range []struct {
		name, balance string
		port          int
	}{{"imap", imap, 143}, {"lmtp", lmtp, 24}} {
		w("frontend %s\n  bind %s:%d\n  default_backend %s_backends\n", p.name, EntryAddr, p.port, p.name)
		w("backend %s_backends\n  balance %s", p.name, p.balance)
		for i, a := range backends {
			w("  server %s %s:%d check inter 2s fall 3 rise 2", backendName(i), a, p.port)
		}
		w("")
	}
	return b.String()
}
