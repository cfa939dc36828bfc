//go:build linux

package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// Run measures the cases in order, mounting a fresh pair of clients for
// each, and writes a line per sample to log (which may be nil). It returns
// a measurement per case it got to. A case that fails is noted in its
// measurement and its error joined into Run's error; Run goes on with the
// next case. Run stops when ctx is done.
func Run(ctx context.Context, m Mounter, cases []Case, log io.Writer) ([]Measurement, error) {
	if log == nil {
		log = io.Discard
	}
	full := make([]Case, len(cases))
	for i, c := range cases {
		var err error
		if full[i], _, err = c.withDefaults(); err != nil {
			return nil, err
		}
	}
	token := strconv.FormatInt(time.Now().UnixNano(), 36)
	var out []Measurement
	var errs []error
	for i, c := range full {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		ms, err := runCase(ctx, m, c, fmt.Sprintf("probe-%s-%d", token, i), log)
		if err != nil {
			err = fmt.Errorf("probe: case %s: %w", c.Name, err)
			ms.Note = err.Error()
			errs = append(errs, err)
		}
		out = append(out, ms)
		if ctx.Err() != nil {
			break // the case's error says why
		}
	}
	return out, errors.Join(errs...)
}

// runCase mounts the clients and takes the case's samples.
func runCase(ctx context.Context, m Mounter, c Case, prefix string, log io.Writer) (ms Measurement, err error) {
	ms = Measurement{
		Case: c.Name, Options: c.Options, Kind: c.Kind,
		Param: fmtDur(c.Param), Every: fmtDur(c.Every), Poll: fmtDur(c.Poll),
	}
	a, b, unmount, err := m(c.Options)
	if err != nil {
		return ms, fmt.Errorf("mount: %w", err)
	}
	defer func() {
		if uerr := unmount(); uerr != nil {
			err = errors.Join(err, fmt.Errorf("unmount: %w", uerr))
		}
	}()
	var windows []time.Duration
	defer func() {
		if len(windows) == 0 {
			return
		}
		slices.Sort(windows)
		ms.Window, ms.Min, ms.Max = fmtDur(windows[len(windows)/2]), fmtDur(windows[0]), fmtDur(windows[len(windows)-1])
	}()
	for r := range c.Repeat {
		s, w, err := sample(ctx, c, filepath.Join(a, prefix+"-"+strconv.Itoa(r)), filepath.Join(b, prefix+"-"+strconv.Itoa(r)))
		if err != nil {
			return ms, fmt.Errorf("sample %d: %w", r, err)
		}
		capped := ""
		if s.TimedOut {
			capped = " (cap reached)"
		}
		fmt.Fprintf(log, "probe: %s [%s] sample %d: window %s after %d polls%s\n", c.Name, c.Options, r, s.Window, s.Polls, capped)
		ms.Samples = append(ms.Samples, s)
		windows = append(windows, w)
		if s.TimedOut {
			ms.Note = "B did not see the change within the cap in some samples"
		}
	}
	return ms, nil
}

// Object names inside a sample's directory.
const (
	fileName = "f"
	newName  = "new"
)

// Sizes of the file before and after A's append.
const (
	oldSize = 64
	addSize = 32
)

