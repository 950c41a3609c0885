"""Deploying the real release of the matrix on this machine, and FROM scratch images of
the static binaries built and run by the local Docker engine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

from tests.integration.helpers import PROGRAMS, Run, command, crossmatrix

pytestmark = pytest.mark.integration


def test_deploy_picks_checks_installs_and_rolls_back(matrix_release: tuple[Path, Run],
                                                    tmp_path: Path) -> None:
    project, release = matrix_release
    assert release.returncode == 0
    listed = crossmatrix(project, "deploy", "--list")
    assert listed.returncode == 0, listed.stderr
    for name in ("linux-x86_64", "linux-aarch64", "linux-armv7", "linux-riscv64-gnu"):
        assert name in listed.stdout
    dest = tmp_path / "opt" / "edge-tools"
    first = crossmatrix(project, "deploy", "--dest", str(dest))
    assert first.returncode == 0, first.stderr
    assert "deploy: linux-x86_64-gnu fits x86_64" in first.stderr  # a glibc userland
    assert "smoke test: edge-agent 0.1.0 (x86_64-unknown-linux-gnu)" in first.stderr
    installed = (dest / "current").resolve()
    ran = subprocess.run([str(next(installed.glob("*/edge-agent"))), "--version"],
                         capture_output=True, text=True, check=True)
    assert "x86_64-unknown-linux-gnu" in ran.stdout

    forced = crossmatrix(project, "deploy", "--dest", str(dest), "--force-arch", "linux-aarch64")
    assert forced.returncode == 0, forced.stderr
    assert "will not run here" in forced.stderr and "smoke test skipped" in forced.stderr
    assert (dest / "previous").resolve() == installed

    back = crossmatrix(project, "deploy", "--dest", str(dest), "--rollback")
    assert back.returncode == 0, back.stderr
    assert (dest / "current").resolve() == installed
    assert crossmatrix(project, "deploy", "--dest", str(dest), "--test-only").returncode == 0


def test_tampered_release_is_refused_with_one_line(matrix_release: tuple[Path, Run],
                                                  tmp_path: Path) -> None:
    project, _ = matrix_release
    copy = tmp_path / "dist"
    shutil.copytree(project / "dist" / "linux-x86_64", copy / "linux-x86_64")
    archive = next((copy / "linux-x86_64").glob("*.tar.gz"))
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    dest = tmp_path / "opt"
    result = crossmatrix(project, "deploy", "--from", str(copy), "--dest", str(dest))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "does not match SHA256SUMS" in errors[0]
    assert "Traceback" not in result.stderr
    assert not (dest / "current").exists()


DEBIAN_PYTHON = Path("/usr/bin/python3")


def test_debian_python_deploys_the_real_release_and_its_docker_context(
        matrix_release: tuple[Path, Run], tmp_path: Path) -> None:
    """Debian 12's own Python (3.11.2: tarfile has no extraction filters) runs deploy and
    docker-context; it has no third-party packages, so this venv's pure-Python ones
    (invoke, filelock) go on PYTHONPATH, while the standard library is Debian's."""
    if not DEBIAN_PYTHON.is_file():
        pytest.skip(f"{DEBIAN_PYTHON} (Debian's own Python) is not here")
    project, release = matrix_release
    assert release.returncode == 0
    root = Path(__file__).resolve().parents[2]
    env = {"PYTHONPATH": os.pathsep.join([str(root), sysconfig.get_paths()["purelib"]]),
           "PYTHONNOUSERSITE": "1"}
    main = [str(DEBIAN_PYTHON), "-c", "from tooling.cli.main import main; main()",
            "--project", str(project)]
    dest = tmp_path / "opt"
    deployed = command([*main, "deploy", "--dest", str(dest), "--force-arch", "linux-x86_64"],
                       env=env)
    assert deployed.returncode == 0, deployed.stderr
    assert "smoke test: edge-agent 0.1.0 (x86_64-unknown-linux-musl)" in deployed.stderr
    assert os.readlink(dest / "current").startswith("releases/linux-x86_64-")
    context = command([*main, "docker-context", "--target", "linux-x86_64"], env=env)
    assert context.returncode == 0, context.stderr
    manifest = project / "docker" / "binaries" / "amd64"
    check = command(["sha256sum", "--strict", "-c", "MANIFEST.txt"], cwd=manifest)
    assert check.returncode == 0, check.stdout + check.stderr


def _engine() -> bool:
    docker = shutil.which("docker")
    return docker is not None and subprocess.run(
        [docker, "info"], capture_output=True, check=False, timeout=60).returncode == 0


def test_scratch_images_run_the_static_binaries(matrix_release: tuple[Path, Run]) -> None:
    if not _engine():
        pytest.skip("NO DOCKER ENGINE REACHABLE: the container tests did NOT run here")
    project, _ = matrix_release
    result = crossmatrix(project, "docker-build", "--target", "linux-x86_64",
                         "--target", "linux-aarch64", "--target", "linux-x86_64-gnu")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "linux-x86_64-gnu is dynamically linked" in result.stderr
    assert "crossmatrix/edge-tools:linux-x86_64: edge-agent 0.1.0 (x86_64-unknown-linux-musl)" \
        in result.stderr
    if not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
        # the engine cannot run arm64 here: that must be said, never claimed as a run
        assert ("crossmatrix/edge-tools:linux-aarch64; not run" in result.stderr
                or "crossmatrix/edge-tools:linux-aarch64 not built" in result.stderr)
        assert "edge-agent 0.1.0 (aarch64-unknown-linux-musl)" not in result.stderr
    manifest = project / "docker" / "binaries" / "amd64"
    check = command(["sha256sum", "--strict", "-c", "MANIFEST.txt"], cwd=manifest)
    assert check.returncode == 0, check.stdout + check.stderr
    dockerfile = (project / "docker" / "Dockerfile.linux-x86_64").read_text()
    assert dockerfile.splitlines()[1] == "FROM scratch"
    binaries = (manifest / "MANIFEST.txt").read_text().splitlines()
    assert len(binaries) == len(PROGRAMS)
    history = command(["docker", "image", "inspect", "--format", "{{len .RootFS.Layers}}",
                       "crossmatrix/edge-tools:linux-x86_64"])
    # one layer per binary, then the manifest
    assert history.returncode == 0 and int(history.stdout.strip()) == len(binaries) + 1
    command(["docker", "rmi", "-f", "crossmatrix/edge-tools:linux-x86_64",
             "crossmatrix/edge-tools:linux-aarch64"])
