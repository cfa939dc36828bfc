//go:build linux

package replay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// noHang runs f and fails the test if it has not returned within a few
// seconds: what every look at a planted special file must manage.
func noHang(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s hangs", what)
	}
}

// lockHeld reports whether some open of the lock file at path holds a
// lock, without taking one (F_OFD_GETLK).
func lockHeld(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const fOFDGetlk = 36
	lk := syscall.Flock_t{Type: syscall.F_WRLCK}
	if err := syscall.FcntlFlock(f.Fd(), fOFDGetlk, &lk); err != nil {
		t.Fatal(err)
	}
	return lk.Type != syscall.F_UNLCK
}

// holderEnv names the folder a child process holds (parent/name, or
// parent/ to create one), see TestHelperHoldScratch.
const holderEnv = "REPLAY_TEST_HOLD"

// TestHelperHoldScratch is not a test: run as a child process by
// holdScratch, it makes or joins a scratch folder, says so on stdout and
// holds the folder's lock until its stdin closes.
func TestHelperHoldScratch(t *testing.T) {
	spec := os.Getenv(holderEnv)
	if spec == "" {
		t.Skip("helper process only")
	}
	parent, name := filepath.Split(spec)
	var s *Scratch
	var err error
	if name == "" {
		s, err = CreateScratch(parent)
	} else {
		s, err = OpenScratch(parent, name)
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("holding", s.Name)
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// holdScratch starts a child process that makes (name "") or joins the
// scratch folder name under parent and holds its lock. It returns the
// folder's name and a function that ends the child.
func holdScratch(t *testing.T, parent, name string) (string, func()) {
	t.Helper()
	spec := filepath.Join(parent, name)
	if name == "" {
		spec = parent + string(filepath.Separator)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldScratch$")
	cmd.Env = append(os.Environ(), holderEnv+"="+spec)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	end := sync.OnceFunc(func() {
		stdin.Close()
		cmd.Wait()
	})
	t.Cleanup(end)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	got, ok := strings.CutPrefix(strings.TrimSpace(line), "holding ")
	if err != nil || !ok {
		end()
		t.Fatalf("holder: %q, %v", line, err)
	}
	return got, end
}

// TestLivenessSurvivesSharedHostAndPID covers a live replay whose marker
// names this host and a process id that, here, has ended: a replay in
// another container (its own PID namespace) or on another host with the
// same name. Its folder must never be taken for a leftover while it holds
// its lock, and must be once it has ended.
func TestLivenessSurvivesSharedHostAndPID(t *testing.T) {
	host, _ := os.Hostname()
	dead := exitedPID(t)
	tests := []struct {
		name string
		// start makes a live folder under parent and returns its path
		// and a function that ends its replay.
		start func(t *testing.T, parent string) (string, func())
	}{
		{"made by another process", func(t *testing.T, parent string) (string, func()) {
			name, end := holdScratch(t, parent, "")
			return filepath.Join(parent, name), end
		}},
		{"joined by another process", func(t *testing.T, parent string) (string, func()) {
			s, err := CreateScratch(parent)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			_, end := holdScratch(t, parent, s.Name)
			return s.Path, end
		}},
		{"made by this process", func(t *testing.T, parent string) (string, func()) {
			s, err := CreateScratch(parent)
			if err != nil {
				t.Fatal(err)
			}
			return s.Path, func() { s.Close() }
		}},
		{"joined in this process", func(t *testing.T, parent string) (string, func()) {
			s, err := CreateScratch(parent)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			j, err := OpenScratch(parent, s.Name)
			if err != nil {
				t.Fatal(err)
			}
			return s.Path, func() { j.Close() }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			path, end := tt.start(t, parent)
			// The host name collides and the process id means nothing
			// here.
			writeMarker(t, path, Marker{Host: host, PID: dead})
			os.WriteFile(filepath.Join(path, "data"), []byte("x"), 0o600)
			for _, mode := range []CleanMode{CleanStale, CleanAll} {
				removed, left, err := Clean(parent, mode)
				if err != nil || len(removed) != 0 {
					t.Fatalf("Clean(%v) removed %v of a live replay, %v", mode, removed, err)
				}
				if len(left) != 1 || left[0].Path != path || !strings.Contains(left[0].Reason, "a replay is using it") {
					t.Fatalf("Clean(%v) left %v", mode, left)
				}
			}
			if _, err := os.Stat(filepath.Join(path, "data")); err != nil {
				t.Fatalf("live folder damaged: %v", err)
			}
			end()
			removed, _, err := Clean(parent, CleanStale)
			if err != nil || !slices.Equal(removed, []string{path}) {
				t.Fatalf("after its replay ended, CleanStale removed %v, %v", removed, err)
			}
			if n := names(t, parent); len(n) != 0 {
				t.Fatalf("left behind: %v", n)
			}
		})
	}
}

// plantFIFO, plantSocket and friends put a special file at path.
func plantFIFO(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	// Whoever opens it for reading without O_NONBLOCK waits for a
	// writer; unblock any such reader at the end so the test can finish
	// even when it fails.
	t.Cleanup(func() {
		if fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			syscall.Close(fd)
		}
	})
}

func plantSocket(t *testing.T, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Skipf("cannot make a socket at %s: %v", path, err)
	}
	// Keep the file when the listener closes.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
}

// TestSpecialFilesNeverBlock plants special files and links in place of
// a scratch folder's marker and lock file, and elsewhere in it: nothing
// may hang, every refusal must name the file, and the folder must be left
// alone (or, when only its contents are odd, removed).
func TestSpecialFilesNeverBlock(t *testing.T) {
	_, precious := outside(t)
	tests := []struct {
		name string
		// file is the file in the scratch folder to replace, plant
		// what takes its place.
		file  string
		plant func(t *testing.T, path string)
		// want is in the refusal; "" means the folder is valid.
		want string
	}{
		{"marker is a FIFO", MarkerName, plantFIFO, "a FIFO"},
		{"marker is a socket", MarkerName, plantSocket, "a socket"},
		{"marker is a directory", MarkerName, func(t *testing.T, p string) { os.Mkdir(p, 0o700) }, "a directory"},
		{"marker is a symbolic link", MarkerName, func(t *testing.T, p string) { os.Symlink(precious, p) }, "a symbolic link"},
		{"marker is huge", MarkerName, func(t *testing.T, p string) {
			data := []byte(markerMagic + "\nname = " + filepath.Base(filepath.Dir(p)) + "\n")
			data = append(data, make([]byte, 10<<20)...)
			os.WriteFile(p, data, 0o600)
		}, "larger than"},
		{"lock is a FIFO", LockName, plantFIFO, "a FIFO"},
		{"lock is a socket", LockName, plantSocket, "a socket"},
		{"lock is a directory", LockName, func(t *testing.T, p string) { os.Mkdir(p, 0o700) }, "a directory"},
		{"lock is a symbolic link", LockName, func(t *testing.T, p string) { os.Symlink(precious, p) }, "a symbolic link"},
		{"FIFO in cur", "mail-8/cur/1.M1P1Q1.fifo:2,", plantFIFO, ""},
		{"FIFO as the index log", "mail-8/" + logName, plantFIFO, "index log"},
		{"socket at the top", "sock", plantSocket, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			res, err := Run(context.Background(), Config{Dir: parent, Messages: []int{8}, Cold: "no", Reps: 1, OpsPerPoint: 2, MaxSize: 512, Keep: true})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(res.Scratch, tt.file)
			os.Remove(path)
			tt.plant(t, path)
			name := filepath.Base(res.Scratch)
			noHang(t, "ReadMarker", func() {
				_, err := ReadMarker(res.Scratch)
				if tt.file == MarkerName && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path)) {
					t.Errorf("ReadMarker: %v, want an error naming %s and saying %q", err, path, tt.want)
				}
			})
			noHang(t, "joining", func() {
				_, err := Run(context.Background(), Config{Dir: parent, Join: name, Clients: 2, ContentionOps: 20})
				if tt.want == "" && err != nil {
					t.Errorf("join: %v", err)
				}
				if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path)) {
					t.Errorf("join: %v, want an error naming %s and saying %q", err, path, tt.want)
				}
			})
			noHang(t, "CleanStale", func() { Clean(parent, CleanStale) })
			noHang(t, "CleanAll", func() {
				removed, left, err := Clean(parent, CleanAll)
				valid := tt.want == "" || tt.file != MarkerName && tt.file != LockName
				switch {
				case valid && (err != nil || len(removed) != 1):
					t.Errorf("CleanAll removed %v, left %v, %v; want the folder removed", removed, left, err)
				case !valid && (err != nil || len(removed) != 0 || len(left) != 1 || !strings.Contains(left[0].Reason, tt.want)):
					t.Errorf("CleanAll removed %v, left %v, %v; want it left because of %q", removed, left, err, tt.want)
				}
			})
			checkIntact(t, precious)
		})
	}
}

