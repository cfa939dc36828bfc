package experiments

import (
	"fmt"
	"strings"
	"time"

	"github.com/mailsim/mailsim/model"
	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/workloads"
)

// metricInfo describes the model's scalar metrics for tables and reports,
// in the order model.Result.Metrics reports them.
var metricInfo = map[string]results.MetricInfo{
	"imap.latency.p50":                    {Better: results.Lower, Doc: "median latency of client IMAP commands"},
	"imap.latency.p99":                    {Better: results.Lower, Doc: "99th percentile latency of client IMAP commands"},
	"imap.latency.mean":                   {Better: results.Lower, Doc: "mean latency of client IMAP commands"},
	"imap.commands_per_s":                 {Better: results.Neutral, Doc: "client IMAP commands per second"},
	"lmtp.latency.p99":                    {Better: results.Lower, Doc: "99th percentile latency of LMTP deliveries"},
	"nfs.ops_per_s":                       {Better: results.Lower, Doc: "NFS calls per second at the server"},
	"nfs.getattr_per_s":                   {Better: results.Lower, Doc: "GETATTR calls per second at the server"},
	"nfs.utilization":                     {Better: results.Lower, Doc: "busy fraction of the NFS server threads"},
	"cache.hit_ratio":                     {Better: results.Higher, Doc: "backend memory-cache hit ratio for mailbox working sets"},
	"stale_reads":                         {Better: results.Lower, Doc: "commands that acted on index attributes older than another backend's change"},
	"dovecot_errors_per_million_sessions": {Better: results.Lower, Doc: "Dovecot index errors of every class per million IMAP sessions"},
	"index_fscks":                         {Better: results.Lower, Doc: "index repairs (mail_index_fsck) after a lost or corrupted transaction log"},
	"fsck_messages":                       {Better: results.Lower, Doc: "messages the index repairs checked again"},
	"cache_purges":                        {Better: results.Neutral, Doc: "dovecot.index.cache files rewritten because a fifth of their records were expunged ones"},
	"cache_refills":                       {Better: results.Lower, Doc: "messages whose cache records were lost with a cache file deleted as corrupted"},
	"messages_new_uid":                    {Better: results.Lower, Doc: "messages given a new UID after their dovecot-uidlist line was lost (clients download them again)"},
	"users_uidvalidity_changed":           {Better: results.Lower, Doc: "users with a folder whose UIDVALIDITY changed (clients drop and download it again)"},
	"dovecot.errors.total":                {Better: results.Lower, Doc: "errors Dovecot logs about its index files, over the classes the model has (a testbed set's total also counts the classes only the testbed sees)"},
	"index_rewrites":                      {Better: results.Neutral, Doc: "main index (dovecot.index) rewrites once enough transaction log has accumulated, rotations included"},
	"log_rotations":                       {Better: results.Neutral, Doc: "transaction log (dovecot.index.log) rotations to dovecot.index.log.2"},
	"clock_errors":                        {Better: results.Lower, Doc: "index accesses after a write by a backend whose clock is more than 1 s off"},
	"lock_waits":                          {Better: results.Lower, Doc: "index-lock acquisitions that waited for another connection"},
	"lock_wait.mean":                      {Better: results.Lower, Doc: "mean wait of a contended index lock"},
	"lock_timeouts":                       {Better: results.Lower, Doc: "commands that gave up waiting for an index lock (mail_max_lock_timeout; Dovecot's own 3 min when unset)"},
	"locks_retained":                      {Better: results.Lower, Doc: "index locks of a failed backend that the storage kept held for it (NLM until it reboots, NFSv4 until its lease expires, a dotlock until it is stale)"},
	"storage.lock_requests":               {Better: results.Lower, Doc: "cluster file system lock requests: a node asking for a lock it does not hold"},
	"storage.lock_transfers":              {Better: results.Lower, Doc: "cluster file system lock requests that took the lock away from another node"},
	"nfs.delegation_recalls":              {Better: results.Lower, Doc: "NFSv4 delegations the server recalled because another backend changed a file a backend held delegated"},
	"index_builds":                        {Better: results.Lower, Doc: "folder indexes a backend (or, under INDEX=MEMORY, a process) built from the mail because it had none, or rebuilt after a lost dbox index"},
	"index_resyncs":                       {Better: results.Lower, Doc: "folder indexes a backend brought up to date after other backends' changes (indexes off the shared storage)"},
	"index_scan_messages":                 {Better: results.Lower, Doc: "messages listed by index builds and resynchronisations"},
	"idle_notify.p50":                     {Better: results.Lower, Doc: "median delay from a delivery until an IDLE connection of the recipient on INBOX learns of it"},
	"idle_notify.p99":                     {Better: results.Lower, Doc: "99th percentile delay from a delivery until an IDLE connection of the recipient on INBOX learns of it"},
	"idle_notify.mean":                    {Better: results.Lower, Doc: "mean delay from a delivery until an IDLE connection of the recipient on INBOX learns of it"},
	"listing.p50":                         {Better: results.Lower, Doc: "median time of the listing probe (a Maildir cur/ listing)"},
	"listing.mean":                        {Better: results.Lower, Doc: "mean time of the listing probe (a Maildir cur/ listing)"},
	"user_moves":                          {Better: results.Lower, Doc: "IMAP logins on another backend than the user's previous one (a cold open there)"},
	"refused_logins":                      {Better: results.Lower, Doc: "IMAP logins refused because the backend was at its process limit"},
	"sessions":                            {Better: results.Neutral, Doc: "successful IMAP logins"},
	"proxy_host_down_failures":            {Better: results.Lower, Doc: "proxied logins a high-performance login process failed at once because it counted the backend as down (Dovecot's \"Host is down\", proxy_host_immediate_failure_after)"},
	"logins_ok":                           {Better: results.Higher, Doc: "IMAP logins answered OK, counted when the client got its answer (as imaptest's Logi column counts them)"},
	"failed_commands":                     {Better: results.Lower, Doc: "commands lost with their connection, or answered with an error because their folder's transaction log was corrupted"},
	"index_failed_commands":               {Better: results.Lower, Doc: "commands answered with an error because their folder's transaction log was corrupted"},
	"failed_deliveries":                   {Better: results.Lower, Doc: "deliveries deferred by the MX after a failure"},
	"users_affected":                      {Better: results.Lower, Doc: "users with a failed login, command or delivery"},
	"failover_multi_backend":              {Better: results.Lower, Doc: "users with connections on two backends at once after the first fault"},
	"time_to_detect":                      {Better: results.Lower, Doc: "time from the first fault until the monitor marked a backend down (0: never)"},
	"time_to_recover":                     {Better: results.Lower, Doc: "time from the first fault until the last user failure"},
	"users_multi_backend":                 {Better: results.Lower, Doc: "users with IMAP connections on two or more backends at once"},
	"failed_logins":                       {Better: results.Lower, Doc: "IMAP logins that failed, counted when the client got its answer"},
	"load_imbalance":                      {Better: results.Lower, Doc: "busiest backend's commands over the mean (1 = even)"},
	"backend.cpu_util.max":                {Better: results.Lower, Doc: "CPU utilisation of the busiest backend"},
	"proxy.cpu_s":                         {Better: results.Lower, Doc: "CPU seconds spent in a separate proxy tier (directors)"},
	"steady_state.stationary":             {Better: results.Higher, Doc: "1 if the measured period looks stationary by MSER-5 (open connections and commands per sample), 0 if it begins with a transient: lengthen run.warmup"},
	"steady_state.mser5_discard":          {Better: results.Lower, Doc: "fraction of the measured period MSER-5 would discard as warm-up"},
	"steady_state.shift":                  {Better: results.Lower, Doc: "relative difference between the part MSER-5 would discard and the rest"},
}

