"""Output: log lines on stderr (plain, coloured on a terminal), results on stdout.

How much reaches the terminal is the verbosity, ``CROSSMATRIX_VERBOSE`` (the console
script's ``-v``/``-vv`` set it; ``inv`` and nox read it from the environment):

- 0 (default): one line per finished group of steps (:func:`progress`), warnings, errors
  and what a task reports (:func:`info`);
- 1: also each step's own lines (:func:`step`) and every command with the environment
  it adds (:func:`command`);
- 2: also each check (:func:`detail`) and the output of long commands (cargo's stderr).

While a target's log is open (:func:`target_log`) every line, whatever the verbosity,
and the output of the commands (:func:`output`) also go to that file.

The terminal side goes through a :class:`Display`; a live view replaces the plain one
with :func:`use_display`.

Log lines are written directly, so a warm build does not pay for importing rich;
rich is loaded only for the tables and JSON of ``out()``.
"""

from __future__ import annotations

import contextvars
import functools
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

from tooling.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

_STYLES = {"bold cyan": "1;36", "dim": "2", "yellow": "33", "red": "31"}

#: the verbosity: 0, 1 (-v) or 2 (-vv); more is 2
VERBOSE_ENV = "CROSSMATRIX_VERBOSE"
QUIET, COMMANDS, EVERYTHING = 0, 1, 2


def verbosity() -> int:
    """The verbosity in force (``CROSSMATRIX_VERBOSE``); a value that is not a number is
    bad input (the entry points check it before anything runs)."""
    raw = os.environ.get(VERBOSE_ENV, "").strip()
    if not raw:
        return QUIET
    if not raw.isdigit():
        raise UsageError(f"{VERBOSE_ENV}={raw!r} is not a verbosity",
                         "use 0 (the default), 1 (the commands, as -v) or 2 "
                         "(everything, as -vv)")
    return min(int(raw), EVERYTHING)


def set_verbosity(level: int) -> None:
    """Put ``level`` in force, for this process and every child it starts."""
    os.environ[VERBOSE_ENV] = str(min(max(level, QUIET), EVERYTHING))


def _color() -> bool:
    return sys.stderr.isatty() and "NO_COLOR" not in os.environ


def _paint(text: str, style: str) -> str:
    return f"\x1b[{_STYLES[style]}m{text}\x1b[0m" if _color() else text


