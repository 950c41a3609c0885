"""WASI: the wasm section reader and the checks on modules built byte by byte here, Wasmtime
as the runner (exit codes, output, nothing preopened), and wasm32-wasip1's target from
rustc's recorded ``--print cfg`` text."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import wasmtime

from tests.unit.fake_rustc import FakeRustc, install
from tooling.compile import linkers
from tooling.matrix import rustc_data
from tooling.matrix.targets import NotSupportedYet, Target, resolve
from tooling.platforms import platform_of, wasi
from tooling.verify import inspection, wasm

# --- modules byte by byte -------------------------------------------------------------------


def leb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def vec(items: list[bytes]) -> bytes:
    return leb(len(items)) + b"".join(items)


def name(text: str) -> bytes:
    return leb(len(text.encode())) + text.encode()


def section(section_id: int, body: bytes) -> bytes:
    return bytes([section_id]) + leb(len(body)) + body


def module(*, imports: tuple[tuple[str, str], ...] = (("wasi_snapshot_preview1", "proc_exit"),),
           exports: tuple[str, ...] = ("_start", "memory"), custom: tuple[str, ...] = (),
           exit_code: int | None = None, instructions: bytes = b"") -> bytes:
    """A core module: type 0 ``(i32) -> ()`` of each imported function, type 1 ``() -> ()``
    of ``_start`` (``instructions``, then a call of the first import with ``exit_code``
    when one is given), one memory page, the exports named, then the custom sections named."""
    types = vec([b"\x60" + vec([b"\x7f"]) + vec([]), b"\x60" + vec([]) + vec([])])
    imported = vec([name(m) + name(n) + b"\x00" + leb(0) for m, n in imports])
    body = instructions + (b"\x41" + leb(exit_code) + b"\x10\x00" if exit_code is not None
                           else b"") + b"\x0b"
    code = vec([leb(len(vec([]) + body)) + vec([]) + body])
    start_index = len(imports)
    kinds = {"_start": b"\x00" + leb(start_index), "memory": b"\x02" + leb(0)}
    exported = vec([name(e) + kinds[e] for e in exports])
    return (b"\0asm\x01\x00\x00\x00" + section(1, types) + section(2, imported)
            + section(3, vec([leb(1)])) + section(5, vec([b"\x00" + leb(1)]))
            + section(7, exported) + section(10, code)
            + b"".join(section(0, name(c) + b"payload") for c in custom))


@pytest.fixture
def wasip1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeRustc]:
    """A rustc that answers for wasm32-wasip1, -wasip1-threads (the same ``--print cfg``:
    only its target spec tells threads), -wasip2 and -wasip3 what rustc 1.95.0 printed
    here (their target_env is p2, p3)."""
    fake = FakeRustc(tmp_path / "rustup", "rustup", "rustc 1.95.0 (59807616e 2026-04-14)",
                     {"wasm32-wasip1": _recorded(WASIP1_CFG),
                      "wasm32-wasip1-threads": _recorded(WASIP1_CFG),
                      "wasm32-wasip2": _recorded(WASIP1_CFG.replace('"p1"', '"p2"')),
                      "wasm32-wasip3": _recorded(WASIP1_CFG.replace('"p1"', '"p3"'))},
                     specs={"wasm32-wasip1": {"os": "wasi", "singlethread": True},
                            "wasm32-wasip2": {"os": "wasi", "singlethread": True},
                            "wasm32-wasip1-threads": {"os": "wasi",
                                                      "features": "+atomics,+bulk-memory"}})
    install(monkeypatch, tmp_path, fake)
    yield fake
    rustc_data.forget()


#: ``rustc --print cfg --target wasm32-wasip1`` of rustc 1.95.0, as it printed it
WASIP1_CFG = """\
debug_assertions
panic="abort"
target_abi=""
target_arch="wasm32"
target_endian="little"
target_env="p1"
target_family="wasm"
target_feature="bulk-memory"
target_feature="crt-static"
target_feature="multivalue"
target_feature="mutable-globals"
target_feature="nontrapping-fptoint"
target_feature="reference-types"
target_feature="sign-ext"
target_has_atomic="32"
target_has_atomic="ptr"
target_os="wasi"
target_pointer_width="32"
target_vendor="unknown"
"""


def _recorded(text: str) -> dict[str, object]:
    """The recorded lines as the fake rustc's answer (its ``target_*`` keys)."""
    keys: dict[str, object] = {"target_feature": []}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key == "target_feature":
            features = keys["target_feature"]
            assert isinstance(features, list)
            features.append(value.strip('"'))
        elif key.startswith("target_") and key != "target_has_atomic":
            keys[key] = value.strip('"')
    return keys


