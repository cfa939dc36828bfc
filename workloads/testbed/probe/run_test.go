//go:build linux

package probe

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// localMounter is a fake [Mounter]: both "clients" are the same local
// directory under two names (the second a symlink to the first), so each
// sees the other's changes at once. It counts its unmounts.
func localMounter(t *testing.T, unmounts *int) Mounter {
	return func(opts string) (string, string, func() error, error) {
		if _, err := ParseOptions(opts); err != nil {
			return "", "", nil, err
		}
		dir := t.TempDir()
		a := filepath.Join(dir, "a")
		b := filepath.Join(dir, "b")
		if err := os.Mkdir(a, 0o755); err != nil {
			return "", "", nil, err
		}
		if err := os.Symlink(a, b); err != nil {
			return "", "", nil, err
		}
		return a, b, func() error { *unmounts++; return nil }, nil
	}
}

// shortCases are every kind, with and without an unchanged period, on a
// millisecond scale.
func shortCases() []Case {
	var cs []Case
	for _, k := range Kinds {
		cs = append(cs,
			Case{Name: k + "/now", Options: "vers=3", Kind: k, Poll: 5 * time.Millisecond, Repeat: 2, Cap: time.Second},
			Case{Name: k + "/unchanged", Options: "vers=3,actimeo=1", Kind: k, Param: 40 * time.Millisecond, Every: 15 * time.Millisecond,
				Poll: 5 * time.Millisecond, Repeat: 2, Cap: time.Second})
	}
	return cs
}

func TestRunLocal(t *testing.T) {
	var unmounts int
	var log bytes.Buffer
	cases := shortCases()
	ms, err := Run(context.Background(), localMounter(t, &unmounts), cases, &log)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != len(cases) || unmounts != len(cases) {
		t.Fatalf("%d measurements and %d unmounts for %d cases", len(ms), unmounts, len(cases))
	}
	for i, m := range ms {
		c := cases[i]
		if m.Case != c.Name || m.Kind != c.Kind || m.Options != c.Options || m.Note != "" {
			t.Errorf("measurement %d: %+v for case %+v", i, m, c)
		}
		if len(m.Samples) != c.Repeat {
			t.Errorf("%s: %d samples, want %d", c.Name, len(m.Samples), c.Repeat)
		}
		for _, d := range []string{m.Window, m.Min, m.Max} {
			if w, err := time.ParseDuration(d); err != nil || w > c.Poll {
				t.Errorf("%s: window %q on a local file system, want ~0", c.Name, d)
			}
		}
		wantAccesses := 1
		if c.Every > 0 {
			wantAccesses = 3 // at 0, 15 and 30 ms, before the change at 40 ms
		}
		for j, s := range m.Samples {
			acc, change, window, err := s.Times()
			if err != nil {
				t.Fatal(err)
			}
			// On a local file system B sees the change at its first
			// look after it.
			if s.TimedOut || s.Polls != 1 || window > c.Poll {
				t.Errorf("%s sample %d: %+v, want the change seen at once", c.Name, j, s)
			}
			if len(acc) != wantAccesses || acc[0] != 0 {
				t.Errorf("%s sample %d: accesses %v, want %d from 0s", c.Name, j, acc, wantAccesses)
			}
			for k := 1; k < len(acc); k++ {
				if acc[k] < time.Duration(k)*c.Every {
					t.Errorf("%s sample %d: access %d at %v, before %v", c.Name, j, k, acc[k], time.Duration(k)*c.Every)
				}
			}
			if change < c.Param || change > c.Param+time.Second {
				t.Errorf("%s sample %d: change at %v, want just after %v", c.Name, j, change, c.Param)
			}
		}
	}
	if n := strings.Count(log.String(), "\n"); n != 2*len(cases) {
		t.Errorf("log has %d lines, want %d:\n%s", n, 2*len(cases), log.String())
	}
}

