#!/bin/bash
# check-place.sh compares "mailsim place --strategy director" with a running
# Dovecot 2.3 director for every user in a file. It is how the golden files
# in ../place were checked; it is not run by the tests.
#
# Usage: check-place.sh MAILSIM DOVECOT_CONF USERS "ip/vhosts ..." ["down-ip ..."]
#
# DOVECOT_CONF is a director's configuration (see director.conf beside this
# script); start it with "dovecot -c DOVECOT_CONF". The script replaces the
# director's hosts with the given ones, asks "doveadm director status" for
# each user's ring host ("Hashed:") and prints MATCH or the differences.
# User names that are all digits are skipped: doveadm reads them as hashes.
set -euo pipefail
mailsim=$1 conf=$2 users=$3 hosts=$4 downs=${5:-}
dir="doveadm -c $conf director"
for ip in $($dir status | awk 'NR > 1 { print $1 }'); do $dir remove "$ip"; done
spec= downspec=
for hv in $hosts; do
	ip=${hv%%/*} vh=${hv##*/}
	$dir add "$ip" "$vh"
	spec="$spec,[$ip]:$vh"
done
for d in $downs; do
	$dir down "$d"
	downspec="$downspec,$d"
done
sleep 0.3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
grep -vE '^[0-9]+$' "$users" > "$work/users"
while IFS= read -r u; do
	printf '%s,%s\n' "$u" "$($dir status -- "$u" | awk '/^Hashed:/ { print $2 }')"
done < "$work/users" > "$work/dovecot.csv"
"$mailsim" place --backends "${spec#,}" ${downspec:+--down "${downspec#,}"} < "$work/users" |
	tail -n +2 | tr -d '"' > "$work/mailsim.csv"
if cmp -s "$work/dovecot.csv" "$work/mailsim.csv"; then
	echo "MATCH $(wc -l < "$work/users") users: $hosts${downs:+ (down: $downs)}"
else
	echo "DIFFER: $hosts${downs:+ (down: $downs)}"
	diff "$work/dovecot.csv" "$work/mailsim.csv" | head -20
	exit 1
fi
