"""``inv deploy``: pick, check and install the right artifact for this machine, safely.

Layout under ``--dest``::

    releases/<target>-<sha12>/   one folder per installed artifact (extracted archive)
    current  -> releases/…       what runs
    previous -> releases/…       what ran before (for --rollback)

``current`` and ``previous`` are relative links (``releases/<name>``), written as such and
never computed from resolved paths, so they hold wherever ``--dest`` is reached from.

One deploy at a time per ``--dest`` (a lock file beside the links). ``build_info.json``
and the archive must both match ``SHA256SUMS``; the archive is read once into a private
copy that is hashed and then unpacked (files and folders only, see
:mod:`tooling.util.unpack`) into a new folder in ``releases/``, renamed into place when
whole. The new release is smoke-tested *before* anything points at it; only then is
``current`` switched (a new link renamed over the old one) and ``previous`` set. A
failure or an interrupt at any step (any exception, Ctrl-C included) puts ``current``
and ``previous`` back as they were; a process killed outright leaves ``current`` at the
old release or the new one, both whole, and the next deploy removes its leftovers.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from filelock import FileLock, Timeout

from tooling.errors import BadRecord, CrossmatrixError, StepFailed, UsageError
from tooling.matrix import host
from tooling.matrix.targets import Target, recorded, resolve
from tooling.platforms import platform_of, runner
from tooling.records.build_info import BuildInfo
from tooling.records.codec import ABSENT
from tooling.steps import manifest
from tooling.util import archives, atomic, console, unpack

#: inside each release: the artifact's build_info.json, the archive's sha256 and the
#: sha256 of every file unpacked (written last, so a folder that has it is whole)
MARKER = ".crossmatrix.json"
LOCK = ".deploy.lock"
RELEASES = "releases"


@dataclass(frozen=True)
class Artifact:
    name: str
    target: Target
    archive: Path
    sha256: str
    info: BuildInfo

    @property
    def built(self) -> str:
        epoch = self.info.source_date_epoch
        if not epoch:
            return "?"
        return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%d %H:%M")


def find(source: Path) -> list[Artifact]:
    """Artifacts in a dist/ or merged release folder, one target folder, or a folder of
    archives with a SHA256SUMS (and their build_info.json, if any): each build_info.json
    and each archive must be listed in its folder's SHA256SUMS, the former matching it."""
    if not source.exists():
        raise UsageError(f"--from {str(source)!r} does not exist",
                         "point --from at a dist/ folder made by `inv release`")
    folders, _ = manifest.dist_folders(source)
    found: list[Artifact] = []
    for folder in folders:
        sums = archives.read_sha256sums(folder)
        info = _checked_info(folder, sums)
        name = info.archive.file
        if "/" in name or "\\" in name or name in ("", ".", "..") or name.startswith("."):
            raise BadRecord(f"{folder / 'build_info.json'}: archive {name!r} is not the name "
                            "of a file in that folder; refusing it", BuildInfo.HINT)
        expected = sums.get(name)
        if expected is None:
            raise StepFailed(f"{folder}: {name} is not listed in SHA256SUMS",
                             "an artifact without a checksum is never installed")
        if info.archive.sha256.lower() != expected:
            raise StepFailed(f"{folder}: build_info.json and SHA256SUMS disagree on the "
                             f"sha256 of {name}; refusing it",
                             "the release folder was changed after packaging; fetch it again")
        found.append(Artifact(info.name, _target(info), folder / name, expected, info))
    if not found:
        raise UsageError(f"no artifacts in {source}",
                         "expected target folders with build_info.json (dist/ of `inv release`)")
    return found


def _target(info: BuildInfo) -> Target:
    """The target a release was built for: its name, or a project's named row (its name
    and triple); anything else is refused as an unknown target."""
    return recorded(info.name, info.triple) or resolve(info.name)[0]


