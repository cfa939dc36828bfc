package experiments

import (
	"context"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/results"
)

// PlanSpec is the [plan] section of a spec: the question `mailsim plan`
// answers. Runs of `mailsim run` ignore it.
type PlanSpec struct {
	Users       int      `toml:"users" default:"0" min:"0" max:"100000000" doc:"users the cluster must serve; 0 keeps workload.users"`
	BackendsMin int      `toml:"backends_min" default:"2" min:"1" max:"4096" doc:"fewest backends the search considers"`
	BackendsMax int      `toml:"backends_max" default:"64" min:"1" max:"4096" doc:"most backends the search considers"`
	NFSThreads  []int    `toml:"nfs_threads" default:"" min:"1" max:"4096" doc:"NFS server thread counts (nfsd threads) the search may choose from; empty keeps nfs.threads"`
	CacheBytes  []int64  `toml:"cache_bytes" default:"" min:"0" unit:"bytes" doc:"backend memory for mailbox working sets the search may choose from; empty keeps cluster.cache_bytes"`
	ReplicasMin int      `toml:"replicas_min" default:"2" min:"2" max:"100" doc:"replicas of every probe; at least 2, for a confidence interval"`
	ReplicasMax int      `toml:"replicas_max" default:"5" min:"2" max:"100" doc:"replicas a probe may grow to while a verdict is inconclusive; a verdict still inconclusive then counts as a failure"`
	Confidence  float64  `toml:"confidence" default:"0.95" gt:"0.5" lt:"1" doc:"one-sided confidence with which a probe passes an objective: the upper confidence bound of the objective's mean over replicas must be within the limit"`
	Failure     bool     `toml:"survive_backend_failure" default:"true" doc:"also run every passing probe with one backend crashed (backend 0, at failure_at), and require the objectives to hold there too, under each strategy's failure handling (health.monitor; auto gives directors poolmon and the others HAProxy checks)"`
	FailureAt   sim.Time `toml:"failure_at" default:"5m" min:"0s" doc:"when the backend crashes in the failure scenario, from the start of measurement"`

	Objectives ObjectivesSpec `toml:"objectives" doc:"service objectives; a limit of 0 (or less, for counts) is no objective"`
}

