"""Invoke entry point: `inv --list`. All logic lives in the tooling package."""

from __future__ import annotations

import sys

from invoke.context import Context
from invoke.tasks import task

from tooling.cli.tasks import boundary, ns
from tooling.util import proc


@task(help={"quick": "one repetition each (a smoke run)", "only": "figures, e.g. P1,P4"})
@boundary
def bench(c: Context, quick: bool = False, only: str = "P1,P2,P3,P4") -> None:
    """Benchmarks side by side with cargo and cargo-zigbuild → docs/BENCHMARKS.md."""
    proc.run([sys.executable, "bench/bench.py", *(["--quick"] if quick else []), "--only", only],
             bound="build", capture=False)


ns.add_task(bench)

__all__ = ["ns"]
