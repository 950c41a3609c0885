"""Host tools from the lock file and `cargo metadata`: which crates' build scripts run
cmake, nasm, libclang, perl, make or go for which target, the variables that make one
unnecessary, how each is found here, the refusal before cargo runs (plan, compile; the
CLI's exit 3 is in test_bad_input_corpus.py), what `inv setup` installs, and cargo's
output when one was missing anyway. The graph is fabricated (tests/unit/fake_cargo.py);
no crate is fetched."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from tests.unit.fake_cargo import FakeMetadata, write_lock
from tooling.compile import hosttools
from tooling.compile.hosttools import Crate
from tooling.errors import ToolMissing
from tooling.matrix import config
from tooling.matrix.targets import Target, by_name
from tooling.plan import planner
from tooling.setup import install
from tooling.steps import compiling
from tooling.steps.state import Build

T = by_name()


def bin_dir(tmp_path: Path, *programs: str) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir(parents=True, exist_ok=True)
    for program in programs:
        exe = folder / program
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    return folder


def env(tmp_path: Path, *programs: str, **variables: str) -> dict[str, str]:
    """A machine with only ``programs`` on PATH, and ``variables``."""
    return {"PATH": str(bin_dir(tmp_path, *programs)), **variables}


def crate(name: str, version: str = "1.0.0", *, build: Mapping[str, str] | None = None,
          features: Iterable[str] | None = ()) -> Crate:
    return Crate(name=name, version=version,
                 features=None if features is None else frozenset(features),
                 build_deps=tuple(sorted((build or {}).items())))


def tools(one: Crate, target: str, environ: Mapping[str, str] | None = None) -> list[str]:
    return [u.tool for u in hosttools.uses(one, T[target], environ or {})]


def missing(crates: Iterable[Crate], target: str, environ: Mapping[str, str],
            root: Path | None = None) -> dict[str, tuple[str, ...]]:
    found = hosttools.missing(crates, T[target], environ, root=root or Path("/nonexistent"))
    return {gap.tool.name: gap.crates for gap in found}


# --- the graph: build-dependencies, not normal or dev ones --------------------------------

def cmake_graph() -> FakeMetadata:
    meta = FakeMetadata()
    meta.add("app", "0.1.0", member=True, deps=["libz-ng-sys", "uses-cmake-at-runtime"],
             dev=["dev-helper"])
    meta.add("libz-ng-sys", "1.1.16", links="z-ng", build=["cmake", "cc"])
    meta.add("uses-cmake-at-runtime", "0.1.0", deps=["cmake"])  # a normal dependency
    meta.add("dev-helper", "0.3.0", build=["cmake"])  # only for the members' tests
    meta.add("cmake", "0.1.54", deps=["cc"])
    meta.add("cc", "1.2.0")
    return meta


def test_a_cmake_build_dependency_needs_cmake_a_normal_or_dev_one_does_not(tmp_path: Path) -> None:
    crates = hosttools.graph_crates(cmake_graph().json())
    assert {c.name for c in crates} == {"app", "libz-ng-sys", "uses-cmake-at-runtime", "cmake",
                                        "cc"}
    assert missing(crates, "linux-x86_64", env(tmp_path)) == {"cmake": ("libz-ng-sys",)}
    tests = hosttools.graph_crates(cmake_graph().json(), dev=True)  # inv test builds them
    assert missing(tests, "linux-x86_64", env(tmp_path)) == {
        "cmake": ("dev-helper", "libz-ng-sys")}
    assert missing(crates, "linux-x86_64", env(tmp_path / "b", "cmake")) == {}


def test_only_the_selected_members_count(tmp_path: Path) -> None:
    meta = cmake_graph()
    meta.add("other", "0.1.0", member=True)
    crates = hosttools.graph_crates(meta.json(), packages=["other"])
    assert [c.name for c in crates] == ["other"]


def test_cmake_named_by_a_variable_is_that_one_or_none(tmp_path: Path) -> None:
    crates = [crate("libz-ng-sys", build={"cmake": "0.1.54"})]
    mine = bin_dir(tmp_path / "opt", "cmake") / "cmake"
    assert missing(crates, "linux-aarch64", env(tmp_path, CMAKE=str(mine))) == {}
    # cmake-rs runs $CMAKE and nothing else: one on PATH does not help a wrong CMAKE
    assert missing(crates, "linux-aarch64", env(tmp_path, "cmake", CMAKE="/nowhere/cmake")) == {
        "cmake": ("libz-ng-sys",)}


# --- each tool's rule ---------------------------------------------------------------------

def test_bindgen_build_dependency_needs_libclang(tmp_path: Path) -> None:
    assert tools(crate("foo-sys", build={"bindgen": "0.72.0"}), "linux-armv7") == ["libclang"]
    assert tools(crate("foo-sys", build={"cc": "1.2.0"}), "linux-armv7") == []


def test_libclang_is_found_where_clang_sys_looks(tmp_path: Path) -> None:
    root = tmp_path / "root"
    nothing = env(tmp_path)
    llvm = root / "usr/lib/llvm-14/lib"
    llvm.mkdir(parents=True)
    (llvm / "libclang-cpp.so.14").write_text("")  # LLVM's C++ library: not libclang
    assert not hosttools.libclang_present(nothing, root)
    (llvm / "libclang-14.so.1").write_text("")  # Debian's libclang1-14
    assert hosttools.libclang_present(nothing, root)
    # LIBCLANG_PATH set: only there (a folder, or the file itself)
    assert not hosttools.libclang_present({**nothing, "LIBCLANG_PATH": str(tmp_path)}, root)
    assert hosttools.libclang_present({**nothing, "LIBCLANG_PATH": str(llvm)}, root)
    assert hosttools.libclang_present(
        {**nothing, "LIBCLANG_PATH": str(llvm / "libclang-14.so.1")}, root)
    # LD_LIBRARY_PATH, and llvm-config --prefix (LLVM_CONFIG_PATH names it)
    elsewhere = tmp_path / "elsewhere"
    assert hosttools.libclang_present({**nothing, "LD_LIBRARY_PATH": str(llvm)}, elsewhere)
    prefix = tmp_path / "llvm-17"
    (prefix / "lib").mkdir(parents=True)
    (prefix / "lib" / "libclang.so").write_text("")
    config_tool = tmp_path / "llvm-config-17"
    config_tool.write_text(f"#!/bin/sh\necho {prefix}\n")
    config_tool.chmod(0o755)
    assert not hosttools.libclang_present(nothing, elsewhere)
    assert hosttools.libclang_present({**nothing, "LLVM_CONFIG_PATH": str(config_tool)},
                                      elsewhere)


@pytest.mark.parametrize(("target", "needed"), [
    ("windows-x86_64", True), ("windows-x86", True),
    ("linux-x86_64", False), ("linux-x86_64-gnu", False), ("macos-x86_64", False),
    ("linux-aarch64", False),
])
def test_aws_lc_sys_assembles_with_nasm_for_windows_x86_only(target: str, needed: bool) -> None:
    assert ("nasm" in tools(crate("aws-lc-sys", "0.37.0"), target)) is needed


@pytest.mark.parametrize(("variables", "features", "needed"), [
    ({"AWS_LC_SYS_PREBUILT_NASM": "1"}, (), False),
    ({"AWS_LC_SYS_PREBUILT_NASM": "true"}, (), False),
    ({"AWS_LC_SYS_PREBUILT_NASM": "0"}, (), True),  # 0 forbids the prebuilt objects
    ({"AWS_LC_SYS_PREBUILT_NASM_x86_64_pc_windows_gnu": "1"}, (), False),
    ({"AWS_LC_SYS_PREBUILT_NASM_i686_pc_windows_gnu": "1"}, (), True),  # another target's
    ({}, ("prebuilt-nasm",), False),
    ({}, (), True),
])
def test_the_prebuilt_nasm_objects_make_nasm_unnecessary_on_windows_x86_64(
        variables: dict[str, str], features: tuple[str, ...], needed: bool) -> None:
    aws = crate("aws-lc-sys", "0.37.0", features=features)
    assert ("nasm" in tools(aws, "windows-x86_64", variables)) is needed


def test_32_bit_windows_has_no_prebuilt_nasm() -> None:
    aws = crate("aws-lc-sys", "0.37.0")
    assert tools(aws, "windows-x86", {"AWS_LC_SYS_PREBUILT_NASM": "1"}) == ["nasm"]


def test_aws_lc_sys_cmake_only_where_the_rules_say_not_for_its_cmake_build_dependency() -> None:
    old = crate("aws-lc-sys", "0.30.0", build={"cmake": "0.1.54", "cc": "1.2.0"})
    assert tools(old, "linux-x86_64") == []  # its cc builder
    assert tools(old, "linux-armv7") == ["cmake", "libclang"]
    assert tools(crate("aws-lc-sys", "0.37.0", build={"cmake": "0.1.54"}), "linux-armv7") == []
    with_bindgen = crate("aws-lc-sys", "0.37.0", build={"bindgen": "0.72.0"})
    assert tools(with_bindgen, "linux-x86_64") == ["libclang"]


@pytest.mark.parametrize(("target", "needed"), [
    ("linux-x86_64", True), ("windows-x86_64", True), ("macos-x86_64", True),
    ("windows-x86", False), ("linux-aarch64", False), ("macos-aarch64", False),
])
def test_rav1e_assembles_x86_64_only(target: str, needed: bool) -> None:
    rav1e = crate("rav1e", "0.8.1", build={"nasm-rs": "0.3.0", "cc": "1.2.0"},
                  features=["asm"])
    assert ("nasm" in tools(rav1e, target)) is needed
    # without its `asm` feature nasm-rs is not a build-dependency
    assert tools(crate("rav1e", "0.8.1", build={"built": "0.8.0"}), target) == []


def test_other_nasm_rs_users_need_nasm_on_x86_targets() -> None:
    user = crate("fast-asm", build={"nasm-rs": "0.3.0"})
    assert tools(user, "windows-x86") == ["nasm"] and tools(user, "linux-x86_64") == ["nasm"]
    assert tools(user, "linux-aarch64") == []


def test_openssl_src_needs_perl_and_make_perl_named_by_variable(tmp_path: Path) -> None:
    sys_crate = crate("openssl-sys", "0.9.105", build={"openssl-src": "300.5.0", "cc": "1.2"})
    assert tools(sys_crate, "linux-armv7") == ["perl", "make"]
    assert missing([sys_crate], "linux-armv7", env(tmp_path)) == {
        "perl": ("openssl-sys",), "make": ("openssl-sys",)}
    perl = bin_dir(tmp_path / "opt", "perl") / "perl"
    assert missing([sys_crate], "linux-armv7", env(tmp_path / "x", "make",
                                                   OPENSSL_SRC_PERL=str(perl))) == {}


@pytest.mark.parametrize(("version", "features", "expected"), [
    ("4.18.0", (), ["cmake", "go", "libclang"]),
    ("4.19.0", (), ["cmake", "libclang"]),
    ("5.2.0", ("fips",), ["cmake", "go", "libclang"]),
])
def test_boring_sys(version: str, features: tuple[str, ...], expected: list[str]) -> None:
    boring = crate("boring-sys", version, build={"bindgen": "0.72.0", "cmake": "0.1.54"},
                   features=features)
    assert tools(boring, "linux-x86_64-gnu") == expected
    # a BoringSSL built before: neither cmake nor go (bindgen still runs)
    assert tools(boring, "linux-x86_64-gnu", {"BORING_BSSL_PATH": "/opt/bssl"}) == ["libclang"]


def test_prost_build_versions_keep_their_tools() -> None:
    assert hosttools.tools_for_build_dep("prost-build", "0.14.4") == ("protoc",)
    assert hosttools.tools_for_build_dep("prost-build", "0.10.4") == ("cmake",)
    assert hosttools.tools_for_build_dep("cmake", "0.1.54") == ("cmake",)


def test_protoc_is_left_to_its_own_check(tmp_path: Path) -> None:
    users = [crate("telemetry", build={"prost-build": "0.14.4"})]
    assert tools(users[0], "linux-x86_64") == ["protoc"]
    assert missing(users, "linux-x86_64", env(tmp_path)) == {}


def test_a_crate_that_brings_its_own_copy(tmp_path: Path) -> None:
    users = [crate("app", build={"tonic-build": "0.12.3"})]
    assert missing(users, "linux-x86_64", env(tmp_path)) == {}  # protoc_env's
    found = hosttools.missing(users, T["linux-x86_64"], env(tmp_path), skip=())
    assert [gap.tool.name for gap in found] == ["protoc"]
    vendored = [*users, crate("protobuf-src", "2.1.0")]
    assert hosttools.missing(vendored, T["linux-x86_64"], env(tmp_path), skip=()) == []


# --- the refusal ---------------------------------------------------------------------------

def _project(tmp_path: Path, lock: Mapping[str, tuple[str, list[str]]],
             table: str = "") -> config.Project:
    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n')
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "main.rs").write_text("fn main() {}\n")
    (tmp_path / "pyproject.toml").write_text(f"[tool.crossmatrix]\n{table}\n")
    write_lock(tmp_path, lock)
    return config.load(tmp_path)


AWS_LOCK = {"app": ("0.1.0", ["aws-lc-rs"]), "aws-lc-rs": ("1.15.0", ["aws-lc-sys"]),
            "aws-lc-sys": ("0.37.0", ["cc", "cmake", "dunce", "fs_extra"]),
            "cc": ("1.2.0", []), "cmake": ("0.1.54", ["cc"]), "dunce": ("1.0.5", []),
            "fs_extra": ("1.3.0", [])}


def aws_graph() -> FakeMetadata:
    meta = FakeMetadata()
    meta.add("app", "0.1.0", member=True, deps=["aws-lc-rs"])
    meta.add("aws-lc-rs", "1.15.0", deps=["aws-lc-sys"])
    meta.add("aws-lc-sys", "0.37.0", links="aws_lc_0_37_0", build=["cc", "cmake"])
    meta.add("cmake", "0.1.54", deps=["cc"])
    meta.add("cc", "1.2.0")
    return meta


@pytest.fixture
def fake_cargo(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`cargo metadata` answers with aws_graph(); the targets it was asked about."""
    asked: list[str] = []

    def target_crates(project: config.Project, target: Target, *,
                      dev: bool = False) -> list[Crate]:
        asked.append(target.name)
        return hosttools.graph_crates(aws_graph().json(), project.packages, dev=dev)

    monkeypatch.setattr(hosttools, "target_crates", target_crates)
    monkeypatch.delenv("AWS_LC_SYS_PREBUILT_NASM", raising=False)
    if shutil.which("nasm"):
        pytest.skip("nasm is installed here")
    return asked


