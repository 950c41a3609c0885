"""CMake under a cross build: a crate whose build script builds a C++ static library with
the ``cmake`` crate (``project(x CXX)``) and links it, released for linux-aarch64 (musl,
zig). The library is compiled by zig's c++ for aarch64 because the toolchain file named
by ``CMAKE_TOOLCHAIN_FILE_<triple>`` says so; an x86-64 object would not link, and the
program's output comes from the C++ code, run under qemu."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.integration.helpers import command, crossmatrix, write_project

pytestmark = pytest.mark.integration

TRIPLE = "aarch64-unknown-linux-musl"

CMAKELISTS = """\
cmake_minimum_required(VERSION 3.13)
project(squares CXX)
add_library(squares STATIC squares.cpp)
target_compile_options(squares PRIVATE -fno-exceptions -fno-rtti)
install(TARGETS squares ARCHIVE DESTINATION lib)
"""

# C++ only (templates, constexpr, namespaces, __cplusplus) and no C++ runtime to link
SQUARES = """\
#include <cstdint>
namespace {
template <typename T> constexpr T sum_squares(T n) {
    T sum = 0;
    for (T i = 1; i <= n; ++i) sum += i * i;
    return sum;
}
static_assert(sum_squares<std::uint64_t>(3) == 14, "constexpr C++");
}
extern "C" std::uint64_t squares_sum(std::uint32_t n) noexcept {
    return sum_squares<std::uint64_t>(n);
}
extern "C" long squares_cplusplus() noexcept { return __cplusplus; }
"""

BUILD_RS = """\
fn main() {
    let dst = cmake::Config::new("native").build();
    println!("cargo:rustc-link-search=native={}/lib", dst.display());
    println!("cargo:rustc-link-lib=static=squares");
    println!("cargo:rustc-env=BUILT_FOR={}", std::env::var("TARGET").unwrap());
}
"""

MAIN_RS = """\
extern "C" {
    fn squares_sum(n: u32) -> u64;
    fn squares_cplusplus() -> std::os::raw::c_long;
}
fn main() {
    let (sum, std) = unsafe { (squares_sum(10), squares_cplusplus()) };
    println!("{}: C++ {} says 1..=10 squared sums to {}", env!("BUILT_FOR"), std, sum);
}
"""


def _workspace(root: Path) -> Path:
    ws = root / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "native").mkdir()
    (ws / "Cargo.toml").write_text(
        '[package]\nname = "squares"\nversion = "0.1.0"\nedition = "2021"\n\n'
        '[build-dependencies]\ncmake = "0.1"\n')
    (ws / "build.rs").write_text(BUILD_RS)
    (ws / "src" / "main.rs").write_text(MAIN_RS)
    (ws / "native" / "CMakeLists.txt").write_text(CMAKELISTS)
    (ws / "native" / "squares.cpp").write_text(SQUARES)
    # the cmake crate from crates.io (the sample workspace does not use it): once, then offline
    locked = command(["cargo", "generate-lockfile", "--offline"], cwd=ws)
    if locked.returncode != 0:
        locked = command(["cargo", "generate-lockfile"], cwd=ws)
    assert locked.returncode == 0, locked.stderr
    fetched = command(["cargo", "fetch"], cwd=ws)
    assert fetched.returncode == 0, fetched.stderr
    return ws


def test_a_cmake_cxx_library_is_cross_compiled_by_the_toolchain_file(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    project = write_project(
        tmp_path / "project",
        'targets = ["linux-aarch64"]\n'
        '[tool.crossmatrix.target.linux-aarch64]\nstd-provider = "build-std"\n',
        workspace=ws)
    # cmake is this lock file's need, not the sample workspace's: setup installs it
    setup = crossmatrix(project, "setup", "--target", "linux-aarch64")
    assert setup.returncode == 0, setup.stderr[-3000:]
    assert shutil.which("cmake"), setup.stdout[-2000:]

    plan = crossmatrix(project, "plan", "--json")
    assert plan.returncode == 0, plan.stderr
    env = json.loads(plan.stdout)["targets"][0]["cargo"]["env"]
    toolchain = env["CMAKE_TOOLCHAIN_FILE_aarch64_unknown_linux_musl"]
    assert "CMAKE_TOOLCHAIN_FILE" not in env and "BINDGEN_EXTRA_CLANG_ARGS" not in env
    assert env["BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_musl"].startswith(
        f"--target={TRIPLE} -isystem ")

    result = crossmatrix(project, "release")
    assert result.returncode == 0, result.stderr[-4000:]
    body = Path(toolchain).read_text()
    assert "set(CMAKE_SYSTEM_NAME Linux)" in body and "zigcxx-aarch64-unknown-linux-musl" in body

    # CMake configured the library with the toolchain file, and its C++ compiler
    build, = (ws / "target" / TRIPLE).glob("release/build/squares-*/out/build")
    cache = (build / "CMakeCache.txt").read_text()
    assert re.search(rf"^CMAKE_TOOLCHAIN_FILE:\w+={re.escape(toolchain)}$", cache, re.M), cache
    detected, = build.glob("CMakeFiles/*/CMakeCXXCompiler.cmake")
    compiler = re.search(r'^set\(CMAKE_CXX_COMPILER "([^"]+)"\)$', detected.read_text(), re.M)
    assert compiler and "zigcxx-aarch64-unknown-linux-musl-" in compiler[1], detected.read_text()

    info = json.loads((project / "dist" / "linux-aarch64" / "build_info.json").read_text())
    run = next(a for a in info["artifacts"] if a["name"] == "squares")["run"]
    assert run["ran"] is True, run
    assert re.search(rf"^{TRIPLE}: C\+\+ 20\d\d\d\d says 1\.\.=10 squared sums to 385$",
                     run["output"].strip()), run
