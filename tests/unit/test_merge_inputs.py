"""Hostile inputs to `crossmatrix merge`: dist folders a CI job may have made from anyone's
pull request. Each is made with the real packaging helpers, then bent one way, and merged
through the real console script: every one must be refused with one `error:` line (plus at
most a hint), a non-zero exit and no traceback, and the whole tmp tree (the inputs, the
files beside them, an --out that existed) must be byte-for-byte what it was: nothing
written, nothing left behind, nothing created outside --out."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.unit import fake_records
from tooling.errors import StepFailed, UsageError
from tooling.matrix.targets import by_name
from tooling.pymod import modules
from tooling.records.build_info import ArchiveInfo, BuildInfo
from tooling.release import merge
from tooling.util import archives, atomic

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECRET = b"-----BEGIN OPENSSH PRIVATE KEY-----\nnot really\n"


# --- honest inputs, made the way packaging makes them ---------------------------------------

def _part(dist: Path, name: str, payload: bytes) -> Path:
    """``dist/<name>``: archive, build_info.json and SHA256SUMS, as `inv package` writes."""
    folder = dist / name
    folder.mkdir(parents=True)
    binary = dist.parent / f"{name}-bin.stage"
    binary.write_bytes(payload)
    suffix = ".zip" if name.startswith("windows") else ".tar.gz"
    archive = folder / f"demo-0.1.0-{name}{suffix}"
    sha = archives.write_archive(archive, [("demo", binary, 0o755)], top_dir=f"demo-{name}",
                                 mtime=0)
    fake_records.build_info(
        name, archive=archive.name, archive_sha=sha,
        artifacts=(fake_records.artifact("demo", size=len(payload),
                                         sha256=atomic.sha256_file(binary)),),
    ).write(folder / "build_info.json")
    archives.write_sha256sums(folder, [archive, folder / "build_info.json"])
    return folder


def _module(dist: Path, target: str, payload: bytes) -> Path:
    """``dist/build-core-bin`` with a build for ``target``, as packaging lays it out."""
    source = dist.parent / f"{target}.so.stage"
    source.write_bytes(payload)
    modules.lay_out(dist, "build_core", by_name()[target], source, fake_records.verified(),
                    fake_records.ran())
    return dist / "build-core-bin"


def _honest(root: Path, machine: str = "a", target: str = "linux-x86_64-gnu") -> Path:
    dist = root / machine / "dist"
    _part(dist, target, target.encode())
    _module(dist, target, b"module for " + target.encode())
    return dist


def _reseal(folder: Path, *, leave_out: tuple[str, ...] = ()) -> None:
    """Make SHA256SUMS list every regular file of ``folder`` (but ``leave_out``), as an
    attacker who can write the whole input would."""
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()
             and p.name != "SHA256SUMS"
             and p.relative_to(folder).as_posix() not in leave_out]
    archives.write_sha256sums(folder, files)


def _edit_info(folder: Path, **changes: Any) -> None:
    info = BuildInfo.load(folder / "build_info.json")
    replace(info, **changes).write(folder / "build_info.json")
    _reseal(folder)


def _edit_layout(folder: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads((folder / "build_info.json").read_text())
    edit(data)
    (folder / "build_info.json").write_text(json.dumps(data))
    _reseal(folder)


def _archive(folder: Path) -> Path:
    return next(p for p in folder.iterdir() if p.name.endswith((".tar.gz", ".zip")))


def _secret(root: Path) -> Path:
    key = root / "home" / ".ssh" / "id_ed25519"
    key.parent.mkdir(parents=True)
    key.write_bytes(SECRET)
    return key


def _merge_args(*dists: Path, out: Path) -> list[str]:
    return ["--out", str(out), *(a for d in dists for a in ("--dir", str(d)))]


# --- the corpus: each makes its inputs under root, returns merge's arguments -------------

def archive_symlink_to_a_key_left_out_of_sums(root: Path) -> list[str]:
    dist = _honest(root)
    folder = dist / "linux-x86_64-gnu"
    archive = _archive(folder)
    archive.unlink()
    archive.symlink_to(_secret(root))
    _edit_info(folder, archive=ArchiveInfo(file=archive.name,
                                           sha256=hashlib.sha256(SECRET).hexdigest()))
    _reseal(folder, leave_out=(archive.name,))
    return _merge_args(dist, out=root / "release")


def archive_symlink_listed_in_sums(root: Path) -> list[str]:
    dist = _honest(root)
    folder = dist / "linux-x86_64-gnu"
    archive = _archive(folder)
    archive.unlink()
    archive.symlink_to(_secret(root))
    sha = hashlib.sha256(SECRET).hexdigest()
    _edit_info(folder, archive=ArchiveInfo(file=archive.name, sha256=sha))
    with (folder / "SHA256SUMS").open("a") as fh:
        fh.write(f"{sha}  {archive.name}\n")
    return _merge_args(dist, out=root / "release")


def module_so_left_out_of_sums(root: Path) -> list[str]:
    dist = _honest(root)
    _reseal(dist / "build-core-bin", leave_out=("linux-x64/build_core.so",))
    return _merge_args(dist, out=root / "release")


def unlisted_extra_file(root: Path) -> list[str]:
    dist = _honest(root)
    (dist / "linux-x86_64-gnu" / "notes.txt").write_text("extra\n")
    return _merge_args(dist, out=root / "release")


def listed_extra_file(root: Path) -> list[str]:
    dist = _honest(root)
    (dist / "linux-x86_64-gnu" / "notes.txt").write_text("extra\n")
    _reseal(dist / "linux-x86_64-gnu")
    return _merge_args(dist, out=root / "release")


def one_claimed_sha_different_bytes(root: Path) -> list[str]:
    """The second input claims the first one's sha256 for other bytes (listed for real)."""
    first = _honest(root, "a")
    second = root / "b" / "dist"
    folder = _part(second, "linux-x86_64-gnu", b"other bytes")
    claimed = BuildInfo.load(first / "linux-x86_64-gnu" / "build_info.json").archive
    _edit_info(folder, archive=claimed)
    return _merge_args(first, second, out=root / "release")


