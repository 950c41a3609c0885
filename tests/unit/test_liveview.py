"""The live view's rows, drawn into a string (the tmux test sees them on a real terminal)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from tooling.util import console
from tooling.util.liveview import LiveView


def _drawn(view: LiveView) -> list[str]:
    out = Console(file=io.StringIO(), width=90, force_terminal=False)
    out.print(view)
    assert isinstance(out.file, io.StringIO)
    return [line.rstrip() for line in out.file.getvalue().splitlines()]


def test_rows_show_the_step_what_cargo_compiles_and_how_each_target_ended() -> None:
    view = LiveView(["linux-x86_64-gnu", "linux-aarch64", "windows-x86_64"],
                    console=Console(file=io.StringIO(), width=90))
    view.started("linux-x86_64-gnu", "compile")
    view.activity("linux-x86_64-gnu", "   Compiling serde v1.0.228\n")
    view.activity("linux-x86_64-gnu", "warning: unused variable\n")  # not a status line
    view.activity("linux-x86_64-gnu", "   Compiling app v0.1.0 (/a/very/long/path/app)\n")
    view.started("linux-aarch64", "verify")
    view.finished("linux-aarch64", ok=False)
    header, first, second, third = _drawn(view)
    assert header.split() == ["target", "step", "time", "now"]
    assert first.startswith("…  linux-x86_64-gnu  compile")
    assert first.endswith("Compiling app v0.1.0")  # the crate, not its folder
    assert second.startswith("✗  linux-aarch64") and "failed in verify" in second
    assert third.startswith("·  windows-x86_64") and "waiting" in third


def test_a_long_line_is_cut_to_the_room_left_not_the_columns() -> None:
    view = LiveView(["linux-x86_64-gnu"], console=Console(file=io.StringIO(), width=60))
    view.started("linux-x86_64-gnu", "package")
    view.progress("linux-x86_64-gnu", "packaged " + "x" * 200)
    view.finished("linux-x86_64-gnu", ok=True)
    row = _drawn(view)[1]
    assert row.startswith("✔  linux-x86_64-gnu  done") and row.endswith("…")


def test_the_live_view_is_only_for_a_terminal_at_the_default_verbosity(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("CROSSMATRIX_VERBOSE", raising=False)
    monkeypatch.delenv("CROSSMATRIX_LIVE", raising=False)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert console.live_wanted()
    monkeypatch.setenv("CROSSMATRIX_VERBOSE", "1")
    assert not console.live_wanted()  # -v: every command, as lines
    monkeypatch.delenv("CROSSMATRIX_VERBOSE")
    monkeypatch.setenv("CROSSMATRIX_LIVE", "0")
    assert not console.live_wanted()
    monkeypatch.delenv("CROSSMATRIX_LIVE")
    monkeypatch.setattr("sys.stderr.isatty", lambda: False)
    assert not console.live_wanted()  # CI: plain lines
