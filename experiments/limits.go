package experiments

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mailsim/mailsim/results"
)

// Limits on what one spec may ask for. Each keeps a valid-looking spec from
// exhausting the machine's memory, overflowing the simulator's clock
// (sim.Time counts nanoseconds in an int64: 292 years) or running for ever;
// a spec beyond one is refused before anything runs, naming the key.
const (
	// MaxSpecBytes is the largest spec file read: the catalogue's largest
	// is under 3 KB, and a sweep of MaxSweepPoints values fits in well
	// under a megabyte.
	MaxSpecBytes = 1 << 20

	// MaxDuration is the longest any duration key may be unless its own
	// max tag says otherwise: a year. A run's warm-up plus its duration is
	// then at most two years, and a mean delay drawn from an exponential
	// distribution (at most ~40 times its mean) stays far from overflow.
	MaxDuration = 365 * 24 * time.Hour

	// MaxDemand is the longest a single CPU demand or NFS call may take in
	// the spec's worst case (the largest folder, the largest fault
	// factor): a century, so that it can be added to any instant of a run
	// (at most two years) without overflowing the clock.
	MaxDemand = 100 * 365 * 24 * time.Hour

	// MaxRuns is the most runs one experiment may plan: sweep points ×
	// strategies × replicas. Each planned run holds a copy of the spec
	// (a few kilobytes) and a line of the result set's manifest, and the
	// default spec's runs take seconds each: 100,000 of them are days of
	// computing.
	MaxRuns = 100_000

	// MaxSamples is the most time-series samples per run
	// (run.duration / run.sample_interval): a day at one a second is
	// 86,400.
	MaxSamples = 100_000

	// MaxListings is the most listings the listing probe may make in one
	// run ((run.warmup + run.duration) / probe.listing_interval).
	MaxListings = 100_000

	// MaxListedEntries is the most entries the listing probe may list in
	// one run (listings × probe.listing_entries): each is one or two
	// simulated NFS calls, and a billion calls take minutes.
	MaxListedEntries = 1_000_000_000

	// MaxFaultFactor is the largest slowdown factor of a slow or nfs-slow
	// fault (the factor key's max tag says the same).
	MaxFaultFactor = 1000

	// MaxCallsPerCommand is the most NFS calls one command may make in
	// the spec's worst case: reading the index of the largest folder
	// (workload.max_folder_messages × cluster.index_bytes_per_message) and
	// writing a message, rsize bytes per call. The calls of a command in
	// progress are held in memory.
	MaxCallsPerCommand = 1_000_000
)

// maxFolderMessagesEver bounds a folder's message count during a run: the
// model counts messages in an int32, and deliveries grow folders beyond
// workload.max_folder_messages.
const maxFolderMessagesEver = math.MaxInt32

// Per-run memory, measured with the model's benchmark
// (go test ./model -run '^$' -bench 'BenchmarkCluster/(3000|20000)users$'
// -benchtime 1x, default workload: 4 folders besides INBOX, one backend
// per user): the live heap after a run was 1,059 bytes per user with 3,000
// users and 875 bytes per user with 20,000. The estimate takes the larger
// population's figure, split by what grows with the folders (a mailbox's
// state, 40 bytes, and its two attribute-cache entries, 16 bytes each), so
// that it stays below what a run really uses: random routing keeps a user's
// attributes on several backends, and the Go heap grows to about twice the
// live data before it is collected. The check refuses only what cannot fit.
const (
	memPerMailbox = 40 + 2*16
	memPerUser    = 875 - 5*memPerMailbox
	// memPerCall is one pending NFS call of a command (nfsReq: 24 bytes).
	memPerCall = 24
	// memPerSampleBackend is one backend's share of a time-series
	// sample: its logins and user-table count in the model's sample (8 +
	// 4 bytes) and their two columns in the run's record (2 × 8 bytes).
	memPerSampleBackend = 28
)

// MemoryEnv names the environment variable that, set to a number of
// bytes, replaces the machine's memory in the check that a run fits.
const MemoryEnv = "MAILSIM_MEMORY"

// machineMemory returns the memory a run may use, in bytes, and where that
// figure comes from; 0 when it is unknown (then nothing is refused).
// Tests replace it.
var machineMemory = sync.OnceValues(readMachineMemory)

// readMachineMemory reads MemoryEnv, else the smaller of the machine's
// MemTotal and the memory limit of its control group.
func readMachineMemory() (int64, string) {
	if v := os.Getenv(MemoryEnv); v != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err == nil && n > 0 {
			return n, MemoryEnv
		}
	}
	var (
		mem   int64
		where string
	)
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb > 0 {
					mem, where = kb<<10, "MemTotal"
				}
			}
		}
	}
	for _, cg := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(cg)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err == nil && n > 0 && n < 1<<60 && (mem == 0 || n < mem) {
			mem, where = n, "the control group's memory limit"
		}
	}
	return mem, where
}

