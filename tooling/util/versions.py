"""Version strings as comparable tuples: one parser for glibc floors, crate versions,
minimum macOS versions and rustc releases."""

from __future__ import annotations

import re

_NUMERIC = re.compile(r"\d+(?:\.\d+)*")


def parse(text: str) -> tuple[int, ...]:
    """``"2.17"`` → ``(2, 17)``, so that 2.9 < 2.17. A crate version's pre-release and
    build parts are dropped (``"0.29.0-beta.1+x"`` → ``(0, 29, 0)``); a part that is not a
    number counts as 0."""
    core = text.strip().split("+", 1)[0].split("-", 1)[0]
    return tuple(int(part) if part.isdigit() else 0 for part in core.split("."))


def is_numeric(text: str) -> bool:
    """True for dotted numbers only: ``2.17``, ``11.0.1``."""
    return _NUMERIC.fullmatch(text) is not None
