package testbed

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"mailsim/model/hist"
	"mailsim/results"
	"mailsim/workloads"
	"mailsim/workloads/testbed/dovecotlog"
	"mailsim/workloads/testbed/guest"
)

// nfsdProc3 are the NFSv3 procedures in the order of the proc3 line of
// /proc/net/rpc/nfsd (the kernel's nfsd3 procedure table, fs/nfsd/nfs3proc.c).
var nfsdProc3 = []string{"NULL", "GETATTR", "SETATTR", "LOOKUP", "ACCESS", "READLINK", "READ", "WRITE", "CREATE", "MKDIR", "SYMLINK", "MKNOD", "REMOVE", "RMDIR", "RENAME", "LINK", "READDIR", "READDIRPLUS", "FSSTAT", "FSINFO", "PATHCONF", "COMMIT"}

// modelOps are the procedures the model reports a rate of
// (nfs.<OP>_per_s), in its order; LOCK and UNLOCK go to the lock manager,
// whose calls /proc/net/rpc/nfsd does not count.
var modelOps = []string{"GETATTR", "LOOKUP", "ACCESS", "READ", "WRITE", "COMMIT", "CREATE", "REMOVE", "RENAME", "SETATTR", "READDIR", "READDIRPLUS"}

// imapNames are the client IMAP commands whose latencies make up
// imap.latency.*, as in the model (every command but IDLE checks and LMTP
// deliveries).
var imapNames = func() []string {
	var out []string
	for c := range workloads.NumCommands {
		if c != workloads.Idle && c != workloads.Deliver {
			out = append(out, c.String())
		}
	}
	return out
}()

// MetricInfos describes the metrics only testbed runs report.
func MetricInfos() []results.MetricInfo {
	out := []results.MetricInfo{
		{Name: "deliveries", Better: results.Neutral, Doc: "LMTP deliveries accepted (measured period)"},
		{Name: "multi_backend_overlap", Unit: "s", Better: results.Lower, Doc: "time users spent with connections on two backends at once, summed over users"},
	}
	for _, c := range dovecotlog.Classes() {
		out = append(out, results.MetricInfo{Name: c.Metric(), Better: results.Lower, Doc: "Dovecot log lines of class " + string(c) + " (measured period, all backends and proxies)"})
	}
	out = append(out, results.MetricInfo{Name: dovecotlog.TotalMetric, Better: results.Lower, Doc: "Dovecot error lines of every class (measured period)"})
	return out
}