def same_archive_other_build_info(root: Path) -> list[str]:
    first = _honest(root, "a")
    second = root / "b" / "dist"
    shutil.copytree(first / "linux-x86_64-gnu", second / "linux-x86_64-gnu")
    _edit_info(second / "linux-x86_64-gnu", ran=True)
    return _merge_args(first, second, out=root / "release")


def name_escapes(root: Path) -> list[str]:
    dist = _honest(root)
    _edit_info(dist / "linux-x86_64-gnu", name="../../ESCAPED")
    return _merge_args(dist, out=root / "release")


def name_not_in_the_table(root: Path) -> list[str]:
    dist = _honest(root)
    folder = dist / "linux-x86_64-gnu"
    _edit_info(folder, name="linux-sparc")
    folder.rename(dist / "linux-sparc")
    return _merge_args(dist, out=root / "release")


def name_is_a_glob(root: Path) -> list[str]:
    dist = _honest(root)
    _edit_info(dist / "linux-x86_64-gnu", name="linux-x86_64-gn?")
    return _merge_args(dist, out=root / "release")


def folder_named_for_another_target(root: Path) -> list[str]:
    dist = _honest(root)
    (dist / "linux-x86_64-gnu").rename(dist / "linux-aarch64-gnu")
    return _merge_args(dist, out=root / "release")


def triple_of_another_target(root: Path) -> list[str]:
    dist = _honest(root)
    _edit_info(dist / "linux-x86_64-gnu", triple="aarch64-unknown-linux-gnu")
    return _merge_args(dist, out=root / "release")


def archive_name_escapes(root: Path) -> list[str]:
    dist = _honest(root)
    folder = dist / "linux-x86_64-gnu"
    info = BuildInfo.load(folder / "build_info.json")
    _edit_info(folder, archive=replace(info.archive, file="../../../x.tar.gz"))
    return _merge_args(dist, out=root / "release")


def archive_not_named_by_packaging(root: Path) -> list[str]:
    dist = _honest(root)
    folder = dist / "linux-x86_64-gnu"
    archive = _archive(folder)
    archive.rename(folder / "release.tar.gz")
    info = BuildInfo.load(folder / "build_info.json")
    _edit_info(folder, archive=replace(info.archive, file="release.tar.gz"))
    return _merge_args(dist, out=root / "release")


def module_name_escapes(root: Path) -> list[str]:
    dist = _honest(root)
    _edit_layout(dist / "build-core-bin", lambda d: d.update(module="../../../EVIL"))
    return _merge_args(dist, out=root / "release")


def module_platform_folder_of_another_target(root: Path) -> list[str]:
    dist = _honest(root)

    def edit(data: dict[str, Any]) -> None:
        data["builds"]["linux-x64"].update(target="linux-aarch64-gnu",
                                           triple="aarch64-unknown-linux-gnu")
    _edit_layout(dist / "build-core-bin", edit)
    return _merge_args(dist, out=root / "release")


def module_file_escapes(root: Path) -> list[str]:
    dist = _honest(root)
    _edit_layout(dist / "build-core-bin",
                 lambda d: d["builds"]["linux-x64"].update(file="../../../../x.so"))
    return _merge_args(dist, out=root / "release")


