// Package model is mailsim's cluster model: clients with several IMAP
// connections, backends with CPU cores and memory caches, mailboxes and
// their index state, LMTP deliveries, and the NFS server behind them. It
// wires the workload, a routing strategy and the NFS model onto the event
// kernel in model/sim and measures what happens.
package model

import (
	"fmt"
	"math"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/strategies"
	"github.com/mailsim/mailsim/workloads"
)

// CPU holds per-command service demands on a backend's cores. These are
// model assumptions of the order of magnitude of a Dovecot backend; replace
// them with measured values where available.
type CPU struct {
	// Command is the fixed demand per command.
	Command [workloads.NumCommands]sim.Time
	// PerMessage is extra demand per message in the folder for SELECT
	// (index scan) and SEARCH (cache scan).
	SelectPerMessage sim.Time
	SearchPerMessage sim.Time
	// TLSHandshake is the demand of a TLS handshake where TLS terminates.
	TLSHandshake sim.Time
	// ProxyLogin is a proxy's demand to authenticate and set up a proxied
	// connection.
	ProxyLogin sim.Time
}

// DefaultCPU returns the default demands.
func DefaultCPU() CPU {
	var c CPU
	ms := sim.Millisecond
	c.Command[workloads.Login] = 3 * ms
	c.Command[workloads.Select] = ms / 2
	c.Command[workloads.Status] = ms / 5
	c.Command[workloads.List] = 300 * sim.Microsecond
	c.Command[workloads.Fetch] = ms
	c.Command[workloads.FetchBody] = ms / 2
	c.Command[workloads.Store] = 300 * sim.Microsecond
	c.Command[workloads.Expunge] = ms / 2
	c.Command[workloads.Append] = ms / 2
	c.Command[workloads.Search] = ms
	c.Command[workloads.Idle] = ms / 10
	c.Command[workloads.Logout] = ms / 5
	c.Command[workloads.Deliver] = ms
	c.SelectPerMessage = 200 * sim.Nanosecond
	c.SearchPerMessage = 2 * sim.Microsecond
	c.TLSHandshake = 2 * ms
	c.ProxyLogin = ms
	return c
}

