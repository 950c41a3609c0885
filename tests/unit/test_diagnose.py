"""Known cargo/rustc/linker failures are answered with the fix: each sample is the tail of a
real error message as the tools print it (quoted from their sources and issue trackers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tooling.compile import linkers
from tooling.matrix import config
from tooling.matrix.targets import by_name, resolve
from tooling.steps import compiling
from tooling.steps.state import Build

SAMPLES = {
    "E0463": ("linux-aarch64", "error[E0463]: can't find crate for `core`\n  = note: the "
              "`aarch64-unknown-linux-musl` target may not be installed",
              "std for aarch64-unknown-linux-musl is missing"),
    "protoc": ("linux-aarch64-gnu", "Error: Custom { kind: NotFound, error: \"Could not find "
               "`protoc`. If `protoc` is installed, try setting the `PROTOC` environment "
               "variable\" }", "protobuf-compiler"),
    "cmake": ("linux-x86_64", "error: failed to run custom build command for `libz-ng-sys "
              "v1.1.16`\n  failed to execute command: No such file or directory (os error 2)\n"
              "  is `cmake` not installed?", "libz-ng-sys's build script needs cmake"),
    "nasm": ("windows-x86_64", "error: failed to run custom build command for `aws-lc-sys "
             "v0.30.0`\nwarning: aws-lc-sys@0.30.0: NASM command not found or failed to "
             "execute.", "AWS_LC_SYS_PREBUILT_NASM"),
    "pkg-config-cross": ("linux-aarch64-gnu", "pkg-config has not been configured to support "
                         "cross-compilation.\n\nInstall a sysroot for the target platform",
                         "PKG_CONFIG_ALLOW_CROSS"),
    "pkg-config-missing": ("linux-aarch64-gnu", "The system library `openssl` required by "
                           "crate `openssl-sys` was not found.",
                           "install libssl-dev:arm64 (pre-build = [\"apt-get install -y "
                           "libssl-dev:$DEB_ARCH\"]"),
    "zig-flag": ("linux-aarch64", "error: unsupported linker arg: --no-undefined-version\n"
                 "zig ld.lld", "zig's linker rejects --no-undefined-version"),
    "glibc-too-new": ("linux-aarch64-gnu", "/lib/aarch64-linux-gnu/libc.so.6: version "
                      "`GLIBC_2.34' not found (required by ./build-script-build)",
                      "linux-aarch64-gnu.2.17"),
    "stale-lock": ("linux-aarch64", "error: cannot update the lock file /w/Cargo.lock because "
                   "--locked was passed to prevent this\nhelp: to generate the lock file "
                   "without accessing the network, remove the --locked flag and use --offline "
                   "instead.", "run `cargo update --workspace`"),
    "apple-framework": ("macos-aarch64", 'error: unable to find system framework "Security"',
                        "set SDKROOT"),
}


def _build(tmp_path: Path, name: str) -> Build:
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "x"\nversion = "0.1.0"\n')
    return Build(config.load(tmp_path), by_name()[name])


@pytest.mark.parametrize("case", list(SAMPLES))
def test_known_failure_gets_its_fix(case: str, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SDKROOT", raising=False)
    name, stderr, fix = SAMPLES[case]
    build = _build(tmp_path, name)
    link = linkers.LinkerPlan(kind="gcc", linker="sh", cc="sh", ar="ar")  # present
    hint = compiling._diagnose(build, link)(stderr)
    assert fix in hint, hint
    assert "\n" not in hint


def test_musl_gcc_missing_names_musl_tools(tmp_path: Path) -> None:
    build = _build(tmp_path, "linux-x86_64")
    link = linkers.custom_plan("/nonexistent/bin/musl-gcc")
    hint = compiling._diagnose(build, link)("error: linker `musl-gcc` not found")
    assert "musl-tools" in hint and "zig" in hint


def test_floor_names_the_missing_symbol(tmp_path: Path) -> None:
    build = Build(_build(tmp_path, "linux-x86_64").project,
                  resolve("linux-aarch64-gnu.2.17")[0])
    link = linkers.LinkerPlan(kind="zig", linker="sh", cc="sh", ar="ar")
    hint = compiling._diagnose(build, link)("ld.lld: error: undefined symbol: getrandom")
    assert "getrandom is not in glibc 2.17" in hint


def test_unknown_failure_points_at_cargos_output(tmp_path: Path) -> None:
    link = linkers.LinkerPlan(kind="gcc", linker="sh", cc="sh", ar="ar")
    hint = compiling._diagnose(_build(tmp_path, "linux-x86_64"), link)("error: mismatched types")
    assert hint == "cargo's own error is above"


@pytest.mark.parametrize("stderr", [
    'error occurred in cc-rs: failed to find tool "aarch64-linux-gnu-g++": No such file or '
    "directory (os error 2)",
    "CMake Error at CMakeLists.txt:2 (project):\n  The CMAKE_CXX_COMPILER:\n\n"
    "    aarch64-linux-gnu-g++\n\n  is not a full path and was not found in the PATH.",
    "CMake Error at CMakeLists.txt:2 (project):\n  No CMAKE_CXX_COMPILER could be found."])
def test_a_cxx_compiler_missing_after_all_gets_setup(tmp_path: Path, stderr: str) -> None:
    build = _build(tmp_path, "linux-aarch64-gnu")
    link = linkers.LinkerPlan(kind="gcc", linker="sh", cc="sh", ar="ar",
                              cxx="/nonexistent/aarch64-linux-gnu-g++",
                              cxx_packages=("g++-aarch64-linux-gnu",))
    hint = compiling._diagnose(build, link)(stderr)
    assert hint.startswith("a build script compiles C++ and /nonexistent/aarch64-linux-gnu-g++ "
                           "is not installed: run `inv setup --target linux-aarch64-gnu` "
                           "(installs g++-aarch64-linux-gnu)"), hint
    there = linkers.LinkerPlan(kind="gcc", linker="sh", cc="sh", ar="ar", cxx="sh")
    assert compiling._diagnose(build, there)(stderr) == "cargo's own error is above"


def test_a_static_library_made_under_another_platforms_name_is_named(tmp_path: Path) -> None:
    """tikv-jemalloc-sys on windows-gnu (seen in the corpus): jemalloc's configure writes
    jemalloc.lib on MinGW, rustc looks for libjemalloc.a: the hint says so, read from the
    build script's output folder; without such a file the generic answer stays."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "lib.rs").write_text("")
    build = _build(tmp_path, "windows-x86_64")
    link = linkers.LinkerPlan(kind="gcc", linker="sh", cc="sh", ar="ar")
    stderr = ("error: could not find native static library `jemalloc`, perhaps an -L flag "
              "is missing?\n")
    assert compiling._diagnose(build, link)(stderr) == "cargo's own error is above"
    out = (build.workspace.target_dir / build.target.triple / "release" / "build"
           / "tikv-jemalloc-sys-75b4cf7b" / "out" / "lib")
    out.mkdir(parents=True)
    (out / "jemalloc.lib").write_bytes(b"!<arch>\n")
    (out / "jemalloc_s.lib").write_bytes(b"!<arch>\n")
    hint = compiling._diagnose(build, link)(stderr)
    assert hint.startswith("a build script made jemalloc.lib but rustc looks for "
                           "libjemalloc.a on x86_64-pc-windows-gnu"), hint
    assert "\n" not in hint


