#!/usr/bin/env bash
# Installs everything crossmatrix needs on a fresh Debian machine, then runs a job:
#   bash bootstrap.sh release [inv release options]   build, verify, run and package the matrix
#   bash bootstrap.sh test [pytest options]           the test suite
#   bash bootstrap.sh setup [--target NAME ...]       only install (CI jobs)
# Python packages go into .venv (from pyproject.toml); Debian packages through `inv setup`.
set -euo pipefail
cd "$(dirname "$0")"

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: crossmatrix needs Python 3.11 or newer ($python is older or missing)" >&2
    echo "  hint: set PYTHON=/path/to/python3.11" >&2
    exit 2
fi
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
stamp=.venv/.crossmatrix-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[dev]'
    echo "$want" > "$stamp"
fi
# Bytecode for the checkout's own code, as pip writes it for an installed package: where
# PYTHONDONTWRITEBYTECODE is set, every start would compile ~250 modules again (~0.17 s).
.venv/bin/python -m compileall -q -j 0 tooling tasks.py noxfile.py > /dev/null

job=${1:-release}
shift || true
# System packages: for the whole default matrix (the tests build all of it), or for the
# targets named after `setup` (a CI job building one target).
case "$job" in
    release) .venv/bin/inv setup && exec .venv/bin/inv release "$@" ;;
    test) .venv/bin/inv setup && exec .venv/bin/python -m pytest "$@" ;;
    setup) exec .venv/bin/inv setup "$@" ;;
    *) echo "error: unknown job '$job'" >&2; echo "  hint: bash bootstrap.sh release|test|setup" >&2; exit 2 ;;
esac
