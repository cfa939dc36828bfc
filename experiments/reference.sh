#!/usr/bin/env bash
# Regenerates the reference result sets, their comparison tables and their
# reports under results/reference/ from the catalogue in experiments/.
# Usage: experiments/reference.sh [NAME...]   (default: every experiment
# but the capacity plan isp-1m-plan, which takes a quarter of an hour on
# two cores; name it to regenerate it).
# With MAILSIM_TESTBED_GUEST naming a built testbed guest (as root), the
# testbed-small experiment also runs on the testbed, into
# results/reference/testbed-small-testbed, and the two stand side by side
# in testbed-small-vs-testbed.txt (about half an hour).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/mailsim" ./cmd/mailsim
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  names=(default backend-failure mount-options maildir-listing nfs-cache-flush lmtp-delivery backend-count calibrated testbed-small)
fi
mkdir -p results/reference
for name in "${names[@]}"; do
  out=results/reference/$name
  rm -rf "$out" "$out.txt" "$out.html"
  echo "== $name" >&2
  start=$(date +%s)
  if grep -q '^\[plan\]' "experiments/$name.toml"; then
    # A capacity plan keeps its answer (plan.txt) and report inside the set.
    "$bin/mailsim" plan --quiet --out "$out" "experiments/$name.toml" >&2
  else
    "$bin/mailsim" run --quiet --out "$out" "experiments/$name.toml" > "$out.txt"
    "$bin/mailsim" report -o "$out.html" "$out" >&2
  fi
  # Provenance records hosts and wall-clock times, which vary from one
  # regeneration to the next; the identity files do not.
  rm -f "$out/provenance.json"
  echo "   $(( $(date +%s) - start )) s" >&2
done
for name in "${names[@]}"; do
  if [ "$name" = testbed-small ] && [ -n "${MAILSIM_TESTBED_GUEST:-}" ]; then
    out=results/reference/testbed-small-testbed
    rm -rf "$out" "$out.html" results/reference/testbed-small-vs-testbed.txt
    echo "== testbed-small on the testbed" >&2
    start=$(date +%s)
    "$bin/mailsim" testbed run --dir "$MAILSIM_TESTBED_GUEST" --out "$out" experiments/testbed-small.toml > /dev/null
    "$bin/mailsim" report -o "$out.html" "$out" >&2
    "$bin/mailsim" compare results/reference/testbed-small "$out" > results/reference/testbed-small-vs-testbed.txt
    rm -f "$out/provenance.json"
    echo "   $(( $(date +%s) - start )) s" >&2
  fi
done