#: libz-ng-sys 1.1.33 for riscv64gc-unknown-linux-gnu with Debian's gcc (seen in the corpus):
#: cc-rs only warns that the C++ compiler it asked about is not there; zlib-ng's C fails
ZLIB_NG_RISCV = (
    'warning: libz-ng-sys@1.1.33: Compiler family detection failed due to error: '
    'ToolNotFound: failed to find tool "riscv64-linux-gnu-g++": No such file or directory '
    "(os error 2)\nerror: failed to run custom build command for `libz-ng-sys v1.1.33`\n"
    "  -- Basearch of 'riscv64' has been detected as: 'riscv'\n"
    "  /root/.cargo/registry/src/index/libz-ng-sys-1.1.33/src/zlib-ng/functable.c:304:11: "
    "error: 'struct cpu_features' has no member named 'riscv'\n"
    "  gmake: *** [Makefile:166: all] Error 2\n")


def test_a_cxx_compiler_only_warned_about_is_not_the_cause(tmp_path: Path) -> None:
    build = _build(tmp_path, "linux-riscv64-gnu")
    link = linkers.LinkerPlan(kind="gcc", linker="sh", cc="sh", ar="ar",
                              cxx="/nonexistent/riscv64-linux-gnu-g++")
    hint = compiling._diagnose(build, link)(ZLIB_NG_RISCV)
    assert "not installed" not in hint, hint
    assert hint.startswith(
        "the C code of libz-ng-sys does not compile for riscv64gc-unknown-linux-gnu with gcc "
        "(functable.c:304: error: 'struct cpu_features' has no member named 'riscv'): "), hint
    assert 'linker = "zig" in [package.metadata.crossmatrix.target.linux-riscv64-gnu]' in hint
    assert "(`cargo update -p libz-ng-sys`)" in hint


