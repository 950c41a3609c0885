"""The std cache lock: two processes asking for one entry build it once."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from tooling.matrix.targets import by_name
from tooling.std import sysroot
from tooling.std.compiler import Compiler


def _fake_compiler(root: Path) -> Compiler:
    return Compiler(kind="debian", rustc=root / "rustc", cargo=root / "cargo", release="1.96.0",
                    commit_hash="abc", host="x86_64-unknown-linux-gnu", sysroot=root,
                    verbose_version="rustc 1.96.0\n")


def _worker(cache: str, log: str) -> None:
    def slow_build(compiler: Compiler, target: object, entry: Path, cache_dir: Path,
                   *variant: object) -> None:
        with open(log, "a") as f:
            f.write("build\n")
        time.sleep(1.0)  # long enough for the other process to be waiting on the lock
        entry.mkdir(parents=True)
        (entry / sysroot.MARKER).write_text("{}")

    sysroot._build_locked = slow_build  # type: ignore[assignment]
    compiler = _fake_compiler(Path(cache))
    target = by_name()["linux-aarch64"]
    entry = sysroot.entry_dir(Path(cache), compiler, target.triple)
    sysroot.build(compiler, target, entry, Path(cache))


def test_two_processes_build_one_entry_once(tmp_path: Path) -> None:
    log = tmp_path / "builds.log"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_worker, args=(str(tmp_path), str(log))) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert log.read_text().count("build") == 1
    entries = list((tmp_path / "sysroots").iterdir())
    assert len(entries) == 1 and sysroot.is_ready(entries[0])


def test_entry_without_marker_is_not_trusted(tmp_path: Path) -> None:
    compiler = _fake_compiler(tmp_path)
    entry = sysroot.entry_dir(tmp_path, compiler, "aarch64-unknown-linux-musl")
    (entry / "lib").mkdir(parents=True)  # what an interrupted copy would leave
    assert not sysroot.is_ready(entry)
