"""Proof of no network: after `setup` (which runs `cargo fetch`), the whole default matrix
builds, verifies, runs and packages inside `unshare -n` — a network namespace with no
interface but a downed loopback — from an empty target folder and with a cargo home that
only setup filled; and std itself is built from source there, into an empty cache, with
an empty cargo home."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.helpers import BIN, FORCED_PROVIDERS, REPO, crossmatrix, hello_project
from tooling.matrix.targets import TABLE, by_name
from tooling.std import sysroot

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
        ["unshare", "-n", str(BIN / "crossmatrix"), "--project", str(project), "-vv",
         "release"],  # -vv: cargo's own output too
        capture_output=True, text=True, env={**os.environ, **env}, timeout=3000, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Compiling clap" in result.stderr  # really built, not found up to date
    manifest = json.loads((project / "dist" / "release.json").read_text())
    assert manifest["complete"] is True
    assert manifest["targets"] == sorted(t.name for t in TABLE)


@pytest.mark.skipif(not _can_unshare(), reason="needs `unshare -n` (root or user namespaces)")
def test_std_is_built_from_source_with_the_network_cut(tmp_path: Path) -> None:
    """An empty std cache inside a checkout whose cargo config would break any build under
    it, an empty cargo home, the panic strategy set by a variable: std is built from the
    vendored source with no network, clear of that config, for that strategy, and the
    program is built with it and runs."""
    target = by_name()["linux-x86_64"]
    checkout = tmp_path / "checkout"  # like the generated GitLab pipeline's cache
    (checkout / ".cargo").mkdir(parents=True)
    (checkout / ".cargo" / "config.toml").write_text('[build]\nrustc-wrapper = "/bin/false"\n')
    cache = checkout / ".cache" / "crossmatrix"
    temp = tmp_path / "tmp"
    temp.mkdir()
    project = hello_project(tmp_path / "hello", target.name, target.triple)
    env = {**os.environ, "CROSSMATRIX_CACHE_DIR": str(cache), "TMPDIR": str(temp),
           "CARGO_HOME": str(tmp_path / "empty-cargo-home"),
           "CARGO_PROFILE_RELEASE_PANIC": "abort"}
    result = subprocess.run(
        ["unshare", "-n", str(BIN / "crossmatrix"), "--project", str(project), "-vv",
         "release"],  # -vv: cargo's own output too
        capture_output=True, text=True, env=env, timeout=3000, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    assert f"building std for {target.triple} from " in result.stderr
    entry_name_start = f"{target.triple}-"
    assert f" in {temp}/.{entry_name_start}" in result.stderr  # not under the checkout
    assert list(temp.glob(f".{entry_name_start}*")) == []  # and its work folder is gone
    (entry,) = (cache / "sysroots").iterdir()
    assert sysroot.problem(entry) is None
    marker = json.loads((entry / sysroot.MARKER).read_text())
    # the panic strategy reached std as crossmatrix's choice (the program is built with it),
    # not as a variable the std build inherited
    assert 'panic = "abort"' in marker["inputs"]["manifest"]
    assert "CARGO_PROFILE_RELEASE_PANIC" not in marker["inputs"]["env"]
    assert "rust-web-src" in marker["inputs"]["source version"]
    info = json.loads((project / "dist" / target.name / "build_info.json").read_text())
    assert info["std_sysroot"] == entry.name
    (hello,) = info["artifacts"]
    assert f"hello ({target.triple})" in hello["run"]["output"]
