package experiments

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/mailsim/mailsim/model"
	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/strategies"
	"github.com/mailsim/mailsim/workloads"
)

// Spec is a mailsim experiment: the cluster, its NFS storage, the
// workload, the routing strategies to compare, and how to run them. Keys
// use the real systems' own names (nfs(5) mount options, Dovecot
// settings) so that values can be copied from production configs.
type Spec struct {
	Name        string   `toml:"name" default:"experiment" nosweep:"the result set has one name" doc:"short name of the experiment, used in reports and as the result set's default folder (out/NAME): letters, digits, '.', '_' and '-', starting with a letter or digit, as run IDs"`
	Description string   `toml:"description" default:"" doc:"the question the experiment answers, shown at the top of its report"`
	Seed        uint64   `toml:"seed" default:"1" nosweep:"each run's seed already derives from it and the run ID; add replicas for more independent runs" doc:"experiment seed; each run's seed derives from it and the run ID"`
	Strategies  []string `toml:"strategies" default:"random,per-ip,director,owner-proxy" nosweep:"every run is already made once per strategy in strategies" enum:"random|per-ip|per-ip-consistent|director|director-bounded|director-maglev|owner-proxy|passdb-static|lua-director" doc:"routing strategies to compare, each run on the same users: random and per-ip (HAProxy balance random and balance source; per-ip-consistent with hash-type consistent), director (Dovecot 2.3 and earlier; removed in 2.4) and its variants director-bounded and director-maglev, owner-proxy (every backend proxies to the user's owner), and the Dovecot 2.4 choices: passdb-static (each user's backend in the proxy's passdb, dovecot.passdb_map) and lua-director (Dovecot 2.4's sample Lua director: a random backend among those up at a user's first login, kept for good)"`
	Replicas    int      `toml:"replicas" default:"1" min:"1" max:"1000" nosweep:"every sweep point already has replicas runs" doc:"independent replicas of every sweep point and strategy"`

	Run      RunSpec      `toml:"run" doc:"run length and sampling"`
	Cluster  ClusterSpec  `toml:"cluster" doc:"the IMAP/LMTP backends"`
	NFS      NFSSpec      `toml:"nfs" doc:"the NFS server and the backends' NFS mounts"`
	Storage  StorageSpec  `toml:"storage" doc:"what kind of storage the mail is on, and which paths are on each backend's own disk"`
	Dovecot  DovecotSpec  `toml:"dovecot" doc:"Dovecot's settings that matter on shared storage"`
	Workload WorkloadSpec `toml:"workload" doc:"users, their devices and what they do"`
	Probe    ProbeSpec    `toml:"probe" doc:"synthetic measurements taken during each run"`
	Health   HealthSpec   `toml:"health" doc:"how backend failures are detected and handled"`
	Clients  ClientsSpec  `toml:"clients" doc:"how mail clients, proxies and MX hosts react to failures"`
	Faults   []FaultSpec  `toml:"faults" doc:"faults injected during each run, as [[faults]] tables"`
	Actions  []ActionSpec `toml:"actions" doc:"operators' actions during each run, on the clock of faults, as [[actions]] tables"`
	Plan     PlanSpec     `toml:"plan" doc:"a capacity plan, for 'mailsim plan': the users to serve, what may vary and the service objectives"`
	Sweep    Sweep        `toml:"sweep" doc:"parameters to vary: dotted key paths mapped to lists of values; every combination is a sweep point"`
}

// ProbeSpec configures the listing probe.
type ProbeSpec struct {
	ListingEntries  int      `toml:"listing_entries" bind:"Listing.Entries" min:"0" max:"10000000" doc:"size of a Maildir folder that backend 0 lists and stats every entry of (as ls -l or a quota scan does) at each listing_interval, under the run's load; 0 turns the probe off. Operators report a 10,000-file listing taking over 10 s with actimeo=0"`
	ListingInterval sim.Time `toml:"listing_interval" bind:"Listing.Interval" gt:"0s" doc:"time between the probe's listings"`
}

// HealthSpec chooses the health monitor.
type HealthSpec struct {
	Monitor  string `toml:"monitor" default:"auto" enum:"auto|none|poolmon|poolmon-down-only|dovemon|dovemon-flush|haproxy" doc:"health monitor: none (Dovecot's director alone detects nothing), poolmon (scan every 20 s, 5 s timeout, then HOST-DOWN + HOST-FLUSH), poolmon-down-only (the same scans, HOST-DOWN alone), dovemon (poll every 10 s, 3 s timeout; 3 failed rounds, then 7 of 10 rapid polls failing gives HOST-DOWN + HOST-RESET-USERS), dovemon-flush (dovemon with use_host_flush=yes), haproxy (server checks: inter 2 s, fall 3, rise 2); auto is haproxy for load balancers and owner proxies, none for directors"`
	Failover string `toml:"owner_failover" default:"standby" enum:"none|standby" doc:"owner proxy: what happens to a user whose owner backend is down: none (unserved until it returns) or standby (a standby owner takes over once the monitor marks the owner down)"`
}

// ClientsSpec describes client, proxy and MX reactions to failures.
type ClientsSpec struct {
	DesktopRetry                sim.Time `toml:"desktop_retry" bind:"Clients.Retry[desktop]" min:"0s" doc:"mean delay before a desktop client reconnects after a failure (model assumption)"`
	PhoneRetry                  sim.Time `toml:"phone_retry" bind:"Clients.Retry[phone]" min:"0s" doc:"mean delay before a phone reconnects after a failure (model assumption)"`
	WebmailRetry                sim.Time `toml:"webmail_retry" bind:"Clients.Retry[webmail]" min:"0s" doc:"mean delay before webmail retries after a failure (model assumption)"`
	Timeout                     sim.Time `toml:"timeout" bind:"Clients.Timeout" gt:"0s" doc:"how long a client waits for an answer before giving up on a connection (model assumption)"`
	LoginProxyTimeout           sim.Time `toml:"login_proxy_timeout" bind:"Clients.LoginProxyTimeout" gt:"0s" doc:"how long a proxy waits for a backend to answer a proxied login (Dovecot login_proxy_timeout, default 30 s)"`
	LoginProxyReconnectInterval sim.Time `toml:"login_proxy_reconnect_interval" bind:"Clients.LoginProxyReconnectInterval" min:"0s" doc:"wait between a proxy's reconnect attempts (Dovecot: 1 s)"`
	DeliveryRetry               sim.Time `toml:"delivery_retry" bind:"Clients.DeliveryRetry" min:"0s" doc:"how long an MX defers a failed delivery (Postfix minimal_backoff_time, default 300 s)"`
}

// FaultSpec is one [[faults]] entry.
type FaultSpec struct {
	At      sim.Time `toml:"at" default:"0s" min:"0s" doc:"when the fault happens, after warm-up"`
	Backend int      `toml:"backend" default:"0" min:"0" doc:"index of the backend affected, from 0 (ignored by nfs-slow)"`
	Kind    string   `toml:"kind" default:"crash" enum:"crash|hang|slow|recover|nfs-slow" doc:"crash: connections drop, new ones are refused; hang: connections are accepted but never answered; slow: CPU demands multiplied by factor; recover: back to normal; nfs-slow: NFS service times multiplied by factor"`
	Factor  float64  `toml:"factor" default:"1" gt:"0" max:"1000" doc:"slowdown factor of slow and nfs-slow (at most 1000: a larger one only overflows the simulator's clock)"`
}

