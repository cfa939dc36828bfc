package nfsmodel_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/workloads/testbed/probe"
)

// kernelData holds measurements of the Linux NFS client's attribute cache,
// made with `mailsim testbed probe` on a user-mode Linux guest.
const kernelData = "testdata/kernel-attrcache.json"

// kernelMargin is what the model may be off by beyond one poll interval:
// the kernel dates cached attributes from the start of the GETATTR, not of
// the system call, counts in jiffies, and a guest's timers run late.
const kernelMargin = 200 * time.Millisecond

// mountOf returns the model's mount for an nfs(5) option string.
func mountOf(opts string) (nfsmodel.Mount, error) {
	o, err := probe.ParseOptions(opts)
	if err != nil {
		return nfsmodel.Mount{}, err
	}
	m := nfsmodel.DefaultMount()
	m.Acregmin, m.Acregmax = sim.FromDuration(o.Acregmin), sim.FromDuration(o.Acregmax)
	m.Acdirmin, m.Acdirmax = sim.FromDuration(o.Acdirmin), sim.FromDuration(o.Acdirmax)
	m.Noac, m.Nocto, m.LocalLock = o.Noac, o.Nocto, o.LocalLock
	m.Lookupcache = nfsmodel.Lookupcache(o.Lookupcache)
	return m, m.Validate()
}

// consultArgs says how client B's observation of a kind goes through the
// model's attribute cache: on a directory's attributes or a file's, and
// whether it revalidates whatever the cache says.
//
//   - stale_size: stat() of the file, through the cache.
//   - invisible_create: stat() of a name that did not exist. The negative
//     entry is trusted while the parent directory's attributes are (the
//     directory is the model's object); with lookupcache=pos or none the
//     lookup goes to the server every time, as model/ counts a LOOKUP then.
//   - open_revalidates: open() and fstat(): close-to-open revalidates
//     unless nocto, as model/ passes force for an open.
//   - lock_revalidates: fcntl lock and fstat(). nfsmodel has no lock call;
//     a lock is a forced revalidation, which is what do_setlk's
//     nfs_zap_caches amounts to.
func consultArgs(kind string, m nfsmodel.Mount) (dir, force bool, err error) {
	switch kind {
	case probe.StaleSize:
		return false, false, nil
	case probe.InvisibleCreate:
		return true, m.Lookupcache != nfsmodel.LookupAll, nil
	case probe.OpenRevalidates:
		return false, !m.Nocto, nil
	case probe.LockRevalidates:
		return false, true, nil
	}
	return false, false, fmt.Errorf("unknown kind %q", kind)
}

// predictWindow replays a sample's timeline through the model: client B's
// observations at accesses, then the other client's change at change, then
// B's observations at change, change+poll, ... It returns the model's
// window, the time from the change to the first observation that sees it,
// and false if there is none up to limit.
func predictWindow(m nfsmodel.Mount, kind string, accesses []time.Duration, change, poll, limit time.Duration) (time.Duration, bool, error) {
	dir, force, err := consultArgs(kind, m)
	if err != nil {
		return 0, false, err
	}
	if poll <= 0 {
		return 0, false, fmt.Errorf("poll interval %v", poll)
	}
	var a nfsmodel.Attr
	cached := false
	var version uint32
	observe := func(t time.Duration) nfsmodel.Lookup {
		l, update := nfsmodel.Consult(&m, &a, cached, version, sim.FromDuration(t), dir, force)
		cached = cached || update
		return l
	}
	for _, t := range accesses {
		observe(t)
	}
	version++
	for w := time.Duration(0); w <= limit; w += poll {
		if !observe(change + w).Stale {
			return w, true, nil
		}
	}
	return limit, false, nil
}

