"""CMake and bindgen under cross builds: the toolchain file each target gets, the per-target
variables that name it and bindgen's clang arguments, the user's own values winning, and
every target's C and C++ compilers (CC_<t>, CXX_<t>)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from tooling.compile import crossenv, linkers
from tooling.matrix import config
from tooling.matrix.targets import TABLE, Target, by_name, from_triple
from tooling.plan import cargo_call
from tooling.std import compiler, providers

T = by_name()
HOST = "x86_64-unknown-linux-gnu"
COMPILER = compiler.Compiler(
    kind="debian", rustc=Path("/usr/bin/rustc"), cargo=Path("/usr/bin/cargo"),
    release="1.96.0", commit_hash="0" * 40, host=HOST,
    sysroot=Path("/usr"), verbose_version="rustc 1.96.0 (test)\n")


def _plan(target: Target, tmp_path: Path, environ: dict[str, str] | None = None,
          kind: str | None = None) -> crossenv.CrossEnv:
    link = linkers.plan(target, kind or target.linker, tmp_path)
    return crossenv.plan(target, link, tmp_path, environ or {}, HOST)


def _lines(target: Target, tmp_path: Path, kind: str | None = None) -> list[str]:
    link = linkers.plan(target, kind or target.linker, tmp_path)
    return crossenv.toolchain_file(target, link, tmp_path).splitlines()


def test_a_zig_targets_toolchain_file_names_zigs_compilers_and_no_host_root(
        tmp_path: Path) -> None:
    target = T["linux-aarch64"]
    link = linkers.plan(target, "zig", tmp_path)
    lines = _lines(target, tmp_path)
    assert "set(CMAKE_SYSTEM_NAME Linux)" in lines
    assert "set(CMAKE_SYSTEM_PROCESSOR aarch64)" in lines
    assert f'set(CMAKE_C_COMPILER "{link.cc}")' in lines
    assert f'set(CMAKE_CXX_COMPILER "{link.cxx}")' in lines
    assert link.cxx and "zigcxx-aarch64-unknown-linux-musl-" in link.cxx
    assert f'set(CMAKE_AR "{link.ar}" CACHE FILEPATH "" FORCE)' in lines
    assert f'set(CMAKE_RANLIB "{link.ranlib}" CACHE FILEPATH "" FORCE)' in lines
    for kind, mode in (("PROGRAM", "NEVER"), ("LIBRARY", "ONLY"), ("INCLUDE", "ONLY"),
                       ("PACKAGE", "ONLY")):
        assert f"set(CMAKE_FIND_ROOT_PATH_MODE_{kind} {mode})" in lines
    # zig brings its own C library: the root holds nothing of this machine's
    root = next(line for line in lines if line.startswith("set(CMAKE_FIND_ROOT_PATH "))
    assert root == f'set(CMAKE_FIND_ROOT_PATH "{tmp_path}/wrappers/no-sysroot")'
    ranlib = next(s for s in link.scripts if str(s.path) == link.ranlib)
    assert " zig ranlib -- " in ranlib.body


def test_a_debian_gcc_targets_toolchain_file_has_its_sysroot_and_gxx(tmp_path: Path) -> None:
    lines = _lines(T["linux-aarch64-gnu"], tmp_path)
    assert 'set(CMAKE_C_COMPILER "aarch64-linux-gnu-gcc")' in lines
    assert 'set(CMAKE_CXX_COMPILER "aarch64-linux-gnu-g++")' in lines
    assert 'set(CMAKE_AR "aarch64-linux-gnu-ar" CACHE FILEPATH "" FORCE)' in lines
    assert 'set(CMAKE_RANLIB "aarch64-linux-gnu-ranlib" CACHE FILEPATH "" FORCE)' in lines
    # Debian's cross glibc, and "/" for the multiarch -dev:arm64 packages pkg-config sees too
    assert 'set(CMAKE_FIND_ROOT_PATH "/usr/aarch64-linux-gnu;/")' in lines
    riscv = _lines(T["linux-riscv64-gnu"], tmp_path)
    assert "set(CMAKE_SYSTEM_PROCESSOR riscv64)" in riscv


def test_windows_and_macos_system_names_as_the_cmake_crate_spells_them(tmp_path: Path) -> None:
    windows = _lines(T["windows-x86_64"], tmp_path)
    assert "set(CMAKE_SYSTEM_NAME Windows)" in windows
    assert "set(CMAKE_SYSTEM_PROCESSOR AMD64)" in windows
    assert 'set(CMAKE_CXX_COMPILER "x86_64-w64-mingw32-g++")' in windows
    # MinGW's headers and import libraries; Debian's multiarch libraries are not Windows'
    assert 'set(CMAKE_FIND_ROOT_PATH "/usr/x86_64-w64-mingw32")' in windows
    assert "set(CMAKE_SYSTEM_PROCESSOR X86)" in _lines(T["windows-x86"], tmp_path)
    macos = _lines(T["macos-aarch64"], tmp_path)
    assert "set(CMAKE_SYSTEM_NAME Darwin)" in macos
    assert "set(CMAKE_SYSTEM_PROCESSOR arm64)" in macos
    assert "set(CMAKE_SYSTEM_PROCESSOR x86_64)" in _lines(T["macos-x86_64"], tmp_path)


def test_the_variables_are_per_target_and_name_the_planned_file(tmp_path: Path) -> None:
    target = T["linux-armv7"]
    planned = _plan(target, tmp_path)
    assert set(planned.env) == {"CMAKE_TOOLCHAIN_FILE_armv7_unknown_linux_musleabihf",
                                "BINDGEN_EXTRA_CLANG_ARGS_armv7_unknown_linux_musleabihf"}
    script, = planned.scripts
    assert planned.env["CMAKE_TOOLCHAIN_FILE_armv7_unknown_linux_musleabihf"] == str(script.path)
    assert script.path.name.startswith("cmake-armv7-unknown-linux-musleabihf-")
    assert script.path.suffix == ".cmake"
    assert not script.path.exists()  # planned, not written
    script.write()
    assert script.path.read_text() == crossenv.toolchain_file(
        target, linkers.plan(target, "zig", tmp_path), tmp_path)
    assert script.path.stat().st_mode & 0o777 == 0o644
    # the same plan again: the same file; another target's content: another file
    assert _plan(target, tmp_path).scripts == planned.scripts
    assert _plan(T["linux-aarch64"], tmp_path).scripts[0].path != script.path


def test_the_hosts_own_triple_and_a_users_linker_get_none(tmp_path: Path) -> None:
    host = from_triple(HOST)
    assert host is not None
    assert _plan(host, tmp_path) == crossenv.CrossEnv({})
    assert _plan(T["linux-aarch64-gnu"], tmp_path, kind="/opt/sdk/bin/aarch64-gcc") == \
        crossenv.CrossEnv({})


@pytest.mark.parametrize("name", ["CMAKE_TOOLCHAIN_FILE", "TARGET_CMAKE_TOOLCHAIN_FILE",
                                  "CMAKE_TOOLCHAIN_FILE_aarch64-unknown-linux-gnu",
                                  "CMAKE_TOOLCHAIN_FILE_aarch64_unknown_linux_gnu"])
def test_the_users_toolchain_file_wins(tmp_path: Path, name: str) -> None:
    planned = _plan(T["linux-aarch64-gnu"], tmp_path, {name: "/home/me/arm.cmake"})
    assert planned.scripts == ()
    assert set(planned.env) == {"BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu"}


@pytest.mark.parametrize("name", ["BINDGEN_EXTRA_CLANG_ARGS",
                                  "BINDGEN_EXTRA_CLANG_ARGS_aarch64-unknown-linux-gnu",
                                  "BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu"])
def test_the_users_clang_args_win(tmp_path: Path, name: str) -> None:
    planned = _plan(T["linux-aarch64-gnu"], tmp_path, {name: "-I/opt/include"})
    assert set(planned.env) == {"CMAKE_TOOLCHAIN_FILE_aarch64_unknown_linux_gnu"}


def test_bindgen_gets_the_clang_triple_and_the_targets_headers(tmp_path: Path) -> None:
    gnu = _plan(T["linux-riscv64-gnu"], tmp_path).env
    assert shlex.split(gnu["BINDGEN_EXTRA_CLANG_ARGS_riscv64gc_unknown_linux_gnu"]) == [
        "--target=riscv64-unknown-linux-gnu", "-isystem", "/usr/riscv64-linux-gnu/include"]
    mingw = _plan(T["windows-x86_64"], tmp_path).env[
        "BINDGEN_EXTRA_CLANG_ARGS_x86_64_pc_windows_gnu"]
    assert shlex.split(mingw) == ["--target=x86_64-pc-windows-gnu", "-isystem",
                                  "/usr/x86_64-w64-mingw32/include"]


def test_zig_targets_get_zigs_libc_headers_for_that_target(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSMATRIX_CACHE_DIR", str(tmp_path / "cache"))
    args = shlex.split(_plan(T["linux-aarch64"], tmp_path).env[
        "BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_musl"])
    assert args[0] == "--target=aarch64-unknown-linux-musl"
    folders = args[2::2]
    assert args[1::2] == ["-isystem"] * len(folders) and folders
    assert all(Path(f).is_dir() for f in folders)
    assert any(Path(f).name == "aarch64-linux-musl" for f in folders)
    assert (Path(next(f for f in folders if f.endswith("generic-musl"))) / "stdio.h").is_file()
    # asked once, then remembered
    assert list((tmp_path / "cache" / "memo").glob("zig-libc-includes-*.json"))
    windows = crossenv.bindgen_args(T["windows-x86_64"], linkers.plan(T["windows-x86_64"], "zig",
                                                                      tmp_path))
    assert any(f.endswith("x86_64-windows-gnu") for f in windows)


# --- in the cargo call ---------------------------------------------------------------------

def _project(tmp_path: Path, table: dict[str, object]) -> config.Project:
    workspace = tmp_path / "ws"
    (workspace / "src").mkdir(parents=True, exist_ok=True)
    (workspace / "Cargo.toml").write_text(
        '[package]\nname = "probe"\nversion = "0.1.0"\nedition = "2021"\n')
    (workspace / "src" / "main.rs").write_text("fn main() {}\n")
    return config.from_table(tmp_path, {"workspace": "ws", "offline": True, **table}, "test")


def _call(project: config.Project, target: Target, tmp_path: Path) -> cargo_call.Invocation:
    std = providers.StdPlan(provider="build-std", compiler=COMPILER,
                            sysroot=tmp_path / "sysroot", reason="test")
    return cargo_call.derive(project, target, std)


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSMATRIX_CACHE_DIR", str(tmp_path / "cache"))
    for key in list(os.environ):
        if key.startswith(("CMAKE_TOOLCHAIN_FILE", "TARGET_CMAKE", "BINDGEN_EXTRA", "CXX",
                           "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS")):
            monkeypatch.delenv(key)


def test_the_call_names_the_file_and_writes_it_when_materialized(
        tmp_path: Path, clean_env: None) -> None:
    project = _project(tmp_path, {})
    call = _call(project, T["linux-aarch64-gnu"], tmp_path)
    path = Path(call.added["CMAKE_TOOLCHAIN_FILE_aarch64_unknown_linux_gnu"])
    assert call.env["CMAKE_TOOLCHAIN_FILE_aarch64_unknown_linux_gnu"] == str(path)
    assert [s.path for s in call.writes] == [path] and not path.exists()
    call.materialize()
    assert "set(CMAKE_SYSTEM_NAME Linux)" in path.read_text()
    host = from_triple(HOST)
    assert host is not None
    assert not any(k.startswith(("CMAKE_TOOLCHAIN_FILE", "BINDGEN_EXTRA"))
                   for k in _call(project, host, tmp_path).added)


def test_the_targets_env_setting_wins(tmp_path: Path, clean_env: None) -> None:
    project = _project(tmp_path, {"target": {"linux-aarch64-gnu": {"env": {
        "CMAKE_TOOLCHAIN_FILE": "/home/me/arm.cmake",
        "BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu": "-I/opt/arm/include"}}}})
    call = _call(project, T["linux-aarch64-gnu"], tmp_path)
    assert call.writes == ()  # no file of ours: the user's is the one
    assert "CMAKE_TOOLCHAIN_FILE_aarch64_unknown_linux_gnu" not in call.added
    assert call.added["CMAKE_TOOLCHAIN_FILE"] == "/home/me/arm.cmake"
    assert call.added["BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu"] == "-I/opt/arm/include"
    # other targets keep theirs
    other = _call(project, T["linux-riscv64-gnu"], tmp_path)
    assert "CMAKE_TOOLCHAIN_FILE_riscv64gc_unknown_linux_gnu" in other.added


def test_the_users_environment_wins(tmp_path: Path, clean_env: None,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TARGET_CMAKE_TOOLCHAIN_FILE", "/home/me/any.cmake")
    call = _call(_project(tmp_path, {}), T["windows-x86_64"], tmp_path)
    assert call.writes == ()
    assert not any(k.startswith("CMAKE_TOOLCHAIN_FILE") for k in call.added)


@pytest.mark.parametrize("target", TABLE, ids=lambda t: t.name)
def test_every_target_gets_a_c_and_a_cxx_compiler(tmp_path: Path, target: Target,
                                                  clean_env: None) -> None:
    call = _call(_project(tmp_path, {}), target, tmp_path)
    link = call.link
    assert call.added[f"CC_{target.cc_key}"] == link.cc
    assert link.cxx and call.added[f"CXX_{target.cc_key}"] == link.cxx
    if link.kind == "gcc":
        assert link.cxx == link.cc[: -len("gcc")] + "g++"
        assert link.cxx_packages  # what `inv setup` installs when C++ is compiled
    else:
        assert "zigcxx-" in link.cxx


@pytest.mark.parametrize(("triple", "cxx"), [
    ("i686-unknown-linux-gnu", "i686-linux-gnu-g++"),
    ("armv7-unknown-linux-gnueabihf", "arm-linux-gnueabihf-g++"),
    ("i686-unknown-linux-musl", "zigcxx-i686-unknown-linux-musl-")])
def test_ad_hoc_targets_get_cxx_too(tmp_path: Path, clean_env: None, triple: str,
                                    cxx: str) -> None:
    target = from_triple(triple)
    assert target is not None and not target.in_table
    call = _call(_project(tmp_path, {}), target, tmp_path)
    assert cxx in call.added[f"CXX_{target.cc_key}"]
    assert f"CMAKE_TOOLCHAIN_FILE_{target.cc_key}" in call.added
