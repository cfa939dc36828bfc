// Package probe measures, on a real Linux NFS client, the windows during
// which one client keeps acting on a cached view of a file or directory
// after another client has changed it. It is the ground truth that
// mailsim's NFS client model (package nfsmodel) is tested against.
//
// A measurement mounts the same export twice as independent clients, A and
// B (on one kernel each mount needs nosharecache so that it has caches of
// its own, as another host would). B observes an object, A changes it, and
// B repeats its observation every poll interval until it sees the change;
// the window is the time from the end of A's change to the start of B's
// first observation that saw it. What decides the window in the kernel:
//
//   - B's cached attributes are trusted until nfs_attribute_cache_expired
//     (fs/nfs/inode.c) says read_cache_jiffies + attrtimeo has passed; then
//     __nfs_revalidate_inode sends a GETATTR and nfs_update_inode applies the
//     reply. attrtimeo starts at acregmin (acdirmin for directories); a
//     revalidation that finds the object changed resets it to the minimum,
//     one that finds it unchanged after the previous timeout ran out doubles
//     it, up to acregmax (acdirmax).
//   - A negative dentry (a name B looked up and did not find) stays valid
//     while nfs_neg_need_reval (fs/nfs/dir.c) finds the parent directory's
//     change attribute unchanged: nfs_check_verifier revalidates the
//     directory's attributes once they expire, so with lookupcache=all a
//     name another client created stays invisible until then. With
//     lookupcache=pos or none every negative dentry is revalidated
//     (NFS_MOUNT_LOOKUP_CACHE_NONEG).
//   - Close-to-open: for NFSv3, nfs_file_open (fs/nfs/file.c) itself sends
//     nothing; the open's path walk calls nfs_lookup_revalidate, whose
//     nfs_lookup_verify_inode forces __nfs_revalidate_inode for LOOKUP_OPEN
//     unless the mount has nocto.
//   - do_setlk (fs/nfs/file.c) calls nfs_zap_caches after taking an fcntl
//     lock, through the lock manager or locally (nolock, local_lock=all),
//     so the next stat revalidates.
//
// The probe needs nothing but system calls, so it can run inside a minimal
// guest as part of a static binary.
package probe

import (
	"fmt"
	"slices"
	"time"
)

// Kinds of measurement.
const (
	// StaleSize: B stat()s a file, A appends to it; how long B's stat()
	// keeps returning the old size (nfs_getattr, nfs_attribute_cache_expired
	// and __nfs_revalidate_inode in fs/nfs/inode.c). noac and actimeo=0
	// are stale_size cases with those options.
	StaleSize = "stale_size"
	// InvisibleCreate: B stat()s a name that does not exist, A creates it;
	// how long B's stat() keeps failing with ENOENT (nfs_lookup_revalidate,
	// nfs_neg_need_reval and nfs_check_verifier in fs/nfs/dir.c).
	InvisibleCreate = "invisible_create"
	// OpenRevalidates: B open()s, fstat()s and closes a file, A appends to
	// it; how long B's open() and fstat() keep returning the old size
	// (close-to-open: nfs_lookup_verify_inode in fs/nfs/dir.c for
	// nfs_file_open; zero unless nocto).
	OpenRevalidates = "open_revalidates"
	// LockRevalidates: B holds the file open, takes an fcntl read lock on
	// its first byte, fstat()s and unlocks; A appends; how long B's fstat()
	// under the lock keeps returning the old size (do_setlk in
	// fs/nfs/file.c zaps the caches: zero).
	LockRevalidates = "lock_revalidates"
)

// Kinds lists the kinds of measurement.
var Kinds = []string{StaleSize, InvisibleCreate, OpenRevalidates, LockRevalidates}

// Defaults of a [Case]'s zero fields.
const (
	// DefaultPoll is B's interval between observations after the change.
	DefaultPoll = 100 * time.Millisecond
	// DefaultRepeat is the number of samples of a case.
	DefaultRepeat = 3
)

// settle is the pause between setting an object up on A and B's first
// observation of it, so that the change that follows is at least this
// much later than the setup and server timestamps tell them apart.
const settle = 50 * time.Millisecond

