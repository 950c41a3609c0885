"""Targets side by side (``jobs``): cargo's steps take turns in the matrix's order while the
other steps of a target run beside the next one's cargo; each target writes its own log;
bad input stops the targets not yet started; a signal ends every target's children.

Real threads and real processes; nothing is timed: overlap is proven by waiting for an
event only the other target can set (a serial run would never set it in time)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.unit.test_children import FAMILY, alive, pids
from tooling.errors import ConfigError, StepFailed, UsageError
from tooling.matrix.config import jobs_value
from tooling.matrix.targets import TABLE, Target
from tooling.steps import each
from tooling.util import console, proc

REPO = Path(__file__).resolve().parents[2]
THREE = TABLE[:3]
#: generous: only reached when the overlap the test waits for never happens
NEVER = 60.0


def test_cargo_parts_take_turns_in_order_while_the_rest_runs_beside() -> None:
    events: list[str] = []
    lock = threading.Lock()
    cargo_of = {t.name: threading.Event() for t in THREE}

    def work(target: Target) -> str:
        name = target.name
        with each.exclusive(name):
            with lock:
                events.append(f"cargo {name}")
            cargo_of[name].set()
            with lock:
                events.append(f"cargo {name} done")
        each.done_exclusive(name)
        later = [t.name for t in THREE]
        following = later[later.index(name) + 1:]
        if following:  # the rest of this target waits for the next one's cargo
            assert cargo_of[following[0]].wait(NEVER), f"{following[0]} never ran beside {name}"
        return name

    outcomes = each.each_target(THREE, work, jobs=2)
    assert [r for _, r in outcomes.done] == [t.name for t in THREE]  # the matrix's order
    cargo = [e for e in events if e.startswith("cargo")]
    # never two at once, and in order: each start is followed by its own end
    assert cargo == [x for t in THREE for x in (f"cargo {t.name}", f"cargo {t.name} done")]


def test_one_job_is_one_target_after_another() -> None:
    running: list[int] = []
    most = [0]

    def work(target: Target) -> None:
        running.append(1)
        most[0] = max(most[0], len(running))
        proc.run(["true"], bound="tool")
        running.pop()

    each.each_target(THREE, work, jobs=1)
    assert most[0] == 1


def test_each_target_writes_its_own_log_beside_the_others(tmp_path: Path) -> None:
    both_started = threading.Barrier(2, timeout=NEVER)

    def work(target: Target) -> None:
        name = target.name
        with console.target_log(tmp_path / f"{name}.log", f"log of {name}"):
            both_started.wait()  # both logs are open now, in two threads
            console.step(name, f"step line of {name}")
            proc.stream(["sh", "-c", f"echo stderr of {name} >&2"], bound="tool")
            proc.run(["sh", "-c", f"echo stdout of {name}"], bound="tool")

    each.each_target(THREE[:2], work, jobs=2)
    for target in THREE[:2]:
        text = (tmp_path / f"{target.name}.log").read_text()
        other = next(t.name for t in THREE[:2] if t is not target)
        for what in ("log of", "step line of", "stderr of", "stdout of"):
            assert f"{what} {target.name}" in text, text
        assert other not in text, text


def test_a_failed_target_does_not_stop_the_others() -> None:
    def work(target: Target) -> str:
        if target is THREE[1]:
            raise StepFailed(f"{THREE[1].name}: linking failed")
        return "ok"

    outcomes = each.each_target(THREE, work, jobs=2)
    assert [t for t, _ in outcomes.done] == [THREE[0], THREE[2]]
    assert [t for t, _ in outcomes.failed] == [THREE[1]]


def test_bad_input_stops_the_targets_not_started_and_is_raised() -> None:
    started: list[str] = []

    def work(target: Target) -> None:
        started.append(target.name)
        with each.exclusive(target.name):
            if target is THREE[0]:
                raise UsageError("bad setting x = 1", "use 2")

    with pytest.raises(UsageError, match="bad setting"):
        each.each_target(THREE, work, jobs=2)
    assert THREE[2].name not in started  # the third had not begun when the first stopped


def test_jobs_values() -> None:
    assert jobs_value(3, "jobs", "here") == 3
    assert jobs_value("2", "--jobs", "the command line") == 2
    for bad in (0, -1, "two", "", True, 1.5):
        with pytest.raises(ConfigError, match="is not a number of targets at once"):
            jobs_value(bad, "jobs", "pyproject.toml [tool.crossmatrix]")


def test_crossmatrix_jobs_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    from tooling.matrix import config

    (tmp_path / "pyproject.toml").write_text('[tool.crossmatrix]\nworkspace = "."\njobs = 3\n')
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "x"\nversion = "0.1.0"\n')
    assert config.load(str(tmp_path)).jobs == 3
    monkeypatch.setenv("CROSSMATRIX_JOBS", "1")
    assert config.load(str(tmp_path)).jobs == 1
    monkeypatch.setenv("CROSSMATRIX_JOBS", "many")
    with pytest.raises(ConfigError, match="CROSSMATRIX_JOBS = 'many'"):
        config.load(str(tmp_path))


#: a crossmatrix-like process: two targets side by side, each running the family in its
#: own worker thread, inside the CLI boundary
SIDE_BY_SIDE = """
import signal, sys
from pathlib import Path
from tooling.cli.boundary import ScriptExit, reported, script_fail
from tooling.matrix.targets import TABLE, Target
from tooling.steps import each
from tooling.util import proc

signal.signal(signal.SIGINT, signal.default_int_handler)
work, family = Path(sys.argv[1]), sys.argv[2]

def build(target):
    folder = work / target.name
    folder.mkdir()
    proc.run(["sh", "-c", family, "family", str(folder)], bound="tool")

try:
    with reported(script_fail):
        try:
            each.each_target(TABLE[:2], build, jobs=2)
        finally:
            (work / "finally").write_text("ran")
except ScriptExit as exc:
    sys.exit(exc.code)
"""


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_ends_the_children_of_every_target(signum: int, code: int,
                                                    tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-c", SIDE_BY_SIDE, str(tmp_path), FAMILY],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    folders = [tmp_path / t.name for t in TABLE[:2]]
    try:
        waited = 0
        while process.poll() is None and not all(
                (f / n).is_file() and (f / n).read_text().strip()
                for f in folders for n in ("child", "grandchild")):
            assert waited < 2400, "the families never started"  # a guard, not a duration
            waited += 1
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.05)
        assert process.poll() is None, process.communicate()
        process.send_signal(signum)  # to crossmatrix alone: its worker threads never see it
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr
    assert (tmp_path / "finally").read_text() == "ran"
    for folder in folders:
        assert not any(alive(pid) for pid in pids(folder)), folder
