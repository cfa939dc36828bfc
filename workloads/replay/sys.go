//go:build linux

package replay

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// dropCachesPath is the Linux knob that drops clean page, dentry and inode
// caches (proc(5), /proc/sys/vm/drop_caches).
const dropCachesPath = "/proc/sys/vm/drop_caches"

// DropCaches flushes dirty data with sync and then asks the kernel to drop
// its page, dentry and inode caches. It needs root.
func DropCaches() error {
	syscall.Sync()
	f, err := os.OpenFile(dropCachesPath, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("replay: drop caches: %w", err)
	}
	_, err = f.WriteString("3\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("replay: drop caches: %w", err)
	}
	return nil
}

// coldAllowed decides whether to measure cold, and if not, why.
func coldAllowed(cfg Config) (bool, string, error) {
	if cfg.Cold == "no" {
		return false, "cold measurements not asked for", nil
	}
	if cfg.DropCaches != nil {
		return true, "", nil
	}
	f, err := os.OpenFile(dropCachesPath, os.O_WRONLY, 0)
	if err != nil {
		if cfg.Cold == "yes" {
			return false, "", fmt.Errorf("replay: cold measurements need %s: %w", dropCachesPath, err)
		}
		return false, "cannot drop caches (needs root): " + errText(err), nil
	}
	f.Close()
	return true, "", nil
}

// FSType returns the type of the file system holding dir, as the kernel's
// mount table names it (ext4, tmpfs, nfs4, fuse.sshfs...), or "unknown".
func FSType(dir string) string {
	abs, err := filepath.Abs(dir)
	if err == nil {
		if r, err := filepath.EvalSymlinks(abs); err == nil {
			abs = r
		}
	}
	if t := mountType(abs); t != "" {
		return t
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err == nil {
		if t, ok := fsMagic[int64(st.Type)]; ok {
			return t
		}
		return fmt.Sprintf("0x%x", st.Type)
	}
	return "unknown"
}

// fsMagic names file system magic numbers from statfs(2) for systems
// without a readable mount table.
var fsMagic = map[int64]string{
	0xEF53:     "ext4",
	0x01021994: "tmpfs",
	0x6969:     "nfs",
	0x65735546: "fuse",
	0x58465342: "xfs",
	0x9123683E: "btrfs",
	0x794c7630: "overlay",
	0x2fc12fc1: "zfs",
}

// mountType finds the longest mount point in /proc/self/mountinfo that
// holds path and returns its file system type.
func mountType(path string) string {
	typ, _ := mountInfo(path)
	return typ
}

// mountInfo returns the type and the super block options of the mount
// holding path, from /proc/self/mountinfo, or "" when it cannot tell.
func mountInfo(path string) (typ, opts string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", ""
	}
	defer f.Close()
	return parseMountInfo(f, path)
}

// parseMountInfo finds the longest mount point in a mountinfo table that
// holds path and returns its file system type and super block options.
func parseMountInfo(r io.Reader, path string) (typ, opts string) {
	best := -1
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields := strings.Fields(pre)
		after := strings.Fields(post)
		if len(fields) < 5 || len(after) < 1 {
			continue
		}
		mp := unescapeMount(fields[4])
		if !within(mp, path) || len(mp) < best {
			continue
		}
		best, typ, opts = len(mp), after[0], ""
		if len(after) >= 3 {
			opts = after[2]
		}
	}
	return typ, opts
}

// LocalLocks says why the file system holding dir keeps file locks to
// this host (an NFS mount with nolock, or local_lock=posix or all), or
// returns "". On such a mount the lock that proves a scratch folder in use
// (see [Scratch]) is not seen by other hosts, so a clean there can remove
// a folder a replay here is using.
func LocalLocks(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	typ, opts := mountInfo(abs)
	return localLocks(typ, opts)
}

// localLocks is LocalLocks for a mount's type and super block options.
func localLocks(typ, opts string) string {
	if !strings.HasPrefix(typ, "nfs") {
		return ""
	}
	for _, o := range strings.Split(opts, ",") {
		switch o {
		case "nolock", "local_lock=posix", "local_lock=all":
			return "the NFS mount has " + o + ": its file locks are not seen by other hosts"
		}
	}
	return ""
}

func within(mp, path string) bool {
	if mp == "/" {
		return true
	}
	return path == mp || strings.HasPrefix(path, mp+"/")
}

// unescapeMount undoes the octal escapes (\040 for a space) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			ok := true
			for _, c := range []byte(s[i+1 : i+4]) {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + c - '0'
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// osRelease returns the kernel name and release, as uname -sr prints them.
func osRelease() string {
	name, err1 := os.ReadFile("/proc/sys/kernel/ostype")
	rel, err2 := os.ReadFile("/proc/sys/kernel/osrelease")
	if err1 != nil || err2 != nil {
		return ""
	}
	return strings.TrimSpace(string(name)) + " " + strings.TrimSpace(string(rel))
}

// runqueueClock reads how long the calling OS thread has spent runnable
// but waiting for a CPU (the second field of the kernel's per-task
// schedstat). Subtracting its growth from a timing removes the time the
// thread was preempted by other work on a busy machine, while keeping the
// time it was blocked on I/O, which is part of the operation's cost.
type runqueueClock struct {
	f   *os.File
	buf [96]byte
}

// openRunqueueClock returns the clock of the calling thread, or nil when
// the kernel does not provide one. The caller must have locked its
// goroutine to the thread (runtime.LockOSThread).
func openRunqueueClock() *runqueueClock {
	f, err := os.Open("/proc/thread-self/schedstat")
	if err != nil {
		return nil
	}
	c := &runqueueClock{f: f}
	if _, ok := c.wait(); !ok {
		f.Close()
		return nil
	}
	return c
}

// wait returns the thread's total run-queue wait so far.
func (c *runqueueClock) wait() (time.Duration, bool) {
	n, err := c.f.ReadAt(c.buf[:], 0)
	if n == 0 && err != nil {
		return 0, false
	}
	fields := strings.Fields(string(c.buf[:n]))
	if len(fields) < 2 {
		return 0, false
	}
	v, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(v), true
}

func (c *runqueueClock) close() {
	if c != nil {
		c.f.Close()
	}
}