// Record turns what a guest measured into the run's result-set record.
// work is the run's folder, where the guest left Dovecot's logs.
func Record(p results.PlannedRun, c *Cluster, res *guest.Result, work string) (*results.Run, error) {
	m := res.Measurements
	if m == nil {
		return nil, errors.New("testbed: the guest returned no measurements")
	}
	r := &results.Run{PlannedRun: p}
	dur := m.Duration.Seconds()
	add := func(name, unit string, v float64) {
		r.Metrics = append(r.Metrics, results.Metric{Name: name, Unit: unit, Value: v})
	}
	var all hist.Histogram
	for _, n := range imapNames {
		if h, ok := m.Latency[n]; ok {
			all.Merge(&h)
		}
	}
	lmtp := m.Latency["LMTP"]
	add("imap.latency.p50", "s", all.Quantile(0.5))
	add("imap.latency.p99", "s", all.Quantile(0.99))
	add("imap.latency.mean", "s", all.Mean())
	add("imap.commands_per_s", "1/s", float64(all.N)/dur)
	add("lmtp.latency.p99", "s", lmtp.Quantile(0.99))

	before, after := counters(res.CountersBefore, "nfsd"), counters(res.CountersAfter, "nfsd")
	ops := procDelta(before, after)
	var total uint64
	for i, n := range ops {
		if i > 0 {
			total += n
		}
	}
	add("nfs.ops_per_s", "1/s", float64(total)/dur)
	add("sessions", "", float64(m.LoginsOK))
	add("users_multi_backend", "", float64(len(m.MultiBackendUsers)))
	add("failed_logins", "", float64(m.LoginsFailed))
	var failed uint64
	for _, e := range m.Errors {
		if e.Command != "LOGIN" && e.Command != "CONNECT" && e.Command != "LMTP" {
			failed += e.Count
		}
	}
	add("failed_commands", "", float64(failed))
	add("failed_deliveries", "", float64(m.DeliveriesFailed))
	add("deliveries", "", float64(m.DeliveriesOK))
	add("multi_backend_overlap", "s", m.MultiBackendOverlap.Seconds())
	for _, op := range modelOps {
		v := math.NaN()
		if ops != nil {
			v = float64(ops[indexOf(nfsdProc3, op)]) / dur
		}
		add("nfs."+op+"_per_s", "1/s", v)
	}
	for c := range workloads.NumCommands {
		if c == workloads.Idle {
			continue
		}
		h := m.Latency[c.String()]
		add("latency."+c.String()+".p99", "s", h.Quantile(0.99))
	}

	// Dovecot's own errors, from its logs.
	lines, err := dovecotLines(filepath.Join(work, guest.LogDir), c)
	if err != nil {
		return nil, err
	}
	start := res.LoadStart.Add(m.Warmup)
	end := start.Add(m.Duration)
	var measured []dovecotlog.Line
	for _, l := range lines {
		if !l.At.Before(start) && l.At.Before(end) {
			measured = append(measured, l)
		}
	}
	perClass, errTotal := dovecotlog.Count(measured)
	for i, cl := range dovecotlog.Classes() {
		add(cl.Metric(), "", float64(perClass[i]))
	}
	add(dovecotlog.TotalMetric, "", float64(errTotal))

	for _, n := range imapNames {
		if h, ok := m.Latency[n]; ok && h.N > 0 {
			r.Histograms = append(r.Histograms, results.Histogram{Name: "latency/" + n, Unit: "s", Hist: h})
		}
	}
	if lmtp.N > 0 {
		r.Histograms = append(r.Histograms, results.Histogram{Name: "latency/LMTP", Unit: "s", Hist: lmtp})
	}

	// Per backend: logins from the clients' view, NFS calls from each
	// backend's own mount, errors from its own log.
	nb := c.Config.Backends
	vec := func(name string) []float64 {
		v := make([]float64, nb)
		r.Backends = append(r.Backends, results.Vector{Name: name, Values: v})
		return v
	}
	logins := vec("backend.logins")
	for _, b := range m.Backends {
		if i := backendIndex(b.Name); i >= 0 && i < nb {
			logins[i] = float64(b.LoginsOK)
		}
	}
	// Each backend's own NFS calls in the measured period, from its
	// mount's statistics: in all, and per procedure the model reports.
	mb, ma := mountOps(counters(res.CountersBefore, "mountstats")), mountOps(counters(res.CountersAfter, "mountstats"))
	calls := vec("backend.nfs_ops")
	perOp := map[string][]float64{}
	for _, op := range modelOps {
		perOp[op] = vec("backend.nfs." + op)
	}
	for i := range nb {
		dir := "/mnt/" + backendName(i)
		for op, n := range ma[dir] {
			d := float64(n - mb[dir][op])
			calls[i] += d
			if v, ok := perOp[op]; ok {
				v[i] = d
			}
		}
	}
	errs := vec("backend.dovecot_errors")
	for _, l := range measured {
		if i := backendIndex(l.Backend); i >= 0 && i < nb {
			errs[i]++
		}
	}
	sortVectors(r.Backends)

	// Time series, one sample per interval of the measured period.
	if len(m.Intervals) > 0 {
		s := &results.Series{Start: m.Warmup, Interval: m.Interval}
		cols := []results.Column{{Name: "commands"}, {Name: "logins_ok"}, {Name: "logins_failed"}, {Name: "failed_commands"}, {Name: "deliveries"}, {Name: "dovecot_errors"}}
		for _, iv := range m.Intervals {
			cols[0].Values = append(cols[0].Values, float64(iv.Commands))
			cols[1].Values = append(cols[1].Values, float64(iv.LoginsOK))
			cols[2].Values = append(cols[2].Values, float64(iv.LoginsFailed))
			cols[3].Values = append(cols[3].Values, float64(iv.Errors))
			cols[4].Values = append(cols[4].Values, float64(iv.DeliveriesOK))
			cols[5].Values = append(cols[5].Values, 0)
		}
		for _, l := range measured {
			if i := int(l.At.Sub(start) / m.Interval); i >= 0 && i < len(cols[5].Values) {
				cols[5].Values[i]++
			}
		}
		// Logins per backend and interval, as the clients learnt the
		// backend from its ID reply.
		for _, b := range m.Backends {
			if backendIndex(b.Name) < 0 || len(b.LoginsOKPerInterval) != len(m.Intervals) {
				continue
			}
			col := results.Column{Name: "logins_ok." + b.Name}
			for _, n := range b.LoginsOKPerInterval {
				col.Values = append(col.Values, float64(n))
			}
			cols = append(cols, col)
		}
		s.Columns = cols
		r.Series = s
	}

	// Events: the guest's faults and every Dovecot error, on the run's
	// timeline.
	for _, e := range res.Events {
		r.Events = append(r.Events, results.Event{At: e.At, Kind: e.Kind, Detail: e.Detail})
	}
	const maxErrorEvents = 2000
	for i, l := range lines {
		if i == maxErrorEvents {
			r.Events = append(r.Events, results.Event{At: l.At.Sub(res.LoadStart), Kind: "dovecot.more", Detail: fmt.Sprintf("%d more error lines in the logs", len(lines)-i)})
			break
		}
		text := l.Text
		if len(text) > 300 {
			text = text[:300] + "…"
		}
		r.Events = append(r.Events, results.Event{At: max(0, l.At.Sub(res.LoadStart)), Kind: "dovecot." + string(l.Class), Detail: l.Backend + ": " + text})
	}
	sortEvents(r.Events)
	return r, nil
}

