"""What a built binary really is, read from its ELF headers, and whether that fits its target.

:func:`read_facts` reads the facts with pyelftools (architecture, linkage,
glibc symbol versions, stripping, exported functions); :func:`verify` turns
facts plus a :class:`~tooling.targets.Target` into pass/fail :class:`Check`
rows; :func:`render` formats them. Beside its own findings the tool shows what
users would run themselves: :func:`file_output` and :func:`ldd_output`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from elftools.elf.constants import SH_FLAGS
from elftools.elf.dynamic import DynamicSegment
from elftools.elf.elffile import ELFFile
from elftools.elf.enums import ENUM_NOTE_N_TYPE
from elftools.elf.gnuversions import GNUVerNeedSection, GNUVerSymSection
from elftools.elf.sections import NoteSection, SymbolTableSection
from elftools.elf.segments import InterpSegment

from tooling.errors import StepFailed, ToolMissing, UsageError
from tooling.matrix.targets import Target
from tooling.platforms import bsd
from tooling.util import proc, versions

ELF_MAGIC = b"\x7fELF"

# e_flags bits (ARM EABI v5, RISC-V psABI).
EF_ARM_ABI_FLOAT_SOFT = 0x200
EF_ARM_ABI_FLOAT_HARD = 0x400
EF_RISCV_FLOAT_ABI = 0x6
DF_1_PIE = 0x08000000
# MIPS: n32 sets EF_MIPS_ABI2; o32 leaves EF_MIPS_ABI at 0 or O32 (0x1000). PPC64: e_flags & 3.
EF_MIPS_ABI2 = 0x20
EF_MIPS_ABI = 0xF000
EF_MIPS_ABI_O32 = 0x1000
EF_PPC64_ABI = 0x3
_PPC64_ABIS = {0: "unspecified", 1: "elfv1", 2: "elfv2", 3: "unknown"}
_RISCV_FLOAT_ABIS = {0x0: "soft", 0x2: "single", 0x4: "double", 0x6: "quad"}

#: versym entries carry a "hidden" flag in the top bit; the index is the rest.
_VERSYM_HIDDEN = 0x8000
_GLIBC_VERSION = re.compile(r"GLIBC_(\d+(?:\.\d+)*)")
#: how many offending symbols the "glibc" check names before summarising.
_MAX_NAMED = 8


@dataclass(frozen=True, kw_only=True)
class BinaryFacts:
    """What one ELF file says about itself."""

    path: Path
    size: int
    machine: str  #: e_machine as pyelftools names it, e.g. "EM_AARCH64"
    elf_class: int  #: 32 or 64
    endian: str  #: "little" or "big"
    elf_type: str  #: "ET_EXEC", "ET_DYN", "ET_REL", ...
    float_abi: str | None  #: ARM "hard"/"soft", RISC-V "soft"/"single"/"double"/"quad"
    #: MIPS "o32"/"n32"/"n64" (or "other"), PPC64 "elfv1"/"elfv2"/"unspecified"; else None
    elf_abi: str | None = None
    interpreter: str | None  #: PT_INTERP
    needed: tuple[str, ...]  #: DT_NEEDED, in file order
    static: bool  #: no PT_INTERP and no DT_NEEDED
    static_pie: bool  #: static and ET_DYN
    #: "GLIBC_2.34" -> sorted names of the symbols that need it (empty if not matchable)
    glibc_requirements: dict[str, tuple[str, ...]] = field(hash=False)
    highest_glibc: str | None  #: numerically highest required version, e.g. "2.34"
    #: no .symtab and no non-allocated debug sections (see :func:`_stripped`)
    stripped: bool
    exported: tuple[str, ...]  #: defined global/weak functions in .dynsym, sorted
    #: ET_DYN without PT_INTERP and without DF_1_PIE: a cdylib/.so, not an executable
    shared_library: bool = False
    osabi: str = "ELFOSABI_SYSV"  #: e_ident's EI_OSABI as pyelftools names it
    #: the SHT_NOTE notes: (owner, type, the first 4 bytes of the description as a number)
    notes: tuple[tuple[str, int, int | None], ...] = ()
    entry: int = 0  #: e_entry: where execution starts (0: none, as in a library)

    @property
    def linkage(self) -> str:
        """"static", "static-pie", "dynamic (interpreter X, needs a, b)", "shared library"."""
        needs = ", ".join(self.needed)
        if self.shared_library:
            return f"shared library (needs {needs})" if needs else "shared library"
        if self.static:
            return "static-pie" if self.static_pie else "static"
        parts = [f"interpreter {self.interpreter}" if self.interpreter else "no interpreter"]
        if needs:
            parts.append(f"needs {needs}")
        return f"dynamic ({', '.join(parts)})"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    expected: str
    actual: str


# --------------------------------------------------------------------------- reading


def version_key(version: str) -> tuple[int, ...]:
    """``"2.17"`` or ``"GLIBC_2.17"`` as ``(2, 17)``, so that 2.9 < 2.17."""
    match = _GLIBC_VERSION.fullmatch(version) or re.fullmatch(r"(\d+(?:\.\d+)*)", version)
    if match is None:
        raise UsageError(f"{version!r} is not a glibc version", "write it like 2.17")
    return versions.parse(match.group(1))


def highest_version(versions: Iterable[str]) -> str | None:
    """The numerically highest of ``GLIBC_x.y`` / ``x.y`` strings, as ``x.y``."""
    keys = [version_key(v) for v in versions]
    if not keys:
        return None
    return ".".join(str(part) for part in max(keys))


def read_facts(path: Path) -> BinaryFacts:
    """Read ``path`` with pyelftools; :class:`StepFailed` (one line) if it is not a usable ELF."""
    path = Path(path)
    if not path.exists():
        raise StepFailed(f"{path} does not exist")
    if not path.is_file():
        raise StepFailed(f"{path} is not a file")
    try:
        with path.open("rb") as stream:
            head = stream.read(4)
            if head != ELF_MAGIC:
                start = f"starts with {head!r}" if head else "it is empty"
                raise StepFailed(f"{path} is not an ELF file ({start})")
            stream.seek(0)
            return _read(path, ELFFile(stream))
    except StepFailed:
        raise
    except OSError as exc:
        raise StepFailed(f"cannot read {path}: {exc.strerror or exc}") from exc
    except Exception as exc:
        # pyelftools reports truncated or corrupt files with assorted exception
        # types (ELFError, construct errors, struct/Index/Unicode errors).
        detail = " ".join(str(exc).split())
        raise StepFailed(
            f"{path} is not a valid ELF file ({type(exc).__name__}: {detail})") from exc


def _read(path: Path, elf: ELFFile) -> BinaryFacts:
    header = elf.header
    machine = str(header["e_machine"])
    elf_type = str(header["e_type"])
    interpreter = _interpreter(elf)
    needed = _needed(elf)
    static = interpreter is None and not needed
    requirements = _glibc_requirements(elf)
    return BinaryFacts(
        path=path,
        size=path.stat().st_size,
        machine=machine,
        elf_class=elf.elfclass,
        endian="little" if elf.little_endian else "big",
        elf_type=elf_type,
        float_abi=_float_abi(machine, int(header["e_flags"])),
        elf_abi=elf_abi(machine, elf.elfclass, int(header["e_flags"])),
        interpreter=interpreter,
        needed=needed,
        static=static,
        static_pie=static and elf_type == "ET_DYN",
        glibc_requirements=requirements,
        highest_glibc=highest_version(requirements),
        stripped=_stripped(elf),
        exported=_exported(elf),
        shared_library=(elf_type == "ET_DYN" and interpreter is None
                        and not _flags_1(elf) & DF_1_PIE),
        osabi=str(header["e_ident"]["EI_OSABI"]),
        notes=_notes(elf),
        entry=int(header["e_entry"]),
    )


def _notes(elf: ELFFile) -> tuple[tuple[str, int, int | None], ...]:
    """Each note's owner, type (as a number: pyelftools names every owner's types as GNU's)
    and description's first word, in the file's byte order."""
    found: list[tuple[str, int, int | None]] = []
    for section in elf.iter_sections(type="SHT_NOTE"):
        if not isinstance(section, NoteSection):
            continue
        for note in section.iter_notes():
            kind = note["n_type"]
            number = kind if isinstance(kind, int) else ENUM_NOTE_N_TYPE.get(kind, -1)
            desc = note["n_desc"]
            word = (int.from_bytes(desc[:4], "little" if elf.little_endian else "big")
                    if isinstance(desc, bytes) and len(desc) >= 4 else None)
            found.append((str(note["n_name"]), int(number), word))
    return tuple(found)


def _stripped(elf: ELFFile) -> bool:
    """No ``.symtab`` and no debug information only a debugger reads.

    That is ``.debug_*`` without SHF_ALLOC and any ``.zdebug_*`` (compressed). An
    allocated ``.debug_*`` section is part of the loaded image, and ``strip
    --strip-all`` keeps it: rustc emits ``.debug_gdb_scripts`` (SHF_ALLOC, a few
    bytes naming gdb's pretty-printers) whenever the profile has debuginfo, e.g.
    ``debug = 1``; ``file`` calls such a binary stripped, and so does this.
    """
    for section in elf.iter_sections():
        name = section.name
        if name == ".symtab" or name.startswith(".zdebug_"):
            return False
        if name.startswith(".debug_") and not int(section["sh_flags"]) & SH_FLAGS.SHF_ALLOC:
            return False
    return True


def _float_abi(machine: str, flags: int) -> str | None:
    if machine == "EM_ARM":
        if flags & EF_ARM_ABI_FLOAT_HARD:
            return "hard"
        if flags & EF_ARM_ABI_FLOAT_SOFT:
            return "soft"
        # EABI 5 without either flag is the base procedure call standard, i.e. soft-float:
        # GNU as writes no flag for -mfloat-abi=soft (readelf: "Version5 EABI"), only the
        # hard-float ABI must be marked
        return "soft" if flags >> 24 >= 5 else None
    if machine == "EM_RISCV":
        return _RISCV_FLOAT_ABIS[flags & EF_RISCV_FLOAT_ABI]
    return None


def elf_abi(machine: str, elf_class: int, flags: int) -> str | None:
    """The ABI variant e_flags name: MIPS o32/n32/n64 (EF_MIPS_ABI2), PPC64 ELFv1/v2."""
    if machine == "EM_MIPS":
        if elf_class == 64:
            return "n64"
        if flags & EF_MIPS_ABI2:
            return "n32"
        return "o32" if (flags & EF_MIPS_ABI) in (0, EF_MIPS_ABI_O32) else "other"
    if machine == "EM_PPC64":
        return _PPC64_ABIS[flags & EF_PPC64_ABI]
    return None


def _abi_fits(wanted: str, found: str | None) -> bool:
    """ELFv1 objects of older tools leave e_flags 0: unspecified reads as ELFv1."""
    return found == wanted or (wanted == "elfv1" and found == "unspecified")


def _interpreter(elf: ELFFile) -> str | None:
    for segment in elf.iter_segments(type="PT_INTERP"):
        if isinstance(segment, InterpSegment):
            return segment.get_interp_name()
    return None


def _needed(elf: ELFFile) -> tuple[str, ...]:
    """DT_NEEDED, read through PT_DYNAMIC so it works without section headers too."""
    needed: list[str] = []
    for segment in elf.iter_segments(type="PT_DYNAMIC"):
        if isinstance(segment, DynamicSegment):
            # DynamicTag sets .needed at runtime; its type stubs do not declare it.
            for tag in segment.iter_tags("DT_NEEDED"):
                name = getattr(tag, "needed", None)
                if name:
                    needed.append(str(name))
    return tuple(needed)


def _flags_1(elf: ELFFile) -> int:
    for segment in elf.iter_segments(type="PT_DYNAMIC"):
        if isinstance(segment, DynamicSegment):
            for tag in segment.iter_tags("DT_FLAGS_1"):
                return int(tag["d_val"])
    return 0


def _glibc_requirements(elf: ELFFile) -> dict[str, tuple[str, ...]]:
    """Map each needed GLIBC_x.y version to the dynamic symbols bound to it."""
    # version index (vna_other) -> version name, for the GLIBC_x.y versions only
    wanted: dict[int, str] = {}
    for section in elf.iter_sections(type="SHT_GNU_verneed"):
        if not isinstance(section, GNUVerNeedSection):
            continue
        for _verneed, auxiliaries in section.iter_versions():
            for aux in auxiliaries:
                if _GLIBC_VERSION.fullmatch(aux.name):
                    wanted[int(aux["vna_other"])] = aux.name
    symbols: dict[str, set[str]] = {name: set() for name in wanted.values()}
    for section in elf.iter_sections(type="SHT_GNU_versym"):
        if not isinstance(section, GNUVerSymSection):
            continue
        for n in range(1, section.num_symbols()):
            entry = section.get_symbol(n)
            ndx = entry["ndx"]
            # pyelftools decodes 0 and 1 to "VER_NDX_LOCAL"/"VER_NDX_GLOBAL" and
            # leaves the hidden bit set on the rest.
            if not isinstance(ndx, int):
                continue
            version = wanted.get(ndx & ~_VERSYM_HIDDEN)
            if version is not None and entry.name:
                symbols[version].add(entry.name)
    ordered = sorted(symbols, key=version_key)
    return {version: tuple(sorted(symbols[version])) for version in ordered}


def _exported(elf: ELFFile) -> tuple[str, ...]:
    names: set[str] = set()
    for section in elf.iter_sections(type="SHT_DYNSYM"):
        if not isinstance(section, SymbolTableSection):
            continue
        for symbol in section.iter_symbols():
            info = symbol["st_info"]
            if (
                symbol.name
                and symbol["st_shndx"] != "SHN_UNDEF"
                and info["bind"] in ("STB_GLOBAL", "STB_WEAK")
                and info["type"] in ("STT_FUNC", "STT_GNU_IFUNC")
                and symbol["st_other"]["visibility"] not in ("STV_HIDDEN", "STV_INTERNAL")
            ):
                names.add(symbol.name)
    return tuple(sorted(names))


# --------------------------------------------------------------------------- checking


def verify(
    facts: BinaryFacts,
    target: Target,
    *,
    require_stripped: bool = True,
    glibc_floor: str | None = None,
) -> list[Check]:
    """One :class:`Check` per property the target fixes; see :func:`failed`."""
    arch = target.arch
    checks = [
        Check("machine", facts.machine == arch.elf_machine, arch.elf_machine, facts.machine),
        Check("class", facts.elf_class == arch.elf_class,
              f"ELF{arch.elf_class}", f"ELF{facts.elf_class}"),
        Check("endian", facts.endian == arch.endian, arch.endian, facts.endian),
    ]
    if arch.float_abi is not None:
        checks.append(Check("float-abi", facts.float_abi == arch.float_abi,
                            arch.float_abi, facts.float_abi or "unspecified"))
    if arch.elf_abi is not None:
        checks.append(Check("elf-abi", _abi_fits(arch.elf_abi, facts.elf_abi),
                            arch.elf_abi, facts.elf_abi or "unspecified"))
    system = bsd.system(target)
    if system is not None:
        checks.append(_osabi_check(facts, system))
    checks.append(_linkage_check(facts, target))
    if target.freestanding:  # nothing loads it but a reset or a boot loader: it says where
        checks.append(Check("entry", facts.entry != 0, "an entry point",
                            f"{facts.entry:#x}" if facts.entry else "none (e_entry 0)"))
    if target.glibc_loader or facts.glibc_requirements:
        checks.append(_glibc_check(facts, glibc_floor))
    if require_stripped:
        checks.append(Check("stripped", facts.stripped, "stripped",
                            "stripped" if facts.stripped else "not stripped"))
    return checks


def _linkage_check(facts: BinaryFacts, target: Target) -> Check:
    if target.linkage == "static":
        return Check("linkage", facts.static, "static", facts.linkage)
    if facts.shared_library:
        # A cdylib has no interpreter of its own; the program that loads it has.
        return Check("linkage", True, "shared library", facts.linkage)
    if target.glibc_loader:
        return Check("linkage", facts.interpreter == target.glibc_loader,
                     f"dynamic (interpreter {target.glibc_loader})", facts.linkage)
    system = bsd.system(target)
    if system is not None:
        return Check("linkage", facts.interpreter in system.loaders,
                     f"dynamic (interpreter {' or '.join(system.loaders)})", facts.linkage)
    return Check("linkage", facts.interpreter is not None, "dynamic", facts.linkage)


def _osabi_check(facts: BinaryFacts, system: bsd.System) -> Check:
    """The brand the system's kernel runs a program by: its note (FreeBSD's ABI tag,
    NetBSD's ident), or for FreeBSD EI_OSABI as well. A shared library has none (the crt
    objects of a program bring the note): the program that loads it is branded."""
    notes = [word for owner, kind, word in facts.notes
             if owner == system.note_owner and kind == system.note_type]
    osabi = facts.osabi.removeprefix("ELFOSABI_")
    by_osabi = system.osabi is not None and facts.osabi == system.osabi
    expected = f"{system.title} ({system.note_kind} note" + (
        f" or EI_OSABI {system.osabi.removeprefix('ELFOSABI_')})" if system.osabi else ")")
    if facts.shared_library and not notes and not by_osabi:
        return Check("osabi", True, expected,
                     f"shared library (EI_OSABI {osabi}): the program loading it is branded")
    if notes:
        version = system.version(notes[0]) if notes[0] is not None else "no version"
        actual = f"{system.title} {version}: {system.note_kind} note, EI_OSABI {osabi}"
    else:
        actual = f"EI_OSABI {osabi}, no {system.note_kind} note"
    return Check("osabi", bool(notes) or by_osabi, expected, actual)


def _glibc_check(facts: BinaryFacts, floor: str | None) -> Check:
    highest = facts.highest_glibc
    if floor is None:
        return Check("glibc", True, "any", highest or "none")
    limit = version_key(floor)
    floor_text = ".".join(str(part) for part in limit)
    too_new = [v for v in facts.glibc_requirements if version_key(v) > limit]
    if not too_new:
        return Check("glibc", True, f"<= {floor_text}", highest or "none")
    too_new.sort(key=version_key, reverse=True)
    offenders = [f"{sym}@{v}" for v in too_new for sym in facts.glibc_requirements[v]]
    offenders += [f"{v}" for v in too_new if not facts.glibc_requirements[v]]
    named = ", ".join(offenders[:_MAX_NAMED])
    if len(offenders) > _MAX_NAMED:
        named += f", and {len(offenders) - _MAX_NAMED} more"
    return Check("glibc", False, f"<= {floor_text}", f"{highest} (needs {named})")


def failed(checks: Iterable[Check]) -> list[Check]:
    return [check for check in checks if not check.ok]


def render(checks: Sequence[Check]) -> list[str]:
    """``ok   machine   EM_AARCH64`` / ``FAIL linkage   expected static, got dynamic (...)``."""
    width = max((len(check.name) for check in checks), default=0) + 2
    lines = []
    for check in checks:
        status = "ok  " if check.ok else "FAIL"
        text = check.actual if check.ok else f"expected {check.expected}, got {check.actual}"
        lines.append(f"{status} {check.name.ljust(width)}{text}")
    return lines


# --------------------------------------------------------------------------- what users run


def file_output(path: Path) -> str:
    """``file -b PATH``, or one line saying why there is none. Never raises."""
    try:
        result = proc.run(["file", "-b", str(path)], bound="tool", check=False)
    except ToolMissing:
        return "file: not installed"
    except StepFailed as exc:
        return f"file: {exc.message}"
    return _output(result, "file")


def ldd_output(path: Path, target: Target, facts: BinaryFacts) -> str:
    """What ``ldd PATH`` says, also for a foreign binary. Never raises.

    ldd itself is a script that runs the binary's glibc loader with
    ``--list``; for a foreign architecture this runs the target's loader from
    its Debian cross sysroot under qemu-user, which is what ldd would do there.
    """
    if facts.static:
        return "not a dynamic executable"
    if target.glibc_loader is None and not target.runs_natively():
        needs = ", ".join(facts.needed) or "nothing"
        return f"(no ldd here for {target.name}; needs {needs})"
    if target.runs_natively():
        argv = ["ldd", str(path)]
    else:
        qemu = target.arch.qemu
        sysroot = target.gnu_sysroot
        loader = f"{sysroot}/{target.arch.gnu_loader}"
        if proc.which(qemu) is None:
            return f"(ldd unavailable: {qemu} not installed)"
        if not Path(loader).exists():
            return (f"(ldd unavailable: {loader} not found; "
                    f"install libc6-{target.arch.deb_arch}-cross)")
        argv = [qemu, "-L", sysroot, loader, "--list", str(path)]
    try:
        result = proc.run(argv, bound="tool", check=False)
    except ToolMissing:
        return f"(ldd unavailable: {argv[0]} not installed)"
    except StepFailed as exc:
        return f"(ldd unavailable: {exc.message})"
    return _output(result, "ldd")


def _output(result: proc.Result, tool: str) -> str:
    text = (result.stdout + result.stderr).strip()
    if result.ok:
        return text
    return text or f"{tool}: exit code {result.returncode}"
