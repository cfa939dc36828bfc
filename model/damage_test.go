package model

import (
	"testing"

	"mailsim/nfsmodel"
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