def module_target_not_in_the_table(root: Path) -> list[str]:
    dist = _honest(root)
    _edit_layout(dist / "build-core-bin",
                 lambda d: d["builds"]["linux-x64"].update(target="linux-sparc"))
    return _merge_args(dist, out=root / "release")


def module_stray_symlink(root: Path) -> list[str]:
    dist = _honest(root)
    (dist / "build-core-bin" / "linux-x64" / "id").symlink_to(_secret(root))
    return _merge_args(dist, out=root / "release")


def module_link_to_elsewhere(root: Path) -> list[str]:
    dist = _honest(root)
    link = dist / "build-core-bin" / "build_core.so"
    link.unlink(missing_ok=True)
    link.symlink_to(_secret(root))
    return _merge_args(dist, out=root / "release")


def module_link_made_a_file_of_other_bytes(root: Path) -> list[str]:
    dist = _honest(root)
    link = dist / "build-core-bin" / "build_core.so"
    link.unlink(missing_ok=True)
    link.write_bytes(b"not the build it stood for")
    return _merge_args(dist, out=root / "release")


def fifo_in_a_target_folder(root: Path) -> list[str]:
    dist = _honest(root)
    os.mkfifo(dist / "linux-x86_64-gnu" / "pipe")
    return _merge_args(dist, out=root / "release")


def fifo_as_build_info(root: Path) -> list[str]:
    dist = _honest(root)
    folder = dist / "linux-x86_64-gnu"
    (folder / "build_info.json").unlink()
    os.mkfifo(folder / "build_info.json")
    return _merge_args(dist, out=root / "release")


def symlinked_target_folder(root: Path) -> list[str]:
    elsewhere = _honest(root, "elsewhere")
    dist = root / "a" / "dist"
    dist.mkdir(parents=True)
    (dist / "linux-x86_64-gnu").symlink_to(elsewhere / "linux-x86_64-gnu")
    return _merge_args(dist, out=root / "release")


def sha256sums_is_a_symlink(root: Path) -> list[str]:
    dist = _honest(root)
    sums = dist / "linux-x86_64-gnu" / "SHA256SUMS"
    real = root / "sums"
    shutil.move(sums, real)
    sums.symlink_to(real)
    return _merge_args(dist, out=root / "release")


def sha256sums_names_a_parent(root: Path) -> list[str]:
    dist = _honest(root)
    with (dist / "linux-x86_64-gnu" / "SHA256SUMS").open("a") as fh:
        fh.write(f"{hashlib.sha256(SECRET).hexdigest()}  ../../home/.ssh/id_ed25519\n")
    _secret(root)
    return _merge_args(dist, out=root / "release")


def sha256sums_lists_a_name_twice(root: Path) -> list[str]:
    dist = _honest(root)
    sums = dist / "linux-x86_64-gnu" / "SHA256SUMS"
    line = sums.read_text().splitlines(keepends=True)[0]
    sums.write_text(sums.read_text() + line)
    return _merge_args(dist, out=root / "release")


def folder_inside_a_target_folder(root: Path) -> list[str]:
    dist = _honest(root)
    (dist / "linux-x86_64-gnu" / "more").mkdir()
    (dist / "linux-x86_64-gnu" / "more" / "x").write_text("x")
    _reseal(dist / "linux-x86_64-gnu")
    return _merge_args(dist, out=root / "release")


def out_is_a_folder_of_other_files(root: Path) -> list[str]:
    dist = _honest(root)
    out = root / "photos"
    out.mkdir()
    (out / "cat.jpg").write_bytes(b"\xff\xd8 not a release")
    return _merge_args(dist, out=out)


def out_is_a_dist_folder(root: Path) -> list[str]:
    dist = _honest(root)
    (dist / "release.json").write_text(json.dumps({"schema_version": 1, "targets": []}))
    return _merge_args(_honest(root, "b", "linux-aarch64-gnu"), out=dist)


def out_is_a_file(root: Path) -> list[str]:
    dist = _honest(root)
    (root / "notes").write_text("mine\n")
    return _merge_args(dist, out=root / "notes")


def out_is_a_symlink_to_a_release(root: Path) -> list[str]:
    dist = _honest(root)
    real = root / "real-release"
    real.mkdir()
    (real / "release.json").write_text(json.dumps(
        {"schema_version": 1, "project": "demo", "targets": []}))
    (root / "release").symlink_to(real)
    return _merge_args(dist, out=root / "release")