// ImaptestSpec is the [workload.imaptest] section.
type ImaptestSpec struct {
	Clients        int                `toml:"clients" default:"0" min:"0" max:"100000" doc:"connections kept busy (imaptest clients=; its own default is 10); 0 turns the imaptest load off"`
	User           string             `toml:"user" default:"user%d" doc:"user name template with one %d or %0Nd for the user's number (imaptest user=), e.g. \"user%04d\" or \"user%d@example.net\""`
	Users          []int              `toml:"users" default:"1,99" min:"0" max:"99999999" doc:"first and last user number, inclusive, drawn uniformly for every new connection (imaptest users=; its default range is 1..99)"`
	OnLoginFailure string             `toml:"on_login_failure" default:"same-user" enum:"same-user|new-user" doc:"what a client does after a failed login or a dropped connection: same-user reconnects as the same user at once, as stock imaptest does (src/client.c, client_unref); new-user reconnects as a newly drawn user"`
	ReconnectDelay sim.Time           `toml:"reconnect_delay" default:"1ms" min:"0s" max:"1m" doc:"mean time a reconnection takes, exponentially distributed: imaptest reconnects with no delay of its own, so this is a new TCP connection's round trips and the proxy's work before it connects on (model assumption: 1 ms over a LAN)"`
	States         ImaptestStatesSpec `toml:"states" doc:"each state's probability in percent, in the order a connection steps through them (imaptest's states table, src/client-state.c; its defaults)"`
}

// ImaptestStatesSpec gives imaptest's state probabilities.
type ImaptestStatesSpec struct {
	List        float64 `toml:"list" default:"50" min:"0" max:"100" doc:"LIST \"\" * (imaptest List, 50 %)"`
	Status      float64 `toml:"status" default:"50" min:"0" max:"100" doc:"STATUS of the mailbox (imaptest Stat, 50 %)"`
	Select      float64 `toml:"select" default:"100" min:"0" max:"100" doc:"SELECT INBOX (imaptest Sele, 100 %)"`
	Fetch       float64 `toml:"fetch" default:"100" min:"0" max:"100" doc:"FETCH of up to 100 messages' metadata (imaptest Fetc, 100 %)"`
	Fetch2      float64 `toml:"fetch2" default:"100" min:"0" max:"100" doc:"FETCH of one message's header or body (imaptest Fet2, 100 %)"`
	Fetch2Again float64 `toml:"fetch2_again" default:"30" min:"0" max:"99" doc:"chance FETCH2 runs again at once (imaptest 30 %)"`
	Store       float64 `toml:"store" default:"50" min:"0" max:"100" doc:"STORE of random flags (imaptest Stor, 50 %)"`
	Delete      float64 `toml:"delete" default:"100" min:"0" max:"100" doc:"STORE +FLAGS \\Deleted (imaptest Dele, 100 %)"`
	Expunge     float64 `toml:"expunge" default:"100" min:"0" max:"100" doc:"EXPUNGE (imaptest Expu, 100 %)"`
	Append      float64 `toml:"append" default:"100" min:"0" max:"100" doc:"APPEND (imaptest Appe, 100 %)"`
	AppendAgain float64 `toml:"append_again" default:"5" min:"0" max:"99" doc:"chance APPEND runs again at once (imaptest 5 %)"`
	Logout      float64 `toml:"logout" default:"100" min:"0" max:"100" doc:"LOGOUT (imaptest Logo, 100 %); below 100 a connection goes round its pass again until it logs out"`
}

// imaptest returns the model's imaptest load of the spec.
func (s *Spec) imaptest() (workloads.Imaptest, error) {
	w := s.Workload.Imaptest
	t := workloads.DefaultImaptest()
	t.Clients, t.User, t.Reconnect = w.Clients, w.User, w.ReconnectDelay
	if len(w.Users) > 0 {
		t.First, t.Last = w.Users[0], w.Users[len(w.Users)-1]
	}
	t.OnLoginFailure, _ = workloads.ParseLoginFailure(w.OnLoginFailure) // the enum tag checked it
	st := w.States
	t.Probability[workloads.StateList], t.Probability[workloads.StateStatus] = st.List, st.Status
	t.Probability[workloads.StateSelect], t.Probability[workloads.StateFetch] = st.Select, st.Fetch
	t.Probability[workloads.StateFetch2], t.Probability[workloads.StateStore] = st.Fetch2, st.Store
	t.Probability[workloads.StateDelete], t.Probability[workloads.StateExpunge] = st.Delete, st.Expunge
	t.Probability[workloads.StateAppend], t.Probability[workloads.StateLogout] = st.Append, st.Logout
	t.Again[workloads.StateFetch2], t.Again[workloads.StateAppend] = st.Fetch2Again, st.AppendAgain
	if w.Clients == 0 {
		return t, nil
	}
	if len(w.Users) != 2 {
		return t, fmt.Errorf("users needs two numbers, the first and the last user, not %d", len(w.Users))
	}
	if w.Users[1] < w.Users[0] {
		return t, fmt.Errorf("the last user %d is before the first %d", w.Users[1], w.Users[0])
	}
	if err := t.Validate(); err != nil {
		return t, errors.New(strings.TrimPrefix(err.Error(), "workloads: "))
	}
	return t, nil
}

// ActionSpec is one [[actions]] entry.
type ActionSpec struct {
	At sim.Time `toml:"at" default:"0s" min:"0s" doc:"when the action is taken, after warm-up (the clock of [[faults]])"`
	Do string   `toml:"do" default:"" doc:"the action, as doveadm names it: director up|down|flush|flush-force|remove HOST, director add HOST [VHOSTS], director vhost HOST VHOSTS (Dovecot 2.3 doveadm director; flush is HOST-RESET-USERS with kicks and director_user_kick_delay, flush-force is flush -F, HOST-FLUSH), or backend stop|start HOST (the backend's Dovecot stopped or started). HOST is a backend's address (cluster.backend_addresses, or 10.0.0.1, 10.0.0.2, ... by default) or its index from 0. Director actions other than up and down do nothing to strategies that are not directors; up and down mark the host as their health checks would"`
}

// RunSpec sets how long each run is simulated.
type RunSpec struct {
	Duration       sim.Time `toml:"duration" bind:"Duration" gt:"0s" doc:"simulated time measured after warm-up"`
	Warmup         sim.Time `toml:"warmup" bind:"Warmup" min:"0s" doc:"simulated time before measuring starts. Devices start at a random point of their session cycle, so sessions are in their steady state from the start; warm-up lets the sessions already open at the start log in (over its first half, at most 5 min) and the caches fill. Each run checks its measured period with MSER-5 (metric steady_state.stationary)"`
	SampleInterval sim.Time `toml:"sample_interval" bind:"SampleInterval" gt:"0s" doc:"period of each run's time series"`
	MaxEvents      int64    `toml:"max_events" bind:"MaxEvents" min:"0" doc:"most events a run may dispatch before it stops with an error; 0 sets the bound from the population and the simulated time (200,000 events per user and simulated hour plus 50 million, ten times what imaptest's stress profiles need), so that only a run that cannot end reaches it"`
}

