//go:build linux

package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/mailsim/mailsim/internal/buildinfo"
	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
)

// Operation names, as they appear in reports and profiles.
const (
	// OpDeliver writes a message to tmp/ and renames it into new/.
	OpDeliver = "deliver"
	// OpNewToCur renames a message from new/ to cur/.
	OpNewToCur = "new_to_cur"
	// OpReaddir lists cur/: open, read all entries, close.
	OpReaddir = "readdir"
	// OpReaddirStat lists cur/ and lstats every entry.
	OpReaddirStat = "readdir_stat"
	// OpRebuild lists cur/ and reads every message's header block,
	// parsing Subject, From and Date: what an index rebuild costs.
	OpRebuild = "index_rebuild"
	// OpHeaderRead is one message's share of a rebuild: open, read the
	// header block, close, parse.
	OpHeaderRead = "header_read"
	// OpFlag changes a message's flags by renaming it within cur/.
	OpFlag = "flag_change"
	// OpExpunge unlinks a message from cur/.
	OpExpunge = "expunge"
	// OpLogAppend appends a record to the index-log-like file and fsyncs
	// it (unless mail_fsync=never).
	OpLogAppend = "log_append"
	// OpDotlock creates a dotlock with O_EXCL and removes it again.
	OpDotlock = "dotlock"
)

// opOrder is the order of operations in reports and profiles.
var opOrder = []string{OpDeliver, OpNewToCur, OpReaddir, OpReaddirStat, OpRebuild, OpHeaderRead, OpFlag, OpExpunge, OpLogAppend, OpDotlock}

// folderOps are the operations over a whole folder.
var folderOps = map[string]bool{OpReaddir: true, OpReaddirStat: true, OpRebuild: true}

// Scope returns "folder" for an operation over a whole folder and
// "message" for one on a single message or file.
func Scope(op string) string {
	if folderOps[op] {
		return "folder"
	}
	return "message"
}

// Config configures a replay. Zero fields take the defaults given.
type Config struct {
	// Dir is the directory to create the scratch folder in.
	Dir string
	// Messages lists the folder sizes to measure (default 1000, 10000).
	Messages []int
	// Clients is the number of concurrent replayers in the contention
	// phase; 1 (the default) skips that phase.
	Clients int
	// Seed seeds the generated messages and every random choice.
	Seed uint64
	// MailFsync is the fsync policy, named after Dovecot's mail_fsync:
	// always, optimized or never (default optimized, Dovecot's default).
	MailFsync string
	// MaxSize caps message bodies in bytes (default DefaultMaxSize).
	MaxSize int
	// Reps is how often each whole-folder operation is timed per folder
	// size (default 9).
	Reps int
	// OpsPerPoint is how many per-message operations of each kind are
	// timed per folder size (default 200, at most half the folder).
	OpsPerPoint int
	// Cold is "no" (the default: whole-folder operations are timed warm
	// only and the kernel's caches are left alone), "yes" (timed cold too,
	// dropping the caches before each cold timing; an error when they
	// cannot be dropped) or "auto" (cold when the caches can be dropped,
	// that is as root). Dropping the caches empties them for the whole
	// machine, not just the scratch folder: every program on it reads its
	// files from disk again, so a live mail server should never be asked.
	Cold string
	// ColdReps is how often each whole-folder operation is timed cold per
	// folder size (default 7).
	ColdReps int
	// DropCaches drops the page, dentry and inode caches before a cold
	// measurement. Nil means the kernel's: sync, then "3" written to
	// /proc/sys/vm/drop_caches.
	DropCaches func() error
	// Keep leaves the scratch folder in place at the end.
	Keep bool
	// Join, when set, names an existing scratch folder under Dir (made by
	// a replay on another host with Keep) to run the contention phase on,
	// instead of making and measuring a new one. A joined folder is never
	// removed.
	Join string
	// ContentionOps is how many operations each replayer runs in the
	// contention phase (default 400).
	ContentionOps int
	// ContentionTime, when positive, makes each replayer run until this
	// much time has passed instead, so that replayers on several hosts
	// overlap.
	ContentionTime time.Duration
	// Version, Machine and Where go into the profile's metadata. Version
	// defaults to the running mailsim's build (see package buildinfo).
	Version, Machine, Where string
	// WallTime makes whole-folder timings plain wall-clock time. By
	// default the time the measuring thread spent waiting for a CPU (run
	// by other work on a busy machine) is subtracted, where the kernel
	// reports it, so that long operations are not penalised for being
	// preempted more often than short ones.
	WallTime bool
	// Progress receives a line per phase (nil: none).
	Progress io.Writer
}

