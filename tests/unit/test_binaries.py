"""tooling.binaries against real binaries, compiled here from tiny C programs.

Each fixture builds one binary once per module with the compiler Debian names
after the target (``target.gcc``, e.g. ``aarch64-linux-gnu-gcc``) and skips
when that compiler is not installed.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from tooling.errors import StepFailed, ToolMissing
from tooling.matrix.targets import Target, by_name
from tooling.platforms import strip
from tooling.util import proc
from tooling.verify import elf

PROGRAM = r"""
#include <pthread.h>
#include <stdio.h>
#include <sys/random.h>

static void *work(void *arg) { return arg; }

int main(void) {
    unsigned char buf[4];
    pthread_t thread;
    if (getrandom(buf, sizeof buf, 0) < 0) return 1;
    if (pthread_create(&thread, NULL, work, NULL) != 0) return 1;
    pthread_join(thread, NULL);
    printf("%d\n", buf[0]);
    return 0;
}
"""

LIBRARY = r"""
#include <stdio.h>
static int helper(void) { return puts("hello"); }
int crossmatrix_data = 3;
int PyInit_demo(void) { return helper(); }
"""

FLOATS = "float half(float x) { return x / 2.0f; }\n"

X86_64_GNU = "linux-x86_64-gnu"
AARCH64_GNU = "linux-aarch64-gnu"
RISCV64_GNU = "linux-riscv64-gnu"


def target(name: str) -> Target:
    return by_name()[name]


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proc, "ECHO", False)


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("inspect")
    (root / "program.c").write_text(PROGRAM)
    (root / "library.c").write_text(LIBRARY)
    (root / "floats.c").write_text(FLOATS)
    return root


Build = Callable[..., Path]


@pytest.fixture(scope="module")
def build(build_dir: Path) -> Build:
    """``build(compiler, output, *flags, source="program.c")``; skips if the compiler is absent."""

    def _build(compiler: str, output: str, *flags: str, source: str = "program.c") -> Path:
        out = build_dir / output
        if out.exists():
            return out
        if shutil.which(compiler) is None:
            pytest.skip(f"{compiler} not installed")
        cmd = [compiler, *flags, "-o", str(out), str(build_dir / source)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"{' '.join(cmd)} failed: {done.stderr.strip()[-300:]}")
        return out

    return _build


def stripped_copy(binary: Path, strip: str) -> Path:
    if shutil.which(strip) is None:
        pytest.skip(f"{strip} not installed")
    out = binary.with_name(binary.name + ".stripped")
    if not out.exists():
        subprocess.run([strip, "-o", str(out), str(binary)], check=True)
    return out


@pytest.fixture(scope="module")
def x86_dynamic(build: Build) -> Path:
    return build(target(X86_64_GNU).gcc, "x86-dynamic", "-O1")


@pytest.fixture(scope="module")
def x86_static(build: Build) -> Path:
    return build(target(X86_64_GNU).gcc, "x86-static", "-O1", "-static")


@pytest.fixture(scope="module")
def x86_static_pie(build: Build) -> Path:
    return build(target(X86_64_GNU).gcc, "x86-static-pie", "-O1", "-static-pie")


@pytest.fixture(scope="module")
def x86_stripped(x86_dynamic: Path) -> Path:
    return stripped_copy(x86_dynamic, "x86_64-linux-gnu-strip")


@pytest.fixture(scope="module")
def x86_cdylib(build: Build) -> Path:
    return build(target(X86_64_GNU).gcc, "libdemo.so", "-shared", "-fPIC", source="library.c")


@pytest.fixture(scope="module")
def a64_dynamic(build: Build) -> Path:
    return build(target(AARCH64_GNU).gcc, "a64-dynamic", "-O1")


@pytest.fixture(scope="module")
def a64_stripped(a64_dynamic: Path) -> Path:
    return stripped_copy(a64_dynamic, "aarch64-linux-gnu-strip")


@pytest.fixture(scope="module")
def rv_dynamic(build: Build) -> Path:
    return build(target(RISCV64_GNU).gcc, "rv-dynamic", "-O1")


@pytest.fixture(scope="module")
def rv_soft_object(build: Build) -> Path:
    """An LP64 (soft-float ABI) RISC-V object: compiling (not linking) needs no soft libc."""
    return build(target(RISCV64_GNU).gcc, "rv-soft.o", "-march=rv64imac", "-mabi=lp64", "-c",
                 source="floats.c")


def _zig_or_skip() -> list[str]:
    if importlib.util.find_spec("ziglang") is None:
        pytest.skip("no ARM C compiler: arm-linux-gnueabihf-gcc and ziglang both missing")
    return [sys.executable, "-m", "ziglang", "cc"]


def _zig_object(build_dir: Path, output: str, zig_target: str, *flags: str) -> Path:
    out = build_dir / output
    if not out.exists():
        cmd = [*_zig_or_skip(), "-target", zig_target, *flags, "-c", "-o", str(out),
               str(build_dir / "floats.c")]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"zig cc failed: {done.stderr.strip()[-300:]}")
    return out


@pytest.fixture(scope="module")
def arm_hard(build: Build, build_dir: Path) -> Path:
    """An armv7 hard-float binary from Debian's cross gcc, else an object from zig cc."""
    if shutil.which("arm-linux-gnueabihf-gcc"):
        return build("arm-linux-gnueabihf-gcc", "arm-hf", "-O1")
    return _zig_object(build_dir, "arm-hf.o", "arm-linux-gnueabihf",
                       *target("linux-armv7").arch.zig_flags)


