"""Quiet by default, loud on request, a log per target: what each verbosity shows on the
terminal, what the target log holds whatever it is, and cargo's error lines on failure."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tooling.cli.main import CrossmatrixProgram
from tooling.cli.tasks import ns
from tooling.compile import messages
from tooling.errors import UsageError
from tooling.util import console, proc


def say_everything() -> None:
    console.progress("linux-aarch64", "compiled 2 binaries (1.0 s)")
    console.step("linux-aarch64", "verify fleet-report")
    console.command("CC_x=cc cargo build")
    console.detail("    machine: EM_AARCH64 ok")
    console.warn("linux-aarch64: not run: no qemu")
    console.info("release: complete, 1 of 1 targets")


@pytest.mark.parametrize(("level", "shown"), [
    ("", ["linux-aarch64 compiled 2 binaries (1.0 s)", "warning: linux-aarch64: not run: no qemu",
          "release: complete, 1 of 1 targets"]),
    ("1", ["linux-aarch64 compiled 2 binaries (1.0 s)", "linux-aarch64 verify fleet-report",
           "+ CC_x=cc cargo build", "warning: linux-aarch64: not run: no qemu",
           "release: complete, 1 of 1 targets"]),
    ("2", ["linux-aarch64 compiled 2 binaries (1.0 s)", "linux-aarch64 verify fleet-report",
           "+ CC_x=cc cargo build", "    machine: EM_AARCH64 ok",
           "warning: linux-aarch64: not run: no qemu", "release: complete, 1 of 1 targets"]),
])
def test_each_verbosity_shows_its_lines_and_the_log_holds_all(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        level: str, shown: list[str]) -> None:
    monkeypatch.setenv(console.VERBOSE_ENV, level)
    log = tmp_path / "logs" / "linux-aarch64.log"
    with console.target_log(log, "header") as path:
        assert path == log and console.log_path() == log
        say_everything()
        console.output("   Compiling clap v4.5.0\n")
    assert console.log_path() is None
    assert capsys.readouterr().err.splitlines() == shown
    assert log.read_text().splitlines() == [
        "header", "linux-aarch64 compiled 2 binaries (1.0 s)",
        "linux-aarch64 verify fleet-report", "+ CC_x=cc cargo build",
        "    machine: EM_AARCH64 ok", "warning: linux-aarch64: not run: no qemu",
        "release: complete, 1 of 1 targets", "   Compiling clap v4.5.0"]
    console.info("after the log closed")  # goes nowhere but the terminal
    assert "after the log closed" not in log.read_text()


@pytest.mark.parametrize(("raw", "level"), [("", 0), ("0", 0), ("1", 1), ("2", 2), ("7", 2)])
def test_the_verbosity_comes_from_the_environment(
        monkeypatch: pytest.MonkeyPatch, raw: str, level: int) -> None:
    monkeypatch.setenv(console.VERBOSE_ENV, raw)
    assert console.verbosity() == level


def test_a_verbosity_that_is_no_number_is_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(console.VERBOSE_ENV, "loud")
    with pytest.raises(UsageError, match="CROSSMATRIX_VERBOSE='loud'"):
        console.verbosity()


@pytest.mark.parametrize(("flags", "level"), [([], None), (["-v"], "1"), (["-vv"], "2"),
                                               (["--verbose"], "1"), (["-vvv"], "2")])
def test_the_console_scripts_v_flag_sets_the_verbosity_for_children_too(
        monkeypatch: pytest.MonkeyPatch, flags: list[str], level: str | None) -> None:
    monkeypatch.setenv(console.VERBOSE_ENV, "")
    monkeypatch.delenv(console.VERBOSE_ENV)
    program = CrossmatrixProgram(name="crossmatrix", binary="crossmatrix", namespace=ns)
    argv = ["crossmatrix", *flags, "targets"]
    program.argv = argv
    program.parse_core(argv)
    assert [c.name for c in program.core] == [None]
    assert os.environ.get(console.VERBOSE_ENV) == level


CHILD = ("import sys; print('{\"reason\": \"x\"}'); "
         "sys.stderr.write('   Compiling clap v4.5.0\\nwarning: unused\\n')")


@pytest.mark.parametrize("level", ["0", "2"])
def test_a_long_commands_output_goes_to_the_log_and_at_vv_to_the_terminal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        level: str) -> None:
    monkeypatch.setenv(console.VERBOSE_ENV, level)
    monkeypatch.setattr(proc, "ECHO", True)
    log = tmp_path / "t.log"
    env = proc.child_env({"CROSSMATRIX_PROBE": "1"})
    with console.target_log(log, "header"):
        res = proc.stream([sys.executable, "-c", CHILD], bound="build", env=env)
    assert res.stdout == '{"reason": "x"}\n'
    assert "Compiling clap" in res.stderr  # kept for the error report, whatever is shown
    text = log.read_text()
    assert "+ CROSSMATRIX_PROBE=1 " in text  # the command with the variable it adds …
    assert "PATH=" not in text  # … not the environment it inherits
    assert "   Compiling clap v4.5.0\nwarning: unused\n" in text
    err = capsys.readouterr().err
    assert ("Compiling clap" in err) == (level == "2")
    assert ("+ CROSSMATRIX_PROBE=1" in err) == (level == "2")


def test_outside_a_target_log_a_long_commands_output_is_shown_as_before(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(console.VERBOSE_ENV, "0")
    proc.stream([sys.executable, "-c", CHILD], bound="build")  # cargo test, say
    assert "Compiling clap" in capsys.readouterr().err


def test_a_captured_commands_output_and_exit_code_go_to_the_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(console.VERBOSE_ENV, "0")
    monkeypatch.setattr(proc, "ECHO", True)
    log = tmp_path / "t.log"
    many = "import sys; print('\\n'.join(map(str, range(500)))); sys.exit(3)"
    with console.target_log(log, "header"):
        proc.run([sys.executable, "-c", many], bound="tool", check=False)
    assert capsys.readouterr().err == ""  # quiet: neither the command nor its output
    lines = log.read_text().splitlines()
    assert lines[1].startswith("+ ") and "range(500)" in lines[1]
    assert "  stdout| 0" in lines and "  stdout| 499" in lines
    assert "  stdout| 250" not in lines  # a long stream by its start and end
    assert "  stdout| [… 300 lines …]" in lines
    assert lines[-1] == "  exit code 3"


LINK_FAILURE = """\
   Compiling libsqlite3-sys v0.30.1