// ClusterSpec describes the backends.
type ClusterSpec struct {
	Backends             int      `toml:"backends" bind:"Backends" min:"1" max:"4096" doc:"number of IMAP/LMTP backends"`
	Cores                int      `toml:"cores" bind:"Cores" min:"1" max:"1024" doc:"CPU cores per backend"`
	ProcessLimit         int      `toml:"process_limit" bind:"ProcessLimit" min:"0" doc:"IMAP connections a backend serves at once (Dovecot service imap process_limit, with client_limit 1); logins beyond it are refused; 0 is no limit. Dovecot's own default_process_limit is 100, which sites serving thousands of connections raise"`
	CacheBytes           int64    `toml:"cache_bytes" bind:"CacheBytes" min:"0" unit:"bytes" doc:"memory per backend for mailbox working sets (indexes and recent data)"`
	IndexBytesPerMessage int64    `toml:"index_bytes_per_message" bind:"IndexBytesPerMessage" min:"0" max:"1048576" unit:"bytes" doc:"index working set per message: dovecot-uidlist ~52, dovecot.index.log ~8, dovecot.index 8-12, dovecot.index.cache ~156 (measured on Dovecot 2.3.19)"`
	ClockSkew            sim.Time `toml:"clock_skew" bind:"ClockSkew" min:"0s" doc:"spread of the backends' clocks (backend i is i*clock_skew/(n-1) off); Dovecot wants them within 1 s"`
	ProxyHop             sim.Time `toml:"proxy_hop" bind:"ProxyHop" min:"0s" doc:"latency a proxy hop (director, owner proxy) adds to every command"`
	LMTPRouting          string   `toml:"lmtp_routing" default:"strategy" enum:"strategy|balancer" doc:"how MX hosts reach the backends: strategy (through the routing strategy, as Dovecot's LMTP proxy sends a delivery to the user's backend) or balancer (a plain load balancer picks any backend)"`
	BackendAddresses     []string `toml:"backend_addresses" default:"" doc:"the backends' addresses as the director is configured with them, each an IP with an optional vhost count (\"127.0.0.11:100\"; doveadm director add HOST VHOSTS), as 'mailsim place' takes them. They fix the number of backends, and a director places users on them exactly as a real one with these addresses does. Empty: 10.0.0.1, 10.0.0.2, ... with dovecot.vhost_count each"`
	BackendStopTime      sim.Time `toml:"backend_stop_time" bind:"BackendStopTime" min:"0s" max:"10m" doc:"after a [[actions]] backend stop, how long the backend's listening sockets stay open, accepting connections it never answers, before its master process exits and connections are refused: Dovecot's master waits up to 5 s for its processes, kills those left, waits 1 s and closes its listeners (master/main.c)"`
	MXHosts              int      `toml:"mx_hosts" bind:"MXHosts" min:"1" max:"250" doc:"MX hosts delivering over LMTP; each has its own source address"`
	CPU                  CPUSpec  `toml:"cpu" bind:"CPU" doc:"CPU demand per command on a backend (model assumptions; replace with measured values)"`
}

// CPUSpec holds per-command CPU demands.
type CPUSpec struct {
	Login            sim.Time `toml:"login" bind:"Command[Login]" min:"0s" doc:"LOGIN: authentication and the imap process"`
	Select           sim.Time `toml:"select" bind:"Command[Select]" min:"0s" doc:"SELECT, fixed part"`
	SelectPerMessage sim.Time `toml:"select_per_message" bind:"SelectPerMessage" min:"0s" doc:"SELECT, per message in the folder"`
	Status           sim.Time `toml:"status" bind:"Command[Status]" min:"0s" doc:"STATUS"`
	List             sim.Time `toml:"list" bind:"Command[List]" min:"0s" doc:"LIST"`
	Fetch            sim.Time `toml:"fetch" bind:"Command[Fetch]" min:"0s" doc:"FETCH of message metadata"`
	FetchBody        sim.Time `toml:"fetch_body" bind:"Command[FetchBody]" min:"0s" doc:"FETCH of one full body"`
	Store            sim.Time `toml:"store" bind:"Command[Store]" min:"0s" doc:"STORE flags"`
	Expunge          sim.Time `toml:"expunge" bind:"Command[Expunge]" min:"0s" doc:"EXPUNGE"`
	Append           sim.Time `toml:"append" bind:"Command[Append]" min:"0s" doc:"APPEND"`
	Search           sim.Time `toml:"search" bind:"Command[Search]" min:"0s" doc:"SEARCH, fixed part"`
	SearchPerMessage sim.Time `toml:"search_per_message" bind:"SearchPerMessage" min:"0s" doc:"SEARCH, per message in the folder"`
	Idle             sim.Time `toml:"idle" bind:"Command[Idle]" min:"0s" doc:"one periodic mailbox check of an IDLE connection"`
	Logout           sim.Time `toml:"logout" bind:"Command[Logout]" min:"0s" doc:"LOGOUT"`
	Deliver          sim.Time `toml:"deliver" bind:"Command[Deliver]" min:"0s" doc:"one LMTP delivery"`
	TLSHandshake     sim.Time `toml:"tls_handshake" bind:"TLSHandshake" min:"0s" doc:"a TLS handshake, paid where TLS terminates (backend, owner proxy or director)"`
	ProxyLogin       sim.Time `toml:"proxy_login" bind:"ProxyLogin" min:"0s" doc:"a proxy's work to authenticate and set up a proxied connection"`
}

// NFSSpec describes the NFS server and the mounts.
type NFSSpec struct {
	Threads     int           `toml:"threads" bind:"Server.Threads" min:"1" max:"65536" doc:"NFS server threads (Linux nfsd's default count is 8, RPCNFSDCOUNT)"`
	RTT         sim.Time      `toml:"rtt" bind:"Server.RTT" min:"0s" doc:"network round trip to the server: 40-60 us on loopback; a filer over a LAN under load adds 0.2-2 ms (MEASURED.md)"`
	Profile     string        `toml:"profile" default:"" doc:"calibration profile measured by 'mailsim replay' (a path relative to the spec file); when set, the server's service times are the bare RPC time (service.getattr) plus the file-system costs the profile measured"`
	BytesPerSec float64       `toml:"bytes_per_sec" bind:"Server.BytesPerSec" gt:"0" unit:"bytes/s" doc:"server streaming rate for READ and WRITE payloads"`
	Service     ServiceSpec   `toml:"service" bind:"Server" doc:"server time per call, by procedure (MEASURED.md: NFSv3 over loopback and ext4)"`
	LeaseTime   sim.Time      `toml:"lease_time" bind:"Server.LeaseTime" min:"1s" max:"1h" doc:"NFSv4 lease: a client that has not renewed it for this long loses its locks and delegations (Linux nfsd's default 90 s, /proc/fs/nfsd/nfsv4leasetime)"`
	Delegations bool          `toml:"delegations" bind:"Server.Delegations" doc:"an NFSv4 server hands out read delegations (Linux nfsd does while the fs.leases-enable sysctl is 1, its default)"`
	DelayRetry  sim.Time      `toml:"delay_retry" bind:"Server.DelayRetry" min:"0s" max:"1m" doc:"how long an NFSv4 client waits before it retries a call the server answered with NFS4ERR_DELAY, as while a delegation it conflicts with is recalled (Linux NFS4_POLL_RETRY_MIN, 100 ms, fs/nfs/nfs4proc.c nfs4_delay)"`
	Client      NFSClientSpec `toml:"client" bind:"Mount" doc:"the backends' NFS mount options, as in nfs(5)"`
}

