package testbed

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mailsim/mailsim/model/hist"
	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/workloads"
	"github.com/mailsim/mailsim/workloads/imapload"
	"github.com/mailsim/mailsim/workloads/testbed/dovecotlog"
	"github.com/mailsim/mailsim/workloads/testbed/guest"
)

// nfsdProc3 are the NFSv3 procedures in the order of the proc3 line of
// /proc/net/rpc/nfsd (the kernel's nfsd3 procedure table, fs/nfsd/nfs3proc.c).
var nfsdProc3 = []string{"NULL", "GETATTR", "SETATTR", "LOOKUP", "ACCESS", "READLINK", "READ", "WRITE", "CREATE", "MKDIR", "SYMLINK", "MKNOD", "REMOVE", "RMDIR", "RENAME", "LINK", "READDIR", "READDIRPLUS", "FSSTAT", "FSINFO", "PATHCONF", "COMMIT"}

// modelOps are the NFSv3 procedures the model reports a rate of
// (nfs.<OP>_per_s), in its order; LOCK and UNLOCK go to the lock manager,
// whose calls /proc/net/rpc/nfsd does not count.
var modelOps = []string{"GETATTR", "LOOKUP", "ACCESS", "READ", "WRITE", "COMMIT", "CREATE", "REMOVE", "RENAME", "SETATTR", "READDIR", "READDIRPLUS", "LINK"}

// modelOpsV4 are the model's operations under NFSv4, in its order: those
// of NFSv3 but READDIRPLUS (NFSv4's READDIR returns attributes itself),
// and LOCK, UNLOCK (LOCKU), OPEN, CLOSE and DELEGRETURN.
var modelOpsV4 = []string{"GETATTR", "LOOKUP", "ACCESS", "READ", "WRITE", "COMMIT", "CREATE", "REMOVE", "RENAME", "SETATTR", "READDIR", "LOCK", "UNLOCK", "OPEN", "CLOSE", "DELEGRETURN", "LINK"}

// v4ClientOps maps the Linux NFSv4 client's procedures, as
// /proc/self/mountstats names them (fs/nfs/nfs4xdr.c, nfs4_procedures),
// to the model's operations. The client counts a COMPOUND once, by its
// main operation, as the model does (nfsd's proc4ops counts every
// operation inside every compound: PUTFH and GETATTR in nearly all). An
// OPEN_NOATTR is an OPEN too: the client sends it to open a file under a
// delegation it is about to return (CLAIM_DELEG_CUR) and in state
// recovery. CREATE is NFSv4's, of directories and other non-regular
// files: a regular file is created by an OPEN. Every procedure not listed
// keeps the client's state (SEQUENCE, RENEW, FREE_STATEID, TEST_STATEID,
// EXCHANGE_ID, ...) or serves the mount (NULL, FSINFO, SERVER_CAPS, ...):
// nfs.v4_state_per_s counts them.
var v4ClientOps = map[string]string{
	"GETATTR": "GETATTR", "LOOKUP": "LOOKUP", "ACCESS": "ACCESS", "READ": "READ", "WRITE": "WRITE",
	"COMMIT": "COMMIT", "CREATE": "CREATE", "REMOVE": "REMOVE", "RENAME": "RENAME", "SETATTR": "SETATTR",
	"READDIR": "READDIR", "LOCK": "LOCK", "LOCKU": "UNLOCK", "OPEN": "OPEN", "OPEN_NOATTR": "OPEN",
	"CLOSE": "CLOSE", "DELEGRETURN": "DELEGRETURN", "LINK": "LINK",
}