// sample takes one sample in directory da as A sees it, db as B does. It
// returns the sample and its window.
func sample(ctx context.Context, c Case, da, db string) (s Sample, window time.Duration, err error) {
	if err := os.Mkdir(da, 0o755); err != nil {
		return s, 0, err
	}
	defer func() {
		if rerr := os.RemoveAll(da); rerr != nil && err == nil {
			err = rerr
		}
	}()
	if c.Kind != InvisibleCreate {
		if err := writeFile(filepath.Join(da, fileName), oldSize, os.O_CREATE|os.O_EXCL|os.O_WRONLY); err != nil {
			return s, 0, err
		}
	}
	if err := sleep(ctx, settle); err != nil {
		return s, 0, err
	}
	observe, closeB, err := observer(c.Kind, db)
	if err != nil {
		return s, 0, err
	}
	defer func() {
		if cerr := closeB(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	obs := func(ctx context.Context) (bool, error) { return bounded(ctx, observe) }

	// B looks the sample directory up twice right before its first
	// observation. The first LOOKUP's reply shows the mount's root changed
	// (A just made the directory), so nfs_lookup leaves the directory's
	// dentry without a verifier (nfs_set_verifier keeps none older than
	// the parent's change attribute), and B's next path walk would look
	// the directory up again, fetching its attributes (and, for
	// invisible_create, seeing A's change) off the directory's own
	// attribute timeout. The second stat settles the dentry. B thus
	// fetched the directory's attributes just before its first
	// observation, at what counts as time 0.
	for range 2 {
		if _, err := bounded(ctx, func() (struct{}, error) {
			var st syscall.Stat_t
			if err := syscall.Stat(db, &st); err != nil {
				return struct{}{}, &os.PathError{Op: "stat", Path: db, Err: err}
			}
			return struct{}{}, nil
		}); err != nil {
			return s, 0, err
		}
	}

	t0 := time.Now()
	for k := 0; ; k++ {
		at := time.Duration(k) * c.Every
		if k > 0 && (c.Every == 0 || at >= c.Param) {
			break
		}
		if err := sleepUntil(ctx, t0.Add(at)); err != nil {
			return s, 0, err
		}
		start := time.Since(t0)
		if k == 0 {
			start = 0
		}
		fresh, err := obs(ctx)
		if err != nil {
			return s, 0, err
		}
		if fresh {
			return s, 0, fmt.Errorf("client B saw a change at %s before A made it", fmtDur(start))
		}
		s.Accesses = append(s.Accesses, fmtDur(start))
	}
	if err := sleepUntil(ctx, t0.Add(c.Param)); err != nil {
		return s, 0, err
	}
	if _, err := bounded(ctx, func() (struct{}, error) { return struct{}{}, change(c.Kind, da) }); err != nil {
		return s, 0, fmt.Errorf("change on A: %w", err)
	}
	changed := time.Now()
	s.Change = fmtDur(changed.Sub(t0))
	for k := 0; ; k++ {
		at := time.Duration(k) * c.Poll
		if at > c.Cap {
			s.TimedOut = true
			break
		}
		if err := sleepUntil(ctx, changed.Add(at)); err != nil {
			return s, 0, err
		}
		start := time.Since(changed)
		fresh, err := obs(ctx)
		if err != nil {
			return s, 0, err
		}
		s.Polls, window = k+1, start
		if fresh {
			break
		}
	}
	s.Window = fmtDur(window)
	return s, window, nil
}

// observer returns B's observation for kind on sample directory db: it
// reports whether B sees A's change. release frees what the observation
// holds.
func observer(kind, db string) (observe func() (bool, error), release func() error, err error) {
	f := filepath.Join(db, fileName)
	size := func(st *syscall.Stat_t) (bool, error) {
		switch st.Size {
		case oldSize:
			return false, nil
		case oldSize + addSize:
			return true, nil
		}
		return false, fmt.Errorf("%s: unexpected size %d", f, st.Size)
	}
	none := func() error { return nil }
	switch kind {
	case StaleSize:
		return func() (bool, error) {
			var st syscall.Stat_t
			if err := syscall.Stat(f, &st); err != nil {
				return false, &os.PathError{Op: "stat", Path: f, Err: err}
			}
			return size(&st)
		}, none, nil
	case InvisibleCreate:
		n := filepath.Join(db, newName)
		return func() (bool, error) {
			var st syscall.Stat_t
			switch err := syscall.Stat(n, &st); err {
			case nil:
				return true, nil
			case syscall.ENOENT:
				return false, nil
			default:
				return false, &os.PathError{Op: "stat", Path: n, Err: err}
			}
		}, none, nil
	case OpenRevalidates:
		return func() (bool, error) {
			fd, err := syscall.Open(f, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
			if err != nil {
				return false, &os.PathError{Op: "open", Path: f, Err: err}
			}
			defer syscall.Close(fd)
			var st syscall.Stat_t
			if err := syscall.Fstat(fd, &st); err != nil {
				return false, &os.PathError{Op: "fstat", Path: f, Err: err}
			}
			return size(&st)
		}, none, nil
	case LockRevalidates:
		// B holds the file open from before its first observation, so
		// that no open (and no close-to-open revalidation) happens
		// during the measurement.
		fd, err := syscall.Open(f, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return nil, nil, &os.PathError{Op: "open", Path: f, Err: err}
		}
		return func() (bool, error) {
				lk := syscall.Flock_t{Type: syscall.F_RDLCK, Whence: 0, Start: 0, Len: 1}
				if err := syscall.FcntlFlock(uintptr(fd), syscall.F_SETLKW, &lk); err != nil {
					return false, &os.PathError{Op: "fcntl F_SETLKW", Path: f, Err: err}
				}
				var st syscall.Stat_t
				serr := syscall.Fstat(fd, &st)
				lk.Type = syscall.F_UNLCK
				uerr := syscall.FcntlFlock(uintptr(fd), syscall.F_SETLK, &lk)
				if serr != nil {
					return false, &os.PathError{Op: "fstat", Path: f, Err: serr}
				}
				if uerr != nil {
					return false, &os.PathError{Op: "fcntl F_UNLCK", Path: f, Err: uerr}
				}
				return size(&st)
			}, func() error {
				if err := syscall.Close(fd); err != nil {
					return &os.PathError{Op: "close", Path: f, Err: err}
				}
				return nil
			}, nil
	}
	return nil, nil, fmt.Errorf("unknown kind %q", kind)
}

// change makes A's change for kind in sample directory da: it creates the
// new name, or appends to the file; either way synced and closed.
func change(kind, da string) error {
	if kind == InvisibleCreate {
		return writeFile(filepath.Join(da, newName), 0, os.O_CREATE|os.O_EXCL|os.O_WRONLY)
	}
	return writeFile(filepath.Join(da, fileName), addSize, os.O_APPEND|os.O_WRONLY)
}

// writeFile opens name with flag, writes n bytes, syncs and closes it.
func writeFile(name string, n int, flag int) error {
	f, err := os.OpenFile(name, flag, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(make([]byte, n))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// bounded runs f, waiting at most opTimeout or until ctx is done. On a
// timeout f is left running (a system call cannot be interrupted).
func bounded[T any](ctx context.Context, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	t := time.NewTimer(opTimeout)
	defer t.Stop()
	var zero T
	select {
	case r := <-done:
		return r.v, r.err
	case <-t.C:
		return zero, fmt.Errorf("no answer within %v", opTimeout)
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	return sleepUntil(ctx, time.Now().Add(d))
}

// sleepUntil waits until t or until ctx is done.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