// StorageSpec says what the mail is stored on.
type StorageSpec struct {
	Kind       string        `toml:"kind" bind:"Storage" enum:"nfs|cluster-fs|fuse|local" doc:"nfs: an NFS server every backend mounts (the nfs.* keys); cluster-fs: a cluster file system such as GFS2 or OCFS2 on a shared block device, coherent through its distributed lock manager (storage.cluster_fs); fuse: a FUSE file system such as GlusterFS's native client (storage.fuse); local: one server with the mail on its own disk (cluster.backends = 1), the baseline a scale-out is measured against"`
	LocalPaths []string      `toml:"local_paths" bind:"LocalPaths" doc:"path prefixes that are on each backend's own disk, not on the shared storage: an INDEX= location of dovecot.mail_location under one of them keeps a separate index per backend (e.g. [\"/var/dovecot\"] with mail_location = \"maildir:~/Maildir:INDEX=/var/dovecot/index/%u\"); ~ is the home directory, on the shared storage unless listed"`
	ClusterFS  ClusterFSSpec `toml:"cluster_fs" bind:"ClusterFS" doc:"the cluster file system (storage.kind = cluster-fs)"`
	FUSE       FUSESpec      `toml:"fuse" bind:"FUSE" doc:"the FUSE file system (storage.kind = fuse), as GlusterFS's native client mounts it"`
}

// ClusterFSSpec describes a cluster file system.
type ClusterFSSpec struct {
	LockRequest sim.Time `toml:"lock_request" bind:"LockRequest" min:"0s" max:"1m" doc:"a DLM lock request answered by another node: one network round trip and the lock manager's work (250 us measured for a remote conversion, Red Hat's DLM performance page, sourceware.org cluster/dlm/performance.html, 3 nodes)"`
	MinHold     sim.Time `toml:"min_hold" bind:"MinHold" min:"0s" max:"1m" doc:"how long a node keeps a cluster lock it used before it gives it up to another node's request (GFS2's glock hold time, default HZ/5 = 200 ms, fs/gfs2/glock.h GL_GLOCK_DFT_HOLD; OCFS2 has none, 0)"`
	Plock       sim.Time `toml:"plock" bind:"Plock" min:"0s" max:"1m" doc:"a POSIX (fcntl) lock or unlock, which GFS2 and OCFS2 synchronise across the cluster through a user-space daemon (dlm_controld, over corosync); model assumption, no published measurement"`
	FenceTime   sim.Time `toml:"fence_time" bind:"FenceTime" min:"0s" max:"1h" doc:"after a node hangs, how long until the cluster has noticed, fenced it and recovered its locks; until then the lock manager grants no lock to anyone (model assumption: corosync's 3 s token timeout and its consensus, then a power fence of tens of seconds)"`
}

// FUSESpec describes a FUSE file system.
type FUSESpec struct {
	AttributeTimeout sim.Time `toml:"attribute_timeout" bind:"AttributeTimeout" min:"0s" max:"1h" doc:"how long the kernel trusts a file's attributes (glusterfs --attribute-timeout, default 1 s)"`
	EntryTimeout     sim.Time `toml:"entry_timeout" bind:"EntryTimeout" min:"0s" max:"1h" doc:"how long the kernel trusts a name's lookup (glusterfs --entry-timeout, default 1 s); the model trusts the names in a directory, and so its listing, for this long"`
	PingTimeout      sim.Time `toml:"ping_timeout" bind:"PingTimeout" min:"1s" max:"1h" doc:"how long the servers wait for a silent client before they drop its locks (GlusterFS network.ping-timeout, default 42 s)"`
}

// ServiceSpec holds per-procedure service times.
type ServiceSpec struct {
	Getattr             sim.Time `toml:"getattr" bind:"Service[GETATTR]" min:"0s" doc:"GETATTR: an empty RPC costs 40-60 us"`
	Lookup              sim.Time `toml:"lookup" bind:"Service[LOOKUP]" min:"0s" doc:"LOOKUP"`
	Access              sim.Time `toml:"access" bind:"Service[ACCESS]" min:"0s" doc:"ACCESS"`
	Read                sim.Time `toml:"read" bind:"Service[READ]" min:"0s" doc:"READ, per call before payload"`
	Write               sim.Time `toml:"write" bind:"Service[WRITE]" min:"0s" doc:"WRITE, per call before payload"`
	Commit              sim.Time `toml:"commit" bind:"Service[COMMIT]" min:"0s" doc:"COMMIT: fsync p50 184 us on ext4"`
	Create              sim.Time `toml:"create" bind:"Service[CREATE]" min:"0s" doc:"CREATE"`
	Remove              sim.Time `toml:"remove" bind:"Service[REMOVE]" min:"0s" doc:"REMOVE: unlink 112-148 us on ext4"`
	Rename              sim.Time `toml:"rename" bind:"Service[RENAME]" min:"0s" doc:"RENAME"`
	Setattr             sim.Time `toml:"setattr" bind:"Service[SETATTR]" min:"0s" doc:"SETATTR"`
	Readdir             sim.Time `toml:"readdir" bind:"Service[READDIR]" min:"0s" doc:"READDIR, per reply"`
	ReaddirPerEntry     sim.Time `toml:"readdir_per_entry" bind:"ReaddirPerEntry" min:"0s" doc:"READDIR, per entry: 1.4-2.0 us"`
	Readdirplus         sim.Time `toml:"readdirplus" bind:"Service[READDIRPLUS]" min:"0s" doc:"READDIRPLUS, per reply"`
	ReaddirplusPerEntry sim.Time `toml:"readdirplus_per_entry" bind:"ReaddirplusPerEntry" min:"0s" doc:"READDIRPLUS, per entry: 3.6-5.4 us"`
	Lock                sim.Time `toml:"lock" bind:"Service[LOCK]" min:"0s" doc:"NLM lock (NFSv4 LOCK)"`
	Unlock              sim.Time `toml:"unlock" bind:"Service[UNLOCK]" min:"0s" doc:"NLM unlock (NFSv4 LOCKU)"`
	Open                sim.Time `toml:"open" bind:"Service[OPEN]" min:"0s" doc:"NFSv4 OPEN: a lookup's and a GETATTR's work"`
	Close               sim.Time `toml:"close" bind:"Service[CLOSE]" min:"0s" doc:"NFSv4 CLOSE"`
	Delegreturn         sim.Time `toml:"delegreturn" bind:"Service[DELEGRETURN]" min:"0s" doc:"NFSv4 DELEGRETURN"`
	Link                sim.Time `toml:"link" bind:"Service[LINK]" min:"0s" doc:"LINK: a hard link, as a dotlock without dotlock_use_excl makes"`
}

