#!/usr/bin/env bash
# replay-peers.sh: put mailsim replay's listing and index-rebuild figures
# beside those of two peers measured on the same file system and folder:
#
#   - a real Dovecot (doveadm, no server: a throwaway configuration)
#     syncing, then fetching Subject/From/Date from, the very Maildir the
#     replay built;
#   - postmark, the classic small-file benchmark (create, read/append,
#     delete), on as many files of 2-50 KB;
#   - ls, as a plain listing and a listing with an lstat of every entry.
#
# Usage: experiments/replay-peers.sh DIR [MESSAGES]
#
# DIR is the file system to measure (a folder on it; everything is created
# in a fresh subfolder and removed at the end). MESSAGES is the folder size
# (default 10000). Needs: go (or MAILSIM=path to a mailsim binary), doveadm
# (Debian package dovecot-core) and postmark (Debian package postmark).
# As root the cold figures drop the kernel's caches first; otherwise they
# are skipped.
#
# Figures are microseconds per message. doveadm and ls timings have the
# same command's time on an empty folder (process start-up) subtracted;
# ls and the fetch from the cache file, which change nothing, are the
# median of five runs, the rest one run each (they change the state).
# postmark's timer has one-second resolution, so its rates are coarse for
# short runs.
set -euo pipefail

dir=${1:?usage: replay-peers.sh DIR [MESSAGES]}
n=${2:-10000}
here=$(cd "$(dirname "$0")" && pwd)

for tool in doveadm postmark; do
	command -v "$tool" >/dev/null || { echo "replay-peers: $tool not found (apt-get install dovecot-core postmark)" >&2; exit 1; }
done
work=$(mktemp -d)
base=$(mktemp -d "$dir/mailsim-peers.XXXXXX")
mailsim=${MAILSIM:-}
if [ -z "$mailsim" ]; then
	mailsim=$work/mailsim
	(cd "$here/.." && go build -o "$mailsim" ./cmd/mailsim)
fi
cleanup() {
	"$mailsim" replay --clean "$base" >/dev/null 2>&1 || true
	rm -rf "$base/postmark"
	rmdir "$base" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

cold=no
if [ -w /proc/sys/vm/drop_caches ]; then cold=yes; fi
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
now() { date +%s%N; }
# per T0 T1 [BASE]: microseconds per message from a timing in ns, less a
# baseline in ns (the same command on an empty folder: process start-up).
per() { awk -v t0="$1" -v t1="$2" -v b="${3:-0}" -v n="$n" 'BEGIN { printf "%.2f", (t1 - t0 - b) / 1000 / n }'; }
# span CMD...: nanoseconds CMD takes, output discarded.
span() { local a b; a=$(now); "$@" >/dev/null; b=$(now); echo $((b - a)); }
# span5 CMD...: the median of five spans, for commands that change nothing.
span5() { for _ in 1 2 3 4 5; do span "$@"; done | sort -n | sed -n 3p; }

fstype=$(df -T "$dir" | awk 'NR == 2 { print $2 }')
echo "file system: $fstype; $n messages; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. mailsim replay: build and measure, keep the folder for the peers.
"$mailsim" replay --dir "$base" --messages "$n" --cold "$cold" --keep --out "$work" --quiet >/dev/null 2>"$work/replay.err" || {
	cat "$work/replay.err" >&2
	exit 1
}
scratch=$(ls -d "$base"/mailsim-replay-*)
maildir=$scratch/mail-$n
# A figure from the report: per-entry cost (mean / entries) of a folder
# operation, or the p50 of a per-message one, in microseconds.
fig() {
	awk -v op="$1" -v cache="$2" -v n="$n" -v col="$3" '
		$1 == op && $2 == cache && $3 == n {
			v = (col == "last") ? $NF : $(NF - 2)
			if (v ~ /ns$/) { sub(/ns$/, "", v); v /= 1000 }
			else if (v ~ /µs$/) { sub(/µs$/, "", v); v += 0 }
			else if (v ~ /ms$/) { sub(/ms$/, "", v); v *= 1000 }
			else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1e6 }
			printf "%.2f", v; exit
		}' "$work/replay-report.txt"
}
m_list=$(fig readdir warm last)
m_stat=$(fig readdir_stat warm last)
m_rebuild=$(fig index_rebuild warm last)
m_hdr=$(fig header_read warm p50)
m_list_c=$(fig readdir cold last)
m_stat_c=$(fig readdir_stat cold last)
m_rebuild_c=$(fig index_rebuild cold last)

# 2. ls on the same folder, less ls on an empty one.
mkdir "$work/empty"
ls_list=$(per 0 "$(span5 ls -f "$maildir/cur")" "$(span5 ls -f "$work/empty")")
ls_stat=$(per 0 "$(span5 ls -lU "$maildir/cur")" "$(span5 ls -lU "$work/empty")")

