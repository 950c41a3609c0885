"""One rich console for the whole tool (stderr for logs, stdout for results)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


@functools.cache
def err() -> Console:
    """Progress, commands run and warnings: stderr, so stdout stays parseable."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


@functools.cache
def out() -> Console:
    """Results: tables, JSON."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def step(target: str, message: str) -> None:
    err().print(f"[bold cyan]{_escape(target)}[/] {_escape(message)}")


def info(message: str) -> None:
    err().print(message, markup=False)


def warn(message: str) -> None:
    err().print(f"[yellow]warning:[/] {_escape(message)}")