// ObjectivesSpec lists the service objectives of a plan, each an upper
// limit on the mean over replicas of one run metric.
type ObjectivesSpec struct {
	CPUUtil      float64  `toml:"cpu_util" default:"0.7" min:"0" max:"1" doc:"ceiling on the busiest backend's CPU utilisation (backend.cpu_util.max); 0 for none"`
	NFSUtil      float64  `toml:"nfs_util" default:"0.7" min:"0" max:"1" doc:"ceiling on the NFS server's utilisation (nfs.utilization); 0 for none"`
	Connections  int      `toml:"connections_per_backend" default:"0" min:"0" doc:"ceiling on the most IMAP connections open at once on any backend, such as Dovecot's service imap process_limit with client_limit 1; 0 for none"`
	Errors       float64  `toml:"dovecot_errors_per_million_sessions" default:"-1" doc:"ceiling on Dovecot index errors of every class (dovecot.errors.total) per million sessions; negative for none"`
	UIDValidity  float64  `toml:"users_uidvalidity_changed" default:"-1" doc:"ceiling on users with a folder whose UIDVALIDITY changed (clients downloaded it again); negative for none"`
	FailedLogins float64  `toml:"failed_logins" default:"-1" doc:"ceiling on failed logins in the measured period; negative for none"`
	LoginP99     sim.Time `toml:"login_p99" default:"0s" min:"0s" doc:"ceiling on LOGIN's 99th percentile latency; 0 for none"`
	SelectP99    sim.Time `toml:"select_p99" default:"0s" min:"0s" doc:"ceiling on SELECT's 99th percentile latency; 0 for none"`
	StatusP99    sim.Time `toml:"status_p99" default:"0s" min:"0s" doc:"ceiling on STATUS's 99th percentile latency; 0 for none"`
	ListP99      sim.Time `toml:"list_p99" default:"0s" min:"0s" doc:"ceiling on LIST's 99th percentile latency; 0 for none"`
	FetchP99     sim.Time `toml:"fetch_p99" default:"0s" min:"0s" doc:"ceiling on FETCH (metadata) 99th percentile latency; 0 for none"`
	FetchBodyP99 sim.Time `toml:"fetch_body_p99" default:"0s" min:"0s" doc:"ceiling on FETCH of a full body's 99th percentile latency; 0 for none"`
	StoreP99     sim.Time `toml:"store_p99" default:"0s" min:"0s" doc:"ceiling on STORE's 99th percentile latency; 0 for none"`
	ExpungeP99   sim.Time `toml:"expunge_p99" default:"0s" min:"0s" doc:"ceiling on EXPUNGE's 99th percentile latency; 0 for none"`
	AppendP99    sim.Time `toml:"append_p99" default:"0s" min:"0s" doc:"ceiling on APPEND's 99th percentile latency; 0 for none"`
	SearchP99    sim.Time `toml:"search_p99" default:"0s" min:"0s" doc:"ceiling on SEARCH's 99th percentile latency; 0 for none"`
	RecoveryTime sim.Time `toml:"recovery_time" default:"0s" min:"0s" doc:"ceiling on the time from the backend crash to the last failed login or command (time_to_recover), so that a strategy that keeps sending users to the dead backend fails the failure scenario; 0 for none"`
	IMAPP99      sim.Time `toml:"imap_p99" default:"0s" min:"0s" doc:"ceiling on the 99th percentile latency of all IMAP commands together; 0 for none"`
	IMAPMean     sim.Time `toml:"imap_mean" default:"0s" min:"0s" doc:"ceiling on the mean latency of all IMAP commands together; 0 for none"`
	LMTPMean     sim.Time `toml:"lmtp_mean" default:"0s" min:"0s" doc:"ceiling on LMTP deliveries' mean latency; 0 for none"`
	LMTPP99      sim.Time `toml:"lmtp_p99" default:"0s" min:"0s" doc:"ceiling on LMTP deliveries' 99th percentile latency; 0 for none"`
}

// MaxConnectionsMetric is the plan's derived metric: the most connections
// open at once on any backend, from the run's backend.max_connections.
const MaxConnectionsMetric = "backend.max_connections.max"

// LMTPMeanMetric is the plan's derived metric: the mean latency of LMTP
// deliveries, from the run's latency/LMTP histogram.
const LMTPMeanMetric = "lmtp.latency.mean"

// List returns the objectives that are set, in a fixed order.
func (o ObjectivesSpec) List() []results.Objective {
	var out []results.Objective
	add := func(name, metric, unit string, limit float64, on bool) {
		if on {
			out = append(out, results.Objective{Name: name, Metric: metric, Unit: unit, Limit: limit})
		}
	}
	add("backend CPU", "backend.cpu_util.max", "", o.CPUUtil, o.CPUUtil > 0)
	add("NFS server", "nfs.utilization", "", o.NFSUtil, o.NFSUtil > 0)
	add("connections per backend", MaxConnectionsMetric, "", float64(o.Connections), o.Connections > 0)
	add("Dovecot index errors per million sessions", "dovecot_errors_per_million_sessions", "", o.Errors, o.Errors >= 0)
	add("users whose folder changed UIDVALIDITY", "users_uidvalidity_changed", "", o.UIDValidity, o.UIDValidity >= 0)
	add("failed logins", "failed_logins", "", o.FailedLogins, o.FailedLogins >= 0)
	add("recovery after a backend failure", "time_to_recover", "s", o.RecoveryTime.Sec(), o.RecoveryTime > 0)
	lat := func(name, metric string, d sim.Time) {
		add(name+" p99", metric, "s", d.Sec(), d > 0)
	}
	lat("IMAP", "imap.latency.p99", o.IMAPP99)
	lat("LOGIN", "latency.LOGIN.p99", o.LoginP99)
	lat("SELECT", "latency.SELECT.p99", o.SelectP99)
	lat("STATUS", "latency.STATUS.p99", o.StatusP99)
	lat("LIST", "latency.LIST.p99", o.ListP99)
	lat("FETCH", "latency.FETCH.p99", o.FetchP99)
	lat("FETCH body", "latency.FETCHBODY.p99", o.FetchBodyP99)
	lat("STORE", "latency.STORE.p99", o.StoreP99)
	lat("EXPUNGE", "latency.EXPUNGE.p99", o.ExpungeP99)
	lat("APPEND", "latency.APPEND.p99", o.AppendP99)
	lat("SEARCH", "latency.SEARCH.p99", o.SearchP99)
	lat("LMTP", "lmtp.latency.p99", o.LMTPP99)
	add("IMAP mean", "imap.latency.mean", "s", o.IMAPMean.Sec(), o.IMAPMean > 0)
	add("LMTP mean", LMTPMeanMetric, "s", o.LMTPMean.Sec(), o.LMTPMean > 0)
	return out
}

