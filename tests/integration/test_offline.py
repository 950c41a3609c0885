"""Proof of no network: after `setup` (which runs `cargo fetch`), the whole default matrix
builds, verifies, runs and packages inside `unshare -n` — a network namespace with no
interface but a downed loopback — from an empty target folder and with a cargo home that
only setup filled."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.helpers import BIN, FORCED_PROVIDERS, REPO, crossmatrix
from tooling.matrix.targets import TABLE

pytestmark = pytest.mark.integration


def _can_unshare() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_unshare(), reason="needs `unshare -n` (root or user namespaces)")
def test_default_matrix_builds_with_the_network_cut(tmp_path: Path) -> None:
    crates = tmp_path / "crates"
    shutil.copytree(REPO / "crates", crates, ignore=shutil.ignore_patterns("target"))
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        f'[tool.crossmatrix]\nname = "edge-tools"\nworkspace = "{crates}"\noffline = true\n'
        + FORCED_PROVIDERS)
    cargo_home = tmp_path / "cargo-home"
    env = {"CARGO_HOME": str(cargo_home)}
    setup = crossmatrix(project, "setup", env=env)  # with the network: installs, fetches
    assert setup.returncode == 0, setup.stderr[-3000:]
    assert "cargo fetch" in setup.stderr
    assert any((cargo_home / "registry" / "cache").rglob("clap-*.crate"))
    # the network is gone: no interface at all in this namespace
    links = subprocess.run(["unshare", "-n", "cat", "/proc/net/dev"], capture_output=True,
                           text=True, check=True).stdout
    assert [line.split(":")[0].strip() for line in links.splitlines()[2:]] == ["lo"]
    result = subprocess.run(
        ["unshare", "-n", str(BIN / "crossmatrix"), "--project", str(project), "release"],
        capture_output=True, text=True, env={**os.environ, **env}, timeout=3000, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Compiling clap" in result.stderr  # really built, not found up to date
    manifest = json.loads((project / "dist" / "release.json").read_text())
    assert manifest["complete"] is True
    assert manifest["targets"] == sorted(t.name for t in TABLE)
