"""A host without apt (a developer's macOS or Fedora machine, a CI runner without root): only
rustup and crossmatrix's own venv (zig from the ziglang wheel, cargo-zigbuild) on PATH; no
apt-get or dpkg, no Debian rustc, no cross gcc, no binutils, no qemu or wine. Release builds
musl, a glibc floor, Windows and macOS through zig and rustup's std, and records the
binaries without a runner here as not run, saying what to install."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.integration.helpers import BIN, crossmatrix

pytestmark = pytest.mark.integration

#: a Unix userland's basics (what macOS or Fedora have without any cross tooling)
BASICS = ("sh", "bash", "env", "ls", "cat", "cp", "mv", "rm", "mkdir", "rmdir", "ln", "chmod",
          "uname", "dirname", "basename", "readlink", "realpath", "head", "tail", "tr", "sed",
          "grep", "touch", "date", "sort", "wc", "cut", "true", "false", "id", "file", "tar",
          "gzip", "which", "mktemp")
#: Debian's tooling, and what setup installs on Debian: none of it may be found
HIDDEN = ("apt-get", "dpkg", "dpkg-query", "aarch64-linux-gnu-gcc", "x86_64-w64-mingw32-gcc",
          "aarch64-linux-gnu-strip", "x86_64-w64-mingw32-strip", "llvm-strip", "strip",
          "qemu-aarch64", "wine", "gcc", "cc")
TARGETS = ("linux-aarch64", "linux-aarch64-gnu.2.17", "windows-x86_64", "macos-aarch64")


def _no_apt_path(root: Path) -> str:
    """A PATH folder of links to the allowed programs only."""
    folder = root / "bin"
    folder.mkdir()
    cargo_bin = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo")) / "bin"
    allowed = {name: shutil.which(name) for name in BASICS}
    allowed.update({p.name: str(p) for p in BIN.iterdir() if p.is_file()})
    allowed.update({name: str(cargo_bin / name) for name in ("rustup", "cargo", "rustc")})
    for name, found in allowed.items():
        if found and Path(found).exists():
            (folder / name).symlink_to(found)
    path = str(folder)
    assert all(shutil.which(name, path=path) is None for name in HIDDEN)
    assert shutil.which("rustup", path=path) and shutil.which("cargo-zigbuild", path=path)
    return path


@pytest.fixture(scope="module")
def no_apt(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    if shutil.which("rustup") is None:
        pytest.skip("needs rustup")  # a host without apt builds with rustup's std only
    root = tmp_path_factory.mktemp("no-apt")
    crate = root / "hello"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(
        '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n\n'
        f'[package.metadata.crossmatrix]\ntargets = {json.dumps(list(TARGETS))}\n'
        'dist = "out"\n')
    (crate / "src" / "main.rs").write_text('fn main() { println!("hello"); }\n')
    return crate, {"PATH": _no_apt_path(root)}


def test_release_without_apt_builds_through_zig_and_records_what_could_not_run(
        no_apt: tuple[Path, dict[str, str]]) -> None:
    crate, env = no_apt
    result = crossmatrix(crate, "-v", "release", env=env, timeout=1800)  # -v: step lines
    assert result.returncode == 0, result.stderr[-3000:]
    infos = {name: json.loads((crate / "out" / name / "build_info.json").read_text())
             for name in TARGETS}
    for name, info in infos.items():
        assert info["std_provider"] == "rustup" and info["compiler"]["kind"] == "rustup", name
        assert info["linker"] == "zig", name
        assert info["ran"] is False, name
        (artifact,) = info["artifacts"]
        assert artifact["stripped"] is True and artifact["run"]["ran"] is False, name
    said = {name: info["artifacts"][0]["run"]["output"] for name, info in infos.items()}
    for name in ("linux-aarch64", "linux-aarch64-gnu.2.17"):
        assert said[name] == ("verified structurally, not run "
                              "(no qemu-aarch64 here (install qemu-user))")
    assert said["windows-x86_64"] == "verified structurally, not run (no wine here (install wine))"
    assert "no macOS here" in said["macos-aarch64"]
    assert infos["linux-aarch64"]["linkage"] == "static"
    assert infos["linux-aarch64-gnu.2.17"]["highest_glibc"] == "2.17"  # the floor held
    win = infos["windows-x86_64"]["artifacts"][0]
    assert win["machine"] == "IMAGE_FILE_MACHINE_AMD64"
    # zig's windows-gnu links the UCRT, not MinGW-w64 gcc's msvcrt.dll
    assert "api-ms-win-crt-runtime-l1-1-0.dll" in win["needed"]
    assert "msvcrt.dll" not in win["needed"]
    assert "x86_64-w64-mingw32-gcc is not here (and no apt to install it)" in result.stderr


def test_setup_without_apt_says_what_debian_would_install_and_exits_0(
        no_apt: tuple[Path, dict[str, str]]) -> None:
    crate, env = no_apt
    result = crossmatrix(crate, "setup", "--target", "linux-aarch64", env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    said = result.stdout + result.stderr
    assert "setup: on Debian it would run: apt-get install " in said
    assert "qemu-user binutils-aarch64-linux-gnu" in said
    assert "setup: here, to run linux-aarch64 too: no qemu-aarch64 here (install qemu-user)" \
        in said
    assert "setup: nothing missing here to build linux-aarch64" in said
