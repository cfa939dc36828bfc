//go:build linux

package replay

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
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

// LockName is the file, beside the marker, that every replay using a
// scratch folder holds a lock on for as long as it runs: the proof that
// the folder is in use (see [Scratch]).
const LockName = ".mailsim-replay.lock"

// ScratchPrefix starts the name of every scratch folder.
const ScratchPrefix = "mailsim-replay-"

// TombstoneSuffix ends the name a scratch folder is renamed to when its
// removal starts (mailsim-replay-123.removing). The random part of a
// scratch folder's name is digits only, so no new folder is ever named
// like a tombstone, and a removal that was interrupted is finished by the
// next [Clean].
const TombstoneSuffix = ".removing"

// MaxMarkerSize is the largest marker file the replay reads. A real marker
// is under 200 bytes; a larger file is refused rather than read.
const MaxMarkerSize = 4096

// markerMagic is the first line of a marker file.
const markerMagic = "mailsim replay scratch folder v1"

// Marker is the content of a scratch folder's marker file.
type Marker struct {
	// Name is the scratch folder's own name; a marker copied into another
	// folder does not validate it.
	Name string
	// Host and PID name the process that created the folder. They are
	// for people reading the marker, and Host limits which folders a new
	// run removes on its own ([CleanStale]); whether the folder is still
	// in use is decided by its lock alone (see [Scratch]), as neither a
	// host name nor a process id is unique across containers and hosts.
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
		return m, errors.New("marker lacks the magic first line")
	}
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " = ")
		if !ok {
			return m, fmt.Errorf("marker line %q is not key = value", sc.Text())
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
			return m, fmt.Errorf("marker: %v", err)
		}
	}
	if m.Name == "" {
		return m, errors.New("marker has no name")
	}
	return m, nil
}