def test_the_plan_lists_the_tool_with_the_crate_and_the_fix(tmp_path: Path,
                                                            fake_cargo: list[str]) -> None:
    project = _project(tmp_path, AWS_LOCK)
    planned = planner.plan_target(project, T["windows-x86_64"])
    gap = next(m for m in planned.missing if m.what.startswith("nasm"))
    assert gap.what == "nasm (assembler) for aws-lc-sys"
    assert gap.fix == ("install Debian's nasm (`inv setup` does), or set "
                       "AWS_LC_SYS_PREBUILT_NASM = \"1\" in env of "
                       "[tool.crossmatrix.target.windows-x86_64] (links aws-lc-sys' prebuilt "
                       "NASM objects)")
    assert not planned.ready
    linux = planner.plan_target(project, T["linux-x86_64"])
    assert not any(m.what.startswith("nasm") for m in linux.missing)
    # the lock file alone cleared linux-x86_64: cargo was not asked about it
    assert fake_cargo == ["windows-x86_64"]


def test_compile_stops_before_cargo_with_one_line(tmp_path: Path, fake_cargo: list[str]) -> None:
    project = _project(tmp_path, AWS_LOCK)
    with pytest.raises(ToolMissing) as caught:
        compiling.invocation(Build(project, T["windows-x86_64"]), provide_std=False)
    assert caught.value.exit_code == 3
    assert caught.value.message == (
        "aws-lc-sys needs nasm (assembler) to build for windows-x86_64 (its build script "
        "assembles AWS-LC's Windows x86-64 assembly with nasm), and none is installed")
    assert "\n" not in caught.value.render().split("\n  hint: ")[0]
    assert (caught.value.hint or "").startswith("install Debian's nasm")


