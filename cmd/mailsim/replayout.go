//go:build linux

package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// outputDir is the directory mailsim replay writes its profile and report
// to. It is opened, and checked, once before the replay starts and held
// open until the end, so the files land in the directory that was checked
// whatever is renamed meanwhile. Each file is written to a new temporary
// file in the directory, created with O_EXCL so that nothing already there
// (a symbolic link, a hard link to another file, a FIFO) is ever opened,
// and then renamed over its name. A rename replaces a directory entry and
// never writes through it, so no link's target is ever changed; an
// existing entry that is not a regular file is refused rather than
// replaced.
type outputDir struct {
	path string
	fd   int
}

// openOutputDir opens path as the output directory. It refuses anything
// but a directory, and a symbolic link to one: name the directory itself.
func openOutputDir(path string) (*outputDir, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s is a symbolic link; give the directory itself", path)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", path)
	}
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil || st.Ino != fi.Sys().(*syscall.Stat_t).Ino || st.Dev != fi.Sys().(*syscall.Stat_t).Dev {
		syscall.Close(fd)
		return nil, fmt.Errorf("%s changed while it was opened", path)
	}
	return &outputDir{path: path, fd: fd}, nil
}

func (d *outputDir) close() {
	if d != nil && d.fd >= 0 {
		syscall.Close(d.fd)
		d.fd = -1
	}
}

// write replaces the file name in the directory with data, as the type's
// comment describes.
func (d *outputDir) write(name string, data []byte) error {
	final := filepath.Join(d.path, name)
	if err := d.checkReplaceable(name); err != nil {
		return err
	}
	var tmp string
	fd := -1
	for range 10 {
		var b [8]byte
		rand.Read(b[:])
		tmp = "." + name + "." + hex.EncodeToString(b[:]) + ".tmp"
		var err error
		fd, err = syscall.Openat(d.fd, tmp, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o644)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EEXIST) {
			return fmt.Errorf("create a temporary file for %s: %w", final, err)
		}
		fd = -1
	}
	if fd < 0 {
		return fmt.Errorf("create a temporary file for %s: every name tried exists", final)
	}
	f := os.NewFile(uintptr(fd), filepath.Join(d.path, tmp))
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// Checked again just before the rename, which itself never
		// follows a link planted meanwhile.
		err = d.checkReplaceable(name)
	}
	if err == nil {
		if rerr := syscall.Renameat(d.fd, tmp, d.fd, name); rerr != nil {
			err = fmt.Errorf("write %s: %w", final, rerr)
		}
	}
	if err != nil {
		syscall.Unlinkat(d.fd, tmp)
		return fmt.Errorf("write %s: %w", final, err)
	}
	return nil
}

// checkReplaceable refuses to replace name if it exists and is not a
// regular file. It only looks (lstat), never opens.
func (d *outputDir) checkReplaceable(name string) error {
	final := filepath.Join(d.path, name)
	fi, err := os.Lstat(final)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("refusing to replace %s: %w", final, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("refusing to replace %s: it is %s, not a regular file", final, fileKind(fi.Mode()))
	}
	return nil
}

// fileKind names the type of a file that is not a regular one.
func fileKind(m fs.FileMode) string {
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
