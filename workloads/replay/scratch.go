//go:build linux

package replay

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// MarkerName is the file, at the top of every scratch folder, that proves
// the folder was made by the replay. No folder without a valid marker is
// ever removed.
const MarkerName = ".mailsim-replay"

// ScratchPrefix starts the name of every scratch folder.
const ScratchPrefix = "mailsim-replay-"

// markerMagic is the first line of a marker file.
const markerMagic = "mailsim replay scratch folder v1"

// Marker is the content of a scratch folder's marker file.
type Marker struct {
	// Name is the scratch folder's own name; a marker copied into another
	// folder does not validate it.
	Name string
	// Host and PID identify the process that created the folder, so that a
	// later run on the same host can tell an interrupted replay's leftover
	// from one still running.
	Host string
	PID  int
	// Kept is set when the replay finished and was asked to keep the
	// folder (--keep); automatic cleaning leaves such folders alone.
	Kept bool
}

func (m Marker) encode() []byte {
	return fmt.Appendf(nil, "%s\nname = %s\nhost = %s\npid = %d\nkept = %t\n", markerMagic, m.Name, m.Host, m.PID, m.Kept)
}

func parseMarker(data []byte) (Marker, error) {
	var m Marker
	sc := bufio.NewScanner(bytes.NewReader(data))
	if !sc.Scan() || sc.Text() != markerMagic {
		return m, errors.New("replay: marker lacks the magic first line")
	}
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " = ")
		if !ok {
			return m, fmt.Errorf("replay: marker line %q is not key = value", sc.Text())
		}
		var err error
		switch k {
		case "name":
			m.Name = v
		case "host":
			m.Host = v
		case "pid":
			m.PID, err = strconv.Atoi(v)
		case "kept":
			m.Kept, err = strconv.ParseBool(v)
		default:
			err = fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return m, fmt.Errorf("replay: marker: %v", err)
		}
	}
	if m.Name == "" {
		return m, errors.New("replay: marker has no name")
	}
	return m, nil
}

// Scratch is a scratch folder made by the replay under a parent directory.
// Everything the replay writes lives inside it.
type Scratch struct {
	// Parent is the directory the folder was made in, as given.
	Parent string
	// Name is the folder's base name (ScratchPrefix and a unique suffix).
	Name string
	// Path is Parent joined with Name.
	Path string
}

// CheckParent reports whether dir can hold a scratch folder: it must exist
// and be a directory. (Whether it is writable is found out by creating the
// folder, the only test that cannot lie.)
func CheckParent(dir string) error {
	if dir == "" {
		return errors.New("replay: no directory given")
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("replay: %s is not a directory", dir)
	}
	return nil
}

