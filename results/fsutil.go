package results

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writeAtomic stores data as dir/name durably: it writes a temporary file
// in dir, syncs it, renames it over name and syncs dir, so that after a
// crash the file is either absent, the old one, or complete.
func writeAtomic(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, tmpPrefix+name+"-*")
	if err == nil {
		if err = step(); err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}
	if err != nil {
		return fmt.Errorf("results: %v", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("results: writing %s: %v", name, err)
	}
	half := len(data) / 2
	if _, err := f.Write(data[:half]); err != nil {
		return fail(err)
	}
	if err := step(); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data[half:]); err != nil {
		return fail(err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := step(); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("results: writing %s: %v", name, err)
	}
	if err := step(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("results: writing %s: %v", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("results: writing %s: %v", name, err)
	}
	return syncDir(dir)
}

// syncDir makes a directory's entries (a rename, a new file) durable.
func syncDir(dir string) error {
	if err := step(); err != nil {
		return fmt.Errorf("results: syncing %s: %v", dir, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("results: %v", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("results: syncing %s: %v", dir, err)
	}
	return nil
}

// removeTemps deletes temporary files that an interrupted writer left in
// dir.
func removeTemps(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("results: %v", err)
	}
	for _, e := range ents {
		if len(e.Name()) > len(tmpPrefix) && e.Name()[:len(tmpPrefix)] == tmpPrefix {
			if err := step(); err != nil {
				return fmt.Errorf("results: %v", err)
			}
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("results: %v", err)
			}
		}
	}
	return nil
}

// readLimited reads the file at path, refusing one larger than limit
// bytes; name is how messages call the file.
func readLimited(path, name string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("results: %v", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > limit {
		return nil, fmt.Errorf("results: %s is %d bytes, more than the %d this mailsim reads", name, fi.Size(), limit)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("results: reading %s: %v", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("results: %s is more than the %d bytes this mailsim reads", name, limit)
	}
	return b, nil
}

// mkdir makes a folder and its parents.
func mkdir(dir string) error {
	if err := step(); err != nil {
		return fmt.Errorf("results: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("results: %v", err)
	}
	return nil
}

// remove1 removes one file or empty folder; one already gone is fine.
func remove1(path string) error {
	if err := step(); err != nil {
		return fmt.Errorf("results: %v", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("results: %v", err)
	}
	return nil
}

// stepHook, when set, is called at every step of every change this
// package makes to the file system, and an error it returns is taken as
// the step's failure (as a full disk would fail it); tests use it to kill
// or fail a writer at every point.
var stepHook func() error

func step() error {
	if stepHook != nil {
		return stepHook()
	}
	return nil
}