def test_the_targets_env_setting_makes_nasm_unnecessary(tmp_path: Path,
                                                        fake_cargo: list[str]) -> None:
    project = _project(tmp_path, AWS_LOCK, '[tool.crossmatrix.target.windows-x86_64]\n'
                                           'env = { AWS_LC_SYS_PREBUILT_NASM = "1" }')
    hosttools.check(project, [T["windows-x86_64"]])
    with pytest.raises(ToolMissing, match="for windows-x86 "):  # no prebuilt objects there
        hosttools.check(project, [T["windows-x86_64"], T["windows-x86"]])


def test_the_matrix_refusal_names_every_target_needing_it(tmp_path: Path,
                                                          fake_cargo: list[str]) -> None:
    project = _project(tmp_path, AWS_LOCK)
    with pytest.raises(ToolMissing) as caught:
        hosttools.check(project, [T["linux-x86_64"], T["windows-x86_64"], T["windows-x86"]])
    assert "nasm (assembler) to build for windows-x86_64 and windows-x86 " in caught.value.message


def test_no_candidate_in_the_lock_file_asks_cargo_nothing(tmp_path: Path,
                                                          fake_cargo: list[str]) -> None:
    project = _project(tmp_path, {"app": ("0.1.0", ["itoa"]), "itoa": ("1.0.18", [])})
    hosttools.check(project, [T["windows-x86_64"]])
    assert fake_cargo == []