// TestCleanDuringJoin runs --clean again and again while a joined replay
// works in the folder: the folder must stay whole, marker included, and
// the first clean after the join must remove all of it.
func TestCleanDuringJoin(t *testing.T) {
	parent := t.TempDir()
	res, err := Run(context.Background(), Config{Dir: parent, Messages: []int{40}, Cold: "no", Reps: 1, OpsPerPoint: 2, MaxSize: 512, Keep: true})
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(res.Scratch)
	// The join runs until it is cancelled, so that every clean below
	// meets it at work.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Config{Dir: parent, Join: name, Clients: 2, ContentionTime: time.Minute})
		done <- err
	}()
	lock := filepath.Join(res.Scratch, LockName)
	for deadline := time.Now().Add(10 * time.Second); !lockHeld(t, lock); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the join never took the lock")
		}
	}
	for range 10 {
		removed, left, err := Clean(parent, CleanAll)
		if err != nil || len(removed) != 0 || len(left) != 1 || !strings.Contains(left[0].Reason, "using it") {
			t.Fatalf("clean during the join: removed %v, left %v, %v", removed, left, err)
		}
		if _, err := ReadMarker(res.Scratch); err != nil {
			t.Fatalf("clean during the join damaged the marker: %v", err)
		}
		if _, err := os.Stat(filepath.Join(res.Scratch, "mail-40", "cur")); err != nil {
			t.Fatalf("clean during the join damaged the Maildir: %v", err)
		}
		time.Sleep(30 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("join: %v", err)
	}
	removed, _, err := Clean(parent, CleanAll)
	if err != nil || !slices.Equal(removed, []string{res.Scratch}) {
		t.Fatalf("clean after the join removed %v, %v", removed, err)
	}
	if n := names(t, parent); len(n) != 0 {
		t.Fatalf("left behind: %v", n)
	}
}

