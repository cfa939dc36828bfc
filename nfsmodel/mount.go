package nfsmodel

import (
	"fmt"

	"github.com/mailsim/mailsim/model/sim"
)

// Lookupcache is nfs(5)'s lookupcache mount option.
type Lookupcache string

// lookupcache values (nfs(5)).
const (
	LookupAll  Lookupcache = "all"  // positive and negative entries cached (default)
	LookupPos  Lookupcache = "pos"  // negative entries always revalidated
	LookupNone Lookupcache = "none" // every lookup revalidated
)

// Mount holds a backend's NFS mount options, named as in nfs(5).
type Mount struct {
	// Vers is the NFS version (nfs(5) vers=; "3", "4.0", "4.1" or
	// "4.2"). Linux mounts 4.2 when vers is not given and the server
	// offers it; the model's default is 3, the version Dovecot's NFS
	// documentation and its sites describe.
	Vers Vers `toml:"vers"`
	// Acregmin is the minimum time regular-file attributes are cached
	// (nfs(5) acregmin, default 3 s; kernel NFS_DEF_ACREGMIN).
	Acregmin sim.Time `toml:"acregmin"`
	// Acregmax is the maximum (nfs(5) acregmax, default 60 s).
	Acregmax sim.Time `toml:"acregmax"`
	// Acdirmin is the minimum for directories (nfs(5) acdirmin, default
	// 30 s).
	Acdirmin sim.Time `toml:"acdirmin"`
	// Acdirmax is the maximum for directories (nfs(5) acdirmax, default
	// 60 s).
	Acdirmax sim.Time `toml:"acdirmax"`
	// Noac disables attribute caching and makes writes synchronous
	// (nfs(5) noac; default off). Unlike actimeo=0 it also turns every
	// write into a synchronous one (FACTS.md 4.3, [NETAPP]).
	Noac bool `toml:"noac"`
	// Lookupcache is nfs(5)'s lookupcache (default "all").
	Lookupcache Lookupcache `toml:"lookupcache"`
	// Nocto turns off close-to-open consistency (nfs(5) cto is the
	// default: a GETATTR on every open whatever the cache says).
	Nocto bool `toml:"nocto"`
	// Nordirplus makes listings use READDIR instead of READDIRPLUS
	// (nfs(5) nordirplus; Dovecot recommends it, FACTS.md 3.1).
	Nordirplus bool `toml:"nordirplus"`
	// LocalLock keeps locks local to the client (nfs(5) nolock or
	// local_lock=all): no NLM calls, and backends do not see each other's
	// locks. Dovecot calls it a slightly unsafe optimisation (FACTS.md 3.1).
	LocalLock bool `toml:"local_lock"`
	// Rsize is the largest READ payload (nfs(5) rsize; Linux negotiates up
	// to 1 MiB with current servers).
	Rsize int64 `toml:"rsize"`
}

// DefaultMount returns nfs(5)'s defaults.
func DefaultMount() Mount {
	return Mount{
		Vers:        V3,
		Acregmin:    3 * sim.Second,
		Acregmax:    60 * sim.Second,
		Acdirmin:    30 * sim.Second,
		Acdirmax:    60 * sim.Second,
		Lookupcache: LookupAll,
		Rsize:       1 << 20,
	}
}

// SetActimeo sets all four attribute-cache times to t, as nfs(5)'s
// actimeo=t does.
func (m *Mount) SetActimeo(t sim.Time) {
	m.Acregmin, m.Acregmax, m.Acdirmin, m.Acdirmax = t, t, t, t
}

// Validate reports the first inconsistency in m.
func (m Mount) Validate() error {
	switch {
	case m.Acregmin < 0 || m.Acregmax < 0 || m.Acdirmin < 0 || m.Acdirmax < 0:
		return fmt.Errorf("nfsmodel: attribute cache times must not be negative")
	case m.Acregmin > m.Acregmax:
		return fmt.Errorf("nfsmodel: acregmin %v exceeds acregmax %v", m.Acregmin, m.Acregmax)
	case m.Acdirmin > m.Acdirmax:
		return fmt.Errorf("nfsmodel: acdirmin %v exceeds acdirmax %v", m.Acdirmin, m.Acdirmax)
	case m.Lookupcache != LookupAll && m.Lookupcache != LookupPos && m.Lookupcache != LookupNone:
		return fmt.Errorf("nfsmodel: lookupcache %q is not one of all, pos, none", m.Lookupcache)
	case m.Rsize < 4096:
		return fmt.Errorf("nfsmodel: rsize %d is below 4096", m.Rsize)
	case !m.Vers.Valid():
		return fmt.Errorf("nfsmodel: vers %q is not one of 3, 4.0, 4.1, 4.2", m.Vers)
	case m.Vers.V4() && m.LocalLock:
		// nfs(5) lists local_lock among the options for NFS versions 2
		// and 3 only: NFSv4 has no separate lock protocol to leave out.
		return fmt.Errorf("nfsmodel: local_lock is an option of NFS versions 2 and 3 only (nfs(5)); under vers=%s every lock goes to the server", m.Vers)
	}
	return nil
}

// Dovecot holds Dovecot's NFS-related settings.
type Dovecot struct {
	// MailNFSStorage flushes NFS caches around mail file access
	// (mail_nfs_storage, default no; FACTS.md 3.2).
	MailNFSStorage bool `toml:"mail_nfs_storage"`
	// MailNFSIndex flushes NFS caches around index file access
	// (mail_nfs_index, default no).
	MailNFSIndex bool `toml:"mail_nfs_index"`
	// MailFsync is "always", "optimized" (default) or "never".
	MailFsync string `toml:"mail_fsync"`
	// MmapDisable makes Dovecot read index files instead of mapping them
	// (mmap_disable, default no; Dovecot's NFS guide requires yes).
	MmapDisable bool `toml:"mmap_disable"`
	// LockMethod is Dovecot's lock_method: "fcntl" (default, through the
	// NFS lock manager), "flock" (local only on NFS) or "dotlock" (lock
	// files created with O_EXCL).
	LockMethod string `toml:"lock_method"`
	// LMTPIndexUpdate says whether LMTP deliveries update the index files
	// (Dovecot's LMTP and LDA do; INDEX=MEMORY turns it off).
	LMTPIndexUpdate bool `toml:"lmtp_index_update"`
	// MailLocation is Dovecot's mail_location (see [ParseMailLocation]);
	// default "maildir:~/Maildir".
	MailLocation string `toml:"mail_location"`
	// DotlockUseExcl makes Dovecot create lock files with O_EXCL rather
	// than by link() (dotlock_use_excl, default yes: O_EXCL is safe on
	// NFSv3 and later).
	DotlockUseExcl bool `toml:"dotlock_use_excl"`
	// MailMaxLockTimeout bounds how long Dovecot waits for an index lock
	// (mail_max_lock_timeout, default 0: its own timeouts, see
	// [LockWaitTimeout]).
	MailMaxLockTimeout sim.Time `toml:"mail_max_lock_timeout"`
}

// DefaultDovecot returns Dovecot's defaults (FACTS.md 3.2).
func DefaultDovecot() Dovecot {
	return Dovecot{MailFsync: "optimized", LockMethod: "fcntl", LMTPIndexUpdate: true, MailLocation: DefaultMailLocation, DotlockUseExcl: true}
}