// TestKernelReplay pins down what the model predicts for probe timelines
// whose kernel outcome follows from the kernel code cited in package
// probe.
func TestKernelReplay(t *testing.T) {
	const s, ms = time.Second, time.Millisecond
	every := func(step, before time.Duration) []time.Duration {
		var ts []time.Duration
		for t := time.Duration(0); t < before; t += step {
			ts = append(ts, t)
		}
		return ts
	}
	tests := []struct {
		name, kind, opts string
		accesses         []time.Duration
		change           time.Duration
		want             time.Duration
	}{
		{"acregmin from the first fetch", probe.StaleSize, "vers=3", []time.Duration{0}, 5 * ms, 3 * s},
		{"acregmin=1", probe.StaleSize, "acregmin=1,acregmax=2", []time.Duration{0}, 5 * ms, 1 * s},
		// Revalidations at 3.5 s (timeout 6 s) and 9.8 s (12 s): the
		// change at 10 s stays unseen until 21.8 s.
		{"unchanged 10 s grows the timeout to 12 s", probe.StaleSize, "acregmin=3,acregmax=60", every(700*ms, 10*s), 10 * s, 11800 * ms},
		// 1.4 s (2 s), 3.5 s (2 s, capped), 5.6 s (2 s): seen at 7.6 s.
		{"the timeout stops at acregmax", probe.StaleSize, "acregmin=1,acregmax=2", every(700*ms, 6*s), 6 * s, 1600 * ms},
		{"an idle client's expired cache revalidates at once", probe.StaleSize, "vers=3", []time.Duration{0}, 5 * s, 0},
		{"noac", probe.StaleSize, "noac", []time.Duration{0}, 5 * ms, 0},
		{"actimeo=0", probe.StaleSize, "actimeo=0", []time.Duration{0}, 5 * ms, 0},
		{"negative entry for acdirmin", probe.InvisibleCreate, "acdirmin=3,acdirmax=60", []time.Duration{0}, 5 * ms, 3 * s},
		{"negative entry for the default acdirmin", probe.InvisibleCreate, "vers=3", []time.Duration{0}, 5 * ms, 30 * s},
		// 1.4 s (2 s), 3.5 s (4 s): seen at 7.5 s.
		{"negative entry while the directory's timeout grows", probe.InvisibleCreate, "acdirmin=1,acdirmax=4", every(700*ms, 4*s), 4 * s, 3500 * ms},
		{"lookupcache=pos", probe.InvisibleCreate, "acdirmin=3,lookupcache=pos", []time.Duration{0}, 5 * ms, 0},
		{"lookupcache=none", probe.InvisibleCreate, "acdirmin=3,lookupcache=none", []time.Duration{0}, 5 * ms, 0},
		{"close-to-open", probe.OpenRevalidates, "vers=3", []time.Duration{0}, 5 * ms, 0},
		{"nocto", probe.OpenRevalidates, "nocto", []time.Duration{0}, 5 * ms, 3 * s},
		{"lock", probe.LockRevalidates, "vers=3", []time.Duration{0}, 5 * ms, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := mountOf(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := predictWindow(m, tc.kind, tc.accesses, tc.change, 100*ms, 2*time.Minute)
			if err != nil || !ok {
				t.Fatalf("no prediction: %v", err)
			}
			// The polls fall on the 100 ms grid from the change, so the
			// model's window is the expiry rounded up to it.
			if got < tc.want || got >= tc.want+100*ms {
				t.Errorf("window %v, want %v", got, tc.want)
			}
		})
	}
}

// TestKernelAttrCache holds the model to the kernel: for every measured
// sample, the model's window for the same options and the same timeline
// must lie within the measured windows of the case, widened by one poll
// interval and kernelMargin.
func TestKernelAttrCache(t *testing.T) {
	f, err := os.Open(kernelData)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s is absent: make it with `mailsim testbed probe --out nfsmodel/%s` (needs the testbed guest and root)", kernelData, kernelData)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := probe.ReadReport(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Measurements) == 0 {
		t.Fatalf("%s has no measurements", kernelData)
	}
	for _, meas := range r.Measurements {
		t.Run(meas.Case, func(t *testing.T) {
			if len(meas.Samples) == 0 {
				t.Skipf("no samples on kernel %s: %s", r.Kernel, meas.Note)
			}
			m, err := mountOf(meas.Options)
			if err != nil {
				t.Fatal(err)
			}
			poll, err := time.ParseDuration(meas.Poll)
			if err != nil {
				t.Fatal(err)
			}
			tol := poll + kernelMargin
			type sample struct {
				accesses       []time.Duration
				change, window time.Duration
				timedOut       bool
			}
			var ss []sample
			var windows []time.Duration
			open := false // some sample never saw the change: no upper bound
			for _, s := range meas.Samples {
				acc, change, window, err := s.Times()
				if err != nil {
					t.Fatal(err)
				}
				ss = append(ss, sample{acc, change, window, s.TimedOut})
				windows = append(windows, window)
				open = open || s.TimedOut
			}
			lo, hi := slices.Min(windows), slices.Max(windows)
			for i, s := range ss {
				pred, ok, err := predictWindow(m, meas.Kind, s.accesses, s.change, poll, hi+tol+poll)
				if err != nil {
					t.Fatal(err)
				}
				kernel, model := s.window.String(), pred.String()
				if s.timedOut {
					kernel = "over " + kernel
				}
				if !ok {
					model = "over " + model
				}
				t.Logf("sample %d: kernel %s, model %s", i, kernel, model)
				switch {
				case pred < lo-tol:
					t.Errorf("sample %d: the model's window %v is shorter than the kernel's %v–%v less %v", i, pred, lo, hi, tol)
				case !open && (!ok || pred > hi+tol):
					t.Errorf("sample %d: the model's window %v is longer than the kernel's %v–%v plus %v", i, pred, lo, hi, tol)
				}
			}
		})
	}
}
