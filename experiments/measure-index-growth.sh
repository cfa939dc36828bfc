#!/usr/bin/env bash
# measure-index-growth.sh: how many bytes each kind of IMAP and LMTP/LDA
# operation adds to a Maildir folder's Dovecot index files, measured with
# the real Dovecot on a local directory (file sizes do not depend on NFS).
#
# Usage: experiments/measure-index-growth.sh [OUTDIR]
#
# OUTDIR (created if missing; default a fresh mktemp -d) receives:
#   samples.tsv   one line per operation, trial and file: size before and
#                 after, growth, whether the file was replaced (new inode:
#                 log rotation, index/uidlist rewrite, cache purge) and
#                 whether it was written at all (mtime changed);
#   summary.tsv   per variant, operation and file: n, mean/min/max growth
#                 over the samples where the file was not replaced, the
#                 number of samples that replaced / wrote it, and the mean
#                 size of the file that replaced it;
#   summary.txt   the same, laid out for reading;
#   base.txt      the file sizes of each variant's folder after setup and
#                 at the end;
#   defaults.txt  Dovecot version and the index/cache defaults doveconf
#                 reports (doveconf -d omits the hidden mail_index_* and
#                 mail_cache_* tuning settings, so they are asked by name);
#   cache-fields.txt  the cache file's fields and caching decisions after
#                 setup and at the end of each variant (doveadm dump);
#   dovecot-*.conf    the configuration file of each variant;
#   transcript.txt    every IMAP command and response.
# The mail folders live in a separate mktemp -d, removed at exit (KEEP=1
# keeps it and prints its path).
#
# Environment: TRIALS (repetitions per operation, default 30), MESSAGES
# (folder size before measuring, at least 20, default 200), VARIANTS (default
# "default nfs rotate"), DOVECOT_LIBEXEC (where imap and dovecot-lda are,
# default /usr/lib/dovecot, the Debian location).
#
# Variants (each a fresh folder and its own configuration file):
#   default  mail_fsync=optimized, mmap_disable=no (Dovecot's defaults)
#   nfs      mail_fsync=always, mmap_disable=yes, mail_nfs_index=yes,
#            mail_nfs_storage=yes (the settings for indexes on NFS)
#   rotate   the defaults plus mail_index_log_rotate_min_age=1s, so the
#            transaction log rotates as soon as it passes
#            mail_index_log_rotate_min_size (32k), as it does in a folder
#            whose log is older than the default min_age of 5 minutes.
#            With the default min_age a run this short never rotates.
#
# Needs the Debian packages dovecot-imapd (imap) and dovecot-core
# (dovecot-lda, doveconf, doveadm; a dependency of dovecot-imapd;
# dovecot-lmtpd is not needed, as no LMTP server runs), plus
# bash, coreutils, awk, and util-linux (setpriv) when run as root. No
# Dovecot daemon runs: each IMAP session is the imap binary in preauth
# mode on a pipe (USER and HOME in its environment, as a mail process
# started by a login process would have), each delivery is dovecot-lda,
# which stores mail through the same code as LMTP (mail_deliver). Dovecot
# refuses mail access as root, so as root both run as the dovecot user
# (created by dovecot-core) through setpriv, and the mail folders are
# handed to that user. Nothing outside the two temporary directories and
# OUTDIR is written.
#
# Operations (TRIALS samples each unless noted; the order matters because
# caching decisions persist in the cache file):
#   setup: MESSAGES deliveries, then one IMAP SELECT (not measured)
#   lda              delivery of one ~2000-byte message, no session open
#   select-after-lda the next session's SELECT INBOX of that folder
#   logout           that session's LOGOUT (and process exit)
#   lda-selected     delivery while a session has INBOX selected
#   noop-after-lda   that session's NOOP, which syncs the new message
#   append           APPEND of one ~2000-byte message into selected INBOX
#   store+seen       STORE n +FLAGS (\Seen), a different unseen message
#                    each trial; store-seen: -FLAGS (\Seen) on the same
#   store+deleted    STORE 1 +FLAGS.SILENT (\Deleted); expunge: EXPUNGE
#   search-unseen    SEARCH UNSEEN
#   fetch-body       FETCH n BODY.PEEK[], a different message each trial;
#                    fetch-body-again: the same messages a second time
#   fetch10-first    FETCH of the last 10 messages (FLAGS ENVELOPE
#                    INTERNALDATE RFC822.SIZE UID), first time in the
#                    folder (one sample per variant here; see fresh-*)
#   fetch10-again    the same FETCH again
#   append-cached    APPEND after that FETCH (the fetched fields now have
#                    a caching decision, so new mail gets them cached)
#   lda-cached, select-after-lda-cached: lda and select-after-lda after
#                    that FETCH
#   bulk-*           one sample each: STORE 1:n +FLAGS.SILENT (\Deleted) on
#                    30 % of the folder and EXPUNGE, LOGOUT, then a
#                    delivery, a session's SELECT and LOGOUT, and one more
#                    delivery (lda-after-bulk2)
#   fresh-select, fresh-fetch10-first, fresh-fetch10-second,
#   fresh-fetch10-prev: on a fresh copy of the folder as it was after
#                    setup (only flags cached), per trial: SELECT, FETCH
#                    of the last 10 twice, then FETCH of the 10 before
#                    them (the fields now have a decision)
set -euo pipefail

