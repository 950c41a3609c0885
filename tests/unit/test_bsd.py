"""FreeBSD, NetBSD and Windows on ARM (aarch64-pc-windows-gnullvm): their targets derived from
rustc's ``--print cfg`` (recorded here from rustc 1.95.0), their platform modules, and verify
against real binaries linked here by zig from a small C program, cross-checked with readelf."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.fake_rustc import FakeRustc, install
from tooling.errors import StepFailed, UsageError
from tooling.matrix import rustc_data, targets
from tooling.matrix.targets import NotSupportedYet, Target, by_name, resolve
from tooling.platforms import PLATFORMS, bsd, freebsd, netbsd, platform_of, windows
from tooling.util import proc
from tooling.verify import elf, inspection, pe

#: ``rustc --print cfg --target T`` of rustup's rustc 1.95.0 (target_feature lines left out)
RECORDED = {
    "x86_64-unknown-freebsd": """debug_assertions
panic="unwind"
target_abi=""
target_arch="x86_64"
target_endian="little"
target_env=""
target_family="unix"
target_has_atomic="64"
target_os="freebsd"
target_pointer_width="64"
target_vendor="unknown"
unix""",
    "aarch64-unknown-freebsd": """debug_assertions
panic="unwind"
target_abi=""
target_arch="aarch64"
target_endian="little"
target_env=""
target_family="unix"
target_os="freebsd"
target_pointer_width="64"
target_vendor="unknown"
unix""",
    "x86_64-unknown-netbsd": """debug_assertions
panic="unwind"
target_abi=""
target_arch="x86_64"
target_endian="little"
target_env=""
target_family="unix"
target_os="netbsd"
target_pointer_width="64"
target_vendor="unknown"
unix""",
    "aarch64-pc-windows-gnullvm": """debug_assertions
panic="unwind"
target_abi="llvm"
target_arch="aarch64"
target_endian="little"
target_env="gnu"
target_family="windows"
target_os="windows"
target_pointer_width="64"
target_vendor="pc"
windows""",
    # rustc knows these too; crossmatrix builds neither
    "x86_64-pc-windows-msvc": """target_abi=""
target_arch="x86_64"
target_endian="little"
target_env="msvc"
target_os="windows"
target_pointer_width="64"
target_vendor="pc"
windows""",
    "x86_64-unknown-openbsd": """target_abi=""
target_arch="x86_64"
target_endian="little"
target_env=""
target_os="openbsd"
target_pointer_width="64"
target_vendor="unknown"
unix""",
}


def _cfg(text: str) -> dict[str, object]:
    """The recorded lines as the fake rustc's answer (it prints them back the same way)."""
    values: dict[str, object] = {"target_feature": []}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.startswith("target_") and key != "target_has_atomic":
            values.setdefault(key, value.strip('"'))
    return values


@pytest.fixture
def rustc(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeRustc]:
    fake = FakeRustc(tmp_path / "rustup", "rustup", "rustc 1.95.0 (59807616e 2026-04-14)",
                     {triple: _cfg(text) for triple, text in RECORDED.items()})
    install(monkeypatch, tmp_path, fake)
    yield fake
    rustc_data.forget()


# --- facts → target -----------------------------------------------------------------------


@pytest.mark.parametrize(("triple", "os", "libc", "arch", "zig"), [
    ("x86_64-unknown-freebsd", "freebsd", "bsd", "x86_64", "x86_64-freebsd"),
    ("aarch64-unknown-freebsd", "freebsd", "bsd", "aarch64", "aarch64-freebsd"),
    ("x86_64-unknown-netbsd", "netbsd", "bsd", "x86_64", "x86_64-netbsd"),
    ("aarch64-pc-windows-gnullvm", "windows", "mingw", "aarch64", "aarch64-windows-gnu"),
])
def test_the_target_comes_from_rustcs_cfg(rustc: FakeRustc, triple: str, os: str, libc: str,
                                          arch: str, zig: str) -> None:
    [target] = resolve(triple)
    assert f"--print cfg --target {triple}" in rustc.calls
    assert (target.name, target.os, target.libc, target.linkage, target.linker) == (
        triple, os, libc, "dynamic", "zig")
    assert target.arch.rust == arch and not target.in_table
    assert target.tags == (os, libc, "dynamic", arch)
    assert platform_of(target) is PLATFORMS[target.os] and target.os == os
    assert platform_of(target).zig_target(target) == zig
    assert not target.is_glibc and target.glibc_loader is None
    assert not target.debian_std_possible and target.tool_prefix is None
    assert targets.named(triple) == target


