package model

import (
	"testing"

	"github.com/mailsim/mailsim/nfsmodel"
)

// TestDamageMechanisms runs users spread over backends under each setting
// that changes how Dovecot's files are damaged, and checks which error
// classes the mechanisms give: each row names the classes that must occur
// and those that cannot.
func TestDamageMechanisms(t *testing.T) {
	// Aggressive users with mail every few seconds, on two backends: every
	// mechanism has something to act on within minutes.
	base := smallConfig()
	base.Backends = 2
	base.Population.Users = 12
	base.Population.AggressiveFraction = 1
	type classes []ErrorClass
	tests := []struct {
		name      string
		mut       func(*Config)
		pinned    bool
		want, not classes
	}{
		{
			name:   "one backend per user",
			mut:    func(*Config) {},
			pinned: true,
			not:    classes{ErrTransactionLogCorrupted, ErrTransactionLogLost, ErrIndexFsck, ErrCacheCorrupted, ErrUidlistBroken, ErrUidlistDuplicate, ErrExpungedReappeared, ErrStaleFileHandle},
		},
		{
			// An fcntl lock over NLM flushes the log's cached attributes:
			// no append lands at a stale end. A cache file another backend
			// replaced cannot be locked again (ESTALE).
			name: "fcntl",
			mut:  func(*Config) {},
			want: classes{ErrStaleFileHandle, ErrCacheCorrupted, ErrUidlistBroken, ErrUidlistDuplicate},
			not:  classes{ErrTransactionLogCorrupted},
		},
		{
			// A dotlock excludes without flushing: appends at a stale end.
			name: "dotlock",
			mut:  func(c *Config) { c.Dovecot.LockMethod = "dotlock" },
			want: classes{ErrTransactionLogCorrupted, ErrTransactionLogLost, ErrIndexFsck},
		},
		{
			// Dovecot's NFS settings refresh attributes and file handles,
			// not the pages of files a backend holds open for writing:
			// the cache and the uidlist are still read stale.
			name: "Dovecot's NFS settings",
			mut: func(c *Config) {
				c.Dovecot.MailNFSIndex, c.Dovecot.MailNFSStorage, c.Dovecot.MmapDisable = true, true, true
				c.Dovecot.MailFsync = "always"
			},
			want: classes{ErrCacheCorrupted, ErrUidlistBroken, ErrStaleFileHandle},
			not:  classes{ErrTransactionLogCorrupted},
		},
		{
			// mail_nfs_index drops the log's pages after the dotlock.
			name: "dotlock with mail_nfs_index",
			mut: func(c *Config) {
				c.Dovecot.LockMethod = "dotlock"
				c.Dovecot.MailNFSIndex, c.Dovecot.MmapDisable, c.Dovecot.MailFsync = true, true, "always"
			},
			not: classes{ErrTransactionLogCorrupted},
		},
		{
			// No attribute caching: no stale names or listings, but the
			// pages of files held open are kept all the same.
			name: "actimeo=0",
			mut:  func(c *Config) { c.Mount.SetActimeo(0) },
			want: classes{ErrCacheCorrupted, ErrUidlistBroken, ErrStaleFileHandle},
			not:  classes{ErrExpungedReappeared, ErrTransactionLogCorrupted},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.mut(&cfg)
			res, err := Run(cfg, &userHashRouter{n: cfg.Backends, roundRobin: !tt.pinned}, 11)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range tt.want {
				if res.Errors[e] == 0 {
					t.Errorf("no %s errors; all: %v", e, res.Errors)
				}
			}
			for _, e := range tt.not {
				if res.Errors[e] != 0 {
					t.Errorf("%d %s errors, want none; all: %v", res.Errors[e], e, res.Errors)
				}
			}
			// A uidlist event loses at most the lines of one folder.
			events := res.Errors[ErrUidlistBroken] + res.Errors[ErrUidlistDuplicate] + res.Errors[ErrExpungedReappeared]
			if most := events * uint64(cfg.Population.MaxFolderMessages+1000); res.NewUIDs > most {
				t.Errorf("%d messages given new UIDs in %d uidlist events", res.NewUIDs, events)
			}
		})
	}
}

// TestLocalLockFlock checks that lock_method=flock goes to the server
// like fcntl (the Linux NFS client carries flock() out as a POSIX lock)
// unless the mount keeps locks local.
func TestLocalLockFlock(t *testing.T) {
	cfg := smallConfig()
	cfg.Dovecot.LockMethod = "flock"
	res, err := Run(cfg, &userHashRouter{n: cfg.Backends, roundRobin: true}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if res.NFSOps[nfsmodel.LOCK] == 0 {
		t.Error("flock on NFS sent no LOCK calls")
	}
}

func TestErrorClassNames(t *testing.T) {
	seen := map[string]bool{}
	for e := range NumErrorClasses {
		n := e.String()
		if n == "" || n == "unknown" || seen[n] {
			t.Errorf("class %d is named %q", e, n)
		}
		seen[n] = true
	}
	if NumErrorClasses.String() != "unknown" {
		t.Error("an out-of-range class has a name")
	}
}

// TestUidlistGapBookkeeping walks one folder's dovecot-uidlist through
// the sequence that once lost count of a backend's unreadable region:
// backend 1 holds a gap and appends after it, backend 0 writes the file
// afresh without some lines, then backend 1 appends again. No refresh may
// then lose more lines than the file holds.
func TestUidlistGapBookkeeping(t *testing.T) {
	cfg := smallConfig()
	cl, err := newCluster(&cfg, &userHashRouter{n: cfg.Backends}, 1)
	if err != nil {
		t.Fatal(err)
	}
	cl.measuring = true
	mb := &cl.mboxes[0]
	c0 := &conn{backend: 0, user: 0, target: 0, dev: -1}
	c1 := &conn{backend: 1, user: 0, target: 0, dev: -1}
	cl.takeOps(c0)
	cl.takeOps(c1)
	cl.page(0, 0, 0, pageUid) // backend 0 touches the user first
	cl.page(1, 0, 0, pageUid) // then backend 1: the files are shared
	fresh := nfsmodel.Lookup{Revalidate: true}
	for step, do := range []func(){
		func() { cl.addUidlistLines(c0, mb, 1) },          // backend 1 now has a gap
		func() { cl.addUidlistLines(c1, mb, 1) },          // and its own line after it
		func() { cl.recreateUidlist(c0, mb, 2) },          // backend 0 drops two lines, below the gap
		func() { cl.addUidlistLines(c1, mb, 3) },          // backend 1 appends past where its gap ended
		func() { cl.addUidlistLines(c0, mb, 1) },          //
		func() { cl.refreshUidlist(c1, mb, fresh, true) }, // backend 1 reads
		func() { cl.refreshUidlist(c0, mb, fresh, true) },
	} {
		do()
		if lines := uint64(cl.sh(mb).uidBytes / uidlistLineBytes); cl.res.NewUIDs > lines {
			t.Fatalf("step %d: %d messages given new UIDs, the file holds %d lines", step, cl.res.NewUIDs, lines)
		}
	}
}