// opTimeout bounds one observation or change (an NFS call on a hard mount
// can hang, and a lock call waits for the lock manager).
const opTimeout = 30 * time.Second

// Mounter mounts the shared export twice with the given nfs(5) options
// (comma-separated, e.g. "vers=3,acregmin=3,acregmax=60"), as two
// independent clients, and returns the two directories and a function that
// unmounts both. The Mounter adds what its setting needs (the server,
// nosharecache when both mounts are in one kernel, proto, hard).
type Mounter func(opts string) (a, b string, unmount func() error, err error)

// Case is one measurement to make.
type Case struct {
	// Name identifies the case in the results: the kind, a slash, and
	// letters, digits and "/_-" (no commas, so that a list of names can
	// be comma-separated).
	Name string
	// Options are the nfs(5) mount options of both clients.
	Options string
	// Kind is one of [Kinds].
	Kind string
	// Param is how long the object stays unchanged after B's first
	// observation before A changes it.
	Param time.Duration
	// Every is B's period of observations while the object is unchanged,
	// from its first one: observations at 0, Every, 2·Every, ... before
	// Param. They let the kernel find the object unchanged and grow
	// attrtimeo. Zero: B observes only once, at 0, and is idle until the
	// change.
	Every time.Duration
	// Poll is B's interval between observations after the change; zero
	// means [DefaultPoll].
	Poll time.Duration
	// Repeat is the number of samples; zero means [DefaultRepeat].
	Repeat int
	// Cap bounds how long B polls after the change; zero means twice the
	// longest attribute timeout of the options plus 10 s.
	Cap time.Duration
}

// Measurement is the outcome of one [Case]. Durations are strings that
// time.ParseDuration reads, rounded to the millisecond.
type Measurement struct {
	// Case, Options and Kind are the case's.
	Case    string `json:"case"`
	Options string `json:"options"`
	Kind    string `json:"kind"`
	// Param, Every and Poll are the case's, defaults filled in.
	Param string `json:"param"`
	Every string `json:"every"`
	Poll  string `json:"poll"`
	// Window is the median of the samples' windows (the upper of the
	// two middle ones for an even count), Min and Max their extremes;
	// all empty without samples.
	Window string `json:"window"`
	Min    string `json:"min"`
	Max    string `json:"max"`
	// Samples are the repetitions, in order.
	Samples []Sample `json:"samples"`
	// Note says what went wrong, if anything.
	Note string `json:"note,omitempty"`
}

// Sample is one repetition of a case. Times are offsets from the start of
// B's first observation.
type Sample struct {
	// Accesses are the start times of B's observations before the change;
	// the first is 0s. Right before it B stat()ed the sample directory
	// twice, to settle the directory's dentry.
	Accesses []string `json:"accesses"`
	// Change is when A's change had completed (the file appended, synced
	// and closed, or the name created).
	Change string `json:"change"`
	// Window is the start of B's first observation that saw the change
	// less Change: how long B kept seeing the old state. B observed at
	// Change and then every poll interval after it.
	Window string `json:"window"`
	// Polls is the number of B's observations after the change, the one
	// that saw it included.
	Polls int `json:"polls"`
	// TimedOut says that B had not seen the change when the cap ran out;
	// Window is then the time of its last observation.
	TimedOut bool `json:"timed_out,omitempty"`
}

// Times parses the sample's offsets.
func (s Sample) Times() (accesses []time.Duration, change, window time.Duration, err error) {
	for _, a := range s.Accesses {
		d, err := time.ParseDuration(a)
		if err != nil {
			return nil, 0, 0, err
		}
		accesses = append(accesses, d)
	}
	if change, err = time.ParseDuration(s.Change); err != nil {
		return nil, 0, 0, err
	}
	if window, err = time.ParseDuration(s.Window); err != nil {
		return nil, 0, 0, err
	}
	return accesses, change, window, nil
}