TRIALS=${TRIALS:-30}
MESSAGES=${MESSAGES:-200}
VARIANTS=${VARIANTS:-default nfs rotate}
LIBEXEC=${DOVECOT_LIBEXEC:-/usr/lib/dovecot}

die() { echo "measure-index-growth: $*" >&2; exit 1; }
[ "$MESSAGES" -ge 20 ] || die "MESSAGES must be at least 20 (two FETCHes of 10)"
[ "$TRIALS" -ge 1 ] || die "TRIALS must be at least 1"
for f in "$LIBEXEC/imap" "$LIBEXEC/dovecot-lda"; do
	[ -x "$f" ] || die "$f not found (apt-get install dovecot-imapd, or set DOVECOT_LIBEXEC)"
done
command -v doveconf >/dev/null || die "doveconf not found (Debian package dovecot-core)"

out=${1:-$(mktemp -d)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
cleanup() {
	if [ -n "${imap_pid:-}" ]; then kill "$imap_pid" 2>/dev/null || true; wait "$imap_pid" 2>/dev/null || true; fi
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# As root, run Dovecot's processes as the dovecot user.
as=()
if [ "$(id -u)" = 0 ]; then
	mail_user=dovecot
	id "$mail_user" >/dev/null 2>&1 || die "no $mail_user user (Debian package dovecot-core creates it)"
	as=(setpriv --reuid="$(id -u "$mail_user")" --regid="$(id -g "$mail_user")" --clear-groups --)
	chown "$mail_user:" "$work"
	chmod 755 "$work"
fi
give() { if [ ${#as[@]} -gt 0 ]; then chown -R "$mail_user:" "$@"; fi; }

transcript=$out/transcript.txt
: >"$transcript"
printf 'variant\top\ttrial\tfile\tsize_before\tsize_after\tgrowth\treplaced\twritten\n' >"$out/samples.tsv"
: >"$out/base.txt"
: >"$out/cache-fields.txt"

# The index files of a Maildir folder (here INBOX, so they sit in
# ~/Maildir beside cur/ new/ tmp/; the mailbox list index sits there too).
FILES=(dovecot.index.log dovecot.index.log.2 dovecot.index.cache dovecot-uidlist
	dovecot.index dovecot.list.index.log dovecot.list.index)

# --- messages -------------------------------------------------------------

# msg N: a plain-text message of about 2000 bytes with LF line ends, as an
# MTA hands it to LMTP/LDA; its headers differ per N like real mail.
msg() {
	awk -v n="$1" 'BEGIN {
		printf "Return-Path: <sender%d@example.org>\n", n
		printf "Received: from mx%d.example.org (mx%d.example.org [192.0.2.%d])\n", n % 7, n % 7, n % 250 + 1
		printf "\tby mail.example.com with ESMTPS id %08X\n", n * 2654435761 % 4294967296
		printf "\tfor <tester@example.com>; Thu, 03 Dec 2026 10:%02d:%02d +0000\n", n / 60 % 60, n % 60
		printf "From: Sender Number %d <sender%d@example.org>\n", n, n
		printf "To: Test User <tester@example.com>\n"
		printf "Subject: Message %d of the index growth measurement\n", n
		printf "Date: Thu, 03 Dec 2026 10:%02d:%02d +0000\n", n / 60 % 60, n % 60
		printf "Message-ID: <%d.measure@example.org>\n", n
		printf "MIME-Version: 1.0\n"
		printf "Content-Type: text/plain; charset=us-ascii\n\n"
		for (i = 1; i <= 21; i++) {
			line = sprintf("Line %02d of message %d:", i, n)
			while (length(line) < 72) line = line " lorem ipsum dolor"
			print substr(line, 1, 72)
		}
	}'
}
# The same message with CRLF line ends, for IMAP APPEND.
msg_crlf() { msg "$1" | sed 's/$/\r/'; }

# --- running Dovecot ------------------------------------------------------

conf= home=
dove() { env -i PATH="$PATH" USER=tester HOME="$home" "${as[@]}" "$@"; }
deliver() { msg "$1" | dove "$LIBEXEC/dovecot-lda" -c "$conf" -f "sender$1@example.org"; }

# An IMAP session: the imap binary as a coprocess, commands written to its
# stdin, responses read until the command's tagged reply. exists follows
# the session's EXISTS/EXPUNGE responses.
# Bash unsets IMAP and IMAP_PID as soon as the coprocess ends, so the
# session keeps its own copies of the pipe ends and the process id.
tagno=0 exists=0 imap_pid= imap_in= imap_out=
imap_open() {
	local line
	coproc IMAP { dove "$LIBEXEC/imap" -c "$conf" 2>>"$work/imap.stderr"; }
	imap_pid=$IMAP_PID
	exec {imap_in}>&"${IMAP[1]}" {imap_out}<&"${IMAP[0]}"
	IFS= read -r -t 30 line <&"$imap_out" || die "no greeting from imap (see $work/imap.stderr; KEEP=1 keeps it)"
	printf '%s\n' "$line" >>"$transcript"
	case $line in "* PREAUTH"*) ;; *) die "unexpected greeting: $line" ;; esac
}
imap_wait() {
	local line
	while IFS= read -r -t 60 line <&"$imap_out"; do
		line=${line%$'\r'}
		printf 'S: %s\n' "$line" >>"$transcript"
		case $line in
		"* "[0-9]*" EXISTS") line=${line#\* }; exists=${line%% *} ;;
		"* "[0-9]*" EXPUNGE") exists=$((exists - 1)) ;;
		"$1 OK"*) return 0 ;;
		"$1 "*) die "IMAP command failed: $line" ;;
		esac
	done
	die "no reply to IMAP command $1"
}
imap() {
	local tag=c$((tagno += 1))
	printf 'C: %s %s\n' "$tag" "$1" >>"$transcript"
	printf '%s %s\r\n' "$tag" "$1" >&"$imap_in"
	imap_wait "$tag"
}
# imap_append N: APPEND message N (LITERAL+, so no continuation round trip).
imap_append() {
	local tag=c$((tagno += 1)) file=$work/append.eml
	msg_crlf "$1" >"$file"
	printf 'C: %s APPEND INBOX {%d+} (message %d)\n' "$tag" "$(wc -c <"$file")" "$1" >>"$transcript"
	{
		printf '%s APPEND INBOX {%d+}\r\n' "$tag" "$(wc -c <"$file")"
		cat "$file"
		printf '\r\n'
	} >&"$imap_in"
	imap_wait "$tag"
}
imap_logout() {
	imap LOGOUT
	exec {imap_in}>&- {imap_out}<&-
	wait "$imap_pid" || true
	imap_pid=
}

