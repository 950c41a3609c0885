"""What crossmatrix processes that died mid-way (SIGKILL, OOM, a lost runner) left behind:
the temporary folders and files each writer makes beside their final place, named with
its pid — and removing them (``inv clean``, and at the start of every run).

Where they are, with whose naming each match follows exactly:

    <cache>/tmp/.<triple>-<release>-<key>[-sysroot].<pid>.new/  a std build (std/sysroot.py;
                                                                or in $TMPDIR, /var/tmp)
    <cache>/wine/{run,test}/<triple>.<pid>/                  a wine run (platforms/windows.py)
    <cache>/wine/.shim-<triple>-<digest>.<pid>/              wine's shim (platforms/windows.py)
    <cache>/wrappers/.<script>.<pid>.tmp                     a script (util/scripts.py)
    <cache>/python-roots/.<arch>.<pid>.{new,old}/            a Python root (pymod/roots.py)
    <dist>/.<target>.<pid>.{new,old}/                        a package (steps/packaging.py)
    <dist>/<module>-bin/.<file>.<pid>.tmp, a link            a module's link (pymod/modules.py)
    beside <release>: .<release>.<pid>.{new,old}/            a merge (release/merge.py)
    <target dir>/crossmatrix/<build>/bin/.<bin>.<pid>.strip/ a strip (platforms/strip.py)

One is removed when no process has its pid any more, or when it is older than a day (its
pid may have gone to another process since; no crossmatrix writer takes a day). This
process's own are never touched, nor anything named or typed otherwise (a file where a
folder is made, a link where a file is). A ``.old`` folder whose final folder is missing
(killed between the two renames of ``atomic.replace_dir``) is that folder's last whole
version: it is kept, and said.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

from tooling.errors import CrossmatrixError
from tooling.matrix import workspace
from tooling.matrix.config import Project
from tooling.std import sysroot
from tooling.util import atomic, console

#: seconds after which a leftover goes whatever its pid (the pid may be another's by now)
MAX_AGE = 24 * 60 * 60

_PID = r"(?P<pid>[1-9][0-9]{0,9})"
_TRIPLE = r"[a-z0-9_]+(?:-[a-z0-9_]+)+"
#: std/sysroot.py: ``pid_sibling(base / entry.name, "new")`` (its work folder, ``base`` the
#: cache's tmp/ or the system's temporary folder) and ``pid_sibling(cache_dir / "tmp" /
#: f"{entry.name}-sysroot", "new")``, the entry named ``f"{triple}-{release}-{key[:16]}"``
_STD_BUILD = re.compile(rf"\.{_TRIPLE}-[0-9][^/]*-[0-9a-f]{{16}}(?:-sysroot)?\.{_PID}\.new")
#: platforms/windows.py: ``cache_dir / "wine" / kind / f"{target.triple}.{os.getpid()}"``
_WINE_RUN = re.compile(rf"{_TRIPLE}\.{_PID}")
#: platforms/windows.py: ``folder.with_name(f".{folder.name}.{os.getpid()}")`` for
#: ``cache_dir / "wine" / f"shim-{target.triple}-{digest[:10]}"``
_SHIM = re.compile(rf"\.shim-{_TRIPLE}-[0-9a-f]{{10}}\.{_PID}")

#: what a leftover is, as os.scandir tells it without following links
Kind = Literal["folder", "file", "link"]


@dataclass(frozen=True)
class Leftover:
    path: Path
    what: str  #: the work it was part of: "std build", "package", …
    pid: int
    age: float  #: seconds since it was last modified
    size: int  #: bytes of the files in it (a link: the link itself)
    remove: bool  #: whether it goes: see :func:`verdict`
    why: str  #: "process 123 is gone", "process 123 is running", …

    def describe(self) -> str:
        return f"{self.path} ({self.what}, {self.size:,} bytes; {self.why})"


@dataclass(frozen=True)
class _Place:
    folder: Path
    what: str
    kind: Kind
    #: a name → the pid in it, or None when the name is not this place's naming
    pid_of: Callable[[str], int | None]
    #: for a ``.old`` sibling: the final folder it was the previous version of
    final_of: Callable[[Path], Path | None] = lambda path: None


def _regex(pattern: re.Pattern[str]) -> Callable[[str], int | None]:
    def pid_of(name: str) -> int | None:
        found = pattern.fullmatch(name)
        return int(found["pid"]) if found else None
    return pid_of


def _sibling(suffixes: tuple[str, ...], final: str | None = None) -> Callable[[str], int | None]:
    """Names made by :func:`atomic.pid_sibling` with one of ``suffixes`` (for ``final``)."""
    def pid_of(name: str) -> int | None:
        parts = atomic.sibling_parts(name)
        if parts is None or parts[2] not in suffixes or (final and parts[0] != final):
            return None
        return parts[1]
    return pid_of


def _old_of(path: Path) -> Path | None:
    parts = atomic.sibling_parts(path.name)
    return path.with_name(parts[0]) if parts and parts[2] == "old" else None


def _subfolders(folder: Path) -> Iterator[Path]:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in sorted(entries, key=lambda e: e.name):
        if entry.is_dir(follow_symlinks=False):
            yield Path(entry.path)


def places(cache_dir: Path, dist: Path, *, target_dir: Path | None = None,
           merged: Sequence[Path] = ()) -> list[_Place]:
    """Every folder where crossmatrix's writers put their temporary work, with its naming."""
    found = [
        *(_Place(base, "std build", "folder", _regex(_STD_BUILD))
          for base in dict.fromkeys((cache_dir / "tmp", Path(tempfile.gettempdir()),
                                     sysroot.LAST_RESORT))),
        _Place(cache_dir / "wine" / "run", "wine run", "folder", _regex(_WINE_RUN)),
        _Place(cache_dir / "wine" / "test", "wine test run", "folder", _regex(_WINE_RUN)),
        _Place(cache_dir / "wine", "wine shim build", "folder", _regex(_SHIM)),
        _Place(cache_dir / "wrappers", "script", "file", _sibling(("tmp",))),
        _Place(cache_dir / "python-roots", "Python root", "folder",
               _sibling(("new", "old")), _old_of),
        _Place(dist, "package", "folder", _sibling(("new", "old")), _old_of),
    ]
    found += [_Place(layout, "module layout link", "link", _sibling(("tmp",)))
              for layout in _subfolders(dist) if layout.name.endswith("-bin")]
    found += [_Place(release.parent, "merge", "folder",
                     _sibling(("new", "old"), release.name), _old_of)
              for release in merged if release.name]
    if target_dir is not None:
        found += [_Place(build / "bin", "strip", "folder", _sibling(("strip",)))
                  for build in _subfolders(target_dir / "crossmatrix")]
    return found