// Scratch is a scratch folder made by the replay under a parent directory.
// Everything the replay writes lives inside it.
//
// # Liveness
//
// Every replay that uses a scratch folder, the one that made it and every
// one that joined it, holds a shared lock on the folder's [LockName] file
// from the moment it makes or opens the folder until [Scratch.Close] or
// [Scratch.Remove]. Removing a folder takes an exclusive lock on the same
// file without waiting, and holds it until the folder is gone. So a folder
// is a leftover exactly when its lock can be taken: the proof does not
// depend on host names or process ids, which containers and hosts share.
//
// The locks are open file description locks (fcntl F_OFD_SETLK): the
// kernel drops them when their process ends, however it ends, and two
// opens of the file conflict even within one process. On NFS the Linux
// client takes them on the server (NLM for NFSv3, the protocol's own locks
// for NFSv4), so the proof holds between hosts provided that
//
//   - the mount provides server locks: not NFSv3 mounted with nolock, not
//     local_lock=posix or local_lock=all (mailsim replay warns of these,
//     see [LocalLocks]), and for NFSv3 lockd and statd running (without
//     them taking the lock fails and the replay does not start);
//   - the holder keeps its lease: an NFSv4 client cut off from the server
//     for longer than the lease time (90 s by default) can lose its locks,
//     and the server may then grant them to a cleaner;
//   - after a server restart the holder reclaims its lock within the grace
//     period, as the Linux client does by itself.
type Scratch struct {
	// Parent is the directory the folder was made in, as given.
	Parent string
	// Name is the folder's base name (ScratchPrefix and a unique suffix).
	Name string
	// Path is Parent joined with Name.
	Path string

	// lock is the open lock file, holding a shared lock; nil once closed.
	lock *os.File
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

// CreateScratch makes a new, uniquely named scratch folder under parent,
// creates its lock file and takes the shared lock that proves the folder
// is in use, then writes its marker. It refuses a parent that is not a
// directory or that it cannot write, and a file system that cannot lock.
// The caller must end with [Scratch.Remove] or [Scratch.Close].
func CreateScratch(parent string) (*Scratch, error) {
	if err := CheckParent(parent); err != nil {
		return nil, err
	}
	path, err := os.MkdirTemp(parent, ScratchPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("replay: cannot create a scratch folder in %s: %w", parent, err)
	}
	s := &Scratch{Parent: parent, Name: filepath.Base(path), Path: path}
	lockPath := filepath.Join(path, LockName)
	markerPath := filepath.Join(path, MarkerName)
	fail := func(err error) (*Scratch, error) {
		s.Close()
		os.Remove(markerPath)
		os.Remove(lockPath)
		os.Remove(path)
		return nil, err
	}
	fd, err := syscall.Open(lockPath, syscall.O_RDWR|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return fail(fmt.Errorf("replay: cannot create the scratch lock %s: %w", lockPath, err))
	}
	s.lock = os.NewFile(uintptr(fd), lockPath)
	if err := lockFile(s.lock, syscall.F_RDLCK); err != nil {
		return fail(fmt.Errorf("replay: cannot lock %s: %w%s", lockPath, err, lockHint(err)))
	}
	host, _ := os.Hostname()
	m := Marker{Name: s.Name, Host: host, PID: os.Getpid()}
	fd, err = syscall.Open(markerPath, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err == nil {
		f := os.NewFile(uintptr(fd), markerPath)
		_, err = f.Write(m.encode())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fail(fmt.Errorf("replay: cannot write the scratch marker %s: %w", markerPath, err))
	}
	return s, nil
}

// OpenScratch opens an existing scratch folder name under parent, for a
// replayer on another host that joins it, and takes the shared lock that
// proves the folder is in use. The folder must carry a valid marker and a
// lock file, and must not be being removed. The caller must end with
// [Scratch.Close].
func OpenScratch(parent, name string) (*Scratch, error) {
	if err := CheckParent(parent); err != nil {
		return nil, err
	}
	if name != filepath.Base(name) || !strings.HasPrefix(name, ScratchPrefix) || strings.HasSuffix(name, TombstoneSuffix) {
		return nil, fmt.Errorf("replay: %q is not a scratch folder name", name)
	}
	s := &Scratch{Parent: parent, Name: name, Path: filepath.Join(parent, name)}
	if _, err := ReadMarker(s.Path); err != nil {
		return nil, err
	}
	lockPath := filepath.Join(s.Path, LockName)
	f, err := openLock(lockPath, false)
	if err != nil {
		return nil, err
	}
	if err := lockFile(f, syscall.F_RDLCK); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("replay: %s is being removed (%s is locked by a clean)", s.Path, lockPath)
		}
		return nil, fmt.Errorf("replay: cannot lock %s: %w%s", lockPath, err, lockHint(err))
	}
	s.lock = f
	// The folder may have been removed, or renamed for removal, between
	// opening the lock file and locking it: the lock must be on the file
	// that is still there, in a folder still marked.
	if err := sameLock(f, lockPath); err != nil {
		s.Close()
		return nil, err
	}
	if _, err := ReadMarker(s.Path); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the folder's lock without removing the folder: from then
// on a [Clean] may remove it. Closing twice does nothing.
func (s *Scratch) Close() error {
	if s.lock == nil {
		return nil
	}
	err := s.lock.Close()
	s.lock = nil
	if err != nil {
		return fmt.Errorf("replay: close %s: %w", filepath.Join(s.Path, LockName), err)
	}
	return nil
}

// errLocked reports that a lock is held by someone else.
var errLocked = errors.New("locked by another process")

// fOFDSetlk is F_OFD_SETLK, the same on every Linux architecture
// (include/uapi/asm-generic/fcntl.h); the syscall package lacks it.
const fOFDSetlk = 37

// lockFile takes, or converts to, a lock of type typ (syscall.F_RDLCK or
// F_WRLCK) on all of f without waiting. It returns errLocked when another
// open of the file holds a conflicting lock.
func lockFile(f *os.File, typ int16) error {
	lk := syscall.Flock_t{Type: typ, Whence: io.SeekStart}
	err := syscall.FcntlFlock(f.Fd(), fOFDSetlk, &lk)
	if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) {
		return errLocked
	}
	return err
}

