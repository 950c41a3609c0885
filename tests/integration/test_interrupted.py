"""Interrupted work and concurrency, for real.

SIGKILL (to the whole process group, as a cancelled CI job gets) at spread-out moments of
compile, strip, verify, run and package — 20 trials — and three times while std is being
built into an empty cache. After every kill nothing a later run would trust is partial:
dist/<target> is absent or checks out against its SHA256SUMS with a readable
build_info.json, and every std cache entry carries its marker. The next run recovers by
itself and packages what the sources say now.

Then two processes at once, sharing one std cache and one target folder, building the
same target and different ones: both succeed, std is built once, nothing is corrupted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.helpers import BIN, PROGRAMS, REPO, crossmatrix, providers
from tooling.std import sysroot
from tooling.util import archives

pytestmark = pytest.mark.integration

TRIALS = 20
TARGET = "linux-aarch64"
MAIN = Path("fleet-report") / "src" / "main.rs"
PHASES = ("compile with", "strip ", "verify ", "run ", "package:")


def _workspace(tmp_path: Path) -> Path:
    crates = tmp_path / "crates"
    shutil.copytree(REPO / "crates", crates, ignore=shutil.ignore_patterns("target"))
    return crates


def _project(root: Path, crates: Path, targets: list[str], *, forced: str = "",
             packages: list[str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        f'[tool.crossmatrix]\nname = "edge-tools"\nworkspace = "{crates}"\noffline = true\n'
        f"targets = {json.dumps(targets)}\n"
        + (f"packages = {json.dumps(packages)}\n" if packages else "") + forced)
    return root


BUILD_STD = providers(dict.fromkeys(("linux-aarch64", "linux-armv7", "linux-x86_64"),
                                   "build-std"))


def _start(project: Path, log: Path, *args: str, env: dict[str, str] | None = None
           ) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(BIN / "crossmatrix"), "--project", str(project), *args],
                            stdout=subprocess.DEVNULL, stderr=log.open("wb"),
                            env={**os.environ, **(env or {})}, start_new_session=True)


def _kill_after(proc: subprocess.Popen[bytes], delay: float) -> bool:
    """SIGKILL the process group after ``delay`` s; False if it had finished already."""
    try:
        proc.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


def _nothing_partial_is_trusted(dist: Path) -> None:
    folder = dist / TARGET
    if folder.exists():
        assert archives.check_sha256sums(folder) == [], f"{folder} is partial"
        info = json.loads((folder / "build_info.json").read_text())
        assert info["name"] == TARGET
        assert (folder / info["archive"]["file"]).is_file()
    for leftover in dist.glob(".*"):  # temp folders may stay; they are never read
        assert leftover.name.startswith(f".{TARGET}.")
        assert leftover.name.endswith((".new", ".old"))


def _set_trial(crates: Path, number: int) -> str:
    main = crates / MAIN
    text = re.sub(r' trial-\d+"', '"', main.read_text())
    tag = f"trial-{number:02d}"
    text = text.replace('"fleet-report {} ({TARGET})"', f'"fleet-report {{}} ({{TARGET}}) {tag}"')
    main.write_text(text)
    return tag


def test_sigkill_during_the_pipeline_never_leaves_a_trusted_partial(tmp_path: Path) -> None:
    crates = _workspace(tmp_path)
    project = _project(tmp_path / "p", crates, [TARGET], forced=BUILD_STD)
    first = crossmatrix(project, "release")  # the dependencies, once
    assert first.returncode == 0, first.stderr[-3000:]
    spans = []  # the shorter of two edited runs: every kill must land inside a run
    for number in (0, 100):
        _set_trial(crates, number)
        started = time.monotonic()
        timed = crossmatrix(project, "release")
        assert timed.returncode == 0, timed.stderr[-3000:]
        spans.append(time.monotonic() - started)
    span = min(spans)
    reached: set[str] = set()
    killed = 0
    for trial in range(1, TRIALS + 1):
        _set_trial(crates, trial)
        log = tmp_path / f"trial-{trial}.log"
        started = time.monotonic()
        proc = _start(project, log, "-v", "release")  # -v: each step's own lines
        delay = 0.3 + (span - 0.3) * trial / (TRIALS + 1)  # spread over the whole run
        if _kill_after(proc, delay):
            killed += 1
        else:  # the machine got faster than when the span was measured: the later kills
            span = min(span, time.monotonic() - started)  # must land inside a run too
        said = log.read_text(errors="replace")
        reached.update(phase for phase in PHASES if f"{TARGET} {phase}" in said)
        if said.count(f"{TARGET} run ") == len(PROGRAMS):  # all ran: killed while packaging
            reached.add("packaging")
        _nothing_partial_is_trusted(project / "dist")
    assert killed >= TRIALS - 2, f"only {killed} runs were still going when killed"
    assert {"compile with", "strip ", "packaging"} <= reached, reached
    tag = _set_trial(crates, 99)
    final = crossmatrix(project, "release")
    assert final.returncode == 0, final.stderr[-3000:]
    assert list((project / "dist").glob(".*")) == []  # the next run cleared what was left
    folder = project / "dist" / TARGET
    assert archives.check_sha256sums(folder) == []
    info = json.loads((folder / "build_info.json").read_text())
    report = next(a for a in info["artifacts"] if a["name"] == "fleet-report")
    assert report["run"]["output"].endswith(tag)  # built from the sources as they are now
    check = subprocess.run(["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=folder,
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr


def test_sigkill_while_std_is_built_never_leaves_a_trusted_entry(tmp_path: Path) -> None:
    crates = _workspace(tmp_path)
    project = _project(tmp_path / "p", crates, ["linux-armv7"], forced=BUILD_STD)
    cache = tmp_path / "cache"
    env = {"CROSSMATRIX_CACHE_DIR": str(cache)}
    for trial, delay in enumerate((4.0, 15.0, 30.0)):
        log = tmp_path / f"std-{trial}.log"
        proc = _start(project, log, "install-targets", env=env)
        assert _kill_after(proc, delay), "the std build finished before it could be killed"
        for entry in (cache / "sysroots").glob("*") if (cache / "sysroots").is_dir() else []:
            assert sysroot.is_ready(entry), f"{entry} is in the cache without its marker"
    done = crossmatrix(project, "install-targets", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    (entry,) = list((cache / "sysroots").glob("armv7-unknown-linux-musleabihf-*"))
    assert sysroot.is_ready(entry)
    assert any((entry / "lib" / "rustlib" / "armv7-unknown-linux-musleabihf" / "lib")
               .glob("libstd-*.rlib"))
    again = crossmatrix(project, "release", env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "building std" not in again.stderr


def test_two_processes_share_one_cache_and_target_folder(tmp_path: Path) -> None:
    crates = _workspace(tmp_path)
    cache = tmp_path / "cache"
    # an empty cache but for the std of linux-aarch64 (copied, to keep this quick): both
    # processes need armv7's, which neither has
    mine = Path(os.environ.get("CROSSMATRIX_CACHE_DIR",
                               Path.home() / ".cache" / "crossmatrix")) / "sysroots"
    (cache / "sysroots").mkdir(parents=True)
    for entry in mine.glob("aarch64-unknown-linux-musl-*"):
        if sysroot.is_ready(entry):
            shutil.copytree(entry, cache / "sysroots" / entry.name)
    env = {"CROSSMATRIX_CACHE_DIR": str(cache)}
    # one program with C (sensor-crc): the locks are what is tested, not the workspace
    # (the whole of it made this the third slowest test, 516 s in a CI run)
    one = _project(tmp_path / "one", crates, ["linux-armv7", "linux-aarch64"], forced=BUILD_STD,
                   packages=["sensor-crc"])
    two = _project(tmp_path / "two", crates, ["linux-armv7", "linux-x86_64-gnu"],
                   forced=BUILD_STD, packages=["sensor-crc"])
    logs = [tmp_path / "one.log", tmp_path / "two.log"]
    procs = [_start(one, logs[0], "release", env=env), _start(two, logs[1], "release", env=env)]
    codes = [proc.wait(timeout=1800) for proc in procs]
    said = [log.read_text(errors="replace") for log in logs]
    assert codes == [0, 0], said[0][-2000:] + said[1][-2000:]
    builds = sum(text.count("building std for armv7-unknown-linux-musleabihf") for text in said)
    assert builds == 1, "std must be built once, by one of them"
    # the other one waited: for the target's lock (same target, same target folder) or for
    # the std entry's lock; either way a wait, not a second build or a race
    assert sum("linux-armv7 another crossmatrix is building this target here" in text
               or "std for armv7-unknown-linux-musleabihf is already in the cache" in text
               for text in said) == 1
    for project, names in ((one, ["linux-armv7", "linux-aarch64"]),
                           (two, ["linux-armv7", "linux-x86_64-gnu"])):
        for name in names:
            assert archives.check_sha256sums(project / "dist" / name) == []
        manifest = json.loads((project / "dist" / "release.json").read_text())
        assert manifest["complete"] is True
    # one build of armv7 in the shared target folder: both packaged the same binaries
    infos = [json.loads((p / "dist" / "linux-armv7" / "build_info.json").read_text())
             for p in (one, two)]
    assert [a["name"] for a in infos[0]["artifacts"]] == ["sensor-crc"]
    assert ([a["sha256"] for a in infos[0]["artifacts"]]
            == [a["sha256"] for a in infos[1]["artifacts"]])