@pytest.fixture(scope="module")
def arm_soft(build_dir: Path) -> Path:
    """zig's object: GNU as leaves the float ABI out of an object's e_flags (the linker sets
    EF_ARM_ABI_FLOAT_SOFT), so Debian's arm-linux-gnueabi-gcc -c makes no soft-float object."""
    return _zig_object(build_dir, "arm-soft.o", "arm-linux-gnueabi")


def by_check(checks: list[elf.Check]) -> dict[str, elf.Check]:
    return {check.name: check for check in checks}


# --------------------------------------------------------------------------- facts


def test_x86_64_dynamic_facts(x86_dynamic: Path) -> None:
    facts = elf.read_facts(x86_dynamic)
    assert facts.path == x86_dynamic
    assert facts.size == x86_dynamic.stat().st_size
    assert facts.machine == "EM_X86_64"
    assert facts.elf_class == 64
    assert facts.endian == "little"
    assert facts.float_abi is None
    assert facts.interpreter == "/lib64/ld-linux-x86-64.so.2"
    assert "libc.so.6" in facts.needed
    assert not facts.static
    assert not facts.static_pie
    assert not facts.shared_library
    assert not facts.stripped


def test_aarch64_facts(a64_dynamic: Path) -> None:
    facts = elf.read_facts(a64_dynamic)
    assert facts.machine == "EM_AARCH64"
    assert facts.elf_class == 64
    assert facts.endian == "little"
    assert facts.float_abi is None
    assert facts.interpreter == "/lib/ld-linux-aarch64.so.1"
    assert "libc.so.6" in facts.needed


def test_riscv64_double_float_abi(rv_dynamic: Path) -> None:
    facts = elf.read_facts(rv_dynamic)
    assert facts.machine == "EM_RISCV"
    assert facts.elf_class == 64
    assert facts.float_abi == "double"
    checks = by_check(elf.verify(facts, target(RISCV64_GNU), require_stripped=False))
    assert checks["float-abi"].ok
    assert elf.failed(checks.values()) == []


def test_riscv64_soft_float_object_fails_float_abi(rv_soft_object: Path) -> None:
    facts = elf.read_facts(rv_soft_object)
    assert facts.elf_type == "ET_REL"
    assert facts.float_abi == "soft"
    check = by_check(elf.verify(facts, target(RISCV64_GNU)))["float-abi"]
    assert not check.ok
    assert (check.expected, check.actual) == ("double", "soft")


def test_arm_hard_float(arm_hard: Path) -> None:
    facts = elf.read_facts(arm_hard)
    assert facts.machine == "EM_ARM"
    assert facts.elf_class == 32
    assert facts.float_abi == "hard"
    checks = by_check(elf.verify(facts, target("linux-armv7")))
    assert checks["machine"].ok
    assert checks["class"].ok
    assert checks["float-abi"].ok


