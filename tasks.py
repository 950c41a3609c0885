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


@task(iterable=["target"],
      help={"only": "crates, e.g. sd,libz-sys (default: all of bench/corpus.toml)",
            "target": "a target (repeatable; default: the default matrix)"})
@boundary
def corpus(c: Context, only: str = "", target: list[str] | None = None) -> None:
    """Release real crates from crates.io with no settings → docs/CORPUS.md."""
    argv = [sys.executable, "bench/corpus.py", *(["--only", only] if only else [])]
    for name in target or []:
        argv += ["--target", name]
    proc.run(argv, bound="build", capture=False)


@task(help={"only": "comma-separated globs over triples, e.g. '*-linux-musl*' (default: all)",
            "budget": "seconds for the whole sweep (0: no limit)",
            "setup": "run `crossmatrix setup --target T` before each release",
            "redo": "release again the triples done by this version"})
@boundary
def sweep(c: Context, only: str = "", budget: int = 0, setup: bool = False,
          redo: bool = False) -> None:
    """Release a small program for every triple crossmatrix plans → docs/TARGETS.md."""
    argv = [sys.executable, "bench/targets.py", *(["--only", only] if only else []),
            *(["--budget", str(budget)] if budget else []), *(["--setup"] if setup else []),
            *(["--redo"] if redo else [])]
    proc.run(argv, bound="build", capture=False)


ns.add_task(bench)
ns.add_task(corpus)
ns.add_task(sweep)

__all__ = ["ns"]
