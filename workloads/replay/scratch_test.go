//go:build linux

package replay

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// outside makes a directory beside the scratch parent holding a file whose
// content the tests check is never changed or removed.
func outside(t *testing.T) (dir, file string) {
	t.Helper()
	dir = t.TempDir()
	file = filepath.Join(dir, "precious")
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, file
}

func checkIntact(t *testing.T, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil || string(data) != "keep me" {
		t.Fatalf("file outside the scratch folder changed: %q, %v", data, err)
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestCreateScratchRefusesBadParents(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir, want string
	}{
		{"empty", "", "no directory given"},
		{"missing", filepath.Join(tmp, "missing"), "no such file"},
		{"file", file, "is not a directory"},
		// procfs refuses new directories even to root.
		{"unwritable", "/proc", "cannot create a scratch folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CreateScratch(tt.dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CreateScratch(%q) = %v, want an error containing %q", tt.dir, err, tt.want)
			}
			if _, err := Run(context.Background(), Config{Dir: tt.dir, Messages: []int{8}, Cold: "no"}); err == nil {
				t.Fatalf("Run accepted %q", tt.dir)
			}
		})
	}
	if os.Geteuid() != 0 {
		ro := t.TempDir()
		os.Chmod(ro, 0o500)
		defer os.Chmod(ro, 0o700)
		if _, err := CreateScratch(ro); err == nil {
			t.Error("CreateScratch accepted a read-only directory")
		}
	}
}

func TestScratchMarker(t *testing.T) {
	parent := t.TempDir()
	s, err := CreateScratch(parent)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Name, ScratchPrefix) || filepath.Dir(s.Path) != parent {
		t.Fatalf("scratch %+v", s)
	}
	m, err := ReadMarker(s.Path)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if m.Name != s.Name || m.PID != os.Getpid() || m.Host != host || m.Kept {
		t.Errorf("marker %+v", m)
	}
	if err := s.Keep(); err != nil {
		t.Fatal(err)
	}
	if m, err = ReadMarker(s.Path); err != nil || !m.Kept {
		t.Errorf("after Keep: %+v, %v", m, err)
	}
	s2, err := CreateScratch(parent)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Name == s.Name {
		t.Error("two scratch folders with one name")
	}
	if err := s.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := s2.Remove(); err != nil {
		t.Fatal(err)
	}
	if n := names(t, parent); len(n) != 0 {
		t.Errorf("left behind: %v", n)
	}
}

// TestNeverRemoveWithoutValidMarker covers folders that look like scratch
// folders but are not provably the replay's.
func TestNeverRemoveWithoutValidMarker(t *testing.T) {
	parent := t.TempDir()
	_, precious := outside(t)
	valid := func(name string) string {
		return markerMagic + "\nname = " + name + "\nhost = h\npid = 1\nkept = false\n"
	}
	tests := []struct {
		name  string
		setup func(path string)
	}{
		{"no marker", func(p string) { os.Mkdir(p, 0o700) }},
		{"empty marker", func(p string) {
			os.Mkdir(p, 0o700)
			os.WriteFile(filepath.Join(p, MarkerName), nil, 0o600)
		}},
		{"marker of another folder", func(p string) {
			os.Mkdir(p, 0o700)
			os.WriteFile(filepath.Join(p, MarkerName), []byte(valid(ScratchPrefix+"other")), 0o600)
		}},
		{"marker is a symlink", func(p string) {
			os.Mkdir(p, 0o700)
			real := filepath.Join(t.TempDir(), "m")
			os.WriteFile(real, []byte(valid(filepath.Base(p))), 0o600)
			os.Symlink(real, filepath.Join(p, MarkerName))
		}},
		{"marker is a directory", func(p string) {
			os.MkdirAll(filepath.Join(p, MarkerName), 0o700)
		}},
		{"folder is a symlink to a marked folder", func(p string) {
			target := filepath.Join(t.TempDir(), filepath.Base(p))
			os.Mkdir(target, 0o700)
			os.WriteFile(filepath.Join(target, MarkerName), []byte(valid(filepath.Base(p))), 0o600)
			os.Symlink(filepath.Dir(precious), filepath.Join(target, "link"))
			os.Symlink(target, p)
		}},
		{"folder is a file", func(p string) { os.WriteFile(p, []byte("x"), 0o600) }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(parent, ScratchPrefix+"fake"+string(rune('a'+i)))
			tt.setup(path)
			if _, err := OpenScratch(parent, filepath.Base(path)); err == nil {
				t.Fatal("OpenScratch accepted it")
			}
			removed, _, err := Clean(parent, CleanAll)
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(removed, path) {
				t.Fatal("Clean removed it")
			}
			if _, err := os.Lstat(path); err != nil {
				t.Fatalf("it is gone: %v", err)
			}
			checkIntact(t, precious)
		})
	}
}

