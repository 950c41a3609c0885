"""Python extension modules (pyo3 cdylibs): imported here when they fit this Python, and
laid out as ``dist/<module>-bin/<platform-arch>/<module>.so`` (``.pyd`` on Windows) with
a ``build_info.json`` listing every build, a link for this machine and a loader."""

from __future__ import annotations

import json
import platform
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tooling.errors import BadRecord, StepFailed
from tooling.matrix.targets import Target, named
from tooling.platforms import PLATFORMS, platform_of
from tooling.pymod import roots
from tooling.records.layout import ModuleBuild, ModuleLayout
from tooling.records.steps import RanBinary, VerifiedBinary
from tooling.util import archives, atomic, console, proc

#: abi3-py39: the oldest CPython the modules load in (pyo3 0.30's oldest abi3)
MIN_PYTHON = (3, 9)

#: run by a fresh interpreter: import a module from a file and call its target()
IMPORT_SCRIPT = Path(__file__).with_name("pyimport.py")


def describe() -> str:
    return f"CPython {platform.python_version()} ({sys.executable})"


def cannot_import_here(target: Target) -> str | None:
    """Why this Python cannot import a module built for ``target`` (None: it can)."""
    if not target.runs_natively():
        return f"built for {target.platform_arch}; this Python runs on {host_platform()}"
    return platform_of(target).python_mismatch(target)


def importer(target: Target, cache_dir: Path) -> tuple[list[str], str] | None:
    """The Python that imports a module built for ``target`` here, as (argv, description):
    this one, or a Debian root of the target's architecture under qemu (None: neither)."""
    if cannot_import_here(target) is None:
        return [sys.executable], describe()
    root = roots.find(cache_dir, target)
    if root is None:
        return None
    return root.argv(target), root.describe(target)


def cannot_import(target: Target, cache_dir: Path) -> str | None:
    """Why no Python here can import a module built for ``target`` (None: one can)."""
    if importer(target, cache_dir) is not None:
        return None
    reason = cannot_import_here(target)
    if roots.wanted(target):
        reason = f"{reason}; `inv setup` makes a Python for {target.arch.deb_arch} to import it " \
                 f"under {target.arch.qemu}"
    return reason


def import_and_call(path: Path, module: str, target: Target,
                    python: Sequence[str] = (sys.executable,)) -> str:
    """Import ``path`` as ``module`` in a fresh interpreter and call its ``target()``."""
    res = proc.run([*python, str(IMPORT_SCRIPT), str(path), module], bound="run", check=False,
                   what=f"importing {module}")
    output = (res.stdout + res.stderr).strip()
    if not res.ok:
        last = output.splitlines()[-1] if output else f"exit {res.returncode}"
        raise StepFailed(f"{target.name}: importing {path.name} as {module} failed: {last}")
    line = output.splitlines()[-1]
    said = line.partition("target() = ")[2]
    if said and said != target.triple:
        raise StepFailed(f"{target.name}: {module}.target() says {said}, not {target.triple}")
    return line


#: how a layout's folder name ends
LAYOUT_SUFFIX = "-bin"


def folder_name(module: str) -> str:
    """``build_core`` → ``build-core-bin`` (the RMM Builder layout)."""
    return module.replace("_", "-") + LAYOUT_SUFFIX


def may_be_link_copy(name: str) -> bool:
    """An unlisted file of a layout that may be the link for the machine that made it
    (``<module>.so``), made a copy of the file it points at by a CI upload (GitHub's
    upload-artifact follows links): :func:`check_layout` takes it only if it is one."""
    return "/" not in name and name.endswith(tuple({p.module_suffix for p in PLATFORMS.values()}))


def file_name(module: str, target: Target) -> str:
    return module + platform_of(target).module_suffix


def host_platform() -> str:
    # startup time: the loader's own module is only needed once a layout is written
    from tooling.pymod import pyloader

    return pyloader.this_platform()