def _write(tmp_path: Path, data: bytes, file: str = "m.wasm") -> Path:
    path = tmp_path / file
    path.write_bytes(data)
    return path


# --- the section reader ---------------------------------------------------------------------


def test_the_reader_decodes_a_module_built_byte_by_byte() -> None:
    data = module(imports=(("wasi_snapshot_preview1", "fd_write"),
                           ("wasi_snapshot_preview1", "proc_exit")),
                  custom=("name", ".debug_info", "producers"))
    found = wasm.read_sections(data)
    assert (found.version, found.layer) == (1, 0)
    assert found.sections == ("type", "import", "function", "memory", "export", "code",
                              "custom", "custom", "custom")
    assert found.custom == ("name", ".debug_info", "producers")
    assert found.imports == (("wasi_snapshot_preview1", "fd_write", "func"),
                             ("wasi_snapshot_preview1", "proc_exit", "func"))
    assert found.exports == (("_start", "func"), ("memory", "memory"))


def test_the_reader_agrees_with_wasmtime() -> None:
    data = module(imports=(("wasi_snapshot_preview1", "fd_write"), ("env", "host_fn")))
    found = wasm.read_sections(data)
    assert wasm.wasmtime_lists(data) == (found.imports, found.exports)


@pytest.mark.parametrize(("data", "says"), [
    (b"\x7fELF\x02\x01\x01\x00", "no wasm magic"),
    (b"\0as", "no wasm magic"),
    (b"\0asm\x01\x00\x00\x00" + b"\x07\x20\x01", "runs past the end"),
    (b"\0asm\x01\x00\x00\x00" + b"\x07\x05\x01\x05_st", "run past the end"),
    (b"\0asm\x01\x00\x00\x00" + b"\x01\xff\xff\xff\xff\xff\x01", "longer than 5 bytes"),
])
def test_what_is_no_module_is_said(data: bytes, says: str) -> None:
    with pytest.raises(wasm.WasmFormatError, match=says):
        wasm.read_sections(data)


# --- the checks -----------------------------------------------------------------------------


@pytest.fixture
def target(wasip1: FakeRustc) -> Target:
    [found] = resolve("wasm32-wasip1")
    return found


def _checks(tmp_path: Path, target: Target, data: bytes) -> dict[str, tuple[bool, str]]:
    seen = inspection.inspect(_write(tmp_path, data), target)
    return {c.name: (c.ok, c.actual) for c in seen.checks}


def test_a_stripped_wasi_program_passes_every_check(tmp_path: Path, target: Target) -> None:
    checks = _checks(tmp_path, target, module(custom=("producers", "target_features")))
    assert all(ok for ok, _ in checks.values()), checks
    assert set(checks) == {"format", "valid", "imports", "entry", "memory", "stripped"}
    assert checks["imports"] == (True, "1 from wasi_snapshot_preview1")


def test_each_check_fails_on_its_own(tmp_path: Path, target: Target) -> None:
    foreign = _checks(tmp_path, target, module(imports=(
        ("wasi_snapshot_preview1", "proc_exit"), ("env", "emscripten_memcpy"))))
    assert foreign["imports"] == (False, "also env.emscripten_memcpy")
    no_start = _checks(tmp_path, target, module(exports=("memory",)))
    assert no_start["entry"] == (False, "no _start")
    no_memory = _checks(tmp_path, target, module(exports=("_start",)))
    assert no_memory["memory"] == (False, "no memory export")
    debug = _checks(tmp_path, target, module(custom=("name", ".debug_line")))
    assert debug["stripped"] == (False, "name, .debug_line")
    for checks, failed in ((foreign, "imports"), (no_start, "entry"), (no_memory, "memory"),
                           (debug, "stripped")):
        assert [n for n, (ok, _) in checks.items() if not ok] == [failed]


