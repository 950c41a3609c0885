"""The helpers every entry point shares: the matrix loop, the error boundary, the version
parser and the atomic symlink swap."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import NoReturn

import pytest

from tooling.cli.boundary import ScriptExit, reported, script_fail
from tooling.errors import SomeTargetsFailed, StepFailed, ToolMissing, UsageError
from tooling.matrix.targets import by_name
from tooling.steps.each import each_target
from tooling.util import atomic, proc, versions

A, B, C = (by_name()[n] for n in ("linux-aarch64", "linux-armv7", "windows-x86_64"))


def test_one_failing_target_does_not_stop_the_others(capsys: pytest.CaptureFixture[str]) -> None:
    def work(target: object) -> str:
        if target is B:
            raise StepFailed("linux-armv7: smoke test failed")
        return "ok"

    outcomes = each_target([A, B, C], work)
    assert [t.name for t, _ in outcomes.done] == ["linux-aarch64", "windows-x86_64"]
    assert [t.name for t, _ in outcomes.failed] == ["linux-armv7"]
    assert "linux-armv7: smoke test failed" in capsys.readouterr().err
    with pytest.raises(SomeTargetsFailed) as caught:
        outcomes.raise_if_failed(3, "{failed} of {total} targets failed", "re-run")
    assert caught.value.message == "1 of 3 targets failed: linux-armv7"
    assert caught.value.exit_code == 4


def test_bad_input_and_a_lone_target_raise_as_they_are() -> None:
    def bad(target: object) -> None:
        raise UsageError("unknown flag")

    with pytest.raises(UsageError):
        each_target([A, B], bad)

    def missing(target: object) -> None:
        raise ToolMissing("no zig")

    with pytest.raises(ToolMissing):
        each_target([A], missing)
    each_target([A], lambda t: None).raise_if_failed(1, "{failed} of {total}", "")


def test_the_boundary_turns_errors_into_text_and_codes() -> None:
    seen: list[tuple[str, int]] = []

    def fail(text: str, code: int) -> NoReturn:
        seen.append((text, code))
        raise SystemExit(code)

    with pytest.raises(SystemExit), reported(fail):
        raise ToolMissing("qemu-aarch64 not found", "inv setup")
    with pytest.raises(SystemExit), reported(fail):
        raise KeyboardInterrupt
    assert seen == [("error: qemu-aarch64 not found\n  hint: inv setup", 3), ("interrupted", 130)]
    with pytest.raises(ScriptExit) as caught, reported(script_fail):
        raise UsageError("bad")
    assert caught.value.code == 2


@pytest.mark.parametrize(("text", "expected"), [
    ("2.17", (2, 17)), ("2.9", (2, 9)), ("1.96.0", (1, 96, 0)),
    ("0.29.0-beta.1+build", (0, 29, 0)), ("11.0", (11, 0)), ("1.x", (1, 0)),
])
def test_one_version_parser(text: str, expected: tuple[int, ...]) -> None:
    assert versions.parse(text) == expected


def test_versions_compare_numerically() -> None:
    assert versions.parse("2.9") < versions.parse("2.17")
    assert versions.is_numeric("10.12") and not versions.is_numeric("10.x")


def test_point_link_swaps_atomically(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    link = tmp_path / "current"
    atomic.point_link(link, "a")
    atomic.point_link(link, "b")
    assert os.readlink(link) == "b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "current"]


def test_output_to_a_file_does_not_wait_for_daemons(tmp_path: Path) -> None:
    """A command that leaves a daemon behind holding its output (wineserver, wine's
    services) returns when the command ends, not when the daemon does."""
    pidfile = tmp_path / "daemon.pid"
    script = f"sleep 30 & echo $! > {pidfile}; echo started; echo oops >&2"
    result = proc.run(["sh", "-c", script], bound="tool", output=tmp_path / "log", echo=False)
    daemon = int(pidfile.read_text())
    try:
        os.kill(daemon, 0)  # still running: run() did not wait for it
        assert result.ok
        assert result.stderr.split() == ["started", "oops"]
    finally:
        os.kill(daemon, signal.SIGTERM)