// Config is everything the model needs for one run.
type Config struct {
	// Backends is the number of IMAP/LMTP backends.
	Backends int
	// Cores is the number of CPU cores per backend.
	Cores int
	// ProcessLimit caps the IMAP connections a backend serves at once
	// (Dovecot's service imap process_limit with client_limit 1); logins
	// beyond it are refused. 0 means no limit. Dovecot's own default
	// (default_process_limit) is 100; a site serving thousands of
	// connections per backend raises it, so the model leaves it unlimited
	// unless told.
	ProcessLimit int
	// CacheBytes is each backend's memory for mailbox working sets
	// (indexes and recently used data).
	CacheBytes int64
	// IndexBytesPerMessage is the size of a folder's index working set
	// per message: dovecot-uidlist ~52 B, dovecot.index.log ~8 B,
	// dovecot.index 8–12 B, dovecot.index.cache ~156 B (MEASURED.md).
	IndexBytesPerMessage int64
	// MailIndexRewriteMinLogBytes and MailIndexRewriteMaxLogBytes decide
	// when a writer rewrites a folder's main index (dovecot.index) rather
	// than only appending to its transaction log (dovecot.index.log):
	// when the log written since the main index was last written is over
	// the maximum, or over the minimum and the writer had to replay that
	// log because it read the index files afresh (Dovecot
	// mail_index_rewrite_min_log_bytes, default 8 KiB, and
	// mail_index_rewrite_max_log_bytes, default 128 KiB: "rewrite the index
	// when the number of bytes that needs to be read from the .log index
	// file on refresh is between these min/max values"; Dovecot index file
	// documentation, FACTS.md 3.4).
	MailIndexRewriteMinLogBytes int64
	MailIndexRewriteMaxLogBytes int64
	// MailIndexLogRotateMinSize, MailIndexLogRotateMaxSize and
	// MailIndexLogRotateMinAge decide when a writer rotates the
	// transaction log to dovecot.index.log.2 and starts a new one: when it
	// is over the maximum size, or at least the minimum size and older than
	// the minimum age, counted in whole seconds as Dovecot's log creation
	// stamp is (Dovecot mail_index_log_rotate_min_size, default 32 KiB,
	// mail_index_log_rotate_max_size, default 1 MiB, and
	// mail_index_log_rotate_min_age, default 5 min; Dovecot index file
	// documentation, FACTS.md 3.4). A rotation rewrites the main index as
	// well, so that it points into the new log.
	MailIndexLogRotateMinSize int64
	MailIndexLogRotateMaxSize int64
	MailIndexLogRotateMinAge  sim.Time
	// ClockSkew is the spread of the backends' clocks: backend i is
	// i·ClockSkew/(n-1) off. Dovecot wants clocks within 1 s of each other.
	ClockSkew sim.Time
	// ProxyHop is the extra latency a proxy hop adds to each command.
	ProxyHop sim.Time
	// LMTPToAnyBackend sends LMTP deliveries through a plain load
	// balancer to any backend instead of through the routing strategy to
	// the user's backend.
	LMTPToAnyBackend bool
	// MXHosts is the number of MX hosts delivering over LMTP.
	MXHosts int

	// Storage is the kind of storage the mail is on (storage.kind;
	// "" is nfs).
	Storage nfsmodel.Kind
	// LocalPaths are the path prefixes on each backend's own disk
	// (storage.local_paths): an INDEX= location under one of them keeps
	// every backend's indexes apart.
	LocalPaths []string
	// ClusterFS describes a cluster file system (storage kind
	// cluster-fs).
	ClusterFS ClusterFS
	// FUSE describes a FUSE file system (storage kind fuse).
	FUSE FUSE

	CPU        CPU
	Server     nfsmodel.Server
	Mount      nfsmodel.Mount
	Dovecot    nfsmodel.Dovecot
	Population workloads.Population
	Profile    workloads.Profile
	// Imaptest, when its Clients are more than 0, adds a closed-loop
	// load in imaptest's manner; the population's devices then usually
	// number none (see workloads.Imaptest).
	Imaptest workloads.Imaptest

	// Clients says how clients and proxies react to failures.
	Clients Clients
	// Listing configures the listing probe (off when Entries is 0).
	Listing ListingProbe
	// Faults are injected during the run.
	Faults []Fault
	// Actions are operators' actions during the run.
	Actions []Action
	// LoginServiceCount is the proxies' service imap-login service_count:
	// 1, Dovecot's default, gives every connection a login process of its
	// own (high-security mode); 0 lets one process serve many (high-
	// performance mode), whose record of each backend makes logins to a
	// backend that has been failing fail at once (see
	// ProxyHostImmediateFailureAfter).
	LoginServiceCount int
	// ProxyHostImmediateFailureAfter is Dovecot's
	// proxy_host_immediate_failure_after (default 30 s, whole seconds;
	// login-common/login-proxy.c, login_proxy_connect): a high-performance
	// login process fails a login to a backend at once, without trying,
	// when its last connect failure is more than this after its last
	// success and another connection to it is connecting. 0 turns it off.
	ProxyHostImmediateFailureAfter sim.Time
	// BackendStopTime is how long a stopped backend's listening sockets
	// stay open, accepting connections it never serves, before its master
	// process exits (see [BackendStop]). Default 6 s: Dovecot's master
	// waits up to 5 s for its children to exit, kills those left, waits
	// 1 s more and then closes its listeners (master/main.c); busy imap
	// sessions do not exit on their own sooner.
	BackendStopTime sim.Time

	// Duration is the simulated time measured after Warmup.
	Duration sim.Time
	// Warmup is simulated before measuring, so that caches and sessions
	// reach a steady state.
	Warmup sim.Time
	// SampleInterval is the period of the time series.
	SampleInterval sim.Time
	// MaxEvents bounds the events a run may dispatch (spec key
	// run.max_events); a run that needs more stops with an error naming
	// the key. 0 chooses [Config.EventBudget]'s automatic bound.
	MaxEvents uint64
}

