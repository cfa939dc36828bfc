#!/usr/bin/env bash
# Checks the notebooks: none was committed with outputs, the committed
# capacity plan (notebooks/testdata/plan) was made from testdata/plan.toml,
# the helper's tests pass against Go's own output (a small result set and
# a small plan made here with the current build) and against the committed
# plan, and every notebook executes without a failing cell: each with its
# defaults against the small result set, and capacity-plan once more
# against the plan made here.
#
# Installs nothing. Python is PYTHON when set, else the virtualenv that
# notebooks/README.md sets up (notebooks/.venv), which .ci/install makes on
# CI's machine; it needs the packages of notebooks/requirements.txt, and
# Jupyter's kernel "python3" must run that same Python.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
# The notebooks' own settings: CI runs them with their defaults.
unset MAILSIM_RESULTS MAILSIM_PLAN MAILSIM_BASELINE MAILSIM_SWEEP_KEY MAILSIM_FIX MAILSIM_METRICS MAILSIM_WINDOW

PY="${PYTHON:-notebooks/.venv/bin/python}"
if [ -z "${PYTHON:-}" ] && [ ! -x "$PY" ]; then
  echo "notebooks: no notebooks/.venv; set it up as notebooks/README.md says (.ci/install does)," >&2
  echo "or set PYTHON to a Python that has the packages of notebooks/requirements.txt" >&2
  exit 1
fi
# An absolute path, as the tests run from notebooks/; symbolic links are
# kept, since a virtualenv's python is one.
case "$PY" in
  /*) ;;
  */*) PY="$PWD/$PY" ;;
  *) PY=$(command -v "$PY") ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export MPLCONFIGDIR="$work/matplotlib" PYDEVD_DISABLE_FILE_VALIDATION=1 PYTHONDONTWRITEBYTECODE=1

echo "== notebooks: Python and its kernel"
"$PY" - <<'PYEOF'
import sys
from importlib.metadata import version

from jupyter_client.kernelspec import KernelSpecManager

names = ["notebook", "nbconvert", "nbclient", "nbformat", "ipykernel", "pandas", "numpy", "matplotlib"]
print(f"python {sys.version.split()[0]} at {sys.executable}")
print("  " + ", ".join(f"{n} {version(n)}" for n in names))
spec = KernelSpecManager().get_kernel_spec("python3")
print(f"kernel python3 at {spec.resource_dir}: {spec.argv[0]}")
if spec.argv[0] != sys.executable:
    print(f"the kernel python3 runs {spec.argv[0]}, not this Python; install this Python's with")
    print(f"  {sys.executable} -m ipykernel install --sys-prefix")
    sys.exit(1)
PYEOF

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
    print("clear them with: notebooks/.venv/bin/python -m nbconvert --clear-output --inplace notebooks/*.ipynb")
    sys.exit(1)
print(f"{len(sys.argv) - 1} notebooks clean")
PYEOF

echo "== notebooks: the committed plan is testdata/plan.toml's"
if ! cmp notebooks/testdata/plan.toml notebooks/testdata/plan/spec.toml; then
  echo "notebooks/testdata/plan/ was made from another spec; make it again as notebooks/README.md says"
  exit 1
fi
echo "same spec"

echo "== notebooks: build mailsim, a small result set and a small plan"
go build -o "$work/mailsim" ./cmd/mailsim
"$work/mailsim" run --quiet --out "$work/set" notebooks/testdata/ci.toml > "$work/run.txt"
"$work/mailsim" plan --quiet --out "$work/plan" notebooks/testdata/plan.toml > "$work/plan.txt"
go run ./notebooks/testdata/histbounds > "$work/hist-bounds.txt"

echo "== notebooks: helper tests"
(cd notebooks && MAILSIM_RESULTS="$work/set" MAILSIM_PLAN="$work/plan" MAILSIM_HIST_BOUNDS="$work/hist-bounds.txt" \
  "$PY" test_mailsim_results.py -v)
echo "-- the committed plan"
(cd notebooks && MAILSIM_PLAN=testdata/plan "$PY" test_mailsim_results.py -v PlanTest)

echo "== notebooks: execute"
passed=0 failed=0
execute() { # OUTPUT LABEL NOTEBOOK [VAR=VALUE...]
  local out=$1 label=$2 nb=$3
  shift 3
  if env "$@" "$PY" -m nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name=python3 \
    --ExecutePreprocessor.timeout=300 --output-dir "$work/executed" --output "$out" "$nb" > "$work/nbconvert.log" 2>&1; then
    echo "ok   $nb$label"
    passed=$((passed + 1))
  else
    echo "FAIL $nb$label"
    cat "$work/nbconvert.log"
    failed=$((failed + 1))
  fi
}
for nb in notebooks/*.ipynb; do
  execute "$(basename "$nb" .ipynb)" "" "$nb" MAILSIM_RESULTS="$work/set"
done
execute capacity-plan-made-here " (the plan made here)" notebooks/capacity-plan.ipynb MAILSIM_PLAN="$work/plan"
echo "notebooks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