def test_a_c_error_names_the_other_compiler_only_where_the_target_has_one(
        tmp_path: Path) -> None:
    """zlib-ng's NEON header under zig's clang for armv7 musl (seen in the corpus): musl
    targets have no Debian gcc, so no `linker = "gcc"` is offered."""
    stderr = ("error: failed to run custom build command for `libz-ng-sys v1.1.33`\n"
              "  /x/zlib-ng/arch/arm/neon_intrins.h:40:28: error: 13477:28: note: expanded "
              "from macro 'vld1q_u16_x4'\n"  # two compilers' lines interleaved by make -j
              "  /x/zlib-ng/arch/arm/neon_intrins.h:40:28: error: expected identifier or "
              "'('\n")
    zig = linkers.LinkerPlan(kind="zig", linker="sh", cc="sh", ar="ar")
    hint = compiling._diagnose(_build(tmp_path, "linux-armv7"), zig)(stderr)
    assert "(neon_intrins.h:40: error: expected identifier or '(')" in hint, hint
    assert "linker =" not in hint and "\n" not in hint
    gnu = compiling._diagnose(Build(config.load(tmp_path), by_name()["linux-aarch64-gnu"]), zig)
    assert 'linker = "gcc"' in gnu(stderr)
    # a Rust error is not a C one
    assert compiling._diagnose(_build(tmp_path, "linux-armv7"), zig)(
        "error: failed to run custom build command for `x v1`\n  src/main.rs:3:5: error: no"
    ) == "cargo's own error is above"


def test_a_c_error_after_pkg_configs_refusal_is_the_cause(tmp_path: Path) -> None:
    """libz-sys 1.1.12 for macOS (git-delta, seen in the corpus): pkg-config refuses, and
    libz-sys goes on to build its bundled zlib 1.2.11, whose zutil.h breaks the macOS
    headers' fdopen: the C error is the cause; and a pkg-config refusal alone, for a target
    Debian has no libraries for, is not answered with Debian's multiarch folder."""
    refusal = ("  cargo-warning=pkg-config has not been configured to support "
               "cross-compilation.\n\n  Install a sysroot for the target platform\n")
    stderr = ("error: failed to run custom build command for `libz-sys v1.1.12`\n" + refusal
              + "  cargo:warning=/x/ziglang/lib/libc/include/any-darwin-any/_stdio.h:322:7: "
              "error: expected identifier or '('\n")
    zig = linkers.LinkerPlan(kind="zig", linker="sh", cc="sh", ar="ar")
    hint = compiling._diagnose(_build(tmp_path, "macos-x86_64"), zig)(stderr)
    assert hint.startswith("the C code of libz-sys does not compile for x86_64-apple-darwin "
                           "with zig (_stdio.h:322: error: expected identifier or '(')"), hint
    alone = compiling._diagnose(_build(tmp_path, "macos-x86_64"), zig)(refusal)
    assert alone.startswith("pkg-config refuses to cross-compile for x86_64-apple-darwin, "
                            "and Debian's libraries are for Linux gnu targets"), alone
    assert "/usr/lib/" not in alone


