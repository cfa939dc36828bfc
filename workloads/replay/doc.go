// Package replay performs mail-store operations on a real mounted
// directory, times them, and fits the timings into a calibration profile
// ([github.com/mailsim/mailsim/nfsmodel.Profile]) so that the simulator's costs come from
// measurements rather than guesses. It backs the mailsim replay command.
//
// # What it does
//
// [Run] makes a scratch folder under the given directory and builds one
// Maildir per folder size in it (the requested sizes and a few
// checkpoints between them, see [Checkpoints]). Messages are generated
// from a seed: realistic header blocks (relay chains, DKIM, list headers)
// and body sizes drawn from a published histogram of 40 million mail
// parts ([BodySize]). Delivery works as a delivery agent's does: the
// file is created in tmp/ with O_EXCL, written, fsynced according to the
// mail_fsync policy (Dovecot's setting: always, optimized, never),
// renamed into new/ and then into cur/ with Dovecot's ",S=" and ",W="
// size fields in its name.
//
// On every folder it times
//
//   - readdir: a listing of cur/ alone;
//   - readdir_stat: a listing plus an lstat of every entry;
//   - index_rebuild: a listing plus, for every message, open, read of the
//     first 4 KiB, close and parsing of Subject, From and Date (each
//     message's share is reported as header_read);
//   - flag_change: a rename within cur/ that changes the flags;
//   - expunge: an unlink;
//   - log_append: a 40-byte append to an index-log-like file, with fsync
//     unless mail_fsync=never;
//   - dotlock: creating a lock file with O_EXCL and removing it;
//
// and, while building, deliver and new_to_cur. Whole-folder operations
// are timed warm and, when asked to (Config.Cold; mailsim replay
// --drop-caches) and allowed to drop the kernel's caches (root,
// /proc/sys/vm/drop_caches), cold. Dropping the caches affects the whole
// machine, so it is never done unless asked for. Each kind of timing runs
// in rounds that visit the folders and operations in a seeded random
// order, so that a busy machine's slow phases spread evenly instead of
// bending the fit; on Linux the time the measuring thread waited for a CPU
// is subtracted from whole-folder timings (Config.WallTime turns this
// off).
//
// For every operation the report gives count, mean, trimmed mean, p50 and
// p99 at each folder size, and the per-entry cost of whole-folder
// operations. The profile holds, per operation and cache state, a fixed
// cost plus a cost per folder entry (per byte for deliveries), fitted to
// the trimmed means (see [Summary]) by non-negative weighted least
// squares, the ratio of mean to trimmed mean, and the measurements
// themselves, so that mailsim calibrate check can compare the fit with
// them.
//
// # Safety
//
// The replay writes and deletes only inside its scratch folder. The
// folder has a unique name (mailsim-replay-NNN), a marker file
// ([MarkerName]) that records its name, host and process, and a lock file
// ([LockName]). Every operation inside works on a single file name
// relative to an open directory and refuses to follow a symbolic link in
// it (O_NOFOLLOW; lstat never follows), so a link planted inside cannot
// lead outside. Files that are only read or appended to (the marker, the
// lock, the index log, messages) are opened with O_NONBLOCK and checked
// to be regular files, so a FIFO, socket or device planted in their place
// is refused instead of hanging the replay, and the marker is read only
// up to [MaxMarkerSize] bytes.
//
// Whether a folder is in use is proved by its lock, not by its host name
// and process id (which containers and hosts with one name share): every
// replay using the folder, the one that made it and every --join, holds a
// shared lock on the lock file for its whole life, and a folder is
// removed only by whoever takes the exclusive lock without waiting (see
// [Scratch] for what the proof relies on over NFS). Removal renames the
// folder to a tombstone (mailsim-replay-NNN.removing) first, so nobody
// can join it any more, then removes its contents, the lock file, the
// marker and the folder in that order, so that a removal interrupted at
// any point is finished by the next one. A run that is killed leaves only
// its own folder, whose lock the kernel releases; the next run on the same
// host removes such leftovers that were not kept, and mailsim replay
// --clean PATH removes every marked folder that no replay uses. A folder
// without a valid marker, even one named like a scratch folder, is never
// removed (except an empty tombstone).
//
// mailsim replay --out writes its profile and report to new temporary
// files in the output directory, created with O_EXCL, and renames them
// over their names, so a link planted there is replaced, never written
// through; an existing entry that is not a regular file is refused.
//
// # Contention, and two hosts on one NFS mount
//
// With Config.Clients (--clients N) greater than one, N replayers then work
// at once on the largest Maildir, as N backends on one mount would: each
// keeps its own view of the folder from its own listings, changes flags,
// expunges, delivers, and appends to the index log under the dotlock. The
// report counts lock waits (and their total and longest time), rename
// races (a rename or unlink whose file another replayer had already
// renamed or removed), stale reads (a file a listing showed but that was
// gone when opened), and every ENOENT and ESTALE.
//
// On one host all replayers share one kernel, so they see each other's
// changes at once. Staleness needs two NFS clients, each with its own
// attribute and directory-entry caches. To see it, mount the same export
// on two hosts (the usual mail-cluster options are
// "nfsvers=3,nordirplus,noatime,actimeo=60"; try also actimeo=0 or
// lookupcache=none for comparison), then:
//
//  1. On host A, build the folders and keep them:
//
//     mailsim replay --dir /mnt/mail --messages 10000 --keep --out .
//
//     The last lines name the scratch folder, say mailsim-replay-123.
//
//  2. Start one replayer on each host at the same time, for long enough
//     to overlap:
//
//     mailsim replay --dir /mnt/mail --join mailsim-replay-123 --clients 1 --contention-time 60s
//
//     --join skips building and measuring, runs only the contention
//     phase on the largest Maildir, and never removes the folder. Each
//     host's report counts what it met: lock waits across hosts, rename
//     races, stale reads and ESTALE that a single host never shows, and
//     more of them the longer the attribute cache (actimeo) is.
//
//  3. Remove the folder from either host:
//
//     mailsim replay --clean /mnt/mail
//
// Clocks of the hosts and the server should agree (Dovecot's NFS advice
// asks for within a second), as delivered file names carry the time.
package replay
