package model

import (
	"math"

	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/workloads"
)

// dbox (Dovecot's own formats, mail_location sdbox: or mdbox:). The index
// is the only record of a message's UID and flags: there is no
// dovecot-uidlist and no new/ directory to scan, a flag change writes the
// index alone, and a lost or corrupted index is rebuilt by reading the
// mail files themselves.
//
//   - sdbox (dbox-single): one file per message. A save writes a temporary
//     file, takes the index lock, renames the file to u.UID and commits
//     (dbox-single/sdbox-save.c); an expunge commits to the index and
//     unlinks the file (sdbox-sync.c).
//   - mdbox (dbox-multi): many messages per file (m.N, rotated at
//     mdbox_rotate_size, 10 MB by default), and a per-user map index
//     (storage/dovecot.map.index) from each message to its file and
//     offset. A save locks an m.N file (a non-blocking file lock), appends,
//     then takes the map's lock and the folder index's lock
//     (dbox-multi/mdbox-save.c, mdbox-map.c); an expunge lowers the
//     message's reference count in the map, and the space is reclaimed
//     later by doveadm purge.

// mdboxRotateSize is Dovecot's mdbox_rotate_size default (10 MB,
// dbox-multi/mdbox-settings.c).
const mdboxRotateSize = 10 << 20

// dbox reports whether the mail is in a dbox format.
func (cl *cluster) dbox() bool { return cl.format == nfsmodel.Sdbox || cl.format == nfsmodel.Mdbox }

// dboxSave adds the calls of saving one message (an LMTP delivery or an
// APPEND) to folder mb in dbox.
func (cl *cluster) dboxSave(c *conn, mb *mailbox) {
	cfg := cl.cfg
	msgBytes := int64(cfg.Population.MessageBytesMean)
	fsyncData := cfg.Dovecot.MailFsync != "never" || cfg.Mount.Noac
	folder := cl.mailboxFolder(c.target)
	if cl.format == nfsmodel.Sdbox {
		cl.call(c, nfsmodel.CREATE, 0, 0) // the temporary file
		cl.write(c, msgBytes)
		if fsyncData {
			cl.call(c, nfsmodel.COMMIT, 0, 0)
		}
		cl.closeFile(c)
		cl.glockWrite(c, dirObj(folder))
		cl.call(c, nfsmodel.RENAME, 0, 0) // to u.UID, under the index lock
	} else {
		// Rotated to a new m.N file once the current one is full.
		perFile := max(mdboxRotateSize/max(msgBytes, 1), 1)
		if int64(mb.msgs)%perFile == 0 {
			cl.call(c, nfsmodel.CREATE, 0, 0)
			cl.closeFile(c)
		}
		cl.fileLock(c)
		cl.glockWrite(c, dirObj(folder))
		cl.write(c, msgBytes)
		if fsyncData {
			cl.call(c, nfsmodel.COMMIT, 0, 0)
		}
		cl.fileUnlock(c)
		cl.mapUpdate(c)
	}
	cl.renamed(c, mb)
	mb.msgs++
	mb.uncached++
	mb.dirVer++
	c.write = true
}

// dboxExpunge adds the calls of expunging one message of folder mb.
func (cl *cluster) dboxExpunge(c *conn, mb *mailbox) {
	if mb.msgs <= 0 {
		return
	}
	if cl.format == nfsmodel.Sdbox {
		cl.glockWrite(c, dirObj(cl.mailboxFolder(c.target)))
		cl.call(c, nfsmodel.REMOVE, 0, 0)
		cl.renamed(c, mb)
	} else {
		cl.mapUpdate(c) // the reference count; the data stays until a purge
	}
	mb.msgs--
	mb.dirVer++
	if mb.cacheDeleted < math.MaxUint16 {
		mb.cacheDeleted++
	}
}

// fileLock and fileUnlock lock an mdbox m.N file for an append: Dovecot
// takes it with lock_method (file_lock_try), over NLM on NFS unless locks
// are local.
func (cl *cluster) fileLock(c *conn) {
	if cl.cfg.Dovecot.LockMethod == "dotlock" {
		cl.createLock(c)
		return
	}
	if !cl.localLocks() {
		cl.call(c, nfsmodel.LOCK, 0, 0)
	}
}

func (cl *cluster) fileUnlock(c *conn) {
	if cl.cfg.Dovecot.LockMethod == "dotlock" {
		cl.call(c, nfsmodel.REMOVE, 0, 0)
		return
	}
	if !cl.localLocks() {
		cl.call(c, nfsmodel.UNLOCK, 0, 0)
	}
}

// mapUpdate adds an update of the user's mdbox map index under its own
// lock, which every folder of the user shares: a transaction appended to
// storage/dovecot.map.index.log.
func (cl *cluster) mapUpdate(c *conn) {
	cl.call(c, opAcquireMap, 0, 0)
	if cl.cfg.Dovecot.LockMethod == "dotlock" {
		cl.createLock(c)
	} else if !cl.localLocks() {
		cl.call(c, nfsmodel.LOCK, 0, 0)
	}
	cl.write(c, logRecordBytes(workloads.Append))
	if cl.cfg.Dovecot.MailFsync == "always" || cl.cfg.Mount.Noac {
		cl.call(c, nfsmodel.COMMIT, 0, 0)
	}
	if cl.cfg.Dovecot.LockMethod == "dotlock" {
		cl.call(c, nfsmodel.REMOVE, 0, 0)
	} else if !cl.localLocks() {
		cl.call(c, nfsmodel.UNLOCK, 0, 0)
	}
	cl.call(c, opReleaseMap, 0, 0)
}

// dboxRebuild adds what rebuilding a dbox folder's index from its mail
// files costs after the index was lost: sdbox lists the folder and opens
// every message file to read its metadata (sdbox-sync-rebuild.c); mdbox
// reads the metadata of every message in the user's m.* files
// (mdbox-storage-rebuild.c).
func (cl *cluster) dboxRebuild(c *conn, mb *mailbox) {
	n := max(mb.msgs, 0)
	if cl.format == nfsmodel.Sdbox {
		cl.readdir(c, max(n, 1))
		for range n {
			cl.openFile(c)
			cl.readBytes(c, headerReadBytes)
			cl.closeFile(c)
		}
	} else {
		msgBytes := int64(cl.cfg.Population.MessageBytesMean)
		files := max(int64(n)*msgBytes/mdboxRotateSize, 1)
		for range files {
			cl.openFile(c)
			cl.closeFile(c)
		}
		for range n {
			// The message's dbox metadata block (model assumption: half
			// a kilobyte; Dovecot reads it from the message's end).
			cl.readBytes(c, 512)
		}
	}
	if cl.measuring {
		cl.res.IndexBuilds++
		cl.res.ScanMessages += uint64(n)
	}
}