// DefaultConfig returns the default small cluster: 4 backends of 8 cores
// with 1 GiB of mailbox cache each, one NFS server, 3,000 users, one
// measured hour after 5 minutes of warm-up.
func DefaultConfig() Config {
	return Config{
		Backends:                       4,
		Cores:                          8,
		CacheBytes:                     1 << 30,
		IndexBytesPerMessage:           226,
		ProxyHop:                       200 * sim.Microsecond,
		MXHosts:                        4,
		CPU:                            DefaultCPU(),
		Server:                         nfsmodel.DefaultServer(),
		Storage:                        nfsmodel.KindNFS,
		ClusterFS:                      DefaultClusterFS(),
		FUSE:                           DefaultFUSE(),
		Mount:                          nfsmodel.DefaultMount(),
		Dovecot:                        nfsmodel.DefaultDovecot(),
		Population:                     workloads.DefaultPopulation(),
		Profile:                        workloads.DefaultProfile(),
		Imaptest:                       workloads.DefaultImaptest(),
		Clients:                        DefaultClients(),
		Listing:                        ListingProbe{Interval: sim.Minute},
		Duration:                       sim.Hour,
		Warmup:                         5 * sim.Minute,
		SampleInterval:                 10 * sim.Second,
		BackendStopTime:                6 * sim.Second,
		LoginServiceCount:              1,               // Dovecot's default: high-security login processes
		ProxyHostImmediateFailureAfter: 30 * sim.Second, // LOGIN_PROXY_DEFAULT_HOST_IMMEDIATE_FAILURE_AFTER_SECS // master/main.c: 5 s for the children, 1 s after killing them

		// Dovecot's defaults (FACTS.md 3.4).
		MailIndexRewriteMinLogBytes: 8 << 10,
		MailIndexRewriteMaxLogBytes: 128 << 10,
		MailIndexLogRotateMinSize:   32 << 10,
		MailIndexLogRotateMaxSize:   1 << 20,
		MailIndexLogRotateMinAge:    5 * sim.Minute,
	}
}

