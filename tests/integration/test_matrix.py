"""The whole default matrix, built offline, verified, run and packaged — then checked again
from the outside: the archives are unpacked and their binaries run and inspected with
tools crossmatrix does not own (sha256sum, tar, file, qemu)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.integration.helpers import REPO, Run, command, crossmatrix
from tooling import runner
from tooling.targets import TABLE, Target

pytestmark = pytest.mark.integration


def _dist(matrix_release: tuple[Path, Run], name: str) -> Path:
    project, result = matrix_release
    assert result.returncode == 0, result.stderr[-3000:]
    return project / "dist" / name


def _info(dist: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((dist / "build_info.json").read_text())
    return data


@pytest.mark.parametrize("target", TABLE, ids=lambda t: t.name)
def test_release_is_complete_and_checksummed(matrix_release: tuple[Path, Run],
                                             target: Target) -> None:
    dist = _dist(matrix_release, target.name)
    check = command(["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=dist)
    assert check.returncode == 0, check.stdout + check.stderr
    info = _info(dist)
    assert info["triple"] == target.triple
    assert info["linkage"] == target.linkage
    assert info["std_provider"] in ("rustup", "debian", "build-std")
    archive = info["archive"]
    assert isinstance(archive, dict)
    assert (dist / archive["file"]).is_file()
    names = {a["name"] for a in info["artifacts"]}  # type: ignore[attr-defined]
    assert names == {"edge-agent", "fleet-report", "sensor-crc"}


@pytest.mark.parametrize("target", TABLE, ids=lambda t: t.name)
def test_unpacked_binaries_run_and_are_what_the_target_promises(
        matrix_release: tuple[Path, Run], target: Target, tmp_path: Path) -> None:
    dist = _dist(matrix_release, target.name)
    info = _info(dist)
    archive = info["archive"]
    assert isinstance(archive, dict)
    with tarfile.open(dist / archive["file"]) as tar:
        tar.extractall(tmp_path, filter="data")
    for artifact in info["artifacts"]:  # type: ignore[attr-defined]
        binary = tmp_path / artifact["path"]
        described = subprocess.run(["file", "-b", str(binary)], capture_output=True, text=True,
                                   check=True).stdout
        assert "stripped" in described and "not stripped" not in described
        if target.is_static:
            assert "statically linked" in described or "static-pie" in described
            assert artifact["needed"] == []
        else:
            assert "dynamically linked" in described
            assert artifact["highest_glibc"] is not None
        ran = subprocess.run([*runner.prefix(target), str(binary), "--version"],
                             capture_output=True, text=True, timeout=120, check=False)
        assert ran.returncode == 0, ran.stderr
        assert target.triple in ran.stdout


def test_providers_are_the_offline_ones_and_recorded(matrix_release: tuple[Path, Run]) -> None:
    providers = {t.name: _info(_dist(matrix_release, t.name))["std_provider"] for t in TABLE}
    assert providers == {
        "linux-x86_64": "build-std", "linux-aarch64": "build-std", "linux-armv7": "build-std",
        "linux-x86_64-gnu": "rustup", "linux-aarch64-gnu": "debian",
        "linux-riscv64-gnu": "build-std",
    }
    _, result = matrix_release
    for name, provider in providers.items():
        assert f"{name} std: {provider}" in result.stderr  # printed, not only recorded
        assert f"{name} compiler: rustc " in result.stderr


def test_release_leaves_the_projects_files_alone(matrix_release: tuple[Path, Run]) -> None:
    project, result = matrix_release
    assert result.returncode == 0
    assert (project / "pyproject.toml").read_text().startswith("[tool.crossmatrix]")
    assert not (project / ".cargo").exists()  # the child's environment, not the user's files
    assert not (REPO / "crates" / ".cargo").exists()


def test_packaging_again_gives_the_same_bytes(matrix_release: tuple[Path, Run]) -> None:
    project, _ = matrix_release
    dist = project / "dist" / "linux-aarch64"
    before = (dist / "SHA256SUMS").read_bytes()
    shutil.rmtree(dist)  # so package really writes it again instead of finding it up to date
    again = crossmatrix(project, "package", "--target", "linux-aarch64")
    assert again.returncode == 0, again.stderr
    assert (dist / "SHA256SUMS").read_bytes() == before


def test_build_std_sysroot_is_reused_not_rebuilt(matrix_release: tuple[Path, Run],
                                                 tmp_path: Path) -> None:
    """A different crate in a different project reuses the cached std: no std build runs."""
    _dist(matrix_release, "linux-aarch64")
    crate = tmp_path / "other"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(
        '[package]\nname = "probe"\nversion = "0.2.0"\nedition = "2021"\n')
    (crate / "src" / "main.rs").write_text(
        'fn main() { println!("probe (aarch64-unknown-linux-musl)"); }\n')
    (crate / "pyproject.toml").write_text(
        '[tool.crossmatrix]\noffline = true\ntargets = ["linux-aarch64"]\n'
        '[tool.crossmatrix.target.linux-aarch64]\nstd-provider = "build-std"\n')
    result = crossmatrix(crate, "release")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "std: build-std" in result.stderr
    assert "building std" not in result.stderr
    assert "-Zbuild-std" not in result.stderr
    info = json.loads((crate / "dist" / "linux-aarch64" / "build_info.json").read_text())
    assert info["std_provider"] == "build-std"
    assert info["std_sysroot"].startswith("aarch64-unknown-linux-musl-")