// TestRunCap: when B never sees the change, polling stops at the cap.
// Here B's folder is not A's: A's sample directories are copied to it, but
// nothing in them.
func TestRunCap(t *testing.T) {
	unshared := func(opts string) (string, string, func() error, error) {
		a, b := t.TempDir(), t.TempDir()
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
				es, _ := os.ReadDir(a)
				for _, e := range es {
					os.Mkdir(filepath.Join(b, e.Name()), 0o755)
				}
			}
		}()
		return a, b, func() error { close(stop); <-done; return nil }, nil
	}
	c := Case{Name: "never", Options: "vers=3", Kind: InvisibleCreate, Poll: 10 * time.Millisecond, Repeat: 1, Cap: 50 * time.Millisecond}
	start := time.Now()
	ms, err := Run(context.Background(), unshared, []Case{c}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a capped case took %v", d)
	}
	s := ms[0].Samples[0]
	w, _ := time.ParseDuration(s.Window)
	if !s.TimedOut || s.Polls != 6 || w < 50*time.Millisecond || ms[0].Note == "" {
		t.Errorf("capped sample %+v, note %q: want timed out after 6 polls, window ≥ 50ms", s, ms[0].Note)
	}
}

func TestRunErrors(t *testing.T) {
	var unmounts int
	local := localMounter(t, &unmounts)
	failing := func(opts string) (string, string, func() error, error) {
		if strings.Contains(opts, "fail") {
			return "", "", nil, errors.New("no such export")
		}
		return local(opts)
	}
	cases := []Case{
		{Name: "bad", Options: "vers=3,fail", Kind: StaleSize, Poll: time.Millisecond, Repeat: 1},
		{Name: "good", Options: "vers=3", Kind: StaleSize, Poll: time.Millisecond, Repeat: 1},
	}
	ms, err := Run(context.Background(), failing, cases, nil)
	if err == nil || !strings.Contains(err.Error(), "no such export") {
		t.Errorf("error %v, want the mount's", err)
	}
	if len(ms) != 2 || !strings.Contains(ms[0].Note, "no such export") || ms[1].Note != "" || len(ms[1].Samples) != 1 {
		t.Errorf("measurements %+v: want the first noted, the second made", ms)
	}

	// Invalid cases are refused before anything is mounted.
	if _, err := Run(context.Background(), failing, []Case{{Name: "x", Kind: "nope"}}, nil); err == nil {
		t.Error("an unknown kind ran")
	}

	// A done context stops the run.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ms, err = Run(ctx, local, cases[1:], nil)
	if !errors.Is(err, context.Canceled) || len(ms) != 0 {
		t.Errorf("cancelled run: %v, %d measurements", err, len(ms))
	}
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	long := Case{Name: "long", Options: "vers=3", Kind: StaleSize, Param: time.Minute, Every: time.Second, Repeat: 1}
	ms, err = Run(ctx, local, []Case{long}, nil)
	if !errors.Is(err, context.DeadlineExceeded) || len(ms) != 1 || time.Since(start) > 5*time.Second {
		t.Errorf("run cut short: %v, %d measurements after %v", err, len(ms), time.Since(start))
	}
}

func TestReport(t *testing.T) {
	var unmounts int
	ms, err := Run(context.Background(), localMounter(t, &unmounts), shortCases()[:2], nil)
	if err != nil {
		t.Fatal(err)
	}
	r := Report{Kernel: KernelRelease(), Measurements: ms}
	if r.Kernel == "" {
		t.Error("no kernel release")
	}
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := ReadReport(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kernel != r.Kernel || len(got.Measurements) != 2 || got.Measurements[1].Samples[1].Change != ms[1].Samples[1].Change {
		t.Errorf("read back %+v, wrote %+v", got, r)
	}
	arr, err := ReadReport(strings.NewReader(`[{"case":"x","samples":[{"accesses":["0s"],"change":"1ms","window":"2.5s","polls":26}]}]`))
	if err != nil || len(arr.Measurements) != 1 || arr.Measurements[0].Samples[0].Polls != 26 {
		t.Errorf("bare array: %+v, %v", arr, err)
	}
	if _, err := ReadReport(strings.NewReader(`{"measurements": 3}`)); err == nil {
		t.Error("a malformed report read without error")
	}
}
