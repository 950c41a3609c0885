"""Reproducible packaging: deterministic .tar.gz archives and SHA256SUMS files.

An archive built twice from the same inputs is byte-identical whatever the
working directory, umask, time zone, locale or the source files' own owners
and timestamps: entries are sorted, owner and group are 0 with empty names,
every entry carries the one ``mtime`` given (normally
:func:`source_date_epoch`), and the gzip header carries neither a time nor a
file name.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import io
import os
import re
import stat
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from tooling.errors import StepFailed, ToolMissing, UsageError
from tooling.util import atomic, proc

#: Name of the checksum file written beside the archives.
SHA256SUMS = "SHA256SUMS"

#: Largest SOURCE_DATE_EPOCH accepted: 9999-12-31T23:59:59Z.
_MAX_EPOCH = 253402300799

_DIR_MODE = 0o755
_DIGITS = re.compile(r"[0-9]+")
_SUM_LINE = re.compile(r"(?P<hex>[0-9a-fA-F]{64}) [ *](?P<name>.+)")


def source_date_epoch(project_root: Path) -> int:
    """The timestamp that goes into archives.

    ``SOURCE_DATE_EPOCH`` if set (an empty value counts as unset), else the
    commit time of ``HEAD`` in ``project_root``, else 0 (no git, not a
    repository, no commits yet).
    """
    value = os.environ.get("SOURCE_DATE_EPOCH", "")
    if value:
        if not _DIGITS.fullmatch(value) or int(value) > _MAX_EPOCH:
            raise UsageError(
                f"SOURCE_DATE_EPOCH={value!r} is not a timestamp (whole seconds since 1970)",
                "set it to the output of `date +%s` (or of `git log -1 --format=%ct`), or unset it",
            )
        return int(value)
    try:
        result = proc.run(
            ["git", "-C", str(project_root), "log", "-1", "--format=%ct"],
            bound="tool",
            check=False,
            echo=False,
        )
    except (ToolMissing, StepFailed):
        return 0
    text = result.stdout.strip()
    if not result.ok or not _DIGITS.fullmatch(text):
        return 0
    return int(text)


def _archive_parts(name: str, what: str) -> tuple[str, ...]:
    """The components of a relative POSIX path, or UsageError if it is not a safe one."""
    parts = tuple(name.split("/"))
    if "\\" in name or "\0" in name or any(p in ("", ".", "..") for p in parts):
        raise UsageError(f"{what} {name!r} is not a plain relative path")
    return parts


def _base_info(name: str, mode: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode = mode
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _open_regular(src: Path) -> BinaryIO:
    """Open ``src`` for reading; StepFailed unless it is a regular file (never blocks on a FIFO)."""
    try:
        fd = os.open(src, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise StepFailed(
            f"cannot package {src}: {exc.strerror or exc}",
            "build the target first, or fix the path in the packaging list",
        ) from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise StepFailed(f"cannot package {src}: not a regular file")
    return os.fdopen(fd, "rb")


def _plan_members(members: Sequence[tuple[str, Path, int]], top_dir: str,
                  mtime: int) -> tuple[dict[str, tuple[Path, int]], set[str]]:
    """Validate the members; return {full name: (source, mode)} and the directories implied."""
    top_parts = _archive_parts(top_dir, "archive top directory")
    if len(top_parts) != 1:
        raise UsageError(f"archive top directory {top_dir!r} must be a single path component")
    if isinstance(mtime, bool) or not isinstance(mtime, int) or mtime < 0:
        raise UsageError(f"archive mtime {mtime!r} is not a non-negative whole number")
    files: dict[str, tuple[Path, int]] = {}
    dirs: set[str] = {top_dir}
    for name, src, mode in members:
        parts = _archive_parts(name, "archive member")
        if not 0 <= mode <= 0o7777:
            raise UsageError(f"archive member {name!r} has invalid mode {mode:#o}")
        full = "/".join((top_dir, *parts))
        if full in files:
            raise UsageError(f"archive member {name!r} is listed twice")
        files[full] = (Path(src), mode)
        for depth in range(1, len(parts)):
            dirs.add("/".join((top_dir, *parts[:depth])))
    clash = sorted(dirs & files.keys())
    if clash:
        raise UsageError(f"archive member {clash[0]!r} is both a file and a directory")
    return files, dirs


def write_tar_gz(
    dest: Path,
    members: Sequence[tuple[str, Path, int]],
    *,
    top_dir: str,
    mtime: int,
) -> str:
    """Write a deterministic ``dest`` (.tar.gz) atomically; return its SHA-256 hex digest.

    ``members`` are ``(name inside top_dir, source file, mode)``. The archive
    holds a directory entry for ``top_dir`` (and for any directory a name
    implies), then the files, all sorted by name. Only the source files'
    contents are read: not their owner, mode or timestamps.
    """
    files, dirs = _plan_members(members, top_dir, mtime)
    entries = sorted([*files, *dirs])
    with (
        atomic.open_atomic(dest) as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
        tarfile.open(
            fileobj=gz, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8", errors="strict"
        ) as tar,
    ):
        for entry in entries:
            if entry in dirs:
                info = _base_info(entry, _DIR_MODE, mtime)
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
                continue
            src, mode = files[entry]
            with _open_regular(src) as fh:
                info = _base_info(entry, mode, mtime)
                info.type = tarfile.REGTYPE
                info.size = os.fstat(fh.fileno()).st_size
                tar.addfile(info, fh)
    return atomic.sha256_file(dest)


#: zip stores local time with 2-second steps from 1980; earlier times are clamped to it.
_ZIP_EPOCH = 315532800


def write_zip(
    dest: Path,
    members: Sequence[tuple[str, Path, int]],
    *,
    top_dir: str,
    mtime: int,
) -> str:
    """Write a deterministic ``dest`` (.zip) atomically; return its SHA-256 hex digest.

    The same members and rules as :func:`write_tar_gz`: sorted entries, the one
    ``mtime`` (as UTC, the way zip has no time zone), Unix modes, no owner, no extra
    fields, deflate level 9.
    """
    import time
    import zipfile

    files, dirs = _plan_members(members, top_dir, mtime)
    stamp = time.gmtime(max(mtime, _ZIP_EPOCH))[:6]

    def info(name: str, mode: int) -> zipfile.ZipInfo:
        entry = zipfile.ZipInfo(name, date_time=stamp)
        entry.create_system = 3  # Unix, so the mode bits below are read
        entry.external_attr = mode << 16
        return entry

    with atomic.open_atomic(dest) as raw, zipfile.ZipFile(raw, "w") as archive:
        for name in sorted([*files, *dirs]):
            if name in dirs:
                entry = info(name + "/", stat.S_IFDIR | _DIR_MODE)
                entry.external_attr |= 0x10  # MS-DOS directory flag
                archive.writestr(entry, b"")
                continue
            src, mode = files[name]
            with _open_regular(src) as fh:
                data = fh.read()
            entry = info(name, stat.S_IFREG | mode)
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, data, compresslevel=9)
    return atomic.sha256_file(dest)


def write_archive(dest: Path, members: Sequence[tuple[str, Path, int]], *, top_dir: str,
                  mtime: int) -> str:
    """.zip or .tar.gz, by ``dest``'s name."""
    writer = write_zip if dest.name.endswith(".zip") else write_tar_gz
    return writer(dest, members, top_dir=top_dir, mtime=mtime)