def test_arm_soft_float_fails_hard_target(arm_soft: Path) -> None:
    facts = elf.read_facts(arm_soft)
    assert facts.float_abi == "soft"
    check = by_check(elf.verify(facts, target("linux-armv7")))["float-abi"]
    assert not check.ok
    assert check.actual == "soft"


def test_no_float_abi_check_without_one(x86_dynamic: Path) -> None:
    checks = elf.verify(elf.read_facts(x86_dynamic), target(X86_64_GNU))
    assert "float-abi" not in by_check(checks)


# --------------------------------------------------------------------------- linkage


def test_static_facts(x86_static: Path) -> None:
    facts = elf.read_facts(x86_static)
    assert facts.static
    assert not facts.static_pie
    assert facts.elf_type == "ET_EXEC"
    assert facts.interpreter is None
    assert facts.needed == ()
    assert facts.glibc_requirements == {}
    assert facts.highest_glibc is None


def test_static_pie_facts_and_counts_as_static(x86_static_pie: Path) -> None:
    facts = elf.read_facts(x86_static_pie)
    assert facts.static
    assert facts.static_pie
    assert not facts.shared_library
    assert facts.elf_type == "ET_DYN"
    check = by_check(elf.verify(facts, target("linux-x86_64")))["linkage"]
    assert check.ok
    assert (check.expected, check.actual) == ("static", "static-pie")


def test_dynamic_binary_fails_static_target(x86_dynamic: Path) -> None:
    check = by_check(elf.verify(elf.read_facts(x86_dynamic),
                                    target("linux-x86_64")))["linkage"]
    assert not check.ok
    assert check.expected == "static"
    assert check.actual.startswith("dynamic (interpreter /lib64/ld-linux-x86-64.so.2, needs ")
    assert "libc.so.6" in check.actual


def test_static_binary_fails_gnu_target(x86_static: Path) -> None:
    checks = by_check(elf.verify(elf.read_facts(x86_static), target(X86_64_GNU)))
    assert not checks["linkage"].ok
    assert checks["linkage"].expected.startswith("dynamic")
    assert checks["linkage"].actual == "static"
    assert checks["linkage"] in elf.failed(checks.values())


def test_dynamic_binary_passes_gnu_target(x86_dynamic: Path) -> None:
    checks = elf.verify(elf.read_facts(x86_dynamic), target(X86_64_GNU),
                            require_stripped=False)
    assert elf.failed(checks) == []
    assert [c.name for c in checks] == ["machine", "class", "endian", "linkage", "glibc"]


def test_cdylib_exports_and_linkage(x86_cdylib: Path) -> None:
    facts = elf.read_facts(x86_cdylib)
    assert facts.shared_library
    assert facts.interpreter is None
    assert "PyInit_demo" in facts.exported
    assert "helper" not in facts.exported  # static
    assert "crossmatrix_data" not in facts.exported  # an object, not a function
    check = by_check(elf.verify(facts, target(X86_64_GNU)))["linkage"]
    assert check.ok
    assert check.actual.startswith("shared library")


def test_executable_exports_no_pyinit(x86_dynamic: Path) -> None:
    assert not any(name.startswith("PyInit_")
                   for name in elf.read_facts(x86_dynamic).exported)


# --------------------------------------------------------------------------- glibc


def test_glibc_requirements(x86_dynamic: Path) -> None:
    facts = elf.read_facts(x86_dynamic)
    reqs = facts.glibc_requirements
    assert all(version.startswith("GLIBC_") for version in reqs)
    assert any("getrandom" in symbols for symbols in reqs.values())
    assert any("pthread_create" in symbols for symbols in reqs.values())
    assert all(list(symbols) == sorted(symbols) for symbols in reqs.values())
    assert facts.highest_glibc is not None
    assert elf.version_key(facts.highest_glibc) >= (2, 25)
    assert facts.highest_glibc == elf.highest_version(reqs)


def test_glibc_floor_too_old_fails_naming_symbols(x86_dynamic: Path) -> None:
    facts = elf.read_facts(x86_dynamic)
    check = by_check(elf.verify(facts, target(X86_64_GNU), glibc_floor="2.17"))["glibc"]
    assert not check.ok
    assert check.expected == "<= 2.17"
    assert check.actual.startswith(f"{facts.highest_glibc} (needs ")
    assert "getrandom@GLIBC_2." in check.actual
    assert "printf@" not in check.actual  # printf is older than 2.17 on x86_64