# --- measuring ------------------------------------------------------------

# snap: size, inode and mtime (ns) of each of FILES in $md, into S.
S=()
snap() {
	local f
	S=()
	for f in "${FILES[@]}"; do
		if [ -e "$md/$f" ]; then S+=("$(stat -c '%s %i %.9Y' "$md/$f")"); else S+=("0 0 0"); fi
	done
}
# measure OP TRIAL CMD...: run CMD, record every file's change.
measure() {
	local op=$1 trial=$2 i b a
	shift 2
	snap
	local before=("${S[@]}")
	"$@"
	snap
	for i in "${!FILES[@]}"; do
		b=(${before[$i]}) a=(${S[$i]})
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$variant" "$op" "$trial" "${FILES[$i]}" \
			"${b[0]}" "${a[0]}" $((a[0] - b[0])) \
			"$([ "${a[1]}" != "${b[1]}" ] && [ "${b[1]}" != 0 ] && echo 1 || echo 0)" \
			"$([ "${a[2]}" != "${b[2]}" ] && echo 1 || echo 0)" >>"$out/samples.tsv"
	done
}
sizes() { # sizes LABEL: the current sizes of FILES, for base.txt
	local f
	printf '%s' "$1"
	for f in "${FILES[@]}"; do printf ' %s=%s' "$f" "$(stat -c %s "$md/$f" 2>/dev/null || echo -)"; done
	echo
}

