#!/usr/bin/env bash
# Compares the exact assignment solver (matcher/lsap) with SciPy's
# linear_sum_assignment on the very same matrices, in the same run, and
# rewrites the "Assignment solver vs SciPy" section of bench/RESULTS.md.
#
#   bench/lsap.sh [lsapbench flags, e.g. -reps 5 -seed 1]
#
# SciPy is Debian's python3-scipy under /usr/bin/python3 (not a pyenv or
# virtualenv python); it is installed when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3
if ! "$PY" -c 'import scipy' 2>/dev/null; then
	echo "lsap.sh: installing python3-scipy" >&2
	SUDO=""
	if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
	$SUDO apt-get update
	$SUDO apt-get install -y python3-scipy
fi

go run ./bench/cmd/lsapbench -python "$PY" -script bench/scipy_lsap.py -results bench/RESULTS.md "$@"