def test_glibc_floor_recent_passes(x86_dynamic: Path) -> None:
    facts = elf.read_facts(x86_dynamic)
    check = by_check(elf.verify(facts, target(X86_64_GNU), glibc_floor="2.99"))["glibc"]
    assert check.ok
    assert check.actual == facts.highest_glibc


def test_glibc_without_floor_reports_highest(a64_dynamic: Path) -> None:
    facts = elf.read_facts(a64_dynamic)
    check = by_check(elf.verify(facts, target(AARCH64_GNU)))["glibc"]
    assert check.ok
    assert check.actual == facts.highest_glibc


def test_glibc_versions_compare_numerically(x86_dynamic: Path) -> None:
    assert elf.highest_version(["GLIBC_2.9", "GLIBC_2.17", "GLIBC_2.2.5"]) == "2.17"
    assert elf.version_key("GLIBC_2.9") < elf.version_key("2.17")
    reqs: dict[str, tuple[str, ...]] = {"GLIBC_2.9": ("old_symbol",), "GLIBC_2.17": ("new_symbol",)}
    facts = dataclasses.replace(elf.read_facts(x86_dynamic), glibc_requirements=reqs,
                                highest_glibc=elf.highest_version(reqs))
    assert facts.highest_glibc == "2.17"
    # As strings "2.17" <= "2.9"; as versions it is newer, so a 2.9 floor fails.
    check = by_check(elf.verify(facts, target(X86_64_GNU), glibc_floor="2.9"))["glibc"]
    assert not check.ok
    assert check.actual == "2.17 (needs new_symbol@GLIBC_2.17)"
    assert by_check(elf.verify(facts, target(X86_64_GNU), glibc_floor="2.17"))["glibc"].ok


def test_no_glibc_check_for_static_musl_target(x86_static_pie: Path) -> None:
    checks = elf.verify(elf.read_facts(x86_static_pie), target("linux-x86_64"))
    assert "glibc" not in by_check(checks)


# --------------------------------------------------------------------------- stripping, arch


def test_stripped(x86_dynamic: Path, x86_stripped: Path) -> None:
    assert not elf.read_facts(x86_dynamic).stripped
    facts = elf.read_facts(x86_stripped)
    assert facts.stripped
    assert facts.needed == elf.read_facts(x86_dynamic).needed  # dynamic info survives
    assert by_check(elf.verify(facts, target(X86_64_GNU)))["stripped"].ok
    unstripped = elf.verify(elf.read_facts(x86_dynamic), target(X86_64_GNU))
    assert not by_check(unstripped)["stripped"].ok
    relaxed = elf.verify(elf.read_facts(x86_dynamic), target(X86_64_GNU),
                             require_stripped=False)
    assert "stripped" not in by_check(relaxed)


def test_stripped_aarch64_passes_everything(a64_stripped: Path) -> None:
    checks = elf.verify(elf.read_facts(a64_stripped), target(AARCH64_GNU),
                            glibc_floor="2.99")
    assert elf.failed(checks) == []


# ----------------------------------------------------------- stripping Rust with debuginfo

RUST_MAIN = 'fn main() { println!("hello"); }\n'


@pytest.fixture(scope="module")
def rust_debug_1(build_dir: Path) -> Path:
    """A Rust program built like ``[profile.release] debug = 1``: rustc emits an allocated
    ``.debug_gdb_scripts`` beside the usual (non-allocated) DWARF and ``.symtab``."""
    rustc = shutil.which("rustc")
    if rustc is None:
        pytest.skip("rustc not installed")
    (build_dir / "main.rs").write_text(RUST_MAIN)
    out = build_dir / "rust-debug-1"
    cmd = [rustc, "--edition", "2021", "-C", "opt-level=3", "-C", "debuginfo=1",
           "--target", target(X86_64_GNU).triple, "-o", str(out), str(build_dir / "main.rs")]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"{' '.join(cmd)} failed: {done.stderr.strip()[-300:]}")
    return out


