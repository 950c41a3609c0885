"""One entry point for verifying a built binary, whatever its format (ELF, PE, Mach-O or
WebAssembly)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooling.matrix.targets import Target
from tooling.platforms import platform_of
from tooling.verify import elf
from tooling.verify.elf import Check


@dataclass(frozen=True)
class Inspection:
    checks: list[Check]
    summary: dict[str, Any]  #: what goes into the step record and build_info.json
    notes: list[str]  #: what users' own tools say (file, ldd)


def _loaded(machine: str, needed: tuple[str, ...], stripped: bool,
            **extra: Any) -> dict[str, Any]:
    """The record of a PE or Mach-O program: loaded by the OS's own loader, no glibc."""
    return {"machine": machine, "linkage": "dynamic", "static_pie": False,
            "interpreter": None, "needed": list(needed), "highest_glibc": None,
            "stripped": stripped, **extra}


def exports_check(wanted: tuple[str, ...], exported: tuple[str, ...]) -> list[Check]:
    """A library's entry points (``PyInit_build_core`` for a Python module) are exported."""
    if not wanted:
        return []
    missing = [name for name in wanted if name not in exported]
    return [Check("exports", not missing, ", ".join(wanted),
                  f"missing {', '.join(missing)}" if missing else ", ".join(wanted))]


def inspect(path: Path, target: Target, *, glibc_floor: str | None = None,
            allowed: frozenset[str] = frozenset(), exports: tuple[str, ...] = ()) -> Inspection:
    """Verify ``path`` for ``target``; ``exports`` names symbols a library must export."""
    fmt = platform_of(target).binary_format
    file_line = f"file: {elf.file_output(path)}"
    if fmt == "pe":
        from tooling.verify import pe  # startup time: pefile loads only for PE

        pe_facts = pe.read_facts(path)
        return Inspection(pe.verify(pe_facts, target, allowed=allowed)
                          + exports_check(exports, pe_facts.exported),
                          _loaded(pe_facts.machine, pe_facts.imports, pe_facts.stripped,
                                  subsystem=pe_facts.subsystem), [file_line])
    if fmt == "macho":
        from tooling.verify import macho  # startup time: lief loads only for Mach-O

        macho_facts = macho.read_facts(path)
        return Inspection(macho.verify(macho_facts, target, allowed=allowed)
                          + exports_check(exports, macho_facts.exported),
                          _loaded(macho_facts.cpu, macho_facts.dylibs, macho_facts.stripped,
                                  min_os=macho_facts.min_os, signature=macho_facts.signature),
                          [file_line])
    if fmt == "wasm":
        from tooling.verify import wasm  # startup time: wasmtime loads only for wasm

        wasm_facts = wasm.read_facts(path)
        exported = tuple(name for name, _ in wasm_facts.exports)
        return Inspection(
            wasm.verify(wasm_facts, target) + exports_check(exports, exported),
            {"machine": target.arch.rust, "linkage": "static", "static_pie": False,
             "interpreter": None, "needed": list(wasm_facts.import_modules),
             "highest_glibc": None, "stripped": wasm_facts.stripped},
            [file_line, "wasm: " + (", ".join(wasm_facts.custom) or "no custom sections")
             + f"; {len(wasm_facts.imports)} imports, exports "
             + ", ".join(exported)])
    facts = elf.read_facts(path)
    checks = elf.verify(facts, target, glibc_floor=glibc_floor) + exports_check(
        exports, facts.exported)
    ldd = elf.ldd_output(path, target, facts)
    summary = {
        "machine": facts.machine,
        "linkage": "static" if facts.static else "dynamic",
        "static_pie": facts.static_pie,
        "interpreter": facts.interpreter,
        "needed": list(facts.needed),
        "highest_glibc": facts.highest_glibc,
        "stripped": facts.stripped,
    }
    return Inspection(checks, summary, [file_line, "ldd:  " + "\n          ".join(
        ldd.splitlines() or [""])])
