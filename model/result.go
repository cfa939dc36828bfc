package model

import (
	"math"

	"github.com/mailsim/mailsim/model/hist"
	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/workloads"
)

// Result is what one run measured, after warm-up.
type Result struct {
	Strategy string
	Duration sim.Time
	// FaultAt is when the first scheduled fault struck, as the time
	// series counts (from the start of the run); 0 for none.
	FaultAt sim.Time
	// Latency holds per-command latency histograms in seconds, from the
	// client's sending of the command to its reply (proxy hops included).
	Latency  [workloads.NumCommands]hist.Histogram
	Commands uint64
	// Listing holds the listing probe's times, in seconds.
	Listing hist.Histogram
	// NFSOps counts the calls the NFS server served, by procedure.
	NFSOps [nfsmodel.NumOps]uint64
	// NFSUtilization is the server threads' busy fraction.
	NFSUtilization float64
	// StaleReads counts commands that acted on index attributes cached
	// from before another backend's change.
	StaleReads uint64
	// Errors counts the errors Dovecot would log about its index files,
	// by class (see ErrorClass).
	Errors [NumErrorClasses]uint64
	// IndexFscks counts index repairs (mail_index_fsck) after a lost or
	// corrupted transaction log, and FsckMessages the messages they
	// checked again.
	IndexFscks   uint64
	FsckMessages uint64
	// CachePurges counts dovecot.index.cache files rewritten because a
	// fifth of their records were expunged ones; CacheRefills counts
	// messages whose cache records were lost with a cache file deleted as
	// corrupted (they are cached again when next fetched).
	CachePurges  uint64
	CacheRefills uint64
	// NewUIDs counts messages given a new UID because their
	// dovecot-uidlist line was lost: clients download them again.
	NewUIDs uint64
	// UsersUIDValidityChanged counts users with a folder whose
	// UIDVALIDITY changed: clients drop their copy and download the
	// whole folder again (what users see as a mailbox that went empty).
	UsersUIDValidityChanged uint64
	// IndexRewrites counts rewrites of a folder's main index
	// (dovecot.index), LogRotations rotations of its transaction log
	// (dovecot.index.log), each of which rewrites the main index too
	// (see Config.MailIndexRewriteMinLogBytes).
	IndexRewrites uint64
	LogRotations  uint64
	// ClockErrors counts accesses to an index last written by a backend
	// whose clock is more than 1 s off this one's.
	ClockErrors uint64
	// LockWaits counts index-lock acquisitions that had to wait, LockWait
	// their total wait.
	LockWaits uint64
	LockWait  sim.Time
	// LockTimeouts counts commands that gave up waiting for an index
	// lock (Dovecot's lock timeout; see nfsmodel.Dovecot.MailMaxLockTimeout).
	LockTimeouts uint64
	// LocksRetained counts index locks a failed backend held that the
	// storage kept held for it (see Config.Dovecot.LockMethod and the
	// storage kind).
	LocksRetained uint64
	// ClusterLockRequests counts a cluster file system's lock requests
	// (a node asking for a lock it does not hold), ClusterLockTransfers
	// those that took the lock away from another node.
	ClusterLockRequests  uint64
	ClusterLockTransfers uint64
	// DelegationRecalls counts NFSv4 delegations the server recalled
	// because another backend changed a file a backend held delegated.
	DelegationRecalls uint64
	// IndexBuilds counts folders whose index a backend (or, in memory, a
	// process) built from the mail because it had none, or rebuilt from
	// the mail files after a lost dbox index; IndexResyncs those it
	// brought up to date after other backends' changes; ScanMessages the
	// messages listed for either.
	IndexBuilds  uint64
	IndexResyncs uint64
	ScanMessages uint64
	// IdleNotify holds the delays, in seconds, from a delivery to the
	// moment an IDLE connection of the recipient's on INBOX learns of it.
	IdleNotify hist.Histogram
	// RefusedLogins counts IMAP logins refused because the backend was at
	// its process limit (they are also failed logins).
	RefusedLogins uint64
	// UserMoves counts IMAP logins that landed on another backend than
	// the user's previous login: each one opens the mailbox cold there.
	UserMoves uint64
	// Sessions counts successful IMAP logins.
	Sessions uint64
	// LoginsOK counts IMAP logins the client got an OK for, when it got
	// it (Sessions counts them when they are routed).
	LoginsOK uint64
	// ProxyHostDown counts proxied logins a login process failed at once,
	// without trying, because it counted the backend as down ("Host is
	// down"; see Config.ProxyHostImmediateFailureAfter).
	ProxyHostDown uint64
	// FailedLogins counts logins and deliveries the router could not
	// place.
	FailedLogins uint64
	// UsersMultiBackend counts users who had IMAP connections open on two
	// or more backends at the same time.
	UsersMultiBackend uint64
	// FailoverMultiBackend counts users who had connections on two
	// backends at once after the first fault: sessions left on the old
	// backend while new ones go to another (the corruption risk of a
	// failover).
	FailoverMultiBackend uint64
	// FailedCommands counts commands lost with their connection, and
	// commands answered with an error because their folder's transaction
	// log was corrupted (IndexFailedCommands counts those alone);
	// FailedDeliveries counts deliveries deferred by the MX.
	FailedCommands      uint64
	IndexFailedCommands uint64
	FailedDeliveries    uint64
	// UsersAffected counts users with at least one failed login, command
	// or delivery.
	UsersAffected uint64
	// DetectedAfter is how long after the first fault the health monitor
	// first marked a backend down (0: never).
	DetectedAfter sim.Time
	// LastFailure is when the last failure happened (or a client gave up),
	// in run time; see RecoveredAfter.
	LastFailure sim.Time
	// RecoveredAfter is how long after the first fault the last user
	// failure happened: from then on every user was served again (0 with
	// no fault or no failure).
	RecoveredAfter sim.Time
	// Timeline lists the faults and monitor actions of the run.
	Timeline []Event
	// Backends holds per-backend figures.
	Backends []BackendResult
	// ProxyCPU is the CPU time spent in a separate proxy tier (directors).
	ProxyCPU sim.Time
	// Series is the time series sampled every SampleInterval.
	Series []Sample
	// Events is the number of simulation events dispatched in the run,
	// warm-up included.
	Events uint64
}

