#!/usr/bin/env bash
# Regenerates the reference result sets, their comparison tables and their
# reports under results/reference/ from the catalogue in experiments/.
# Usage: experiments/reference.sh [NAME...]   (default: every experiment
# but the capacity plan isp-1m-plan, which takes a quarter of an hour on
# two cores; name it to regenerate it).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/mailsim" ./cmd/mailsim
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  names=(default backend-failure mount-options maildir-listing nfs-cache-flush lmtp-delivery backend-count calibrated)
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