# cache_fields LABEL: the cache file's fields and their caching decisions.
cache_fields() {
	echo "== $1" >>"$out/cache-fields.txt"
	doveadm -c "$conf" dump -t index "$md" 2>&1 |
		sed -n '/^-- Cache fields/,/^-- RECORDS/p' | grep -v '^-- RECORDS' >>"$out/cache-fields.txt" || true
}

# --- one variant ----------------------------------------------------------

run_variant() {
	variant=$1
	local dir=$work/$variant t n=0
	mkdir -p "$dir/home" "$dir/run" "$dir/state"
	conf=$dir/dovecot.conf home=$dir/home md=$dir/home/Maildir
	{
		echo "# measure-index-growth.sh, variant $variant"
		echo "base_dir = $dir/run"
		echo "state_dir = $dir/state"
		echo "log_path = $dir/dovecot.log"
		echo "ssl = no"
		echo "protocols = imap lmtp"
		echo "first_valid_uid = 1"
		echo "stats_writer_socket_path ="
		echo "mail_location = maildir:~/Maildir"
		case $variant in
		default) printf 'mail_fsync = optimized\nmmap_disable = no\n' ;;
		nfs) printf 'mail_fsync = always\nmmap_disable = yes\nmail_nfs_index = yes\nmail_nfs_storage = yes\n' ;;
		# 0 would mean "the default" (mail_index_set_optimization_settings
		# ignores zeros), so the shortest age is one second.
		rotate) printf 'mail_fsync = optimized\nmmap_disable = no\nmail_index_log_rotate_min_age = 1s\n' ;;
		*) die "unknown variant $variant" ;;
		esac
	} >"$conf"
	give "$dir"
	cp "$conf" "$out/dovecot-$variant.conf"
	echo "== $variant" >&2
	printf '\n## variant %s\n' "$variant" >>"$transcript"

	# Setup: MESSAGES deliveries, one SELECT so everything is synced.
	while [ $n -lt "$MESSAGES" ]; do deliver $((n += 1)); done
	imap_open
	imap "SELECT INBOX"
	imap_logout
	sizes "$variant after setup:" >>"$out/base.txt"
	cache_fields "$variant after setup"
	cp -a "$home" "$dir/base-home"

	# 1. Delivery with no session open, then the next session's SELECT.
	for t in $(seq "$TRIALS"); do
		measure lda "$t" deliver $((n += 1))
		imap_open
		measure select-after-lda "$t" imap "SELECT INBOX"
		measure logout "$t" imap_logout
	done

	# 1b. Delivery while a session has INBOX selected, then its NOOP.
	imap_open
	imap "SELECT INBOX"
	for t in $(seq "$TRIALS"); do
		measure lda-selected "$t" deliver $((n += 1))
		measure noop-after-lda "$t" imap NOOP
	done

	# 2-6 in the same session.
	for t in $(seq "$TRIALS"); do measure append "$t" imap_append $((n += 1)); done
	for t in $(seq "$TRIALS"); do measure store+seen "$t" imap "STORE $t +FLAGS (\\Seen)"; done
	for t in $(seq "$TRIALS"); do measure store-seen "$t" imap "STORE $t -FLAGS (\\Seen)"; done
	for t in $(seq "$TRIALS"); do
		measure store+deleted "$t" imap "STORE 1 +FLAGS.SILENT (\\Deleted)"
		measure expunge "$t" imap EXPUNGE
	done
	for t in $(seq "$TRIALS"); do measure search-unseen "$t" imap "SEARCH UNSEEN"; done
	for t in $(seq "$TRIALS"); do measure fetch-body "$t" imap "FETCH $t BODY.PEEK[]"; done
	for t in $(seq "$TRIALS"); do measure fetch-body-again "$t" imap "FETCH $t BODY.PEEK[]"; done
	local f10="FLAGS ENVELOPE INTERNALDATE RFC822.SIZE UID"
	measure fetch10-first 1 imap "FETCH $((exists - 9)):$exists ($f10)"
	for t in $(seq "$TRIALS"); do measure fetch10-again "$t" imap "FETCH $((exists - 9)):$exists ($f10)"; done
	for t in $(seq "$TRIALS"); do measure append-cached "$t" imap_append $((n += 1)); done
	measure logout 0 imap_logout

	# 1c. Delivery and SELECT again, now that fields have a decision.
	for t in $(seq "$TRIALS"); do
		measure lda-cached "$t" deliver $((n += 1))
		imap_open
		measure select-after-lda-cached "$t" imap "SELECT INBOX"
		imap_logout
	done

	# 7. One bulk expunge of 30 % of the folder, then a delivery and the
	# next SELECT (one sample each): when the cache file is purged and
	# dovecot-uidlist rewritten without the expunged messages' lines.
	imap_open
	imap "SELECT INBOX"
	measure bulk-store+deleted 1 imap "STORE 1:$((exists * 3 / 10)) +FLAGS.SILENT (\\Deleted)"
	measure bulk-expunge 1 imap EXPUNGE
	measure bulk-logout 1 imap_logout
	measure lda-after-bulk 1 deliver $((n += 1))
	imap_open
	measure select-after-bulk 1 imap "SELECT INBOX"
	measure logout-after-bulk 1 imap_logout
	measure lda-after-bulk2 1 deliver $((n += 1))
	sizes "$variant at the end:" >>"$out/base.txt"
	cache_fields "$variant at the end"

	# 5'. First FETCH of the last 10, on a fresh copy of the setup folder.
	local saved_home=$home
	home=$dir/fresh md=$dir/fresh/Maildir
	for t in $(seq "$TRIALS"); do
		rm -rf "$home"
		cp -a "$dir/base-home" "$home"
		imap_open
		measure fresh-select "$t" imap "SELECT INBOX"
		measure fresh-fetch10-first "$t" imap "FETCH $((exists - 9)):$exists ($f10)"
		measure fresh-fetch10-second "$t" imap "FETCH $((exists - 9)):$exists ($f10)"
		measure fresh-fetch10-prev "$t" imap "FETCH $((exists - 19)):$((exists - 10)) ($f10)"
		measure fresh-logout "$t" imap_logout
	done
	home=$saved_home md=$home/Maildir
}

