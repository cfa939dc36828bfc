package dovecotlog

import "strings"

// Class is a kind of Dovecot error, named as the metric suffix:
// dovecot.errors.<class>.
type Class string

// The classes. Each is matched by message fragments that Dovecot 2.3 (checked
// against the 2.3.19 and 2.3.21 sources) writes; the rules table below names
// the source file of every fragment.
const (
	// TransactionLogCorrupted: dovecot.index.log found corrupted: unexpected
	// garbage at EOF, invalid log size, log file shrank, indexid changed,
	// duplicate log sequence. One line per corruption found.
	TransactionLogCorrupted Class = "transaction_log_corrupted"
	// TransactionLogLost: the index points into a transaction log that no
	// longer exists (rotated away or deleted under the reader).
	TransactionLogLost Class = "transaction_log_lost"
	// IndexFsck: dovecot.index was fscked, or fsck fixed a field in it.
	IndexFsck Class = "index_fsck"
	// IndexCorrupted: dovecot.index (or the mailbox list index) is corrupted.
	IndexCorrupted Class = "index_corrupted"
	// IndexSyncError: a transaction log record could not be applied to the
	// index ("Log synchronization error", e.g. an append whose UID is below
	// next_uid: another backend's view of the mailbox disagrees).
	IndexSyncError Class = "index_sync_error"
	// CacheCorrupted: dovecot.index.cache, or one record in it, was found
	// corrupted and deleted.
	CacheCorrupted Class = "cache_corrupted"
	// UidlistBroken: a dovecot-uidlist line or header could not be parsed.
	UidlistBroken Class = "uidlist_broken"
	// UidlistDuplicate: dovecot-uidlist lists one file under two UIDs.
	UidlistDuplicate Class = "uidlist_duplicate"
	// UidlistNextUIDLowered: dovecot-uidlist's next_uid went backwards.
	UidlistNextUIDLowered Class = "uidlist_next_uid_lowered"
	// ExpungedReappeared: a maildir file whose UID was expunged came back and
	// was given a new UID.
	ExpungedReappeared Class = "expunged_reappeared"
	// StaleFileHandle: a system call failed with ESTALE (NFS).
	StaleFileHandle Class = "stale_file_handle"
	// LockTimeout: waiting for a lock or dotlock timed out.
	LockTimeout Class = "lock_timeout"
	// LockLost: a lock this process held was overridden, deleted or
	// recreated under it.
	LockLost Class = "lock_lost"
	// LockSlow: a lock was held, or waited for, longer than Dovecot's warning
	// threshold (warnings only).
	LockSlow Class = "lock_slow"
	// BackendUnreachable: a proxy (the director, an owner proxy, LMTP's
	// proxy) could not connect to the backend a user was sent to: the
	// trace of a failed backend, not of damaged files.
	BackendUnreachable Class = "backend_unreachable"
	// Other: any Error, Fatal or Panic line matching none of the above.
	Other Class = "other"
)

// classes is the fixed reporting order.
var classes = []Class{
	TransactionLogCorrupted,
	TransactionLogLost,
	IndexFsck,
	IndexCorrupted,
	IndexSyncError,
	CacheCorrupted,
	UidlistBroken,
	UidlistDuplicate,
	UidlistNextUIDLowered,
	ExpungedReappeared,
	StaleFileHandle,
	LockTimeout,
	LockLost,
	LockSlow,
	BackendUnreachable,
	Other,
}

// Classes lists every class in a fixed order, ending with Other. The slice is
// a copy.
func Classes() []Class {
	return append([]Class(nil), classes...)
}

// MetricPrefix starts every metric name; TotalMetric counts all classified
// lines.
const (
	MetricPrefix = "dovecot.errors."
	TotalMetric  = MetricPrefix + "total"
)

// Metric returns the class's metric name, dovecot.errors.<class>.
func (c Class) Metric() string { return MetricPrefix + string(c) }

// index returns c's position in Classes, or -1.
func (c Class) index() int {
	for i, k := range classes {
		if k == c {
			return i
		}
	}
	return -1
}

// pattern matches a message that contains every fragment, in order.
type pattern []string

func (p pattern) match(msg string) bool {
	for _, f := range p {
		i := strings.Index(msg, f)
		if i < 0 {
			return false
		}
		msg = msg[i+len(f):]
	}
	return true
}

// rule maps message fragments to a class. Rules are tried in table order and
// the first match wins, so a line naming both a cause and its consequence
// (a lost log that triggers an fsck, a read that failed with ESTALE while
// mapping a log) is counted once, under the cause.
type rule struct {
	class    Class
	patterns []pattern
}