def test_a_component_or_an_invalid_module_fails(tmp_path: Path, target: Target) -> None:
    component = _checks(tmp_path, target, b"\0asm\x0d\x00\x01\x00")
    assert component["format"] == (False, "version 13, layer 1 (a component)")
    # well-formed sections, but _start's body calls a function index that does not exist
    broken = module(instructions=b"\x10\x09")
    assert wasm.read_sections(broken).exports == (("_start", "func"), ("memory", "memory"))
    ok, why = _checks(tmp_path, target, broken)["valid"]
    assert not ok and why != "valid"


def component(*parts: bytes) -> bytes:
    return b"\0asm\x0d\x00\x01\x00" + b"".join(parts)


def test_the_reader_finds_the_custom_sections_nested_in_a_component() -> None:
    inner = component(section(0, name("component-name") + b"x"))
    data = component(section(1, module(custom=("name", "producers"))), section(4, inner),
                     section(0, name(".debug_info") + b"x"))
    found = wasm.read_sections(data)
    assert (found.version, found.layer) == (13, 1)
    assert found.custom == ("name", "producers", "component-name", ".debug_info")
    with pytest.raises(wasm.WasmFormatError, match="runs past the end"):
        wasm.read_sections(component(b"\x01\x40\x00"))


def test_a_component_is_checked_as_preview_2(wasip1: FakeRustc, tmp_path: Path) -> None:
    [p2] = resolve("wasm32-wasip2")
    checks = _checks(tmp_path, p2, component(section(1, module(custom=("name",)))))
    assert checks == {"format": (True, "version 13, layer 1"), "valid": (True, "valid"),
                      "imports": (True, "0 WASI interfaces"),
                      "entry": (False, "no wasi:cli/run@0.2.x export"),
                      "stripped": (False, "name")}
    core = _checks(tmp_path, p2, module())
    assert core["format"] == (False, "version 1, layer 0 (a core module)")


# --- running under wasmtime -----------------------------------------------------------------


def _run(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", wasi.RUNNER_MODULE, str(path), *args],
                          capture_output=True, text=True, check=False, timeout=60)


def test_the_runner_returns_the_modules_proc_exit_code(tmp_path: Path) -> None:
    assert _run(_write(tmp_path, module(exit_code=7))).returncode == 7
    assert _run(_write(tmp_path, module(exit_code=0), "zero.wasm")).returncode == 0
    returned = _run(_write(tmp_path, module(), "returns.wasm"))  # _start returns: exit 0
    assert returned.returncode == 0, returned.stderr


ECHO_WAT = """
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (local $argc i32) (local $size i32)
    ;; argv into 1024.., its strings into 2048..; write argv[1] (NUL-terminated) to stdout
    (drop (call $sizes (i32.const 0) (i32.const 4)))
    (drop (call $args (i32.const 1024) (i32.const 2048)))
    (local.set $argc (i32.load (i32.const 0)))
    (if (i32.lt_u (local.get $argc) (i32.const 2)) (then (call $exit (i32.const 2))))
    (local.set $size (i32.sub (i32.sub (i32.load (i32.const 1032)) (i32.load (i32.const 1028)))
                              (i32.const 1)))
    (i32.store (i32.const 16) (i32.load (i32.const 1028)))
    (i32.store (i32.const 20) (local.get $size))
    (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
    ;; fd 3 would be the first preopened folder: none is, so path_open fails (8: EBADF)
    (call $exit (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 1)
                            (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0)
                            (i32.const 32)))))
"""


