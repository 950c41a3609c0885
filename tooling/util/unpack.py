"""Unpacking a checked release archive: regular files and folders only, done here.

crossmatrix's archives (:func:`tooling.util.archives.write_tar_gz` and ``write_zip``) hold
folders and regular files and nothing else, so that is all this reader accepts. It does
not use ``tarfile``'s extraction filters (Python 3.11.2, Debian 12's own, has none) nor
``extractall``: it walks the members itself and refuses, with one line naming the
member, a symbolic or hard link, a device, a FIFO, a sparse or other special member, an
absolute name, a name with ``..`` (or ``.``, an empty part, a backslash, a NUL), a name
given twice, an encrypted zip member, more than :data:`MAX_MEMBERS` members, and more
than :data:`MAX_BYTES` of content (or of archive).

The archive is opened once: its bytes are copied into a private, already unlinked
temporary file while they are hashed, the digest is compared with the expected one, and
the members are read from that copy, so the file checked is the file unpacked whatever
happens to the path meanwhile. Members are written below a folder the caller has just
created, through directory file descriptors and ``O_NOFOLLOW``/``O_EXCL``, with modes of
this module's choosing (0755 or 0644, folders 0755): no link is ever followed or made,
nothing is chowned, no set-id bit survives.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import io
import os
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NoReturn, cast

from tooling.errors import StepFailed

#: Most members an archive may hold (folders included).
MAX_MEMBERS = 10_000
#: Most bytes of content all members together may hold; also the largest archive read.
MAX_BYTES = 4 << 30

_CHUNK = 1 << 20
_FILE_MODE, _EXEC_MODE, _DIR_MODE = 0o644, 0o755, 0o755
_NOT_OURS = "the archive is not one crossmatrix made (those hold only files and folders)"
_DAMAGED = "the archive is damaged; fetch or rebuild it"
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


class Refused(StepFailed):
    """An archive member (or the archive itself) that is not unpacked."""


@dataclass
class Unpacked:
    """What :func:`unpack` wrote: every file (relative POSIX name) and its sha256."""

    files: dict[str, str] = field(default_factory=dict)
    folders: set[str] = field(default_factory=set)
    size: int = 0


def copy_checked(archive: Path, sha256: str, scratch: Path) -> IO[bytes]:
    """A private copy of ``archive`` (an anonymous file in ``scratch``) whose sha256 is
    ``sha256``, positioned at its start; StepFailed if it does not match, is not a regular
    file, or is larger than :data:`MAX_BYTES`. The caller closes it."""
    try:
        fd = os.open(archive, _OPEN_FLAGS | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise StepFailed(f"{archive}: cannot be read ({exc.strerror or exc})",
                         "point --from at a release folder made by `inv release`") from None
    with os.fdopen(fd, "rb") as source:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Refused(f"{archive}: not a regular file; refusing to read it")
        copy = tempfile.TemporaryFile(dir=scratch)  # noqa: SIM115 (returned open)
        try:
            digest = hashlib.sha256()
            total = 0
            while chunk := source.read(_CHUNK):
                total += len(chunk)
                if total > MAX_BYTES:
                    raise Refused(f"{archive.name}: larger than {MAX_BYTES:,} bytes; "
                                  "refusing to read it", _NOT_OURS)
                digest.update(chunk)
                copy.write(chunk)
            actual = digest.hexdigest()
            if actual != sha256.lower():
                raise StepFailed(
                    f"{archive.name}: sha256 {actual[:16]}… does not match SHA256SUMS "
                    f"({sha256[:16]}…); refusing to install it",
                    "the archive was changed or damaged after release; fetch it again")
            copy.flush()
            copy.seek(0)
        except OSError as exc:
            copy.close()
            raise StepFailed(f"{archive.name}: cannot be read or copied into {scratch} "
                             f"({exc.strerror or exc})", "check the free space there") from None
        except BaseException:
            copy.close()
            raise
    return copy


def unpack(source: IO[bytes], into: Path, what: str) -> Unpacked:
    """Unpack the .tar.gz or .zip ``source`` (by its first bytes) into ``into``, a new empty
    folder; ``what`` names the archive in messages. Every member is checked before the
    first is written (a first pass reads only the headers); anything but files and
    folders is refused, and so is a member the second pass finds different."""
    head = source.read(4)
    source.seek(0)
    if head.startswith(_GZIP_MAGIC):
        walk = _unpack_tar
    elif head == _ZIP_MAGIC:
        walk = _unpack_zip
    else:
        raise Refused(f"{what}: neither a .tar.gz nor a .zip; refusing to extract it",
                      _NOT_OURS)
    try:
        walk(source, _Writer(None, what))  # checks only: nothing is written
        source.seek(0)
        writer = _Writer(os.open(into, _OPEN_FLAGS | _DIRECTORY | _NOFOLLOW), what)
        try:
            walk(source, writer)
        finally:
            writer.close()
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, gzip.BadGzipFile,
            UnicodeError) as exc:
        raise StepFailed(f"{what}: cannot be read ({exc})", _DAMAGED) from None
    except OSError as exc:
        raise StepFailed(f"{what}: cannot be extracted into {into} "
                         f"({exc.strerror or exc})", "check the free space and "
                         "permissions of --dest") from None
    return writer.done


# --- the formats ----------------------------------------------------------------------------

class _Capped(io.RawIOBase):
    """The decompressed stream, refused once it has given more than the members declared
    so far plus a little for their headers: a forged pax header cannot make ``tarfile``
    read (and hold) gigabytes."""

    def __init__(self, raw: gzip.GzipFile, writer: _Writer) -> None:
        super().__init__()
        self._raw = raw
        self._writer = writer
        self._given = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        allowed = self._writer.allowance() - self._given
        view = memoryview(buffer).cast("B")
        want = min(len(view), allowed + 1)
        data = self._raw.read(want) if want > 0 else b""
        if len(data) > allowed:
            raise Refused(f"{self._writer.what}: holds more than its members declare "
                          f"(over {self._writer.allowance():,} bytes); refusing to extract "
                          "it", _NOT_OURS)
        view[:len(data)] = data
        self._given += len(data)
        return len(data)


def _unpack_tar(source: IO[bytes], writer: _Writer) -> None:
    with gzip.GzipFile(fileobj=source, mode="rb") as gz, \
            tarfile.open(fileobj=cast(IO[bytes], io.BufferedReader(_Capped(gz, writer))),
                         mode="r|") as tar:
        for member in tar:
            name = member.name
            if member.type == tarfile.DIRTYPE:
                writer.folder(name)
            elif member.type in (tarfile.REGTYPE, tarfile.AREGTYPE) and member.sparse is None:
                writer.check_size(name, member.size)
                writer.file(name, member.mode, member.size,
                            functools.partial(_content, tar, member))
            else:
                writer.refuse(name, _tar_kind(member))


def _content(tar: tarfile.TarFile, member: tarfile.TarInfo) -> IO[bytes]:
    data = tar.extractfile(member)
    if data is None:  # never for a regular member
        raise Refused(f"member {member.name!r} has no content", _NOT_OURS)
    return data


def _tar_kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return f"a symbolic link (to {member.linkname!r})"
    if member.islnk():
        return f"a hard link (to {member.linkname!r})"
    if member.ischr() or member.isblk():
        return "a device"
    if member.isfifo():
        return "a FIFO"
    if member.issparse() or member.type == tarfile.GNUTYPE_SPARSE:
        return "a sparse file"
    return f"of tar type {member.type!r}"


def _unpack_zip(source: IO[bytes], writer: _Writer) -> None:
    with zipfile.ZipFile(source) as archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise Refused(f"{writer.what}: {len(infos):,} members, more than {MAX_MEMBERS:,}; "
                          "refusing to extract it", _NOT_OURS)
        declared = 0
        for info in infos:
            declared += max(info.file_size, 0)
            if declared > MAX_BYTES:
                writer.refuse(info.filename, f"beyond {MAX_BYTES:,} bytes of content")
        for info in infos:
            name = info.filename
            mode = info.external_attr >> 16 if info.create_system == 3 else 0
            kind = stat.S_IFMT(mode)
            if info.flag_bits & 0x1:
                writer.refuse(name, "encrypted")
            if kind == stat.S_IFLNK:
                writer.refuse(name, "a symbolic link")
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                writer.refuse(name, "a device, FIFO or socket")
            if info.is_dir() or kind == stat.S_IFDIR:
                if info.file_size:
                    writer.refuse(name, "a folder with content")
                writer.folder(name.removesuffix("/"))
                continue
            writer.check_size(name, info.file_size)
            writer.file(name, mode, info.file_size, functools.partial(archive.open, info))


# --- writing below the root, never through a link ---------------------------------------

class _Writer:
    """Checks each member and writes it below ``root``; with ``root`` None, only checks
    (the first pass): folders are then only remembered, file contents not read."""

    def __init__(self, root: int | None, what: str) -> None:
        self.what = what
        self.dry = root is None
        self.done = Unpacked()
        self._listed: set[str] = set()
        self._pending = 0
        self._dirs: dict[str, int] = {"": -1 if root is None else root}

    def close(self) -> None:
        for fd in self._dirs.values():
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._dirs.clear()

    def allowance(self) -> int:
        """How many bytes of tar stream the members seen so far may take: their content,
        a generous 16 KiB of headers each, and 1 MiB for the end of the archive."""
        return self.done.size + self._pending + (len(self._listed) + 1) * (16 << 10) + (1 << 20)

    def refuse(self, name: str, why: str) -> NoReturn:
        raise Refused(f"{self.what}: member {name!r} is {why}; refusing to extract it",
                      _NOT_OURS)

    def _parts(self, name: str) -> tuple[str, ...]:
        if len(self._listed) >= MAX_MEMBERS:
            raise Refused(f"{self.what}: more than {MAX_MEMBERS:,} members; refusing to "
                          "extract it", _NOT_OURS)
        if name.startswith("/"):
            self.refuse(name, "an absolute path")
        parts = tuple(name.split("/"))
        if ".." in parts:
            self.refuse(name, "a path with ..")
        if ("\\" in name or "\0" in name or any(p in ("", ".") for p in parts)
                or len(os.fsencode(name)) > 1024):
            self.refuse(name, "not a plain relative path")
        if name in self._listed:
            self.refuse(name, "listed twice")
        self._listed.add(name)
        return parts

    def check_size(self, name: str, size: int) -> None:
        if size < 0 or self.done.size + size > MAX_BYTES:
            self.refuse(name, f"{size:,} bytes, beyond {MAX_BYTES:,} bytes of content")
        self._pending = size

    def _parent(self, parts: tuple[str, ...]) -> int:
        """The open folder ``parts[:-1]``, made (0755) as needed, each step O_NOFOLLOW."""
        for depth in range(1, len(parts)):
            key = "/".join(parts[:depth])
            if key in self._dirs:
                continue
            if key in self.done.files:
                self.refuse("/".join(parts), f"inside {key!r}, which is a file")
            self._dirs[key] = self._mkdir(self._dirs["/".join(parts[:depth - 1])],
                                          parts[depth - 1])
            self.done.folders.add(key)
        return self._dirs["/".join(parts[:-1])]

    def _mkdir(self, parent: int, name: str) -> int:
        if self.dry:
            return -1
        os.mkdir(name, 0o700, dir_fd=parent)
        fd = os.open(name, _OPEN_FLAGS | _DIRECTORY | _NOFOLLOW, dir_fd=parent)
        os.fchmod(fd, _DIR_MODE)  # not what the umask left
        return fd

    def folder(self, name: str) -> None:
        parts = self._parts(name)
        if name in self.done.files:
            self.refuse(name, "both a file and a folder")
        parent = self._parent(parts)
        if name not in self._dirs:
            self._dirs[name] = self._mkdir(parent, parts[-1])
        self.done.folders.add(name)

    def file(self, name: str, mode: int, size: int, content: Callable[[], IO[bytes]]) -> None:
        parts = self._parts(name)
        if name in self._dirs:
            self.refuse(name, "both a folder and a file")
        parent = self._parent(parts)
        if self.dry:
            self.done.files[name] = ""
            self.done.size += size
            self._pending = 0
            return
        fd = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
                     | getattr(os, "O_CLOEXEC", 0), 0o600, dir_fd=parent)
        digest = hashlib.sha256()
        written = 0
        with os.fdopen(fd, "wb") as out, content() as data:
            while chunk := data.read(_CHUNK):
                written += len(chunk)
                if written > size:
                    raise StepFailed(f"{self.what}: member {name!r} holds more than the "
                                     f"{size:,} bytes it declares", _DAMAGED)
                digest.update(chunk)
                out.write(chunk)
            if written != size:
                raise StepFailed(f"{self.what}: member {name!r} is cut short", _DAMAGED)
            out.flush()
            os.fchmod(out.fileno(), _EXEC_MODE if mode & 0o111 else _FILE_MODE)
            os.fsync(out.fileno())
        self.done.files[name] = digest.hexdigest()
        self.done.size += size
        self._pending = 0


def sync_tree(root: Path) -> None:
    """fsync every folder below ``root`` (its files were synced as written), so a rename of
    ``root`` that follows is not durable before its contents are."""
    for folder in sorted({root, *(p for p in _walk(root))}, reverse=True):
        fd = os.open(folder, _OPEN_FLAGS | _DIRECTORY | _NOFOLLOW)
        try:
            with contextlib.suppress(OSError):
                os.fsync(fd)
        finally:
            os.close(fd)


def _walk(root: Path) -> Iterator[Path]:
    for entry in os.scandir(root):
        if entry.is_dir(follow_symlinks=False):
            path = Path(entry.path)
            yield path
            yield from _walk(path)