// TestRemoveDoesNotFollowSymlinks plants links inside a scratch folder
// that point outside it, and removes the folder.
func TestRemoveDoesNotFollowSymlinks(t *testing.T) {
	parent := t.TempDir()
	out, precious := outside(t)
	s, err := CreateScratch(parent)
	if err != nil {
		t.Fatal(err)
	}
	md, err := openMaildir(s, "mail-1", true, FsyncNever)
	if err != nil {
		t.Fatal(err)
	}
	md.close()
	for _, link := range []string{"dirlink", "mail-1/cur/filelink", "mail-1/tmp/dirlink"} {
		target := out
		if strings.Contains(link, "file") {
			target = precious
		}
		if err := os.Symlink(target, filepath.Join(s.Path, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(s.Path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("scratch folder still there: %v", err)
	}
	checkIntact(t, precious)
	if n := names(t, out); len(n) != 1 {
		t.Errorf("outside directory now holds %v", n)
	}
}

// TestMaildirOpsRefuseSymlinks plants links where the replay's operations
// will meet them and checks that none reads or writes through them.
func TestMaildirOpsRefuseSymlinks(t *testing.T) {
	parent := t.TempDir()
	out, precious := outside(t)
	s, err := CreateScratch(parent)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Remove()
	md, err := openMaildir(s, "mail-1", true, FsyncAlways)
	if err != nil {
		t.Fatal(err)
	}
	defer md.close()
	cur := filepath.Join(md.path, "cur")
	os.Symlink(precious, filepath.Join(cur, "evil:2,"))
	os.Symlink(precious, filepath.Join(md.path, "tmp", "msg"))
	os.Symlink(precious, filepath.Join(md.path, lockName))

	if _, err := md.readHeader("evil:2,", make([]byte, HeaderBlock)); !errors.Is(err, syscall.ELOOP) {
		t.Errorf("readHeader through a symlink: %v, want ELOOP", err)
	}
	if err := md.lstat("evil:2,"); err != nil {
		t.Errorf("lstat of the link itself: %v", err)
	}
	if err := md.deliver("msg", []byte("Subject: x\n\n")); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("deliver over a planted link: %v, want EEXIST", err)
	}
	if err := md.lock([]byte("1\n")); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("dotlock over a planted link: %v, want EEXIST", err)
	}
	if err := md.rename("evil:2,", "evil:2,S"); err != nil {
		t.Errorf("rename of the link itself: %v", err)
	}
	if err := md.unlink("evil:2,S"); err != nil {
		t.Errorf("unlink of the link itself: %v", err)
	}
	for _, bad := range []string{"../../x", "..", "", "a/b"} {
		if err := md.unlink(bad); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("unlink(%q) = %v, want a refusal", bad, err)
		}
	}
	checkIntact(t, precious)
	if n := names(t, out); len(n) != 1 {
		t.Errorf("outside directory now holds %v", n)
	}
	// A planted directory link in place of cur/ is refused too.
	os.Rename(cur, cur+".old")
	os.Symlink(out, cur)
	if _, err := md.list("cur"); !errors.Is(err, syscall.ELOOP) && !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("listing through a cur/ link: %v, want ELOOP or ENOTDIR", err)
	}
}

// exitedPID returns the id of a process that has finished.
func exitedPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	return cmd.Process.Pid
}

