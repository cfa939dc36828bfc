#!/usr/bin/env bash
# Executes every notebook under notebooks/ against a small result set made
# here from notebooks/testdata/ci.toml, after testing the notebooks' Python
# helper against Go's own output. Fails when a notebook was committed with
# outputs, when a helper test fails, or when any notebook cell fails.
#
# Jupyter, pandas and matplotlib come from Debian's packages and run under
# the system interpreter /usr/bin/python3 (the kernel that
# python3-ipykernel installs runs it too), whatever python3 PATH finds.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/bin:/bin:$PATH:/usr/local/go/bin"
PY=/usr/bin/python3
# The notebooks' own settings: CI runs them with their defaults.
unset MAILSIM_PLAN MAILSIM_BASELINE MAILSIM_SWEEP_KEY MAILSIM_FIX MAILSIM_METRICS MAILSIM_WINDOW
PACKAGES=(jupyter-nbconvert python3-ipykernel python3-pandas python3-matplotlib)

echo "== notebooks: Debian packages"
installed=$(dpkg-query -W -f='${Status}\n' "${PACKAGES[@]}" 2>/dev/null | grep -c '^install ok installed$' || true)
if [ "$installed" -eq "${#PACKAGES[@]}" ]; then
  echo "already installed: ${PACKAGES[*]}"
else
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${PACKAGES[@]}"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export MPLCONFIGDIR="$work/matplotlib" PYDEVD_DISABLE_FILE_VALIDATION=1 PYTHONDONTWRITEBYTECODE=1

echo "== notebooks: committed without outputs"
"$PY" - notebooks/*.ipynb <<'PYEOF'
import sys

import nbformat

bad = []
for path in sys.argv[1:]:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None):
            bad.append(f"{path}: cell {i} has outputs or an execution count")
if bad:
    print("\n".join(bad))
    print("clear them with: jupyter nbconvert --clear-output --inplace notebooks/*.ipynb")
    sys.exit(1)
print(f"{len(sys.argv) - 1} notebooks clean")
PYEOF

echo "== notebooks: build mailsim and a small result set"
go build -o "$work/mailsim" ./cmd/mailsim
"$work/mailsim" run --quiet --out "$work/set" notebooks/testdata/ci.toml > "$work/run.txt"
"$work/mailsim" plan --quiet --out "$work/plan" notebooks/testdata/plan.toml > "$work/plan.txt"
go run ./notebooks/testdata/histbounds > "$work/hist-bounds.txt"
export MAILSIM_RESULTS="$work/set" MAILSIM_PLAN="$work/plan" MAILSIM_HIST_BOUNDS="$work/hist-bounds.txt"

echo "== notebooks: helper tests"
(cd notebooks && "$PY" test_mailsim_results.py -v)

echo "== notebooks: execute"
passed=0 failed=0
for nb in notebooks/*.ipynb; do
  if "$PY" -m nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name=python3 \
    --ExecutePreprocessor.timeout=300 --output-dir "$work/executed" "$nb" > "$work/nbconvert.log" 2>&1; then
    echo "ok   $nb"
    passed=$((passed + 1))
  else
    echo "FAIL $nb"
    cat "$work/nbconvert.log"
    failed=$((failed + 1))
  fi
done
echo "notebooks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