def _strip_variant(binary: Path, name: str, *flags: str) -> Path:
    tool = "x86_64-linux-gnu-strip"
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} not installed")
    out = binary.with_name(name)
    subprocess.run([tool, *flags, "-o", str(out), str(binary)], check=True, capture_output=True)
    return out


def _readobj_stripped(path: Path) -> bool:
    """The same verdict from llvm-readobj's section table (not pyelftools): no .symtab, no
    .zdebug_*, no .debug_* without SHF_ALLOC."""
    readobj = shutil.which("llvm-readobj")
    if readobj is None:
        pytest.skip("llvm-readobj not installed (Debian's llvm)")
    done = subprocess.run([readobj, "--sections", "--elf-output-style=JSON", str(path)],
                          capture_output=True, text=True, check=True)
    [document] = json.loads(done.stdout)
    [file_info] = document.values()
    for entry in file_info["Sections"]:
        section = entry["Section"]
        name = section["Name"]["Value"]
        allocated = any(flag["Name"] == "SHF_ALLOC" for flag in section["Flags"]["Flags"])
        if name == ".symtab" or name.startswith(".zdebug_") or (
                name.startswith(".debug_") and not allocated):
            return False
    return True


def test_rust_debug_1_stripped_by_the_strip_step_passes(
        rust_debug_1: Path, tmp_path: Path) -> None:
    gnu = target(X86_64_GNU)
    try:
        strip.find_strip(gnu)
    except ToolMissing:
        pytest.skip("no strip for x86_64 binaries")
    staged = tmp_path / "stage" / "hello"
    strip.strip_copy(gnu, rust_debug_1, staged)  # as the strip step does: --strip-all
    readelf = subprocess.run(["readelf", "-SW", str(staged)], capture_output=True, text=True,
                             check=True).stdout
    gdb_scripts = [line for line in readelf.splitlines() if ".debug_gdb_scripts" in line]
    assert gdb_scripts, "rustc with debuginfo=1 emits .debug_gdb_scripts; strip keeps it"
    assert "A" in gdb_scripts[0].split()[-4]  # the Flg column: SHF_ALLOC
    facts = elf.read_facts(staged)
    assert facts.stripped
    assert by_check(elf.verify(facts, gnu))["stripped"] == elf.Check(
        "stripped", True, "stripped", "stripped")
    assert _readobj_stripped(staged)
    # the binary as rustc wrote it is really unstripped, and still fails
    unstripped = elf.read_facts(rust_debug_1)
    assert not unstripped.stripped and not _readobj_stripped(rust_debug_1)
    assert by_check(elf.verify(unstripped, gnu))["stripped"] == elf.Check(
        "stripped", False, "stripped", "not stripped")


@pytest.mark.parametrize(("variant", "flags"), [
    # .symtab kept, DWARF gone
    ("rust-strip-debug", ("--strip-debug",)),
    # .symtab gone, one non-allocated DWARF section kept
    ("rust-keep-debug-info", ("--strip-all", "--keep-section=.debug_info")),
])
def test_rust_partly_stripped_is_not_stripped(rust_debug_1: Path, variant: str,
                                              flags: tuple[str, ...]) -> None:
    partly = _strip_variant(rust_debug_1, variant, *flags)
    assert not elf.read_facts(partly).stripped
    assert not _readobj_stripped(partly)


def test_compressed_debug_sections_are_not_stripped(rust_debug_1: Path) -> None:
    kept = _strip_variant(rust_debug_1, "rust-keep-info", "--strip-all",
                          "--keep-section=.debug_info")
    objcopy = "x86_64-linux-gnu-objcopy"
    if shutil.which(objcopy) is None:
        pytest.skip(f"{objcopy} not installed")
    compressed = kept.with_name("rust-zdebug")
    subprocess.run([objcopy, "--compress-debug-sections=zlib-gnu", str(kept), str(compressed)],
                   check=True, capture_output=True)
    with compressed.open("rb") as stream:
        names = {section.name for section in ELFFile(stream).iter_sections()}
    if ".zdebug_info" not in names:
        pytest.skip("this objcopy does not write .zdebug_* sections")
    assert ".symtab" not in names
    assert not elf.read_facts(compressed).stripped
    assert not _readobj_stripped(compressed)