def _kind(entry: os.DirEntry[str]) -> Kind | None:
    if entry.is_symlink():
        return "link"
    if entry.is_dir(follow_symlinks=False):
        return "folder"
    if entry.is_file(follow_symlinks=False):
        return "file"
    return None


def size_of(path: Path) -> int:
    """Bytes of the files under ``path`` (links and their targets not followed)."""
    try:
        if not path.is_dir() or path.is_symlink():
            return path.lstat().st_size
    except OSError:
        return 0
    total = 0
    for folder, _, files in os.walk(path, followlinks=False):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    return total


def verdict(pid: int, age: float, final: Path | None = None) -> tuple[bool, str]:
    """(whether it goes, why) for a leftover of process ``pid`` last modified ``age``
    seconds ago; ``final``: the folder a ``.old`` one was the previous version of."""
    if pid == os.getpid():
        return False, "this process's own"
    alive = atomic.process_alive(pid)
    if alive and age <= MAX_AGE:
        return False, f"process {pid} is running"
    if final is not None and not os.path.lexists(final):
        return False, (f"kept: {final.name} is missing and this is its last whole version; "
                       f"rename it back to {final}")
    if alive:
        return True, f"older than a day (pid {pid} now belongs to another process)"
    return True, f"process {pid} is gone"


def find(cache_dir: Path, dist: Path, *, target_dir: Path | None = None,
         merged: Sequence[Path] = ()) -> list[Leftover]:
    """The leftovers in those places, each with its verdict; sorted by path."""
    now = time.time()
    found: list[Leftover] = []
    for place in places(cache_dir, dist, target_dir=target_dir, merged=merged):
        try:
            entries = list(os.scandir(place.folder))
        except OSError:
            continue
        for entry in entries:
            pid = place.pid_of(entry.name)
            if pid is None or _kind(entry) != place.kind:
                continue
            path = Path(entry.path)
            try:
                age = now - entry.stat(follow_symlinks=False).st_mtime
            except OSError:  # gone meanwhile
                continue
            remove, why = verdict(pid, age, place.final_of(path))
            found.append(Leftover(path, place.what, pid, age, size_of(path), remove, why))
    return sorted(found, key=lambda left: str(left.path))


def _missing_ok(function: object, name: str,
                excinfo: tuple[type[BaseException], BaseException, TracebackType]) -> None:
    """rmtree's error handler: what another cleaner removed first is no error."""
    if not isinstance(excinfo[1], FileNotFoundError):
        raise excinfo[1]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, onerror=_missing_ok)
    else:
        path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Report:
    found: list[Leftover]
    removed: list[Leftover]  #: with ``dry_run``: what would be
    failed: list[Leftover]  #: could not be removed (said as a warning each)

    @property
    def size(self) -> int:
        return sum(left.size for left in self.removed)


def clean(cache_dir: Path, dist: Path, *, target_dir: Path | None = None,
          merged: Sequence[Path] = (), dry_run: bool = False, quiet: bool = False) -> Report:
    """Remove (``dry_run``: only list) the leftovers of dead processes in these places,
    saying each with its size; ``quiet``: say nothing of those of live processes."""
    found = find(cache_dir, dist, target_dir=target_dir, merged=merged)
    removed: list[Leftover] = []
    failed: list[Leftover] = []
    for left in found:
        if not left.remove:
            if left.why.startswith("kept:"):
                console.warn(f"clean: {left.path}: {left.why}")
            elif not quiet:
                console.info(f"clean: keeping {left.describe()}")
            continue
        if dry_run:
            console.info(f"clean: would remove {left.describe()}")
            removed.append(left)
            continue
        try:
            _remove(left.path)
        except OSError as exc:
            console.warn(f"clean: could not remove {left.path}: {exc.strerror or exc}")
            failed.append(left)
            continue
        console.info(f"clean: removed {left.describe()}")
        removed.append(left)
    return Report(found, removed, failed)


def target_dir(project: Project) -> Path | None:
    """The workspace's target folder, or None when cargo cannot say (said by the caller's
    next step anyway: every build asks cargo the same)."""
    try:
        return workspace.metadata(project.workspace).target_dir
    except CrossmatrixError:
        return None


def at_start(project: Project) -> Report:
    """Before a run: the leftovers of dead processes go, quietly unless there are some.
    What cannot be removed is only warned about; the run goes on."""
    return clean(project.cache_dir, project.dist, target_dir=target_dir(project), quiet=True)