// rules. Message formats are those of Dovecot 2.3.19 (identical in 2.3.21);
// file names are relative to the Dovecot source tree. Index and cache errors
// come through mail_index_set_error, which logs via the mailbox's event, so in
// a log line they follow "Mailbox <name>: ".
var rules = []rule{
	// ESTALE reaches the log as strerror(ESTALE) through %m in any syscall
	// error, most often lib-index/mail-index.c
	// mail_index_file_set_syscall_error ("<func> failed with file <path>:
	// %m") and the maildir/lib-storage "<func>(<path>) failed: %m" errors.
	// glibc (bookworm) spells it "Stale file handle"; older C libraries
	// wrote "Stale NFS file handle". Checked first: the root cause.
	{StaleFileHandle, []pattern{
		{"Stale file handle"},
		{"Stale NFS file handle"},
	}},
	// lib-index/mail-index-sync-update.c mail_index_sync_map:
	//   "Lost log for seq=%u offset=%llu: %s (initial_mapped=%d)"
	//   (logged from lib-index/mail-index-map-read.c as
	//   "Index <path>: <reason>: Lost log ... - fscking (reopen_reason: ...)")
	// lib-index/mail-transaction-log-view.c mail_transaction_log_view_set:
	//   "Missing middle file seq=%u (between %u..%u, we have seqs %s): %s"
	// lib-index/mail-index-view-sync.c (warning):
	//   "<reason> - generating missing logs"
	{TransactionLogLost, []pattern{
		{"Lost log for seq="},
		{"Missing middle file seq="},
		{" - generating missing logs"},
	}},
	// lib-index/mail-transaction-log-file.c
	// mail_transaction_log_file_set_corrupted (also reached from
	// mail-transaction-log-view.c and mail-transaction-log-modseq.c):
	//   "Corrupted transaction log file %s seq %u: %s (sync_offset=%llu)"
	//   with reasons such as "Unexpected garbage at EOF",
	//   "Invalid transaction log size (%llu vs %u): %s",
	//   "log file shrank (%llu < %llu)", "file shrank unexpectedly",
	//   "indexid changed: %u -> %u", "Header size too small".
	// lib-index/mail-transaction-log-file.c:
	//   "Transaction log %s: duplicate transaction log sequence (%u)"
	//   "Transaction log file %s: marked corrupted"
	// lib-index/mail-transaction-log.c mail_transaction_log_sync_lock
	// (an append found the head log corrupted after taking its lock):
	//   "Failed to map transaction log %s at sync_offset=%llu after locking: %s"
	{TransactionLogCorrupted, []pattern{
		{"Failed to map transaction log ", " after locking: "},
		{"Corrupted transaction log file "},
		{"Transaction log ", ": duplicate transaction log sequence ("},
		{"Transaction log file ", ": marked corrupted"},
	}},
	// lib-index/mail-index-sync.c mail_index_sync_set_corrupted:
	//   "Log synchronization error at seq=%u,offset=%llu for %s: %s"
	//   (reasons from mail-index-sync-update.c, e.g.
	//   "Append with UID %u, but next_uid = %u").
	{IndexSyncError, []pattern{
		{"Log synchronization error at seq="},
	}},
	// lib-index/mail-index-fsck.c mail_index_fsck (warning):
	//   "fscking index file %s"
	// lib-index/mail-index-fsck.c mail_index_fsck_error:
	//   "Fixed index file %s: %s"
	// lib-index/mail-index-map-read.c mail_index_map_latest_sync:
	//   "Index %s: %s: %s - fscking (reopen_reason: %s)"
	//   (when the reason is not a lost log, matched above).
	{IndexFsck, []pattern{
		{"fscking index file "},
		{"Fixed index file "},
		{" - fscking (reopen_reason: "},
	}},
	// lib-index/mail-index-map-read.c, mail-index-map-hdr.c:
	//   "Corrupted index file %s: %s"
	// lib-index/mail-index-view.c:
	//   "Corrupted Index file %s: Record [%u].uid=0"
	// lib-index/mail-index.c:
	//   "Index is corrupted (log->view->head == NULL)"
	// lib-index/mail-index-sync-update.c:
	//   "Synchronization corrupted index header %s: %s"
	// lib-index/mail-index-sync.c:
	//   "broken sync positions in index file %s"
	// lib-index/mail-index-view-sync.c:
	//   "Index %s lost messages without expunging (%u -> %u)"
	// lib-index/mail-index-strmap.c:
	//   "Corrupted strmap index file %s: %s"
	// lib-storage/list/mailbox-list-index.c:
	//   "Corrupted mailbox list index header %s",
	//   "Corrupted mailbox list index %s: %s"
	{IndexCorrupted, []pattern{
		{"Corrupted index file "},
		{"Corrupted Index file "},
		{"Index is corrupted"},
		{"Synchronization corrupted index header "},
		{"broken sync positions in index file "},
		{" lost messages without expunging ("},
		{"Corrupted strmap index file"},
		{"Corrupted mailbox list index "},
	}},
	// lib-index/mail-cache.c mail_cache_set_corrupted:
	//   "Deleting corrupted cache: %s"
	// lib-index/mail-cache.c mail_cache_set_seq_corrupted_reason:
	//   "Deleting corrupted cache record uid=%u: %s"
	// Dovecot 2.2's lib-index/mail-cache.c wrote
	//   "Corrupted index cache file %s: %s" instead.
	{CacheCorrupted, []pattern{
		{"Deleting corrupted cache"},
		{"Corrupted index cache file "},
	}},
	// lib-storage/index/maildir/maildir-uidlist.c:
	//   "next_uid header was lowered (%u -> %u)" (a header reason, logged
	//   inside "Broken file %s line %u: ...", so checked before UidlistBroken)
	//   "%s: next_uid was lowered (%u -> %u, hdr=%u)"
	{UidlistNextUIDLowered, []pattern{
		{"next_uid header was lowered ("},
		{"next_uid was lowered ("},
	}},
	// lib-storage/index/maildir/maildir-uidlist.c (warning):
	//   "%s: Duplicate file entry at line %u: %s (uid %u -> %u)%s"
	{UidlistDuplicate, []pattern{
		{"Duplicate file entry at line "},
	}},
	// lib-storage/index/maildir/maildir-uidlist.c maildir_uidlist_set_corrupted:
	//   "Broken file %s line %u: %s"
	//   "Broken or unexpectedly changed file %s line %u: %s - re-reading
	//   from beginning"
	//   with reasons such as "UID larger than next_uid (%u >= %u)",
	//   "UIDs not ordered (%u >= %u)", "Invalid data: %s",
	//   "Broken header (uidvalidity = %u, next_uid=%u)".
	// lib-storage/index/maildir/maildir-uidlist.c:
	//   "Maildir: %s changed UID %u -> %u"
	{UidlistBroken, []pattern{
		{"Broken file ", " line "},
		{"Broken or unexpectedly changed file "},
		{"Maildir: ", " changed UID "},
	}},
	// lib-storage/index/maildir/maildir-sync-index.c (warning):
	//   "Maildir %s: Expunged message reappeared, giving a new UID
	//   (old uid=%u, file=%s)%s"
	{ExpungedReappeared, []pattern{
		{"Expunged message reappeared, giving a new UID"},
	}},
	// lib-index/mail-transaction-log-file.c:
	//   "Timeout (%us) while waiting for lock for transaction log file %s%s"
	//   (the suffix may say " (WRITE lock held by pid %ld)", from
	//   lib/file-lock.c file_lock_find)
	//   "Timeout (%us) while waiting for dotlock for transaction log file %s"
	// lib-storage/mail-error.h MAIL_ERRSTR_LOCK_TIMEOUT:
	//   "Timeout while waiting for lock"
	// lib/file-lock.c:
	//   "fcntl(%s, %s, F_SETLKW) locking failed: Timed out after %u seconds%s"
	//   "flock(%s, %s) failed: Timed out after %u seconds%s"
	// lib-storage/list/subscription-file.c:
	//   "Timeout waiting for subscription file lock"
	{LockTimeout, []pattern{
		{"while waiting for lock"},
		{"while waiting for dotlock"},
		{"locking failed: Timed out after "},
		{"flock(", ") failed: Timed out after "},
		{"Timeout waiting for subscription file lock"},
	}},
	// lib-index/mail-transaction-log-file.c:
	//   "Dotlock was lost for transaction log file %s"
	// lib-index/mail-transaction-log.c:
	//   "Transaction log %s was recreated while we had it locked - locking
	//   is broken (lock_method=%s)"
	// lib-storage/index/maildir/maildir-uidlist.c:
	//   "Maildir uidlist dotlock overridden: %s"
	// lib/file-dotlock.c dotlock_replaced_warning (warning):
	//   "Our dotlock file %s was overridden (...)", "... was deleted (...)"
	{LockLost, []pattern{
		{"Dotlock was lost for "},
		{" was recreated while we had it locked"},
		{"dotlock overridden: "},
		{"Our dotlock file ", " was overridden ("},
		{"Our dotlock file ", " was deleted ("},
	}},
	// lib-index/mail-transaction-log-file.c (warning):
	//   "Transaction log file %s was locked for %u seconds (%s)"
	// lib-index/mail-transaction-log.c (warning):
	//   "Locking transaction log file %s took %ld seconds (%s)"
	// lib/file-lock.c file_lock_wait_end, lib-storage/mail-duplicate.c
	// (warnings):
	//   "Locking %s took %d.%03d secs"
	{LockSlow, []pattern{
		{" was locked for ", " seconds ("},
		{"Locking ", " took ", " seconds ("},
		{"Locking ", " took ", " secs"},
	}},
	// login-common/login-proxy.c (an IMAP proxy's connection to the
	// backend): "proxy(%s,%s:%u): connect(%s, %u) failed: %m";
	// lib-smtp/smtp-client-connection.c (LMTP proxying):
	//   "connect(%s) failed: %m", "connect(%s) failed: Connection timed out"
	{BackendUnreachable, []pattern{
		{"proxy(", "): connect(", ") failed: "},
		{"lmtp-client: ", "connect(", ") failed: "},
	}},
}

// match returns the class whose fragments msg contains, or "".
func match(msg string) Class {
	for _, r := range rules {
		for _, p := range r.patterns {
			if p.match(msg) {
				return r.class
			}
		}
	}
	return ""
}