// TestRemoveRefusesWhileJoined: the replay that made a folder does not
// remove it from under one that joined it.
func TestRemoveRefusesWhileJoined(t *testing.T) {
	parent := t.TempDir()
	s, err := CreateScratch(parent)
	if err != nil {
		t.Fatal(err)
	}
	_, end := holdScratch(t, parent, s.Name)
	if err := s.Remove(); err == nil || !strings.Contains(err.Error(), "another replay is using it") {
		t.Fatalf("Remove while joined: %v", err)
	}
	if _, err := ReadMarker(s.Path); err != nil {
		t.Fatalf("marker damaged: %v", err)
	}
	end()
	if removed, _, err := Clean(parent, CleanAll); err != nil || len(removed) != 1 {
		t.Fatalf("CleanAll removed %v, %v", removed, err)
	}
}

// TestInterruptedCleanIsFinished stops a removal before each of its
// steps, as a kill would, and checks that the next clean finishes it and
// that nobody can join the folder meanwhile.
func TestInterruptedCleanIsFinished(t *testing.T) {
	t.Cleanup(func() { removeStep = nil })
	out, precious := outside(t)
	for _, stop := range []string{"rename", "contents", LockName, MarkerName, "folder"} {
		t.Run(stop, func(t *testing.T) {
			parent := t.TempDir()
			res, err := Run(context.Background(), Config{Dir: parent, Messages: []int{20}, Cold: "no", Reps: 1, OpsPerPoint: 2, MaxSize: 512, Keep: true})
			if err != nil {
				t.Fatal(err)
			}
			os.Symlink(out, filepath.Join(res.Scratch, "dirlink"))
			os.Symlink(precious, filepath.Join(res.Scratch, "mail-20", "cur", "filelink"))
			killed := errors.New("killed")
			removeStep = func(s string) error {
				if s == stop {
					return killed
				}
				return nil
			}
			if _, _, err := Clean(parent, CleanAll); !errors.Is(err, killed) {
				t.Fatalf("interrupted clean: %v", err)
			}
			removeStep = nil
			// Stopped before the rename, the folder is still whole and
			// may be joined; after it, it may not.
			if j, err := OpenScratch(parent, filepath.Base(res.Scratch)); err == nil {
				j.Close()
				if stop != "rename" {
					t.Error("joined a folder being removed")
				}
			}
			removed, left, err := Clean(parent, CleanAll)
			if err != nil || len(removed) != 1 || len(left) != 0 {
				t.Fatalf("the next clean removed %v, left %v, %v", removed, left, err)
			}
			if n := names(t, parent); len(n) != 0 {
				t.Fatalf("left behind: %v", n)
			}
			checkIntact(t, precious)
		})
	}
}