// NFSClientSpec holds nfs(5) mount options.
type NFSClientSpec struct {
	Vers        string   `toml:"vers" bind:"Vers" enum:"3|4.0|4.1|4.2" doc:"NFS version (nfs(5) vers=). Linux mounts 4.2 when vers is not given and the server offers it; the default here is 3, the version Dovecot's NFS documentation and the sites it describes use. Under 4.x every open and close is a call to the server, locks are leased (nfs.lease_time) and the server may delegate files (nfs.delegations); local_lock is an option of versions 2 and 3 only (nfs(5)), and refused with 4.x"`
	Acregmin    sim.Time `toml:"acregmin" bind:"Acregmin" min:"0s" doc:"minimum attribute cache time for regular files (nfs(5) acregmin, default 3 s)"`
	Acregmax    sim.Time `toml:"acregmax" bind:"Acregmax" min:"0s" doc:"maximum attribute cache time for regular files (nfs(5) acregmax, default 60 s)"`
	Acdirmin    sim.Time `toml:"acdirmin" bind:"Acdirmin" min:"0s" doc:"minimum attribute cache time for directories (nfs(5) acdirmin, default 30 s)"`
	Acdirmax    sim.Time `toml:"acdirmax" bind:"Acdirmax" min:"0s" doc:"maximum attribute cache time for directories (nfs(5) acdirmax, default 60 s)"`
	Actimeo     Actimeo  `toml:"actimeo" default:"" doc:"when set (e.g. \"0s\", \"60s\"), sets acregmin, acregmax, acdirmin and acdirmax to the same value, as nfs(5) actimeo does"`
	Noac        bool     `toml:"noac" bind:"Noac" doc:"no attribute caching and synchronous writes (nfs(5) noac)"`
	Lookupcache string   `toml:"lookupcache" bind:"Lookupcache" enum:"all|pos|none" doc:"nfs(5) lookupcache"`
	Nocto       bool     `toml:"nocto" bind:"Nocto" doc:"turn off close-to-open consistency (nfs(5) nocto; cto, the default, revalidates on every open)"`
	Nordirplus  bool     `toml:"nordirplus" bind:"Nordirplus" doc:"list directories with READDIR instead of READDIRPLUS (nfs(5) nordirplus; Dovecot recommends it)"`
	LocalLock   bool     `toml:"local_lock" bind:"LocalLock" doc:"keep locks local to each backend (nfs(5) nolock or local_lock=all): no NLM calls, and backends do not see each other's locks; Dovecot calls it a slightly unsafe optimisation"`
	Rsize       int64    `toml:"rsize" bind:"Rsize" min:"4096" max:"1048576" unit:"bytes" doc:"largest READ and WRITE payload (nfs(5) rsize/wsize; Linux negotiates up to 1 MiB)"`
}

// DovecotSpec holds Dovecot settings.
type DovecotSpec struct {
	MailNFSStorage                 bool     `toml:"mail_nfs_storage" bind:"Dovecot.MailNFSStorage" doc:"flush NFS caches around mail file access (Dovecot mail_nfs_storage, default no)"`
	MailNFSIndex                   bool     `toml:"mail_nfs_index" bind:"Dovecot.MailNFSIndex" doc:"flush NFS caches around index file access (Dovecot mail_nfs_index, default no)"`
	MailFsync                      string   `toml:"mail_fsync" bind:"Dovecot.MailFsync" enum:"always|optimized|never" doc:"when to fsync (Dovecot mail_fsync, default optimized; always is recommended on NFS)"`
	MmapDisable                    bool     `toml:"mmap_disable" bind:"Dovecot.MmapDisable" doc:"read index files instead of mapping them (Dovecot mmap_disable, default no; its NFS guide requires yes: mapped pages can stay stale after another backend's change)"`
	LockMethod                     string   `toml:"lock_method" bind:"Dovecot.LockMethod" enum:"fcntl|flock|dotlock" doc:"how index files are locked (Dovecot lock_method, default fcntl through the NFS lock manager; flock is local to each backend on NFS; dotlock creates lock files with O_EXCL)"`
	MailLocation                   string   `toml:"mail_location" bind:"Dovecot.MailLocation" doc:"where and in what format the mail is (Dovecot mail_location): maildir:~/Maildir (the default here: Maildir, indexes with the mail on the shared storage), maildir:~/Maildir:INDEX=/var/dovecot/index/%u (indexes on each backend's disk, when storage.local_paths lists /var/dovecot), maildir:~/Maildir:INDEX=MEMORY, sdbox:~/sdbox or mdbox:~/mdbox (dbox keeps its UIDs and flags only in its index, which stays with the mail)"`
	DotlockUseExcl                 bool     `toml:"dotlock_use_excl" bind:"Dovecot.DotlockUseExcl" doc:"create lock files with O_EXCL, one CREATE, rather than with a temporary file and link() (Dovecot dotlock_use_excl, default yes)"`
	MailMaxLockTimeout             sim.Time `toml:"mail_max_lock_timeout" bind:"Dovecot.MailMaxLockTimeout" min:"0s" max:"1h" doc:"longest wait for an index lock before the command fails (Dovecot mail_max_lock_timeout, default 0: Dovecot's own timeouts, 3 min for the transaction log, lib-index/mail-transaction-log-private.h)"`
	LMTPIndexUpdate                bool     `toml:"lmtp_index_update" bind:"Dovecot.LMTPIndexUpdate" doc:"LMTP deliveries update the index files, as Dovecot's LMTP does unless the delivery uses INDEX=MEMORY"`
	MailboxIdleCheckInterval       sim.Time `toml:"mailbox_idle_check_interval" bind:"Profile.IdleCheckInterval" gt:"0s" doc:"how often an IDLE connection's mailbox is re-checked (Dovecot mailbox_idle_check_interval, default 30 s)"`
	MailIndexRewriteMinLogBytes    int64    `toml:"mail_index_rewrite_min_log_bytes" bind:"MailIndexRewriteMinLogBytes" min:"0" unit:"bytes" doc:"an index write rewrites the main index (dovecot.index) when a refresh had to replay more than this much transaction log written since the last rewrite (Dovecot mail_index_rewrite_min_log_bytes, default 8k; at most mail_index_rewrite_max_log_bytes)"`
	MailIndexRewriteMaxLogBytes    int64    `toml:"mail_index_rewrite_max_log_bytes" bind:"MailIndexRewriteMaxLogBytes" min:"0" unit:"bytes" doc:"an index write rewrites the main index whenever more than this much transaction log was written since the last rewrite (Dovecot mail_index_rewrite_max_log_bytes, default 128k)"`
	MailIndexLogRotateMinSize      int64    `toml:"mail_index_log_rotate_min_size" bind:"MailIndexLogRotateMinSize" min:"0" unit:"bytes" doc:"an index write rotates the transaction log (dovecot.index.log to .log.2) when it is at least this large and older than mail_index_log_rotate_min_age (Dovecot mail_index_log_rotate_min_size, default 32k; at most mail_index_log_rotate_max_size)"`
	MailIndexLogRotateMaxSize      int64    `toml:"mail_index_log_rotate_max_size" bind:"MailIndexLogRotateMaxSize" min:"0" unit:"bytes" doc:"an index write always rotates a transaction log larger than this (Dovecot mail_index_log_rotate_max_size, default 1M)"`
	MailIndexLogRotateMinAge       sim.Time `toml:"mail_index_log_rotate_min_age" bind:"MailIndexLogRotateMinAge" min:"0s" doc:"age in whole seconds a transaction log must exceed before it is rotated at mail_index_log_rotate_min_size (Dovecot mail_index_log_rotate_min_age, default 5 min)"`
	DirectorUserExpire             sim.Time `toml:"director_user_expire" default:"15m" min:"10s" doc:"how long the director keeps a user's backend after the user's last request (Dovecot director_user_expire, default 15 min; at least 10 s)"`
	VhostCount                     int      `toml:"vhost_count" default:"100" min:"1" max:"1000" doc:"director ring points per backend (Dovecot's default 100; doveadm refuses more than 1000)"`
	DirectorUserKickDelay          sim.Time `toml:"director_user_kick_delay" default:"2s" min:"0s" doc:"after a moved user's sessions are kicked, how long the user's new logins wait before going to the new backend (Dovecot 2.3 director_user_kick_delay, default 2 s, director-settings.c)"`
	DirectorMaxParallelMoves       int      `toml:"director_max_parallel_moves" default:"100" min:"1" max:"1000000" doc:"user moves a HOST-RESET-USERS (doveadm director flush) runs at once (Dovecot 2.3 director_max_parallel_moves, default 100, director-settings.c)"`
	Directors                      int      `toml:"directors" default:"1" min:"1" max:"64" doc:"directors in the ring (the hosts of Dovecot 2.3's director_servers); with more than one, a host change takes director_ring_sync_delay to go round the ring and users near expiry move by USER-WEAK"`
	DirectorRingSyncDelay          sim.Time `toml:"director_ring_sync_delay" default:"0s" min:"0s" max:"10m" doc:"how long a host change (up, down, vhost count, flush) takes to go round the director ring, during which new users wait (\"ring not synced\"); Dovecot's director documentation: usually under a second. A lone director syncs at once"`
	LoginServiceCount              int      `toml:"login_service_count" bind:"LoginServiceCount" min:"0" max:"1" doc:"service_count of the proxies' imap-login service: 1 (Dovecot's default, high-security mode) gives every connection a login process of its own; 0 (high-performance mode) lets each process serve many, and such a process fails logins at once to a backend it counts as down (proxy_host_immediate_failure_after)"`
	ProxyHostImmediateFailureAfter sim.Time `toml:"proxy_host_immediate_failure_after" bind:"ProxyHostImmediateFailureAfter" min:"0s" max:"1h" doc:"a high-performance login process fails a proxied login at once (\"Host is down\") when its last connect failure to the backend is more than this after its last success and another connection to it is connecting (Dovecot passdb field proxy_host_immediate_failure_after, default 30 s, login-common/login-proxy.c); 0 turns it off"`
	PassdbMap                      string   `toml:"passdb_map" default:"" doc:"for the passdb-static strategy (Dovecot 2.4: each user's backend in the proxy's passdb): a CSV file of user,host rows, host being one of the backends' addresses (a path relative to the spec file). A user with no row fails to log in after auth_failure_delay (2 s)"`
	LoginProxyMaxReconnects        int      `toml:"login_proxy_max_reconnects" bind:"Clients.LoginProxyMaxReconnects" min:"0" doc:"reconnect attempts of a proxied login to a backend, 1 s apart (Dovecot login_proxy_max_reconnects, default 3)"`
}