// lockHint explains a failure to lock that is the system's doing.
func lockHint(err error) string {
	switch {
	case errors.Is(err, syscall.ENOLCK) || errors.Is(err, syscall.EOPNOTSUPP):
		return " (the file system does not provide locks: an NFSv3 mount needs lockd and statd; the replay needs a lock to prove that a folder is in use)"
	case errors.Is(err, syscall.EINVAL):
		return " (open file description locks need Linux 3.15 or later; the replay needs a lock to prove that a folder is in use)"
	}
	return ""
}

// openLock opens an existing lock file, for writing when write is set,
// without following a symbolic link and without blocking: only a regular
// file is accepted.
func openLock(path string, write bool) (*os.File, error) {
	mode := syscall.O_RDONLY
	if write {
		mode = syscall.O_RDWR
	}
	f, err := openRegular(path, mode, "scratch lock")
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	return f, nil
}

// openRegular opens path with flags (O_RDONLY or O_RDWR) if, and only if,
// it is a regular file: it checks with lstat first, opens with O_NOFOLLOW
// and O_NONBLOCK so that a symbolic link is refused and a FIFO or device
// planted in its place can never block, and checks again with fstat that
// the file opened is the regular file looked at. what names the file in
// errors.
func openRegular(path string, flags int, what string) (*os.File, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, refusal(fmt.Sprintf("%s %s is not a regular file (%s)", what, path, FileKind(fi.Mode())))
	}
	fd, err := syscall.Open(path, flags|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s %s: %w", what, path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if !st.Mode().IsRegular() || !os.SameFile(fi, st) {
		f.Close()
		return nil, refusal(fmt.Sprintf("%s %s changed while it was opened", what, path))
	}
	return f, nil
}

// FileKind names the type of a file that is not a regular one, for
// messages such as "it is a FIFO".
func FileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// sameLock checks that path is still the file f has open.
func sameLock(f *os.File, path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("replay: scratch lock %s went away: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("replay: scratch lock: %w", err)
	}
	if !os.SameFile(fi, st) {
		return fmt.Errorf("replay: scratch lock %s was replaced", path)
	}
	return nil
}

// ReadMarker returns the marker of the scratch folder at path. It fails
// unless path is a real directory (not a symbolic link) named like a
// scratch folder and holding a regular marker file, of at most
// [MaxMarkerSize] bytes, whose name matches. It never blocks on a special
// file in the marker's place.
func ReadMarker(path string) (Marker, error) {
	name := filepath.Base(path)
	if !strings.HasPrefix(name, ScratchPrefix) || strings.HasSuffix(name, TombstoneSuffix) {
		return Marker{}, fmt.Errorf("replay: %s is not named like a scratch folder", path)
	}
	return readMarker(path, name)
}

