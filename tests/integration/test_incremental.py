"""Warm builds skip the steps whose inputs did not change — and only those."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.helpers import crossmatrix

pytestmark = pytest.mark.integration

MAIN = 'fn main() {{ println!("hello {} (x86_64-unknown-linux-gnu)", {}); }}\n'


def _crate(root: Path, value: int) -> Path:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "Cargo.toml").write_text(
        '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n')
    (root / "src" / "main.rs").write_text(MAIN.format("{}", value))
    (root / "pyproject.toml").write_text(
        '[tool.crossmatrix]\noffline = true\ntargets = ["linux-x86_64-gnu"]\n')
    return root


def test_second_release_skips_everything_and_a_change_redoes_it(tmp_path: Path) -> None:
    crate = _crate(tmp_path / "hello", 1)
    first = crossmatrix(crate, "release")
    assert first.returncode == 0, first.stderr[-3000:]
    info = json.loads((crate / "dist" / "linux-x86_64-gnu" / "build_info.json").read_text())

    again = crossmatrix(crate, "-v", "release")  # -v: each step's own lines, the commands
    assert again.returncode == 0, again.stderr[-3000:]
    for step in ("strip", "verify", "run"):
        assert f"linux-x86_64-gnu {step}: unchanged since the last run" in again.stderr
    assert "package: " in again.stderr and "is up to date; skipped" in again.stderr
    assert "qemu" not in again.stderr and "+ file -b" not in again.stderr

    _crate(crate, 2)  # a real change: every later step must run again
    changed = crossmatrix(crate, "-v", "release")
    assert changed.returncode == 0, changed.stderr[-3000:]
    assert "unchanged since the last run" not in changed.stderr
    assert "run hello (native): hello 2 (x86_64-unknown-linux-gnu)" in changed.stderr
    new = json.loads((crate / "dist" / "linux-x86_64-gnu" / "build_info.json").read_text())
    assert new["archive"]["sha256"] != info["archive"]["sha256"]


def test_a_damaged_dist_is_rewritten_not_trusted(tmp_path: Path) -> None:
    crate = _crate(tmp_path / "hello", 3)
    assert crossmatrix(crate, "release").returncode == 0
    archive = next((crate / "dist" / "linux-x86_64-gnu").glob("*.tar.gz"))
    good = archive.read_bytes()
    archive.write_bytes(good[:100])  # truncated, as by a full disk
    again = crossmatrix(crate, "-v", "release")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "is up to date" not in again.stderr
    assert archive.read_bytes() == good  # deterministic: the same bytes come back


def test_after_an_edit_only_the_rebuilt_program_is_verified_and_run_again(
        tmp_path: Path) -> None:
    """Two programs, one edited: cargo relinks that one, and verify and run check it alone
    (the other's results come from the last records, matched by its sha256)."""
    crate = _crate(tmp_path / "two", 1)
    (crate / "src" / "main.rs").unlink()
    (crate / "src" / "bin").mkdir()
    for name, value in (("one", 1), ("two", 1)):
        (crate / "src" / "bin" / f"{name}.rs").write_text(MAIN.format("{}", value))
    first = crossmatrix(crate, "release")
    assert first.returncode == 0, first.stderr[-3000:]
    (crate / "src" / "bin" / "two.rs").write_text(MAIN.format("{}", 2))
    edited = crossmatrix(crate, "-v", "release")
    assert edited.returncode == 0, edited.stderr[-3000:]
    assert "linux-x86_64-gnu verify one: unchanged; checked before" in edited.stderr
    assert "linux-x86_64-gnu run one: unchanged; ran before (native)" in edited.stderr
    assert "linux-x86_64-gnu verify two\n" in edited.stderr
    assert "run two (native): hello 2 (x86_64-unknown-linux-gnu)" in edited.stderr
    info = json.loads((crate / "dist" / "linux-x86_64-gnu" / "build_info.json").read_text())
    assert sorted(a["name"] for a in info["artifacts"] if a["run"]["ran"]) == ["one", "two"]
