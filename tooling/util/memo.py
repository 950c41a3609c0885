"""Remembered answers of slow probes (``rustc -vV``, ``rustup which``, ``cargo metadata``),
valid while the files they depend on keep their size and modification time.

A warm no-op build must not spend most of its time asking tools what they said
last time. Each entry lists the files it depends on with their (mtime, size); any
change, or any change of the listed environment variables, and it is asked again.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from tooling.util import atomic
from tooling.util.cachedir import default_cache_dir
from tooling.util.digests import digest

#: False inside :func:`read_only`: answers are used when remembered, never stored
_WRITE: contextvars.ContextVar[bool] = contextvars.ContextVar("memo_write", default=True)
#: inside :func:`held`: new answers wait here until kept
_HELD: contextvars.ContextVar[list[tuple[Path, dict[str, Any]]] | None] = \
    contextvars.ContextVar("memo_held", default=None)


@contextlib.contextmanager
def read_only() -> Iterator[None]:
    """Planning writes nothing, not even into this cache: remembered answers are used,
    new ones are asked for and not kept."""
    token = _WRITE.set(False)
    try:
        yield
    finally:
        _WRITE.reset(token)


@contextlib.contextmanager
def held() -> Iterator[Callable[[], None]]:
    """New answers asked inside are stored only when the ``keep()`` it gives is called: the
    probes of input that turns out bad (an unknown target) leave nothing in the cache."""
    pending: list[tuple[Path, dict[str, Any]]] = []
    token = _HELD.set(pending)

    def keep() -> None:
        for path, entry in pending:
            _write(path, entry)
        pending.clear()

    try:
        yield keep
    finally:
        _HELD.reset(token)


def _write(path: Path, entry: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_json(path, entry)
    except OSError:
        pass  # a read-only cache only costs time


def _store() -> Path:
    return default_cache_dir() / "memo"


def _stat(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size]


def remember(name: str, key: Iterable[str], files: Iterable[Path],
             compute: Callable[[], tuple[Any, Iterable[Path]]]) -> Any:
    """``compute()`` returns (value, more files it depends on); cached under ``name``+``key``."""
    key_list = [*key, *(f"{v}={os.environ.get(v, '')}" for v in ENV_KEYS)]
    path = _store() / f"{name}-{digest(key_list)[:20]}.json"
    try:
        entry = json.loads(path.read_text())
        if all(_stat(Path(f)) == st for f, st in entry["files"].items()):
            return entry["value"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    value, more = compute()
    if not _WRITE.get():
        return value
    deps = {str(f): _stat(Path(f)) for f in [*files, *more]}
    entry = {"files": deps, "value": value}
    pending = _HELD.get()
    if pending is not None:
        pending.append((path, entry))
    else:
        _write(path, entry)
    return value


#: Environment that changes what the probed tools answer.
ENV_KEYS = ("RUSTUP_TOOLCHAIN", "RUSTUP_HOME", "CARGO_HOME", "CARGO_TARGET_DIR",
            "CARGO_BUILD_TARGET_DIR", "PATH")


def ancestors_files(start: Path, names: Iterable[str]) -> list[Path]:
    """``names`` in ``start`` and every folder above it (present or not: appearing counts)."""
    wanted = list(names)
    return [folder / n for folder in (start, *start.parents) for n in wanted]
