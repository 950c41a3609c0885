"""What a Windows PE file says about itself (read with pefile), and whether it fits its target."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pefile

from tooling.errors import StepFailed
from tooling.matrix.targets import Target
from tooling.verify.elf import Check

PE32_MAGIC = 0x10B
PE32_PLUS_MAGIC = 0x20B

#: DLLs every Windows install has; anything else must ship beside the program, so it
#: is a failing check unless the project lists it in ``allow-dlls``.
SYSTEM_DLLS = frozenset({
    "advapi32.dll", "bcrypt.dll", "bcryptprimitives.dll", "comctl32.dll", "comdlg32.dll",
    "crypt32.dll", "dbghelp.dll", "dnsapi.dll", "gdi32.dll", "iphlpapi.dll", "kernel32.dll",
    "kernelbase.dll", "msvcrt.dll", "ncrypt.dll", "netapi32.dll", "ntdll.dll", "ole32.dll",
    "oleaut32.dll", "psapi.dll", "rpcrt4.dll", "secur32.dll", "setupapi.dll", "shell32.dll",
    "shlwapi.dll", "synchronization.dll", "ucrtbase.dll", "user32.dll", "userenv.dll",
    "version.dll", "winhttp.dll", "wininet.dll", "winmm.dll", "ws2_32.dll", "wsock32.dll",
})


def is_system_dll(name: str) -> bool:
    lower = name.lower()
    return lower in SYSTEM_DLLS or lower.startswith(("api-ms-win-", "ext-ms-win-"))


@dataclass(frozen=True, kw_only=True)
class PEFacts:
    path: Path
    size: int
    machine: str  #: "IMAGE_FILE_MACHINE_AMD64"
    bits: int  #: 32 (PE32) or 64 (PE32+)
    subsystem: str  #: "IMAGE_SUBSYSTEM_WINDOWS_CUI"
    dll: bool  #: a DLL (.pyd) rather than an .exe
    imports: tuple[str, ...]  #: imported DLL names, lower case, sorted, unique
    stripped: bool  #: no COFF symbol table and no .debug_* sections
    exported: tuple[str, ...]


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
    sections = [s.Name.rstrip(b"\0").decode(errors="replace") for s in pe.sections]
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
        # "/4"-style names are long section names (.debug_info ...) kept in the COFF strings
        stripped=(header.PointerToSymbolTable == 0 and header.NumberOfSymbols == 0
                  and not any(name.startswith((".debug", "/")) for name in sections)),
        exported=tuple(exports),
    )
    pe.close()
    return facts


def verify(facts: PEFacts, target: Target, *, allowed: frozenset[str] = frozenset(),
           require_stripped: bool = True) -> list[Check]:
    arch = target.arch
    foreign = [dll for dll in facts.imports if not is_system_dll(dll) and dll not in allowed]
    checks = [
        Check("machine", facts.machine == arch.pe_machine, str(arch.pe_machine), facts.machine),
        Check("class", facts.bits == arch.elf_class, "PE32+" if arch.elf_class == 64 else "PE32",
              "PE32+" if facts.bits == 64 else "PE32"),
        Check("subsystem", facts.dll or facts.subsystem == "IMAGE_SUBSYSTEM_WINDOWS_CUI",
              "console (IMAGE_SUBSYSTEM_WINDOWS_CUI)", "DLL" if facts.dll else facts.subsystem),
        Check("dlls", not foreign, "Windows system DLLs" + (
            f" and {', '.join(sorted(allowed))}" if allowed else ""),
              f"also {', '.join(foreign)}" if foreign else ", ".join(facts.imports)),
    ]
    if require_stripped:
        checks.append(Check("stripped", facts.stripped, "stripped",
                            "stripped" if facts.stripped else "not stripped"))
    return checks

