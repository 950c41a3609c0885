"""``.cargo/config.toml`` round-trip: write the tool's keys, keep everything else byte for byte.

A key crossmatrix wrote carries the trailing comment ``# crossmatrix``; only
those keys are ever changed. A key the user wrote (no such comment) is left
alone and reported. Writing the same values twice changes nothing.

The file is rewritten the way an editor saves it: its permission bits are kept (a
0600 file stays 0600), and when it is a symlink (a config shared between checkouts,
a dotfiles manager) the link stays and the file it leads to gets the new text — the
file cargo reads is that one, so that is the one to change, and replacing the link
by a copy would silently fork it. A link to nothing is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.container import OutOfOrderTableProxy
from tomlkit.items import Table

from tooling.errors import ConfigError
from tooling.util import atomic, console

MARK = "crossmatrix"


def _owned(item: Any) -> bool:
    trivia = getattr(item, "trivia", None)
    return trivia is not None and (trivia.comment or "").strip() == f"# {MARK}"


def _plain(value: Any) -> Any:
    """TOML has arrays, not tuples: compare and write tuples as lists."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _same(item: Any, value: Any) -> bool:
    unwrapped = item.unwrap() if hasattr(item, "unwrap") else item
    return bool(unwrapped == _plain(value))


def check(path: Path) -> None:
    """Raise what :func:`update` would about the file as it is, writing nothing: a link
    to nothing, a folder in its place, unreadable text, invalid TOML."""
    _read(path)


def _read(path: Path) -> tuple[Path, str, tomlkit.TOMLDocument]:
    """The file to rewrite (``path`` or the file its links lead to), its text, parsed."""
    real = _real_file(path)
    try:
        text = real.read_text(encoding="utf-8") if real.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} cannot be read: {exc}",
                          "fix or remove it, then run `inv configure` again") from None
    try:
        doc = tomlkit.parse(text)
    except Exception as exc:  # tomlkit raises several parse error types
        raise ConfigError(f"{path} is not valid TOML: {exc}",
                          "fix or remove it, then run `inv configure` again") from exc
    return real, text, doc


def update(path: Path, settings: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Set ``[target.<triple>] key = value`` for each entry; return what changed.

    ``settings`` maps a triple to its keys (``linker``, ``runner``, ``rustflags``).
    """
    real, text, doc = _read(path)
    changes: list[str] = []
    if not settings:
        return changes
    target_table = doc.get("target")
    if target_table is None:
        target_table = tomlkit.table(is_super_table=True)
        doc["target"] = target_table
    if not isinstance(target_table, Table | OutOfOrderTableProxy):
        raise ConfigError(f"{path}: `target` must be a table")
    for triple, keys in settings.items():
        table = target_table.get(triple)
        if table is None:
            table = tomlkit.table()
            target_table[triple] = table
        if not isinstance(table, Table | OutOfOrderTableProxy):
            raise ConfigError(f"{path}: target.{triple} must be a table")
        for key, value in keys.items():
            if key in table:
                current = table[key]
                if not _owned(current):
                    if not _same(current, value):
                        console.warn(f"{path}: keeping your target.{triple}.{key}; "
                                     f"crossmatrix would set {value!r}")
                    continue
                if _same(current, value):
                    continue
            item = tomlkit.item(_plain(value))
            item.comment(MARK)
            table[key] = item
            changes.append(f"target.{triple}.{key} = {value!r}")
    new_text = tomlkit.dumps(doc)
    if new_text != text:
        real.parent.mkdir(parents=True, exist_ok=True)
        if real != path:
            console.info(f"configure: {path} is a link; writing the file it leads to, {real}")
        atomic.rewrite_text(real, new_text)
    return changes


def _real_file(path: Path) -> Path:
    """The file to read and rewrite: ``path``, or the file its symlinks lead to."""
    hint = "point the link at a file, or remove it; then run `inv configure` again"
    try:
        real = atomic.real_file(path)
    except FileNotFoundError as exc:
        raise ConfigError(str(exc), hint) from None
    except OSError as exc:
        raise ConfigError(f"{path} is a link that cannot be followed: {exc.strerror}",
                          hint) from None
    if real.exists() and not real.is_file():
        raise ConfigError(f"{path} is not a file", "remove it; `inv configure` writes a new one")
    return real