def test_the_facts_decide_not_the_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A rustc that calls a "…-freebsd" triple NetBSD (target_os) gets the NetBSD platform,
    and one whose gnullvm triple says target_abi "" is not Windows on ARM."""
    fake = FakeRustc(tmp_path / "rustup", "rustup", "rustc 1.95.0", {
        "x86_64-unknown-freebsd": _cfg(RECORDED["x86_64-unknown-netbsd"]),
        "aarch64-pc-windows-gnullvm": _cfg(RECORDED["aarch64-pc-windows-gnullvm"].replace(
            'target_abi="llvm"', 'target_abi=""'))})
    install(monkeypatch, tmp_path, fake)
    try:
        [target] = resolve("x86_64-unknown-freebsd")
        assert target.os == "netbsd" and platform_of(target) is netbsd
        with pytest.raises(NotSupportedYet, match="target_abi '' needs another linker"):
            resolve("aarch64-pc-windows-gnullvm")
    finally:
        rustc_data.forget()


def test_gnullvm_needs_no_rtstartup_objects(rustc: FakeRustc) -> None:
    [arm] = resolve("aarch64-pc-windows-gnullvm")
    assert arm.abi == "llvm" and not arm.needs_rtstartup
    assert by_name()["windows-x86_64"].needs_rtstartup


@pytest.mark.parametrize(("triple", "says"), [
    ("x86_64-pc-windows-msvc", "target_env 'msvc', target_abi '' needs another linker"),
    ("x86_64-unknown-openbsd", "no platform module for target_os openbsd"),
])
def test_the_neighbours_are_still_not_supported(rustc: FakeRustc, triple: str,
                                                says: str) -> None:
    with pytest.raises(NotSupportedYet) as info:
        resolve(triple)
    assert says in info.value.why
    assert "FreeBSD, NetBSD" in str(info.value.hint)


# --- the platform modules -----------------------------------------------------------------


def test_bsd_platforms_link_with_zig_and_are_not_run(rustc: FakeRustc) -> None:
    [fbsd] = resolve("x86_64-unknown-freebsd")
    [nbsd] = resolve("x86_64-unknown-netbsd")
    assert (freebsd.name, netbsd.name) == ("freebsd", "netbsd")
    assert freebsd.binary_format == netbsd.binary_format == "elf"
    assert freebsd.cannot_run(fbsd) == ("no FreeBSD emulator here: nothing on Linux runs "
                                        "FreeBSD programs")
    assert "NetBSD" in str(netbsd.cannot_run(nbsd))
    assert freebsd.test_runner(fbsd, Path("/nonexistent"), {}) is None
    with pytest.raises(StepFailed, match="cannot run here: no FreeBSD emulator"):
        freebsd.run(fbsd, Path("/bin/true"), (), Path("/nonexistent"))
    with pytest.raises(UsageError, match="linker 'gcc' cannot link x86_64-unknown-freebsd"):
        freebsd.gcc_link(fbsd)
    assert freebsd.strip_tools(fbsd).programs[0] == "llvm-strip"
    assert freebsd.cmake_system(fbsd) == ("FreeBSD", "x86_64")
    assert netbsd.cmake_system(nbsd) == ("NetBSD", "x86_64")
    assert freebsd.debian_packages(fbsd, "zig").packages == ("llvm",)
    assert not freebsd.fits_host(fbsd, None, None)[0]  # type: ignore[arg-type]
    assert bsd.system(by_name()["linux-x86_64"]) is None


def test_windows_on_arm_is_verified_not_run(rustc: FakeRustc) -> None:
    [arm] = resolve("aarch64-pc-windows-gnullvm")
    assert arm.arch.pe_machine == "IMAGE_FILE_MACHINE_ARM64"
    reason = windows.cannot_run(arm)
    assert reason is not None and reason.startswith("no aarch64 Windows here: wine on this ")
    assert windows.cannot_run(by_name()["windows-x86_64"]) is None
    with pytest.raises(UsageError, match="Debian has no MinGW-w64 gcc for aarch64"):
        windows.gcc_link(arm)
    assert windows.strip_tools(arm).programs[0] == "llvm-strip"
    assert windows.debian_packages(arm, "zig").packages == ("llvm",)
    assert windows.mingw_lib_dir(arm) is None


def test_windows_on_arms_system_dlls_come_from_zigs_module_definitions(
        rustc: FakeRustc) -> None:
    [arm] = resolve("aarch64-pc-windows-gnullvm")
    folders = windows.zig_def_dirs(arm)
    assert folders and folders[0].name == "lib-common"
    system = pe.system_dlls(arm)
    assert not system.fallback
    defined = system.from_import_libraries
    assert len(defined) > 500
    assert {"kernel32.dll", "ntdll.dll", "ws2_32.dll", "bcryptprimitives.dll",
            "ucrtbase.dll", "winspool.drv"} <= defined
    assert "vcruntime140.dll" not in system  # a redistributable: the program ships it
    assert "api-ms-win-crt-runtime-l1-1-0.dll" in system
    # every name is one a .def file says
    kernel32 = next(f for f in folders[0].iterdir() if f.name.startswith("kernel32.def"))
    assert re.search(r'^LIBRARY\s+"?KERNEL32\.dll', kernel32.read_text(), re.M | re.I)


# --- verify, on binaries zig links here ----------------------------------------------------

PROGRAM = r"""
#include <pthread.h>
#include <stdio.h>
static void *work(void *arg) { return arg; }
int main(void) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, work, NULL) != 0) return 1;
    pthread_join(thread, NULL);
    puts("hello");
    return 0;
}
"""
LIBRARY = "int PyInit_demo(void) { return 3; }\n"


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One program per zig target (and a FreeBSD shared library), stripped by llvm-strip."""
    root = tmp_path_factory.mktemp("bsd")
    (root / "program.c").write_text(PROGRAM)
    (root / "library.c").write_text(LIBRARY)
    built: dict[str, Path] = {}
    for name, zig, source, flags in [
        ("freebsd", "x86_64-freebsd", "program.c", ["-lpthread"]),
        ("freebsd-a64", "aarch64-freebsd", "program.c", ["-lpthread"]),
        ("netbsd", "x86_64-netbsd", "program.c", ["-lpthread"]),
        ("freebsd-lib", "x86_64-freebsd", "library.c", ["-shared", "-fPIC"]),
        ("windows-a64", "aarch64-windows-gnu", "program.c", []),
    ]:
        out = root / (name + (".exe" if "windows" in name else ""))
        subprocess.run([sys.executable, "-m", "ziglang", "cc", "-target", zig, *flags, "-o",
                        str(out), str(root / source)], check=True, capture_output=True)
        subprocess.run(["llvm-strip", "--strip-all", str(out)], check=True)
        built[name] = out
    return built