// BackendResult is one backend's share of a run.
type BackendResult struct {
	Commands uint64
	Logins   uint64
	// LoginsOK counts the logins on the backend answered OK.
	LoginsOK       uint64
	CPUUtilization float64
	CacheHits      uint64
	CacheMisses    uint64
	MaxConnections int
}

// Sample is one point of a run's time series; counters are cumulative
// since the end of warm-up.
type Sample struct {
	At          sim.Time
	Connections int
	StaleReads  uint64
	// Errors counts Dovecot's index errors of every class.
	Errors       uint64
	FailedLogins uint64
	// LoginsOK counts IMAP logins answered OK, BackendLoginsOK those on
	// each backend.
	LoginsOK        uint64
	BackendLoginsOK []uint64
	// Commands counts the commands completed since measuring began.
	Commands uint64
	// Directed is set when the router keeps a user table (a director):
	// Assigned then holds the users it assigns to each backend, and
	// OnDown those assigned to a backend that is not serving (crashed,
	// hung or stopped) at the sample.
	Directed bool
	Assigned []int32
	OnDown   int
}

func newResult(cfg *Config, strategy string) *Result {
	return &Result{Strategy: strategy, Duration: cfg.Duration, Backends: make([]BackendResult, cfg.Backends)}
}

// finish turns the cluster's counters into the result.
func (cl *cluster) finish() {
	r := cl.res
	d := float64(cl.cfg.Duration)
	r.NFSUtilization = float64(cl.nfs.busyTime) / (d * float64(cl.nfs.servers))
	for i := range cl.backends {
		b := &cl.backends[i]
		r.Backends[i] = BackendResult{
			Commands:       b.commands,
			Logins:         b.logins,
			LoginsOK:       b.loginsOK,
			CPUUtilization: float64(b.cpu.busyTime) / (d * float64(b.cpu.servers)),
			CacheHits:      b.hits,
			CacheMisses:    b.misses,
			MaxConnections: b.maxConns,
		}
	}
	if cl.firstFault > 0 && r.LastFailure > cl.firstFault {
		r.RecoveredAfter = r.LastFailure - cl.firstFault
	}
	r.Events = cl.s.Dispatched()
	for _, f := range cl.cfg.Faults {
		if at := cl.cfg.Warmup + f.At; r.FaultAt == 0 || at < r.FaultAt {
			r.FaultAt = at
		}
	}
	for _, a := range cl.cfg.Actions {
		if at := cl.cfg.Warmup + a.At; a.Kind == BackendStop && (r.FaultAt == 0 || at < r.FaultAt) {
			r.FaultAt = at
		}
	}
}

