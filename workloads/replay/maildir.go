//go:build linux

package replay

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// Fsync policies, named after Dovecot's mail_fsync setting.
const (
	// FsyncAlways fsyncs every write: the message file before its rename,
	// the directory after it, the index log after each append and the
	// dotlock file. Dovecot recommends mail_fsync=always on NFS.
	FsyncAlways = "always"
	// FsyncOptimized fsyncs what losing would lose mail: the message file
	// before its rename and the index log after each append. Dovecot's
	// default (mail_fsync=optimized).
	FsyncOptimized = "optimized"
	// FsyncNever never fsyncs (mail_fsync=never).
	FsyncNever = "never"
)

// ValidFsync reports whether p is one of the mail_fsync values.
func ValidFsync(p string) bool {
	return p == FsyncAlways || p == FsyncOptimized || p == FsyncNever
}

// File names inside the Maildir. They are mailsim's own, so that a real
// Dovecot pointed at the same Maildir (for comparison) never mistakes them
// for its dovecot.index.log or dovecot-uidlist.lock.
const (
	logName  = "mailsim-index.log"
	lockName = "mailsim-uidlist.lock"
)

// folderPrefix starts the name of each Maildir in a scratch folder; the
// folder size follows ("mail-10000").
const folderPrefix = "mail-"

// maildir is an open Maildir inside a scratch folder. Every operation takes
// a single path component relative to an open directory descriptor and
// refuses to follow a symbolic link in its last component, so no
// operation can reach outside the scratch folder.
type maildir struct {
	path                      string
	mdfd, tmpfd, newfd, curfd int
	cur                       *os.Root
	fsync                     string
}

const dirFlags = syscall.O_RDONLY | syscall.O_DIRECTORY | syscall.O_NOFOLLOW | syscall.O_CLOEXEC

// openMaildir opens, and with create makes, the Maildir called name in a
// scratch folder.
func openMaildir(s *Scratch, name string, create bool, fsync string) (*maildir, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	top, err := syscall.Open(s.Path, dirFlags, 0)
	if err != nil {
		return nil, fmt.Errorf("replay: open %s: %w", s.Path, err)
	}
	defer syscall.Close(top)
	m := &maildir{path: filepath.Join(s.Path, name), fsync: fsync, mdfd: -1, tmpfd: -1, newfd: -1, curfd: -1}
	if create {
		if err := syscall.Mkdirat(top, name, 0o700); err != nil {
			return nil, fmt.Errorf("replay: mkdir %s: %w", m.path, err)
		}
	}
	if m.mdfd, err = syscall.Openat(top, name, dirFlags, 0); err != nil {
		return nil, fmt.Errorf("replay: open %s: %w", m.path, err)
	}
	for _, d := range []struct {
		name string
		fd   *int
	}{{"tmp", &m.tmpfd}, {"new", &m.newfd}, {"cur", &m.curfd}} {
		if create {
			if err := syscall.Mkdirat(m.mdfd, d.name, 0o700); err != nil {
				m.close()
				return nil, fmt.Errorf("replay: mkdir %s/%s: %w", m.path, d.name, err)
			}
		}
		if *d.fd, err = syscall.Openat(m.mdfd, d.name, dirFlags, 0); err != nil {
			m.close()
			return nil, fmt.Errorf("replay: open %s/%s: %w", m.path, d.name, err)
		}
	}
	if m.cur, err = os.OpenRoot(filepath.Join(m.path, "cur")); err != nil {
		m.close()
		return nil, fmt.Errorf("replay: open %s/cur: %w", m.path, err)
	}
	return m, nil
}

func (m *maildir) close() {
	for _, fd := range []*int{&m.tmpfd, &m.newfd, &m.curfd, &m.mdfd} {
		if *fd >= 0 {
			syscall.Close(*fd)
			*fd = -1
		}
	}
	if m.cur != nil {
		m.cur.Close()
		m.cur = nil
	}
}

// checkName refuses anything but a plain file name.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return fmt.Errorf("replay: refusing file name %q", name)
	}
	return nil
}

// writeFileAt creates name in dirfd with O_EXCL and writes data, with an
// fsync when sync is set.
func writeFileAt(dirfd int, name string, data []byte, sync bool) error {
	fd, err := syscall.Openat(dirfd, name, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	for len(data) > 0 {
		n, err := syscall.Write(fd, data)
		if err != nil {
			syscall.Close(fd)
			return err
		}
		data = data[n:]
	}
	if sync {
		if err := syscall.Fsync(fd); err != nil {
			syscall.Close(fd)
			return err
		}
	}
	return syscall.Close(fd)
}

// deliver does what a delivery agent does: write tmp/name with O_EXCL,
// fsync it unless mail_fsync=never, and rename it into new/.
func (m *maildir) deliver(name string, data []byte) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := writeFileAt(m.tmpfd, name, data, m.fsync != FsyncNever); err != nil {
		return err
	}
	if err := syscall.Renameat(m.tmpfd, name, m.newfd, name); err != nil {
		return err
	}
	if m.fsync == FsyncAlways {
		return syscall.Fsync(m.newfd)
	}
	return nil
}

// moveToCur renames new/name to cur/curName, as an IMAP server does when
// it first sees a new message.
func (m *maildir) moveToCur(name, curName string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := checkName(curName); err != nil {
		return err
	}
	return syscall.Renameat(m.newfd, name, m.curfd, curName)
}