// ReadResult reads what a finished run's guests reported, as the run left
// it in its folder (work/result.json), so that [Record] can derive the
// run's record again from the raw files.
func ReadResult(work string) (*guest.Result, error) {
	path := filepath.Join(work, guest.ResultFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r guest.Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("testbed: %s: %w", path, err)
	}
	if r.Error != "" {
		return nil, fmt.Errorf("testbed: %s: the run failed: %s", path, r.Error)
	}
	return &r, nil
}

// dovecotLines parses every Dovecot log the guest left, tagging lines
// with the backend (b1, b2, ...) or proxy that wrote them.
func dovecotLines(dir string, c *Cluster) ([]dovecotlog.Line, error) {
	names := []string{"director"}
	for i := range c.Config.Backends {
		names = append(names, backendName(i))
	}
	var out []dovecotlog.Line
	for _, n := range names {
		f, err := os.Open(filepath.Join(dir, n+".log"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		lines, err := dovecotlog.Parse(bufio.NewReader(f), n)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("testbed: %s: %w", filepath.Join(dir, n+".log"), err)
		}
		out = append(out, lines...)
	}
	return out, nil
}

func counters(kvs []guest.KV, key string) string {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value
		}
	}
	return ""
}

// procDelta returns the NFSv3 procedure counts between two readings of
// /proc/net/rpc/nfsd, in nfsdProc3 order, or nil when either lacks them.
func procDelta(before, after string) []uint64 {
	b, a := proc3(before), proc3(after)
	if b == nil || a == nil {
		return nil
	}
	out := make([]uint64, len(a))
	for i := range a {
		out[i] = a[i] - b[i]
	}
	return out
}

func proc3(s string) []uint64 {
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "proc3" {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil || n != len(nfsdProc3) || len(f) != n+2 {
			return nil
		}
		out := make([]uint64, n)
		for i := range out {
			if out[i], err = strconv.ParseUint(f[i+2], 10, 64); err != nil {
				return nil
			}
		}
		return out
	}
	return nil
}

// mountOps reads /proc/self/mountstats: per NFS mount point, the calls
// made per procedure.
func mountOps(s string) map[string]map[string]uint64 {
	out := map[string]map[string]uint64{}
	var cur map[string]uint64
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "device ") {
			cur = nil
			f := strings.Fields(line)
			if len(f) >= 8 && f[3] == "on" && f[7] == "nfs" {
				cur = map[string]uint64{}
				out[f[4]] = cur
			}
			continue
		}
		if cur == nil {
			continue
		}
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || name == "" || strings.ToUpper(name) != name || strings.ContainsAny(name, " \t") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 1 {
			continue
		}
		if n, err := strconv.ParseUint(f[0], 10, 64); err == nil {
			cur[name] = n
		}
	}
	return out
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// backendIndex returns i for backend name "b<i+1>", or -1.
func backendIndex(name string) int {
	if !strings.HasPrefix(name, "b") {
		return -1
	}
	n, err := strconv.Atoi(name[1:])
	if err != nil || n < 1 {
		return -1
	}
	return n - 1
}

func sortVectors(vs []results.Vector) {
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].Name < vs[j].Name })
}

func sortEvents(es []results.Event) {
	sort.SliceStable(es, func(i, j int) bool { return es[i].At < es[j].At })
}