def test_the_runner_passes_arguments_keeps_stdout_and_preopens_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path, bytes(wasmtime.wat2wasm(ECHO_WAT)), "echo.wasm")
    ran = _run(path, "--version", "ignored")
    assert ran.stdout == "--version"
    assert ran.returncode == 8, ran.stderr  # EBADF: no folder is preopened
    assert _run(path).returncode == 2  # argv[0] alone: the module's name


def test_the_runner_says_what_is_not_a_module(tmp_path: Path) -> None:
    ran = _run(_write(tmp_path, b"not wasm", "bad.wasm"))
    assert ran.returncode == 2
    assert ran.stderr.startswith("error: wasmtime cannot run bad.wasm: ")
    assert len(ran.stderr.strip().splitlines()) == 1
    missing = _run(tmp_path / "none.wasm")
    assert (missing.returncode, missing.stderr.strip()) == (
        2, f"error: no WebAssembly module at {tmp_path / 'none.wasm'}")


def test_a_trap_is_an_abort(tmp_path: Path) -> None:
    trapping = module(instructions=b"\x00")  # unreachable: how a Rust panic ends
    ran = _run(_write(tmp_path, trapping))
    assert ran.returncode == wasi.TRAP_EXIT
    assert "trapped" in ran.stderr


# --- the target, from rustc's facts ---------------------------------------------------------


def test_wasm32_wasip1_is_a_wasi_target_from_rustcs_facts(wasip1: FakeRustc,
                                                          tmp_path: Path) -> None:
    [target] = resolve("wasm32-wasip1")
    assert "--print cfg --target wasm32-wasip1" in wasip1.calls
    assert (target.os, target.libc, target.linkage, target.linker, target.in_table) == (
        "wasi", "wasi", "static", "zig", False)
    assert (target.arch.rust, target.arch.endian, target.arch.elf_class) == (
        "wasm32", "little", 32)
    assert target.tags == ("wasi", "static", "wasm32")
    platform = platform_of(target)
    assert platform is wasi
    assert (platform.exe_suffix, platform.archive_suffix, platform.binary_format) == (
        ".wasm", ".tar.gz", "wasm")
    assert platform.cargo_runner(target)[1:] == ["-m", "tooling.cli.wasi_runner"]
    link = linkers.plan(target, "zig", tmp_path)
    env = link.cargo_env(target)
    # rustc links with its own rust-lld; the cc crate compiles C with zig for wasm32-wasi
    assert "CARGO_TARGET_WASM32_WASIP1_LINKER" not in env and link.present()
    assert env["CC_wasm32_wasip1"] == link.cc and "zigcc-wasm32-wasip1" in link.cc
    assert link.zig_target == "wasm32-wasi"
    assert "-target wasm32-wasi " in next(s.body for s in link.scripts if s.path == Path(
        link.cc))
    assert link.describe() == "rust-lld (rustc's own), C by zig"


def test_wasip2_is_a_component_target_and_wasip3_is_not_supported_yet(
        wasip1: FakeRustc) -> None:
    [p1], [p2] = resolve("wasm32-wasip1"), resolve("wasm32-wasip2")
    assert (p2.os, p2.libc, p2.arch.rust) == ("wasi", "wasi", "wasm32")
    assert (wasi.is_component(p1), wasi.is_component(p2)) == (False, True)
    tools = wasi.strip_tools(p2)  # llvm-strip cannot read a component
    assert Path(tools.programs[0]).name == "wasm-tools"
    assert (tools.subcommand, tools.program_flag) == (("strip",), "--all")
    assert wasi.strip_tools(p1).programs[0] == "llvm-strip"
    with pytest.raises(NotSupportedYet) as caught:
        resolve("wasm32-wasip3")
    assert caught.value.step == "compile"
    assert "target_env 'p3' of WASI is not built yet" in caught.value.why


def test_wasip1_threads_is_told_apart_by_rustcs_target_spec(wasip1: FakeRustc) -> None:
    with pytest.raises(NotSupportedYet) as caught:
        resolve("wasm32-wasip1-threads")
    assert caught.value.why.startswith("WASI with threads (wasi-threads")
    assert ("-Zunstable-options --print target-spec-json --target wasm32-wasip1-threads"
            in wasip1.calls)