def lay_out(dist: Path, module: str, target: Target, source: Path,
            verified: VerifiedBinary, ran: RanBinary) -> Path:
    """Put ``source`` at ``<dist>/<module>-bin/<platform-arch>/<module>.so|.pyd``, record it
    in that folder's ``build_info.json`` and refresh the link and the loader. Other
    targets' processes may do the same at once: a lock keeps build_info whole."""
    from filelock import FileLock

    root = dist / folder_name(module)
    root.mkdir(parents=True, exist_ok=True)
    dest = root / target.platform_arch / file_name(module, target)
    with FileLock(str(root.parent / f".{root.name}.lock")):
        try:
            builds = dict(ModuleLayout.load(root / "build_info.json").builds)
        except BadRecord:  # none yet, or one this crossmatrix does not read: made anew
            builds = {}
        previous = builds.get(target.platform_arch)
        if previous and previous.target != target.name:
            console.warn(f"{target.name}: replaces the {target.platform_arch} build of "
                         f"{module} made for {previous.target}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        atomic.copy_file(source, dest, 0o755)
        builds[target.platform_arch] = ModuleBuild(
            file=f"{target.platform_arch}/{dest.name}",
            target=target.name,
            triple=target.triple,
            sha256=atomic.sha256_file(dest),
            size=dest.stat().st_size,
            abi=f"abi3 (CPython >= {'.'.join(map(str, MIN_PYTHON))})",
            min_python=MIN_PYTHON,
            highest_glibc=verified.highest_glibc,
            verified=verified.ok,
            imported=ran.ran,
            imported_by=ran.runner if ran.ran else None,
            check=ran.output,
        )
        _write_layout(root, module, builds)
    return dest


def is_layout(folder: Path) -> bool:
    """A ``<module>-bin`` folder (its build_info.json lists builds), not a target's."""
    try:
        info = json.loads((folder / "build_info.json").read_text())
    except (OSError, ValueError):
        return False
    return is_layout_data(info)


def is_layout_data(info: object) -> bool:
    """Parsed JSON of a ``<module>-bin`` folder's build_info.json, not a target's."""
    return isinstance(info, dict) and "builds" in info and "module" in info


def _write_layout(root: Path, module: str, builds: Mapping[str, ModuleBuild]) -> None:
    """build_info.json, the link for this machine, the loader and a SHA256SUMS of the
    files (the link is not listed: it is not a file of its own)."""
    ModuleLayout(module=module, builds=dict(sorted(builds.items()))).write(
        root / "build_info.json")
    _link_for_this_machine(root, module, builds)
    _write_loader(root, module)
    archives.write_sha256sums(root, [root / "build_info.json", root / f"{module}_loader.py",
                                    *(root / b.file for b in builds.values())])


#: a module name pyo3 can give (a Rust identifier): it names folders and files
MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _not_a_layout(folder: Path, problem: str) -> StepFailed:
    return StepFailed(f"{folder}: {problem}",
                      "that module layout was changed or not made by `inv release`; "
                      "package those targets again")


def check_layout(folder: Path, layout: ModuleLayout, contents: archives.Contents) -> None:
    """StepFailed unless ``folder`` (checked against its SHA256SUMS: ``contents``) is the
    layout ``layout`` describes and nothing else: a module name pyo3 gives, the folder
    named for it, each build a target of the table at its platform folder and file name,
    its sha256 and size those of the listed file, no file or folder more; the one symlink
    allowed is the link for the machine that made it, or a copy of the file it points at
    (not taken in either way: merge makes its own link)."""
    module = layout.module
    if not MODULE_NAME.fullmatch(module):
        raise _not_a_layout(folder, f"build_info.json: module {module!r} is not a Python "
                                    "module name")
    if folder.name != folder_name(module):
        raise _not_a_layout(folder, f"a layout of {module} is named {folder_name(module)}, "
                                    f"not {folder.name!r}")
    built: set[str] = set()
    for arch, build in sorted(layout.builds.items()):
        target = named(build.target)
        where = f"build_info.json: builds[{arch!r}]"
        if target is None:
            raise _not_a_layout(folder, f"{where}: target {build.target!r} is not in the "
                                        "target table")
        wanted = {"platform": (arch, target.platform_arch),
                  "triple": (build.triple, target.triple),
                  "file": (build.file, f"{target.platform_arch}/{file_name(module, target)}")}
        for field, (got, want) in wanted.items():
            if got != want:
                raise _not_a_layout(folder, f"{where}: the {field} of a build for "
                                            f"{target.name} is {want!r}, not {got!r}")
        if build.file not in contents.files:
            raise _not_a_layout(folder, f"{build.file} is not listed in {archives.SHA256SUMS}")
        if (contents.files[build.file], contents.sizes[build.file]) != (build.sha256,
                                                                        build.size):
            raise _not_a_layout(folder, f"{where}: the sha256 or size of {build.file} is not "
                                        f"that of the file {archives.SHA256SUMS} lists")
        built.add(build.file)
    files = {"build_info.json", f"{module}_loader.py", *built}
    odd = sorted(set(contents.files) ^ files) or sorted(
        contents.dirs - {Path(f).parent.as_posix() for f in files})
    if odd:
        state = "missing" if odd[0] in files else f"not part of a {module} layout"
        raise _not_a_layout(folder, f"{odd[0]!r}: {state}")
    for name, points_at in sorted(contents.links.items()):
        if points_at not in built or Path(points_at).name != name:
            raise _not_a_layout(folder, f"{name!r} is a symlink (to {points_at!r}), not the "
                                        f"link of {module} for one of its builds")
    for name, sha in sorted(contents.unlisted.items()):
        if not any(Path(f).name == name and contents.files[f] == sha for f in built):
            raise _not_a_layout(folder, f"{name!r} is not listed in {archives.SHA256SUMS} "
                                        f"(nor a copy of a build of {module})")


def merge_layouts(layouts: Sequence[tuple[Path, ModuleLayout]], into: Path) -> list[Path]:
    """``<module>-bin`` folders from several machines, each passed by :func:`check_layout`,
    → one per module in ``into``, with every build; the same platform-arch built twice
    differently is refused. Each file is copied from the bytes it is hashed from. Returns
    the files written, for the release's SHA256SUMS."""
    by_module: dict[str, dict[str, tuple[Path, ModuleBuild]]] = {}
    for folder, info in layouts:
        builds = by_module.setdefault(info.module, {})
        for arch, build in info.builds.items():
            seen = builds.get(arch)
            if seen is not None and seen[1] != build:
                raise StepFailed(
                    f"two different {info.module} builds for {arch}: {seen[0]} and {folder}",
                    "merge only one build of each target")
            builds[arch] = (folder, build)
    written: list[Path] = []
    for module, builds in sorted(by_module.items()):
        root = into / folder_name(module)
        for arch, (folder, build) in sorted(builds.items()):
            (root / arch).mkdir(parents=True, exist_ok=True)
            archives.copy_checked(folder / build.file, root / build.file, build.sha256, 0o755)
        _write_layout(root, module, {arch: build for arch, (_, build) in builds.items()})
        written += [root / "build_info.json", root / f"{module}_loader.py", root / "SHA256SUMS",
                    *(root / b.file for _, b in builds.values())]
    return written


def _link_for_this_machine(root: Path, module: str, builds: Mapping[str, ModuleBuild]) -> None:
    """``<module>.so`` beside the folders: a relative link to this machine's build, for
    code that imports it from the folder directly (the compatibility path)."""
    here = builds.get(host_platform())
    if here is None:
        return
    atomic.point_link(root / Path(here.file).name, here.file)


def _write_loader(root: Path, module: str) -> None:
    template = (Path(__file__).parent / "pyloader.py").read_text()
    text = template.replace('MODULE = "build_core"', f"MODULE = {module!r}", 1)
    atomic.write_text(root / f"{module}_loader.py", text)