// memoryEstimate is what one run of s needs at least, in bytes, and the
// key most of it comes from.
func memoryEstimate(s *Spec) (float64, string, string) {
	users, key := float64(s.Workload.Users), "workload.users"
	if s.Plan.Users > s.Workload.Users {
		users, key = float64(s.Plan.Users), "plan.users"
	}
	perUser := float64(memPerUser + (1+s.Workload.Folders)*memPerMailbox)
	pop := users * perUser
	what := fmt.Sprintf("%.0f users at %.0f bytes each", users, perUser)
	// One listing's calls are pending at once.
	calls := float64(s.Probe.ListingEntries) * 2
	listing := calls * memPerCall
	if listing > pop {
		key = "probe.listing_entries"
		what = fmt.Sprintf("%d listed entries with up to 2 NFS calls each", s.Probe.ListingEntries)
	}
	// The time series keeps per-backend columns for every sample.
	samples := float64(s.Run.Duration) / float64(max(s.Run.SampleInterval, 1))
	series := samples * float64(s.Cluster.Backends) * memPerSampleBackend
	if series > max(pop, listing) {
		key = "run.sample_interval"
		what = fmt.Sprintf("%.0f samples of %d backends' columns", samples, s.Cluster.Backends)
	}
	return pop + listing + series, key, what
}

// gib renders a byte count in GiB.
func gib(b float64) string { return fmt.Sprintf("%.1f GiB", b/(1<<30)) }

// ReadSpecFile reads a spec file, refusing what is not a regular file
// (a device such as /dev/zero, a pipe, a folder) and files larger than
// [MaxSpecBytes].
func ReadSpecFile(path string) ([]byte, error) {
	// Look before opening: opening a named pipe waits for a writer.
	if st, err := os.Stat(path); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, &os.PathError{Op: "read", Path: path, Err: errors.New("not a regular file")}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &os.PathError{Op: "read", Path: path, Err: errors.New("not a regular file")}
	}
	if st.Size() > MaxSpecBytes {
		return nil, &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("%d bytes, more than a spec may have (%d)", st.Size(), MaxSpecBytes)}
	}
	return ReadSpec(f, path)
}

// ReadSpec reads a spec from r, refusing more than [MaxSpecBytes]; name
// names r in the error.
func ReadSpec(r io.Reader, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxSpecBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxSpecBytes {
		return nil, &os.PathError{Op: "read", Path: name, Err: fmt.Errorf("more than %d bytes, more than a spec may have", MaxSpecBytes)}
	}
	return b, nil
}

// validateRuns checks the number of runs s plans with its sweep of points
// points, against [MaxRuns].
func (s *Spec) validateRuns(points int) []FieldError {
	if runs := float64(points) * float64(len(s.Strategies)) * float64(s.Replicas); runs > MaxRuns {
		return []FieldError{{Path: "replicas", Msg: fmt.Sprintf("%d sweep points × %d strategies × %d replicas is %.0f runs, more than the %d an experiment may plan", points, len(s.Strategies), s.Replicas, runs, MaxRuns)}}
	}
	return nil
}

// validateLimits checks s against the limits above and the machine's
// memory.
func (s *Spec) validateLimits() []FieldError {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if err := results.ValidID(s.Name); err != nil {
		add("name", "name %q cannot name the result set's folder: use letters, digits, '.', '_' and '-', starting with a letter or digit, as in a run ID", s.Name)
	}
	r := s.Run
	if n := float64(r.Duration) / float64(r.SampleInterval); n > MaxSamples {
		add("run.sample_interval", "sampling every %v for %v is %.0f samples per run, more than %d; sample less often", r.SampleInterval, r.Duration, n, MaxSamples)
	}
	if p := s.Probe; p.ListingEntries > 0 {
		listings := float64(r.Warmup+r.Duration) / float64(p.ListingInterval)
		switch {
		case listings > MaxListings:
			add("probe.listing_interval", "listing every %v for %v is %.0f listings per run, more than %d; list less often", p.ListingInterval, r.Warmup+r.Duration, listings, MaxListings)
		case listings*float64(p.ListingEntries) > MaxListedEntries:
			add("probe.listing_entries", "%.0f listings of %d entries is %.3g entries listed per run, more than %d; list fewer entries or less often", listings, p.ListingEntries, listings*float64(p.ListingEntries), MaxListedEntries)
		}
	}
	if n := len(s.Workload.Diurnal); n > 0 {
		peak := 0.0
		for _, a := range s.Workload.Diurnal {
			peak = max(peak, a)
		}
		if peak == 0 {
			add("workload.diurnal", "diurnal activity is zero all day; give at least one hour a positive activity")
		}
	}
	m := s.Workload.Mix
	if m.Status+m.Fetch+m.FetchBody+m.Store+m.Expunge+m.Append+m.Search+m.Select == 0 {
		add("workload.mix", "every command of the mix has weight 0; give at least one a positive weight")
	}
	errs = append(errs, s.validateOverflow()...)
	if mem, where := machineMemory(); mem > 0 {
		need, key, what := memoryEstimate(s)
		if need > float64(mem) {
			add(key, "a run needs at least %s (%s), more than this machine's %s (%s; %s=BYTES overrides it)", gib(need), what, gib(float64(mem)), where, MemoryEnv)
		}
	}
	return errs
}

