"""The one error boundary: crossmatrix errors become their message and exit code, never a
traceback. Each kind of entry point supplies only how it fails — an invoke task exits, a
nox session calls ``session.error``, a script cargo runs returns its code."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

from tooling.errors import CrossmatrixError
from tooling.util import console

#: how an entry point fails: given the rendered error and its exit code, it never returns
Fail = Callable[[str, int], NoReturn]


@contextmanager
def reported(fail: Fail) -> Iterator[None]:
    try:
        yield
    except CrossmatrixError as exc:
        fail(exc.render(), exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", 130)


class ScriptExit(Exception):
    """Raised by :func:`script_fail`; carries the exit code a script returns."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def script_fail(text: str, code: int) -> NoReturn:
    """For a plain script: print the error, then leave with its code (see ScriptExit)."""
    console.error(text)
    raise ScriptExit(code)
