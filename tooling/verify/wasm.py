"""What a WebAssembly module or component says about itself, and whether it is the WASI
program its target promises: a preview 1 core module, or a preview 2 component.

Two readers, each for what it does best: Wasmtime (the ``wasmtime`` package, the runtime
that runs it) validates the whole module or component and lists its imports and exports;
a small section reader here checks the header (magic ``\\0asm``; version 1 and layer 0: a
core module, layer 1: a component) and lists the custom sections, also of the modules and
components nested in a component, which Wasmtime does not expose: a stripped program has
no ``name`` (or ``component-name``) section and no ``.debug_*`` ones. The reader also
decodes a module's import and export sections, so a test cross-checks it against
Wasmtime."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tooling.errors import StepFailed
from tooling.matrix.targets import Target
from tooling.platforms import wasi
from tooling.verify.elf import Check

MAGIC = b"\0asm"
#: a core module's version; a component (WASI preview 2) has 0x0d and layer 1
CORE_VERSION = 1
WASI_P1 = "wasi_snapshot_preview1"
#: the section ids of the binary format (custom, type, import, …, data count)
SECTION_NAMES = {0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory",
                 6: "global", 7: "export", 8: "start", 9: "element", 10: "code", 11: "data",
                 12: "datacount", 13: "tag"}
#: the component sections that hold a whole core module, and a whole component
COMPONENT_CORE_MODULE, COMPONENT_COMPONENT = 1, 4
#: the custom sections a stripped program has none of (beside ``.debug_*``)
NAME_SECTIONS = ("name", "component-name")
#: the kinds of an import or export (external kind bytes)
EXTERNAL_KINDS = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}


class WasmFormatError(ValueError):
    """The bytes are not a well-formed module (what is wrong, and at which offset)."""


@dataclass(frozen=True, kw_only=True)
class Sections:
    """What the section reader found."""

    version: int
    layer: int  #: 0 for a core module, 1 for a component
    sections: tuple[str, ...]  #: section names in file order (custom ones as ``custom``)
    custom: tuple[str, ...]  #: names of the custom sections
    imports: tuple[tuple[str, str, str], ...]  #: (module, name, kind)
    exports: tuple[tuple[str, str], ...]  #: (name, kind)


class _Reader:
    def __init__(self, data: bytes, start: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = start
        self.end = len(data) if end is None else end

    def byte(self) -> int:
        if self.pos >= self.end:
            raise WasmFormatError(f"unexpected end at offset {self.pos}")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def u32(self) -> int:
        """An unsigned LEB128 of at most 5 bytes."""
        result = shift = 0
        for _ in range(5):
            value = self.byte()
            result |= (value & 0x7F) << shift
            if not value & 0x80:
                if result >= 1 << 32:
                    raise WasmFormatError(f"u32 out of range at offset {self.pos}")
                return result
            shift += 7
        raise WasmFormatError(f"LEB128 longer than 5 bytes at offset {self.pos}")

    def take(self, size: int) -> bytes:
        if self.pos + size > self.end:
            raise WasmFormatError(f"{size} bytes at offset {self.pos} run past the end "
                                  f"({self.end})")
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk

    def name(self) -> str:
        raw = self.take(self.u32())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WasmFormatError(f"a name at offset {self.pos - len(raw)} is not UTF-8") from exc

    def limits(self) -> None:
        flags = self.byte()
        self.u32()
        if flags & 1:
            self.u32()

    def skip_import_type(self, kind: int) -> None:
        if kind == 0:  # func: a type index
            self.u32()
        elif kind == 1:  # table: reftype, limits
            self.byte()
            self.limits()
        elif kind == 2:  # memory: limits
            self.limits()
        elif kind == 3:  # global: valtype, mutability
            self.byte()
            self.byte()
        elif kind == 4:  # tag: attribute, type index
            self.byte()
            self.u32()
        else:
            raise WasmFormatError(f"unknown import kind {kind:#x} at offset {self.pos - 1}")


def read_sections(data: bytes) -> Sections:
    """Decode the header and the section list (WasmFormatError: not a module)."""
    if len(data) < 8 or data[:4] != MAGIC:
        raise WasmFormatError(f"no wasm magic (\\0asm): starts with {data[:4]!r}")
    version = int.from_bytes(data[4:6], "little")
    layer = int.from_bytes(data[6:8], "little")
    reader = _Reader(data, 8)
    sections: list[str] = []
    custom: list[str] = []
    imports: list[tuple[str, str, str]] = []
    exports: list[tuple[str, str]] = []
    if layer != 0:  # a component: its sections mean other things
        return _component_sections(data, version, layer)
    while reader.pos < len(data):
        section_id = reader.byte()
        size = reader.u32()
        body = _Reader(data, reader.pos, reader.pos + size)
        if body.end > len(data):
            raise WasmFormatError(f"section {section_id} of {size} bytes at offset "
                                  f"{reader.pos} runs past the end ({len(data)})")
        sections.append(SECTION_NAMES.get(section_id, f"unknown({section_id})"))
        if section_id == 0:
            custom.append(body.name())
        elif section_id == 2:
            for _ in range(body.u32()):
                module, field_name, kind = body.name(), body.name(), body.byte()
                body.skip_import_type(kind)
                imports.append((module, field_name, EXTERNAL_KINDS.get(kind, str(kind))))
        elif section_id == 7:
            for _ in range(body.u32()):
                export_name, kind = body.name(), body.byte()
                body.u32()
                exports.append((export_name, EXTERNAL_KINDS.get(kind, str(kind))))
        reader.pos = body.end
    return Sections(version=version, layer=layer, sections=tuple(sections),
                    custom=tuple(custom), imports=tuple(imports), exports=tuple(exports))


def _component_sections(data: bytes, version: int, layer: int) -> Sections:
    """A component's sections, and the custom sections of it and of every module and
    component nested in it (imports and exports: Wasmtime's to list)."""
    reader = _Reader(data, 8)
    sections: list[str] = []
    custom: list[str] = []
    while reader.pos < len(data):
        section_id = reader.byte()
        size = reader.u32()
        body = _Reader(data, reader.pos, reader.pos + size)
        if body.end > len(data):
            raise WasmFormatError(f"component section {section_id} of {size} bytes at "
                                  f"offset {reader.pos} runs past the end ({len(data)})")
        sections.append(f"component:{section_id}")
        if section_id == 0:
            custom.append(body.name())
        elif section_id in (COMPONENT_CORE_MODULE, COMPONENT_COMPONENT):
            custom += read_sections(data[body.pos:body.end]).custom
        reader.pos = body.end
    return Sections(version=version, layer=layer, sections=tuple(sections),
                    custom=tuple(custom), imports=(), exports=())


@dataclass(frozen=True, kw_only=True)
class WasmFacts:
    path: Path
    size: int
    version: int
    layer: int
    valid: str  #: "valid", or Wasmtime's reason it is not
    imports: tuple[tuple[str, str, str], ...]  #: (module, name, kind), as Wasmtime lists them
    exports: tuple[tuple[str, str], ...]  #: (name, kind)
    custom: tuple[str, ...]  #: custom section names (the section reader's)

    @property
    def import_modules(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(module for module, _, _ in self.imports))

    @property
    def debug_sections(self) -> tuple[str, ...]:
        return tuple(n for n in self.custom if n in NAME_SECTIONS or n.startswith(".debug_"))

    @property
    def stripped(self) -> bool:
        return not self.debug_sections


def _kind(extern_type: object) -> str:
    """Wasmtime's type object of an import or export as the binary format's kind name."""
    import wasmtime

    for cls, kind in ((wasmtime.FuncType, "func"), (wasmtime.MemoryType, "memory"),
                      (wasmtime.TableType, "table"), (wasmtime.GlobalType, "global")):
        if isinstance(extern_type, cls):
            return kind
    return type(extern_type).__name__


def wasmtime_lists(data: bytes) -> tuple[tuple[tuple[str, str, str], ...],
                                         tuple[tuple[str, str], ...]]:
    """(imports, exports) as Wasmtime reads them; WasmtimeError when it is not valid."""
    import wasmtime

    module = wasmtime.Module(wasmtime.Engine(), data)
    imports = tuple((i.module, i.name or "", _kind(i.type)) for i in module.imports)
    exports = tuple((e.name, _kind(e.type)) for e in module.exports)
    return imports, exports


def component_lists(data: bytes) -> tuple[tuple[tuple[str, str, str], ...],
                                          tuple[tuple[str, str], ...]]:
    """A component's (imports, exports) as Wasmtime reads them: interface names
    (``wasi:cli/run@0.2.0``), the module part empty; WasmtimeError when it is not valid."""
    import wasmtime
    from wasmtime import component

    engine = wasmtime.Engine()
    program = component.Component(engine, data)
    imports = tuple((name, "", type(kind).__name__)
                    for name, kind in program.type.imports(engine).items())
    exports = tuple((name, type(kind).__name__)
                    for name, kind in program.type.exports(engine).items())
    return imports, exports


def read_facts(path: Path) -> WasmFacts:
    import wasmtime

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StepFailed(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        sections = read_sections(data)
    except WasmFormatError as exc:
        raise StepFailed(f"{path.name} is not a WebAssembly module: {exc}") from exc
    valid, imports, exports = "valid", sections.imports, sections.exports
    try:
        imports, exports = (wasmtime_lists if sections.layer == 0 else component_lists)(data)
    except wasmtime.WasmtimeError as exc:
        valid = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid"
    return WasmFacts(path=path, size=len(data), version=sections.version, layer=sections.layer,
                     valid=valid, imports=imports, exports=exports, custom=sections.custom)


def verify(facts: WasmFacts, target: Target) -> list[Check]:
    """A WASI preview 1 program: a valid core module that imports only from
    ``wasi_snapshot_preview1`` and exports ``_start`` (a function) and its ``memory``; a
    preview 2 one: a valid component that imports only WASI interfaces and exports
    ``wasi:cli/run``. Either is stripped."""
    if wasi.is_component(target):
        return _verify_component(facts)
    foreign = [f"{m}.{n}" for m, n, _ in facts.imports if m != WASI_P1]
    exports = dict(facts.exports)
    return [
        Check("format", facts.version == CORE_VERSION and facts.layer == 0,
              f"core module, version {CORE_VERSION}",
              f"version {facts.version}" + (f", layer {facts.layer} (a component)"
                                            if facts.layer else "")),
        Check("valid", facts.valid == "valid", "valid (wasmtime)", facts.valid),
        Check("imports", not foreign, f"only {WASI_P1}",
              f"also {', '.join(foreign)}" if foreign
              else f"{len(facts.imports)} from {WASI_P1}"),
        Check("entry", exports.get("_start") == "func", "_start (func)",
              f"_start ({exports['_start']})" if "_start" in exports else "no _start"),
        Check("memory", exports.get("memory") == "memory", "memory exported",
              "memory" if exports.get("memory") == "memory" else "no memory export"),
        Check("stripped", facts.stripped, "no name or .debug_* sections",
              ", ".join(facts.debug_sections) or "none"),
    ]


def _verify_component(facts: WasmFacts) -> list[Check]:
    foreign = [name for name, _, _ in facts.imports if not name.startswith("wasi:")]
    run = next((name for name, _ in facts.exports if name.startswith(wasi.CLI_RUN)), None)
    return [
        Check("format", facts.layer == 1, "component (layer 1)",
              f"version {facts.version}, layer {facts.layer}"
              + (" (a core module)" if facts.layer == 0 else "")),
        Check("valid", facts.valid == "valid", "valid (wasmtime)", facts.valid),
        Check("imports", not foreign, "only WASI interfaces (wasi:*)",
              f"also {', '.join(foreign)}" if foreign
              else f"{len(facts.imports)} WASI interfaces"),
        Check("entry", run is not None, f"{wasi.CLI_RUN}.x",
              run or f"no {wasi.CLI_RUN}.x export"),
        Check("stripped", facts.stripped, "no name or .debug_* sections",
              ", ".join(facts.debug_sections) or "none"),
    ]