// IMAPLatency returns the latency histogram of all client IMAP commands
// (everything but IDLE checks and LMTP deliveries).
func (r *Result) IMAPLatency() hist.Histogram {
	var h hist.Histogram
	for c := range r.Latency {
		if workloads.Command(c) == workloads.Idle || workloads.Command(c) == workloads.Deliver {
			continue
		}
		h.Merge(&r.Latency[c])
	}
	return h
}

// NFSOpsPerSecond returns the NFS server's call rate.
func (r *Result) NFSOpsPerSecond() float64 {
	var n uint64
	for _, v := range r.NFSOps {
		n += v
	}
	return float64(n) / r.Duration.Sec()
}

// CacheHitRatio returns the backends' combined memory-cache hit ratio.
func (r *Result) CacheHitRatio() float64 {
	var h, m uint64
	for _, b := range r.Backends {
		h += b.CacheHits
		m += b.CacheMisses
	}
	if h+m == 0 {
		return math.NaN()
	}
	return float64(h) / float64(h+m)
}

// LoadImbalance returns the busiest backend's commands over the mean: 1 is
// perfect balance.
func (r *Result) LoadImbalance() float64 {
	var sum, most uint64
	for _, b := range r.Backends {
		sum += b.Commands
		most = max(most, b.Commands)
	}
	if sum == 0 {
		return math.NaN()
	}
	return float64(most) * float64(len(r.Backends)) / float64(sum)
}

// Metric is one named scalar of a run.
type Metric struct {
	Name  string
	Unit  string
	Value float64
}

