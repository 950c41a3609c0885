"""Reproducible output: two clean builds of the sample workspace in two different folders,
with a different umask, time zone and locale, give byte-identical archives, SHA256SUMS
and build_info.json — a static musl target and a Windows one (zip)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.helpers import BIN, REPO, providers

pytestmark = pytest.mark.integration

TARGETS = ["linux-aarch64", "windows-x86_64"]
PROVIDERS = providers(dict.fromkeys(TARGETS, "build-std"))


def _build(root: Path, umask: int, tz: str, locale: str) -> Path:
    crates = root / "src" / "crates"
    shutil.copytree(REPO / "crates", crates, ignore=shutil.ignore_patterns("target"))
    (root / "pyproject.toml").write_text(
        f'[tool.crossmatrix]\nname = "edge-tools"\nworkspace = "src/crates"\noffline = true\n'
        f"targets = {TARGETS!r}\n".replace("'", '"') + PROVIDERS)
    env = {**os.environ, "TZ": tz, "LC_ALL": locale, "LANG": locale,
           "SOURCE_DATE_EPOCH": "1700000000"}
    env.pop("CARGO_TARGET_DIR", None)
    result = subprocess.run(
        ["sh", "-c", f'umask {umask:03o} && exec "$@"', "sh",
         str(BIN / "crossmatrix"), "--project", str(root), "release"],
        capture_output=True, text=True, env=env, timeout=3000, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return root / "dist"


def test_two_clean_builds_in_different_folders_are_byte_identical(tmp_path: Path) -> None:
    first = _build(tmp_path / "a", 0o022, "UTC", "C.UTF-8")
    second = _build(tmp_path / "elsewhere" / "deeper" / "b", 0o077, "Pacific/Auckland", "C")
    for target in TARGETS:
        files = sorted(p.name for p in (first / target).iterdir())
        assert files == sorted(p.name for p in (second / target).iterdir())
        assert any(name.endswith((".tar.gz", ".zip")) for name in files)
        for name in files:
            assert (first / target / name).read_bytes() == (second / target / name).read_bytes(), (
                f"{target}/{name} differs")
    assert (first / "release.json").read_bytes() == (second / "release.json").read_bytes()
