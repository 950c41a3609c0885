"""The std cache lock: two processes asking for one entry build it once (the build itself
faked here; tests/integration/test_std_cache.py contends for a real one)."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from tests.unit import fake_std
from tooling.matrix.targets import Target, by_name
from tooling.std import sysroot
from tooling.std.compiler import Compiler


def _worker(cache: str, log: str) -> None:
    def slow_build(compiler: Compiler, target: Target, entry: Path, cache_dir: Path,
                   *variant: object) -> None:
        with open(log, "a") as f:
            f.write("build\n")
        time.sleep(1.0)  # long enough for the other process to be waiting on the lock
        staging = cache_dir / "staging"
        (staging / "lib").mkdir(parents=True)
        (staging / "lib" / "libstd-1.rlib").write_bytes(b"std")
        sysroot.seal(staging, sysroot.key_inputs(compiler, target.triple))
        entry.parent.mkdir(parents=True)
        staging.rename(entry)

    sysroot.toolchain_facts = lambda compiler, triple, library: fake_std.FACTS
    sysroot._build_locked = slow_build  # type: ignore[assignment]
    compiler = fake_std.compiler(Path(cache) / "rustc")
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
    assert len(entries) == 1 and sysroot.problem(entries[0]) is None


def test_entry_without_marker_is_not_trusted(tmp_path: Path) -> None:
    entry = tmp_path / "sysroots" / "aarch64-unknown-linux-musl-1.96.0-0123456789abcdef"
    (entry / "lib").mkdir(parents=True)  # what an interrupted copy would leave
    assert not sysroot.is_ready(entry)
    assert sysroot.problem(entry) == "it has no marker"