// Validate reports the first inconsistency in c, as a [*ConfigError]
// naming the field at fault.
func (c *Config) Validate() error {
	switch {
	case c.Backends < 1:
		return fieldError("Backends", "model: backends must be at least 1, not %d", c.Backends)
	case c.Backends > 4096:
		return fieldError("Backends", "model: at most 4096 backends, not %d", c.Backends)
	case c.ProcessLimit < 0:
		return fieldError("ProcessLimit", "model: process limit must not be negative")
	case c.Cores < 1:
		return fieldError("Cores", "model: cores must be at least 1")
	case c.CacheBytes < 0:
		return fieldError("CacheBytes", "model: cache bytes must not be negative")
	case c.Server.Threads < 1:
		return fieldError("Server.Threads", "model: NFS server threads must be at least 1")
	case c.Duration <= 0:
		return fieldError("Duration", "model: duration must be positive")
	case c.Warmup < 0:
		return fieldError("Warmup", "model: warmup must not be negative")
	case c.SampleInterval <= 0:
		return fieldError("SampleInterval", "model: sample interval must be positive")
	case c.Listing.Entries < 0 || c.Listing.Entries > 0 && c.Listing.Interval <= 0:
		return fieldError("Listing.Interval", "model: the listing probe needs a positive interval")
	case c.MXHosts < 1:
		return fieldError("MXHosts", "model: mx hosts must be at least 1")
	case c.MailIndexRewriteMinLogBytes < 0 || c.MailIndexRewriteMinLogBytes > c.MailIndexRewriteMaxLogBytes:
		return fieldError("MailIndexRewriteMinLogBytes", "model: mail_index_rewrite_min_log_bytes %d must be within 0 and mail_index_rewrite_max_log_bytes %d", c.MailIndexRewriteMinLogBytes, c.MailIndexRewriteMaxLogBytes)
	case c.MailIndexLogRotateMinSize < 0 || c.MailIndexLogRotateMinSize > c.MailIndexLogRotateMaxSize:
		return fieldError("MailIndexLogRotateMinSize", "model: mail_index_log_rotate_min_size %d must be within 0 and mail_index_log_rotate_max_size %d", c.MailIndexLogRotateMinSize, c.MailIndexLogRotateMaxSize)
	case c.MailIndexLogRotateMinAge < 0:
		return fieldError("MailIndexLogRotateMinAge", "model: mail_index_log_rotate_min_age must not be negative")
	}
	for i, a := range c.Actions {
		if a.Backend < 0 || a.Backend >= c.Backends {
			return fieldError(fmt.Sprintf("Actions[%d].Backend", i), "model: action %d: backend %d does not exist (%d backends)", i, a.Backend, c.Backends)
		}
		if a.Kind >= numActionKinds {
			return fieldError(fmt.Sprintf("Actions[%d].Kind", i), "model: action %d: unknown kind %d", i, a.Kind)
		}
		if (a.Kind == DirectorAdd || a.Kind == DirectorVhost) && (a.Vhosts < 0 || a.Vhosts > strategies.MaxVhostCount) {
			return fieldError(fmt.Sprintf("Actions[%d].Vhosts", i), "model: action %d: vhost count %d is outside 0..%d", i, a.Vhosts, strategies.MaxVhostCount)
		}
	}
	if c.LoginServiceCount < 0 {
		return fieldError("LoginServiceCount", "model: login service_count must not be negative")
	}
	if c.ProxyHostImmediateFailureAfter < 0 {
		return fieldError("ProxyHostImmediateFailureAfter", "model: proxy_host_immediate_failure_after must not be negative")
	}
	if c.BackendStopTime < 0 {
		return fieldError("BackendStopTime", "model: backend stop time must not be negative")
	}
	for i, f := range c.Faults {
		if f.Kind != NFSSlow && (f.Backend < 0 || f.Backend >= c.Backends) {
			return fieldError(fmt.Sprintf("Faults[%d].Backend", i), "model: fault %d: backend %d does not exist (%d backends)", i, f.Backend, c.Backends)
		}
		if (f.Kind == Slow || f.Kind == NFSSlow) && f.Factor <= 0 {
			return fieldError(fmt.Sprintf("Faults[%d].Factor", i), "model: fault %d: %s needs a positive factor", i, f.Kind)
		}
	}
	if err := c.Mount.Validate(); err != nil {
		return &ConfigError{Field: "Mount", Err: err}
	}
	if err := c.validateStorage(); err != nil {
		return err
	}
	if err := c.Profile.Validate(); err != nil {
		return &ConfigError{Field: "Profile", Err: err}
	}
	if err := c.Population.Validate(); err != nil {
		return &ConfigError{Field: "Population", Err: err}
	}
	if err := c.Imaptest.Validate(); err != nil {
		return &ConfigError{Field: "Imaptest", Err: err}
	}
	if c.Imaptest.Clients > 100000 {
		return fieldError("Imaptest.Clients", "model: at most 100000 imaptest clients, not %d", c.Imaptest.Clients)
	}
	return nil
}

// ConfigError is an inconsistency in a [Config], found by its Validate
// method.
type ConfigError struct {
	// Field is the path of the field at fault: "Backends",
	// "Listing.Interval", "Faults[2].Backend"; or "Mount", "Profile" or
	// "Population" for what their own Validate methods found.
	Field string
	// Err says what is wrong.
	Err error
}

// Error returns the message of e.Err.
func (e *ConfigError) Error() string { return e.Err.Error() }

// Unwrap returns e.Err.
func (e *ConfigError) Unwrap() error { return e.Err }

// fieldError returns a ConfigError for field with a formatted message.
func fieldError(field, format string, args ...any) error {
	return &ConfigError{Field: field, Err: fmt.Errorf(format, args...)}
}

// Automatic event budget (see [Config.EventBudget]). imaptest's stress
// profiles, the busiest the model ships, dispatch about 13,000 events per
// user and simulated hour (BenchmarkCluster), and a population of
// aggressive users alone a few times that: the budget leaves more than
// ten times the room, so that only a run that cannot end reaches it.
const (
	budgetPerUserHour = 200_000
	budgetBase        = 50_000_000
)

// EventBudget returns the most events a run of c may dispatch: MaxEvents
// when set, otherwise a bound proportional to the users and the simulated
// time, far above what any configuration that ends needs.
func (c *Config) EventBudget() uint64 {
	if c.MaxEvents > 0 {
		return c.MaxEvents
	}
	hours := (c.Warmup + c.Duration).Sec() / 3600
	b := budgetBase + budgetPerUserHour*float64(c.Population.Users)*hours
	if b >= math.MaxUint64/2 {
		return math.MaxUint64 / 2
	}
	return uint64(b)
}