// WorkloadSpec describes users and their behaviour.
type WorkloadSpec struct {
	Users                int          `toml:"users" bind:"Population.Users" min:"1" max:"100000000" doc:"number of accounts"`
	Domain               string       `toml:"domain" bind:"Population.Domain" doc:"mail domain of the generated user names"`
	Folders              int          `toml:"folders" bind:"Population.Folders" min:"0" max:"100" doc:"folders per user besides INBOX"`
	InboxMessagesMedian  float64      `toml:"inbox_messages_median" bind:"Population.InboxMessagesMedian" min:"0" doc:"median INBOX message count (log-normal)"`
	InboxMessagesSigma   float64      `toml:"inbox_messages_sigma" bind:"Population.InboxMessagesSigma" min:"0" doc:"sigma of log INBOX message count"`
	FolderMessagesMedian float64      `toml:"folder_messages_median" bind:"Population.FolderMessagesMedian" min:"0" doc:"median message count of other folders (log-normal)"`
	FolderMessagesSigma  float64      `toml:"folder_messages_sigma" bind:"Population.FolderMessagesSigma" min:"0" doc:"sigma of log message count of other folders"`
	MaxFolderMessages    int          `toml:"max_folder_messages" bind:"Population.MaxFolderMessages" min:"0" max:"10000000" doc:"cap on any folder's messages; real ISPs have folders of up to ~100,000 (FACTS.md 1.4)"`
	MessageBytesMean     float64      `toml:"message_bytes_mean" bind:"Population.MessageBytesMean" gt:"0" max:"1000000000" unit:"bytes" doc:"mean message size: ~76.7 KB in an 18.6-million-message corporate corpus (FACTS.md 1.4)"`
	AggressiveFraction   float64      `toml:"aggressive_fraction" bind:"Population.AggressiveFraction" min:"0" max:"1" doc:"share of users with imaptest's aggressive profile (10 %; the rest are normal)"`
	Desktop              float64      `toml:"desktop" bind:"Population.Desktop" min:"0" max:"1" doc:"share of users with a desktop client (desktop, phone and webmail all 0: users only receive mail)"`
	Phone                float64      `toml:"phone" bind:"Population.Phone" min:"0" max:"1" doc:"share of users with a phone"`
	Webmail              float64      `toml:"webmail" bind:"Population.Webmail" min:"0" max:"1" doc:"share of users who use webmail"`
	CarrierNATIPs        int          `toml:"carrier_nat_ips" bind:"Population.CarrierNATPools" min:"1" max:"250" doc:"carrier-grade NAT addresses shared by all phones"`
	WebmailFrontends     int          `toml:"webmail_frontends" bind:"Population.WebmailFrontends" min:"1" max:"200" doc:"webmail front ends; all webmail sessions come from their addresses"`
	DesktopConnections   int          `toml:"desktop_connections" bind:"Population.DesktopConnections" min:"1" max:"10" doc:"IMAP connections a desktop client holds (imaptest client profiles: up to 2, with IDLE)"`
	Trace                string       `toml:"trace" default:"" doc:"a workload trace to replay instead of drawing the workload (a path relative to the spec file; written by 'mailsim trace'); the population keys above must be those of the run that wrote it"`
	Diurnal              []float64    `toml:"diurnal" bind:"Profile.Diurnal" min:"0" doc:"relative activity of each hour of the day from 00:00 (24 values; empty: every hour is the peak hour). Off-peak, devices reconnect and mail arrives less often in proportion"`
	StartHour            int          `toml:"start_hour" bind:"Profile.StartHour" min:"0" max:"23" doc:"hour of the day at which each run starts, for diurnal"`
	ListProbability      float64      `toml:"list_probability" bind:"Profile.ListProbability" min:"0" max:"1" doc:"chance a session starts with LIST (imaptest LIST 50 %)"`
	Normal               BehaviorSpec `toml:"normal" bind:"Profile.Normal" doc:"imaptest's normal user (90 % by default)"`
	Aggressive           BehaviorSpec `toml:"aggressive" bind:"Profile.Aggressive" doc:"imaptest's aggressive user (10 % by default)"`
	Mix                  MixSpec      `toml:"mix" bind:"Profile" doc:"relative weights of the commands a client sends after login and SELECT (from imaptest's state probabilities)"`
	Imaptest             ImaptestSpec `toml:"imaptest" doc:"a closed-loop load test in the manner of Dovecot's imaptest (github.com/dovecot/imaptest): clients connections kept busy, each logging in as a user drawn from the users range, running one pass of imaptest's default commands with no think time, logging out and reconnecting as another user. With clients above 0 it replaces the device population (desktop, phone and webmail are ignored) and the users are the range, named by the user template; LMTP deliveries still follow workload.normal and workload.aggressive (set their mail_inbox_delivery_interval to 0s for none, as imaptest delivers nothing)"`
}