// CreateScratch makes a new, uniquely named scratch folder under parent and
// writes its marker. It refuses a parent that is not a directory or that it
// cannot write.
func CreateScratch(parent string) (*Scratch, error) {
	if err := CheckParent(parent); err != nil {
		return nil, err
	}
	path, err := os.MkdirTemp(parent, ScratchPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("replay: cannot create a scratch folder in %s: %w", parent, err)
	}
	s := &Scratch{Parent: parent, Name: filepath.Base(path), Path: path}
	host, _ := os.Hostname()
	m := Marker{Name: s.Name, Host: host, PID: os.Getpid()}
	fd, err := syscall.Open(filepath.Join(path, MarkerName), syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err == nil {
		f := os.NewFile(uintptr(fd), MarkerName)
		_, err = f.Write(m.encode())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		os.Remove(filepath.Join(path, MarkerName))
		os.Remove(path)
		return nil, fmt.Errorf("replay: cannot write the scratch marker in %s: %w", parent, err)
	}
	return s, nil
}

// OpenScratch opens an existing scratch folder name under parent, for a
// replayer on another host that joins it. The folder must carry a valid
// marker.
func OpenScratch(parent, name string) (*Scratch, error) {
	if err := CheckParent(parent); err != nil {
		return nil, err
	}
	if name != filepath.Base(name) || !strings.HasPrefix(name, ScratchPrefix) {
		return nil, fmt.Errorf("replay: %q is not a scratch folder name", name)
	}
	s := &Scratch{Parent: parent, Name: name, Path: filepath.Join(parent, name)}
	if _, err := ReadMarker(s.Path); err != nil {
		return nil, err
	}
	return s, nil
}

// ReadMarker returns the marker of the scratch folder at path. It fails
// unless path is a real directory (not a symbolic link) named like a
// scratch folder and holding a regular marker file whose name matches.
func ReadMarker(path string) (Marker, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return Marker{}, fmt.Errorf("replay: %w", err)
	}
	if !fi.IsDir() {
		return Marker{}, fmt.Errorf("replay: %s is not a directory", path)
	}
	name := filepath.Base(path)
	if !strings.HasPrefix(name, ScratchPrefix) {
		return Marker{}, fmt.Errorf("replay: %s is not named like a scratch folder", path)
	}
	fd, err := syscall.Open(filepath.Join(path, MarkerName), syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return Marker{}, fmt.Errorf("replay: %s has no usable marker: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), MarkerName)
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return Marker{}, fmt.Errorf("replay: %s: marker is not a regular file", path)
	}
	data := make([]byte, 4096)
	n, _ := f.Read(data)
	m, err := parseMarker(data[:n])
	if err != nil {
		return Marker{}, fmt.Errorf("%w (in %s)", err, path)
	}
	if m.Name != name {
		return Marker{}, fmt.Errorf("replay: %s: marker belongs to %q", path, m.Name)
	}
	return m, nil
}

// Keep records in the marker that the folder was kept on purpose, so that
// automatic cleaning leaves it for the user (mailsim replay --clean removes
// it).
func (s *Scratch) Keep() error {
	m, err := ReadMarker(s.Path)
	if err != nil {
		return err
	}
	m.Kept = true
	tmp := filepath.Join(s.Path, MarkerName+".new")
	fd, err := syscall.Open(tmp, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("replay: keep %s: %w", s.Path, err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	_, err = f.Write(m.encode())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.Path, MarkerName))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replay: keep %s: %w", s.Path, err)
	}
	return nil
}

// Remove deletes the scratch folder and everything in it, after checking
// its marker again. Symbolic links inside are removed, never followed.
func (s *Scratch) Remove() error {
	return removeScratch(s.Path)
}

func removeScratch(path string) error {
	if _, err := ReadMarker(path); err != nil {
		return fmt.Errorf("replay: refusing to remove %s: %w", path, err)
	}
	// os.RemoveAll opens each directory relative to its parent with
	// O_NOFOLLOW and unlinks symbolic links themselves, so nothing
	// outside path can be reached.
	if err := os.RemoveAll(path); err != nil {
		return fmt.Errorf("replay: remove %s: %w", path, err)
	}
	return nil
}

// CleanMode selects which leftover scratch folders [Clean] removes.
type CleanMode int

// Clean modes.
const (
	// CleanStale removes folders of replays on this host whose process has
	// ended, unless they were kept on purpose: what a new run does before
	// it starts.
	CleanStale CleanMode = iota
	// CleanAll removes every folder with a valid marker except those of
	// replays still running on this host (kept folders are finished):
	// mailsim replay --clean.
	CleanAll
)

// Clean removes leftover scratch folders directly under parent and returns
// the paths it removed and those it left, sorted. Entries without a valid
// marker are never touched.
func Clean(parent string, mode CleanMode) (removed, left []string, err error) {
	if err := CheckParent(parent); err != nil {
		return nil, nil, err
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil, nil, fmt.Errorf("replay: %w", err)
	}
	host, _ := os.Hostname()
	var errs []error
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ScratchPrefix) || e.Type()&fs.ModeSymlink != 0 {
			continue
		}
		path := filepath.Join(parent, e.Name())
		m, merr := ReadMarker(path)
		if merr != nil {
			left = append(left, path)
			continue
		}
		// A kept folder's replay has finished, whatever its process
		// does now.
		alive := !m.Kept && m.Host == host && processAlive(m.PID)
		foreign := m.Host != host
		if alive || (mode == CleanStale && (m.Kept || foreign)) {
			left = append(left, path)
			continue
		}
		if rerr := removeScratch(path); rerr != nil {
			errs = append(errs, rerr)
			left = append(left, path)
			continue
		}
		removed = append(removed, path)
	}
	sort.Strings(removed)
	sort.Strings(left)
	return removed, left, errors.Join(errs...)
}

// processAlive reports whether a process with this id exists on this host.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
