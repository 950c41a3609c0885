"""The corpus reads what each target did from the release's own records and crossmatrix's
closing error lines (bench/corpus.py)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def _corpus() -> ModuleType:
    spec = importlib.util.spec_from_file_location("corpus", REPO / "bench" / "corpus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["corpus"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _info(dist: Path, target: str, runs: list[dict[str, object]]) -> None:
    (dist / target).mkdir(parents=True)
    (dist / target / "build_info.json").write_text(json.dumps(
        {"artifacts": [{"kind": "bin", "run": r} for r in runs]}))


STDERR = """linux-aarch64 compile …
error: windows-x86_64: cargo build failed (exit 101)
  hint: aws-lc-sys needs nasm to build for windows-x86_64, and none is installed
release: NOT complete, 2 of 3 targets
"""


def test_each_target_gets_what_its_records_say(tmp_path: Path) -> None:
    corpus = _corpus()
    dist = tmp_path / "dist"
    _info(dist, "linux-aarch64", [{"ran": True, "runner": "qemu-aarch64", "output": "x"}])
    _info(dist, "macos-aarch64", [{"ran": False, "runner": None,
                                   "output": "verified structurally, not run (no macOS)"}])
    (dist / "release.json").write_text(json.dumps(
        {"failed": {"windows-x86_64": "windows-x86_64: cargo build failed (exit 101)"}}))
    cells = corpus.cells(tmp_path, STDERR, 4, ["linux-aarch64", "macos-aarch64",
                                               "windows-x86_64"])
    assert cells["linux-aarch64"] == corpus.Cell("ran", "1 program(s): qemu-aarch64")
    assert cells["macos-aarch64"] == corpus.Cell(
        "verified", "not run: verified structurally, not run (no macOS)")
    assert cells["windows-x86_64"].status == "failed"
    assert "needs nasm" in cells["windows-x86_64"].detail


def test_a_run_stopped_before_any_target_says_crossmatrixs_last_error(tmp_path: Path) -> None:
    corpus = _corpus()
    stderr = ("error: libz-ng-sys needs cmake to build for linux-x86_64, and none is installed\n"
              "  hint: run `inv setup --target linux-x86_64` (installs cmake)\n")
    cells = corpus.cells(tmp_path, stderr, 3, ["linux-x86_64", "linux-aarch64"])
    assert {c.status for c in cells.values()} == {"stopped"}
    assert cells["linux-x86_64"].detail == (
        "libz-ng-sys needs cmake to build for linux-x86_64, and none is installed — run "
        "`inv setup --target linux-x86_64` (installs cmake)")


def test_a_failed_setup_stops_every_target_and_ignores_an_old_release(tmp_path: Path) -> None:
    """The corpus runs setup before release, as a new user does; when setup fails nothing is
    released, so an earlier run's dist/release.json must not be read as this run's."""
    corpus = _corpus()
    dist = tmp_path / "dist"
    _info(dist, "linux-x86_64", [{"ran": True, "runner": None, "output": "x"}])
    (dist / "release.json").write_text(json.dumps({"failed": {}}))
    stderr = ("error: apt-get could not install g++-aarch64-linux-gnu\n"
              "  hint: check the Debian mirror\n")
    cells = corpus.cells(tmp_path, stderr, 3, ["linux-x86_64"], stage="setup")
    assert cells["linux-x86_64"] == corpus.Cell(
        "stopped", "setup: apt-get could not install g++-aarch64-linux-gnu — check the Debian "
        "mirror")


def test_the_table_has_only_the_listed_entries() -> None:
    """A pinned version replaced in bench/corpus.toml (tealdeer 1.9.1, whose lock file pins
    a release this registry lacks) leaves no stale row behind."""
    corpus = _corpus()
    listed = [e for e in corpus.entries() if e.name == "sd"]
    store = {"crates": {listed[0].key: {"kind": "binary", "why": "w", "command": "c",
                                        "date": "d", "cells": {"linux-x86_64": {
                                            "status": "ran", "detail": "natively"}}},
                        "gone@1.0.0": {"kind": "binary", "why": "w", "command": "c",
                                       "date": "d", "cells": {}}}}
    table = corpus.render(store, listed, ["linux-x86_64"])
    assert f"| `{listed[0].key}` | binary | ✔ ran |" in table
    assert "gone@1.0.0" not in table