def _write(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class Shows(Protocol):
    """What the terminal side is told: ``progress`` each finished group of a target's
    steps, ``line`` everything else that is shown, ``summary`` the closing table; and, for
    a live view, when a target's step starts, what its commands say as they run, and how
    it ended."""

    def line(self, text: str) -> None: ...
    def progress(self, target: str, text: str) -> None: ...
    def summary(self, lines: list[str]) -> None: ...
    def started(self, target: str, step: str) -> None: ...
    def activity(self, target: str, text: str) -> None: ...
    def finished(self, target: str, ok: bool) -> None: ...


class Display:
    """The terminal side of the log lines: plain lines on stderr (the live view,
    :mod:`tooling.util.liveview`, replaces it on a terminal)."""

    def line(self, text: str) -> None:
        _write(text)

    def progress(self, target: str, text: str) -> None:
        _write(f"{_paint(target, 'bold cyan')} {text}")

    def summary(self, lines: list[str]) -> None:
        """The table at the end of a build (on stdout: it is a result)."""
        sys.stdout.write("".join(f"{line}\n" for line in lines))
        sys.stdout.flush()

    def started(self, target: str, step: str) -> None:
        pass  # plain lines say what finished, not what starts

    def activity(self, target: str, text: str) -> None:
        pass

    def finished(self, target: str, ok: bool) -> None:
        pass


_display: Shows = Display()


def use_display(display: Shows) -> Shows:
    """Show the lines through ``display`` from now on; returns the one it replaces."""
    global _display
    previous, _display = _display, display
    return previous


def display() -> Shows:
    return _display


def live_wanted() -> bool:
    """A live view: stderr is a terminal that can draw one, at the default verbosity, and
    ``CROSSMATRIX_LIVE`` is not 0."""
    return (sys.stderr.isatty() and verbosity() == QUIET
            and os.environ.get("TERM", "") not in ("", "dumb")
            and os.environ.get("CROSSMATRIX_LIVE", "1") != "0")


@contextmanager
def live(targets: list[str]) -> Iterator[None]:
    """While inside, the targets' rows are drawn live (when :func:`live_wanted`)."""
    if not live_wanted():
        yield
        return
    # startup time: rich's Live is loaded only for a build on a terminal
    from tooling.util.liveview import LiveView

    view = LiveView(targets)
    previous = use_display(view)
    try:
        with view:
            yield
    finally:
        use_display(previous)


def started(target: str, step: str) -> None:
    """``target``'s ``step`` begins (a live view shows it)."""
    _display.started(target, step)


def finished(target: str, ok: bool) -> None:
    """``target``'s steps are over: done, or failed."""
    _display.finished(target, ok)


# --- the log of one target ---------------------------------------------------------------

class _Log:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()  # the output of a child comes from a thread
        self.file: IO[str] = path.open("w", encoding="utf-8", errors="replace")

    def write(self, text: str) -> None:
        with self.lock:
            if not self.file.closed:
                self.file.write(text if text.endswith("\n") else text + "\n")
                self.file.flush()  # written as it goes: a killed run keeps what it did

    def close(self) -> None:
        with self.lock:
            self.file.close()


#: the log of the target whose steps this thread (or the task it runs) is doing: a
#: context variable, so targets built side by side (``--jobs``) each write their own
_LOG: contextvars.ContextVar[_Log | None] = contextvars.ContextVar("target_log", default=None)


@contextmanager
def target_log(path: Path, header: str) -> Iterator[Path]:
    """While inside, every line and the commands' output also go to ``path`` (made anew,
    kept when the build fails)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    log = _Log(path)
    token = _LOG.set(log)
    try:
        log.write(header)
        yield path
    finally:
        log.close()
        _LOG.reset(token)


def log_path() -> Path | None:
    """The target log open now, if any."""
    log = _LOG.get()
    return log.path if log is not None else None


def _to_log(text: str) -> None:
    log = _LOG.get()
    if log is not None:
        log.write(text)


def output(text: str) -> None:
    """A command's output: into the log only (a live view reads cargo's status lines)."""
    log = _LOG.get()
    if log is not None:
        log.write(text)
        _display.activity(log.path.stem, text)


def shows_output() -> bool:
    """Whether long commands' output goes to the terminal as it comes: at -vv, and
    always where no target log keeps it."""
    return _LOG.get() is None or verbosity() >= EVERYTHING


# --- the lines ---------------------------------------------------------------------------

@functools.cache
def out() -> Console:
    """Results: tables, JSON."""
    from rich.console import Console

    # piped or captured: wide enough that names and hashes are never cut
    return Console(highlight=False, soft_wrap=True,
                   width=None if sys.stdout.isatty() else 240)


def progress(target: str, message: str) -> None:
    """A finished group of a target's steps: shown at every verbosity."""
    _to_log(f"{target} {message}")
    _display.progress(target, message)


def step(target: str, message: str) -> None:
    """What a step does or found: shown from -v on."""
    _to_log(f"{target} {message}")
    if verbosity() >= COMMANDS:
        _display.line(f"{_paint(target, 'bold cyan')} {message}")


def detail(message: str) -> None:
    """One check of one binary and the like: shown at -vv."""
    _to_log(message)
    if verbosity() >= EVERYTHING:
        _display.line(message)


def info(message: str) -> None:
    _to_log(message)
    _display.line(message)


def recap(message: str) -> None:
    """Shown, not logged: what the log holds already (cargo's error lines on failure)."""
    _display.line(message)


def command(text: str, *, show: bool = True) -> None:
    """A command with the environment it adds: in the log, and shown from -v on."""
    _to_log(f"+ {text}")
    if show and verbosity() >= COMMANDS:
        _display.line(_paint(f"+ {text}", "dim"))


def warn(message: str) -> None:
    _to_log(f"warning: {message}")
    _display.line(f"{_paint('warning:', 'yellow')} {message}")


def error(text: str) -> None:
    _to_log(text)
    _display.line(_paint(text, "red") if "\n" not in text else text)
