// Package replay performs mail-store operations on a real mounted
// directory, times them, and fits the timings into a calibration profile
// ([mailsim/nfsmodel.Profile]) so that the simulator's costs come from
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
// are timed warm and, when allowed to drop the kernel's caches (root,
// /proc/sys/vm/drop_caches), cold. Each kind of timing runs in rounds that
// visit the folders and operations in a seeded random order, so that a
// busy machine's slow phases spread evenly instead of bending the fit; on
// Linux the time the measuring thread waited for a CPU is subtracted from
// whole-folder timings (Config.WallTime turns this off).
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
// folder has a unique name (mailsim-replay-NNN) and a marker file
// ([MarkerName]) that records its name, host and process. Every operation
// inside works on a single file name relative to an open directory and
// refuses to follow a symbolic link in it (O_NOFOLLOW; lstat never
// follows), so a link planted inside cannot lead outside. The folder is
// removed at the end unless kept; removal checks the marker again and never
// follows links. A run that is killed leaves only its own folder; the next
// run on the same host removes such leftovers of finished processes, and
// mailsim replay --clean PATH removes every marked folder whose replay is
// not running. A folder without a valid marker, even one named like a
// scratch folder, is never removed.
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