// BehaviorSpec is one class of user. Its defaults are those of the
// model's profile for the class (imaptest's normal and aggressive users).
type BehaviorSpec struct {
	MailSessionLength         sim.Time `toml:"mail_session_length" bind:"SessionLength" gt:"0s" doc:"mean session length (imaptest mail_session_length: normal 20 min, aggressive 3 min)"`
	MailActionRepeatDelay     sim.Time `toml:"mail_action_repeat_delay" bind:"ActionDelay" min:"0s" doc:"mean think time between commands (imaptest mail_action_repeat_delay: normal 10 s, aggressive 1 s)"`
	ReconnectDelay            sim.Time `toml:"reconnect_delay" bind:"Reconnect" min:"0s" doc:"mean pause between a device's sessions (normal 2 min, aggressive 10 s)"`
	MailInboxDeliveryInterval sim.Time `toml:"mail_inbox_delivery_interval" bind:"DeliveryInterval" min:"0s" doc:"mean time between deliveries to the user; 0 for none: users of this class receive no mail (imaptest mail_inbox_delivery_interval: normal 120 s, aggressive 5 s)"`
}

// MixSpec weights the command mix.
type MixSpec struct {
	Status    float64 `toml:"status" bind:"Mix[Status]" min:"0" max:"1000000" doc:"STATUS (imaptest 50 %)"`
	Fetch     float64 `toml:"fetch" bind:"Mix[Fetch]" min:"0" max:"1000000" doc:"FETCH of metadata (imaptest 100 %)"`
	FetchBody float64 `toml:"fetch_body" bind:"Mix[FetchBody]" min:"0" max:"1000000" doc:"FETCH of one full body (imaptest FETCH2 100 %)"`
	Store     float64 `toml:"store" bind:"Mix[Store]" min:"0" max:"1000000" doc:"STORE flags (imaptest 50 %)"`
	Expunge   float64 `toml:"expunge" bind:"Mix[Expunge]" min:"0" max:"1000000" doc:"EXPUNGE"`
	Append    float64 `toml:"append" bind:"Mix[Append]" min:"0" max:"1000000" doc:"APPEND"`
	Search    float64 `toml:"search" bind:"Mix[Search]" min:"0" max:"1000000" doc:"SEARCH"`
	Select    float64 `toml:"select" bind:"Mix[Select]" min:"0" max:"1000000" doc:"SELECT of another folder"`
}

// decoded lets cluster.backend_addresses fix the number of backends when
// the file does not set cluster.backends itself.
func (s *Spec) decoded(has func(key string) bool) {
	if n := len(s.Cluster.BackendAddresses); n > 0 && !has("cluster.backends") {
		s.Cluster.Backends = n
	}
	if w := s.Workload.Imaptest; w.Clients > 0 && len(w.Users) == 2 && w.Users[1] >= w.Users[0] && !has("workload.users") {
		s.Workload.Users = w.Users[1] - w.Users[0] + 1
	}
}

// Validate checks rules that span several keys.
func (s *Spec) Validate() []FieldError {
	var errs []FieldError
	c := s.NFS.Client
	if !c.Actimeo.Set {
		if c.Acregmin > c.Acregmax {
			errs = append(errs, FieldError{Path: "nfs.client.acregmin", Msg: fmt.Sprintf("acregmin %v exceeds acregmax %v", c.Acregmin, c.Acregmax)})
		}
		if c.Acdirmin > c.Acdirmax {
			errs = append(errs, FieldError{Path: "nfs.client.acdirmin", Msg: fmt.Sprintf("acdirmin %v exceeds acdirmax %v", c.Acdirmin, c.Acdirmax)})
		}
	}
	if n := len(s.Workload.Diurnal); n != 0 && n != 24 {
		errs = append(errs, FieldError{Path: "workload.diurnal", Msg: fmt.Sprintf("diurnal needs 24 hourly values, not %d", n)})
	}
	if len(s.Cluster.BackendAddresses) > 0 {
		bs, err := s.backendList()
		switch {
		case err != nil:
			errs = append(errs, FieldError{Path: "cluster.backend_addresses", Msg: err.Error()})
		case len(bs) != s.Cluster.Backends:
			errs = append(errs, FieldError{Path: "cluster.backends", Msg: fmt.Sprintf("cluster.backends is %d but cluster.backend_addresses lists %d hosts; leave backends out, and the addresses fix it", s.Cluster.Backends, len(bs))})
		}
	}
	if w := s.Workload.Imaptest; w.Clients > 0 {
		if _, err := s.imaptest(); err != nil {
			errs = append(errs, FieldError{Path: "workload.imaptest", Msg: err.Error()})
		} else if n := w.Users[1] - w.Users[0] + 1; n != s.Workload.Users {
			errs = append(errs, FieldError{Path: "workload.users", Msg: fmt.Sprintf("workload.users is %d but workload.imaptest.users covers %d users; leave users out, and the range fixes it", s.Workload.Users, n)})
		}
		if s.Workload.Trace != "" {
			errs = append(errs, FieldError{Path: "workload.trace", Msg: "a trace cannot be replayed with an imaptest load: the imaptest clients draw their own users"})
		}
	}
	for i, a := range s.Actions {
		if _, err := s.action(a); err != nil {
			errs = append(errs, FieldError{Path: fmt.Sprintf("actions[%d].do", i), Msg: err.Error()})
		}
	}
	for i, f := range s.Faults {
		if f.Kind != "nfs-slow" && f.Backend >= s.Cluster.Backends {
			errs = append(errs, FieldError{Path: fmt.Sprintf("faults[%d].backend", i), Msg: fmt.Sprintf("backend %d does not exist (cluster.backends = %d; backends are numbered from 0)", f.Backend, s.Cluster.Backends)})
		}
	}
	errs = append(errs, s.validateStorage()...)
	if slices.Contains(s.Strategies, strategies.PassdbStatic) && s.Dovecot.PassdbMap == "" {
		errs = append(errs, FieldError{Path: "dovecot.passdb_map", Msg: "the passdb-static strategy needs a map: a CSV file of user,host rows"})
	}
	if len(s.Strategies) == 0 {
		errs = append(errs, FieldError{Path: "strategies", Msg: "name at least one strategy"})
	}
	errs = append(errs, s.validateLimits()...)
	if len(errs) == 0 {
		// The model's own checks, so that a spec it would refuse is
		// refused here, at the key at fault, rather than when it runs.
		cfg := s.Model()
		if err := cfg.Validate(); err != nil {
			errs = append(errs, FieldError{Path: modelKey(err), Msg: strings.TrimPrefix(err.Error(), "model: ")})
		}
	}
	return errs
}