// validateOverflow checks that no product of a duration and a factor the
// spec sets can exceed [MaxDemand] (and so overflow the simulator's clock),
// and that no command makes more than [MaxCallsPerCommand] NFS calls.
func (s *Spec) validateOverflow() []FieldError {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	limit := float64(MaxDemand)
	// The largest slowdowns, and the faults that set them.
	slow, nfsSlow := 1.0, 1.0
	slowKey, nfsSlowKey := "", ""
	for i, f := range s.Faults {
		switch {
		case f.Kind == "slow" && f.Factor > slow:
			slow, slowKey = f.Factor, fmt.Sprintf("faults[%d].factor", i)
		case f.Kind == "nfs-slow" && f.Factor > nfsSlow:
			nfsSlow, nfsSlowKey = f.Factor, fmt.Sprintf("faults[%d].factor", i)
		}
	}
	// A command's CPU demand: its fixed part, a TLS handshake and a proxied
	// login, and per message of the largest folder possible, its SELECT or
	// SEARCH scan and an index fsck (a SELECT scan).
	c := s.Cluster.CPU
	fixed := max(c.Login, c.Select, c.Status, c.List, c.Fetch, c.FetchBody, c.Store, c.Expunge, c.Append, c.Search, c.Idle, c.Logout, c.Deliver) + c.TLSHandshake + c.ProxyLogin
	perMsg, perMsgKey := c.SelectPerMessage, "cluster.cpu.select_per_message"
	if c.SearchPerMessage > perMsg {
		perMsg, perMsgKey = c.SearchPerMessage, "cluster.cpu.search_per_message"
	}
	perMsg += c.SelectPerMessage
	cpu := float64(fixed) + float64(perMsg)*maxFolderMessagesEver
	switch {
	case cpu > limit:
		add(perMsgKey, "a command's CPU demand can reach %.3g s (per-message times × %d messages), more than %s", cpu/1e9, maxFolderMessagesEver, formatDuration(int64(MaxDemand)))
	case cpu*slow > limit:
		add(slowKey, "factor %g makes a command's CPU demand reach %.3g s, more than %s", slow, cpu*slow/1e9, formatDuration(int64(MaxDemand)))
	}
	// An NFS call's service time: the slowest procedure, a full READDIR
	// reply (at most 420 entries), and a full READ or WRITE payload.
	n := s.NFS
	v := n.Service
	service := max(v.Getattr, v.Lookup, v.Access, v.Read, v.Write, v.Commit, v.Create, v.Remove, v.Rename, v.Setattr, v.Readdir, v.Readdirplus, v.Lock, v.Unlock) +
		420*max(v.ReaddirPerEntry, v.ReaddirplusPerEntry)
	transfer := float64(n.Client.Rsize) / n.BytesPerSec * 1e9
	call := float64(service) + transfer
	switch {
	case call > limit:
		add("nfs.bytes_per_sec", "an NFS call can take %.3g s (%d bytes at %g bytes/s), more than %s", call/1e9, n.Client.Rsize, n.BytesPerSec, formatDuration(int64(MaxDemand)))
	case call*nfsSlow > limit:
		add(nfsSlowKey, "factor %g makes an NFS call take up to %.3g s, more than %s", nfsSlow, call*nfsSlow/1e9, formatDuration(int64(MaxDemand)))
	}
	if b := s.Cluster.Backends; b > 1 && float64(s.Cluster.ClockSkew)*float64(b-1) > limit {
		add("cluster.clock_skew", "clock skew %v over %d backends overflows the simulator's clock", s.Cluster.ClockSkew, b)
	}
	if d := s.Dovecot; float64(d.LoginProxyMaxReconnects)*float64(s.Clients.LoginProxyReconnectInterval) > limit {
		add("dovecot.login_proxy_max_reconnects", "%d reconnects %v apart take more than %s", d.LoginProxyMaxReconnects, s.Clients.LoginProxyReconnectInterval, formatDuration(int64(MaxDemand)))
	}
	w := s.Workload
	indexBytes := float64(w.MaxFolderMessages) * float64(s.Cluster.IndexBytesPerMessage)
	calls := (indexBytes + w.MessageBytesMean) / float64(n.Client.Rsize)
	if calls > MaxCallsPerCommand {
		key := "cluster.index_bytes_per_message"
		if w.MessageBytesMean > indexBytes {
			key = "workload.message_bytes_mean"
		}
		add(key, "a command can read or write %.3g bytes, %.3g NFS calls of rsize %d bytes, more than %d", indexBytes+w.MessageBytesMean, calls, n.Client.Rsize, MaxCallsPerCommand)
	}
	return errs
}