def _checked_info(folder: Path, sums: dict[str, str]) -> BuildInfo:
    """``folder/build_info.json``, read once, its bytes matching SHA256SUMS."""
    path = folder / "build_info.json"
    listed = sums.get("build_info.json")
    if listed is None:
        raise StepFailed(f"{folder}: build_info.json is not listed in SHA256SUMS",
                         "a release whose record is unchecked is never installed; package "
                         "it again with this crossmatrix (`inv release`)")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadRecord(f"{path}: cannot be read ({exc.strerror})", BuildInfo.HINT) from None
    if hashlib.sha256(raw).hexdigest() != listed:
        raise StepFailed(f"{path}: does not match SHA256SUMS; refusing it",
                         "the release folder was changed or damaged after packaging; "
                         "fetch it again")
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError as exc:  # not JSON, or not UTF-8
        raise BadRecord(f"{path}: not a JSON file ({exc})", BuildInfo.HINT) from None
    return BuildInfo.from_json(data, source=str(path))


def fits(artifact: Artifact, host: host.Host) -> tuple[bool, str]:
    target = artifact.target
    return platform_of(target).fits_host(target, host, artifact.info.highest_glibc)


def _preferred(artifact: Artifact, host: host.Host | None) -> tuple[tuple[bool, ...], str]:
    target = artifact.target
    return platform_of(target).preference(target, host), artifact.name


def choose(artifacts: list[Artifact], host: host.Host) -> Artifact:
    """The best fit: a build for this userland's libc first, then a static one."""
    fitting = [a for a in artifacts if fits(a, host)[0]]
    if not fitting:
        reasons = "; ".join(f"{a.name}: {fits(a, host)[1]}" for a in artifacts)
        raise StepFailed(f"no artifact fits this machine ({host.describe()}): {reasons}",
                         "use --force-arch NAME to install one anyway")
    fitting.sort(key=lambda a: _preferred(a, host))
    return fitting[0]


def by_name(artifacts: list[Artifact], name: str) -> Artifact:
    for artifact in artifacts:
        if name in (artifact.name, artifact.target.triple):
            return artifact
    # "linux-x64" style names, as the target table spells them: the static build first
    matches = sorted((a for a in artifacts if a.target.platform_arch == name),
                     key=lambda a: _preferred(a, None))
    if matches:
        return matches[0]
    raise UsageError(f"no artifact named {name!r}",
                     f"available: {', '.join(sorted(a.name for a in artifacts))}")


# --- unpacking --------------------------------------------------------------------------

def unpack_into(artifact: Artifact, folder: Path) -> unpack.Unpacked:
    """Check ``artifact``'s archive against its sha256 and unpack it into ``folder``, which
    must not exist yet (it is made here, beside its temporary copy of the archive)."""
    with unpack.copy_checked(artifact.archive, artifact.sha256, folder.parent) as copy:
        folder.mkdir(mode=0o700)
        return unpack.unpack(copy, folder, artifact.archive.name)


def _marker(artifact: Artifact, files: dict[str, str]) -> dict[str, Any]:
    return {**artifact.info.to_json(), "sha256": artifact.sha256, "files": files}


def _intact(folder: Path, artifact: Artifact | None) -> bool:
    """Whether ``folder`` is a whole release (of ``artifact``, archive and build_info.json,
    if given): its marker reads and every file it lists is there, a regular file, with
    its sha256. (Any release an older crossmatrix installed counts, for --rollback; none
    is reused.)"""
    try:
        if not stat.S_ISDIR(folder.lstat().st_mode):
            return False
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(data, dict):
        return False
    files = data.get("files")
    if files is None and artifact is None and "sha256" in data:
        return True  # installed by a crossmatrix that kept no digests: taken as it is
    if not isinstance(files, dict):
        return False
    if artifact is not None and data != json.loads(json.dumps(_marker(artifact, files))):
        return False
    for name, digest in files.items():
        parts = PurePosixPath(str(name)).parts
        if not parts or parts[0] == "/" or ".." in parts:
            return False
        path = folder.joinpath(*parts)
        try:
            if not stat.S_ISREG(path.lstat().st_mode) or atomic.sha256_file(path) != digest:
                return False
        except OSError:
            return False
    return True