warning: libsqlite3-sys@0.30.1: pkg-config found no sqlite3 for aarch64
   Compiling rusqlite v0.32.1
warning: unused variable: `x`
   Compiling sqlite-probe v0.1.0 (/w/crates/sqlite-probe)
error: linking with `aarch64-linux-gnu-gcc` failed: exit status: 1
  |
  = note: LC_ALL="C" PATH="/usr/bin" """ + "x" * 5000 + """
  = note: /usr/bin/aarch64-linux-gnu-ld: cannot find -lsqlite3: No such file or directory
          collect2: error: ld returned 1 exit status

error: could not compile `sqlite-probe` (bin "sqlite-probe") due to 1 previous error
"""


def test_the_error_lines_of_a_failed_cargo_are_its_errors_and_script_warnings() -> None:
    lines = messages.error_lines(LINK_FAILURE).splitlines()
    assert lines[0] == "warning: libsqlite3-sys@0.30.1: pkg-config found no sqlite3 for aarch64"
    assert lines[1] == "error: linking with `aarch64-linux-gnu-gcc` failed: exit status: 1"
    assert "  = note: /usr/bin/aarch64-linux-gnu-ld: cannot find -lsqlite3: No such file or " \
           "directory" in lines
    assert lines[-1].startswith("error: could not compile `sqlite-probe`")
    assert not any("Compiling" in line or "unused variable" in line for line in lines)
    assert max(len(line) for line in lines) <= 402  # the linker command cut short


def test_without_an_error_line_the_last_lines_are_the_error_lines() -> None:
    stderr = "".join(f"line {n}\n" for n in range(100))
    assert messages.error_lines(stderr).splitlines() == [f"line {n}" for n in range(80, 100)]


def test_many_error_lines_keep_the_first_and_the_last() -> None:
    stderr = "error: first\n" + "".join(f"  note {n}\n" for n in range(200)) + "error: last\n"
    lines = messages.error_lines(stderr, limit=10).splitlines()
    assert len(lines) == 10 and lines[0] == "error: first" and lines[-1] == "error: last"
    assert lines[-2] == "[… 193 lines …]"