func (c *Config) defaults() error {
	if len(c.Messages) == 0 {
		c.Messages = []int{1000, 10000}
	}
	for _, n := range c.Messages {
		if n < 2 {
			return fmt.Errorf("replay: folder size %d: need at least 2 messages", n)
		}
	}
	c.Messages = slices.Clone(c.Messages)
	slices.Sort(c.Messages)
	c.Messages = slices.Compact(c.Messages)
	if c.Clients <= 0 {
		c.Clients = 1
	}
	if c.MailFsync == "" {
		c.MailFsync = FsyncOptimized
	}
	if !ValidFsync(c.MailFsync) {
		return fmt.Errorf("replay: mail_fsync %q: want always, optimized or never", c.MailFsync)
	}
	if c.MaxSize == 0 {
		c.MaxSize = DefaultMaxSize
	}
	if c.Reps <= 0 {
		c.Reps = 9
	}
	if c.OpsPerPoint <= 0 {
		c.OpsPerPoint = 200
	}
	if c.ColdReps <= 0 {
		c.ColdReps = 7
	}
	if c.Cold == "" {
		c.Cold = "no"
	}
	if c.Cold != "auto" && c.Cold != "yes" && c.Cold != "no" {
		return fmt.Errorf("replay: cold %q: want auto, yes or no", c.Cold)
	}
	if c.ContentionOps <= 0 {
		c.ContentionOps = 400
	}
	if c.Version == "" {
		c.Version = buildinfo.String()
	}
	if c.Machine == "" {
		c.Machine = fmt.Sprintf("%d CPUs, %s/%s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	}
	return nil
}

// Checkpoints returns the folder sizes a sweep measures: the requested
// sizes, two sizes spaced evenly on a log scale between each pair of them,
// and a quarter and a half of the smallest, so that every fit has more
// points than parameters and checking it against its own measurements
// means something.
func Checkpoints(sizes []int) []int {
	s := slices.Clone(sizes)
	slices.Sort(s)
	s = slices.Compact(s)
	if len(s) == 0 {
		return nil
	}
	var out []int
	if s[0] >= 8 {
		out = append(out, s[0]/4, s[0]/2)
	}
	for i, n := range s {
		if i > 0 {
			a, b := float64(s[i-1]), float64(n)
			for k := 1; k <= 2; k++ {
				out = append(out, int(math.Round(a*math.Pow(b/a, float64(k)/3))))
			}
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Point is the measurement of one operation at one folder size and cache
// state.
type Point struct {
	// Op and Cache name the operation and the cache state.
	Op, Cache string
	// Entries is the mean folder size while the operation ran.
	Entries int
	// Bytes is the mean bytes per operation.
	Bytes float64
	// Requested marks a folder size the user asked for (the others are
	// checkpoints on the way).
	Requested bool
	Summary
}

// PerEntry returns the mean cost per folder entry of a whole-folder
// operation, and zero for others.
func (p Point) PerEntry() time.Duration {
	if !folderOps[p.Op] || p.Entries == 0 {
		return 0
	}
	return time.Duration(math.Round(float64(p.Mean) / float64(p.Entries)))
}

// Result is what a replay measured.
type Result struct {
	// Scratch is the scratch folder's path; it no longer exists unless it
	// was kept or joined.
	Scratch string
	// Kept reports whether the scratch folder was left in place.
	Kept bool
	// Cleaned lists leftover scratch folders of interrupted runs removed
	// before starting.
	Cleaned []string
	// FSType is the file system type of Dir.
	FSType string
	// RunqueueExcluded reports whether whole-folder timings exclude the
	// time spent waiting for a CPU (see Config.WallTime).
	RunqueueExcluded bool
	// Cold reports whether cold measurements were made, and ColdNote why
	// not.
	Cold     bool
	ColdNote string
	// Points holds the sweep's measurements, ordered by operation, cache
	// state and folder size.
	Points []Point
	// Anomalies counts unexpected errors by operation and error text
	// ("index_rebuild: too many levels of symbolic links"), sorted.
	Anomalies []Anomaly
	// Profile is the calibration profile fitted to Points.
	Profile *nfsmodel.Profile
	// Contention is the contention phase's report, when one ran.
	Contention *Contention
}

// Anomaly is an error seen Count times.
type Anomaly struct {
	// What names the operation and the error.
	What string
	// Count is how often it was seen.
	Count int
}

type sample struct {
	entries, bytes int
	d              time.Duration
}

// seriesKey names a series of timings: an operation under a cache state at
// one checkpoint, or, for deliveries, in one size class across all
// checkpoints (cp -1).
type seriesKey struct {
	op, cache string
	cp, class int
}

// sizeClass groups message sizes by powers of four from 2 KiB: below 2
// KiB, 2–8 KiB, 8–32 KiB, 32–128 KiB, 128–512 KiB and larger.
func sizeClass(bytes int) int {
	c := 0
	for lim := 2 << 10; bytes >= lim && c < 5; lim *= 4 {
		c++
	}
	return c
}

// folder is one Maildir of the sweep.
type folder struct {
	name  string
	size  int // target size
	cp    int // checkpoint index
	md    *maildir
	cur   []string // names in cur/
	logfd int
}

// sweep is the state of one measuring run.
type sweep struct {
	cfg       Config
	ctx       context.Context
	folders   []*folder
	msgRand   *rand.Rand
	pickRand  *rand.Rand
	host      string
	next      int // next message number
	buf, hdr  []byte
	series    map[seriesKey][]sample
	anomalies map[string]int
	start     time.Time
	rq        *runqueueClock
}

// Run performs a replay: it makes a scratch folder under cfg.Dir, builds
// one Maildir per checkpoint size in it, times the operations, fits a
// profile, optionally runs the contention phase on the largest Maildir,
// and removes the scratch folder unless cfg.Keep. When ctx is cancelled it
// stops, removes the folder (unless kept) and returns ctx's error.
func Run(ctx context.Context, cfg Config) (res *Result, err error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if err := CheckParent(cfg.Dir); err != nil {
		return nil, err
	}
	res = &Result{FSType: FSType(cfg.Dir)}
	if cfg.Join != "" {
		return res, runJoined(ctx, cfg, res)
	}
	res.Cleaned, _, _ = Clean(cfg.Dir, CleanStale)
	sc, err := CreateScratch(cfg.Dir)
	if err != nil {
		return nil, err
	}
	res.Scratch = sc.Path
	defer func() {
		if cfg.Keep {
			res.Kept = true
			if kerr := sc.Keep(); kerr != nil && err == nil {
				err = kerr
			}
			if cerr := sc.Close(); cerr != nil && err == nil {
				err = cerr
			}
			return
		}
		if rerr := sc.Remove(); rerr != nil && err == nil {
			err = rerr
		}
	}()
	cold, note, err := coldAllowed(cfg)
	if err != nil {
		return res, err
	}
	res.Cold, res.ColdNote = cold, note

	host, _ := os.Hostname()
	s := &sweep{
		cfg:       cfg,
		ctx:       ctx,
		msgRand:   sim.Stream(cfg.Seed, "replay/messages"),
		pickRand:  sim.Stream(cfg.Seed, "replay/picks"),
		host:      sanitizeHost(host),
		hdr:       make([]byte, HeaderBlock),
		series:    map[seriesKey][]sample{},
		anomalies: map[string]int{},
		start:     time.Now(),
	}
	defer s.close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if !cfg.WallTime {
		s.rq = openRunqueueClock()
	}
	defer s.rq.close()
	res.RunqueueExcluded = s.rq != nil
	cps := Checkpoints(cfg.Messages)
	for i, n := range cps {
		f := &folder{name: folderPrefix + strconv.Itoa(n), size: n, cp: i, logfd: -1}
		if f.md, err = openMaildir(sc, f.name, true, cfg.MailFsync); err != nil {
			return res, err
		}
		s.folders = append(s.folders, f)
		if f.logfd, err = f.md.openLog(); err != nil {
			return res, err
		}
	}
	if err := s.measure(cold); err != nil {
		return res, err
	}
	s.progress("done measuring")
	res.Points = s.points(cps)
	res.Anomalies = sortedAnomalies(s.anomalies)
	res.Profile, err = s.profile(res)
	if err != nil {
		return res, err
	}
	if cfg.Clients > 1 {
		big := s.folders[len(s.folders)-1]
		s.progress("contention: %d replayers on %s (%d messages)", cfg.Clients, big.name, len(big.cur))
		res.Contention, err = contend(ctx, cfg, sc, big.name, s.host)
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

func (s *sweep) close() {
	for _, f := range s.folders {
		if f.logfd >= 0 {
			syscall.Close(f.logfd)
		}
		f.md.close()
	}
}

func runJoined(ctx context.Context, cfg Config, res *Result) error {
	sc, err := OpenScratch(cfg.Dir, cfg.Join)
	if err != nil {
		return err
	}
	defer sc.Close()
	res.Scratch, res.Kept = sc.Path, true
	name, err := largestFolder(sc)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	res.Contention, err = contend(ctx, cfg, sc, name, sanitizeHost(host))
	return err
}

func (s *sweep) progress(format string, args ...any) {
	if s.cfg.Progress != nil {
		fmt.Fprintf(s.cfg.Progress, "replay: %6.1fs "+format+"\n", append([]any{time.Since(s.start).Seconds()}, args...)...)
	}
}

func (s *sweep) record(f *folder, op, cache string, entries, bytes int, d time.Duration) {
	k := seriesKey{op, cache, f.cp, 0}
	if op == OpDeliver {
		k.cp, k.class = -1, sizeClass(bytes)
	}
	s.series[k] = append(s.series[k], sample{entries, bytes, d})
}

func (s *sweep) anomaly(op string, err error) {
	s.anomalies[op+": "+errText(err)]++
}

func errText(err error) string {
	if e := errno(err); e != 0 {
		return e.Error()
	}
	return err.Error()
}

// measure builds every folder and times every operation on them. Each
// kind of timing runs in rounds that visit the folders, and the
// operations within a folder, in a seeded random order, so that a slow
// phase of the machine (a journal commit, another tenant's burst of I/O
// or CPU) spreads over all folder sizes and operations instead of landing
// on whichever happened to run then and bending the fit.
func (s *sweep) measure(cold bool) error {
	// The folders grow together, a slice of each per round, so that
	// their deliveries meet the same conditions and their directories end
	// up laid out alike on disk. The largest folder gains about one
	// directory block (50 entries) per round, so every folder's directory
	// is spread over the disk between message data the way a spool that
	// receives mail for many users at once spreads it; a folder built in
	// one go would have a compact directory and list faster cold than any
	// real one.
	total, largest := 0, 0
	for _, f := range s.folders {
		total += f.size
		largest = max(largest, f.size)
	}
	rounds := min(max(largest/50, 1), 5000)
	s.progress("delivering %d messages to %d folders in %d rounds", total, len(s.folders), rounds)
	for r := 1; r <= rounds; r++ {
		for _, f := range s.shuffledFolders() {
			if err := s.fill(f, (f.size*r+rounds-1)/rounds); err != nil {
				return err
			}
		}
		if r%max(rounds/10, 1) == 0 && r < rounds {
			s.progress("delivered %d%%", 100*r/rounds)
		}
	}
	for _, f := range s.folders {
		// One untimed listing so that "warm" means warm.
		if _, err := f.md.list("cur"); err != nil {
			return fmt.Errorf("replay: list %s/cur: %w", f.md.path, err)
		}
	}
	s.progress("timing listings and rebuilds (%d rounds)", s.cfg.Reps)
	for range s.cfg.Reps {
		for _, f := range s.shuffledFolders() {
			for _, op := range s.shuffled(OpReaddir, OpReaddirStat, OpRebuild) {
				if err := s.folderOp(f, op, nfsmodel.Warm); err != nil {
					return err
				}
			}
		}
	}
	s.progress("timing flag changes, expunges, log appends and dotlocks (%d rounds)", s.cfg.OpsPerPoint)
	owner := []byte(strconv.Itoa(os.Getpid()) + "\n")
	rec := make([]byte, logRecordSize)
	rounds = s.cfg.OpsPerPoint
	for j := range rounds {
		for _, f := range s.shuffledFolders() {
			// A small folder gets at most size/2 of each operation,
			// spread evenly over the rounds so that its timings span
			// the same stretch of time as everyone else's.
			k := min(rounds, f.size/2)
			if j*k/rounds == (j+1)*k/rounds {
				continue
			}
			for _, op := range s.shuffled(OpFlag, OpExpunge, OpLogAppend, OpDotlock) {
				if err := s.ctx.Err(); err != nil {
					return err
				}
				var err error
				switch op {
				case OpFlag:
					err = s.flagOp(f)
				case OpExpunge:
					err = s.expungeOp(f)
				case OpLogAppend:
					for b := range rec {
						rec[b] = byte(j + b)
					}
					err = s.logOp(f, rec)
				case OpDotlock:
					err = s.lockOp(f, owner)
				}
				if err != nil {
					return err
				}
			}
		}
	}
	for _, f := range s.shuffledFolders() {
		if err := s.fill(f, f.size); err != nil {
			return err
		}
	}
	if !cold {
		return nil
	}
	s.progress("timing listings and rebuilds with caches dropped (%d rounds)", s.cfg.ColdReps)
	for range s.cfg.ColdReps {
		for _, f := range s.shuffledFolders() {
			for _, op := range s.shuffled(OpReaddir, OpReaddirStat, OpRebuild) {
				if err := s.dropCaches(); err != nil {
					return err
				}
				if err := s.folderOp(f, op, nfsmodel.Cold); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (s *sweep) dropCaches() error {
	if s.cfg.DropCaches != nil {
		return s.cfg.DropCaches()
	}
	return DropCaches()
}

var newline = []byte{'\n'}

// fill delivers messages until f holds n, then moves them from new/ to
// cur/ as an IMAP server's first look at the folder does.
func (s *sweep) fill(f *folder, n int) error {
	var pending []string
	for len(f.cur)+len(pending) < n {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		i := s.next
		s.next++
		m := NewMessage(s.msgRand, i, s.cfg.MaxSize)
		size := m.Size()
		s.buf = appendBody(append(s.buf[:0], m.Header...), m.BodySize, i*7919)
		name := messageName(epoch.Unix()+int64(i)*97, i%1000000, 1, i, s.host, size, size+bytes.Count(s.buf, newline))
		entries := len(f.cur) + len(pending)
		t0 := time.Now()
		err := f.md.deliver(name, s.buf)
		d := time.Since(t0)
		if err != nil {
			return fmt.Errorf("replay: deliver %s: %w", filepath.Join(f.md.path, "tmp", name), err)
		}
		s.record(f, OpDeliver, nfsmodel.Warm, entries, size, d)
		pending = append(pending, name)
	}
	for _, name := range pending {
		curName := name + ":2,"
		entries := len(f.cur)
		t0 := time.Now()
		err := f.md.moveToCur(name, curName)
		d := time.Since(t0)
		if err != nil {
			return fmt.Errorf("replay: move %s to cur: %w", filepath.Join(f.md.path, "new", name), err)
		}
		s.record(f, OpNewToCur, nfsmodel.Warm, entries, 0, d)
		f.cur = append(f.cur, curName)
	}
	return nil
}

// folderOp times one whole-folder operation.
func (s *sweep) folderOp(f *folder, op, cache string) error {
	if err := s.ctx.Err(); err != nil {
		return err
	}
	// Collect garbage now rather than in the middle of the timing.
	runtime.GC()
	// The run-queue clock is read inside the timed span, so that the
	// wait it subtracts can never exceed the span.
	var w0 time.Duration
	t0 := time.Now()
	if s.rq != nil {
		w0, _ = s.rq.wait()
	}
	names, err := f.md.list("cur")
	if err != nil {
		return fmt.Errorf("replay: list %s/cur: %w", f.md.path, err)
	}
	n := len(names)
	switch op {
	case OpReaddirStat:
		for _, name := range names {
			if err := f.md.lstat(name); err != nil {
				s.anomaly(op, err)
			}
		}
	case OpRebuild:
		for _, name := range names {
			t1 := time.Now()
			h, err := f.md.readHeader(name, s.hdr)
			s.record(f, OpHeaderRead, cache, n, HeaderBlock, time.Since(t1))
			if err != nil {
				s.anomaly(op, err)
				continue
			}
			if h.Subject == "" || h.From == "" || h.Date == "" {
				s.anomaly(op, errors.New("header without Subject, From or Date"))
			}
		}
	}
	var w1 time.Duration
	ok := false
	if s.rq != nil {
		w1, ok = s.rq.wait()
	}
	d := time.Since(t0)
	if ok {
		d = max(0, d-(w1-w0))
	}
	s.record(f, op, cache, n, 0, d)
	return nil
}

// shuffledFolders returns the folders in a random order from the sweep's
// stream.
func (s *sweep) shuffledFolders() []*folder {
	fs := slices.Clone(s.folders)
	s.pickRand.Shuffle(len(fs), func(i, j int) { fs[i], fs[j] = fs[j], fs[i] })
	return fs
}

// pick returns the index of a random message in f's cur/.
func (s *sweep) pick(f *folder) int { return s.pickRand.IntN(len(f.cur)) }

// shuffled returns ops in a random order from the sweep's stream.
func (s *sweep) shuffled(ops ...string) []string {
	s.pickRand.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
	return ops
}

func (s *sweep) flagOp(f *folder) error {
	i := s.pick(f)
	old := f.cur[i]
	nw := flagged(old, 'S')
	entries := len(f.cur)
	t0 := time.Now()
	err := f.md.rename(old, nw)
	d := time.Since(t0)
	if err != nil {
		return fmt.Errorf("replay: flag change of %s: %w", filepath.Join(f.md.path, "cur", old), err)
	}
	s.record(f, OpFlag, nfsmodel.Warm, entries, 0, d)
	f.cur[i] = nw
	return nil
}

func (s *sweep) expungeOp(f *folder) error {
	i := s.pick(f)
	name := f.cur[i]
	entries := len(f.cur)
	t0 := time.Now()
	err := f.md.unlink(name)
	d := time.Since(t0)
	if err != nil {
		return fmt.Errorf("replay: expunge %s: %w", filepath.Join(f.md.path, "cur", name), err)
	}
	s.record(f, OpExpunge, nfsmodel.Warm, entries, 0, d)
	f.cur[i] = f.cur[len(f.cur)-1]
	f.cur = f.cur[:len(f.cur)-1]
	return nil
}

// logRecordSize is the size of one appended record: a transaction-log
// record header (size and type) with a flag update for one UID range,
// about what Dovecot appends for a flag change.
const logRecordSize = 40

func (s *sweep) logOp(f *folder, rec []byte) error {
	t0 := time.Now()
	err := f.md.appendLog(f.logfd, rec)
	d := time.Since(t0)
	if err != nil {
		return fmt.Errorf("replay: append to %s: %w", filepath.Join(f.md.path, logName), err)
	}
	s.record(f, OpLogAppend, nfsmodel.Warm, len(f.cur), len(rec), d)
	return nil
}

func (s *sweep) lockOp(f *folder, owner []byte) error {
	t0 := time.Now()
	err := f.md.lock(owner)
	if err == nil {
		err = f.md.unlock()
	}
	d := time.Since(t0)
	if err != nil {
		return fmt.Errorf("replay: dotlock %s: %w", filepath.Join(f.md.path, lockName), err)
	}
	s.record(f, OpDotlock, nfsmodel.Warm, len(f.cur), 0, d)
	return nil
}

// points turns the recorded series into measurements, in a fixed order.
func (s *sweep) points(cps []int) []Point {
	requested := map[int]bool{}
	for _, n := range s.cfg.Messages {
		requested[n] = true
	}
	keys := make([]seriesKey, 0, len(s.series))
	for k := range s.series {
		keys = append(keys, k)
	}
	rankOf := func(op string) int { return slices.Index(opOrder, op) }
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.op != b.op {
			return rankOf(a.op) < rankOf(b.op)
		}
		if a.cache != b.cache {
			return a.cache == nfsmodel.Warm
		}
		if a.cp != b.cp {
			return a.cp < b.cp
		}
		return a.class < b.class
	})
	out := make([]Point, 0, len(keys))
	for _, k := range keys {
		ss := s.series[k]
		ds := make([]time.Duration, len(ss))
		var ent, byt float64
		for i, x := range ss {
			ds[i] = x.d
			ent += float64(x.entries)
			byt += float64(x.bytes)
		}
		out = append(out, Point{
			Op: k.op, Cache: k.cache,
			Entries:   int(math.Round(ent / float64(len(ss)))),
			Bytes:     byt / float64(len(ss)),
			Requested: k.cp >= 0 && requested[cps[k.cp]],
			Summary:   Summarize(ds),
		})
	}
	return out
}

// profile fits every operation's cost to the trimmed means (see
// [Summary]) of its measured points by least squares with weights
// count/value², so that each point counts by its relative error and a
// better-sampled point counts more. Trimmed means, not means, because a
// shared machine's stalls (another tenant's fsync) land on a few timings
// and would otherwise decide the fit; not medians, because an operation
// with two modes makes the median jump between them. The ratio of means
// to trimmed means is kept as each operation's MeanFactor. Deliveries are
// fitted to fixed plus per-byte cost over size classes; every other
// operation to fixed plus per-entry cost over folder sizes.
func (s *sweep) profile(res *Result) (*nfsmodel.Profile, error) {
	p := &nfsmodel.Profile{Meta: nfsmodel.ProfileMeta{
		MailsimVersion: s.cfg.Version,
		FSType:         res.FSType,
		Where:          s.cfg.Where,
		Machine:        s.cfg.Machine,
		OS:             osRelease(),
		MailFsync:      s.cfg.MailFsync,
		Seed:           s.cfg.Seed,
		Messages:       s.cfg.Messages,
		Date:           time.Now().UTC().Format(time.RFC3339),
		Timing:         "wall time",
	}}
	if res.RunqueueExcluded {
		p.Meta.Timing = "wall time; whole-folder operations less run-queue wait"
	}
	ops, err := FitPoints(res.Points)
	if err != nil {
		return nil, err
	}
	p.Ops = ops
	for _, pt := range res.Points {
		p.Measurements = append(p.Measurements, nfsmodel.Measurement{
			Op: pt.Op, Cache: pt.Cache, Entries: pt.Entries, Bytes: round3(pt.Bytes), Count: pt.Count,
			MeanNs: float64(pt.Mean), TrimmedNs: float64(pt.Trimmed), P50Ns: float64(pt.P50), P99Ns: float64(pt.P99),
		})
	}
	return p, nil
}

// FitPoints fits one cost per operation and cache state to points, in
// the order they first appear: non-negative least squares on the points'
// trimmed means with weights count/value², over fixed plus per-byte cost
// for deliveries and fixed plus per-entry cost for everything else.
func FitPoints(points []Point) ([]nfsmodel.OpCost, error) {
	type opc struct{ op, cache string }
	var ops []opc
	for _, pt := range points {
		if !slices.Contains(ops, opc{pt.Op, pt.Cache}) {
			ops = append(ops, opc{pt.Op, pt.Cache})
		}
	}
	var out []nfsmodel.OpCost
	for _, o := range ops {
		var X [][]float64
		var y, w []float64
		var sumMean, sumTrimmed float64
		for _, pt := range points {
			if pt.Op != o.op || pt.Cache != o.cache {
				continue
			}
			row := []float64{1, float64(pt.Entries), 0}
			if o.op == OpDeliver {
				row = []float64{1, 0, pt.Bytes}
			}
			X = append(X, row)
			y = append(y, float64(pt.Trimmed))
			v := max(float64(pt.Trimmed), 1)
			w = append(w, float64(pt.Count)/(v*v))
			sumMean += float64(pt.Count) * float64(pt.Mean)
			sumTrimmed += float64(pt.Count) * float64(pt.Trimmed)
		}
		if len(X) == 0 {
			continue
		}
		beta, err := FitNonNeg(X, y, w)
		if err != nil {
			return nil, fmt.Errorf("replay: fit %s (%s): %w", o.op, o.cache, err)
		}
		out = append(out, nfsmodel.OpCost{
			Name: o.op, Cache: o.cache, Scope: Scope(o.op),
			FixedNs: round3(beta[0]), PerEntryNs: round3(beta[1]), PerByteNs: round3(beta[2]),
			MeanFactor: round3(sumMean / sumTrimmed),
			Points:     len(X),
		})
	}
	return out, nil
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func sortedAnomalies(m map[string]int) []Anomaly {
	out := make([]Anomaly, 0, len(m))
	for k, v := range m {
		out = append(out, Anomaly{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].What < out[j].What })
	return out
}
