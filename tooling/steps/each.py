"""The one matrix loop: a piece of work for each target in turn, where one target's failure
does not stop the others (``inv release``, ``inv test`` and the nox sessions use it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from tooling.errors import CrossmatrixError, SomeTargetsFailed, UsageError
from tooling.matrix.targets import Target
from tooling.util import console

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


def each_target(targets: Sequence[Target], work: Callable[[Target], T]) -> Outcomes[T]:
    """``work(target)`` for each target. Bad input (UsageError) stops everything: it is the
    user's to fix, whatever target it surfaced in. A lone target's failure is raised as it
    is; with several, each failure is said when it happens and collected."""
    outcomes: Outcomes[T] = Outcomes()
    for target in targets:
        try:
            outcomes.done.append((target, work(target)))
        except UsageError:
            raise
        except CrossmatrixError as exc:
            if len(targets) == 1:
                raise
            console.error(exc.message if exc.message.startswith(f"{target.name}: ")
                          else f"{target.name}: {exc.message}")
            outcomes.failed.append((target, exc))
    return outcomes