// validateStorage checks the storage keys against each other: the
// mail_location's syntax and format, the local paths, one server for
// local storage, and the mount options NFSv4 does not have.
func (s *Spec) validateStorage() []FieldError {
	var errs []FieldError
	if loc, err := nfsmodel.ParseMailLocation(s.Dovecot.MailLocation); err != nil {
		errs = append(errs, FieldError{Path: "dovecot.mail_location", Msg: err.Error()})
	} else if loc.Format == nfsmodel.Mbox {
		errs = append(errs, FieldError{Path: "dovecot.mail_location", Msg: "mbox is not modeled; use maildir, sdbox or mdbox"})
	}
	if err := nfsmodel.ValidateLocalPaths(s.Storage.LocalPaths); err != nil {
		errs = append(errs, FieldError{Path: "storage.local_paths", Msg: err.Error()})
	}
	if s.Storage.Kind == string(nfsmodel.KindLocal) && s.Cluster.Backends != 1 {
		errs = append(errs, FieldError{Path: "storage.kind", Msg: fmt.Sprintf("local storage is one server with its own disk: set cluster.backends = 1 (it is %d)", s.Cluster.Backends)})
	}
	if nfsmodel.Vers(s.NFS.Client.Vers).V4() && s.NFS.Client.LocalLock {
		errs = append(errs, FieldError{Path: "nfs.client.local_lock", Msg: fmt.Sprintf("local_lock is an option of NFS versions 2 and 3 only (nfs(5)); under vers=%s every lock goes to the server", s.NFS.Client.Vers)})
	}
	return errs
}

// modelKeys maps the fields of [model.Config] that its Validate method
// names to the spec's keys.
var modelKeys = map[string]string{
	"Backends":                    "cluster.backends",
	"ProcessLimit":                "cluster.process_limit",
	"Cores":                       "cluster.cores",
	"CacheBytes":                  "cluster.cache_bytes",
	"Server.Threads":              "nfs.threads",
	"Duration":                    "run.duration",
	"Warmup":                      "run.warmup",
	"SampleInterval":              "run.sample_interval",
	"Listing.Interval":            "probe.listing_interval",
	"MXHosts":                     "cluster.mx_hosts",
	"MailIndexRewriteMinLogBytes": "dovecot.mail_index_rewrite_min_log_bytes",
	"MailIndexLogRotateMinSize":   "dovecot.mail_index_log_rotate_min_size",
	"MailIndexLogRotateMinAge":    "dovecot.mail_index_log_rotate_min_age",
	"Mount":                       "nfs.client",
	"Storage":                     "storage.kind",
	"LocalPaths":                  "storage.local_paths",
	"Dovecot.MailLocation":        "dovecot.mail_location",
	"Profile":                     "workload",
	"Population":                  "workload",
}

// modelKey returns the spec key of the field a model validation error
// names, or "" (the whole spec) when it names none the spec knows.
func modelKey(err error) string {
	var ce *model.ConfigError
	if !errors.As(err, &ce) {
		return ""
	}
	if k, ok := modelKeys[ce.Field]; ok {
		return k
	}
	// Faults[i].Backend and Faults[i].Factor.
	if rest, ok := strings.CutPrefix(ce.Field, "Faults["); ok {
		if i, field, ok := strings.Cut(rest, "]."); ok {
			return "faults[" + i + "]." + strings.ToLower(field)
		}
	}
	return ""
}

// Actimeo is the value of nfs(5)'s actimeo option: unset, or one time
// for all four attribute-cache times. It is written as a duration string,
// "" when unset, is parsed once when the spec is decoded, and is written
// back as it was given.
type Actimeo struct {
	// Set says whether the option is given.
	Set bool
	// Time is the attribute-cache time, when Set.
	Time sim.Time
	text string
}

// UnmarshalText parses "" (unset) or a duration of at least 0 and at most
// [MaxDuration].
func (a *Actimeo) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*a = Actimeo{}
		return nil
	}
	d, err := time.ParseDuration(string(b))
	switch {
	case err != nil:
		return fmt.Errorf(`not a duration such as "0s" or "60s"`)
	case d < 0:
		return fmt.Errorf("negative")
	case d > MaxDuration:
		return fmt.Errorf("above the maximum %s that any duration may have", formatDuration(int64(MaxDuration)))
	}
	*a = Actimeo{Set: true, Time: sim.Time(d), text: string(b)}
	return nil
}

// MarshalText returns the option as it was given.
func (a Actimeo) MarshalText() ([]byte, error) { return []byte(a.text), nil }

// boundDefaults gives the keys bound to the model's configuration, and
// without a default tag, the model's own defaults, so that the spec, its
// documentation and the model cannot disagree.
func (Spec) boundDefaults() any { return model.DefaultConfig() }

// Model returns the model configuration the spec describes: every key
// with a bind tag sets the field of [model.Config] the tag names, and the
// few keys that need more than a copy are translated here.
func (s *Spec) Model() model.Config {
	var cfg model.Config
	sc, err := schemaFor(reflect.TypeFor[Spec]())
	if err != nil {
		panic(err) // the spec's own tags; the tests decode specs
	}
	bindInto(sc, reflect.ValueOf(s).Elem(), reflect.ValueOf(&cfg).Elem())
	cfg.LMTPToAnyBackend = s.Cluster.LMTPRouting == "balancer"
	if s.NFS.Client.Actimeo.Set {
		cfg.Mount.SetActimeo(s.NFS.Client.Actimeo.Time)
	}
	if t, err := s.imaptest(); err == nil { // Validate reports the others
		cfg.Imaptest = t
		if t.Clients > 0 {
			cfg.Population.Desktop, cfg.Population.Phone, cfg.Population.Webmail = 0, 0, 0
			cfg.Population.UserTemplate, cfg.Population.FirstUser = t.User, t.First
		}
	}
	for _, a := range s.Actions {
		if ma, err := s.action(a); err == nil { // Validate reports the others
			cfg.Actions = append(cfg.Actions, ma)
		}
	}
	for _, f := range s.Faults {
		k, _ := model.ParseFaultKind(f.Kind) // the enum tag has checked it
		cfg.Faults = append(cfg.Faults, model.Fault{At: f.At, Backend: f.Backend, Kind: k, Factor: f.Factor})
	}
	return cfg
}