// TestRacingCleans runs several cleans at once over many leftovers: all
// must be removed, none twice, and no clean may fail.
func TestRacingCleans(t *testing.T) {
	parent := t.TempDir()
	var all []string
	for range 12 {
		s, err := CreateScratch(parent)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 30 {
			os.WriteFile(filepath.Join(s.Path, fmt.Sprint("f", i)), []byte("x"), 0o600)
		}
		s.Close()
		all = append(all, s.Path)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var removed []string
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _, err := Clean(parent, CleanAll)
			if err != nil {
				t.Errorf("racing clean: %v", err)
			}
			mu.Lock()
			removed = append(removed, r...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	// A clean that lost a race may leave a tombstone to the next one.
	r, _, err := Clean(parent, CleanAll)
	if err != nil {
		t.Fatal(err)
	}
	removed = append(removed, r...)
	if n := names(t, parent); len(n) != 0 {
		t.Fatalf("left behind: %v", n)
	}
	for _, p := range removed {
		p = strings.TrimSuffix(p, TombstoneSuffix)
		if !slices.Contains(all, p) {
			t.Errorf("removed %s, which was not a leftover", p)
		}
	}
}

// TestNothingOutsideIsTouched plants links, hard links and special files
// pointing outside, under the parent and inside scratch folders, then
// cleans, replays, joins and cleans again: nothing outside may change.
func TestNothingOutsideIsTouched(t *testing.T) {
	out := t.TempDir()
	precious := filepath.Join(out, "precious")
	os.WriteFile(precious, []byte("keep me"), 0o600)
	os.Mkdir(filepath.Join(out, "sub"), 0o700)
	os.WriteFile(filepath.Join(out, "sub", "file"), []byte("keep me too"), 0o600)
	outsideScratch := filepath.Join(out, ScratchPrefix+"9")
	os.Mkdir(outsideScratch, 0o700)
	writeMarker(t, outsideScratch, Marker{Host: "h", PID: 1})
	os.WriteFile(filepath.Join(outsideScratch, LockName), nil, 0o600)
	plantFIFO(t, filepath.Join(out, "fifo"))
	before := snapshot(t, out)

	parent := t.TempDir()
	// Under the parent: links named like scratch folders and tombstones,
	// and a tombstone without a marker that is not empty.
	os.Symlink(out, filepath.Join(parent, ScratchPrefix+"1"))
	os.Symlink(outsideScratch, filepath.Join(parent, ScratchPrefix+"9"))
	os.Symlink(out, filepath.Join(parent, ScratchPrefix+"2"+TombstoneSuffix))
	tomb := filepath.Join(parent, ScratchPrefix+"3"+TombstoneSuffix)
	os.Mkdir(tomb, 0o700)
	os.Symlink(out, filepath.Join(tomb, "link"))
	// A leftover whose contents point outside.
	s, err := CreateScratch(parent)
	if err != nil {
		t.Fatal(err)
	}
	os.Symlink(out, filepath.Join(s.Path, "dirlink"))
	os.Symlink(precious, filepath.Join(s.Path, "filelink"))
	if err := os.Link(precious, filepath.Join(s.Path, "hardlink")); err != nil {
		t.Fatal(err)
	}
	os.Symlink(filepath.Join(out, "fifo"), filepath.Join(s.Path, "fifolink"))
	plantFIFO(t, filepath.Join(s.Path, "fifo"))
	s.Close()
	// A leftover whose lock file is a hard link to a file outside.
	s2, err := CreateScratch(parent)
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	os.Remove(filepath.Join(s2.Path, LockName))
	if err := os.Link(precious, filepath.Join(s2.Path, LockName)); err != nil {
		t.Fatal(err)
	}
	// A folder whose marker is a link to the outside folder's marker.
	s3, err := CreateScratch(parent)
	if err != nil {
		t.Fatal(err)
	}
	s3.Close()
	os.Remove(filepath.Join(s3.Path, MarkerName))
	os.Symlink(filepath.Join(outsideScratch, MarkerName), filepath.Join(s3.Path, MarkerName))

	noHang(t, "cleaning", func() {
		// What is not provably the replay's is left, which is no
		// failure.
		for _, mode := range []CleanMode{CleanStale, CleanAll} {
			if _, left, err := Clean(parent, mode); err != nil {
				t.Errorf("Clean(%v): %v (left %v)", mode, err, left)
			}
		}
	})
	noHang(t, "replaying", func() {
		res, err := Run(context.Background(), Config{Dir: parent, Messages: []int{8}, Cold: "no", Reps: 1, OpsPerPoint: 2, MaxSize: 512, Keep: true, Clients: 2, ContentionOps: 10})
		if err != nil {
			t.Fatal(err)
		}
		os.Symlink(precious, filepath.Join(res.Scratch, "mail-8", "cur", "1.M1P1Q1.x:2,"))
		os.Symlink(out, filepath.Join(res.Scratch, "mail-8", "tmp", "1.M1P1Q1.x"))
		if _, err := Run(context.Background(), Config{Dir: parent, Join: filepath.Base(res.Scratch), Clients: 2, ContentionOps: 50}); err != nil {
			t.Fatal(err)
		}
		Clean(parent, CleanAll)
	})
	sameSnapshot(t, before, snapshot(t, out))
	// What is left is what has no valid marker.
	got := names(t, parent)
	want := []string{ScratchPrefix + "1", ScratchPrefix + "2" + TombstoneSuffix, ScratchPrefix + "3" + TombstoneSuffix, s3.Name, ScratchPrefix + "9"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("parent holds %v, want %v", got, want)
	}
}

// snapshot describes every entry under dir: its type and, for a regular
// file, its content, for a link, its target.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		v := fi.Mode().String()
		switch {
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += " " + string(data)
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			v += " -> " + target
		}
		out[p] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameSnapshot(t *testing.T, before, after map[string]string) {
	t.Helper()
	for p, v := range before {
		if after[p] != v {
			t.Errorf("%s changed: %q, was %q", p, after[p], v)
		}
	}
	for p, v := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s appeared: %q", p, v)
		}
	}
}

