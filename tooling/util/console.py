"""Output: log lines on stderr (plain, coloured on a terminal), results on stdout.

Log lines are written directly, so a warm build does not pay for importing rich;
rich is loaded only for the tables and JSON of ``out()``.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

_STYLES = {"bold cyan": "1;36", "dim": "2", "yellow": "33", "red": "31"}


def _color() -> bool:
    return sys.stderr.isatty() and "NO_COLOR" not in os.environ


def _paint(text: str, style: str) -> str:
    return f"\x1b[{_STYLES[style]}m{text}\x1b[0m" if _color() else text


def _write(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


@functools.cache
def out() -> Console:
    """Results: tables, JSON."""
    from rich.console import Console

    # piped or captured: wide enough that names and hashes are never cut
    return Console(highlight=False, soft_wrap=True,
                   width=None if sys.stdout.isatty() else 240)


def step(target: str, message: str) -> None:
    _write(f"{_paint(target, 'bold cyan')} {message}")


def info(message: str) -> None:
    _write(message)


def command(text: str) -> None:
    _write(_paint(f"+ {text}", "dim"))


def warn(message: str) -> None:
    _write(f"{_paint('warning:', 'yellow')} {message}")


def error(text: str) -> None:
    _write(_paint(text, "red") if "\n" not in text else text)
