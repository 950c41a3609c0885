"""Bad input and missing tools: one line naming the problem and the fix, no traceback,
and the other targets' outputs untouched."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.integration.helpers import BIN, REPO, Run, command, crossmatrix, write_project

pytestmark = pytest.mark.integration


def _no_traceback(text: str) -> None:
    assert "Traceback" not in text


def test_unknown_target_is_one_line_and_exit_2(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p")
    result = crossmatrix(project, "compile", "--target", "linux-sparc")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2
    assert "linux-sparc" in lines[0]
    assert "linux-" in lines[-1]  # the closest known names
    _no_traceback(result.stderr)
    assert not (project / "dist").exists()


def test_bad_config_value_is_one_line_and_exit_2(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", 'std-providr = "debian"\n')
    result = crossmatrix(project, "targets")
    assert result.returncode == 2
    assert "std-providr" in result.stderr and "std-provider" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2
    _no_traceback(result.stderr)


def test_missing_linker_fails_that_target_only(tmp_path: Path) -> None:
    """Partial failure: the other target builds and packages, the failed one is named at the
    end, exit 4, dist/release.json says "not complete"; re-running only the failed target
    (now fixed) completes the release as if nothing had failed."""
    broken = ('[tool.crossmatrix.target.linux-aarch64-gnu]\n'
              'linker = "aarch64-nowhere-linux-gnu-gcc"\n')
    matrix = 'targets = ["linux-aarch64-gnu", "linux-x86_64-gnu"]\n'
    project = write_project(tmp_path / "p", matrix + broken)
    result = crossmatrix(project, "release", "--target", "linux-aarch64-gnu",
                         "--target", "linux-x86_64-gnu")
    assert result.returncode == 4, result.stderr[-2000:]  # some targets failed
    # cargo's own error (from the cc crate, which needs the same compiler, or from the
    # link), then the one line saying what to do
    assert ('failed to find tool "aarch64-nowhere-linux-gnu-gcc"' in result.stderr
            or "linker `aarch64-nowhere-linux-gnu-gcc` not found" in result.stderr)
    assert "the linker aarch64-nowhere-linux-gnu-gcc is missing: install it" in result.stderr
    assert "1 of 2 targets failed: linux-aarch64-gnu" in result.stderr
    _no_traceback(result.stderr)
    assert (project / "dist" / "linux-x86_64-gnu" / "SHA256SUMS").is_file()
    assert not (project / "dist" / "linux-aarch64-gnu").exists()
    assert result.stderr.rstrip().splitlines()[-2].startswith("error: 1 of 2 targets failed")
    manifest = json.loads((project / "dist" / "release.json").read_text())
    assert manifest["complete"] is False
    assert manifest["missing"] == ["linux-aarch64-gnu"]
    assert "aarch64-nowhere-linux-gnu-gcc" in manifest["failed"]["linux-aarch64-gnu"] or (
        "cargo build failed" in manifest["failed"]["linux-aarch64-gnu"])
    assert manifest["targets"] == ["linux-x86_64-gnu"]
    # fix the config, re-run only the failed target: the release is complete
    (project / "pyproject.toml").write_text(
        (project / "pyproject.toml").read_text().replace(broken, ""))
    again = crossmatrix(project, "release", "--target", "linux-aarch64-gnu")
    assert again.returncode == 0, again.stderr[-2000:]
    manifest = json.loads((project / "dist" / "release.json").read_text())
    assert manifest["complete"] is True and manifest["missing"] == []
    assert manifest["targets"] == ["linux-aarch64-gnu", "linux-x86_64-gnu"]
    assert "release: complete, 2 of 2 targets" in again.stderr


def test_missing_std_stops_before_cargo_with_the_fix(tmp_path: Path) -> None:
    # rustup only, offline: nothing can supply armv7 musl's std (unless rustup has it)
    project = write_project(
        tmp_path / "p", '[tool.crossmatrix.target.linux-armv7]\nstd-provider = "rustup"\n')
    listed = crossmatrix(project, "targets", "--target", "linux-armv7", "--json")
    if '"ready": true' in listed.stdout:
        pytest.skip("this machine's rustup has armv7-unknown-linux-musleabihf installed")
    result = crossmatrix(project, "compile", "--target", "linux-armv7")
    assert result.returncode == 3, result.stderr[-2000:]
    assert "E0463" not in result.stderr and "Compiling" not in result.stderr  # no cargo
    assert ("error: no std for armv7-unknown-linux-musleabihf from provider 'rustup'"
            in result.stderr)
    assert "rustup target add armv7-unknown-linux-musleabihf" in result.stderr
    _no_traceback(result.stderr)


def test_missing_strip_tool_exits_3_with_what_to_install(
        tmp_path: Path, matrix_release: tuple[Path, Run]) -> None:
    project, _ = matrix_release  # linux-aarch64 is compiled; now hide every strip
    staged = REPO / "crates" / "target" / "crossmatrix" / "linux-aarch64" / "bin" / "edge-agent"
    staged.unlink()  # so strip has work to do (it skips binaries it already stripped)
    only_cargo = tmp_path / "bin"
    only_cargo.mkdir()
    cargo = shutil.which("cargo")
    assert cargo is not None
    (only_cargo / "cargo").symlink_to(cargo)
    for apt in ("apt-get", "dpkg-query"):  # still a Debian host: setup is the fix here
        found = shutil.which(apt)
        assert found is not None
        (only_cargo / apt).symlink_to(found)
    try:
        result = crossmatrix(project, "strip", "--target", "linux-aarch64",
                             env={"PATH": str(only_cargo)})
    finally:  # put the staged binary back for the tests that follow
        assert crossmatrix(project, "strip", "--target", "linux-aarch64").returncode == 0
    assert result.returncode == 3, result.stderr
    assert "no strip for aarch64 binaries" in result.stderr
    assert "inv setup --target linux-aarch64" in result.stderr
    _no_traceback(result.stderr)


def test_no_protoc_stops_before_building_with_what_to_install(tmp_path: Path) -> None:
    """protoc hidden (a private mount namespace lays /dev/null over it): one line naming the
    crate that needs it and what to install, exit 3, before cargo starts."""
    if shutil.which("unshare") is None or shutil.which("protoc") is None:
        pytest.skip("needs unshare and an installed protoc to hide")
    project = write_project(tmp_path / "p", 'targets = ["linux-x86_64-gnu"]\n')
    protoc = shutil.which("protoc")
    result = command(["unshare", "-m", "sh", "-c", f'mount --bind /dev/null {protoc} && '
                      'exec "$@"', "_", str(BIN / "crossmatrix"), "--project", str(project),
                      "release", "--target", "linux-x86_64-gnu"])
    assert result.returncode == 3, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "error: telemetry-proto needs protoc (its build script runs prost-build), and none "
        "is installed",
        "  hint: install Debian's protobuf-compiler (`inv setup` does), or set "
        "PROTOC=/path/to/protoc"]
    assert not (project / "dist").exists()


def _sqlite_without_bundled(root: Path) -> Path:
    """A workspace that links the system's SQLite (libsqlite3-sys without `bundled`)."""
    import tomllib

    lock = tomllib.loads((REPO / "crates" / "Cargo.lock").read_text())
    version = next(p["version"] for p in lock["package"] if p["name"] == "libsqlite3-sys")
    (root / "src").mkdir(parents=True)
    (root / "Cargo.toml").write_text(
        '[package]\nname = "uses-system-sqlite"\nversion = "0.1.0"\nedition = "2021"\n\n'
        f'[dependencies]\nlibsqlite3-sys = "={version}"\n')
    (root / "src" / "main.rs").write_text(
        "fn main() {\n    // SAFETY: returns a static string\n"
        "    let v = unsafe { std::ffi::CStr::from_ptr(libsqlite3_sys::sqlite3_libversion()) };\n"
        '    println!("sqlite {:?}", v);\n}\n')
    lockfile = command(["cargo", "generate-lockfile", "--offline"], cwd=root)
    assert lockfile.returncode == 0, lockfile.stderr
    (root / "pyproject.toml").write_text(
        '[tool.crossmatrix]\noffline = true\ntargets = ["linux-aarch64-gnu"]\n'
        'smoke-expect-triple = false\n'
        '[tool.crossmatrix.target.linux-aarch64-gnu]\nstd-provider = "debian"\n')
    return root