// Metrics returns the run's scalar metrics in a fixed order.
func (r *Result) Metrics() []Metric {
	all := r.IMAPLatency()
	per := r.Duration.Sec()
	ms := []Metric{
		{"imap.latency.p50", "s", all.Quantile(0.5)},
		{"imap.latency.p99", "s", all.Quantile(0.99)},
		{"imap.latency.mean", "s", all.Mean()},
		{"imap.commands_per_s", "1/s", float64(all.N) / per},
		{"lmtp.latency.p99", "s", r.Latency[workloads.Deliver].Quantile(0.99)},
		{"nfs.ops_per_s", "1/s", r.NFSOpsPerSecond()},
		{"nfs.utilization", "", r.NFSUtilization},
		{"cache.hit_ratio", "", r.CacheHitRatio()},
		{"stale_reads", "", float64(r.StaleReads)},
		{"dovecot_errors_per_million_sessions", "", perMillion(r.errorTotal(), r.Sessions)},
		{"index_fscks", "", float64(r.IndexFscks)},
		{"fsck_messages", "", float64(r.FsckMessages)},
		{"cache_purges", "", float64(r.CachePurges)},
		{"cache_refills", "", float64(r.CacheRefills)},
		{"messages_new_uid", "", float64(r.NewUIDs)},
		{"users_uidvalidity_changed", "", float64(r.UsersUIDValidityChanged)},
		{"index_rewrites", "", float64(r.IndexRewrites)},
		{"log_rotations", "", float64(r.LogRotations)},
		{"clock_errors", "", float64(r.ClockErrors)},
		{"lock_waits", "", float64(r.LockWaits)},
		{"lock_wait.mean", "s", r.lockWaitMean()},
		{"lock_timeouts", "", float64(r.LockTimeouts)},
		{"locks_retained", "", float64(r.LocksRetained)},
		{"storage.lock_requests", "", float64(r.ClusterLockRequests)},
		{"storage.lock_transfers", "", float64(r.ClusterLockTransfers)},
		{"nfs.delegation_recalls", "", float64(r.DelegationRecalls)},
		{"index_builds", "", float64(r.IndexBuilds)},
		{"index_resyncs", "", float64(r.IndexResyncs)},
		{"index_scan_messages", "", float64(r.ScanMessages)},
		{"idle_notify.p50", "s", r.IdleNotify.Quantile(0.5)},
		{"idle_notify.p99", "s", r.IdleNotify.Quantile(0.99)},
		{"idle_notify.mean", "s", r.IdleNotify.Mean()},
		{"sessions", "", float64(r.Sessions)},
		{"logins_ok", "", float64(r.LoginsOK)},
		{"proxy_host_down_failures", "", float64(r.ProxyHostDown)},
		{"users_multi_backend", "", float64(r.UsersMultiBackend)},
		{"user_moves", "", float64(r.UserMoves)},
		{"refused_logins", "", float64(r.RefusedLogins)},
		{"failed_logins", "", float64(r.FailedLogins)},
		{"failed_commands", "", float64(r.FailedCommands)},
		{"failed_deliveries", "", float64(r.FailedDeliveries)},
		{"index_failed_commands", "", float64(r.IndexFailedCommands)},
		{"users_affected", "", float64(r.UsersAffected)},
		{"failover_multi_backend", "", float64(r.FailoverMultiBackend)},
		{"time_to_detect", "s", r.DetectedAfter.Sec()},
		{"time_to_recover", "s", r.RecoveredAfter.Sec()},
		{"load_imbalance", "", r.LoadImbalance()},
		{"backend.cpu_util.max", "", r.maxCPU()},
		{"proxy.cpu_s", "s", r.ProxyCPU.Sec()},
		{"listing.p50", "s", r.Listing.Quantile(0.5)},
		{"listing.mean", "s", r.Listing.Mean()},
	}
	for e := range NumErrorClasses {
		ms = append(ms, Metric{ErrorMetricPrefix + e.String(), "", float64(r.Errors[e])})
	}
	ms = append(ms, Metric{ErrorMetricPrefix + "total", "", float64(r.errorTotal())})
	st := r.Stationarity()
	stationary := 0.0
	if st.Stationary {
		stationary = 1
	}
	ms = append(ms,
		Metric{"steady_state.stationary", "", stationary},
		Metric{"steady_state.mser5_discard", "", st.Discard},
		Metric{"steady_state.shift", "", st.Shift})
	for op := range nfsmodel.NumOps {
		ms = append(ms, Metric{"nfs." + op.String() + "_per_s", "1/s", float64(r.NFSOps[op]) / per})
	}
	for c := range workloads.NumCommands {
		if c == workloads.Idle {
			continue
		}
		ms = append(ms, Metric{"latency." + c.String() + ".p99", "s", r.Latency[c].Quantile(0.99)})
	}
	return ms
}

// errorTotal is the number of Dovecot index errors of all classes.
func (r *Result) errorTotal() uint64 {
	var n uint64
	for _, k := range r.Errors {
		n += k
	}
	return n
}

func perMillion(n, of uint64) float64 {
	if of == 0 {
		return math.NaN()
	}
	return 1e6 * float64(n) / float64(of)
}

func (r *Result) maxCPU() float64 {
	var m float64
	for _, b := range r.Backends {
		m = max(m, b.CPUUtilization)
	}
	return m
}