def out_holds_the_input(root: Path) -> list[str]:
    out = root / "release"
    dist = _honest(out)
    (out / "release.json").write_text(json.dumps(
        {"schema_version": 1, "project": "demo", "targets": []}))
    return _merge_args(dist, out=out)


#: (builder, text the error line must contain)
CASES: list[tuple[Callable[[Path], list[str]], str]] = [
    (archive_symlink_to_a_key_left_out_of_sums, "is a symlink"),
    (archive_symlink_listed_in_sums, "is a symlink"),
    (module_so_left_out_of_sums, "'linux-x64/build_core.so' is not listed in SHA256SUMS"),
    (unlisted_extra_file, "'notes.txt' is not listed in SHA256SUMS"),
    (listed_extra_file, "'notes.txt' is not a file packaging makes"),
    (one_claimed_sha_different_bytes, "build_info.json claims sha256"),
    (same_archive_other_build_info, "not the same build_info.json"),
    (name_escapes, "'../../ESCAPED' is not a target of the table"),
    (name_not_in_the_table, "'linux-sparc' is not a target of the table"),
    (name_is_a_glob, "'linux-x86_64-gn?' is not a target of the table"),
    (folder_named_for_another_target, "must be named linux-x86_64-gnu"),
    (triple_of_another_target, "the triple of linux-x86_64-gnu is"),
    (archive_name_escapes, "not '../../../x.tar.gz'"),
    (archive_not_named_by_packaging, "not 'release.tar.gz'"),
    (module_name_escapes, "module '../../../EVIL' is not a Python module name"),
    (module_platform_folder_of_another_target,
     "the platform of a build for linux-aarch64-gnu is 'linux-aarch64', not 'linux-x64'"),
    (module_file_escapes, "'linux-x64/build_core.so', not '../../../../x.so'"),
    (module_target_not_in_the_table, "target 'linux-sparc' is not in the target table"),
    (module_stray_symlink, "'linux-x64/id' is a symlink"),
    (module_link_to_elsewhere, "'build_core.so' is a symlink"),
    (module_link_made_a_file_of_other_bytes, "(nor a copy of a build of build_core)"),
    (fifo_in_a_target_folder, "'pipe' is not a regular file or a folder"),
    (fifo_as_build_info, "is not a regular file or a folder"),
    (symlinked_target_folder, "'linux-x86_64-gnu' is a symlink"),
    (sha256sums_is_a_symlink, "SHA256SUMS is a symlink"),
    (sha256sums_names_a_parent, "unsafe name '../../home/.ssh/id_ed25519'"),
    (sha256sums_lists_a_name_twice, "listed twice"),
    (folder_inside_a_target_folder, "'more' is a folder"),
    (out_is_a_folder_of_other_files, "is a folder that is not a release made by `inv merge`"),
    (out_is_a_dist_folder, "is a folder that is not a release made by `inv merge`"),
    (out_is_a_file, "is a file"),
    (out_is_a_symlink_to_a_release, "is a symlink"),
    (out_holds_the_input, "overlap"),
]


def _snapshot(root: Path) -> dict[str, str]:
    """Every entry under ``root``, none followed or opened unless a regular file."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(folder) / name
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                what = "link to " + os.readlink(path)
            elif stat.S_ISREG(mode):
                what = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                what = stat.filemode(mode)[0]
            found[str(path.relative_to(root))] = what
    return found


def _crossmatrix_merge(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "crossmatrix"), "--project", str(REPO), "merge",
                           "--partial", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, check=False)


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 15
    assert len({case[0].__name__ for case in CASES}) == len(CASES)


def test_honest_inputs_merge_through_the_same_door(tmp_path: Path) -> None:
    """The corpus's inputs before they are bent: merged, every file checked out."""
    root = tmp_path / "w" / "x" / "y" / "z"
    a, b = _honest(root, "a"), _honest(root, "b", "linux-aarch64-gnu")
    result = _crossmatrix_merge(_merge_args(a, b, out=root / "release"), tmp_path)
    assert result.returncode == 0, result.stderr
    release = root / "release"
    assert archives.check_sha256sums(release) == []
    assert archives.check_sha256sums(release / "linux-x86_64-gnu") == []
    assert archives.check_sha256sums(release / "build-core-bin") == []
    assert (release / "build-core-bin" / "linux-aarch64" / "build_core.so").read_bytes() == (
        b"module for linux-aarch64-gnu")
    before = _snapshot(release)
    again = _crossmatrix_merge(_merge_args(b, a, out=release), tmp_path)
    assert again.returncode == 0, again.stderr  # a release merge made is replaced
    assert _snapshot(release) == before
    assert sorted(p.name for p in root.iterdir()) == ["a", "b", "release"]


