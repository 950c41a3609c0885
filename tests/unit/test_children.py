"""Every child crossmatrix starts is bounded and reaped, with real processes: a child that
outlives its bound is ended with what it started; a crossmatrix that is sent SIGTERM or
Ctrl-C ends its child's process group and runs its ``finally`` blocks first.

No durations are asserted: bounds are short enough to be reached, waits are generous, and
what is checked is the outcome (which processes are left, what was written, exit codes)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tooling.cli import wine_runner
from tooling.errors import StepFailed
from tooling.matrix.targets import by_name
from tooling.platforms import windows
from tooling.util import proc, timeouts
from tooling.util.timeouts import Timeouts

REPO = Path(__file__).resolve().parents[2]
#: a child (sh) that starts a grandchild which sleeps, says both pids, then waits
FAMILY = ('sleep 600 & echo $! > "$1/grandchild"; echo $$ > "$1/child"; '
          'echo started; echo working >&2; wait')
#: long enough to be reached on a loaded machine before the family is started, short
#: enough for a fast test
SHORT = 2.0


def alive(pid: int) -> bool:
    """Whether ``pid`` runs: a zombie (exited, its status not yet collected) does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def pids(folder: Path) -> list[int]:
    return [int((folder / name).read_text()) for name in ("child", "grandchild")]


@pytest.fixture
def short_tool_bound(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(timeouts, "_current", Timeouts(tool=SHORT))
    yield


@pytest.mark.parametrize("how", ["run", "stream"])
def test_on_timeout_the_child_and_its_grandchild_are_gone(
        how: str, tmp_path: Path, short_tool_bound: None) -> None:
    argv = ["sh", "-c", FAMILY, "family", str(tmp_path)]
    with pytest.raises(StepFailed) as caught:
        if how == "run":
            proc.run(argv, bound="tool", what="the family")
        else:
            proc.stream(argv, bound="tool", what="the family", quiet_stderr=True)
    child, grandchild = pids(tmp_path)
    assert not alive(child)
    assert not alive(grandchild)
    message = caught.value.message
    assert message == ("the family timed out after 2s "
                       "(the bound [tool.crossmatrix.timeouts] tool)")
    assert "CROSSMATRIX_TIMEOUT_TOOL" in (caught.value.hint or "")


def test_a_timeout_applies_whatever_check_says(tmp_path: Path, short_tool_bound: None) -> None:
    with pytest.raises(StepFailed, match="timed out"):
        proc.run(["sh", "-c", FAMILY, "family", str(tmp_path)], bound="tool", check=False)
    assert not any(alive(pid) for pid in pids(tmp_path))


def test_a_child_that_ends_in_time_keeps_run_and_stream_as_they_were(tmp_path: Path) -> None:
    script = "echo out; echo err >&2; exit 3"
    ran = proc.run(["sh", "-c", script], bound="tool", check=False)
    assert (ran.returncode, ran.stdout, ran.stderr) == (3, "out\n", "err\n")
    streamed = proc.stream(["sh", "-c", script], bound="tool", check=False, quiet_stderr=True)
    assert (streamed.returncode, streamed.stdout, streamed.stderr) == (3, "out\n", "err\n")


def test_stream_keeps_cargos_error_lines_that_scroll_out_of_the_tail() -> None:
    """cargo names the failed build script, then prints its output, which can be longer
    than the kept tail (libz-sys: ~600 lines of C warnings): the naming line is kept."""
    script = ('echo "error: failed to run custom build command for \\`z v1\\`" >&2; '
              f'i=0; while [ $i -lt {proc.KEPT_LINES + 100} ]; do '
              'echo "  warning $i" >&2; i=$((i+1)); done; echo last >&2; exit 101')
    streamed = proc.stream(["sh", "-c", script], bound="tool", check=False, quiet_stderr=True)
    lines = streamed.stderr.splitlines()
    assert lines[0] == "error: failed to run custom build command for `z v1`"
    assert lines[-1] == "last"
    assert len(lines) == proc.KEPT_LINES + 1  # the tail, and the one earlier error line
    assert "  warning 0" not in lines


def test_a_child_never_reads_the_terminal() -> None:
    """Its standard input is /dev/null: in a process group of its own, a child that read the
    terminal would be stopped until its bound."""
    assert proc.run(["cat"], bound="tool").stdout == ""
    assert proc.run(["cat"], bound="tool", input_text="given\n").stdout == "given\n"


#: a crossmatrix-like process: the CLI boundary around proc.run or proc.stream of the
#: family, a finally block that writes a file
CROSSMATRIX_LIKE = """
import signal, sys
from pathlib import Path
from tooling.cli.boundary import ScriptExit, reported, script_fail
from tooling.util import proc

# as in a terminal: the test runner may have started this with SIGINT ignored
signal.signal(signal.SIGINT, signal.default_int_handler)
how, work, family = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
try:
    with reported(script_fail):
        try:
            getattr(proc, how)(["sh", "-c", family, "family", str(work)], bound="tool")
        finally:
            (work / "finally").write_text("ran")
except ScriptExit as exc:
    sys.exit(exc.code)
"""


@pytest.mark.parametrize(("how", "signum", "code", "said"), [
    ("run", signal.SIGTERM, 143, "terminated"),
    ("stream", signal.SIGTERM, 143, "terminated"),
    ("run", signal.SIGINT, 130, "interrupted"),
    ("stream", signal.SIGINT, 130, "interrupted"),
])
def test_a_signalled_crossmatrix_ends_its_child_group_and_runs_finally(
        how: str, signum: int, code: int, said: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-c", CROSSMATRIX_LIKE, how, str(tmp_path),
                                FAMILY], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        # the family has started once both pids are written (or the process died early)
        waited = 0
        while process.poll() is None and not all(
                (tmp_path / name).is_file() and (tmp_path / name).read_text().strip()
                for name in ("child", "grandchild")):
            assert waited < 2400, "the family never started"  # a guard, not a duration
            waited += 1
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.05)
        assert process.poll() is None, process.communicate()
        process.send_signal(signum)  # to crossmatrix alone, as `kill PID` or a terminal
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    child, grandchild = pids(tmp_path)
    assert process.returncode == code, stderr
    assert stderr.strip().splitlines()[-1] == said
    assert "Traceback" not in stderr
    assert (tmp_path / "finally").read_text() == "ran"
    assert not alive(child)
    assert not alive(grandchild)


def test_sigterm_raises_only_inside_the_boundary() -> None:
    from tooling.cli.boundary import sigterm_raises

    before = signal.getsignal(signal.SIGTERM)
    with sigterm_raises():
        assert signal.getsignal(signal.SIGTERM) not in (before, signal.SIG_DFL)
    assert signal.getsignal(signal.SIGTERM) == before


def test_the_wine_runner_bounds_a_test_binary_as_crossmatrix_said(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """cargo runs the wine runner with the environment crossmatrix gave cargo test, which
    carries the test bound in force."""
    monkeypatch.setattr(timeouts, "_current", Timeouts(test=4321))
    monkeypatch.setattr(windows, "wine_program", lambda target: "/usr/bin/wine")
    given = windows.test_runner(by_name()["windows-x86_64"], tmp_path, {}).env
    monkeypatch.setattr(timeouts, "_current", Timeouts())
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    seen: list[float] = []

    def wine_run(*args: object) -> int:
        seen.append(timeouts.current().test)
        return 0

    monkeypatch.setattr(windows, "wine_run", wine_run)
    assert wine_runner.main(["x86_64-pc-windows-gnu", str(tmp_path), "t.exe"]) == 0
    assert seen == [4321.0]