// readMarker reads the marker of the folder at path, which must name
// folder name.
func readMarker(path, name string) (Marker, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return Marker{}, fmt.Errorf("replay: %w", err)
	}
	if !fi.IsDir() {
		return Marker{}, fmt.Errorf("replay: %s is not a directory", path)
	}
	markerPath := filepath.Join(path, MarkerName)
	f, err := openRegular(markerPath, syscall.O_RDONLY, "marker")
	if err != nil {
		return Marker{}, fmt.Errorf("replay: %s has no usable marker: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxMarkerSize+1))
	if err != nil {
		return Marker{}, fmt.Errorf("replay: read %s: %w", markerPath, err)
	}
	if len(data) > MaxMarkerSize {
		return Marker{}, fmt.Errorf("replay: marker %s is larger than %d bytes", markerPath, MaxMarkerSize)
	}
	m, err := parseMarker(data)
	if err != nil {
		return Marker{}, fmt.Errorf("replay: %s: %w", markerPath, err)
	}
	if m.Name != name {
		return Marker{}, fmt.Errorf("replay: %s: marker belongs to %q", markerPath, m.Name)
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
// its marker again, and releases its lock. It refuses while another replay
// (one that joined the folder) holds the folder's lock. Symbolic links
// inside are removed, never followed.
func (s *Scratch) Remove() error {
	if s.lock == nil {
		return fmt.Errorf("replay: remove %s: the scratch folder was closed", s.Path)
	}
	defer s.Close()
	if err := lockFile(s.lock, syscall.F_WRLCK); err != nil {
		if errors.Is(err, errLocked) {
			return fmt.Errorf("replay: not removing %s: another replay is using it (%s is locked)", s.Path, filepath.Join(s.Path, LockName))
		}
		return fmt.Errorf("replay: lock %s: %w", filepath.Join(s.Path, LockName), err)
	}
	if _, err := ReadMarker(s.Path); err != nil {
		return fmt.Errorf("replay: refusing to remove %s: %w", s.Path, err)
	}
	lock := s.lock
	s.lock = nil
	return removeLocked(s.Parent, s.Name, lock)
}

// removeStep, when set (by tests), is called before each step of a
// removal with the step's name; an error stops the removal there, as if
// the process had been killed.
var removeStep func(step string) error

func step(name string) error {
	if removeStep != nil {
		return removeStep(name)
	}
	return nil
}

// removeLocked removes the scratch folder name under parent, whose marker
// has been checked and whose lock file lock holds exclusively; it closes
// lock. It first renames the folder to its tombstone name, so that nobody
// can open or join it by name any more, then calls finishTombstone.
func removeLocked(parent, name string, lock *os.File) error {
	path := filepath.Join(parent, name)
	if err := step("rename"); err != nil {
		lock.Close()
		return err
	}
	tomb := name + TombstoneSuffix
	// A rename would replace an empty directory of that name: never
	// remove what is not the replay's.
	if _, err := os.Lstat(filepath.Join(parent, tomb)); !errors.Is(err, fs.ErrNotExist) {
		lock.Close()
		return refusal(fmt.Sprintf("replay: not removing %s yet: %s exists (the next clean finishes it first)", path, filepath.Join(parent, tomb)))
	}
	if err := os.Rename(path, filepath.Join(parent, tomb)); err != nil {
		lock.Close()
		return fmt.Errorf("replay: remove %s: %w", path, err)
	}
	return finishTombstone(parent, tomb, lock)
}

// finishTombstone removes the tombstone folder tomb under parent in an
// order that an interruption at any point leaves something the next call
// can finish: everything but the marker and the lock file, then the lock
// file, then the marker, then the empty folder. So a tombstone with a
// marker holds nothing that is not the replay's, and one without a marker
// is empty; a tombstone without a marker that is not empty is left alone.
// lock, when not nil, is the folder's lock file, locked exclusively by the
// caller; otherwise the lock is taken here, and a tombstone whose lock is
// held is left to its holder. Either way the lock file is closed before it
// is unlinked: an NFS client would otherwise keep it as a .nfsXXXX file
// and the folder could not be removed.
func finishTombstone(parent, tomb string, lock *os.File) error {
	release := func() {
		if lock != nil {
			lock.Close()
			lock = nil
		}
	}
	defer release()
	path := filepath.Join(parent, tomb)
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if !fi.IsDir() {
		return refusal(fmt.Sprintf("replay: refusing to remove %s: it is %s", path, FileKind(fi.Mode())))
	}
	root, err := os.OpenRoot(path)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer root.Close()
	if st, err := root.Stat("."); err != nil || !os.SameFile(fi, st) {
		return refusal(fmt.Sprintf("replay: refusing to remove %s: it changed while it was opened", path))
	}
	if _, err := root.Lstat(MarkerName); errors.Is(err, fs.ErrNotExist) {
		// The marker goes last but one: the folder should be empty.
		// rmdir, unlike os.Remove, never unlinks a link put in its place.
		if err := rmdir(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return refusal(fmt.Sprintf("replay: refusing to remove %s: it has no marker and is not empty (%v)", path, err))
		}
		return nil
	}
	if _, err := readMarker(path, strings.TrimSuffix(tomb, TombstoneSuffix)); err != nil {
		return refusal(fmt.Sprintf("replay: refusing to remove %s: %v", path, err))
	}
	if lock == nil {
		lockPath := filepath.Join(path, LockName)
		f, err := openLock(lockPath, true)
		switch {
		case err == nil:
			lock = f
			if err := lockFile(f, syscall.F_WRLCK); err != nil {
				if errors.Is(err, errLocked) {
					return fmt.Errorf("replay: %s is being removed by another clean (%s is locked): %w", path, lockPath, errLocked)
				}
				return fmt.Errorf("replay: lock %s: %w", lockPath, err)
			}
		case errors.Is(err, fs.ErrNotExist):
			// The lock file goes after everything but the marker.
		default:
			return refusal(fmt.Sprintf("replay: refusing to remove %s: %v", path, err))
		}
	}
	if err := step("contents"); err != nil {
		return err
	}
	if err := removeContents(root, path); err != nil {
		return err
	}
	release()
	for _, n := range []string{LockName, MarkerName} {
		if err := step(n); err != nil {
			return err
		}
		if err := root.Remove(n); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("replay: remove %s: %w", filepath.Join(path, n), err)
		}
	}
	if err := step("folder"); err != nil {
		return err
	}
	if err := rmdir(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("replay: remove %s: %w", path, err)
	}
	return nil
}

// rmdir removes the empty directory path, and nothing else.
func rmdir(path string) error {
	if err := syscall.Rmdir(path); err != nil {
		return &fs.PathError{Op: "rmdir", Path: path, Err: err}
	}
	return nil
}

// refusal is an error that says why a folder is not removed because it is
// not provably the replay's; [Clean] reports it as a reason to leave the
// folder, not as a failure.
type refusal string

func (r refusal) Error() string { return string(r) }

// removeContents removes everything in root but the marker and the lock
// file. os.Root.RemoveAll works relative to open directories and removes
// symbolic links themselves, so nothing outside the folder can be reached,
// and it never opens anything but directories, so special files cannot
// block it.
func removeContents(root *os.Root, path string) error {
	const batch = 256
	for {
		d, err := root.Open(".")
		if err != nil {
			return fmt.Errorf("replay: open %s: %w", path, err)
		}
		names, err := d.Readdirnames(batch)
		d.Close()
		if err != nil && err != io.EOF {
			return fmt.Errorf("replay: list %s: %w", path, err)
		}
		removed := 0
		for _, n := range names {
			if n == MarkerName || n == LockName {
				continue
			}
			if err := root.RemoveAll(n); err != nil {
				return fmt.Errorf("replay: remove %s: %w", filepath.Join(path, n), err)
			}
			removed++
		}
		if removed == 0 && len(names) < batch {
			return nil
		}
	}
}

// CleanMode selects which leftover scratch folders [Clean] removes.
type CleanMode int

// Clean modes.
const (
	// CleanStale removes folders made on this host that no replay uses,
	// unless they were kept on purpose: what a new run does before it
	// starts.
	CleanStale CleanMode = iota
	// CleanAll removes every folder with a valid marker that no replay
	// uses, kept or not, from any host: mailsim replay --clean.
	CleanAll
)

// Skipped is a folder that [Clean] left, and why.
type Skipped struct {
	// Path is the folder's path.
	Path string
	// Reason says why it was left.
	Reason string
}

// maxCandidates bounds how many scratch folders one Clean considers, so
// that a parent filled with hostile names cannot exhaust memory.
const maxCandidates = 100000

// Clean removes leftover scratch folders directly under parent: those
// with a valid marker whose lock (see [Scratch]) it can take, so that no
// replay uses them, and tombstones of removals that were interrupted. It
// returns the paths it removed and those it left with the reason, sorted
// by path. Entries without a valid marker are never touched, and no
// special file is ever opened in a way that could block.
func Clean(parent string, mode CleanMode) (removed []string, left []Skipped, err error) {
	if err := CheckParent(parent); err != nil {
		return nil, nil, err
	}
	cands, err := candidates(parent)
	if err != nil {
		return nil, nil, err
	}
	host, _ := os.Hostname()
	var errs []error
	for _, name := range cands {
		path := filepath.Join(parent, name)
		var why string
		var rerr error
		if strings.HasSuffix(name, TombstoneSuffix) {
			rerr = finishTombstone(parent, name, nil)
			var r refusal
			switch {
			case errors.Is(rerr, errLocked):
				why, rerr = "another clean is removing it", nil
			case errors.As(rerr, &r):
				why, rerr = string(r), nil
			}
		} else {
			why, rerr = cleanOne(parent, name, mode, host)
		}
		switch {
		case errors.Is(rerr, fs.ErrNotExist) && why == "":
			// Removed by someone else meanwhile.
		case rerr != nil:
			errs = append(errs, rerr)
			left = append(left, Skipped{path, rerr.Error()})
		case why != "":
			left = append(left, Skipped{path, why})
		default:
			removed = append(removed, path)
		}
	}
	sort.Strings(removed)
	sort.Slice(left, func(i, j int) bool { return left[i].Path < left[j].Path })
	return removed, left, errors.Join(errs...)
}

// candidates lists the names under parent that look like scratch folders
// or their tombstones, reading the directory in batches.
func candidates(parent string) ([]string, error) {
	d, err := os.OpenFile(parent, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer d.Close()
	var out []string
	for {
		names, err := d.Readdirnames(1024)
		for _, n := range names {
			if strings.HasPrefix(n, ScratchPrefix) {
				if len(out) == maxCandidates {
					return nil, fmt.Errorf("replay: %s holds more than %d entries named %s*", parent, maxCandidates, ScratchPrefix)
				}
				out = append(out, n)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("replay: list %s: %w", parent, err)
		}
	}
	sort.Strings(out)
	return out, nil
}

// cleanOne removes the scratch folder name under parent if the mode asks
// for it and no replay holds its lock. It returns why it left the folder,
// or an error; both empty means removed.
func cleanOne(parent, name string, mode CleanMode, host string) (why string, err error) {
	path := filepath.Join(parent, name)
	fi, err := os.Lstat(path)
	if err != nil {
		return "", fmt.Errorf("replay: %w", err)
	}
	if !fi.IsDir() {
		return "not a directory: " + FileKind(fi.Mode()), nil
	}
	m, err := ReadMarker(path)
	if err != nil {
		return "no valid marker: " + err.Error(), nil
	}
	if why := staleWhy(m, mode, host); why != "" {
		return why, nil
	}
	lockPath := filepath.Join(path, LockName)
	f, err := openLock(lockPath, true)
	if errors.Is(err, fs.ErrNotExist) {
		return "no lock file " + LockName + " to prove it unused (made by an older mailsim?); remove it by hand once no replay uses it", nil
	}
	var r refusal
	if errors.As(err, &r) {
		return "no usable lock file: " + err.Error(), nil
	}
	if err != nil {
		return "", err
	}
	closeLock := true
	defer func() {
		if closeLock {
			f.Close()
		}
	}()
	if err := lockFile(f, syscall.F_WRLCK); err != nil {
		if errors.Is(err, errLocked) {
			return "a replay is using it (" + lockPath + " is locked)", nil
		}
		return "", fmt.Errorf("replay: lock %s: %w%s", lockPath, err, lockHint(err))
	}
	// With the lock held nothing changes any more: check that it is the
	// folder's lock, and the marker again (its replay may have kept the
	// folder just before it ended).
	if err := sameLock(f, lockPath); err != nil {
		return "", err
	}
	if m, err = ReadMarker(path); err != nil {
		return "no valid marker: " + err.Error(), nil
	}
	if why := staleWhy(m, mode, host); why != "" {
		return why, nil
	}
	closeLock = false
	if err := removeLocked(parent, name, f); err != nil {
		if errors.As(err, &r) {
			return string(r), nil
		}
		return "", err
	}
	return "", nil
}

// staleWhy says why mode leaves a folder with marker m alone, or "".
func staleWhy(m Marker, mode CleanMode, host string) string {
	if mode != CleanStale {
		return ""
	}
	if m.Kept {
		return "kept on purpose (mailsim replay --clean removes it)"
	}
	if m.Host != host {
		return "made on host " + m.Host + " (mailsim replay --clean removes it)"
	}
	return ""
}
