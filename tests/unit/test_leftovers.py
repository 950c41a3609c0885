"""tooling.steps.leftovers and ``clean``: what killed crossmatrix processes leave behind,
removed only when that process is gone (or the leftover is a day old), never a live one's,
never anything named otherwise. Real folders in tmp_path, named by the real naming code
(``atomic.pid_sibling`` run as the dead process) or, for the std build, wine and its shim,
the same expression as their writers with the real entry and folder names."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tooling.matrix import workspace
from tooling.matrix.config import Project
from tooling.matrix.targets import by_name
from tooling.platforms import windows
from tooling.std import compiler
from tooling.steps import cargo_test, leftovers, pipeline
from tooling.util import atomic

BIN = Path(sys.executable).parent
WINDOWS = by_name()["windows-x86_64"]
MUSL = by_name()["linux-x86_64"]
COMPILER = compiler.Compiler(kind="rustup", rustc=Path("/x/rustc"), cargo=Path("/x/cargo"),
                             release="1.96.0", commit_hash="0" * 40,
                             host="x86_64-unknown-linux-gnu", sysroot=Path("/x"),
                             verbose_version="rustc 1.96.0")


def dead_pid() -> int:
    """The pid of a process that ran and was reaped: no process has it now."""
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    assert not atomic.process_alive(child.pid)
    return child.pid


@contextlib.contextmanager
def running_as(pid: int) -> Iterator[None]:
    """The real naming code, as if run by the process ``pid``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "getpid", lambda: pid)
        yield


class Tree:
    """A project's cache, dist, merged release and target folder, with leftovers in them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cache = root / "cache"
        self.dist = root / "project" / "dist"
        self.release = root / "project" / "release"
        self.target_dir = root / "project" / "target"
        self.build = self.target_dir / "crossmatrix" / "linux-x86_64"
        for final in (self.dist / "linux-x86_64", self.release, self.build / "bin",
                      self.dist / "build-core-bin", self.cache / "python-roots" / "arm64"):
            final.mkdir(parents=True, exist_ok=True)

    def clean(self, **kwargs: Any) -> leftovers.Report:
        return leftovers.clean(self.cache, self.dist, target_dir=self.target_dir,
                               merged=[self.release], **kwargs)

    def leftovers_of(self, pid: int) -> list[Path]:
        """One of each kind crossmatrix makes, as process ``pid`` names them."""
        std = f"{MUSL.triple}-1.96.0-0123456789abcdef"  # sysroot.entry_dir's naming
        shim = hashlib.sha256(windows.SHIM_SOURCE.encode()).hexdigest()[:10]
        folders = [
            self.cache / "wine" / "run" / f"{WINDOWS.triple}.{pid}",  # windows.run
            self.cache / "wine" / "test" / f"{WINDOWS.triple}.{pid}",
            self.cache / "wine" / f".shim-{WINDOWS.triple}-{shim}.{pid}",  # windows.shim
        ]
        with running_as(pid):
            folders += [
                atomic.pid_sibling(self.cache / "tmp" / std, "new"),  # std/sysroot.py's work
                atomic.pid_sibling(self.cache / "tmp" / f"{std}-sysroot", "new"),
                atomic.pid_sibling(self.cache / "python-roots" / "arm64", "new"),
                atomic.pid_sibling(self.dist / "linux-x86_64", "new"),
                atomic.pid_sibling(self.dist / "linux-x86_64", "old"),
                atomic.pid_sibling(self.release, "new"),
                atomic.pid_sibling(self.build / "bin" / "edge-agent", "strip"),
            ]
            script = atomic.pid_sibling(self.cache / "wrappers" / "zigcc-x-0123456789", "tmp")
            link = atomic.pid_sibling(self.dist / "build-core-bin" / "build_core.so", "tmp")
        for folder in folders:
            folder.mkdir(parents=True)
            (folder / "part").write_bytes(b"x" * 1000)
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text("#!/bin/sh\n")
        link.symlink_to("linux-x64/build_core.so")
        return sorted([*folders, script, link])

    def lookalikes(self, pid: int) -> list[Path]:
        """Named almost like leftovers of ``pid``, or typed otherwise: none is crossmatrix's."""
        std = f"{MUSL.triple}-1.96.0-0123456789abcdef"  # sysroot.entry_dir's naming
        folders = [
            self.cache / "tmp" / f"notes.{pid}",  # no entry key
            self.cache / "tmp" / f".{std}.{pid}.bak",
            self.cache / "sysroots" / std,  # a finished entry
            self.cache / "tmp" / f"{std}.{pid}",  # the naming before std was staged
            self.cache / "wine" / "run" / f"My Files.{pid}",
            self.cache / "wine" / f"shim-{WINDOWS.triple}-0123456789.{pid}",  # no leading dot
            self.dist / f".linux-x86_64.{pid}.bak",
            self.dist / ".linux-x86_64.0.new",
            self.dist / f".linux-x86_64.{pid}",
            self.dist / f"linux-x86_64.{pid}.new",
            self.dist / ".git",
            self.release.parent / f".other.{pid}.new",  # beside release, not release's
            self.release.parent / f".release.{pid}.strip",
            self.cache / "wrappers" / f".zigcc.{pid}.tmp",  # a folder where a file is made
        ]
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
        files = [self.cache / "tmp" / f".{std}.{pid}9.new",  # a file where a folder is made
                 self.dist / f".linux-x86_64.{pid}9.new"]
        for path in files:
            path.write_text("mine\n")
        link = self.dist / f".linux-x86_64.{pid}8.new"
        link.symlink_to(self.dist / "linux-x86_64")  # a link where a folder is made
        return sorted([*folders, *files, link])