def _place(artifact: Artifact, releases: Path, linked: set[str]) -> tuple[str, bool]:
    """The release folder's name for ``artifact``, unpacked there unless a whole copy is
    already; and whether it was unpacked now. A folder ``current`` or ``previous`` names
    (``linked``) is never removed or replaced: if it is this artifact's but not whole,
    or holds another build_info.json, the new copy gets another name."""
    base = f"{artifact.name}-{artifact.sha256[:12]}"
    name, number = base, 1
    while os.path.lexists(releases / name):
        if _intact(releases / name, artifact):
            os.utime(releases / name)  # the newest, for --keep
            console.info(f"deploy: {name} is unpacked already and intact; not unpacking it "
                         "again")
            return name, False
        if name not in linked:
            break  # a leftover of no use: replaced below
        number += 1
        name = f"{base}-{number}"
    tmp = releases / f".{name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        done = unpack_into(artifact, tmp)
        if MARKER in done.files:
            raise unpack.Refused(f"{artifact.archive.name}: member {MARKER!r} is deploy's own "
                                 "record; refusing to extract it", "the archive is not one "
                                 "crossmatrix made")
        atomic.write_json(tmp / MARKER, _marker(artifact, done.files))
        tmp.chmod(0o755)
        unpack.sync_tree(tmp)
        atomic.replace_dir(tmp, releases / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return name, True


# --- links and leftovers -----------------------------------------------------------------

def _linked(dest: Path, link: str) -> str | None:
    """The folder of ``releases/`` that ``dest/link`` names, if it is there. Read from the
    link's text, never by resolving it (a link an older crossmatrix made through another
    path to the same folder still names ``releases/<name>`` at its end)."""
    try:
        text = os.readlink(dest / link)
    except OSError:
        return None
    parts = PurePosixPath(text).parts
    if len(parts) < 2 or parts[-2] != RELEASES or parts[-1] in ("..", "."):
        return None
    try:
        if not stat.S_ISDIR((dest / RELEASES / parts[-1]).lstat().st_mode):
            return None
    except OSError:
        return None
    return parts[-1]


def _point(dest: Path, link: str, release: str) -> None:
    """Make ``dest/link`` the relative link ``releases/<release>``, atomically."""
    atomic.point_link(dest / link, f"{RELEASES}/{release}")


def _links(dest: Path) -> dict[str, str | None]:
    """The text of ``current`` and ``previous`` (None: no link), to put them back."""
    found: dict[str, str | None] = {}
    for link in ("current", "previous"):
        try:
            found[link] = os.readlink(dest / link)
        except OSError:
            found[link] = None
    return found


def _restore(dest: Path, links: dict[str, str | None]) -> None:
    for link, text in links.items():
        if _links(dest)[link] == text:
            continue
        if text is None:
            (dest / link).unlink(missing_ok=True)
        else:
            atomic.point_link(dest / link, text)


@contextlib.contextmanager
def _os_errors(dest: Path) -> Iterator[None]:
    """An OSError before the links were touched (they are put back after one that comes
    later) as one line: --dest cannot be made, written, or has no room."""
    try:
        yield
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise StepFailed(f"cannot deploy to {dest}: {exc.strerror or exc}{where}; nothing "
                         "changed there", "check the permissions and free space of --dest"
                         ) from None


@contextlib.contextmanager
def _exclusive(dest: Path) -> Iterator[None]:
    """One deploy (or rollback) at a time per ``--dest``; a second one waits."""
    dest.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(dest / LOCK))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        console.info(f"deploy: another deploy to {dest} is running; waiting for it")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _clean_leftovers(dest: Path) -> None:
    """What a deploy killed outright left: half-unpacked and half-removed folders in
    ``releases/``, new links not yet renamed over ``current``/``previous``. Only called
    with the lock held, so no other deploy is using them."""
    for entry in (dest / RELEASES).iterdir():
        if entry.name.startswith("."):
            _remove(entry)
    for link in ("current", "previous"):
        for stale in dest.glob(f".{link}.*.tmp"):
            stale.unlink(missing_ok=True)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _discard(folder: Path) -> None:
    """Remove a release folder: renamed out of ``releases/<name>`` first, so a crash
    halfway leaves a leftover, never a half-removed release under its own name."""
    aside = folder.with_name(f".{folder.name}.{os.getpid()}.old")
    os.replace(folder, aside)
    shutil.rmtree(aside, ignore_errors=True)