# --- main -----------------------------------------------------------------

{
	echo "dovecot: $(dovecot --version 2>/dev/null || doveconf -h version 2>/dev/null || echo unknown)"
	echo "kernel: $(uname -sr); file system of the mail folders: $(df -T "$work" | awk 'NR == 2 { print $2 }')"
	echo "TRIALS=$TRIALS MESSAGES=$MESSAGES"
	echo "# doveconf -d | grep -E 'mail_index_|mail_cache_'"
	doveconf -d 2>/dev/null | grep -E 'mail_index_|mail_cache_' || true
	echo "# doveconf -d NAME... (hidden settings, not in the full dump)"
	doveconf -d mail_index_log_rotate_min_size mail_index_log_rotate_max_size \
		mail_index_log_rotate_min_age mail_index_log2_max_age \
		mail_index_rewrite_min_log_bytes mail_index_rewrite_max_log_bytes \
		mail_cache_min_mail_count mail_cache_unaccessed_field_drop \
		mail_cache_record_max_size mail_cache_max_size mail_cache_purge_min_size \
		mail_cache_purge_delete_percentage mail_cache_purge_continued_percentage \
		mail_cache_purge_header_continue_count mail_always_cache_fields \
		mail_never_cache_fields mail_fsync mmap_disable mail_nfs_index \
		mail_nfs_storage maildir_very_dirty_syncs mailbox_list_index 2>&1
} >"$out/defaults.txt"