// modelOpV4 returns the model's name of an NFSv4 client procedure, or ""
// for one that keeps state or serves the mount.
func modelOpV4(proc string) string { return v4ClientOps[proc] }

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
	out = append(out,
		results.MetricInfo{Name: "testbed.cpu_busy", Better: results.Neutral, Doc: "share of the guest's CPU time that was busy in the measured period (one-kernel: every process of the cluster and the load share one CPU)"},
		results.MetricInfo{Name: "testbed.load_cpu", Better: results.Neutral, Doc: "share of the guest's CPU time the load generator itself used in the measured period (one-kernel)"},
		results.MetricInfo{Name: "nfs.v4_state_per_s", Unit: "1/s", Better: results.Neutral, Doc: "NFSv4 calls that keep the clients' state or serve the mount rather than a file operation (SEQUENCE, RENEW, FREE_STATEID, TEST_STATEID, EXCHANGE_ID, ...), from the backends' mount statistics; NaN under NFSv3"},
		results.MetricInfo{Name: "nfs.delegations_held", Better: results.Neutral, Doc: "NFSv4 delegations nfsd had handed out and not had back when the measured period ended (/proc/fs/nfsd/clients/*/states); NaN under NFSv3"},
		results.MetricInfo{Name: "imap.slow_commands", Better: results.Lower, Doc: "IMAP commands started in the measured period that took at least " + imapload.SlowCommand.String() + " to be answered or to fail"},
		results.MetricInfo{Name: "imap.slow_command_seconds", Unit: "s", Better: results.Lower, Doc: "the time those slow commands took, summed"},
	)
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

	v4 := vers(&c.Config).V4()
	before, after := counters(res.CountersBefore, "nfsd"), counters(res.CountersAfter, "nfsd")
	ops := procDelta(before, after)
	var total uint64
	for i, n := range ops {
		if i > 0 {
			total += n
		}
	}
	// Each backend's own NFS calls in the measured period, from its
	// mount's statistics, by procedure (under NFSv4 in the model's
	// names).
	mb, ma := mountOps(counters(res.CountersBefore, "mountstats")), mountOps(counters(res.CountersAfter, "mountstats"))
	nb := c.Config.Backends
	perBackend := make([]map[string]float64, nb)
	var v4State float64
	v4Ops := map[string]float64{}
	for i := range nb {
		perBackend[i] = map[string]float64{}
		dir := "/mnt/" + backendName(i)
		for proc, n := range ma[dir] {
			d := float64(n - mb[dir][proc])
			op := proc
			if v4 {
				if op = modelOpV4(proc); op == "" {
					v4State += d
					perBackend[i][""] += d
					continue
				}
				v4Ops[op] += d
			}
			perBackend[i][op] += d
		}
	}
	if v4 {
		// The server's COMPOUNDs: its calls, as NFSv3's procedures are.
		total = 0
		if b, a := compounds(before), compounds(after); a >= b && a > 0 {
			total = a - b
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
	if v4 {
		// Under NFSv4, from the clients' statistics: the server's
		// counts are per operation inside compounds.
		for _, op := range modelOpsV4 {
			add("nfs."+op+"_per_s", "1/s", v4Ops[op]/dur)
		}
		add("nfs.READDIRPLUS_per_s", "1/s", 0)
		add("nfs.v4_state_per_s", "1/s", v4State/dur)
		add("nfs.delegations_held", "", float64(delegations(counters(res.CountersAfter, "nfsd_states"))))
	} else {
		for _, op := range modelOps {
			v := math.NaN()
			if ops != nil {
				v = float64(ops[indexOf(nfsdProc3, op)]) / dur
			}
			add("nfs."+op+"_per_s", "1/s", v)
		}
		add("nfs.v4_state_per_s", "1/s", math.NaN())
		add("nfs.delegations_held", "", math.NaN())
	}
	slow, slowSecs := slowCommands(m)
	add("imap.slow_commands", "", slow)
	add("imap.slow_command_seconds", "s", slowSecs)
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
	busy, load := cpuShares(res)
	add("testbed.cpu_busy", "", busy)
	add("testbed.load_cpu", "", load)

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
	calls := vec("backend.nfs_ops")
	perOp := map[string][]float64{}
	names := modelOps
	if v4 {
		names = modelOpsV4
	}
	for _, op := range names {
		perOp[op] = vec("backend.nfs." + op)
	}
	for i := range nb {
		for op, d := range perBackend[i] {
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
		// backend from its ID reply: logins_ok.b1, b2, ... for every
		// backend, as the model writes them.
		perBackend := make([]results.Column, nb)
		for i := range perBackend {
			perBackend[i] = results.Column{Name: "logins_ok." + backendName(i), Values: make([]float64, len(m.Intervals))}
		}
		for _, b := range m.Backends {
			if i := backendIndex(b.Name); i >= 0 && i < nb && len(b.LoginsOKPerInterval) == len(m.Intervals) {
				for j, n := range b.LoginsOKPerInterval {
					perBackend[i].Values[j] = float64(n)
				}
			}
		}
		cols = append(cols, perBackend...)
		cols = append(cols, directorColumns(c, res, m)...)
		s.Columns = cols
		r.Series = s
	}

	// Events: the guest's faults and every Dovecot error, on the run's
	// timeline.
	for _, e := range res.Events {
		r.Events = append(r.Events, results.Event{At: e.At, Kind: e.Kind, Detail: e.Detail})
	}
	// The clients' slow commands, with the backend that served them.
	for _, e := range m.Events {
		if e.Kind == imapload.EventCommandSlow {
			r.Events = append(r.Events, results.Event{At: e.At, Kind: "imap.slow", Detail: e.User + ": " + e.Detail})
		}
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

// compounds returns the COMPOUNDs nfsd served, from the proc4 line of
// /proc/net/rpc/nfsd ("proc4 2 NULL COMPOUND"), or 0.
func compounds(s string) uint64 {
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && f[0] == "proc4" && f[1] == "2" {
			n, _ := strconv.ParseUint(f[3], 10, 64)
			return n
		}
	}
	return 0
}

// delegations counts the delegations in nfsd's client states
// (/proc/fs/nfsd/clients/*/states: "type: deleg" entries).
func delegations(states string) int {
	return strings.Count(states, "type: deleg")
}

// slowCommands counts the measurements' slow commands (started in the
// measured period) and sums their durations; NaN for measurements that
// did not look for them (made before the replay kept them).
func slowCommands(m *imapload.Measurements) (n, secs float64) {
	if m.Slow == nil {
		return math.NaN(), math.NaN()
	}
	for _, s := range m.Slow {
		if s.Start >= m.Warmup && s.Start < m.Warmup+m.Duration {
			n++
			secs += s.Took.Seconds()
		}
	}
	return n, secs
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
			if len(f) >= 8 && f[3] == "on" && (f[7] == "nfs" || f[7] == "nfs4") {
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

// directorColumns are the director's user table at the end of every
// interval, in the model's columns: director_users.bN, the users the
// director assigns to backend N (from 1, as backends are named);
// director_users_unassigned, the users without an entry;
// director_users_host_down, those assigned to a backend that is not
// serving then (crashed, hung or stopped by the run's faults and
// actions). A sample that failed is NaN. None without samples.
func directorColumns(c *Cluster, res *guest.Result, m *imapload.Measurements) []results.Column {
	if len(res.Samples) == 0 || len(m.Intervals) == 0 || m.Interval <= 0 {
		return nil
	}
	nb := len(c.Backends)
	n := len(m.Intervals)
	cols := make([]results.Column, nb+2)
	for b := range nb {
		cols[b].Name = "director_users." + backendName(b)
	}
	cols[nb].Name, cols[nb+1].Name = "director_users_unassigned", "director_users_host_down"
	for i := range cols {
		cols[i].Values = make([]float64, n)
		for j := range cols[i].Values {
			cols[i].Values[j] = math.NaN()
		}
	}
	index := make(map[netip.Addr]int, nb)
	for b, a := range c.Backends {
		index[a] = b
	}
	for _, x := range res.Samples {
		// The sample belongs to the interval whose end is nearest.
		i := int((x.At-m.Warmup+m.Interval/2)/m.Interval) - 1
		if i < 0 || i >= n || x.Error != "" || !math.IsNaN(cols[nb].Values[i]) {
			continue
		}
		users, err := parseHostList(x.Output)
		if err != nil {
			continue
		}
		total, down := 0, 0
		for b := range nb {
			cols[b].Values[i] = 0
		}
		for a, u := range users {
			b, ok := index[a]
			if !ok {
				continue
			}
			cols[b].Values[i] = float64(u)
			total += u
			if !c.serving(b, x.At) {
				down += u
			}
		}
		cols[nb].Values[i] = float64(max(c.Config.Population.Users-total, 0))
		cols[nb+1].Values[i] = float64(down)
	}
	return cols
}

// parseHostList reads the director's reply to HOST-LIST after its
// handshake line: per host, a line of tab-separated fields starting with
// its address, vhost count and users (see directorHostList). It returns
// the users per host.
func parseHostList(out string) (map[netip.Addr]int, error) {
	users := map[netip.Addr]int{}
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimRight(l, "\r")
		if l == "" || strings.HasPrefix(l, "VERSION\t") {
			continue
		}
		f := strings.Split(l, "\t")
		if len(f) < 3 {
			return nil, fmt.Errorf("testbed: director HOST-LIST line %q has fewer than 3 fields", l)
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil {
			return nil, fmt.Errorf("testbed: director HOST-LIST line %q: %w", l, err)
		}
		u, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, fmt.Errorf("testbed: director HOST-LIST line %q: users: %w", l, err)
		}
		users[a] = u
	}
	if len(users) == 0 {
		return nil, errors.New("testbed: the director listed no hosts")
	}
	return users, nil
}

// serving reports whether backend b's Dovecot serves at offset at from
// the load's start, by the run's faults and actions: a crash, a hang or a
// stop takes it out (the model's backends that are not up), a recover
// after a hang and a start bring it back. Events at the same time apply
// in the guest's order, faults before actions.
func (c *Cluster) serving(b int, at time.Duration) bool {
	up, hung := true, false
	name := backendName(b)
	for _, f := range c.timeline() {
		if f.Service != name || f.At > at {
			continue
		}
		switch f.Kind {
		case "crash", "stop":
			up, hung = false, false
		case "hang":
			up, hung = false, true
		case "recover":
			if hung {
				up, hung = true, false
			}
		case "start":
			up, hung = true, false
		}
	}
	return up
}

// cpuShares returns the share of the guest's CPU time that was busy in
// the measured period, and the share the load generator (the guest's
// PID 1, which reads the counters) used itself, from /proc/stat's cpu
// line and /proc/self/stat (proc(5)) read at the period's start and end;
// NaN when they were not read (the hosts topology).
func cpuShares(res *guest.Result) (busy, load float64) {
	total := func(kvs []guest.KV) (all, idle uint64, ok bool) {
		for _, l := range strings.Split(counters(kvs, "stat"), "\n") {
			f := strings.Fields(l)
			if len(f) < 5 || f[0] != "cpu" {
				continue
			}
			for i, x := range f[1:] {
				n, err := strconv.ParseUint(x, 10, 64)
				if err != nil {
					return 0, 0, false
				}
				if i == 7 {
					break // steal; guest and guest_nice are in user already
				}
				all += n
				if i == 3 || i == 4 {
					idle += n // idle and iowait
				}
			}
			return all, idle, true
		}
		return 0, 0, false
	}
	self := func(kvs []guest.KV) (uint64, bool) {
		s := counters(kvs, "self")
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			return 0, false
		}
		// After the command's name: state, then 10 fields, then utime
		// and stime.
		f := strings.Fields(s[i+1:])
		if len(f) < 13 {
			return 0, false
		}
		u, err1 := strconv.ParseUint(f[11], 10, 64)
		st, err2 := strconv.ParseUint(f[12], 10, 64)
		return u + st, err1 == nil && err2 == nil
	}
	a0, i0, ok0 := total(res.CountersBefore)
	a1, i1, ok1 := total(res.CountersAfter)
	if !ok0 || !ok1 || a1 <= a0 {
		return math.NaN(), math.NaN()
	}
	d := float64(a1 - a0)
	busy = 1 - float64(i1-i0)/d
	s0, ok0 := self(res.CountersBefore)
	s1, ok1 := self(res.CountersAfter)
	if !ok0 || !ok1 {
		return busy, math.NaN()
	}
	return busy, float64(s1-s0) / d
}