def test_wrong_arch_fails_machine(x86_dynamic: Path) -> None:
    checks = by_check(elf.verify(elf.read_facts(x86_dynamic), target(AARCH64_GNU)))
    assert not checks["machine"].ok
    assert (checks["machine"].expected, checks["machine"].actual) == ("EM_AARCH64", "EM_X86_64")
    assert checks["class"].ok  # both ELF64
    assert not checks["linkage"].ok  # x86_64 loader, not the aarch64 one


# --------------------------------------------------------------------------- errors


def test_not_an_elf(tmp_path: Path) -> None:
    exe = tmp_path / "edge-agent"
    exe.write_bytes(b"MZ\x90\x00" + b"\0" * 60)
    with pytest.raises(StepFailed) as err:
        elf.read_facts(exe)
    assert "edge-agent is not an ELF file (starts with b'MZ" in err.value.message
    assert "\n" not in err.value.message


@pytest.mark.parametrize("content", [b"", b"#!/bin/sh\n"])
def test_empty_or_script_is_not_an_elf(tmp_path: Path, content: bytes) -> None:
    exe = tmp_path / "tool"
    exe.write_bytes(content)
    with pytest.raises(StepFailed, match="is not an ELF file"):
        elf.read_facts(exe)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StepFailed, match="does not exist"):
        elf.read_facts(tmp_path / "nope")


def test_truncated_elf(tmp_path: Path, x86_dynamic: Path) -> None:
    cut = tmp_path / "cut"
    cut.write_bytes(x86_dynamic.read_bytes()[:100])
    with pytest.raises(StepFailed) as err:
        elf.read_facts(cut)
    assert "is not a valid ELF file" in err.value.message
    assert "\n" not in err.value.message


# --------------------------------------------------------------------------- render


def test_render() -> None:
    lines = elf.render([
        elf.Check("machine", True, "EM_AARCH64", "EM_AARCH64"),
        elf.Check("linkage", False, "static", "dynamic (interpreter /lib/ld.so)"),
    ])
    assert lines[0].split() == ["ok", "machine", "EM_AARCH64"]
    assert lines[0].startswith("ok   machine")
    assert lines[1].startswith("FAIL linkage")
    assert lines[1].endswith("expected static, got dynamic (interpreter /lib/ld.so)")
    assert lines[0].index("EM_AARCH64") == lines[1].index("expected")  # aligned
    assert elf.render([]) == []


# --------------------------------------------------------------------------- file, ldd


def test_file_output(a64_dynamic: Path) -> None:
    if shutil.which("file") is None:
        pytest.skip("file not installed")
    text = elf.file_output(a64_dynamic)
    assert "ELF 64-bit" in text
    assert "aarch64" in text