# --- install, smoke test, rollback --------------------------------------------------------

def _binaries(release: Path, programs: list[str]) -> tuple[dict[str, Path], Path]:
    """The files beside the programs (in the archive's one top folder, if it has one) and
    that folder: regular files only; executable ones when no program is listed."""
    tops = [p for p in release.iterdir() if p.is_dir() and not p.is_symlink()]
    root = tops[0] if len(tops) == 1 else release
    found = {}
    for path in root.iterdir():
        if not stat.S_ISREG(path.lstat().st_mode):
            continue
        if programs or os.access(path, os.X_OK):
            found[path.name] = path
    return found, root


def _smoke_release(release: Path, dest: Path) -> list[str]:
    """Run every program of ``release`` with --version; each must exit 0, and print its own
    triple if it did in the release's smoke test (build_info.json's ``names_triple``; a
    build_info.json from before that was recorded: always). A program its build_info.json
    lists that is not there fails it, and so does one that cannot be started (no ELF
    interpreter, not this CPU's, a noexec mount)."""
    info = _installed(release / MARKER)
    target = _target(info)
    # programs only: a cdylib (a Python module) is loaded by its program, not run
    programs = sorted({a.name for a in info.artifacts if a.kind == "bin"})
    found, root = _binaries(release, programs)
    missing = [name for name in programs if name not in found]
    if missing:
        raise StepFailed(f"{', '.join(missing)}: listed in build_info.json but not a file "
                         f"in {root}", "the archive does not hold the programs its "
                         "build_info.json lists; package the release again")
    named = {a.name: a.run.names_triple for a in info.artifacts if a.kind == "bin"}
    lines = []
    for binary in [found[n] for n in programs] if programs else sorted(found.values()):
        try:
            result = runner.smoke(target, binary, ("--version",), dest)
            if named.get(binary.name, ABSENT) in (True, ABSENT):
                runner.require_triple(result, target, binary, (
                    "it printed it when the release was made (build_info.json): this is "
                    "not the program that was released; deploy the archive again"))
            lines.append(result.line)
        except StepFailed:
            raise
        except CrossmatrixError as exc:
            raise StepFailed(f"{binary.name} could not be run: {exc.message}",
                             exc.hint) from None
        except OSError as exc:
            raise StepFailed(f"{binary.name} could not be run: {exc.strerror or exc}",
                             "a build for another CPU or C library, or --dest on a noexec "
                             "mount") from None
    return lines


def smoke(dest: Path) -> list[str]:
    """The smoke test of what ``current`` names."""
    name = _linked(dest, "current")
    if name is None:
        raise StepFailed(f"nothing is installed at {dest}", "run `inv deploy --dest DIR` first")
    return _smoke_release(dest / RELEASES / name, dest)


def _installed(path: Path) -> BuildInfo:
    """What ``install`` wrote: the artifact's build_info.json, the archive's sha256 and the
    files' digests."""
    hint = "install it again with this crossmatrix (`inv deploy --dest DIR`)"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadRecord(f"{path}: cannot be read ({exc})", hint) from None
    if isinstance(data, dict):
        data.pop("sha256", None)
        data.pop("files", None)
    try:
        return BuildInfo.from_json(data, source=str(path))
    except BadRecord as bad:
        raise BadRecord(bad.message, hint) from None