def test_functions_defined_in_sources_the_build_script_left_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """unrar-ng-sys for windows-gnu (ouch, seen in the corpus): its build.rs asks
    cfg!(windows), the build machine, so isnt.cpp and motw.cpp are never compiled and the
    link lacks what they define; named with the files, from the crate's own sources."""
    home = tmp_path / "home"
    monkeypatch.setenv("CARGO_HOME", str(home))
    project = tmp_path / "app"
    (project / "src").mkdir(parents=True)
    (project / "src" / "main.rs").write_text("fn main() {}\n")
    build = _build(project, "windows-x86_64")
    (project / "Cargo.lock").write_text(
        'version = 4\n\n[[package]]\nname = "x"\nversion = "0.1.0"\ndependencies = '
        '["unrar-ng-sys"]\n\n[[package]]\nname = "unrar-ng-sys"\nversion = "0.7.6"\n')
    unrar = home / "registry" / "src" / "index" / "unrar-ng-sys-0.7.6" / "vendor" / "unrar"
    unrar.mkdir(parents=True)
    (unrar / "isnt.cpp").write_text("#include \"rar.hpp\"\n\nDWORD WinNT()\n{\n  return 6;\n}\n")
    (unrar / "motw.cpp").write_text("bool MarkOfTheWeb::IsNameConflicting(const std::wstring "
                                    "&Name)\n{\n  return false;\n}\n")
    (unrar / "extinfo.cpp").write_text("void f()\n{\n  if (WinNT() > 5) g();\n}\nvoid g() {}\n")
    out = (build.workspace.target_dir / "x86_64-pc-windows-gnu" / "release" / "build"
           / "unrar-ng-sys-c29be8b2" / "out")
    out.mkdir(parents=True)
    (out / "0934600a39780889-extinfo.o").write_bytes(b"")
    rlib = "/t/deps/rustcRWZ/libunrar_ng_sys-c4f179bd88991fcb.rlib"
    stderr = (f"  = note: /usr/bin/x86_64-w64-mingw32-ld: {rlib}(0934600a39780889-extinfo.o):"
              "extinfo.cpp:(.text$_Z1fv+0x14c): undefined reference to `WinNT()'\n"
              f"          /usr/bin/x86_64-w64-mingw32-ld: {rlib}(0934600a39780889-extinfo.o):"
              "extinfo.cpp:(.text+0x148): undefined reference to `MarkOfTheWeb::"
              "IsNameConflicting(std::__cxx11::basic_string<wchar_t> const&)'\n"
              "          collect2: error: ld returned 1 exit status\n")
    gcc = linkers.LinkerPlan(kind="gcc", linker="sh", cc="sh", ar="ar")
    hint = compiling._diagnose(build, gcc)(stderr)
    assert hint.startswith("unrar-ng-sys's C/C++ calls functions defined in its own sources "
                           "that its build script did not compile for x86_64-pc-windows-gnu "
                           "(WinNT in vendor/unrar/isnt.cpp; IsNameConflicting in "
                           "vendor/unrar/motw.cpp): its bug"), hint
    # defined only in what was compiled (extinfo.cpp's g): not this
    assert compiling._uncompiled_sources(build, stderr.replace("WinNT()", "g()").replace(
        "MarkOfTheWeb::IsNameConflicting", "g")) is None