def test_file_output_not_installed(
    a64_dynamic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert elf.file_output(a64_dynamic) == "file: not installed"


def test_ldd_static_runs_nothing(
    x86_static: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing could run
    facts = elf.read_facts(x86_static)
    assert elf.ldd_output(x86_static, target(X86_64_GNU), facts) == (
        "not a dynamic executable")


def test_ldd_native(x86_dynamic: Path) -> None:
    host = target(X86_64_GNU)
    if not host.runs_natively() or shutil.which("ldd") is None:
        pytest.skip("needs an x86_64 host with ldd")
    text = elf.ldd_output(x86_dynamic, host, elf.read_facts(x86_dynamic))
    assert "libc.so.6" in text


def test_ldd_foreign_under_qemu(a64_dynamic: Path) -> None:
    a64 = target(AARCH64_GNU)
    if a64.runs_natively():
        pytest.skip("aarch64 runs natively here")
    if shutil.which(a64.arch.qemu) is None or not Path(a64.gnu_sysroot).is_dir():
        pytest.skip(f"needs {a64.arch.qemu} and {a64.gnu_sysroot}")
    text = elf.ldd_output(a64_dynamic, a64, elf.read_facts(a64_dynamic))
    assert "libc.so.6 =>" in text
    assert "ld-linux-aarch64.so.1" in text


def test_ldd_foreign_without_qemu(a64_dynamic: Path) -> None:
    a64 = target(AARCH64_GNU)
    if a64.runs_natively():
        pytest.skip("aarch64 runs natively here")
    no_qemu = dataclasses.replace(
        a64, arch=dataclasses.replace(a64.arch, qemu="qemu-crossmatrix-absent"))
    text = elf.ldd_output(a64_dynamic, no_qemu, elf.read_facts(a64_dynamic))
    assert text == "(ldd unavailable: qemu-crossmatrix-absent not installed)"


def test_ldd_foreign_without_sysroot(a64_dynamic: Path) -> None:
    a64 = target(AARCH64_GNU)
    if a64.runs_natively() or shutil.which(a64.arch.qemu) is None:
        pytest.skip(f"needs a foreign host with {a64.arch.qemu}")
    no_sysroot = dataclasses.replace(
        a64, arch=dataclasses.replace(a64.arch, gnu_prefix="crossmatrix-absent-linux-gnu"))
    text = elf.ldd_output(a64_dynamic, no_sysroot, elf.read_facts(a64_dynamic))
    assert text.startswith("(ldd unavailable: /usr/crossmatrix-absent-linux-gnu/")
    assert "\n" not in text


# --------------------------------------------------------------------------- rustc's triples

#: one triple (rustc's target-list) for each row of the architecture table beyond the Linux
#: rows above: its object, compiled by zig cc with the row's flags, fits the row
ROW_TRIPLES = (
    "s390x-unknown-linux-musl", "arm-unknown-linux-musleabi", "arm-unknown-linux-musleabihf",
    "armv7-unknown-linux-musleabi", "thumbv7neon-unknown-linux-musleabihf",
    "mips-unknown-linux-musl", "mipsel-unknown-linux-musl", "mips64-unknown-linux-muslabi64",
    "mips64el-unknown-linux-muslabi64", "powerpc-unknown-linux-musl",
    "powerpc64-unknown-linux-musl", "powerpc64le-unknown-linux-musl",
    "loongarch64-unknown-linux-musl", "aarch64_be-unknown-linux-musl",
    "i586-unknown-linux-musl", "riscv64gc-unknown-linux-musl",
)
ARCH_CHECKS = ("machine", "class", "endian", "float-abi", "elf-abi")


def _adhoc(triple: str) -> Target:
    from tooling.matrix.targets import resolve

    [found] = resolve(triple)
    return found


@pytest.mark.parametrize("triple", ROW_TRIPLES)
def test_each_rows_zig_object_fits_the_row(build_dir: Path, triple: str) -> None:
    from tooling.platforms import platform_of

    adhoc = _adhoc(triple)
    zig = platform_of(adhoc).zig_target(adhoc)
    obj = _zig_object(build_dir, f"{triple}.o", zig, *adhoc.arch.zig_flags)
    checks = by_check(elf.verify(elf.read_facts(obj), adhoc, require_stripped=False))
    arch = {name: check for name, check in checks.items() if name in ARCH_CHECKS}
    assert all(check.ok for check in arch.values()), arch
    assert ("float-abi" in arch) is (adhoc.arch.float_abi is not None)
    assert ("elf-abi" in arch) is (adhoc.arch.elf_abi is not None)


def test_arm_soft_float_passes_the_soft_row_and_fails_the_hard_one(arm_soft: Path) -> None:
    facts = elf.read_facts(arm_soft)
    assert by_check(elf.verify(facts, _adhoc("arm-unknown-linux-musleabi")))["float-abi"].ok
    hard = by_check(elf.verify(facts, _adhoc("arm-unknown-linux-gnueabihf")))["float-abi"]
    assert (hard.ok, hard.expected, hard.actual) == (False, "hard", "soft")


def _llvm_mc(build_dir: Path, name: str, triple: str, asm: str, *flags: str) -> Path:
    if shutil.which("llvm-mc") is None:
        pytest.skip("llvm-mc is not installed")
    out = build_dir / name
    subprocess.run(["llvm-mc", f"-triple={triple}", *flags, "-filetype=obj", "-o", str(out)],
                   input=asm, text=True, check=True)
    return out


def test_ppc64_elfv1_and_elfv2(build_dir: Path) -> None:
    v1 = _llvm_mc(build_dir, "ppc64-v1.o", "powerpc64-unknown-linux-gnu",
                  ".abiversion 1\n.text\nnop\n")
    gnu = _adhoc("powerpc64-unknown-linux-gnu")  # rustc: target_abi elfv1
    assert elf.read_facts(v1).elf_abi == "elfv1"
    assert by_check(elf.verify(elf.read_facts(v1), gnu))["elf-abi"].ok
    # zig cc makes ELFv2 objects for powerpc64-linux-gnu: caught, not linked into ELFv1
    v2 = _zig_object(build_dir, "ppc64-zig.o", "powerpc64-linux-gnu")
    check = by_check(elf.verify(elf.read_facts(v2), gnu))["elf-abi"]
    assert (check.ok, check.expected, check.actual) == (False, "elfv1", "elfv2")


def test_mips_n32_fails_an_o32_row(build_dir: Path) -> None:
    n32 = _llvm_mc(build_dir, "n32.o", "mips64-unknown-linux-gnuabin32", ".text\nnop\n")
    facts = elf.read_facts(n32)
    assert (facts.machine, facts.elf_class, facts.elf_abi) == ("EM_MIPS", 32, "n32")
    check = by_check(elf.verify(facts, _adhoc("mips-unknown-linux-musl")))["elf-abi"]
    assert (check.ok, check.expected, check.actual) == (False, "o32", "n32")


@pytest.mark.parametrize(("machine", "elf_class", "flags", "abi"), [
    ("EM_MIPS", 32, 0, "o32"), ("EM_MIPS", 32, 0x1000, "o32"), ("EM_MIPS", 32, 0x20, "n32"),
    ("EM_MIPS", 32, 0x3000, "other"), ("EM_MIPS", 64, 0, "n64"),
    ("EM_PPC64", 64, 0, "unspecified"), ("EM_PPC64", 64, 1, "elfv1"),
    ("EM_PPC64", 64, 2, "elfv2"), ("EM_X86_64", 64, 2, None),
])
def test_elf_abi_from_e_flags(machine: str, elf_class: int, flags: int, abi: str | None) -> None:
    assert elf.elf_abi(machine, elf_class, flags) == abi


def test_arm_float_abi_from_the_eabi_flags() -> None:
    """GNU as marks only the hard-float ABI: Debian's arm-linux-gnueabi-gcc writes e_flags
    0x5000000 ("Version5 EABI") for soft-float code; zig and rustc's objects carry 0x200."""
    assert elf._float_abi("EM_ARM", 0x5000000) == "soft"
    assert elf._float_abi("EM_ARM", 0x5000200) == "soft"
    assert elf._float_abi("EM_ARM", 0x5000400) == "hard"
    assert elf._float_abi("EM_ARM", 0x4000000) is None  # before EABI 5: not said
    assert elf._float_abi("EM_ARM", 0) is None  # an old-ABI (OABI) file


def test_a_pe_file_strips_to_the_same_bytes_each_time(
        build: Build, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """binutils' strip writes the time of the strip into a PE header; the strip step keeps
    the linker's stamp instead, so an unchanged program strips to the same bytes (and is not
    verified and run again after an edit of another) — unless SOURCE_DATE_EPOCH is set."""
    windows = target("windows-x86_64")
    linked = build(windows.gcc, "demo.dll", "-O1", "-shared", source="library.c")
    try:
        strip.find_strip(windows)
    except ToolMissing:
        pytest.skip("no strip for PE binaries")
    source = tmp_path / "demo.dll"
    data = bytearray(linked.read_bytes())
    at = int.from_bytes(data[0x3C:0x40], "little") + 8
    data[at:at + 4] = (1_234_567_890).to_bytes(4, "little")  # a stamp long past
    source.write_bytes(bytes(data))
    assert strip.pe_timestamp(source) == 1_234_567_890
    assert strip.pe_timestamp(linked) is not None
    assert strip.pe_timestamp(linked.with_name("library.c")) is None  # not a PE file
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first, second = tmp_path / "a" / "demo.dll", tmp_path / "b" / "demo.dll"
    strip.strip_copy(windows, source, first, library=True)
    strip.strip_copy(windows, source, second, library=True)
    assert strip.pe_timestamp(first) == 1_234_567_890
    assert first.read_bytes() == second.read_bytes()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # the user's own value wins
    strip.strip_copy(windows, source, second, library=True)
    assert strip.pe_timestamp(second) == 1_700_000_000
