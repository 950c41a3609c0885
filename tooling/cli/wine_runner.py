"""``python -m tooling.cli.wine_runner TRIPLE CACHE_DIR EXE [ARGS…]``: the runner ``inv test``
gives cargo for Windows targets (cargo runs it with the test binary and its arguments).

It runs inside cargo's process group, which crossmatrix ends as one; wine has a group of its
own, which this runner ends when it is terminated, or when the test binary outlives
``CROSSMATRIX_TIMEOUT_TEST`` (crossmatrix passes the bound in force)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tooling.cli.boundary import ScriptExit, reported, script_fail
from tooling.matrix import targets
from tooling.platforms import windows
from tooling.util import console, timeouts

USAGE = "usage: python -m tooling.cli.wine_runner TRIPLE CACHE_DIR EXE [ARGS...]"


def main(argv: Sequence[str]) -> int:
    if len(argv) < 3:
        console.error(USAGE)
        return 2
    target = targets.from_triple(argv[0])
    if target is None:
        console.error(f"error: unknown target {argv[0]!r}")
        return 2
    try:
        with reported(script_fail):
            timeouts.use(timeouts.from_env(timeouts.current(), os.environ))
            return windows.wine_run(target, Path(argv[2]), argv[3:], Path(argv[1]))
    except ScriptExit as exc:
        return exc.code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
