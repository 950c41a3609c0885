"""The console script's extras: --version from the installed distribution's metadata, and
``python -m tooling`` being the same program."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import tooling
from tooling.cli.main import program

REPO = Path(__file__).resolve().parents[2]


def test_version_is_the_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    assert tooling.__version__ == metadata.version("crossmatrix")
    with pytest.raises(SystemExit) as stopped:
        program.run(["crossmatrix", "--version"])
    assert stopped.value.code in (None, 0)
    assert capsys.readouterr().out == f"crossmatrix {metadata.version('crossmatrix')}\n"


def test_python_dash_m_tooling_is_the_console_script(tmp_path: Path) -> None:
    for args, expected in ((["--version"], f"crossmatrix {tooling.__version__}"),
                           (["--list"], "init")):
        done = subprocess.run([sys.executable, "-m", "tooling", *args], cwd=tmp_path,
                              env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        assert expected in done.stdout


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path: Path) -> None:
    """`crossmatrix --list | head -1`: the pipe closes under the program; it ends as a
    program ended by SIGPIPE does, quietly."""
    for _ in range(3):  # the race between the reader leaving and the writer: either way
        writer = subprocess.Popen([sys.executable, "-m", "tooling", "--list"], cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert writer.stdout is not None and writer.stderr is not None
        writer.stdout.read(1)
        writer.stdout.close()  # the reader leaves after one byte
        err = writer.stderr.read().decode()
        assert writer.wait(timeout=60) in (0, 141), err
        assert "Traceback" not in err and "BrokenPipe" not in err, err
