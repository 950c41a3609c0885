"""WASI (wasm32-wasip1): WebAssembly modules linked by rustc's own self-contained wasm-ld
(``rust-lld``, with the wasi-libc rustup ships beside std), C code compiled by ``zig cc
-target wasm32-wasi`` through the cc crate, stripped by an llvm-strip (or rustup's
rust-objcopy), run under Wasmtime from PyPI, packaged as .tar.gz.

A module runs in a process of its own (``python -m tooling.cli.wasi_runner``), bounded like
every other smoke run: it gets the smoke arguments and no environment, and **nothing is
preopened** (it sees no file system at all); its stdout and stderr are the process's, and
its WASI ``proc_exit`` code is the process's exit code."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tooling.errors import ToolMissing, UsageError
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


def link_hint(target: Target, stderr: str) -> str | None:
    if "undefined symbol" in stderr:
        return ("a C library the crate links is not in wasi-libc (WASI has no sockets, "
                "threads or signals in preview 1): build the crate without that feature")
    return None


def strip_tools(target: Target) -> StripTools:
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
    """Run one WASI preview 1 module in this process under Wasmtime: ``_start`` with argv
    ``[binary name, *args]``, no environment, nothing preopened, stdio inherited. Returns
    its ``proc_exit`` code (0 when ``_start`` returns; :data:`TRAP_EXIT` when it traps)."""
    import wasmtime

    engine = wasmtime.Engine()
    module = wasmtime.Module.from_file(engine, str(binary))
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.argv = [binary.name, *args]
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    store.set_wasi(wasi)
    instance = linker.instantiate(store, module)
    start = instance.exports(store)["_start"]
    if not isinstance(start, wasmtime.Func):
        print(f"error: {binary.name}: _start is not a function", file=sys.stderr)
        return 2
    try:
        start(store)
    except wasmtime.ExitTrap as exit_trap:
        return exit_trap.code
    except wasmtime.Trap as trap:
        print(f"error: {binary.name} trapped: {trap.message}", file=sys.stderr)
        return TRAP_EXIT
    return 0


def python_mismatch(target: Target) -> str | None:
    return "a WASI module; Python cannot import it"


# --- the build machine and installing ------------------------------------------------------

def debian_libraries(target: Target) -> bool:
    return False


def debian_packages(target: Target, linker: str) -> Packages:
    return Packages(packages=("llvm",))  # llvm-strip reads wasm


def fits_host(target: Target, host: Host, highest_glibc: str | None) -> tuple[bool, str]:
    return never_fits(target, host, highest_glibc)


preference = no_preference
scratch_image = no_scratch_image
