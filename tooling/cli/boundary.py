"""The one error boundary: crossmatrix errors become their message and exit code, never a
traceback. Each kind of entry point supplies only how it fails — an invoke task exits, a
nox session calls ``session.error``, a script cargo runs returns its code.

Inside the boundary SIGTERM raises :class:`Terminated` (as Ctrl-C raises KeyboardInterrupt),
so a terminated crossmatrix runs its ``finally`` blocks and ends its running child's process
group (:mod:`tooling.util.proc`) before it exits with 143."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import NoReturn

from tooling.errors import CrossmatrixError, Terminated
from tooling.util import console

#: how an entry point fails: given the rendered error and its exit code, it never returns
Fail = Callable[[str, int], NoReturn]


@contextmanager
def reported(fail: Fail) -> Iterator[None]:
    with sigterm_raises():
        try:
            console.verbosity()  # a CROSSMATRIX_VERBOSE that is no number: bad input
            yield
        except CrossmatrixError as exc:
            fail(exc.render(), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except Terminated:
            fail("terminated", Terminated.exit_code)


def _terminate(signum: int, frame: FrameType | None) -> None:
    # once: a second SIGTERM must not cut short the cleanup the first one started (ending
    # a child's group is bounded: a grace, then SIGKILL)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated(signum)


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` in the main thread (elsewhere, where
    no handler can be installed, nothing changes); the previous handler is put back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


class ScriptExit(Exception):
    """Raised by :func:`script_fail`; carries the exit code a script returns."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def script_fail(text: str, code: int) -> NoReturn:
    """For a plain script: print the error, then leave with its code (see ScriptExit)."""
    console.error(text)
    raise ScriptExit(code)
