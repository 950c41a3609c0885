"""The one matrix loop: a piece of work for each target, where one target's failure does
not stop the others (``inv release``, ``inv test`` and the nox sessions use it).

With ``jobs`` above 1 the targets' work runs in that many threads, each in a copy of the
caller's context (its target log is its own); what must not overlap (cargo, which uses
every core and locks the target folder) takes :class:`Turns` in the matrix's order.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from tooling.errors import CrossmatrixError, SomeTargetsFailed, UsageError
from tooling.matrix.targets import Target
from tooling.util import console, proc

T = TypeVar("T")


@dataclass
class Outcomes(Generic[T]):
    done: list[tuple[Target, T]] = field(default_factory=list)
    failed: list[tuple[Target, CrossmatrixError]] = field(default_factory=list)

    def raise_if_failed(self, total: int, what: str, hint: str) -> None:
        """SomeTargetsFailed naming the failed targets after ``what``, a format string
        with ``{failed}`` and ``{total}``: ``"{failed} of {total} targets failed"``."""
        if self.failed:
            raise SomeTargetsFailed(
                what.format(failed=len(self.failed), total=total) + ": "
                + ", ".join(t.name for t, _ in self.failed), hint)


def default_jobs() -> int:
    """One thread per core the process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class Turns:
    """Who may run the part of the work that must not overlap: one target at a time, in
    the matrix's order. A target's turn ends when it says so (:meth:`over`) or when its
    work ends, whichever is first, so the next one never waits for a finished target."""

    def __init__(self, names: Sequence[str]) -> None:
        self.order = list(names)
        self.next = 0
        self.ended: set[str] = set()
        self.changed = threading.Condition()

    @contextmanager
    def turn(self, name: str) -> Iterator[None]:
        """Wait for ``name``'s turn (every target before it is past its own)."""
        with self.changed:
            self.changed.wait_for(lambda: self._first_open() == name)
        yield

    def over(self, name: str) -> None:
        with self.changed:
            self.ended.add(name)
            self.changed.notify_all()

    def _first_open(self) -> str | None:
        return next((n for n in self.order if n not in self.ended), None)


#: the turns of the matrix this thread's target belongs to (None: nothing runs beside it)
_TURNS: contextvars.ContextVar[Turns | None] = contextvars.ContextVar("turns", default=None)


@contextmanager
def exclusive(name: str) -> Iterator[None]:
    """Inside, no other target of this matrix does what must not overlap; ``name``'s turn
    stays open afterwards until :func:`done_exclusive` or the end of its work."""
    turns = _TURNS.get()
    if turns is None:
        yield
        return
    with turns.turn(name):
        yield


def done_exclusive(name: str) -> None:
    """``name`` needs no turn any more: the next target may take its own."""
    turns = _TURNS.get()
    if turns is not None:
        turns.over(name)


def each_target(targets: Sequence[Target], work: Callable[[Target], T],
                jobs: int = 1) -> Outcomes[T]:
    """``work(target)`` for each target. Bad input (UsageError) stops everything: it is the
    user's to fix, whatever target it surfaced in. A lone target's failure is raised as it
    is; with several, each failure is said when it happens and collected. ``jobs`` > 1:
    that many targets at once (see :class:`Turns`); the outcomes keep the matrix's order."""
    if jobs <= 1 or len(targets) <= 1:
        return _one_by_one(targets, work)
    return _side_by_side(targets, work, jobs)


def _one_by_one(targets: Sequence[Target], work: Callable[[Target], T]) -> Outcomes[T]:
    outcomes: Outcomes[T] = Outcomes()
    for target in targets:
        try:
            outcomes.done.append((target, work(target)))
        except UsageError:
            raise
        except CrossmatrixError as exc:
            if len(targets) == 1:
                raise
            _said(target, exc)
            outcomes.failed.append((target, exc))
    return outcomes


def _said(target: Target, exc: CrossmatrixError) -> None:
    console.error(exc.message if exc.message.startswith(f"{target.name}: ")
                  else f"{target.name}: {exc.message}")


def _side_by_side(targets: Sequence[Target], work: Callable[[Target], T],
                  jobs: int) -> Outcomes[T]:
    turns = Turns([t.name for t in targets])
    bad_input: list[UsageError] = []

    def one(target: Target) -> T | CrossmatrixError | None:
        _TURNS.set(turns)
        try:
            if bad_input:  # the user's to fix first: the rest do not start
                return None
            try:
                return work(target)
            except UsageError as exc:
                bad_input.append(exc)
                return None
            except CrossmatrixError as exc:
                _said(target, exc)
                return exc
        finally:
            turns.over(target.name)

    outcomes: Outcomes[T] = Outcomes()
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="target")
    futures: list[Future[T | CrossmatrixError | None]] = [
        pool.submit(contextvars.copy_context().run, one, target) for target in targets]
    try:
        results = [future.result() for future in futures]
    except BaseException as exc:  # Ctrl-C, SIGTERM: end every target's children, then go
        for future in futures:
            future.cancel()
        proc.end_all(exc)
        pool.shutdown(wait=True, cancel_futures=True)
        proc.resume()
        raise
    pool.shutdown(wait=True)
    if bad_input:
        raise bad_input[0]
    for target, result in zip(targets, results, strict=True):
        if isinstance(result, CrossmatrixError):
            outcomes.failed.append((target, result))
        else:
            outcomes.done.append((target, result))  # type: ignore[arg-type]
    return outcomes