def _readelf(path: Path) -> str:
    if shutil.which("readelf") is None:
        pytest.fail("readelf (binutils) is not installed")
    return subprocess.run(["readelf", "-h", "-n", "-l", "-W", str(path)], check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proc, "ECHO", False)


def _checks(path: Path, target: Target) -> dict[str, elf.Check]:
    return {c.name: c for c in inspection.inspect(path, target).checks}


@pytest.mark.parametrize(("name", "triple", "machine", "note", "loader"), [
    ("freebsd", "x86_64-unknown-freebsd", "EM_X86_64", "FreeBSD", "/libexec/ld-elf.so.1"),
    ("freebsd-a64", "aarch64-unknown-freebsd", "EM_AARCH64", "FreeBSD",
     "/libexec/ld-elf.so.1"),
    ("netbsd", "x86_64-unknown-netbsd", "EM_X86_64", "NetBSD", "/libexec/ld.elf_so"),
])
def test_bsd_programs_verify_and_agree_with_readelf(rustc: FakeRustc, linked: dict[str, Path],
                                                    name: str, triple: str, machine: str,
                                                    note: str, loader: str) -> None:
    [target] = resolve(triple)
    facts = elf.read_facts(linked[name])
    said = _readelf(linked[name])
    # what readelf says, read here by pyelftools
    assert re.search(r"OS/ABI:\s+UNIX - System V", said) and facts.osabi == "ELFOSABI_SYSV"
    assert f"[Requesting program interpreter: {loader}]" in said
    assert facts.interpreter == loader
    owners = re.findall(r"^\s+(\S+)\s+0x[0-9a-f]+\s", said, re.M)
    assert note in owners and (note, 1) in [(o, t) for o, t, _ in facts.notes]
    checks = _checks(linked[name], target)
    assert all(c.ok for c in checks.values()), checks
    assert checks["machine"].actual == machine
    assert checks["osabi"].actual.startswith(f"{note} ")
    assert "glibc" not in checks  # no glibc to check
    assert checks["linkage"].actual.startswith(f"dynamic (interpreter {loader}")


