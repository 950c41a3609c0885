"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Every writer here fills a temporary file *in the destination's directory*
(``.<name>.<random>.tmp``), flushes and fsyncs it, gives it an explicit mode
(not one that depends on the umask), and then moves it over the destination
with ``os.replace``. An exception removes the temporary file and leaves the old
destination untouched; a crash leaves at most a stray ``.tmp`` that
:func:`clean_stale_temps` removes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

StrPath = str | os.PathLike[str]

#: Mode given to files written by this module unless told otherwise.
DEFAULT_MODE = 0o644

_TEMP_PREFIX = "."
_TEMP_SUFFIX = ".tmp"
_CHUNK = 1 << 20


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable; best effort (not every OS can)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def open_atomic(path: StrPath, mode: int = DEFAULT_MODE) -> Iterator[IO[bytes]]:
    """Yield a binary file that replaces ``path`` when the ``with`` block ends cleanly.

    If the block raises, the temporary file is removed and ``path`` is untouched.
    """
    dest = Path(path)
    directory = dest.parent
    # Keep the temp name within NAME_MAX even for a long destination name.
    fd, tmp_name = tempfile.mkstemp(
        prefix=f"{_TEMP_PREFIX}{dest.name[:200]}.", suffix=_TEMP_SUFFIX, dir=directory
    )
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
            os.fchmod(fh.fileno(), mode)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(directory)


def write_bytes(path: StrPath, data: bytes, mode: int = DEFAULT_MODE) -> None:
    """Atomically make ``path`` contain exactly ``data``."""
    with open_atomic(path, mode) as fh:
        fh.write(data)


def write_text(path: StrPath, text: str, mode: int = DEFAULT_MODE) -> None:
    """Atomically write ``text`` as UTF-8, with no newline translation."""
    write_bytes(path, text.encode("utf-8"), mode)


def write_json(path: StrPath, obj: Any, mode: int = DEFAULT_MODE) -> None:
    """Atomically write ``obj`` as JSON: sorted keys, indent 2, UTF-8, trailing newline."""
    text = json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    write_text(path, text, mode)


def real_file(path: StrPath) -> Path:
    """Where a write to ``path`` lands: ``path`` itself, or the file its symlinks lead to
    (made absolute). FileNotFoundError for a link to nothing, OSError for a link loop."""
    dest = Path(path)
    if not dest.is_symlink():
        return dest
    try:
        return Path(os.path.realpath(dest, strict=True))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{dest} is a link to {os.readlink(dest)}, which does not exist") from None


def rewrite_text(path: StrPath, text: str, new_mode: int = DEFAULT_MODE) -> Path:
    """Atomically replace what the file at ``path`` says, as an editor saving it would: a
    symlink stays a link and the file it leads to gets the text (the temporary file made
    beside that one), and an existing file keeps its permission bits (a 0600 file stays
    0600); a new file gets ``new_mode``. Returns the file written."""
    real = real_file(path)
    try:
        mode = stat.S_IMODE(real.stat().st_mode)
    except FileNotFoundError:
        mode = new_mode
    write_text(real, text, mode)
    return real


def copy_file(src: StrPath, dest: StrPath, mode: int) -> None:
    """Atomically copy the contents of ``src`` to ``dest`` and give it ``mode``.

    Only the bytes are copied: not the owner, timestamps or extended attributes.
    """
    with open(src, "rb") as fin, open_atomic(dest, mode) as fout:
        shutil.copyfileobj(fin, fout, _CHUNK)


def sha256_file(path: StrPath) -> str:
    """The SHA-256 hex digest of the file at ``path``, read in chunks."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def clean_stale_temps(directory: StrPath, *, older_than: float = 0.0) -> list[Path]:
    """Remove the ``.*.tmp`` files a crashed writer left in ``directory``.

    ``older_than`` (seconds) spares temp files modified more recently than
    that, so a writer still running in another process is not disturbed.
    Returns the removed paths, sorted; a missing directory is not an error.
    """
    root = Path(directory)
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return []
    now = time.time()
    removed: list[Path] = []
    for entry in entries:
        name = entry.name
        if not (name.startswith(_TEMP_PREFIX) and name.endswith(_TEMP_SUFFIX)):
            continue
        if len(name) <= len(_TEMP_PREFIX) + len(_TEMP_SUFFIX):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if older_than > 0 and now - entry.stat(follow_symlinks=False).st_mtime < older_than:
                continue
            os.unlink(entry.path)
        except FileNotFoundError:
            continue
        removed.append(root / name)
    return sorted(removed)


_SIBLING = re.compile(r"\.(?P<final>.+)\.(?P<pid>[1-9][0-9]{0,9})\.(?P<suffix>[a-z]+)")


def pid_sibling(final: Path, suffix: str) -> Path:
    """``.<name>.<pid>.<suffix>`` beside ``final``: where this process makes what goes to
    ``final``. The pid in the name tells a dead process's leftover from a live one's."""
    return final.with_name(f".{final.name}.{os.getpid()}.{suffix}")


def sibling_parts(name: str) -> tuple[str, int, str] | None:
    """(the final name, the pid, the suffix) of a :func:`pid_sibling` name, else None."""
    found = _SIBLING.fullmatch(name)
    if found is None:
        return None
    return found["final"], int(found["pid"]), found["suffix"]


def clean_dead_leftovers(final: Path) -> list[Path]:
    """Remove ``.<name>.<pid>.new``/``.old`` folders beside ``final`` whose process is gone
    (killed between the two renames of :func:`replace_dir`); return what was removed."""
    removed = []
    for leftover in final.parent.glob(f".{final.name}.*"):
        parts = sibling_parts(leftover.name)
        if parts is None or parts[0] != final.name or parts[2] not in ("new", "old"):
            continue
        if parts[1] != os.getpid() and process_alive(parts[1]):
            continue
        shutil.rmtree(leftover, ignore_errors=True)
        removed.append(leftover)
    return removed


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:  # beyond any pid: no such process
        return False
    return True


def replace_dir(new: Path, final: Path) -> None:
    """Put the finished folder ``new`` where ``final`` is; a crash in between leaves
    either the old folder or the new one whole (the old one kept as ``.<name>.old``)."""
    old = pid_sibling(final, "old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(new, final)
    shutil.rmtree(old, ignore_errors=True)


def point_link(link: Path, to: StrPath) -> None:
    """Make ``link`` a symlink to ``to`` (as given: pass a relative path for a relative
    link) by renaming a new link over it, so readers see the old link or the new one.
    A crash in between leaves at most ``.<name>.<pid>.tmp`` beside it."""
    tmp = pid_sibling(link, "tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(to)
    try:
        os.replace(tmp, link)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(link.parent)