def test_missing_dev_package_names_it_for_the_targets_architecture(tmp_path: Path) -> None:
    """The cross linker cannot find -lsqlite3 for arm64: one line naming libsqlite3-dev:arm64,
    the pre-build line that installs it, and the crate's bundled feature."""
    installed = command(["dpkg-query", "-W", "-f=${Status}", "libsqlite3-dev:arm64"])
    if "install ok installed" in installed.stdout:
        pytest.skip("libsqlite3-dev:arm64 is installed here: nothing is missing")
    project = _sqlite_without_bundled(tmp_path / "ws")
    result = crossmatrix(project, "release")
    assert result.returncode == 1, result.stderr[-2000:]
    assert "cannot find -lsqlite3" in result.stderr  # cargo's (the linker's) own words
    assert result.stderr.rstrip().splitlines()[-2:] == [
        "error: linux-aarch64-gnu: cargo build failed (exit 101)",
        "  hint: the C library sqlite3 is not installed for aarch64-unknown-linux-gnu: install "
        "libsqlite3-dev:arm64 (pre-build = [\"apt-get install -y libsqlite3-dev:$DEB_ARCH\"] "
        "in [tool.crossmatrix.target.linux-aarch64-gnu]), or enable libsqlite3-sys's "
        "`bundled` feature"]
    _no_traceback(result.stderr)
    assert not (project / "dist" / "linux-aarch64-gnu").exists()
