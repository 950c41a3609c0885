"""The default view of a target's build: one line per finished group of steps, made from
the records the steps wrote (never recomputed)::

    linux-aarch64 compiled 6 binaries (12.3 s) · stripped 9.1 MB → 3.2 MB
    linux-aarch64 verified (static) · ran under qemu-aarch64
    linux-aarch64 packaged dist/linux-aarch64/edge-tools-0.1.0-….tar.gz sha256 ab12cd34ef56

Each line goes through :func:`tooling.util.console.progress` (the display a live view
replaces)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from tooling.errors import CrossmatrixError
from tooling.matrix.config import Project
from tooling.records.steps import Compiled, Packaged, Ran, Stripped, Verified
from tooling.steps.state import Build
from tooling.util import console, versions

#: which line a step's part goes on
GROUPS = {"install-targets": 0, "compile": 1, "strip": 1, "verify": 2, "run": 2, "package": 3}


def log_file(project: Project, name: str) -> Path:
    """``dist/logs/<target>.log``: everything one target's build said and ran."""
    return project.dist / "logs" / f"{name}.log"


def size(n: int) -> str:
    """A byte count the way people read it: 812 B, 14.2 kB, 3.1 MB."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def shown_path(path: str | Path) -> str:
    """``path`` relative to the current folder when it is under it."""
    try:
        return os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd()) \
            else str(path)
    except (OSError, ValueError):
        return str(path)


def _compiled(build: Build, seconds: float, result: object = None) -> str:
    n = len(build.load(Compiled, "compile").artifacts)
    return f"compiled {n} {'binary' if n == 1 else 'binaries'} ({seconds:.1f} s)"


def _stripped(build: Build, seconds: float, result: object = None) -> str:
    binaries = build.load(Stripped, "strip").binaries.values()
    before, after = sum(b.size_unstripped for b in binaries), sum(b.size for b in binaries)
    return f"stripped {size(before)} → {size(after)}"


def _verified(build: Build, seconds: float, result: object = None) -> str:
    # a one-off check against another glibc floor is not recorded: what it returned
    verified = result if isinstance(result, Verified) else build.load(Verified, "verify")
    binaries = verified.binaries.values()
    facts: list[str] = sorted({b.linkage for b in binaries})
    glibc = [b.highest_glibc for b in binaries if b.highest_glibc]
    if glibc:
        facts.append(f"GLIBC ≤ {max(glibc, key=versions.parse)}")
    return f"verified ({', '.join(facts)})" if facts else "verified"


def ran_text(ran: list[tuple[str, bool, str | None, str]]) -> str:
    """How the smoke tests went, from (kind, ran, runner, output) per binary: ``ran under
    qemu-aarch64``, ``ran 5 under qemu-aarch64, 1 not run``, or why none ran (a program's
    reason before a library's)."""
    runners = sorted({runner or "?" for _, did, runner, _ in ran if did})
    skipped = sorted((kind != "bin", output) for kind, did, _, output in ran if not did)
    if not runners:
        return skipped[0][1] if skipped else "nothing to run"
    under = f"ran under {', '.join(runners)}"
    if not skipped:
        return under
    return f"ran {len(ran) - len(skipped)} under {', '.join(runners)}, {len(skipped)} not run"


def _ran(build: Build, seconds: float, result: object = None) -> str:
    binaries = build.load(Ran, "run").binaries
    stripped = build.load(Stripped, "run").binaries
    return ran_text([(stripped[name].kind if name in stripped else "bin", b.ran, b.runner,
                      b.output) for name, b in binaries.items()])


def _packaged(build: Build, seconds: float, result: object = None) -> str:
    packaged = build.load(Packaged, "package")
    return f"packaged {shown_path(packaged.archive)} sha256 {packaged.sha256[:12]}"


PARTS: dict[str, Callable[[Build, float, object], str]] = {
    "compile": _compiled, "strip": _stripped, "verify": _verified, "run": _ran,
    "package": _packaged,
}


class Progress:
    """Collects the parts of one target's line and says it when its group is over."""

    def __init__(self, build: Build) -> None:
        self.build = build
        self.parts: list[str] = []
        self.group: int | None = None

    def done(self, step: str | None, seconds: float, result: object = None) -> None:
        """``step`` finished in ``seconds`` (``result``: what its function returned; a step
        given as a function, ``step`` None, is known by what it returned)."""
        if step is None:
            step = "verify" if isinstance(result, Verified) else None
            if step is None:
                return
        group = GROUPS.get(step)
        if group != self.group:
            self.flush()
            self.group = group
        part = None
        if step == "install-targets" and hasattr(result, "describe"):
            part = f"std: {result.describe()}"
        elif step in PARTS:
            try:
                part = PARTS[step](self.build, seconds, result)
            except CrossmatrixError:
                part = None  # no record to read (a step run on its own for a one-off check)
        if part:
            self.parts.append(part)

    def flush(self) -> None:
        if self.parts:
            console.progress(self.build.target.name, " · ".join(self.parts))
        self.parts = []