// DefaultCases returns the cases of a full probe run: about five minutes of
// waiting in all.
func DefaultCases() []Case {
	const every = 700 * time.Millisecond // off the whole seconds of the timeouts
	return []Case{
		// Regular files: acregmin from the first GETATTR, the minimum
		// again after a change, growth while unchanged.
		{Name: "stale_size/default", Options: "vers=3", Kind: StaleSize},
		{Name: "stale_size/acreg1-2", Options: "vers=3,acregmin=1,acregmax=2", Kind: StaleSize},
		{Name: "stale_size/acreg1-2/unchanged6s", Options: "vers=3,acregmin=1,acregmax=2", Kind: StaleSize, Param: 6 * time.Second, Every: every},
		{Name: "stale_size/acreg3-60/unchanged10s", Options: "vers=3,acregmin=3,acregmax=60", Kind: StaleSize, Param: 10 * time.Second, Every: every},
		{Name: "stale_size/default/idle5s", Options: "vers=3", Kind: StaleSize, Param: 5 * time.Second},
		{Name: "stale_size/noac", Options: "vers=3,noac", Kind: StaleSize},
		{Name: "stale_size/actimeo0", Options: "vers=3,actimeo=0", Kind: StaleSize},
		// Negative dentries: the parent directory's acdirmin, or none
		// with lookupcache=pos|none.
		{Name: "invisible_create/acdir3-60", Options: "vers=3,acdirmin=3,acdirmax=60", Kind: InvisibleCreate},
		{Name: "invisible_create/acdir1-2", Options: "vers=3,acdirmin=1,acdirmax=2", Kind: InvisibleCreate},
		{Name: "invisible_create/acdir1-4/unchanged4s", Options: "vers=3,acdirmin=1,acdirmax=4", Kind: InvisibleCreate, Param: 4 * time.Second, Every: every},
		{Name: "invisible_create/default", Options: "vers=3", Kind: InvisibleCreate, Repeat: 2},
		{Name: "invisible_create/lookupcache_pos", Options: "vers=3,acdirmin=3,acdirmax=60,lookupcache=pos", Kind: InvisibleCreate},
		{Name: "invisible_create/lookupcache_none", Options: "vers=3,acdirmin=3,acdirmax=60,lookupcache=none", Kind: InvisibleCreate},
		// Close-to-open and locks as coherency points.
		{Name: "open_revalidates/cto", Options: "vers=3", Kind: OpenRevalidates},
		{Name: "open_revalidates/nocto", Options: "vers=3,nocto", Kind: OpenRevalidates},
		{Name: "lock_revalidates/nlm", Options: "vers=3", Kind: LockRevalidates},
		{Name: "lock_revalidates/local_lock", Options: "vers=3,local_lock=all", Kind: LockRevalidates},
	}
}

// CasesNamed returns the cases of [DefaultCases] with the given names, in
// the order given, or all of them if no name is given.
func CasesNamed(names ...string) ([]Case, error) {
	all := DefaultCases()
	if len(names) == 0 {
		return all, nil
	}
	var out []Case
	for _, n := range names {
		i := slices.IndexFunc(all, func(c Case) bool { return c.Name == n })
		if i < 0 {
			return nil, fmt.Errorf("probe: no case %q", n)
		}
		out = append(out, all[i])
	}
	return out, nil
}

// withDefaults fills in a case's zero fields and checks it.
func (c Case) withDefaults() (Case, Options, error) {
	o, err := ParseOptions(c.Options)
	if err != nil {
		return c, o, err
	}
	if !slices.Contains(Kinds, c.Kind) {
		return c, o, fmt.Errorf("probe: case %s: unknown kind %q", c.Name, c.Kind)
	}
	if c.Param < 0 || c.Every < 0 || c.Poll < 0 || c.Repeat < 0 || c.Cap < 0 {
		return c, o, fmt.Errorf("probe: case %s: negative duration or count", c.Name)
	}
	if c.Poll == 0 {
		c.Poll = DefaultPoll
	}
	if c.Repeat == 0 {
		c.Repeat = DefaultRepeat
	}
	if c.Cap == 0 {
		c.Cap = 2*o.MaxTimeout(c.Kind == InvisibleCreate) + 10*time.Second
	}
	return c, o, nil
}

// fmtDur formats d to the millisecond.
func fmtDur(d time.Duration) string { return d.Round(time.Millisecond).String() }