// Trial is one simulation a capacity search asks for.
type Trial struct {
	Strategy string
	results.Candidate
	// Failure runs the trial with one backend crashed.
	Failure bool
	Replica int
}

// Outcome is what one trial measured: its metrics by name, or the station
// that was overloaded.
type Outcome struct {
	Metrics    map[string]float64
	Overloaded string
}

// Measure performs trials, in any order and as parallel as it likes, and
// returns their outcomes in the order given. The same trial must always
// give the same outcome.
type Measure func(ctx context.Context, trials []Trial) ([]Outcome, error)

// Judge compares the mean of xs with the objective's limit at one-sided
// confidence conf, with Student's t over the replicas.
func Judge(ob results.Objective, scenario string, xs []float64, conf float64) results.Check {
	c := results.Check{Objective: ob.Name, Scenario: scenario, N: len(xs)}
	if len(xs) == 0 {
		c.Verdict = results.Inconclusive
		return c
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	n := float64(len(xs))
	c.Mean = sum / n
	half := math.Inf(1)
	if len(xs) > 1 {
		var ss float64
		for _, x := range xs {
			ss += (x - c.Mean) * (x - c.Mean)
		}
		sd := math.Sqrt(ss / (n - 1))
		t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: n - 1}.Quantile(conf)
		half = t * sd / math.Sqrt(n)
	}
	c.Lower, c.Upper = c.Mean-half, c.Mean+half
	switch {
	case c.Upper <= ob.Limit:
		c.Verdict = results.Pass
	case c.Lower > ob.Limit:
		c.Verdict = results.Fail
	default:
		c.Verdict = results.Inconclusive
	}
	return c
}

// Validate checks the plan's ranges.
func (p PlanSpec) Validate() []FieldError {
	var errs []FieldError
	if p.BackendsMin > p.BackendsMax {
		errs = append(errs, FieldError{Path: "backends_min", Msg: fmt.Sprintf("backends_min %d exceeds backends_max %d", p.BackendsMin, p.BackendsMax)})
	}
	if p.ReplicasMin > p.ReplicasMax {
		errs = append(errs, FieldError{Path: "replicas_min", Msg: fmt.Sprintf("replicas_min %d exceeds replicas_max %d", p.ReplicasMin, p.ReplicasMax)})
	}
	if !slices.IsSorted(p.NFSThreads) || len(slices.Compact(slices.Clone(p.NFSThreads))) != len(p.NFSThreads) {
		errs = append(errs, FieldError{Path: "nfs_threads", Msg: "nfs_threads must be in increasing order, without repeats"})
	}
	if !slices.IsSorted(p.CacheBytes) || len(slices.Compact(slices.Clone(p.CacheBytes))) != len(p.CacheBytes) {
		errs = append(errs, FieldError{Path: "cache_bytes", Msg: "cache_bytes must be in increasing order, without repeats"})
	}
	return errs
}