def _sums_name(directory: Path, file: Path) -> str:
    """``file``'s name relative to ``directory``, POSIX style; UsageError if outside."""
    base = Path(os.path.normpath(directory.absolute()))
    path = file if file.is_absolute() else directory / file
    path = Path(os.path.normpath(path.absolute()))
    try:
        rel = path.relative_to(base)
    except ValueError:
        message = f"{file} is not inside {directory}, so {SHA256SUMS} cannot list it"
        raise UsageError(message) from None
    name = rel.as_posix()
    if name == "." or any(c in name for c in "\\\n\r"):
        raise UsageError(f"{file!s} cannot be listed in {SHA256SUMS}: unsupported name {name!r}")
    return name


def write_sha256sums(directory: Path, files: Sequence[Path]) -> Path:
    """Write ``directory/SHA256SUMS`` in ``sha256sum -c`` format; return its path.

    ``files`` may be absolute or relative to ``directory`` and must lie inside
    it. Lines are sorted by name; a name given twice is listed once, and the
    SHA256SUMS file itself is never listed.
    """
    names = {_sums_name(directory, Path(f)) for f in files}
    names.discard(SHA256SUMS)
    lines = [f"{atomic.sha256_file(directory / name)}  {name}\n" for name in sorted(names)]
    out = directory / SHA256SUMS
    atomic.write_text(out, "".join(lines))
    return out


