package model

import (
	"math"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/workloads"
)

// Sizes of a folder's index files, as the model writes them.
const (
	// mainIndexHeaderBytes and mainIndexRecordBytes size dovecot.index: a
	// 120-byte base header (FACTS.md 3.4) and 12 bytes per message (8–12
	// measured, MEASURED.md).
	mainIndexHeaderBytes = 120
	mainIndexRecordBytes = 12
)

// indexLog is a folder's transaction log (dovecot.index.log) as far as
// Dovecot's rewrite and rotation thresholds need it (Dovecot index file
// documentation, FACTS.md 3.4).
type indexLog struct {
	// sinceRewrite is the log written since the main index was last
	// written: what a refresh that reads the index files must replay.
	sinceRewrite uint32
	// size is the current log's size.
	size uint32
	// created is the run second in which the current log was created.
	created uint32
}

// logRecordBytes is what command cmd appends to dovecot.index.log, as
// measured with Dovecot 2.3.19 on a 200-message Maildir folder whose
// clients fetch envelopes (experiments/profiles/index-growth.md, means of
// 30 trials): a flag change 124 B, an expunge of one message 163 B, an
// APPEND 340 B, a delivery 220 B, a FETCH that caches fields of new
// messages 128 B (the cache offsets), and the sync that gives new mail
// its place in the index 120 B.
func logRecordBytes(cmd workloads.Command) int64 {
	switch cmd {
	case workloads.Store:
		return 124
	case workloads.Expunge:
		return 163
	case workloads.Append:
		return 340
	case workloads.Deliver:
		return 220
	case workloads.Fetch:
		return 128
	}
	return 120
}

// maintenance is what an index write does besides appending its
// transaction: rewrite the main index, and rotate the log (which rewrites
// the main index too).
type maintenance struct {
	rewrite, rotate bool
}

// add32 returns a+b, saturated.
func add32(a uint32, b int64) uint32 {
	return uint32(min(int64(a)+b, math.MaxUint32))
}

// append records a transaction of n bytes written at now and returns what
// the writer does then. replayed says that the writer opened the index
// before the write, so that it replayed the log written since the last
// rewrite: only such writers rewrite dovecot.index below the maximum (a
// session that has the index open reads only what is new; measured:
// experiments/profiles/index-growth.md). The thresholds follow Dovecot's mail_index_sync_commit: it
// rotates when the log is over mail_index_log_rotate_max_size, or at least
// mail_index_log_rotate_min_size and created more than
// mail_index_log_rotate_min_age ago (in whole seconds); it rewrites the
// main index when it rotates, when the log since the last rewrite is over
// mail_index_rewrite_max_log_bytes, or when it is over
// mail_index_rewrite_min_log_bytes and a refresh had to read that much.
func (l *indexLog) append(cfg *Config, n int64, now sim.Time, replayed bool) maintenance {
	// The refresh replayed the log as it was before this transaction.
	wasBehind := int64(l.sinceRewrite) > cfg.MailIndexRewriteMinLogBytes
	l.sinceRewrite = add32(l.sinceRewrite, n)
	l.size = add32(l.size, n)
	sec := uint32(now / sim.Second)
	size, since := int64(l.size), int64(l.sinceRewrite)
	var m maintenance
	m.rotate = size > cfg.MailIndexLogRotateMaxSize ||
		size >= cfg.MailIndexLogRotateMinSize && sim.Time(sec-l.created)*sim.Second > cfg.MailIndexLogRotateMinAge
	m.rewrite = m.rotate || since > cfg.MailIndexRewriteMaxLogBytes || replayed && wasBehind
	if m.rewrite {
		l.sinceRewrite = 0
	}
	if m.rotate {
		l.size, l.created = 0, sec
	}
	return m
}

// reset starts the folder's log afresh at now.
func (l *indexLog) reset(now sim.Time) {
	*l = indexLog{created: uint32(now / sim.Second)}
}

// indexWrite adds the calls of connection c's index write on mailbox mb
// after its transaction is appended: the main index rewritten to a
// temporary file and renamed over dovecot.index, and the log rotated
// (renamed to dovecot.index.log.2, and a new one created), as the
// folder's thresholds say. replayed says that c opened the index before
// the write.
func (cl *cluster) indexWrite(c *conn, mb *mailbox, replayed bool) {
	m := mb.log.append(cl.cfg, logRecordBytes(c.cmd), cl.s.Now(), replayed)
	if !m.rewrite {
		return
	}
	cl.call(c, nfsmodel.CREATE, 0, 0)
	cl.write(c, mainIndexHeaderBytes+int64(mb.msgs)*mainIndexRecordBytes)
	if cl.cfg.Dovecot.MailFsync == "always" || cl.cfg.Mount.Noac {
		cl.call(c, nfsmodel.COMMIT, 0, 0)
	}
	cl.closeFile(c)
	if cl.delegations() && mb.share != 0 {
		// The rename removes the dovecot.index that readers hold
		// delegated (see mainIndexRead).
		s := cl.sh(mb)
		cl.breakDelegs(c, &s.mainDeleg, &s.mainRecalledAt)
	}
	cl.call(c, nfsmodel.RENAME, 0, 0)
	cl.sh(mb).mainBy = c.backend
	cl.sh(mb).mainLogVer = mb.idxVer + 1 // the log with this write's transaction
	if m.rotate {
		cl.call(c, nfsmodel.RENAME, 0, 0) // dovecot.index.log -> dovecot.index.log.2
		cl.call(c, nfsmodel.CREATE, 0, 0) // a new dovecot.index.log
		cl.sh(mb).logSeq++
		cl.sh(mb).rotatedBy = c.backend
		c.logSeq = cl.sh(mb).logSeq
		cl.replaced(c, mb, pageLog)
	}
	cl.renamed(c, mb)
	if cl.measuring {
		cl.res.IndexRewrites++
		if m.rotate {
			cl.res.LogRotations++
		}
	}
}