# 3. Dovecot on the same Maildir, indexes in a throwaway directory, no
# server and no userdb: doveadm without -u acts as $USER. Dovecot refuses
# mail access as root, so as root the folder is handed to the dovecot user
# that the dovecot-core package creates.
mkdir -p "$work/home" "$work/index"
mail_user=$(id -un)
if [ "$(id -u)" = 0 ]; then
	mail_user=dovecot
	chown -R "$mail_user:" "$scratch" "$work/home" "$work/index"
	chmod 755 "$work" "$base"
	# Write the changed inodes back now, not during the timings.
	sync
fi
cat >"$work/dovecot.conf" <<EOF
mail_location = maildir:$maildir:INDEX=$work/index
mail_uid = $mail_user
mail_gid = $(id -gn "$mail_user")
first_valid_uid = 1
first_valid_gid = 1
mail_fsync = optimized
log_path = $work/dovecot.log
EOF
fields="hdr.subject hdr.from hdr.date"
dove() { USER=replay HOME=$work/home doveadm -c "$work/dovecot.conf" "$@"; }
# The same steps on an empty Maildir give the start-up cost to subtract.
mkdir -p "$work/emptymd/cur" "$work/emptymd/new" "$work/emptymd/tmp" "$work/emptyidx"
[ "$(id -u)" = 0 ] && chown -R "$mail_user:" "$work/emptymd" "$work/emptyidx"
sed "s|^mail_location = .*|mail_location = maildir:$work/emptymd:INDEX=$work/emptyidx|" "$work/dovecot.conf" >"$work/empty.conf"
empty() { USER=replay HOME=$work/home doveadm -c "$work/empty.conf" "$@"; }
# Warm up (binaries, configuration, empty indexes) before timing.
empty force-resync INBOX
empty fetch "$fields" mailbox INBOX >/dev/null
b_sync=$(span empty force-resync INBOX)
b_fetch=$(span5 empty fetch "$fields" mailbox INBOX)
# First sync with no index files.
d_sync=$(per 0 "$(span dove force-resync INBOX)" "$b_sync")
# First header fetch: page cache warm, no cache file entries yet.
d_fetch=$(per 0 "$(span dove fetch "$fields" mailbox INBOX)" "$b_fetch")
# Header fetch again, now from dovecot.index.cache.
d_cached=$(per 0 "$(span5 dove fetch "$fields" mailbox INBOX)" "$b_fetch")
d_sync_c=-; d_fetch_c=-
if [ "$cold" = yes ]; then
	rm -rf "$work/index"; mkdir "$work/index"; chown "$mail_user:" "$work/index"
	drop
	d_sync_c=$(per 0 "$(span dove force-resync INBOX)" "$b_sync")
	drop
	d_fetch_c=$(per 0 "$(span dove fetch "$fields" mailbox INBOX)" "$b_fetch")
fi

# 4. postmark: as many files of 2-50 KB, 4 KB unbuffered I/O, one
# directory like a Maildir folder, five transactions per file (so that the
# one-second timer has a few seconds to count).
mkdir "$base/postmark"
postmark >"$work/postmark.out" <<EOF
set location $base/postmark
set number $n
set transactions $((5 * n))
set size 2000 50000
set subdirectories 1
set read 4096
set write 4096
set buffering false
set seed 1
run
quit
EOF
pm() { awk -v what="$1" 'index($0, what) { for (i = 1; i <= NF; i++) if ($i ~ /^\(/) { v = substr($i, 2); print v; exit } }' "$work/postmark.out"; }
pm_create=$(pm "Creation alone")
pm_delete=$(pm "Deletion alone")
pm_tx=$(pm "seconds of transactions")
us() { awk -v r="$1" 'BEGIN { if (r > 0) printf "%.1f", 1e6 / r; else print "-" }'; }

cat <<EOF

microseconds per message, $n messages, $fstype              warm     cold
mailsim replay  readdir (per entry)                      $(printf %8s "$m_list") $(printf %8s "${m_list_c:--}")
mailsim replay  readdir + lstat (per entry)              $(printf %8s "$m_stat") $(printf %8s "${m_stat_c:--}")
mailsim replay  index rebuild (per message)              $(printf %8s "$m_rebuild") $(printf %8s "${m_rebuild_c:--}")
mailsim replay  header read, p50                         $(printf %8s "$m_hdr")
ls -f                                                    $(printf %8s "$ls_list")
ls -lU                                                   $(printf %8s "$ls_stat")
doveadm force-resync, no index files                     $(printf %8s "$d_sync") $(printf %8s "$d_sync_c")
doveadm fetch Subject/From/Date, no cache file yet       $(printf %8s "$d_fetch") $(printf %8s "$d_fetch_c")
doveadm fetch Subject/From/Date, from the cache file     $(printf %8s "$d_cached")
postmark: creation alone $pm_create files/s ($(us "$pm_create") us/file), deletion alone $pm_delete files/s ($(us "$pm_delete") us/file), $pm_tx transactions/s
EOF
