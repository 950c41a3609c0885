"""PE (pefile) and Mach-O (lief) verification on small programs built here with MinGW-w64 gcc
and zig: every check passes on a good file and fails, naming the problem, on a bad one."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pefile
import pytest

from tooling.compile import linkers
from tooling.errors import StepFailed
from tooling.matrix.targets import Target, by_name
from tooling.platforms import windows
from tooling.verify import elf, implib, macho, pe

WIN64, WIN32 = by_name()["windows-x86_64"], by_name()["windows-x86"]
MAC_ARM, MAC_X64 = by_name()["macos-aarch64"], by_name()["macos-x86_64"]

HELLO = """#include <stdio.h>
static int helper(int x) { return x * 3; }
int main(int argc, char **argv) { printf("hello %d\\n", helper(argc)); return 0; }
"""


def _failed(checks: list[elf.Check]) -> dict[str, str]:
    return {c.name: c.actual for c in elf.failed(checks)}


def _mingw(tmp_path: Path, gcc: str, name: str, *args: str, source: str = HELLO) -> Path:
    if shutil.which(gcc) is None:
        pytest.skip(f"{gcc} is not installed (inv setup --target windows-x86_64)")
    src = tmp_path / f"{name}.c"
    src.write_text(source)
    out = tmp_path / name
    subprocess.run([gcc, "-O1", "-o", str(out), str(src), *args], check=True, cwd=tmp_path)
    return out


def _strip(path: Path, tool: str) -> Path:
    out = path.with_name(f"stripped-{path.name}")
    subprocess.run([tool, "--strip-all", "-o", str(out), str(path)], check=True)
    return out


# --- PE ----------------------------------------------------------------------------------

def test_pe_good_file_passes_and_unstripped_fails(tmp_path: Path) -> None:
    exe = _mingw(tmp_path, WIN64.gcc, "hello.exe")
    facts = pe.read_facts(exe)
    assert (facts.machine, facts.bits, facts.dll) == ("IMAGE_FILE_MACHINE_AMD64", 64, False)
    assert "kernel32.dll" in facts.imports and "msvcrt.dll" in facts.imports
    assert _failed(pe.verify(facts, WIN64)) == {"stripped": "not stripped"}
    stripped = pe.read_facts(_strip(exe, "x86_64-w64-mingw32-strip"))
    assert _failed(pe.verify(stripped, WIN64)) == {}


@pytest.mark.parametrize("target", [WIN32, WIN64], ids=lambda t: t.name)
def test_pe_long_section_names_are_read_as_objdump_reads_them(target: Target,
                                                              tmp_path: Path) -> None:
    """With debug info (a release profile's `debug = 1`), GNU ld names .debug_info and, for
    i686, .eh_frame "/N" from the COFF string table, which strip keeps for .eh_frame. Such
    a stripped program is stripped (it was once called "not stripped"), and the debug
    sections of an unstripped one are found by their real names."""
    exe = _mingw(tmp_path, target.gcc, "debug.exe", "-g")
    stripped = _strip(exe, f"{target.arch.mingw_prefix}-strip")
    for path, is_stripped in ((exe, False), (stripped, True)):
        shown = subprocess.run([f"{target.arch.mingw_prefix}-objdump", "-h", str(path)],
                               capture_output=True, text=True, check=True).stdout
        theirs = [line.split()[1] for line in shown.splitlines()
                  if line.split() and line.split()[0].isdigit()]
        assert pe.section_names(pefile.PE(str(path), fast_load=True)) == theirs
        assert pe.read_facts(path).stripped is is_stripped, theirs
    assert any(name.startswith(".debug_") for name in theirs) is False
    assert _failed(pe.verify(pe.read_facts(stripped), target)) == {}


def test_pe_wrong_machine_and_class(tmp_path: Path) -> None:
    facts = pe.read_facts(_mingw(tmp_path, WIN64.gcc, "hello.exe", "-s"))
    assert _failed(pe.verify(facts, WIN32)) == {
        "machine": "IMAGE_FILE_MACHINE_AMD64", "class": "PE32+"}
    facts32 = pe.read_facts(_mingw(tmp_path, WIN32.gcc, "hello32.exe", "-s"))
    assert (facts32.machine, facts32.bits) == ("IMAGE_FILE_MACHINE_I386", 32)
    assert _failed(pe.verify(facts32, WIN32)) == {}


def test_pe_gui_subsystem_fails(tmp_path: Path) -> None:
    facts = pe.read_facts(_mingw(tmp_path, WIN64.gcc, "gui.exe", "-s", "-mwindows"))
    assert _failed(pe.verify(facts, WIN64)) == {"subsystem": "IMAGE_SUBSYSTEM_WINDOWS_GUI"}


def test_pe_non_system_dll_fails_unless_allowed(tmp_path: Path) -> None:
    _mingw(tmp_path, WIN64.gcc, "vendor.dll", "-shared", "-s",
           source="__declspec(dllexport) int vendor(void) { return 7; }\n")
    exe = _mingw(tmp_path, WIN64.gcc, "uses.exe", "-s", str(tmp_path / "vendor.dll"),
                 source="int vendor(void);\nint main(void) { return vendor() - 7; }\n")
    facts = pe.read_facts(exe)
    assert _failed(pe.verify(facts, WIN64)) == {"dlls": "also vendor.dll"}
    assert _failed(pe.verify(facts, WIN64, allowed=frozenset({"vendor.dll"}))) == {}
    dll = pe.read_facts(tmp_path / "vendor.dll")
    assert dll.dll and dll.exported == ("vendor",)


KTM = """#include <windows.h>
#include <ktmw32.h>
int main(void) {
    HANDLE h = CreateTransaction(NULL, 0, 0, 0, 0, 0, NULL);
    return h == INVALID_HANDLE_VALUE;
}
"""


def _mingw_lib(target: Target) -> Path:
    folder = windows.mingw_lib_dir(target)
    assert folder is not None  # Debian has MinGW-w64 for the table's Windows targets
    if not folder.is_dir():
        pytest.skip(f"{folder} is missing (gcc-mingw-w64 not installed)")
    return folder


def _facts(*imports: str) -> pe.PEFacts:
    return pe.PEFacts(path=Path("x.exe"), size=1, machine="IMAGE_FILE_MACHINE_AMD64", bits=64,
                      subsystem="IMAGE_SUBSYSTEM_WINDOWS_CUI", dll=False,
                      imports=tuple(sorted(imports)), stripped=True, exported=())


def test_pe_ktmw32_is_a_system_dll(tmp_path: Path) -> None:
    """What vendored openssl pulls in: ktmw32.dll, which the hand list lacked."""
    _mingw_lib(WIN64)
    exe = _mingw(tmp_path, WIN64.gcc, "ktm.exe", "-s", "-lktmw32", source=KTM)
    facts = pe.read_facts(exe)
    assert "ktmw32.dll" in facts.imports and "ktmw32.dll" not in pe.HAND_LIST
    assert _failed(pe.verify(facts, WIN64)) == {}
    [dlls] = [c for c in pe.verify(facts, WIN64) if c.name == "dlls"]
    assert dlls == elf.Check("dlls", True, "Windows system DLLs", ", ".join(facts.imports))


def test_pe_vendor_dlls_still_fail_unless_allowed() -> None:
    _mingw_lib(WIN64)
    facts = _facts("kernel32.dll", "ktmw32.dll", "libssl-3-x64.dll", "vendor.dll")
    assert _failed(pe.verify(facts, WIN64)) == {"dlls": "also libssl-3-x64.dll, vendor.dll"}
    assert _failed(pe.verify(facts, WIN64, allowed=frozenset({"vendor.dll"}))) == {
        "dlls": "also libssl-3-x64.dll"}
    # Windows file names ignore case, and so does allow-libraries
    both = frozenset({"vendor.dll", "LIBSSL-3-x64.dll"})
    assert _failed(pe.verify(facts, WIN64, allowed=both)) == {}


@pytest.mark.parametrize("dll", [
    "libwinpthread-1.dll",  # MinGW's own, from libwinpthread.dll.a: ships beside the program
    "msvcr120.dll", "vcruntime140_app.dll", "d3dx9_43.dll", "xinput1_3.dll",  # redistributables
])
def test_pe_toolchain_and_redistributable_dlls_are_not_system(dll: str) -> None:
    for target in (WIN64, WIN32):
        _mingw_lib(target)
        assert dll not in pe.system_dlls(target)
        checks = {c.name: c for c in pe.verify(_facts("kernel32.dll", dll), target)}
        assert (checks["dlls"].ok, checks["dlls"].actual) == (False, f"also {dll}")


@pytest.mark.parametrize("target", [WIN64, WIN32], ids=["x86_64", "i686"])
def test_pe_system_dlls_come_from_the_import_libraries(target: Target) -> None:
    system = pe.system_dlls(target)
    assert not system.fallback
    derived = system.from_import_libraries
    assert {"ktmw32.dll", "kernel32.dll", "msvcrt.dll", "ucrtbase.dll", "ws2_32.dll",
            "winspool.drv", "msvcp60.dll", "d3dcompiler_47.dll"} <= derived
    # every DLL of the old hand list is allowed; the import libraries themselves name all
    # but the ones Rust's std imports through raw-dylib, which MinGW-w64 (Debian 12's,
    # v10) has no import library for
    assert system.names >= pe.HAND_LIST
    assert pe.HAND_LIST - derived <= {"bcryptprimitives.dll", "kernelbase.dll",
                                      "synchronization.dll"}
    assert pe.system_dlls(target) is system  # read once per toolchain


def test_pe_dlls_windows_sys_declares_are_system_dlls(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fd (the corpus) imports combase.dll through windows-sys' raw-dylib declarations: no
    MinGW-w64 import library names it, Microsoft's metadata (windows-sys) does."""
    _mingw_lib(WIN64)
    facts = _facts("kernel32.dll", "combase.dll")
    monkeypatch.setenv("CARGO_HOME", str(tmp_path / "empty"))
    assert "combase.dll" not in pe.system_dlls(WIN64)  # Debian's MinGW-w64 v10 has none
    assert _failed(pe.verify(facts, WIN64)) == {"dlls": "also combase.dll"}
    crate = tmp_path / "home" / "registry" / "src" / "index.crates.io-1" / "windows-sys-0.61.2"
    (crate / "src" / "Win32" / "System").mkdir(parents=True)
    (crate / "src" / "Win32" / "System" / "mod.rs").write_text(
        'windows_link::link!("combase.dll" "system" fn CoGetApartmentType(a: *mut i32) -> i32);\n'
        'windows_link::link!("msvcr120.dll" "cdecl" fn f() -> i32);\n')
    monkeypatch.setenv("CARGO_HOME", str(tmp_path / "home"))
    assert pe.metadata_dlls() == frozenset({"combase.dll"})  # a redistributable left out
    assert "combase.dll" in pe.system_dlls(WIN64) and "msvcr120.dll" not in pe.system_dlls(WIN64)
    assert _failed(pe.verify(facts, WIN64)) == {}
    assert pe.system_dlls(WIN64) is pe.system_dlls(WIN64)


def test_pe_without_mingw_falls_back_to_the_hand_list_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARGO_HOME", str(tmp_path / "no-cargo-home"))
    missing = tmp_path / "no-mingw" / "lib"
    monkeypatch.setattr(windows, "mingw_lib_dir", lambda target: missing)
    system = pe.system_dlls(WIN64)
    assert system.names == pe.HAND_LIST and system.from_import_libraries == frozenset()
    note = f"hand list: no MinGW-w64 import libraries in {missing}"
    assert system.fallback == note
    [ok] = [c for c in pe.verify(_facts("kernel32.dll", "msvcrt.dll"), WIN64) if c.name == "dlls"]
    assert ok == elf.Check("dlls", True, f"Windows system DLLs ({note})",
                           f"kernel32.dll, msvcrt.dll ({note})")
    [bad] = [c for c in pe.verify(_facts("kernel32.dll", "ktmw32.dll"), WIN64)
             if c.name == "dlls"]
    assert bad == elf.Check("dlls", False, f"Windows system DLLs ({note})", "also ktmw32.dll")


# --- import libraries --------------------------------------------------------------------

@pytest.mark.parametrize(("library", "dlls"), [
    ("libktmw32.a", {"ktmw32.dll"}),
    ("libmsvcrt-os.a", {"msvcrt.dll"}),  # the name is not lib<dll>.a
    ("libwinspool.a", {"winspool.drv"}),
    ("libvfw32.a", {"avicap32.dll", "avifil32.dll", "msvfw32.dll"}),
    ("libuuid.a", set()),  # a static library names no DLL
    ("libmingwex.a", set()),
])
def test_implib_names_the_dlls_of_dlltool_import_libraries(library: str,
                                                           dlls: set[str]) -> None:
    path = _mingw_lib(WIN64) / library
    if not path.is_file():
        pytest.skip(f"{path} not installed")
    assert implib.dll_names(path) == dlls


def test_implib_reads_short_import_libraries_and_cross_checks_dlltool(tmp_path: Path) -> None:
    """llvm-dlltool writes the short import format (lib.exe's); GNU dlltool the long one."""
    (tmp_path / "vendor.def").write_text("LIBRARY Vendor-1.DLL\nEXPORTS\nvendor_open\n"
                                         "vendor_close\n")
    tools = {"llvm-dlltool": ["-m", "i386:x86-64"], "x86_64-w64-mingw32-dlltool": []}
    ran = 0
    for tool, flags in tools.items():
        if shutil.which(tool) is None:
            continue
        out = tmp_path / f"{tool}.a"
        subprocess.run([tool, *flags, "-d", str(tmp_path / "vendor.def"), "-l", str(out)],
                       check=True, cwd=tmp_path, capture_output=True)
        assert implib.dll_names(out) == {"vendor-1.dll"}
        ran += 1
    if not ran:
        pytest.skip("neither llvm-dlltool nor MinGW-w64's dlltool is installed")


def test_implib_not_an_archive(tmp_path: Path) -> None:
    junk = tmp_path / "libjunk.a"
    junk.write_bytes(b"not an archive")
    assert implib.dll_names(junk) == frozenset()
    truncated = tmp_path / "libcut.a"
    truncated.write_bytes(implib.AR_MAGIC + b"x" * 30)
    assert implib.dll_names(truncated) == frozenset()


def test_pe_not_a_pe_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.exe"
    junk.write_bytes(b"MZ" + b"\0" * 10)
    with pytest.raises(StepFailed, match="is not a valid PE file"):
        pe.read_facts(junk)


# --- Mach-O ------------------------------------------------------------------------------

def _zig_mac(tmp_path: Path, target_name: str, name: str, *args: str,
             version: str | None = None, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = by_name()[target_name]
    if version:
        monkeypatch.setenv("MACOSX_DEPLOYMENT_TARGET", version)
    else:
        monkeypatch.delenv("MACOSX_DEPLOYMENT_TARGET", raising=False)
    cc = linkers.zig_plan(target, tmp_path / "cache").materialize().cc
    src = tmp_path / f"{name}.c"
    src.write_text(HELLO)
    out = tmp_path / name
    subprocess.run([cc, "-O1", "-o", str(out), str(src), *args], check=True, cwd=tmp_path,
                   capture_output=True)
    monkeypatch.delenv("MACOSX_DEPLOYMENT_TARGET", raising=False)
    return out


def test_macho_good_arm64_file_is_signed_and_stripping_keeps_the_signature(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = _zig_mac(tmp_path, "macos-aarch64", "hello", monkeypatch=monkeypatch)
    facts = macho.read_facts(binary)
    assert (facts.cpu, facts.bits, facts.file_type) == ("ARM64", 64, "EXECUTE")
    assert facts.min_os == "11.0"
    assert facts.dylibs == ("/usr/lib/libSystem.B.dylib",)
    assert facts.signature == "valid"
    assert _failed(macho.verify(facts, MAC_ARM)) == {"stripped": "not stripped"}
    stripped = macho.read_facts(_strip(binary, "llvm-strip"))
    assert stripped.signature == "valid"  # llvm-strip signed it again
    assert _failed(macho.verify(stripped, MAC_ARM)) == {}


def test_macho_a_changed_page_breaks_the_signature(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    binary = _zig_mac(tmp_path, "macos-aarch64", "hello", monkeypatch=monkeypatch)
    data = bytearray(binary.read_bytes())
    data[0x4000 + 16] ^= 0xFF  # a byte of __text, inside the signed range
    binary.write_bytes(bytes(data))
    facts = macho.read_facts(binary)
    assert facts.signature.endswith("page hashes wrong")
    assert "signature" in _failed(macho.verify(facts, MAC_ARM))


def test_macho_too_new_minimum_and_wrong_cpu(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    binary = _zig_mac(tmp_path, "macos-aarch64", "new", version="14.0",
                      monkeypatch=monkeypatch)
    facts = macho.read_facts(binary)
    assert facts.min_os == "14.0"
    assert _failed(macho.verify(facts, MAC_ARM, require_stripped=False)) == {"min-os": "14.0"}
    monkeypatch.setenv("MACOSX_DEPLOYMENT_TARGET", "14.0")  # what the project asked for
    assert _failed(macho.verify(facts, MAC_ARM, require_stripped=False)) == {}
    intel = macho.read_facts(_zig_mac(tmp_path, "macos-x86_64", "intel",
                                      monkeypatch=monkeypatch))
    assert intel.min_os == "10.12"
    assert _failed(macho.verify(intel, MAC_X64, require_stripped=False)) == {}
    assert _failed(macho.verify(intel, MAC_ARM, require_stripped=False))["machine"] == "X86_64"


def test_macho_dylib_outside_the_system_fails_unless_allowed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lief

    binary = _zig_mac(tmp_path, "macos-x86_64", "hello", monkeypatch=monkeypatch)
    parsed = lief.MachO.parse(str(binary))
    assert parsed is not None
    program = parsed.at(0)
    assert program is not None
    program.add_library("/opt/homebrew/lib/libssl.3.dylib")
    program.write(str(binary))
    facts = macho.read_facts(binary)
    assert _failed(macho.verify(facts, MAC_X64, require_stripped=False)) == {
        "dylibs": "also /opt/homebrew/lib/libssl.3.dylib"}
    allowed = frozenset({"/opt/homebrew/lib/libssl.3.dylib"})
    assert _failed(macho.verify(facts, MAC_X64, allowed=allowed,
                                       require_stripped=False)) == {}


def test_macho_not_a_macho_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x7fELF" + b"\0" * 60)
    with pytest.raises(StepFailed, match="is not a Mach-O file"):
        macho.read_facts(junk)
