"""``python -m tooling.platforms.wine TRIPLE CACHE_DIR EXE [ARGS…]``: the runner ``inv test``
gives cargo for Windows targets (through :func:`tooling.platforms.windows.wine_wrapper`).

How wine runs the binary is :mod:`tooling.platforms.windows`'; this entry point is a
module of its own because nothing may have imported it before ``-m`` runs it."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from tooling.errors import CrossmatrixError
from tooling.matrix import targets
from tooling.platforms import windows
from tooling.util import console


def _main(argv: Sequence[str]) -> int:
    if len(argv) < 3:
        console.error("usage: python -m tooling.platforms.wine TRIPLE CACHE_DIR EXE [ARGS...]")
        return 2
    target = targets.from_triple(argv[0])
    if target is None:
        console.error(f"error: unknown target {argv[0]!r}")
        return 2
    try:
        return windows.wine_run(target, Path(argv[2]), argv[3:], Path(argv[1]))
    except CrossmatrixError as exc:
        console.error(exc.render())
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