// TestErrorsNameThePath damages a kept folder in ways that stop a join and
// checks that the error names the file at fault.
func TestErrorsNameThePath(t *testing.T) {
	out, _ := outside(t)
	tests := []struct {
		name string
		// damage changes the folder at path and returns the file the
		// error must name.
		damage func(t *testing.T, path string) string
	}{
		{"cur is a link", func(t *testing.T, path string) string {
			cur := filepath.Join(path, "mail-8", "cur")
			os.RemoveAll(cur)
			os.Symlink(out, cur)
			return cur
		}},
		{"tmp is a file", func(t *testing.T, path string) string {
			tmp := filepath.Join(path, "mail-8", "tmp")
			os.RemoveAll(tmp)
			os.WriteFile(tmp, nil, 0o600)
			return tmp
		}},
		{"index log is a directory", func(t *testing.T, path string) string {
			log := filepath.Join(path, "mail-8", logName)
			os.Remove(log)
			os.Mkdir(log, 0o700)
			return log
		}},
		{"no Maildir", func(t *testing.T, path string) string {
			for _, n := range []string{"mail-2", "mail-4", "mail-8"} {
				os.RemoveAll(filepath.Join(path, n))
			}
			return path
		}},
		{"marker of another folder", func(t *testing.T, path string) string {
			writeMarker(t, path, Marker{})
			m := Marker{Name: ScratchPrefix + "other"}
			os.WriteFile(filepath.Join(path, MarkerName), m.encode(), 0o600)
			return filepath.Join(path, MarkerName)
		}},
		{"no lock file", func(t *testing.T, path string) string {
			os.Remove(filepath.Join(path, LockName))
			return filepath.Join(path, LockName)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			res, err := Run(context.Background(), Config{Dir: parent, Messages: []int{8}, Cold: "no", Reps: 1, OpsPerPoint: 2, MaxSize: 512, Keep: true})
			if err != nil {
				t.Fatal(err)
			}
			want := tt.damage(t, res.Scratch)
			_, err = Run(context.Background(), Config{Dir: parent, Join: filepath.Base(res.Scratch), Clients: 2, ContentionOps: 10})
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("join: %v; want an error naming %s", err, want)
			}
			t.Log(err)
		})
	}
}

// TestCleanNeverReplacesATombstoneName: an entry already named like a
// folder's tombstone is neither replaced nor entered by the removal of the
// folder, and both are left without an error.
func TestCleanNeverReplacesATombstoneName(t *testing.T) {
	parent := t.TempDir()
	s, err := CreateScratch(parent)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// A directory that is not the replay's, named like the folder's
	// tombstone: it has no marker and is not empty, so no clean may
	// remove it, and the folder's removal must wait for it.
	tomb := s.Path + TombstoneSuffix
	if err := os.Mkdir(tomb, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(tomb, "mine"), []byte("x"), 0o600)
	removed, left, err := Clean(parent, CleanAll)
	if err != nil || len(removed) != 0 || len(left) != 2 {
		t.Fatalf("removed %v, left %v, %v", removed, left, err)
	}
	if _, err := os.Stat(filepath.Join(tomb, "mine")); err != nil {
		t.Fatalf("the entry named like a tombstone was touched: %v", err)
	}
	if _, err := ReadMarker(s.Path); err != nil {
		t.Fatalf("the folder was damaged: %v", err)
	}
}
