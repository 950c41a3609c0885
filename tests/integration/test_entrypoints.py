"""nox sessions and invoke tasks come from the one target table, and work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.helpers import BIN, FORCED_PROVIDERS, REPO, Run, command, write_project
from tooling.matrix.targets import TABLE, by_name
from tooling.pymod import modules

pytestmark = pytest.mark.integration


def test_nox_lists_one_build_session_per_target() -> None:
    result = command([str(BIN / "nox"), "-l", "--json"], cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    sessions = {s["session"]: s for s in json.loads(result.stdout)}
    for target in TABLE:
        assert f"build-{target.name}" in sessions
        assert target.triple in sessions[f"build-{target.name}"]["description"]


@pytest.mark.parametrize("name", ["linux-aarch64", "windows-x86_64", "macos-aarch64"])
def test_nox_build_session_runs_the_pipeline(tmp_path: Path, name: str,
                                             matrix_release: tuple[Path, Run]) -> None:
    project = write_project(tmp_path / "p", FORCED_PROVIDERS)
    result = command([str(BIN / "nox"), "-s", f"build-{name}", "--", str(project)],
                     cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Creating virtual environment" not in result.stderr
    dist = project / "dist" / name
    assert command(["sha256sum", "-c", "SHA256SUMS"], cwd=dist).returncode == 0
    # the session built its own target (and build_core's module, except on musl) only
    target = by_name()[name]
    layout = [] if target.libc == "musl" else [modules.folder_name("build_core")]
    assert sorted(p.name for p in (project / "dist").iterdir() if p.is_dir()) == sorted(
        [name, *layout, "logs"])
    assert [p.name for p in (project / "dist" / "logs").iterdir()] == [f"{name}.log"]
    if layout:
        builds = json.loads((project / "dist" / layout[0] / "build_info.json").read_text())
        assert list(builds["builds"]) == [target.platform_arch]
    manifest = json.loads((project / "dist" / "release.json").read_text())
    assert manifest["targets"] == [name] and manifest["complete"] is False  # one of ten


def test_nox_tags_select_from_the_table() -> None:
    result = command([str(BIN / "nox"), "-l", "--json", "-t", "musl"], cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    chosen = {s["session"] for s in json.loads(result.stdout)}
    musl = [t.name for t in TABLE if t.libc == "musl"]
    assert chosen == {f"{kind}-{name}" for kind in ("build", "test") for name in musl}


def test_nox_lists_one_test_session_per_target() -> None:
    result = command([str(BIN / "nox"), "-l", "--json", "-t", "test"], cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    sessions = {s["session"]: s for s in json.loads(result.stdout)}
    assert list(sessions) == [f"test-{t.name}" for t in TABLE]
    for target in TABLE:
        assert sessions[f"test-{target.name}"]["tags"] == ["test", *target.tags]
        assert target.triple in sessions[f"test-{target.name}"]["description"]


def test_setup_is_idempotent_after_bootstrap() -> None:
    """bootstrap.sh ran `inv setup`; a second run has nothing left to install."""
    result = command([str(BIN / "inv"), "setup", "--dry-run"], cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    installs = [line for line in result.stderr.splitlines() if "apt-get install" in line]
    # only an optional package the archive could not provide may be left (wine32:i386 when
    # Debian's i386 lists are out of step); everything a build needs is there
    assert all(line.endswith("(optional)") for line in installs), installs
    assert installs or "already installed" in result.stderr


def test_inv_lists_every_step() -> None:
    result = command([str(BIN / "inv"), "--list"], cwd=REPO, timeout=120)
    assert result.returncode == 0
    for task in ("setup", "targets", "install-targets", "configure", "compile", "strip",
                 "verify", "run", "package", "release", "test"):
        assert task in result.stdout


def test_configure_lets_plain_cargo_link_and_run(tmp_path: Path) -> None:
    """After `configure`, plain cargo uses the written linker and qemu runner."""
    crate = tmp_path / "hello"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(
        '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n')
    (crate / "src" / "main.rs").write_text('fn main() { println!("hello from aarch64"); }\n')
    (crate / ".cargo").mkdir()
    (crate / ".cargo" / "config.toml").write_text("# mine\n[build]\njobs = 2\n")
    (crate / "pyproject.toml").write_text('[tool.crossmatrix]\ntargets = ["linux-aarch64-gnu"]\n')
    first = command([str(BIN / "crossmatrix"), "--project", str(crate), "configure"])
    assert first.returncode == 0, first.stderr
    text = (crate / ".cargo" / "config.toml").read_text()
    assert text.startswith("# mine\n[build]\njobs = 2\n")
    assert 'linker = "aarch64-linux-gnu-gcc" # crossmatrix' in text
    second = command([str(BIN / "crossmatrix"), "--project", str(crate), "configure"])
    assert second.returncode == 0
    assert (crate / ".cargo" / "config.toml").read_text() == text
    assert "already up to date" in second.stderr
    ran = command(["/usr/bin/cargo", "run", "--target", "aarch64-unknown-linux-gnu"],
                  cwd=crate, env={"RUSTC": "/usr/bin/rustc"})
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "qemu-aarch64" in ran.stderr  # cargo ran it through the configured runner
    assert "hello from aarch64" in ran.stdout
