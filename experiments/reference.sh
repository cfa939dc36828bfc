#!/usr/bin/env bash
# Regenerates the reference result sets, their comparison tables and their
# reports under results/reference/ from the catalogue in experiments/.
# Usage: experiments/reference.sh [NAME...]   (default: every experiment
# but the capacity plan isp-1m-plan, which takes a quarter of an hour on
# two cores; name it to regenerate it).
# The name index-damage stands for the matrix of experiments/index-damage/,
# simulated into results/reference/index-damage/CONFIG.
# With MAILSIM_TESTBED_GUEST naming a built testbed guest (as root), the
# testbed-small experiment also runs on the testbed, into
# results/reference/testbed-small-testbed, and the two stand side by side
# in testbed-small-vs-testbed.txt (about half an hour); so does the index
# damage matrix, into results/reference/index-damage/CONFIG-testbed (about
# 35 minutes), after which its table, TABLE.md, is written again.
# The name hung-host stands for experiments/hung-host/v3 and v42, simulated
# into results/reference/hung-host-V and compared with the testbed's
# hosts-topology drills in hung-host-V-testbed (made by 'mailsim testbed
# run --topology hosts', as root) into hung-host-V-vs-testbed.txt.
# With --reports first, nothing is simulated: the tables and reports of the
# sets already there are written again (after a change to how they are
# presented).
set -euo pipefail
cd "$(dirname "$0")/.."
reports_only=
if [ "${1:-}" = --reports ]; then
  reports_only=1
  shift
fi
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/mailsim" ./cmd/mailsim
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  names=(default backend-failure mount-options maildir-listing nfs-cache-flush lmtp-delivery backend-count calibrated testbed-small index-damage imaptest-drill imaptest-drill-flush director-2.4 storage-kinds local-disk index-location nfs-versions hung-host)
fi
mkdir -p results/reference
damage=(one-backend random nfs-settings dotlock actimeo0 lookupcache-none nfs42 local-index)
hung=(v3 v42)
for name in "${names[@]}"; do
  if [ "$name" = index-damage ] && [ -n "$reports_only" ]; then
    continue
  fi
  if [ "$name" = hung-host ] && [ -n "$reports_only" ]; then
    continue
  fi
  if [ "$name" = index-damage ]; then
    echo "== index-damage" >&2
    for cfg in "${damage[@]}"; do
      out=results/reference/index-damage/$cfg
      rm -rf "$out"
      mkdir -p results/reference/index-damage
      "$bin/mailsim" run --quiet --out "$out" "experiments/index-damage/$cfg.toml" > /dev/null
      rm -f "$out/provenance.json"
    done
    continue
  fi
  if [ "$name" = hung-host ]; then
    # A hung host's locks and delegations (experiments/hung-host/), simulated
    # beside the testbed's hosts-topology drills.
    echo "== hung-host" >&2
    for cfg in "${hung[@]}"; do
      out=results/reference/hung-host-$cfg
      rm -rf "$out"
      "$bin/mailsim" run --quiet --out "$out" "experiments/hung-host/$cfg.toml" > /dev/null
      rm -f "$out/provenance.json"
      if [ -d "$out-testbed" ]; then
        "$bin/mailsim" compare "$out" "$out-testbed" > "$out-vs-testbed.txt"
      fi
    done
    continue
  fi
  out=results/reference/$name
  if [ -n "$reports_only" ]; then
    if [ -d "$out" ] && [ ! -f "$out/plan.json" ]; then
      echo "== $name (table and report)" >&2
      "$bin/mailsim" compare "$out" > "$out.txt"
      "$bin/mailsim" report --chart-files=false --out "$out.html" "$out" > /dev/null
    fi
    if [ -f "$out-testbed.html" ]; then
      "$bin/mailsim" report --chart-files=false --out "$out-testbed.html" "$out-testbed" > /dev/null
    fi
    continue
  fi
  rm -rf "$out" "$out.txt" "$out.html"
  echo "== $name" >&2
  start=$(date +%s)
  if grep -q '^\[plan\]' "experiments/$name.toml"; then
    # A capacity plan keeps its answer (plan.txt) and report inside the set.
    "$bin/mailsim" plan --quiet --out "$out" "experiments/$name.toml" >&2
  else
    "$bin/mailsim" run --quiet --out "$out" "experiments/$name.toml" > "$out.txt"
    "$bin/mailsim" report --chart-files=false --out "$out.html" "$out" > /dev/null
  fi
  # Provenance records hosts and wall-clock times, which vary from one
  # regeneration to the next; the identity files do not.
  rm -f "$out/provenance.json"
  echo "   $(( $(date +%s) - start )) s" >&2
done
for name in "${names[@]}"; do
  if [ "$name" = testbed-small ] && [ -n "${MAILSIM_TESTBED_GUEST:-}" ] && [ -z "$reports_only" ]; then
    out=results/reference/testbed-small-testbed
    rm -rf "$out" "$out.html" results/reference/testbed-small-vs-testbed.txt
    echo "== testbed-small on the testbed" >&2
    start=$(date +%s)
    "$bin/mailsim" testbed run --dir "$MAILSIM_TESTBED_GUEST" --out "$out" experiments/testbed-small.toml > /dev/null
    "$bin/mailsim" report --chart-files=false --out "$out.html" "$out" > /dev/null
    "$bin/mailsim" compare results/reference/testbed-small "$out" > results/reference/testbed-small-vs-testbed.txt
    rm -f "$out/provenance.json"
    echo "   $(( $(date +%s) - start )) s" >&2
  fi
done
for name in "${names[@]}"; do
  if [ "$name" = index-damage ]; then
    if [ -n "${MAILSIM_TESTBED_GUEST:-}" ] && [ -z "$reports_only" ]; then
      for cfg in "${damage[@]}"; do
        out=results/reference/index-damage/$cfg-testbed
        rm -rf "$out"
        echo "== index-damage/$cfg on the testbed" >&2
        "$bin/mailsim" testbed run --dir "$MAILSIM_TESTBED_GUEST" --out "$out" "experiments/index-damage/$cfg.toml" > /dev/null
        rm -f "$out/provenance.json"
      done
    fi
    for cfg in "${damage[@]}"; do
      "$bin/mailsim" compare "results/reference/index-damage/$cfg" "results/reference/index-damage/$cfg-testbed" \
        > "results/reference/index-damage/$cfg-vs-testbed.txt"
    done
    go test ./experiments -run 'IndexDamageAgreement' -update > /dev/null
  fi
done
if [ -n "$reports_only" ]; then
  # The model-against-testbed tables of every pair kept side by side
  # (those 'mailsim compare' wrote: a written account such as
  # imaptest-drill-vs-testbed.txt is left as it is).
  for vs in results/reference/*-vs-testbed.txt; do
    base=${vs%-vs-testbed.txt}
    if [ -d "$base" ] && [ -d "$base-testbed" ] && head -1 "$vs" | grep -q "^$(basename "$base"):"; then
      "$bin/mailsim" compare "$base" "$base-testbed" > "$vs"
    fi
  done
fi