func TestCleanLeftovers(t *testing.T) {
	parent := t.TempDir()
	host, _ := os.Hostname()
	// mk makes a folder with marker m; closed releases its lock, as the
	// end of its replay would.
	mk := func(m Marker, closed bool) string {
		s, err := CreateScratch(parent)
		if err != nil {
			t.Fatal(err)
		}
		writeMarker(t, s.Path, m)
		os.WriteFile(filepath.Join(s.Path, "data"), []byte("x"), 0o600)
		if closed {
			s.Close()
		} else {
			t.Cleanup(func() { s.Close() })
		}
		return s.Path
	}
	dead := exitedPID(t)
	interrupted := mk(Marker{Host: host, PID: dead}, true)
	running := mk(Marker{Host: host, PID: os.Getpid()}, false)
	kept := mk(Marker{Host: host, PID: dead, Kept: true}, true)
	foreign := mk(Marker{Host: "other-host-" + host, PID: dead}, true)
	unmarked := filepath.Join(parent, ScratchPrefix+"unmarked")
	os.Mkdir(unmarked, 0o700)

	removed, left, err := Clean(parent, CleanStale)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed, []string{interrupted}) {
		t.Errorf("CleanStale removed %v, want only the interrupted run's %v", removed, interrupted)
	}
	want := []string{foreign, kept, running, unmarked}
	slices.Sort(want)
	if got := skippedPaths(left); !slices.Equal(got, want) {
		t.Errorf("CleanStale left %v, want %v", left, want)
	}

	removed, left, err = Clean(parent, CleanAll)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{foreign, kept}
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Errorf("CleanAll removed %v, want %v", removed, want)
	}
	want = []string{running, unmarked}
	slices.Sort(want)
	if got := skippedPaths(left); !slices.Equal(got, want) {
		t.Errorf("CleanAll left %v, want %v", left, want)
	}

	// The next run removes an interrupted run's folder before it starts.
	again := mk(Marker{Host: host, PID: dead}, true)
	res, err := Run(context.Background(), Config{Dir: parent, Messages: []int{8}, Cold: "no", Reps: 1, OpsPerPoint: 2, MaxSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Cleaned, []string{again}) {
		t.Errorf("Run cleaned %v, want %v", res.Cleaned, again)
	}
	if _, err := os.Stat(again); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("interrupted folder still there: %v", err)
	}
}

// writeMarker replaces the marker of the folder at path with m, named
// after the folder.
func writeMarker(t *testing.T, path string, m Marker) {
	t.Helper()
	m.Name = filepath.Base(path)
	tmp := filepath.Join(path, MarkerName+".test")
	if err := os.WriteFile(tmp, m.encode(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(path, MarkerName)); err != nil {
		t.Fatal(err)
	}
}

func skippedPaths(left []Skipped) []string {
	var out []string
	for _, l := range left {
		out = append(out, l.Path)
	}
	return out
}

// TestKilledReplayLeavesOnlyItsFolder kills a replay running in a child
// process while it delivers, then checks that only its marked scratch
// folder is left and that the next run removes it.
func TestKilledReplayLeavesOnlyItsFolder(t *testing.T) {
	if dir := os.Getenv("REPLAY_TEST_KILL_DIR"); dir != "" {
		// The child: a replay long enough to be killed in the middle.
		Run(context.Background(), Config{Dir: dir, Messages: []int{50000}, MaxSize: 512, Cold: "no", MailFsync: FsyncNever, Progress: os.Stdout})
		os.Exit(0)
	}
	parent := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledReplayLeavesOnlyItsFolder$")
	cmd.Env = append(os.Environ(), "REPLAY_TEST_KILL_DIR="+parent)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	got := ""
	for !strings.Contains(got, "delivering") {
		n, err := out.Read(buf)
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child ended before delivering: %v (%q)", err, got)
		}
		got += string(buf[:n])
	}
	cmd.Process.Kill()
	cmd.Wait()

	left := names(t, parent)
	if len(left) != 1 || !strings.HasPrefix(left[0], ScratchPrefix) {
		t.Fatalf("after the kill the parent holds %v, want one scratch folder", left)
	}
	path := filepath.Join(parent, left[0])
	m, err := ReadMarker(path)
	if err != nil || m.PID != cmd.Process.Pid {
		t.Fatalf("marker %+v, %v; want the child's pid %d", m, err, cmd.Process.Pid)
	}
	res, err := Run(context.Background(), Config{Dir: parent, Messages: []int{8}, Cold: "no", Reps: 1, OpsPerPoint: 2, MaxSize: 512})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Cleaned, []string{path}) {
		t.Errorf("next run cleaned %v, want %v", res.Cleaned, path)
	}
	if left := names(t, parent); len(left) != 0 {
		t.Errorf("after the next run the parent holds %v", left)
	}
}