def _exists(path: Path) -> bool:
    return os.path.lexists(path)


def test_a_dead_processs_leftovers_go_and_nothing_else(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    dead = dead_pid()
    gone = tree.leftovers_of(dead)
    kept = tree.lookalikes(dead)
    report = tree.clean()
    assert sorted(left.path for left in report.removed) == gone
    assert not report.failed
    assert not any(_exists(path) for path in gone)
    assert all(_exists(path) for path in kept)
    for final in (tree.dist / "linux-x86_64", tree.release, tree.build / "bin",
                  tree.cache / "python-roots" / "arm64"):
        assert final.is_dir()
    assert tree.clean().found == []  # a second run finds nothing


def test_a_live_processs_leftovers_are_kept(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    tree = Tree(tmp_path)
    mine = tree.leftovers_of(os.getpid())
    parents = tree.leftovers_of(os.getppid())  # alive, and not this process
    report = tree.clean()
    assert report.removed == [] and len(report.found) == len(mine) + len(parents)
    assert all(_exists(path) for path in [*mine, *parents])
    err = capsys.readouterr().err
    assert f"process {os.getppid()} is running" in err
    assert "this process's own" in err


def test_dry_run_lists_with_sizes_and_removes_nothing(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    tree = Tree(tmp_path)
    dead = dead_pid()
    gone = tree.leftovers_of(dead)
    report = tree.clean(dry_run=True)
    assert sorted(left.path for left in report.removed) == gone
    assert all(_exists(path) for path in gone)
    err = capsys.readouterr().err
    std = next(left for left in report.removed if left.what == "std build")
    assert std.size == 1000
    assert f"would remove {std.path} (std build, 1,000 bytes; process {dead} is gone)" in err
    assert report.size == 1000 * (len(gone) - 2) + len("#!/bin/sh\n") + len(
        "linux-x64/build_core.so")


def test_a_leftover_older_than_a_day_goes_even_if_its_pid_is_taken(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    others = tree.leftovers_of(os.getppid())
    mine = tree.leftovers_of(os.getpid())
    old = time.time() - leftovers.MAX_AGE - 60
    for path in [*others, *mine]:
        os.utime(path, (old, old), follow_symlinks=False)
    report = tree.clean()
    assert sorted(left.path for left in report.removed) == others
    assert all("older than a day" in left.why for left in report.removed)
    assert all(_exists(path) for path in mine)  # this process's own: never


def test_the_last_whole_version_is_kept_when_its_folder_is_missing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Killed between replace_dir's two renames: .old is all there is of the release."""
    tree = Tree(tmp_path)
    dead = dead_pid()
    with running_as(dead):
        old = atomic.pid_sibling(tree.release, "old")
        new = atomic.pid_sibling(tree.release, "new")
    tree.release.rename(old)
    new.mkdir()
    report = tree.clean()
    assert [left.path for left in report.removed] == [new]
    assert old.is_dir()
    assert f"rename it back to {tree.release}" in capsys.readouterr().err


def test_what_cannot_be_removed_is_said_and_reported(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    tree = Tree(tmp_path)
    gone = tree.leftovers_of(dead_pid())

    def refuse(path: Path, **kwargs: Any) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(shutil, "rmtree", refuse)
    report = tree.clean()
    folders = [path for path in gone if path.is_dir() and not path.is_symlink()]
    assert sorted(left.path for left in report.failed) == folders
    assert "could not remove" in capsys.readouterr().err
    assert all(path.exists() for path in folders)


@pytest.mark.parametrize(("name", "parts"), [
    (".linux-x86_64.123.new", ("linux-x86_64", 123, "new")),
    (".linux-aarch64-gnu.2.17.123.old", ("linux-aarch64-gnu.2.17", 123, "old")),
    (".x.0.new", None),
    (".x.\u0661\u0662.new", None),  # digits, but not ASCII ones
    ("x.123.new", None),
    (".x.123.", None),
    ("..123.new", None),
])
def test_sibling_names_parse_exactly(name: str, parts: tuple[str, int, str] | None) -> None:
    assert atomic.sibling_parts(name) == parts


def test_a_pid_beyond_any_process_is_not_alive() -> None:
    assert not atomic.process_alive(2**70)
    assert atomic.process_alive(os.getpid())


def test_every_run_first_removes_dead_leftovers(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The same function, at the start of pipeline.run_matrix: before the first step."""
    tree = Tree(tmp_path)
    ws = workspace.Workspace(root=tmp_path / "project", target_dir=tree.target_dir,
                             name="demo", version="0.1.0")
    monkeypatch.setattr(workspace, "metadata", lambda *args, **kwargs: ws)
    project = Project(root=tmp_path / "project", workspace=tmp_path / "project",
                      dist=tree.dist, targets=("linux-x86_64",), cache_dir=tree.cache)
    gone = [path for path in tree.leftovers_of(dead_pid())
            if path.parent != tree.release.parent]  # a run does not know where merges go
    mine = tree.leftovers_of(os.getpid())
    seen: list[bool] = []

    def step(build: Any) -> None:
        seen.append(any(map(_exists, gone)))

    pipeline.run_matrix(project, project.select(None), [step])
    assert seen == [False]
    assert all(_exists(path) for path in mine)


def test_every_test_run_first_removes_dead_leftovers(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """``inv test`` too: its wine runs and std builds leave the same folders."""
    tree = Tree(tmp_path)
    ws = workspace.Workspace(root=tmp_path / "project", target_dir=tree.target_dir,
                             name="demo", version="0.1.0")
    monkeypatch.setattr(workspace, "metadata", lambda *args, **kwargs: ws)
    project = Project(root=tmp_path / "project", workspace=tmp_path / "project",
                      dist=tree.dist, targets=("linux-x86_64",), cache_dir=tree.cache)
    gone = [path for path in tree.leftovers_of(dead_pid())
            if path.parent != tree.release.parent]
    seen: list[bool] = []

    def fake_tests(build: Any, **kwargs: Any) -> None:
        seen.append(any(map(_exists, gone)))

    monkeypatch.setattr(cargo_test, "run_tests", fake_tests)
    cargo_test.run_matrix(project, project.select(None))
    assert seen == [False]


def test_clean_through_the_console_script(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "Cargo.toml").write_text(
        '[package]\nname = "demo"\nversion = "0.1.0"\nedition = "2021"\n')
    (project / "src" / "main.rs").write_text("fn main() {}\n")
    cache = tmp_path / "cache"
    dead = dead_pid()
    std = cache / "tmp" / f".{MUSL.triple}-1.96.0-0123456789abcdef.{dead}.new"
    std.mkdir(parents=True)
    (std / "big").write_bytes(b"x" * 4096)
    env = {**os.environ, "CROSSMATRIX_CACHE_DIR": str(cache)}
    env.pop("CROSSMATRIX_PROJECT", None)

    def crossmatrix(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "crossmatrix"), "--project", str(project), "clean",
                               *args], capture_output=True, text=True, env=env, cwd=project,
                              timeout=120, check=False)

    listed = crossmatrix("--dry-run")
    assert listed.returncode == 0, listed.stderr
    assert f"would remove {std} (std build, 4,096 bytes; process {dead} is gone)" in listed.stderr
    assert "1 leftovers, would free 4,096 bytes" in listed.stderr
    assert std.is_dir()
    done = crossmatrix()
    assert done.returncode == 0, done.stderr
    assert "freed 4,096 bytes" in done.stderr
    assert not std.exists()
    again = crossmatrix()
    assert "nothing left behind" in again.stderr


@pytest.mark.parametrize("release", ["/", "."])
def test_a_release_folder_without_a_name_looks_nowhere(tmp_path: Path, release: str) -> None:
    """`--release /` must not make every .X.<pid>.new of / a merge's leftover."""
    places = leftovers.places(tmp_path / "cache", tmp_path / "dist", merged=[Path(release)])
    assert all(place.what != "merge" for place in places)
