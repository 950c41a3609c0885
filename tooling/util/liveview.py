"""The live view on a terminal: one row per target — its current step, the time it has
taken, what cargo is compiling, ✔ or ✗ — kept at the bottom of the screen while the
finished groups of steps, warnings and errors scroll above it (rich's Live).

Only :mod:`tooling.util.console` uses it, when stderr is a terminal at the default
verbosity (see :func:`tooling.util.console.live`); without a terminal the plain lines are
the view.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

#: cargo's status lines worth showing in a row (the crate it is busy with)
_CARGO_STATUS = ("Compiling", "Building", "Checking", "Fresh", "Downloaded", "Finished")
_PATH = re.compile(r" \((?:/|[A-Za-z]:\\)[^)]*\)$")


@dataclass
class Row:
    name: str
    step: str = "waiting"
    started: float | None = None  #: when its first step began (monotonic)
    ended: float | None = None
    state: str = "waiting"  #: waiting, running, done, failed
    doing: str = ""  #: what cargo said last, or the last finished group
    done_steps: list[str] = field(default_factory=list)

    def elapsed(self, now: float) -> str:
        if self.started is None:
            return ""
        seconds = (self.ended or now) - self.started
        return f"{seconds:.0f} s" if seconds < 600 else f"{seconds / 60:.0f} min"


_MARK = {"waiting": ("·", "dim"), "running": ("…", "cyan"), "done": ("✔", "green"),
         "failed": ("✗", "red")}


class LiveView:
    """A display (:class:`tooling.util.console.Shows`): the plain display's lines, printed
    above a live table of the targets."""

    def __init__(self, names: Sequence[str], console: Console | None = None) -> None:
        self.rows = {name: Row(name) for name in names}
        self.lock = threading.Lock()  # cargo's output arrives from a reader thread
        self.console = console or Console(stderr=True, highlight=False)
        self.live = Live(self, console=self.console, refresh_per_second=4, transient=False,
                         redirect_stdout=False, redirect_stderr=False)

    # --- what rich draws ------------------------------------------------------------------

    def __rich__(self) -> Table:
        now = time.monotonic()
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        with self.lock:
            # the names, steps and times keep their width; what is going on gets the rest
            widths = (1, max(len(r.name) for r in self.rows.values()),
                      max(len(r.step) for r in self.rows.values()), 6)
            for column, width in zip(("", "target", "step", "time"), widths, strict=True):
                table.add_column(column, no_wrap=True, min_width=width)
            room = max(12, self.console.width - sum(widths) - 2 * len(widths) - 1)
            table.add_column("now", no_wrap=True, max_width=room)
            for row in self.rows.values():
                mark, style = _MARK[row.state]
                doing = row.doing if len(row.doing) <= room else row.doing[: room - 1] + "…"
                table.add_row(Text(mark, style=style), Text(row.name, style="bold cyan"),
                              row.step, row.elapsed(now), doing)
        return table

    # --- what console tells it ------------------------------------------------------------

    def line(self, text: str) -> None:
        self.console.print(Text.from_ansi(text), soft_wrap=True)

    def progress(self, target: str, text: str) -> None:
        with self.lock:
            row = self.rows.get(target)
            if row is not None:
                row.doing = text
        self.console.print(Text.assemble((target, "bold cyan"), " ", text), soft_wrap=True)

    def started(self, target: str, step: str) -> None:
        with self.lock:
            row = self.rows.setdefault(target, Row(target))
            if row.started is None:
                row.started = time.monotonic()
            row.step, row.state = step, "running"

    def activity(self, target: str, text: str) -> None:
        said = text.strip()
        if not said.startswith(_CARGO_STATUS):
            return
        said = _PATH.sub("", said)  # "Compiling app v0.1.0 (/long/path)": the crate is enough
        with self.lock:
            row = self.rows.get(target)
            if row is not None:
                row.doing = said

    def finished(self, target: str, ok: bool) -> None:
        with self.lock:
            row = self.rows.setdefault(target, Row(target))
            row.ended = time.monotonic()
            row.state = "done" if ok else "failed"
            row.step = "done" if ok else f"failed in {row.step}"

    def summary(self, lines: list[str]) -> None:
        """The table at the end (on stdout, a result), once the live rows are drawn."""
        self.live.refresh()
        self.console.file.flush()
        for line in lines:
            print(line, flush=True)

    # --- its life -------------------------------------------------------------------------

    def __enter__(self) -> LiveView:
        self.live.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.live.refresh()
        self.live.stop()
