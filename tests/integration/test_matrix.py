"""The whole default matrix, built offline, verified, run and packaged — then checked again
from the outside: the archives are unpacked and their binaries run and inspected with
tools crossmatrix does not own (sha256sum, tar, file, qemu)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import PROGRAMS, RELEASE_LOGS, REPO, Run, command, crossmatrix
from tooling.matrix.targets import TABLE, Target
from tooling.platforms import linux, macos, platform_of, runner, windows

pytestmark = pytest.mark.integration


def _dist(matrix_release: tuple[Path, Run], name: str) -> Path:
    project, result = matrix_release
    assert result.returncode == 0, result.stderr[-3000:]
    return project / "dist" / name


def _info(dist: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((dist / "build_info.json").read_text())
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
    names = {a["name"] for a in info["artifacts"]}
    platform = platform_of(target)
    assert names == {f"{n}{platform.exe_suffix}" for n in PROGRAMS} | MODULE_FILES[target.name]
    assert archive["file"].endswith(platform.archive_suffix)


#: build_core's cdylib per target: none on musl (rustc links those statically)
MODULE_FILES = {t.name: ({"build_core.dll"} if t.os == "windows" else {"libbuild_core.dylib"}
                         if t.os == "macos" else set() if t.libc == "musl"
                         else {"libbuild_core.so"}) for t in TABLE}


def _programs(info: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in info["artifacts"] if a["kind"] == "bin"]


LINUX = [t for t in TABLE if t.is_linux]
WINDOWS = [t for t in TABLE if t.os == "windows"]
MACOS = [t for t in TABLE if t.os == "macos"]


def _unpack(dist: Path, info: dict[str, object], into: Path) -> None:
    archive = info["archive"]
    assert isinstance(archive, dict)
    if archive["file"].endswith(".zip"):
        with zipfile.ZipFile(dist / archive["file"]) as zipped:
            assert zipped.testzip() is None
            zipped.extractall(into)
    else:
        with tarfile.open(dist / archive["file"]) as tar:
            tar.extractall(into, filter="data")


@pytest.mark.parametrize("target", LINUX, ids=lambda t: t.name)
def test_unpacked_binaries_run_and_are_what_the_target_promises(
        matrix_release: tuple[Path, Run], target: Target, tmp_path: Path) -> None:
    dist = _dist(matrix_release, target.name)
    info = _info(dist)
    _unpack(dist, info, tmp_path)
    for artifact in _programs(info):
        binary = tmp_path / str(artifact["path"])
        described = subprocess.run(["file", "-b", str(binary)], capture_output=True, text=True,
                                   check=True).stdout
        assert "stripped" in described and "not stripped" not in described
        if target.is_static:
            assert "statically linked" in described or "static-pie" in described
            assert artifact["needed"] == []
        else:
            assert "dynamically linked" in described
            assert artifact["highest_glibc"] is not None
        ran = subprocess.run([*linux.prefix(target), str(binary), "--version"],
                             capture_output=True, text=True, timeout=120, check=False)
        assert ran.returncode == 0, ran.stderr
        assert target.triple in ran.stdout


@pytest.mark.parametrize("target", WINDOWS, ids=lambda t: t.name)
def test_unpacked_windows_binaries_run_under_wine(matrix_release: tuple[Path, Run],
                                                  target: Target, tmp_path: Path) -> None:
    """Unzipped and run by wine directly (with the ProcessPrng shim crossmatrix made, when
    this wine is older than 9.0): each program prints its own triple."""
    dist = _dist(matrix_release, target.name)
    info = _info(dist)
    _unpack(dist, info, tmp_path)
    reason = windows.cannot_run(target)
    for artifact in _programs(info):
        binary = tmp_path / str(artifact["path"])
        described = subprocess.run(["file", "-b", str(binary)], capture_output=True, text=True,
                                   check=True).stdout
        assert described.startswith("PE32+ executable" if target.arch.elf_class == 64
                                    else "PE32 executable"), described
        assert "(console)" in described
        assert artifact["machine"] == target.arch.pe_machine
        if reason:  # recorded honestly as not run, never as a pass
            assert artifact["run"] == {"ran": False, "runner": None, "names_triple": None,
                                       "output": f"{runner.NOT_RUN} ({reason})"}
            continue
        assert artifact["run"]["ran"] is True
        assert target.triple in artifact["run"]["output"]
        assert artifact["run"]["names_triple"] is True
        if windows.needs_shim(target):
            shutil.copy(windows.shim(target, Path(os.environ.get(
                "CROSSMATRIX_CACHE_DIR", Path.home() / ".cache" / "crossmatrix"))),
                binary.parent / windows.SHIM_DLL)
        environment = {**os.environ, **windows.env(tmp_path / "prefix")}
        windows.start_server("wine", tmp_path / "prefix", environment)
        ran = subprocess.run(["wine", str(binary), "--version"], capture_output=True,
                             text=True, timeout=300, check=False, cwd=binary.parent,
                             env=environment)
        assert ran.returncode == 0, ran.stderr[-2000:]
        assert target.triple in ran.stdout
    if reason:
        pytest.skip(f"{target.name} verified but not run here: {reason}")


def _wineservers(prefix: Path) -> set[int]:
    """The pids of the wineservers serving ``prefix`` (read from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if "wineserver" in Path(argv[0].decode(errors="replace")).name \
                and f"WINEPREFIX={prefix}".encode() in environ:
            found.add(int(entry.name))
    return found


def test_wine_runs_back_to_back_share_one_server(matrix_release: tuple[Path, Run],
                                                 tmp_path: Path) -> None:
    """Thirty runs in a row of the Windows programs crossmatrix built: every one succeeds, and
    one wineserver, started by the first, serves them all and is still there after each.
    (Left to wine, each run started its own server and one in ~80 failed to start the
    program: "ShellExecuteEx failed: Internal error".)"""
    target = WINDOWS[0]
    dist = _dist(matrix_release, target.name)
    info = _info(dist)
    _unpack(dist, info, tmp_path)
    if windows.cannot_run(target):
        pytest.skip(windows.cannot_run(target) or "")
    cache = tmp_path / "cache"
    servers: set[int] = set()
    for round_ in range(5):
        for artifact in _programs(info):
            ran = windows.run(target, tmp_path / str(artifact["path"]), ["--version"], cache)
            assert ran.returncode == 0, (round_, artifact["name"], ran.stderr[-2000:])
            assert target.triple in ran.stdout
            alive = _wineservers(windows.prefix_dir(cache))
            assert len(alive) == 1, alive
            servers |= alive
    assert len(servers) == 1, servers


@pytest.mark.parametrize("target", MACOS, ids=lambda t: t.name)
def test_macos_binaries_are_verified_structurally_and_said_not_run(
        matrix_release: tuple[Path, Run], target: Target, tmp_path: Path) -> None:
    dist = _dist(matrix_release, target.name)
    info = _info(dist)
    assert info["ran"] is False
    _unpack(dist, info, tmp_path)
    cpu = {"ARM64": "arm64", "X86_64": "x86_64"}[str(target.arch.macho_cpu)]
    for artifact in _programs(info):
        binary = tmp_path / str(artifact["path"])
        described = subprocess.run(["file", "-b", str(binary)], capture_output=True, text=True,
                                   check=True).stdout
        assert described.startswith(f"Mach-O 64-bit {cpu} executable"), described
        assert artifact["run"]["ran"] is False
        assert artifact["run"]["output"].startswith(runner.NOT_RUN)
        # libSystem, and libiconv for crates that pull in the libc crate's iconv link
        assert artifact["needed"][0] == "/usr/lib/libSystem.B.dylib"
        assert all(lib.startswith("/usr/lib/") for lib in artifact["needed"])
        assert artifact["min_os"] == macos.DEFAULT_MIN[target.arch.rust]
        if target.arch.rust == "aarch64":
            assert artifact["signature"] == "valid"
        # llvm's own reader agrees on the minimum macOS (LC_BUILD_VERSION's minos, or
        # LC_VERSION_MIN_MACOSX's version for targets older than 10.14)
        dump = subprocess.run(["llvm-objdump", "--macho", "--private-headers", str(binary)],
                              capture_output=True, text=True, check=True).stdout
        assert (f"minos {artifact['min_os']}\n" in dump
                or f"LC_VERSION_MIN_MACOSX\n  cmdsize 16\n  version {artifact['min_os']}\n"
                in dump), dump
    _, result = matrix_release
    assert f"{target.name}: {runner.NOT_RUN}" in result.stderr


def test_providers_are_the_offline_ones_and_recorded(matrix_release: tuple[Path, Run]) -> None:
    providers = {t.name: _info(_dist(matrix_release, t.name))["std_provider"] for t in TABLE}
    assert providers == {
        "linux-x86_64": "build-std", "linux-aarch64": "build-std", "linux-armv7": "build-std",
        "linux-x86_64-gnu": "rustup", "linux-aarch64-gnu": "debian",
        "linux-riscv64-gnu": "build-std", "windows-x86_64": "build-std",
        "windows-x86": "build-std", "macos-x86_64": "build-std", "macos-aarch64": "build-std",
    }
    project, _ = matrix_release
    for name, provider in providers.items():
        log = (project / RELEASE_LOGS / f"{name}.log").read_text()  # the release's
        assert f"{name} std: {provider}" in log  # said (-v shows it), not only recorded
        assert f"{name} compiler: rustc " in log


def test_the_matrix_says_at_most_three_lines_per_target(
        matrix_release: tuple[Path, Run]) -> None:
    """Quiet by default: the finished groups of steps per target, not each command."""
    _, result = matrix_release
    for target in TABLE:
        said = [line for line in result.stderr.splitlines()
                if line.startswith(f"{target.name} ")]
        assert 1 <= len(said) <= 3, said
    assert not any(line.startswith("+ ") for line in result.stderr.splitlines())
    assert "CARGO_TARGET_" not in result.stderr  # no environment shown


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
    result = crossmatrix(crate, "-v", "release")  # -v: the step lines and the commands
    assert result.returncode == 0, result.stderr[-3000:]
    assert "std: build-std" in result.stderr
    assert "building std" not in result.stderr
    assert "-Zbuild-std" not in result.stderr
    info = json.loads((crate / "dist" / "linux-aarch64" / "build_info.json").read_text())
    assert info["std_provider"] == "build-std"
    assert info["std_sysroot"].startswith("aarch64-unknown-linux-musl-")