def read_sha256sums(directory: Path) -> dict[str, str]:
    """The well-formed lines of ``directory/SHA256SUMS`` as {name: hex}; none if it is absent."""
    try:
        text = (directory / SHA256SUMS).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    found = (_SUM_LINE.fullmatch(line) for line in text.splitlines())
    return {m["name"]: m["hex"].lower() for m in found if m}


def check_sha256sums(directory: Path) -> list[str]:
    """Verify ``directory/SHA256SUMS``; return one line per problem (empty means all good).

    Problems: a missing or unreadable SHA256SUMS, a malformed or empty one, a
    listed name that is not a plain relative path, a listed file that is
    missing or not a regular file, and a checksum that does not match.
    """
    sums = directory / SHA256SUMS
    try:
        text = sums.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return [f"{SHA256SUMS}: missing"]
    except UnicodeDecodeError:
        return [f"{SHA256SUMS}: not valid UTF-8"]
    except OSError as exc:
        return [f"{SHA256SUMS}: cannot read: {exc.strerror or exc}"]

    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        return [f"{SHA256SUMS}: no checksum lines"]

    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        match = _SUM_LINE.fullmatch(line)
        if match is None:
            problems.append(f"{SHA256SUMS} line {number}: malformed: {line!r}")
            continue
        name = match["name"]
        try:
            _archive_parts(name, "listed name")
        except UsageError:
            problems.append(f"{SHA256SUMS} line {number}: unsafe name {name!r}")
            continue
        path = directory / name
        try:
            if not stat.S_ISREG(path.stat().st_mode):
                problems.append(f"{name}: not a regular file")
                continue
            actual = atomic.sha256_file(path)
        except FileNotFoundError:
            problems.append(f"{name}: missing")
            continue
        except OSError as exc:
            problems.append(f"{name}: cannot read: {exc.strerror or exc}")
            continue
        if actual != match["hex"].lower():
            problems.append(f"{name}: checksum mismatch")
    return problems


@dataclass
class Contents:
    """What :func:`check_folder` found in a folder, none of it followed; names are
    relative POSIX paths."""

    #: every regular file but SHA256SUMS: its sha256, from its real bytes
    files: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)  #: the same files' sizes
    dirs: set[str] = field(default_factory=set)  #: every sub-folder
    links: dict[str, str] = field(default_factory=dict)  #: every symlink: what it points at
    #: the regular files not listed that the caller let by: their sha256, from their bytes
    unlisted: dict[str, str] = field(default_factory=dict)


def _problem(folder: Path, problem: str) -> StepFailed:
    return StepFailed(f"{folder}: {problem}",
                      "that folder was changed or damaged after packaging, or was not made by "
                      "`inv release`; rebuild it")