def install(artifact: Artifact, dest: Path, *, can_run: bool, keep: int = 0) -> Path:
    """Install ``artifact`` at ``dest`` (see the module's docstring); ``keep`` > 0 then
    removes all but the ``keep`` newest releases (never ``current`` or ``previous``)."""
    if keep < 0:
        raise UsageError(f"--keep {keep} is not a number of releases",
                         "give 1 or more (0, the default, keeps them all)")
    dest = Path(os.path.abspath(dest))  # lexical: a --dest reached through a link stays so
    with _os_errors(dest), _exclusive(dest):
        releases = dest / RELEASES
        releases.mkdir(exist_ok=True)
        _clean_leftovers(dest)
        before, links = _linked(dest, "current"), _links(dest)
        linked = {n for n in (before, _linked(dest, "previous")) if n is not None}
        name, fresh = _place(artifact, releases, linked)
        release = releases / name
        try:
            if can_run:
                for line in _smoke_release(release, dest):
                    console.info(f"deploy: smoke test: {line}")
            else:
                console.warn(f"{artifact.name} cannot run on this machine; smoke test skipped")
            if name != before:
                _point(dest, "current", name)
                if before is not None:
                    _point(dest, "previous", before)
        except BaseException as exc:
            _restore(dest, links)
            if fresh and name not in (_linked(dest, "current"), _linked(dest, "previous")):
                _discard(release)
            kept = f"{before} is still current" if before else "nothing is installed"
            if isinstance(exc, StepFailed):
                raise StepFailed(f"smoke test of {artifact.name} failed: {exc.message}; "
                                 f"{kept}", exc.hint) from None
            if isinstance(exc, OSError):
                raise StepFailed(f"deploy of {artifact.name} to {dest} failed: "
                                 f"{exc.strerror or exc}; {kept}",
                                 "check the permissions and free space of --dest") from None
            console.info(f"deploy: stopped ({type(exc).__name__}); {kept}")
            raise
        if name == before:
            console.info(f"deploy: {artifact.name} ({name}) was current already")
        else:
            console.info(f"deploy: {artifact.name} → {dest / 'current'} ({name})")
        if keep:
            prune(dest, keep)
        return release


def prune(dest: Path, keep: int) -> list[str]:
    """Remove the releases beyond the ``keep`` newest (by when each was installed), never
    the ones ``current`` and ``previous`` name; return the names removed."""
    spare = {_linked(dest, "current"), _linked(dest, "previous")}
    folders = [p for p in (dest / RELEASES).iterdir()
               if not p.name.startswith(".") and stat.S_ISDIR(p.lstat().st_mode)]
    folders.sort(key=lambda p: (p.lstat().st_mtime_ns, p.name), reverse=True)
    removed = []
    for folder in folders[keep:]:
        if folder.name in spare:
            continue
        _discard(folder)
        removed.append(folder.name)
    if removed:
        console.info(f"deploy: removed {len(removed)} old release(s): {', '.join(removed)}")
    return removed


def rollback(dest: Path) -> Path:
    """Swap ``current`` and ``previous`` (the latter must name a whole release)."""
    dest = Path(os.path.abspath(dest))
    with _os_errors(dest), _exclusive(dest):
        now, before = _linked(dest, "current"), _linked(dest, "previous")
        if before is None or not _intact(dest / RELEASES / before, None):  # (any version)
            raise StepFailed(f"no previous version at {dest}", "nothing to roll back to")
        links = _links(dest)
        try:
            _point(dest, "current", before)
            if now is not None:
                _point(dest, "previous", now)
            else:
                (dest / "previous").unlink()
        except BaseException:
            _restore(dest, links)
            raise
        console.info(f"deploy: {dest / 'current'} → {before} (was {now})")
        return dest / RELEASES / before


def list_rows(artifacts: list[Artifact], host: host.Host) -> list[dict[str, Any]]:
    rows = []
    for a in sorted(artifacts, key=lambda x: x.name):
        ok, why = fits(a, host)
        rows.append({"name": a.name, "target": a.target.triple,
                     "size": a.archive.stat().st_size if a.archive.is_file() else 0,
                     "sha256": a.sha256, "built": a.built, "fits": ok, "why": why})
    return rows


def print_list(rows: list[dict[str, Any]], host: host.Host) -> None:
    from rich.table import Table

    table = Table(title=f"artifacts (this machine: {host.describe()})")
    for col in ("name", "target", "size", "sha256", "built", "fits here"):
        table.add_column(col)
    for r in rows:
        fit = "[green]yes[/]" if r["fits"] else f"[red]no[/]: {r['why']}"
        table.add_row(r["name"], r["target"], f"{r['size']:,}", r["sha256"][:16] + "…",
                      r["built"], fit)
    console.out().print(table)