@pytest.mark.parametrize("case", CASES, ids=[case[0].__name__ for case in CASES])
def test_hostile_input_is_refused_in_one_line_and_leaves_all_as_it_was(
        case: tuple[Callable[[Path], list[str]], str], tmp_path: Path) -> None:
    build, needle = case
    # deep enough that the `..` of a hostile name still lands inside tmp_path, where the
    # snapshot sees it
    root = tmp_path / "w" / "x" / "y" / "z"
    args = build(root)
    before = _snapshot(tmp_path)
    result = _crossmatrix_merge(args, tmp_path)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr
    assert 1 <= len(lines) <= 2, lines
    assert lines[0].startswith("error: "), lines
    assert needle in lines[0], lines
    if len(lines) == 2:
        assert lines[1].startswith("  hint: "), lines
    assert _snapshot(tmp_path) == before
    assert SECRET.decode() not in result.stderr


# --- what the corpus cannot reach through a process: a file swapped after it was checked -----

@pytest.mark.parametrize("swapped", ["archive", "build_info.json", "module"])
def test_a_file_swapped_after_the_check_is_not_taken_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, swapped: str) -> None:
    dist = _honest(tmp_path)
    folder = dist / "linux-x86_64-gnu"
    victim = {"archive": _archive(folder), "build_info.json": folder / "build_info.json",
              "module": dist / "build-core-bin" / "linux-x64" / "build_core.so"}[swapped]
    checked = archives.check_folder

    def check_then_swap(path: Path, *args: Any) -> archives.Contents:
        contents = checked(path, *args)
        if path == victim.parent or path == victim.parent.parent:
            victim.write_bytes(b"swapped in after the check")
        return contents

    monkeypatch.setattr(archives, "check_folder", check_then_swap)
    before = _snapshot(tmp_path)
    with pytest.raises(StepFailed, match="changed while it was being merged"):
        merge.merge([dist], tmp_path / "out" / "release")
    after = _snapshot(tmp_path)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert changed == {str(victim.relative_to(tmp_path))}  # the swap itself, nothing more


def test_an_old_release_is_replaced_and_nothing_is_left_beside_it(tmp_path: Path) -> None:
    dist = _honest(tmp_path)
    merge.merge([dist], tmp_path / "release")
    (tmp_path / "release" / "stale").write_text("from an older merge")
    merge.merge([dist], tmp_path / "release")
    assert not (tmp_path / "release" / "stale").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "release"]


def test_out_refusals_come_before_reading_any_input(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    with pytest.raises(UsageError, match="not a release made by `inv merge`"):
        merge.merge([tmp_path / "nowhere"], tmp_path / "mine")


def test_a_link_an_upload_made_a_copy_of_is_taken_for_the_link(tmp_path: Path) -> None:
    """GitHub's upload-artifact follows links: the layout's link for the machine that made
    it arrives as an unlisted copy of the file; merge makes its own link instead."""
    dist = _honest(tmp_path)
    layout = dist / "build-core-bin"
    machine = layout / "linux-aarch64" / "build_core.so"
    machine.parent.mkdir()
    machine.write_bytes(b"an aarch64 build")

    def add_a_build(data: dict[str, Any]) -> None:
        data["builds"]["linux-aarch64"] = {
            **data["builds"]["linux-x64"], "file": "linux-aarch64/build_core.so",
            "target": "linux-aarch64-gnu", "triple": "aarch64-unknown-linux-gnu",
            "sha256": atomic.sha256_file(machine), "size": machine.stat().st_size}
    _edit_layout(layout, add_a_build)
    # made on an aarch64 machine, uploaded: its link is a copy now
    (layout / "build_core.so").unlink(missing_ok=True)
    shutil.copyfile(machine, layout / "build_core.so")
    merge.merge([dist], tmp_path / "release")
    made = tmp_path / "release" / "build-core-bin"
    assert archives.check_sha256sums(made) == []
    assert (made / "linux-aarch64" / "build_core.so").read_bytes() == b"an aarch64 build"
    if modules.host_platform() == "linux-x64":
        assert (made / "build_core.so").readlink() == Path("linux-x64/build_core.so")


def test_hidden_leftovers_in_a_dist_are_passed_by(tmp_path: Path) -> None:
    """A half-made `.NAME.PID.new` folder of a killed packaging run is not a target."""
    dist = _honest(tmp_path)
    shutil.copytree(dist / "linux-x86_64-gnu", dist / ".linux-x86_64-gnu.99.new")
    release = merge.merge([dist], tmp_path / "release")
    assert [t.name for t in release.targets] == ["linux-x86_64-gnu"]