start=$(date +%s)
for v in $VARIANTS; do run_variant "$v"; done
echo "elapsed: $(($(date +%s) - start)) s" >>"$out/defaults.txt"

# Summary: growth statistics over the samples where the file kept its inode
# (a replaced file's size difference is not growth), plus how many samples
# replaced the file and how many wrote it.
awk -F'\t' 'NR > 1 {
	k = $1 "\t" $2 "\t" $4
	if (!(k in n)) { order[++keys] = k; n[k] = 0; g[k] = 0; rep[k] = 0; wr[k] = 0 }
	n[k]++; rep[k] += $8; wr[k] += $9
	if ($8 == 1) newsize[k] += $6
	if ($8 == 0) {
		g[k]++; sum[k] += $7
		if (g[k] == 1 || $7 < lo[k]) lo[k] = $7
		if (g[k] == 1 || $7 > hi[k]) hi[k] = $7
	}
}
END {
	print "variant\top\tfile\tn\tmean\tmin\tmax\treplaced\twritten\tnew_size"
	for (i = 1; i <= keys; i++) {
		k = order[i]
		ns = rep[k] > 0 ? sprintf("%.0f", newsize[k] / rep[k]) : "-"
		if (g[k] > 0) printf "%s\t%d\t%.1f\t%d\t%d\t%d\t%d\t%s\n", k, n[k], sum[k] / g[k], lo[k], hi[k], rep[k], wr[k], ns
		else printf "%s\t%d\t-\t-\t-\t%d\t%d\t%s\n", k, n[k], rep[k], wr[k], ns
	}
}' "$out/samples.tsv" >"$out/summary.tsv"

# summary.txt: one line per variant and operation, one column per file:
# mean growth [min..max], then /rK when K samples replaced the file.
awk -F'\t' 'NR > 1 {
	k = $1 " " $2
	if (!(k in seen)) { seen[k] = 1; order[++keys] = k; cnt[k] = $4 }
	c = ($5 == "-") ? "-" : ($6 == $7 ? sprintf("%g", $5) : sprintf("%g [%d..%d]", $5, $6, $7))
	if ($8 > 0) c = c " /r" $8 "=" $10
	else if ($9 == 0) c = "."
	cell[k, $3] = c
	if (!($3 in fi)) { fi[$3] = 1; files[++nf] = $3 }
}
END {
	printf "%-34s %3s", "variant op", "n"
	for (j = 1; j <= nf; j++) printf " | %-22s", files[j]
	print ""
	for (i = 1; i <= keys; i++) {
		k = order[i]
		printf "%-34s %3d", k, cnt[k]
		for (j = 1; j <= nf; j++) printf " | %-22s", cell[k, files[j]]
		print ""
	}
	print ""
	print "cells: mean bytes added [min..max] over samples that kept the file;"
	print "/rK=S: K samples replaced the file (new inode), S the mean size of the new file;"
	print ".: never written"
}' "$out/summary.tsv" >"$out/summary.txt"

echo "results in $out" >&2
