"""The live view, as a person at a terminal sees it: a release of two targets in tmux shows
a row per target while it builds (its step, its time, the crate cargo is compiling) and,
at the end, both rows ✔ and the summary table. The screens are tmux's own (capture-pane).

The crate's build script waits for a file the test writes, so the screen is read while
cargo is known to be compiling it — no timing guesses."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.helpers import BIN

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]

TARGETS = ("linux-x86_64-gnu", "linux-aarch64")

BUILD_RS = """use std::{path::Path, thread, time::Duration};
fn main() {
    let go = Path::new(env!("CARGO_MANIFEST_DIR")).join("go");
    println!("cargo:rerun-if-changed=go");
    for _ in 0..1200 {
        if go.exists() { return; }
        thread::sleep(Duration::from_millis(100));
    }
    panic!("the test never wrote {}", go.display());
}
"""


def _crate(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "Cargo.toml").write_text(
        '[package]\nname = "slowpoke"\nversion = "0.1.0"\nedition = "2021"\n\n'
        '[package.metadata.crossmatrix]\noffline = true\n'
        f'targets = {list(TARGETS)!r}\n'.replace("'", '"')
        + '[package.metadata.crossmatrix.target.linux-aarch64]\nstd-provider = "build-std"\n')
    (root / "build.rs").write_text(BUILD_RS)
    (root / "src" / "main.rs").write_text('fn main() { println!("slowpoke 0.1.0"); }\n')
    return root


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def _screen(session: str) -> str:
    return _tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", session)


def _wait_for_row(session: str, *words: str, seconds: float = 600) -> tuple[str, str]:
    """The first screen with a line holding every one of ``words``, and that line."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        screen = _screen(session)
        for line in screen.splitlines():
            if all(word in line for word in words):
                return screen, line
        time.sleep(0.25)
    raise AssertionError(f"no line with {words!r}:\n{_screen(session)}")


def test_a_release_on_a_terminal_shows_live_rows_and_the_summary(tmp_path: Path) -> None:
    crate = _crate(tmp_path / "slowpoke")
    session = f"crossmatrix-live-{tmp_path.name}"
    done = tmp_path / "exit-code"
    command = (f"{shlex.quote(str(BIN / 'crossmatrix'))} --project {shlex.quote(str(crate))} "
               f"release; echo $? > {shlex.quote(str(done))}")
    _tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "50",
          "env", "TERM=xterm-256color", f"PATH={BIN}:{os.environ['PATH']}", "sh", "-c",
          f"{command}; sleep 600")
    try:
        # cargo is compiling the crate for the first target, held by its build script
        during, row = _wait_for_row(session, f" {TARGETS[0]} ", "Compiling slowpoke")
        assert row.lstrip().startswith("…") and " compile " in row, during
        assert re.search(r" \d+ s ", row), row  # its time so far
        waiting = next(line for line in during.splitlines() if TARGETS[1] in line)
        assert "·" in waiting and "waiting" in waiting, waiting

        (crate / "go").write_text("")
        deadline = time.monotonic() + 900
        while not done.is_file() and time.monotonic() < deadline:
            time.sleep(0.5)
        end = _screen(session)
        assert done.read_text().strip() == "0", end
        lines = end.splitlines()
        for target in TARGETS:  # the live rows, ended: ✔, done, the last group said
            assert any(line.lstrip().startswith("✔") and f" {target} " in line
                       and " done " in line and "packaged" in line for line in lines), end
        assert any(line.startswith("release: complete, 2 of 2 targets") for line in lines), end
        # then the summary table: its header and a line per target
        tail = lines[next(i for i, line in enumerate(lines) if line.startswith("release:")):]
        assert any(line.startswith("target ") and "std, compiler" in line
                   and "archive, sha256" in line for line in tail), end
        assert any(line.startswith(f"{TARGETS[0]} ") and "ran under native" in line
                   for line in tail), end
        assert any(line.startswith(f"{TARGETS[1]} ") and "ran under qemu-aarch64" in line
                   and "static" in line for line in tail), end
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True,
                       check=False)
