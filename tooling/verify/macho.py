"""What a macOS Mach-O file says about itself (read with lief), and whether it fits its target.

Nothing here runs the binary: macOS programs are verified structurally only.
Beside the header facts this checks the ad-hoc code signature the linker wrote
(and ``llvm-strip`` rewrote): an arm64 macOS kernel kills a program whose
page hashes do not match, so each page is hashed again and compared.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooling.errors import StepFailed
from tooling.matrix.targets import Target
from tooling.platforms import macos
from tooling.util import versions
from tooling.verify.elf import Check

MACHO_MAGICS = {b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe"}
#: where a macOS program may load dylibs from without shipping them
SYSTEM_DYLIB_DIRS = ("/usr/lib/", "/System/")

_CSMAGIC_CODEDIRECTORY = 0xFADE0C02
_CS_HASHTYPE_SHA1, _CS_HASHTYPE_SHA256 = 1, 2
_N_STAB, _N_TYPE, _N_EXT, _N_SECT, _N_PEXT = 0xE0, 0x0E, 0x01, 0x0E, 0x10


@dataclass(frozen=True, kw_only=True)
class MachOFacts:
    path: Path
    size: int
    cpu: str  #: "ARM64", "X86_64"
    bits: int
    file_type: str  #: "EXECUTE", "DYLIB", "BUNDLE"
    min_os: str | None  #: LC_BUILD_VERSION / LC_VERSION_MIN_MACOSX, e.g. "11.0"
    dylibs: tuple[str, ...]
    stripped: bool  #: no local symbols and no debug (stab) entries
    signature: str  #: "valid", "none", or what is wrong with it
    exported: tuple[str, ...] = ()  #: exported symbols, without Mach-O's leading "_"


def _version(parts: Any) -> str:
    numbers = [int(p) for p in parts]
    while len(numbers) > 2 and numbers[-1] == 0:
        numbers.pop()
    return ".".join(str(n) for n in numbers)


def read_facts(path: Path) -> MachOFacts:
    import lief

    try:
        head = path.read_bytes()[:4]
    except OSError as exc:
        raise StepFailed(f"cannot read {path}: {exc.strerror or exc}") from exc
    if head not in MACHO_MAGICS:
        raise StepFailed(f"{path} is not a Mach-O file (starts with {head!r})")
    lief.logging.disable()
    fat = lief.MachO.parse(str(path))
    binary: Any = fat.at(0) if fat is not None and fat.size > 0 else None
    if binary is None:
        raise StepFailed(f"{path} is not a valid Mach-O file (lief could not parse it)")
    header = binary.header
    if binary.has_build_version:
        min_os: str | None = _version(binary.build_version.minos)
    elif binary.has_version_min:
        min_os = _version(binary.version_min.version)
    else:
        min_os = None
    symbols = list(binary.symbols)
    stabs = [s for s in symbols if s.raw_type & _N_STAB]
    # private externs (N_PEXT: hidden-visibility C symbols, zlib's ZLIB_INTERNAL) stay in
    # the table after llvm-strip; they are the linker's, not debug information
    local = [s for s in symbols if not s.raw_type & (_N_STAB | _N_EXT | _N_PEXT)
             and (s.raw_type & _N_TYPE) == _N_SECT]
    return MachOFacts(
        path=path,
        size=path.stat().st_size,
        cpu=str(header.cpu_type).rsplit(".", 1)[-1],
        bits=64 if head in (b"\xcf\xfa\xed\xfe",) else 32,
        file_type=str(header.file_type).rsplit(".", 1)[-1],
        min_os=min_os,
        # a dylib's own install name (LC_ID_DYLIB) is not something it loads
        dylibs=tuple(lib.name for lib in binary.libraries
                     if not str(lib.command).endswith("ID_DYLIB")),
        stripped=not stabs and not local,
        signature=_signature(path, binary),
        exported=tuple(sorted(s.name[1:] if s.name.startswith("_") else s.name
                              for s in binary.exported_symbols)),
    )


def _signature(path: Path, binary: Any) -> str:
    """Check every code page's hash against the CodeDirectory of the ad-hoc signature."""
    if not binary.has_code_signature:
        return "none"
    data = path.read_bytes()
    sig = binary.code_signature
    blob = data[sig.data_offset: sig.data_offset + sig.data_size]
    try:
        _magic, _length, count = struct.unpack(">III", blob[:12])
        for index in range(count):
            _kind, offset = struct.unpack(">II", blob[12 + 8 * index: 20 + 8 * index])
            if struct.unpack(">I", blob[offset: offset + 4])[0] != _CSMAGIC_CODEDIRECTORY:
                continue
            cd = blob[offset:]
            (_m, _l, _v, _flags, hash_offset, _ident, _special, code_slots, code_limit,
             hash_size, hash_type, _platform, page_shift) = struct.unpack(">IIIIIIIIIBBBB", cd[:40])
            page = 1 << page_shift
            algorithm = {_CS_HASHTYPE_SHA1: "sha1", _CS_HASHTYPE_SHA256: "sha256"}.get(hash_type)
            if algorithm is None:
                return f"unknown hash type {hash_type}"
            bad = 0
            for slot in range(code_slots):
                chunk = data[slot * page: min((slot + 1) * page, code_limit)]
                want = cd[hash_offset + slot * hash_size: hash_offset + (slot + 1) * hash_size]
                if hashlib.new(algorithm, chunk).digest()[:hash_size] != want:
                    bad += 1
            return "valid" if bad == 0 else f"{bad} of {code_slots} page hashes wrong"
    except struct.error:
        return "malformed"
    return "no CodeDirectory"


def verify(facts: MachOFacts, target: Target, *, allowed: frozenset[str] = frozenset(),
           require_stripped: bool = True) -> list[Check]:
    wanted_min = macos.deployment_target(target)
    foreign = [lib for lib in facts.dylibs
               if not lib.startswith(SYSTEM_DYLIB_DIRS) and lib not in allowed]
    checks = [
        Check("machine", facts.cpu == target.arch.macho_cpu, str(target.arch.macho_cpu), facts.cpu),
        Check("class", facts.bits == 64, "Mach-O 64-bit", f"Mach-O {facts.bits}-bit"),
        Check("min-os", facts.min_os is not None
              and versions.parse(facts.min_os) <= versions.parse(wanted_min),
              f"<= {wanted_min} (MACOSX_DEPLOYMENT_TARGET)", facts.min_os or "none"),
        Check("dylibs", not foreign, "only /usr/lib and /System",
              f"also {', '.join(foreign)}" if foreign else ", ".join(facts.dylibs)),
    ]
    if target.arch.macho_cpu == "ARM64" or facts.signature != "none":
        # arm64 macOS runs nothing unsigned; an ad-hoc signature is enough
        checks.append(Check("signature", facts.signature == "valid", "valid ad-hoc signature",
                            facts.signature))
    if require_stripped:
        checks.append(Check("stripped", facts.stripped, "stripped",
                            "stripped" if facts.stripped else "not stripped"))
    return checks