// list reads the names in sub ("cur" or "new"), opening the directory
// afresh as a listing does. The names come in directory order: a mail
// server hashes them into its index and has no use for sorting.
func (m *maildir) list(sub string) ([]string, error) {
	fd, err := syscall.Openat(m.mdfd, sub, dirFlags, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), sub)
	names, err := f.Readdirnames(-1)
	f.Close()
	return names, err
}

// lstat stats cur/name without following a symbolic link.
func (m *maildir) lstat(name string) error {
	_, err := m.cur.Lstat(name)
	return err
}

// readHeader opens cur/name, reads its first len(buf) bytes and parses the
// fields an index rebuild needs. A symbolic link is refused (ELOOP).
func (m *maildir) readHeader(name string, buf []byte) (ParsedHeader, error) {
	if err := checkName(name); err != nil {
		return ParsedHeader{}, err
	}
	// O_NONBLOCK: a FIFO planted in cur/ must not hang the rebuild (it
	// reads as empty); it changes nothing for a regular file.
	fd, err := syscall.Openat(m.curfd, name, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return ParsedHeader{}, err
	}
	n, err := syscall.Read(fd, buf)
	syscall.Close(fd)
	if err != nil {
		return ParsedHeader{}, err
	}
	return ParseHeader(buf[:n]), nil
}

// rename renames cur/old to cur/new, as a flag change does.
func (m *maildir) rename(old, new string) error {
	if err := checkName(old); err != nil {
		return err
	}
	if err := checkName(new); err != nil {
		return err
	}
	return syscall.Renameat(m.curfd, old, m.curfd, new)
}

// unlink removes cur/name, as an expunge does.
func (m *maildir) unlink(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	return syscall.Unlinkat(m.curfd, name)
}

// openLog opens the index-log-like file for appending, creating it. It
// accepts only a regular file, and opens without blocking so that a FIFO
// in its place is refused rather than waited on.
func (m *maildir) openLog() (int, error) {
	path := filepath.Join(m.path, logName)
	fd, err := syscall.Openat(m.mdfd, logName, syscall.O_WRONLY|syscall.O_APPEND|syscall.O_CREAT|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return -1, fmt.Errorf("replay: open index log %s: %w", path, err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return -1, fmt.Errorf("replay: index log %s: %w", path, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		syscall.Close(fd)
		return -1, fmt.Errorf("replay: index log %s is not a regular file", path)
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return -1, fmt.Errorf("replay: index log %s: %w", path, err)
	}
	return fd, nil
}

// appendLog appends rec to the log and fsyncs it unless mail_fsync=never.
func (m *maildir) appendLog(fd int, rec []byte) error {
	if _, err := syscall.Write(fd, rec); err != nil {
		return err
	}
	if m.fsync != FsyncNever {
		return syscall.Fsync(fd)
	}
	return nil
}

// lock tries once to create the dotlock with O_EXCL, writing owner into
// it; it reports syscall.EEXIST when another holder has it.
func (m *maildir) lock(owner []byte) error {
	return writeFileAt(m.mdfd, lockName, owner, m.fsync == FsyncAlways)
}

// unlock removes the dotlock.
func (m *maildir) unlock() error {
	return syscall.Unlinkat(m.mdfd, lockName)
}

// messageName returns a Maildir file name for a message: the standard
// "time.MusecPpidQn.host" unique part with Dovecot's ",S=size,W=vsize"
// fields, where size is the file's length and vsize its length with CRLF
// line ends (Dovecot trusts both).
func messageName(sec int64, usec, client, q int, host string, size, vsize int) string {
	return strconv.FormatInt(sec, 10) + ".M" + strconv.Itoa(usec) + "P" + strconv.Itoa(client) + "Q" + strconv.Itoa(q) + "." + host +
		",S=" + strconv.Itoa(size) + ",W=" + strconv.Itoa(vsize)
}

// sanitizeHost makes a host name safe for a Maildir file name, replacing
// "/" and ":" as the Maildir specification asks.
func sanitizeHost(h string) string {
	if h == "" {
		return "localhost"
	}
	return strings.NewReplacer("/", `\057`, ":", `\072`).Replace(h)
}

// flagged returns cur name with its flags changed: it toggles flag in the
// ":2," info part.
func flagged(name string, flag byte) string {
	base, info, ok := strings.Cut(name, ":2,")
	if !ok {
		return name + ":2," + string(flag)
	}
	if i := strings.IndexByte(info, flag); i >= 0 {
		return base + ":2," + info[:i] + info[i+1:]
	}
	fl := []byte(info + string(flag))
	sort.Slice(fl, func(i, j int) bool { return fl[i] < fl[j] })
	return base + ":2," + string(fl)
}

// errno classifies an operation error for the contention report.
func errno(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}

// largestFolder returns the name of the largest Maildir in a scratch
// folder, for replayers that join it.
func largestFolder(s *Scratch) (string, error) {
	d, err := os.OpenFile(s.Path, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", fmt.Errorf("replay: %w", err)
	}
	defer d.Close()
	best, name := -1, ""
	// In batches, so that a folder with a great many entries costs no
	// more memory than a small one.
	for {
		entries, err := d.ReadDir(256)
		for _, e := range entries {
			n, err := strconv.Atoi(strings.TrimPrefix(e.Name(), folderPrefix))
			if !e.IsDir() || !strings.HasPrefix(e.Name(), folderPrefix) || err != nil {
				continue
			}
			if n > best {
				best, name = n, e.Name()
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("replay: list %s: %w", s.Path, err)
		}
	}
	if name == "" {
		return "", fmt.Errorf("replay: %s holds no Maildir to join", s.Path)
	}
	return name, nil
}