def test_no_answer_from_cargo_refuses_nothing(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hosttools, "target_crates", lambda *a, **k: None)
    project = _project(tmp_path, AWS_LOCK)
    assert hosttools.missing_for(project, T["windows-x86_64"]) == []


# --- inv setup -----------------------------------------------------------------------------

def _packages(tmp_path: Path, lock: Mapping[str, tuple[str, list[str]]], targets: list[str],
              table: str = "") -> tuple[str, ...]:
    project = _project(tmp_path, lock, table)
    return install.needs([T[t] for t in targets], project).packages


def test_setup_installs_what_the_lock_files_crates_run_for_the_targets(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("CMAKE", "AWS_LC_SYS_PREBUILT_NASM", "LIBCLANG_PATH"):
        monkeypatch.delenv(variable, raising=False)
    # aws-lc-sys 0.37 build-depends on cmake, and runs it on none of these targets
    linux = _packages(tmp_path, AWS_LOCK, ["linux-x86_64"])
    assert "cmake" not in linux and "nasm" not in linux
    windows = _packages(tmp_path, AWS_LOCK, ["linux-x86_64", "windows-x86_64"])
    assert "nasm" in windows
    prebuilt = _packages(tmp_path, AWS_LOCK, ["windows-x86_64"],
                         '[tool.crossmatrix.target.windows-x86_64]\n'
                         'env = { AWS_LC_SYS_PREBUILT_NASM = "1" }')
    assert "nasm" not in prebuilt
    bindgen = {"app": ("0.1.0", ["zstd-sys"]), "zstd-sys": ("2.0.16", ["bindgen", "cc"]),
               "bindgen": ("0.72.0", []), "cc": ("1.2.0", [])}
    assert "libclang-dev" in _packages(tmp_path, bindgen, ["linux-aarch64"])
    # the lock file does not say which dependency is a build-dependency: installed to be sure
    runtime = {"app": ("0.1.0", ["cmake"]), "cmake": ("0.1.54", [])}
    assert "cmake" in _packages(tmp_path, runtime, ["linux-aarch64"])
    boring = {"app": ("0.1.0", ["boring-sys"]), "boring-sys": ("4.18.0", ["cmake"]),
              "cmake": ("0.1.54", [])}
    assert {"cmake", "golang-go"} <= set(_packages(tmp_path, boring, ["linux-x86_64-gnu"]))
    monkeypatch.setenv("CMAKE", "/opt/cmake/bin/cmake")  # names its own: nothing to install
    assert "cmake" not in _packages(tmp_path, boring, ["linux-x86_64-gnu"])


def test_setup_adds_nothing_for_a_pure_rust_lock_file(tmp_path: Path) -> None:
    plain = _packages(tmp_path, {"app": ("0.1.0", ["itoa"]), "itoa": ("1.0.18", [])},
                      ["windows-x86_64", "linux-aarch64-gnu"])
    assert not {"cmake", "nasm", "libclang-dev", "golang-go"} & set(plain)


# --- cargo's output, when a tool was missing all the same -----------------------------------

FAILED = "error: failed to run custom build command for `{crate} v{version}`\n\n"


@pytest.mark.parametrize(("target", "output", "expected"), [
    ("linux-x86_64", FAILED.format(crate="libz-ng-sys", version="1.1.16")
     + "  failed to execute command: No such file or directory (os error 2)\n"
       "  is `cmake` not installed?",
     "libz-ng-sys's build script needs cmake on this machine (it runs here, not on the "
     "target): install Debian's cmake (`inv setup` does), or set CMAKE=/path/to/cmake"),
    ("windows-x86_64", FAILED.format(crate="aws-lc-sys", version="0.30.0")
     + "  warning: aws-lc-sys@0.30.0: NASM command not found or failed to execute.\n"
       "  Missing dependency: nasm",
     "aws-lc-sys's build script needs nasm (assembler) on this machine (it runs here, not on "
     "the target): install Debian's nasm (`inv setup` does), or set AWS_LC_SYS_PREBUILT_NASM "
     "= \"1\" in env of [tool.crossmatrix.target.windows-x86_64] (links aws-lc-sys' prebuilt "
     "NASM objects)"),
    ("linux-aarch64", FAILED.format(crate="zstd-sys", version="2.0.16")
     + "  thread 'main' panicked at bindgen-0.72.0/lib.rs:616:27:\n  Unable to find "
       "libclang: \"couldn't find any valid shared libraries matching: ['libclang.so', "
       "'libclang-*.so', 'libclang.so.*', 'libclang-*.so.*'], set the `LIBCLANG_PATH` "
       "environment variable to a path where one of these files can be found\"",
     "zstd-sys's build script needs libclang (bindgen) on this machine (it runs here, not on "
     "the target): install Debian's libclang-dev (`inv setup` does), or set LIBCLANG_PATH to "
     "the folder with libclang.so"),
    ("linux-x86_64", FAILED.format(crate="rav1e", version="0.8.1")
     + "  NASM build failed. Make sure you have nasm installed or disable the \"asm\" "
       "feature.\n  error: Unable to run nasm: No such file or directory (os error 2)",
     "rav1e's build script needs nasm (assembler) on this machine (it runs here, not on the "
     "target): install Debian's nasm (`inv setup` does), or turn off rav1e's `asm` feature "
     "(default-features = false)"),
    ("linux-armv7", FAILED.format(crate="openssl-sys", version="0.9.105")
     + "  cargo:warning=configuring OpenSSL build: Command 'perl' not found. Is perl "
       "installed?",
     "openssl-sys's build script needs perl on this machine (it runs here, not on the "
     "target): install Debian's perl"),
    ("linux-x86_64-gnu", FAILED.format(crate="boring-sys", version="4.18.0")
     + "  CMake Error at CMakeLists.txt:60 (message):\n    Could not find Go",
     "boring-sys's build script needs go on this machine (it runs here, not on the target): "
     "install Debian's golang-go (`inv setup` does), or set BORING_BSSL_PATH to a BoringSSL "
     "built before (env of [tool.crossmatrix.target.linux-x86_64-gnu])"),
    ("linux-x86_64", "Error: Custom { kind: NotFound, error: \"Could not find `protoc`. If "
     "`protoc` is installed, try setting the `PROTOC` environment variable\" }",
     "a build script needs protoc (protobuf compiler) on this machine (it runs here, not on "
     "the target): install Debian's protobuf-compiler (`inv setup` does), or set "
     "PROTOC=/path/to/protoc"),
])
def test_a_missing_tool_in_cargos_output_gets_its_fix(target: str, output: str,
                                                      expected: str) -> None:
    assert hosttools.recognise(output, T[target]) == expected
    assert compiling._known_failure(output, T[target]) == expected


def test_two_missing_tools_in_one_output_are_both_named() -> None:
    output = (FAILED.format(crate="aws-lc-sys", version="0.30.0")
              + "Missing dependency: nasm\nMissing dependency: cmake\n")
    hint = hosttools.recognise(output, T["windows-x86_64"])
    assert hint is not None and "needs cmake and nasm (assembler) on this machine" in hint
    assert "install Debian's cmake" in hint and "install Debian's nasm" in hint


def test_other_failures_are_not_taken_for_a_missing_tool() -> None:
    assert hosttools.recognise("error[E0308]: mismatched types", T["linux-x86_64"]) is None
    assert hosttools.recognise("cmake: error while loading shared libraries",
                               T["linux-x86_64"]) is None


# --- the target's C++ compiler ---------------------------------------------------------------

CMAKE_CXX_LOCK = {"app": ("0.1.0", ["cmake"]), "cmake": ("0.1.58", ["cc"]),
                  "cc": ("1.2.0", [])}


def cmake_cxx_graph() -> FakeMetadata:
    meta = FakeMetadata()
    meta.add("app", "0.1.0", member=True, build=["cmake"])
    meta.add("cmake", "0.1.58", deps=["cc"])
    meta.add("cc", "1.2.0")
    return meta


@pytest.fixture
def fake_cxx_cargo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """`cargo metadata` answers with cmake_cxx_graph(); cmake is on PATH (a fake), and
    aarch64's cross g++ is not. Returns the fake programs' folder."""
    def target_crates(project: config.Project, target: Target, *,
                      dev: bool = False) -> list[Crate]:
        return hosttools.graph_crates(cmake_cxx_graph().json(), project.packages, dev=dev)

    monkeypatch.setattr(hosttools, "target_crates", target_crates)
    if shutil.which("aarch64-linux-gnu-g++") or shutil.which("x86_64-w64-mingw32-g++"):
        pytest.skip("a cross g++ is installed here")
    folder = bin_dir(tmp_path / "fake", "cmake")
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    for key in ("CXX_aarch64_unknown_linux_gnu", "CXX_aarch64-unknown-linux-gnu", "CMAKE"):
        monkeypatch.delenv(key, raising=False)
    return folder


def test_a_cmake_user_built_by_gcc_needs_its_gxx_before_cargo_runs(
        tmp_path: Path, fake_cxx_cargo: Path) -> None:
    project = _project(tmp_path, CMAKE_CXX_LOCK)
    with pytest.raises(ToolMissing) as caught:
        compiling.invocation(Build(project, T["linux-aarch64-gnu"]), provide_std=False)
    assert caught.value.exit_code == 3
    assert caught.value.message == (
        "app needs a C++ compiler (aarch64-linux-gnu-g++) to build for linux-aarch64-gnu (its "
        "build script runs cmake, and CMake's project() checks for a C++ compiler unless it "
        "names its languages), and none is installed")
    assert caught.value.hint == (
        "run `inv setup --target linux-aarch64-gnu` (installs g++-aarch64-linux-gnu), or set "
        "CXX_aarch64_unknown_linux_gnu in the env of [tool.crossmatrix.target.linux-aarch64-gnu]")
    planned = planner.plan_target(project, T["linux-aarch64-gnu"])
    assert [m.what for m in planned.missing if "C++" in m.what] == [
        "a C++ compiler (aarch64-linux-gnu-g++) for app"]
    # zig brings its own c++: nothing to install for the musl target
    hosttools.check(project, [T["linux-aarch64"]])
    # setup installs it for the gcc target only
    needs = install.needs([T["linux-aarch64-gnu"], T["linux-aarch64"]], project).packages
    assert "g++-aarch64-linux-gnu" in needs
    assert "g++-aarch64-linux-gnu" not in install.needs([T["linux-aarch64"]], project).packages


def test_an_installed_gxx_or_the_users_cxx_is_enough(tmp_path: Path, fake_cxx_cargo: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path, CMAKE_CXX_LOCK)
    bin_dir(tmp_path / "fake", "aarch64-linux-gnu-g++")
    hosttools.check(project, [T["linux-aarch64-gnu"]])
    (fake_cxx_cargo / "aarch64-linux-gnu-g++").unlink()
    with pytest.raises(ToolMissing):
        hosttools.check(project, [T["linux-aarch64-gnu"]])
    mine = bin_dir(tmp_path / "sdk", "my-aarch64-g++") / "my-aarch64-g++"
    own = _project(tmp_path, CMAKE_CXX_LOCK,
                   '[tool.crossmatrix.target.linux-aarch64-gnu]\n'
                   f'env = {{ CXX_aarch64_unknown_linux_gnu = "{mine}" }}')
    hosttools.check(own, [T["linux-aarch64-gnu"]])
    assert "g++-aarch64-linux-gnu" not in install.needs([T["linux-aarch64-gnu"]], own).packages
    monkeypatch.setenv("CXX_aarch64-unknown-linux-gnu", str(mine))  # read first by cc-rs
    hosttools.check(project, [T["linux-aarch64-gnu"]])


def test_windows_gnu_needs_mingws_gxx(tmp_path: Path, fake_cxx_cargo: Path) -> None:
    project = _project(tmp_path, CMAKE_CXX_LOCK)
    with pytest.raises(ToolMissing, match=r"a C\+\+ compiler \(x86_64-w64-mingw32-g\+\+\)"):
        hosttools.check(project, [T["windows-x86_64"]])
    assert "g++-mingw-w64-x86-64-win32" in install.needs([T["windows-x86_64"]], project).packages


@pytest.mark.parametrize(("one", "expected"), [
    (crate("cxx", "1.0.150", build={"cc": "1.2.0", "cxxbridge-flags": "1.0.150"}),
     ["c++"]),
    (crate("link-cplusplus", "1.0.10"), ["c++"]),
    (crate("app", build={"cxx-build": "1.0.150"}), ["c++"]),
    (crate("app", build={"cmake": "0.1.58"}), ["c++"]),
    (crate("libduckdb-sys", "1.2.0", features=["bundled"], build={"cc": "1.2.0"}), ["c++"]),
    (crate("libduckdb-sys", "1.2.0", features=[], build={"cc": "1.2.0"}), []),
    # C only: zlib-ng's project(zlib C), and a plain cc user
    (crate("libz-ng-sys", "1.1.16", build={"cmake": "0.1.58", "cc": "1.2.0"}), []),
    (crate("libsqlite3-sys", "0.30.1", build={"cc": "1.2.0"}), []),
])
def test_which_build_scripts_compile_cxx(one: Crate, expected: list[str]) -> None:
    assert [u.tool for u in hosttools.cxx_uses(one, T["linux-aarch64-gnu"], {})] == expected


def _registry_crate(home: Path, name: str, version: str, text: str, *,
                    script: str = "build.rs", build: str | None = None) -> Path:
    """A crate as `cargo fetch` unpacks it into CARGO_HOME's registry."""
    root = home / "registry" / "src" / "index.crates.io-0" / f"{name}-{version}"
    (root / script).parent.mkdir(parents=True, exist_ok=True)
    (root / "Cargo.toml").write_text(f'[package]\nname = "{name}"\nversion = "{version}"\n'
                                     + (f"build = {build}\n" if build else ""))
    (root / script).write_text(text)
    return root


def test_a_build_script_that_tells_cc_to_compile_cxx_needs_gxx(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crate no rule names (unrar-ng-sys, seen in the corpus: setup had not installed
    aarch64's g++ and its build script failed) is found by its own build script's
    ``.cpp(true)``, as cargo unpacked it; setup installs the target's g++ for it."""
    home = tmp_path / "cargo-home"
    monkeypatch.setenv("CARGO_HOME", str(home))
    _registry_crate(home, "unrar-ng-sys", "0.7.6",
                    'cc::Build::new().cpp(true).files(&files).compile("libunrar.a");')
    own = _registry_crate(home, "own-sys", "1.0.0", "mod helper; fn main() { helper::run() }",
                          script="build/main.rs", build='"build/main.rs"')
    (own / "build" / "helper.rs").write_text("pub fn run() { cc::Build::new()\n  .cpp( true ); }")
    _registry_crate(home, "plain-sys", "1.0.0", 'cc::Build::new().file("a.c").compile("a");')
    _registry_crate(home, "scriptless-sys", "1.0.0", ".cpp(true)", build="false")
    aarch64 = T["linux-aarch64-gnu"]

    def compiles_cxx(name: str, version: str = "1.0.0") -> list[str]:
        return [u.why for u in hosttools.cxx_uses(crate(name, version, build={"cc": "1.2.0"}),
                                                  aarch64, {})]

    assert compiles_cxx("unrar-ng-sys", "0.7.6") == [
        "its build script compiles C++ (cc's .cpp(true))"]
    assert compiles_cxx("own-sys") == ["its build script compiles C++ (cc's .cpp(true))"]
    assert compiles_cxx("plain-sys") == []
    assert compiles_cxx("scriptless-sys") == []
    assert compiles_cxx("unrar-ng-sys", "0.7.5") == []  # not unpacked here: not known
    lock = {"app": ("0.1.0", ["unrar-ng-sys"]), "unrar-ng-sys": ("0.7.6", ["cc"]),
            "cc": ("1.2.0", [])}
    project = _project(tmp_path, lock)
    graph = FakeMetadata()
    graph.add("app", "0.1.0", member=True, deps=["unrar-ng-sys"])
    graph.add("unrar-ng-sys", "0.7.6", build=["cc"])
    graph.add("cc", "1.2.0")
    answer: list[Crate] | None = hosttools.graph_crates(graph.json())
    monkeypatch.setattr(hosttools, "target_crates", lambda *a, **k: answer)
    assert "g++-aarch64-linux-gnu" in install.needs([aarch64], project).packages
    assert "g++-aarch64-linux-gnu" not in install.needs([T["linux-aarch64"]], project).packages
    answer = None  # cargo cannot say: the lock file's crates count
    assert "g++-aarch64-linux-gnu" in install.needs([aarch64], project).packages
    # the lock file names it, the target's build does not (a Haiku-only dependency)
    answer = [c for c in hosttools.graph_crates(graph.json()) if c.name != "unrar-ng-sys"]
    assert "g++-aarch64-linux-gnu" not in install.needs([aarch64], project).packages


def test_a_pure_rust_or_c_lock_file_needs_no_gxx(tmp_path: Path, fake_cxx_cargo: Path) -> None:
    project = _project(tmp_path, {"app": ("0.1.0", ["cc"]), "cc": ("1.2.0", [])})
    assert hosttools.missing_for(project, T["linux-aarch64-gnu"]) == []
    assert not any(p.startswith("g++") for p in
                   install.needs([T["linux-aarch64-gnu"]], project).packages)


def test_a_members_own_build_script_that_compiles_cxx_needs_gxx(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The workspace's own crate compiling C++ (its build.rs, found by cargo metadata: the
    lock file does not say where a path package is)."""
    monkeypatch.setenv("CARGO_HOME", str(tmp_path / "cargo-home"))
    project = _project(tmp_path, {"app": ("0.1.0", ["cc"]), "cc": ("1.2.0", [])})
    (tmp_path / "build.rs").write_text(
        'fn main() { cc::Build::new().cpp(true).file("src/a.cpp").compile("a"); }\n')
    (app,) = [c for c in hosttools.lock_crates(tmp_path) if c.name == "app"]
    assert app.build_script == str(tmp_path / "build.rs")
    assert [u.tool for u in hosttools.cxx_uses(app, T["linux-aarch64-gnu"], {})] == ["c++"]
    monkeypatch.setattr(hosttools, "target_crates", lambda *a, **k: None)
    assert "g++-aarch64-linux-gnu" in install.needs([T["linux-aarch64-gnu"]], project).packages