def open_nofollow(path: Path) -> io.BufferedReader:
    """Open ``path`` for reading without following a symlink in its last part; StepFailed
    unless it is a regular file (never blocks on a FIFO)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        what = "a symlink" if exc.errno == errno.ELOOP else f"unreadable: {exc.strerror or exc}"
        raise _problem(path.parent, f"{path.name} is {what}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise _problem(path.parent, f"{path.name} is not a regular file")
    return os.fdopen(fd, "rb")


def _parse_sums(folder: Path) -> dict[str, str]:
    """``folder/SHA256SUMS`` as {name: hex}; StepFailed at its first flaw."""
    if not os.path.lexists(folder / SHA256SUMS):
        raise _problem(folder, f"{SHA256SUMS}: missing")
    with open_nofollow(folder / SHA256SUMS) as fh:
        data = fh.read()
    try:
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise _problem(folder, f"{SHA256SUMS}: not valid UTF-8") from None
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise _problem(folder, f"{SHA256SUMS}: no checksum lines")
    listed: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        match = _SUM_LINE.fullmatch(line)
        if match is None:
            raise _problem(folder, f"{SHA256SUMS} line {number}: malformed: {line[:80]!r}")
        name = match["name"]
        try:
            _archive_parts(name, "listed name")
        except UsageError:
            raise _problem(folder, f"{SHA256SUMS} line {number}: unsafe name {name!r}") from None
        if name in listed or name == SHA256SUMS:
            raise _problem(folder, f"{SHA256SUMS} line {number}: {name!r} listed twice")
        listed[name] = match["hex"].lower()
    return listed


def _walk(folder: Path, prefix: str, found: Contents) -> None:
    with os.scandir(folder) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            name = prefix + entry.name
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISLNK(mode):
                found.links[name] = os.readlink(entry.path)
            elif stat.S_ISDIR(mode):
                found.dirs.add(name)
                _walk(Path(entry.path), name + "/", found)
            elif stat.S_ISREG(mode):
                found.files[name] = ""
            else:
                raise _problem(folder, f"{entry.name!r} is not a regular file or a folder")


def _digest(path: Path) -> tuple[str, int]:
    with open_nofollow(path) as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest(), os.fstat(fh.fileno()).st_size


def check_folder(folder: Path, may_be_unlisted: Callable[[str], bool] = lambda name: False,
                 ) -> Contents:
    """Every entry of ``folder``, walked without following anything: each regular file must
    be listed in its SHA256SUMS (and each listed name be a regular file), and is hashed
    from its real bytes, which must match. Symlinks are reported, not followed: callers
    refuse those they do not expect; so are the unlisted files ``may_be_unlisted`` lets
    by (hashed too), for callers to judge. StepFailed names the first problem."""
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            raise _problem(folder.parent, f"{folder.name} is not a folder")
        listed = _parse_sums(folder)
        found = Contents()
        _walk(folder, "", found)
    except OSError as exc:
        raise _problem(folder, f"cannot be read: {exc.strerror or exc}") from None
    found.files.pop(SHA256SUMS, None)
    for name in sorted(found.files):
        if name in listed:
            continue
        if not may_be_unlisted(name):
            raise _problem(folder, f"{name!r} is not listed in {SHA256SUMS}")
        del found.files[name]
        found.unlisted[name] = _digest(folder / name)[0]
    for name, expected in listed.items():
        if name in found.links:
            raise _problem(folder, f"{name} is a symlink")
        if name not in found.files:
            kind = "a folder" if name in found.dirs else "missing"
            raise _problem(folder, f"{name}: {kind}")
        actual, found.sizes[name] = _digest(folder / name)
        if actual != expected:
            raise _problem(folder, f"{name}: checksum mismatch")
        found.files[name] = actual
    return found


def _changed(src: Path) -> StepFailed:
    return StepFailed(f"{src} changed while it was being merged",
                      "something else is writing to that folder; merge again once it is done")


def read_checked(src: Path, sha256: str) -> bytes:
    """The bytes of ``src`` (not followed if a symlink), which must hash to ``sha256``."""
    with open_nofollow(src) as fh:
        data = fh.read()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise _changed(src)
    return data


def copy_checked(src: Path, dest: Path, sha256: str, mode: int) -> None:
    """Copy ``src`` (not followed if a symlink) to ``dest`` atomically, hashing the bytes as
    they are copied: unless they hash to ``sha256``, ``dest`` is not written (StepFailed).
    So a file swapped after it was checked is never what lands in ``dest``."""
    digest = hashlib.sha256()
    with open_nofollow(src) as fin, atomic.open_atomic(dest, mode) as fout:
        while chunk := fin.read(1 << 20):
            digest.update(chunk)
            fout.write(chunk)
        if digest.hexdigest() != sha256:
            raise _changed(src)