// MetricInfos lists the scalar metrics of a run of the model, with units,
// directions and descriptions, in table order.
func MetricInfos() []results.MetricInfo {
	var out []results.MetricInfo
	for _, m := range (&model.Result{Backends: make([]model.BackendResult, 1)}).Metrics() {
		info, ok := metricInfo[m.Name]
		switch {
		case ok:
		case strings.HasPrefix(m.Name, model.ErrorMetricPrefix):
			info = results.MetricInfo{Better: results.Lower, Doc: "Dovecot errors of class " + strings.TrimPrefix(m.Name, model.ErrorMetricPrefix) + " (as Dovecot logs them)"}
		case strings.HasPrefix(m.Name, "nfs."):
			op := strings.TrimSuffix(strings.TrimPrefix(m.Name, "nfs."), "_per_s")
			info = results.MetricInfo{Better: results.Lower, Doc: op + " calls per second at the NFS server"}
		default:
			cmd := strings.TrimSuffix(strings.TrimPrefix(m.Name, "latency."), ".p99")
			info = results.MetricInfo{Better: results.Lower, Doc: "99th percentile latency of " + cmd}
		}
		info.Name, info.Unit = m.Name, m.Unit
		out = append(out, info)
	}
	return out
}

// Record turns a run's model result into its result-set record.
func Record(run Run[Spec], res *model.Result) *results.Run {
	r := &results.Run{PlannedRun: planned(run)}
	for _, m := range res.Metrics() {
		r.Metrics = append(r.Metrics, results.Metric{Name: m.Name, Unit: m.Unit, Value: m.Value})
	}
	for c := range workloads.NumCommands {
		if res.Latency[c].N > 0 {
			r.Histograms = append(r.Histograms, results.Histogram{Name: "latency/" + c.String(), Unit: "s", Hist: res.Latency[c]})
		}
	}
	n := len(res.Backends)
	vec := func(name, unit string, f func(b model.BackendResult) float64) {
		v := results.Vector{Name: name, Unit: unit, Values: make([]float64, n)}
		for i, b := range res.Backends {
			v.Values[i] = f(b)
		}
		r.Backends = append(r.Backends, v)
	}
	vec("backend.commands", "", func(b model.BackendResult) float64 { return float64(b.Commands) })
	vec("backend.cpu_util", "", func(b model.BackendResult) float64 { return b.CPUUtilization })
	vec("backend.logins", "", func(b model.BackendResult) float64 { return float64(b.Logins) })
	vec("backend.logins_ok", "", func(b model.BackendResult) float64 { return float64(b.LoginsOK) })
	vec("backend.max_connections", "", func(b model.BackendResult) float64 { return float64(b.MaxConnections) })
	vec("backend.cache_hit_ratio", "", func(b model.BackendResult) float64 {
		if b.CacheHits+b.CacheMisses == 0 {
			return 0
		}
		return float64(b.CacheHits) / float64(b.CacheHits+b.CacheMisses)
	})
	for _, e := range res.Timeline {
		r.Events = append(r.Events, results.Event{At: time.Duration(e.At + run.Spec.Run.Warmup), Kind: e.Kind, Detail: e.Detail})
	}
	if len(res.Series) > 0 {
		s := &results.Series{Start: time.Duration(run.Spec.Run.Warmup), Interval: time.Duration(run.Spec.Run.SampleInterval)}
		cols := []results.Column{{Name: "connections"}, {Name: "stale_reads"}, {Name: "dovecot_errors"}, {Name: "logins_ok"}, {Name: "logins_failed"}, {Name: "commands"}}
		// Per backend, named b1, b2, ... as the testbed names them.
		for b := range n {
			cols = append(cols, results.Column{Name: fmt.Sprintf("logins_ok.b%d", b+1)})
		}
		directed := res.Series[0].Directed
		if directed {
			for b := range n {
				cols = append(cols, results.Column{Name: fmt.Sprintf("director_users.b%d", b+1)})
			}
			cols = append(cols, results.Column{Name: "director_users_unassigned"}, results.Column{Name: "director_users_host_down"})
		}
		var prev model.Sample
		for _, x := range res.Series {
			cols[0].Values = append(cols[0].Values, float64(x.Connections))
			cols[1].Values = append(cols[1].Values, float64(x.StaleReads-prev.StaleReads))
			cols[2].Values = append(cols[2].Values, float64(x.Errors-prev.Errors))
			cols[3].Values = append(cols[3].Values, float64(x.LoginsOK-prev.LoginsOK))
			cols[4].Values = append(cols[4].Values, float64(x.FailedLogins-prev.FailedLogins))
			cols[5].Values = append(cols[5].Values, float64(x.Commands-prev.Commands))
			for b := range n {
				var v, p uint64
				if b < len(x.BackendLoginsOK) {
					v = x.BackendLoginsOK[b]
				}
				if b < len(prev.BackendLoginsOK) {
					p = prev.BackendLoginsOK[b]
				}
				cols[6+b].Values = append(cols[6+b].Values, float64(v-p))
			}
			if directed {
				total := 0
				for b := range n {
					v := int32(0)
					if b < len(x.Assigned) {
						v = x.Assigned[b]
					}
					total += int(v)
					cols[6+n+b].Values = append(cols[6+n+b].Values, float64(v))
				}
				cols[6+2*n].Values = append(cols[6+2*n].Values, float64(max(run.Spec.Workload.Users-total, 0)))
				cols[7+2*n].Values = append(cols[7+2*n].Values, float64(x.OnDown))
			}
			prev = x
		}
		s.Columns = cols
		r.Series = s
	}
	return r
}

func planned(run Run[Spec]) results.PlannedRun {
	p := results.PlannedRun{ID: run.ID, Strategy: run.Strategy, Replica: run.Replica, Seed: run.Seed}
	for _, s := range run.Point.Settings {
		p.Point = append(p.Point, results.Param{Key: s.Path, Value: s.Label})
	}
	return p
}