def test_the_freebsd_brand_and_version_are_its_abi_tag(rustc: FakeRustc,
                                                       linked: dict[str, Path]) -> None:
    """``file`` says "for FreeBSD 14.0 (1400500)": the note's __FreeBSD_version."""
    [target] = resolve("x86_64-unknown-freebsd")
    file_says = re.search(r"for FreeBSD ([\d.]+) \((\d+)\)", elf.file_output(linked["freebsd"]))
    assert file_says is not None
    checks = _checks(linked["freebsd"], target)
    assert checks["osabi"].actual == (f"FreeBSD {file_says[1]} ({file_says[2]}): ABI tag note, "
                                      "EI_OSABI SYSV")


def test_one_bsds_program_fails_the_others_target(rustc: FakeRustc,
                                                  linked: dict[str, Path]) -> None:
    [fbsd] = resolve("x86_64-unknown-freebsd")
    [nbsd] = resolve("x86_64-unknown-netbsd")
    [a64] = resolve("aarch64-unknown-freebsd")
    wrong = _checks(linked["freebsd"], nbsd)
    assert not wrong["osabi"].ok and wrong["osabi"].actual == "EI_OSABI SYSV, no ident note"
    assert not wrong["linkage"].ok
    back = _checks(linked["netbsd"], fbsd)
    assert not back["osabi"].ok and not back["linkage"].ok
    assert not _checks(linked["freebsd"], a64)["machine"].ok


def test_a_linux_program_is_no_freebsd_program(rustc: FakeRustc, tmp_path: Path) -> None:
    [fbsd] = resolve("x86_64-unknown-freebsd")
    checks = _checks(Path(sys.executable).resolve(), fbsd)
    assert not checks["osabi"].ok and not checks["linkage"].ok


def test_a_freebsd_shared_library_is_branded_by_its_program(rustc: FakeRustc,
                                                            linked: dict[str, Path]) -> None:
    [fbsd] = resolve("x86_64-unknown-freebsd")
    seen = inspection.inspect(linked["freebsd-lib"], fbsd, exports=("PyInit_demo",))
    checks = {c.name: c for c in seen.checks}
    assert all(c.ok for c in checks.values()), checks
    assert checks["osabi"].actual.startswith("shared library")
    assert checks["linkage"].actual.startswith("shared library")


def test_an_arm64_windows_program_verifies_as_pe(rustc: FakeRustc,
                                                 linked: dict[str, Path]) -> None:
    [arm] = resolve("aarch64-pc-windows-gnullvm")
    checks = _checks(linked["windows-a64"], arm)
    assert all(c.ok for c in checks.values()), checks
    assert checks["machine"].actual == "IMAGE_FILE_MACHINE_ARM64"
    assert checks["class"].actual == "PE32+"
    assert "kernel32.dll" in checks["dlls"].actual
    # the same file is no x86_64 Windows program
    assert not _checks(linked["windows-a64"], by_name()["windows-x86_64"])["machine"].ok
