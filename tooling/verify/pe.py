"""What a Windows PE file says about itself (read with pefile), and whether it fits its target."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from pathlib import Path

import pefile

from tooling.errors import StepFailed
from tooling.matrix import workspace
from tooling.matrix.targets import Target
from tooling.platforms import windows
from tooling.util import memo
from tooling.verify import implib
from tooling.verify.elf import Check

PE32_MAGIC = 0x10B
PE32_PLUS_MAGIC = 0x20B

#: DLLs every Windows install has, by hand. Allowed always (Rust's std imports
#: bcryptprimitives.dll through raw-dylib: Debian's MinGW-w64 has no import library for
#: it, nor for kernelbase.dll or synchronization.dll), and the whole set where the target's
#: MinGW-w64 import libraries are not installed.
HAND_LIST = frozenset({
    "advapi32.dll", "bcrypt.dll", "bcryptprimitives.dll", "comctl32.dll", "comdlg32.dll",
    "crypt32.dll", "dbghelp.dll", "dnsapi.dll", "gdi32.dll", "iphlpapi.dll", "kernel32.dll",
    "kernelbase.dll", "msvcrt.dll", "ncrypt.dll", "netapi32.dll", "ntdll.dll", "ole32.dll",
    "oleaut32.dll", "psapi.dll", "rpcrt4.dll", "secur32.dll", "setupapi.dll", "shell32.dll",
    "shlwapi.dll", "synchronization.dll", "ucrtbase.dll", "user32.dll", "userenv.dll",
    "version.dll", "winhttp.dll", "wininet.dll", "winmm.dll", "ws2_32.dll", "wsock32.dll",
})
#: DLLs MinGW-w64 has import libraries for that a Windows install does not have: the
#: Visual C++ runtimes (msvcr80 … msvcr120, their debug and UWP "_app" builds) and the
#: DirectX SDK's redistributables (d3dx*, x3daudio, xapofx, xinput 1.1 to 1.3, old
#: d3dcompiler_NN and d3dcsx). Programs that import them must ship them (allow-libraries).
_REDISTRIBUTABLE = re.compile(
    r"(msvc[pr](?!60\.)\d+|vcruntime\d+|d3dx(9|10|11)_\d+"
    r"|d3dcompiler_(?!47\.)\d+|d3dcsxd?_\d+|x3daudiod?1_\d+|xapofxd?1_\d+|xinput1_[123]"
    r"|xaudio2_[0-7])d?(_app)?\.dll")


@dataclass(frozen=True)
class SystemDlls:
    """The DLLs a Windows program may import without shipping them, and where from."""

    names: frozenset[str]  #: lower case: what the import libraries name, and the hand list
    #: what the import libraries alone name (redistributables left out)
    from_import_libraries: frozenset[str] = frozenset()
    #: empty when read from the import libraries; else why only the hand list is used
    fallback: str = ""

    def __contains__(self, name: object) -> bool:
        lower = str(name).lower()
        return lower in self.names or lower.startswith(("api-ms-win-", "ext-ms-win-"))


def system_dlls(target: Target) -> SystemDlls:
    """The DLLs the target's MinGW-w64 import libraries name, with :data:`HAND_LIST`;
    where Debian has no MinGW-w64 for the architecture (Windows on ARM), the DLLs zig's
    MinGW-w64 module definitions name; only the hand list (said so) where neither is here.
    Beside them, the DLLs windows-sys declares (:func:`metadata_dlls`)."""
    folder = windows.mingw_lib_dir(target)
    found = _defined_dlls(windows.zig_def_dirs(target)) if folder is None else (
        _system_dlls(folder))
    return _joined(found, metadata_dlls())


@functools.cache
def _joined(found: SystemDlls, declared: frozenset[str]) -> SystemDlls:
    return replace(found, names=found.names | declared) if declared else found


#: windows-sys' (and windows-rs') declarations: ``link!("combase.dll" "system" fn …)``
_LINK_DECLARED = re.compile(rb'link!\s*\(\s*"([A-Za-z0-9_.-]+\.(?:dll|drv|sys|exe))"')


def metadata_dlls() -> frozenset[str]:
    """The DLLs that windows-sys and windows (Microsoft's crates, generated from its Win32
    metadata) declare in cargo's registry here: Rust code links them by raw-dylib
    (windows-link), with no import library anywhere (fd imports combase.dll so), and each
    is a Windows system DLL by that metadata. Redistributables left out; none when no such
    crate is unpacked."""
    crates = tuple(sorted(str(path) for pattern in ("windows-sys-*", "windows-[0-9]*")
                          for path in workspace.registry_sources(pattern)))
    return _declared(crates) if crates else frozenset()


@functools.cache
def _declared(crates: tuple[str, ...]) -> frozenset[str]:
    def probe() -> tuple[list[str], list[Path]]:
        names = {match.decode().lower() for crate in crates
                 for path in Path(crate).rglob("*.rs")
                 for match in _LINK_DECLARED.findall(path.read_bytes())}
        return sorted(n for n in names if not _REDISTRIBUTABLE.fullmatch(n)), []

    value: object = memo.remember("windows-metadata-dlls", crates,
                                  [Path(c) for c in crates], probe)
    return frozenset(str(v) for v in value) if isinstance(value, list) else frozenset()


def _allowed(named: frozenset[str], fallback: str) -> SystemDlls:
    named = frozenset(name for name in named if not _REDISTRIBUTABLE.fullmatch(name))
    if not named:
        return SystemDlls(HAND_LIST, fallback=fallback)
    return SystemDlls(named | HAND_LIST, from_import_libraries=named)


@functools.cache
def _system_dlls(folder: Path) -> SystemDlls:
    # lib<name>.dll.a are import libraries of the toolchain's own DLLs (libwinpthread-1.dll)
    libraries = sorted(path for path in folder.glob("lib*.a")
                       if not path.name.endswith(".dll.a")) if folder.is_dir() else []
    return _allowed(frozenset(name for library in libraries for name in implib.dll_names(library)),
                    f"hand list: no MinGW-w64 import libraries in {folder}")


@functools.cache
def _defined_dlls(folders: tuple[Path, ...]) -> SystemDlls:
    files = sorted(path for folder in folders for pattern in ("*.def", "*.def.in")
                   for path in folder.glob(pattern))
    named = frozenset(name for path in files if (name := implib.def_dll_name(path)))
    where = ", ".join(map(str, folders)) or "zig's MinGW-w64 (ziglang is not installed)"
    return _allowed(named, f"hand list: no MinGW-w64 module definitions in {where}")


@dataclass(frozen=True, kw_only=True)
class PEFacts:
    path: Path
    size: int
    machine: str  #: "IMAGE_FILE_MACHINE_AMD64"
    bits: int  #: 32 (PE32) or 64 (PE32+)
    subsystem: str  #: "IMAGE_SUBSYSTEM_WINDOWS_CUI"
    dll: bool  #: a DLL (.pyd) rather than an .exe
    imports: tuple[str, ...]  #: imported DLL names, lower case, sorted, unique
    stripped: bool  #: no COFF symbols and no .debug_* sections (long names looked up)
    exported: tuple[str, ...]


#: what a debugger reads; an unresolved "/N" name (no string table to look it up in) counts
DEBUG_SECTIONS = (".debug", ".zdebug", "/")
_SYMBOL_SIZE = 18  #: bytes of one COFF symbol record


def section_names(pe: pefile.PE) -> list[str]:
    """The sections' names, long ones looked up as the PE/COFF spec says: a name "/N" is
    the string at offset N of the COFF string table, which follows the symbol table (GNU
    ld writes .debug_info, and .eh_frame for i686, that way; ``objdump -h`` shows the
    same names)."""
    header = pe.FILE_HEADER
    table = header.PointerToSymbolTable + header.NumberOfSymbols * _SYMBOL_SIZE
    data = pe.__data__
    names = []
    for section in pe.sections:
        name = section.Name.rstrip(b"\0").decode(errors="replace")
        if name.startswith("/") and name[1:].isdigit() and header.PointerToSymbolTable:
            start = table + int(name[1:])
            end = data.find(b"\0", start, start + 256)
            if int(name[1:]) >= 4 and end > start:  # 0-3: the size field
                name = bytes(data[start:end]).decode(errors="replace")
        names.append(name)
    return names


def read_facts(path: Path) -> PEFacts:
    try:
        pe = pefile.PE(str(path), fast_load=True)
        pe.parse_data_directories(directories=[
            pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"],
            pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_EXPORT"],
        ])
    except OSError as exc:
        raise StepFailed(f"cannot read {path}: {exc.strerror or exc}") from exc
    except pefile.PEFormatError as exc:
        raise StepFailed(f"{path} is not a valid PE file ({exc.value})") from exc
    header, optional = pe.FILE_HEADER, pe.OPTIONAL_HEADER
    sections = section_names(pe)
    imports = sorted({entry.dll.decode(errors="replace").lower()
                      for entry in getattr(pe, "DIRECTORY_ENTRY_IMPORT", [])})
    exports = sorted(sym.name.decode(errors="replace")
                     for sym in getattr(getattr(pe, "DIRECTORY_ENTRY_EXPORT", None), "symbols", [])
                     if sym.name)
    facts = PEFacts(
        path=path,
        size=path.stat().st_size,
        machine=pefile.MACHINE_TYPE.get(header.Machine, hex(header.Machine)),
        bits=64 if optional.Magic == PE32_PLUS_MAGIC else 32,
        subsystem=pefile.SUBSYSTEM_TYPE.get(optional.Subsystem, str(optional.Subsystem)),
        dll=bool(header.Characteristics & pefile.IMAGE_CHARACTERISTICS["IMAGE_FILE_DLL"]),
        imports=tuple(imports),
        # no symbols, and no debug sections; a string table may stay (strip keeps it for
        # long section names such as .eh_frame, "/4" in the header)
        stripped=(header.NumberOfSymbols == 0
                  and not any(name.startswith(DEBUG_SECTIONS) for name in sections)),
        exported=tuple(exports),
    )
    pe.close()
    return facts


def verify(facts: PEFacts, target: Target, *, allowed: frozenset[str] = frozenset(),
           require_stripped: bool = True) -> list[Check]:
    arch = target.arch
    system = system_dlls(target)
    allowed_lower = {name.lower() for name in allowed}  # Windows names ignore case
    foreign = [dll for dll in facts.imports if dll not in system and dll not in allowed_lower]
    source = f" ({system.fallback})" if system.fallback else ""
    checks = [
        Check("machine", facts.machine == arch.pe_machine, str(arch.pe_machine), facts.machine),
        Check("class", facts.bits == arch.elf_class, "PE32+" if arch.elf_class == 64 else "PE32",
              "PE32+" if facts.bits == 64 else "PE32"),
        Check("subsystem", facts.dll or facts.subsystem == "IMAGE_SUBSYSTEM_WINDOWS_CUI",
              "console (IMAGE_SUBSYSTEM_WINDOWS_CUI)", "DLL" if facts.dll else facts.subsystem),
        Check("dlls", not foreign, f"Windows system DLLs{source}" + (
            f" and {', '.join(sorted(allowed))}" if allowed else ""),
              f"also {', '.join(foreign)}" if foreign else ", ".join(facts.imports) + source),
    ]
    if require_stripped:
        checks.append(Check("stripped", facts.stripped, "stripped",
                            "stripped" if facts.stripped else "not stripped"))
    return checks

