"""Windows (windows-gnu): PE programs linked by Debian's MinGW-w64 gcc, packaged as .zip, and
run here under Debian's wine, in a prefix of crossmatrix's own.

Windows on ARM (``aarch64-pc-windows-gnullvm``): linked by zig (``aarch64-windows-gnu``, its
MinGW-w64 and UCRT), stripped by llvm-strip, verified as an ARM64 PE file and not run: Debian
has no MinGW-w64 gcc for it, and this machine's wine runs only its own CPU's programs.

Rust's std (since 1.78) takes its random numbers from ``ProcessPrng`` in
``bcryptprimitives.dll``, which wine gained only in 9.0; Debian 12 ships wine
8.0. When the running wine has no such DLL, crossmatrix builds a shim with the
target's MinGW-w64 gcc (``ProcessPrng`` over advapi32's ``SystemFunction036``,
the RtlGenRandom that wine has), and the binary runs from a scratch folder
beside it, never from the staged folder that gets packaged. What was used is
said in the run's description.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import re
import shlex
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from filelock import FileLock

from tooling.errors import StepFailed, ToolMissing, UsageError
from tooling.matrix.host import installs_with_apt
from tooling.matrix.targets import ARCHES, Arch, Os, Target
from tooling.platforms.base import (
    LLVM_STRIPS,
    BinaryFormat,
    GccLink,
    Packages,
    StripTools,
    TestRunner,
    ZigLink,
    never_fits,
    no_preference,
    no_scratch_image,
    strip_programs,
)
from tooling.util import console, proc, scripts, timeouts

name: Os = "windows"
binary_format: BinaryFormat = "pe"
exe_suffix = ".exe"
archive_suffix = ".zip"  # what Windows users expect
module_suffix = ".pyd"
links_python_dll = True


# --- linking ---------------------------------------------------------------------------

def zig_target(target: Target) -> str:
    return f"{target.arch.zig_arch}-windows-gnu"


def zig_link(target: Target) -> ZigLink:
    return ZigLink(target=zig_target(target))


def gcc_link(target: Target) -> GccLink:
    prefix = target.tool_prefix
    if prefix is None:
        raise UsageError(f"linker 'gcc' cannot link {target.name}: Debian has no MinGW-w64 "
                         f"gcc for {target.arch.rust}",
                         "remove its linker setting: it links with zig")
    return GccLink(gcc=f"{prefix}-gcc", ar=f"{prefix}-ar", ranlib=f"{prefix}-ranlib",
                   packages=(f"gcc-mingw-w64-{target.arch.mingw_deb}-win32",),
                   gxx=f"{prefix}-g++",
                   gxx_packages=(f"g++-mingw-w64-{target.arch.mingw_deb}-win32",),
                   sysroot=f"/usr/{prefix}")


def rustflags(target: Target) -> tuple[str, ...]:
    return ()


def build_settings(target: Target) -> dict[str, str]:
    return {}


def cdylib_unsupported(target: Target, flags: Sequence[str]) -> str | None:
    return None


#: the cmake crate's CMAKE_SYSTEM_PROCESSOR per target_arch (Windows' own spelling)
_CMAKE_PROCESSOR = {"x86_64": "AMD64", "x86": "X86", "aarch64": "ARM64"}


def cmake_system(target: Target) -> tuple[str, str]:
    arch = target.arch.target_arch
    return "Windows", _CMAKE_PROCESSOR.get(arch, arch)


#: a symbol the linker did not find: GNU ld's words (`__imp_Name'), lld's
_UNDEFINED = re.compile(r"undefined (?:reference to [`']|symbol: )([A-Za-z_][\w@$]*)")
#: module definitions that are not a DLL to link: API sets, store apps' umbrella libraries
_NOT_LINKED = re.compile(r"(?:api|ext)-ms-.*|.*_windowsapp|windowsapp.*|onecore.*|umbrella.*")
#: undefined symbols looked up, at most (the first ones the linker named)
_LOOKED_UP = 40


#: a header gcc (``X.h: No such file or directory``) or clang (``'X.h' file not found``)
#: did not find
_HEADER_NOT_FOUND = re.compile(r"fatal error: '?([\w./+-]+\.(?:h|hh|hpp|hxx))'?"
                               r"(?:: No such file or directory| file not found)")


def link_hint(target: Target, stderr: str, where: str) -> str | None:
    return _header_case(target, stderr, where) or _unlinked_dlls(target, stderr, where)


def _header_case(target: Target, stderr: str, where: str) -> str | None:
    """A header named as on Windows, whose file names ignore case (``PowrProf.h``), that
    MinGW-w64 ships in another case (``powrprof.h``): Linux's file names do not."""
    for header in dict.fromkeys(_HEADER_NOT_FOUND.findall(stderr)):
        real = next((f"{folder}/{name}" for folder in _include_dirs(target)
                     if (name := _header_names(folder).get(header.lower())) and
                     name != header), None)
        if real:
            return (f"{header} is {real} here: a build script's C includes it as on Windows, "
                    "whose file names ignore case, and Linux's do not (the crate's bug: the "
                    "#include's case); a folder with a link of that name to it, named by -I "
                    f"in CFLAGS_{target.cc_key} and CXXFLAGS_{target.cc_key} (the env of "
                    f"{where}), works around it")
    return None


def _include_dirs(target: Target) -> tuple[Path, ...]:
    """MinGW-w64's headers: Debian's for the target, zig's (``any-windows-any``)."""
    lib, zig = mingw_lib_dir(target), _zig_libc()
    folders = [*([lib.parent / "include"] if lib else []),
               *([zig / "include" / "any-windows-any"] if zig else [])]
    return tuple(folder for folder in folders if folder.is_dir())


def _zig_libc() -> Path | None:
    """zig's libc folder (its MinGW-w64 headers and module definitions); None: no ziglang."""
    import importlib.util  # ziglang only where zig is asked about

    spec = importlib.util.find_spec("ziglang")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "lib" / "libc"


@functools.cache
def _header_names(folder: Path) -> dict[str, str]:
    """Its headers, two folders deep, by their lower-case path."""
    names = [p.relative_to(folder).as_posix() for pattern in ("*", "*/*")
             for p in folder.glob(pattern) if p.is_file()]
    return {name.lower(): name for name in names}


def _unlinked_dlls(target: Target, stderr: str, where: str) -> str | None:
    """Windows functions no import library was linked for: the DLL that exports each, from
    MinGW-w64's module definitions (zig's copy), and the ``-l`` that links it (a build
    script that asks ``cfg!(windows)``, the build machine's, instead of
    ``CARGO_CFG_TARGET_OS`` names no Windows libraries when it cross-compiles)."""
    names = list(dict.fromkeys(_undecorated(target, m) for m in _UNDEFINED.findall(stderr)))
    found = {name: dlls for name in names[:_LOOKED_UP] if (dlls := exporting(target, name))}
    if not found:
        return None
    libraries = sorted({dlls[0] for dlls in found.values()})
    shown = ", ".join(f"{name} ({dlls[0]}.dll)" for name, dlls in list(found.items())[:4])
    more = f" and {len(found) - 4} more" if len(found) > 4 else ""
    flags = ", ".join(f'"-l", "{library}"' for library in libraries)
    rest = len(names) - len(found)
    others = (f"; {rest} other undefined symbol{'s' if rest > 1 else ''} no Windows DLL "
              "exports") if rest > 0 else ""
    return (f"Windows functions whose DLL nothing links for {target.triple}: {shown}{more}"
            f"{others}. A build script did not name the libraries (one that asks cfg!(windows), "
            "the build machine, instead of CARGO_CFG_TARGET_OS: its bug); link them with "
            f"rustflags = [{flags}] in {where}")


def _undecorated(target: Target, symbol: str) -> str:
    """``__imp_CallNtPowerInformation``, 32-bit x86's ``_imp__CallNtPowerInformation@20``
    and ``_CallNtPowerInformation@20``: the name a module definition exports."""
    for prefix in ("__imp_", "_imp__"):
        if symbol.startswith(prefix):
            symbol = symbol.removeprefix(prefix)
            break
    else:
        if target.arch.target_arch == "x86":  # cdecl and stdcall names carry one more _
            symbol = symbol.removeprefix("_")
    return symbol.split("@", 1)[0]


def exporting(target: Target, symbol: str) -> tuple[str, ...]:
    """The libraries (``powrprof``: ``-l powrprof``, powrprof.dll) whose module definition
    exports ``symbol`` (undecorated; a ``.def.in``'s ``F_X86_ANY(Name@4)`` counts)."""
    line = re.compile(rf"^[^;\n]*\b{re.escape(symbol)}(?:@\d+)?\b", re.M)
    return tuple(dict.fromkeys(stem for stem, text in _module_definitions(zig_def_dirs(target))
                               if line.search(text)))


@functools.cache
def _module_definitions(folders: tuple[Path, ...]) -> tuple[tuple[str, str], ...]:
    """(library, text) of each module definition of a DLL to link, the architecture's own
    folder last (the same library in both: each is searched)."""
    found = []
    for folder in folders:
        for path in sorted(folder.glob("*.def*")):
            stem = path.name.split(".def", 1)[0].lower()
            if path.suffix in (".def", ".in") and not _NOT_LINKED.fullmatch(stem):
                found.append((stem, path.read_text(errors="replace")))
    return tuple(found)


def mingw_lib_dir(target: Target) -> Path | None:
    """Where Debian's MinGW-w64 (``mingw-w64-<arch>-dev``) keeps the target's import
    libraries, ``/usr/x86_64-w64-mingw32/lib``: one ``lib<name>.a`` per Windows DLL (None:
    Debian has no MinGW-w64 for the architecture)."""
    return Path("/usr") / target.tool_prefix / "lib" if target.tool_prefix else None


#: zig's copy of MinGW-w64's module definitions, one ``<dll>.def`` per Windows DLL it makes
#: an import library of: ``lib-common`` for every architecture, then the architecture's own
_ZIG_DEF_DIRS = {"aarch64": "libarm64", "x86_64": "lib64", "x86": "lib32", "arm": "libarm32"}


def zig_def_dirs(target: Target) -> tuple[Path, ...]:
    """The folders of zig's MinGW-w64 ``.def`` files for the target (those that exist)."""
    zig = _zig_libc()
    if zig is None:
        return ()
    mingw = zig / "mingw"
    folders = [mingw / "lib-common", mingw / _ZIG_DEF_DIRS.get(target.arch.target_arch, "")]
    return tuple(folder for folder in folders if folder != mingw and folder.is_dir())


def strip_tools(target: Target) -> StripTools:
    if target.tool_prefix is None:  # LLVM's strip reads ARM64 PE files; binutils' here do not
        return StripTools(programs=LLVM_STRIPS, package="llvm", library_flag="--strip-all")
    return StripTools(programs=strip_programs(target.tool_prefix, target),
                      package=f"binutils-mingw-w64-{target.arch.mingw_deb}",
                      library_flag="--strip-all")


# --- the build machine and installing ------------------------------------------------------

def python_mismatch(target: Target) -> str | None:
    return None


def debian_libraries(target: Target) -> bool:
    return False


def debian_packages(target: Target, linker: str) -> Packages:
    if target.arch.mingw_deb is None:  # zig links it, and nothing runs it here
        return Packages(packages=("llvm",))
    packages = (f"gcc-mingw-w64-{target.arch.mingw_deb}-win32", "wine", "wine64")
    if target.arch.elf_class == 32:  # 32-bit programs need wine's i386 half
        return Packages(packages=packages, optional=("wine32:i386",), optional_arches=("i386",))
    return Packages(packages=packages)


# deploy installs on Linux only
fits_host = never_fits
preference = no_preference
scratch_image = no_scratch_image


# --- running: wine -----------------------------------------------------------------------

SHIM_DLL = "bcryptprimitives.dll"
SHIM_SOURCE = """\
/* written by crossmatrix: ProcessPrng for wine < 9.0, over RtlGenRandom */
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
"""
#: where Debian's wine keeps its own DLLs, per PE architecture
_BUILTIN_DIRS = (
    "/usr/lib/{multiarch}/wine/{pe}-windows", "/usr/lib/wine/{pe}-windows",
    "/opt/wine-stable/lib/wine/{pe}-windows", "/opt/wine-stable/lib64/wine/{pe}-windows",
)


def pe_arch(target: Target) -> str:
    return _pe(target.arch)


#: wine's name of a PE architecture (its ``<arch>-windows`` folders), by rustc's target_arch
_WINE_ARCH = {"x86_64": "x86_64", "x86": "i386", "aarch64": "aarch64", "arm": "arm"}
#: the PE architectures Debian's wine runs on a machine of each CPU (wine64 + wine32 on x86_64)
_WINE_RUNS = {"x86_64": ("x86_64", "i386"), "x86": ("i386",), "aarch64": ("aarch64",)}


def _pe(arch: Arch) -> str:
    return _WINE_ARCH.get(arch.target_arch, arch.target_arch)


def _wine_runs_here(target: Target) -> str | None:
    """Why no wine can run the target's programs on this machine's CPU (None: one can)."""
    machine = platform.machine().lower()
    host = next((a.target_arch for a in ARCHES if machine in a.host_machines), machine)
    if pe_arch(target) in _WINE_RUNS.get(host, ()):
        return None
    return (f"no {pe_arch(target)} Windows here: wine on this {machine} machine runs "
            f"{' and '.join(_WINE_RUNS.get(host, ())) or 'no'} programs only")


def wine_program(target: Target) -> str:
    """``wine`` runs both 32- and 64-bit programs when wine32 is installed beside wine64."""
    found = proc.which("wine")
    if found is None:
        raise ToolMissing("wine is not installed, so Windows binaries cannot run here",
                          f"run `inv setup --target {target.name}` (installs Debian's wine)")
    if pe_arch(target) == "i386" and not _builtin_dir(target.arch):
        raise ToolMissing(f"wine cannot run 32-bit programs here ({target.name})",
                          "install wine32:i386 (`inv setup --target windows-x86` does)")
    return found


@functools.cache
def _builtin_dir(arch: Arch) -> Path | None:
    for pattern in _BUILTIN_DIRS:
        folder = Path(pattern.format(multiarch=arch.multiarch, pe=_pe(arch)))
        if (folder / "kernel32.dll").is_file():
            return folder
    return None


def needs_shim(target: Target) -> bool:
    folder = _builtin_dir(target.arch)
    return folder is not None and not (folder / SHIM_DLL).is_file()


def env(prefix: Path) -> dict[str, str]:
    return {
        "WINEPREFIX": str(prefix),
        "WINEDEBUG": "-all",
        # no Mono/Gecko installer dialogs when the prefix is made
        "WINEDLLOVERRIDES": "mscoree,mshtml=",
        "DISPLAY": "",
    }


def prefix_dir(cache_dir: Path) -> Path:
    return cache_dir / "wine" / "prefix"


def shim(target: Target, cache_dir: Path) -> Path:
    """The ProcessPrng shim for ``target``'s architecture, built once per source."""
    digest = hashlib.sha256(SHIM_SOURCE.encode()).hexdigest()[:10]
    folder = cache_dir / "wine" / f"shim-{target.triple}-{digest}"
    dll = folder / SHIM_DLL
    if dll.is_file():
        return dll
    gcc = target.gcc
    if proc.which(gcc) is None:
        raise ToolMissing(f"{gcc} is needed to build wine's ProcessPrng shim",
                          f"run `inv setup --target {target.name}`")
    work = folder.with_name(f".{folder.name}.{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "shim.c").write_text(SHIM_SOURCE)
    # --kill-at: export ProcessPrng, not the stdcall-decorated ProcessPrng@8 (i686)
    proc.run([gcc, "-shared", "-O2", "-s", "-o", str(work / SHIM_DLL), str(work / "shim.c"),
              "-ladvapi32", "-Wl,--kill-at"], bound="tool", what="building wine's ProcessPrng shim")
    try:
        os.replace(work, folder)
    except OSError:  # another process made it first
        shutil.rmtree(work, ignore_errors=True)
    return dll


def describe(target: Target) -> str:
    text = f"wine ({pe_arch(target)})"
    return text + " + ProcessPrng shim" if needs_shim(target) else text


def run(target: Target, binary: Path, args: Sequence[str], cache_dir: Path, *,
        passthrough: bool = False) -> proc.Result:
    """Run ``binary`` under wine from a scratch folder (with the shim when wine needs it),
    bounded as a smoke run.

    ``passthrough``: output goes straight to the terminal and the program runs in the
    caller's folder (cargo test's runner: tests read files relative to their package),
    bounded as ``cargo test`` is."""
    program = wine_program(target)
    kind = "test" if passthrough else "run"
    scratch = cache_dir / "wine" / kind / f"{target.triple}.{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        exe = scratch / binary.name
        shutil.copyfile(binary, exe)
        if needs_shim(target):
            shutil.copyfile(shim(target, cache_dir), scratch / SHIM_DLL)
        prefix = prefix_dir(cache_dir)
        environment = proc.child_env(env(prefix))
        start_server(program, prefix, environment)
        return proc.run([program, str(exe), *args], bound="test" if passthrough else "run",
                        env=environment, cwd=None if passthrough else scratch, check=False,
                        capture=not passthrough, echo=False if passthrough else None,
                        what=f"wine {binary.name}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


#: in the prefix once its first boot finished
BOOTED = ".crossmatrix-booted"

#: seconds the prefix's wineserver outlives its last program: the runs of one step share
#: one server, and it is gone soon after crossmatrix ends
SERVER_LINGER = 10


def start_server(program: str, prefix: Path, environment: Mapping[str, str]) -> None:
    """Make sure the prefix's wineserver runs and outlives each program by
    :data:`SERVER_LINGER` seconds, its services started with their output in a file.

    Left to itself, each ``wine`` started a server that went away 3 s after the program,
    and the services it started kept the captured output pipe open until then: every run
    took ~2.5 s, and a program started while the previous server was going away failed
    about once in 80 runs with "ShellExecuteEx failed: Internal error" (seen in CI).
    Under a lock: the first boot creates the prefix (about 10 s), and :data:`BOOTED` is
    written in it once that boot has finished. Wine keeps no such record: a first boot
    that was killed left a prefix every later run failed in ("could not load
    kernel32.dll"); one without the record is made again."""
    server = proc.which("wineserver", path=environment.get("PATH"))
    prefix.parent.mkdir(parents=True, exist_ok=True)
    log = prefix.parent / "boot.log"
    with FileLock(str(prefix.parent / "prefix.lock")):
        if prefix.exists() and not (prefix / BOOTED).is_file():
            console.warn(f"wine's prefix {prefix} was left half-made; making it again")
            if server is not None:  # its server and services, if they still run
                proc.run([server, "-k"], bound="tool", env=environment, check=False,
                         output=log, echo=False, what="wineserver -k")
            shutil.rmtree(prefix)
        if server is not None:  # exits 2 at once when one runs for this prefix already
            # the server it starts is a session of its own: it outlives this group
            proc.run([server, f"-p{SERVER_LINGER}"], bound="tool", env=environment,
                     check=False, output=log, echo=False, what="wineserver")
        booted = proc.run([program, "wineboot"], bound="tool", env=environment, check=False,
                          output=log, echo=False, what="wineboot (wine's prefix)")
        if booted.ok and not (prefix / BOOTED).is_file():
            (prefix / BOOTED).write_text("written by crossmatrix once wineboot finished\n")
    if not booted.ok:
        raise StepFailed(f"wine could not start its prefix {prefix} (wineboot exited with "
                         f"{booted.returncode}): {booted.tail(1) or 'no output'}",
                         f"delete {prefix} and run again; {log} has wine's output")


def wine_run(target: Target, binary: Path, args: Sequence[str], cache_dir: Path) -> int:
    """Run one test binary under wine (the shim beside it when this wine needs it) in
    cargo's current folder, output passed through. Returns its exit code."""
    return run(target, binary, args, cache_dir, passthrough=True).returncode


def cannot_run(target: Target) -> str | None:
    """Only a reason no package can fix here counts: where setup installs Debian packages a
    missing wine is an error with an install hint instead (:func:`wine_program`); on a host
    without apt it is a recorded "not run" saying what to install."""
    foreign = _wine_runs_here(target)
    if foreign:
        return foreign
    try:
        wine_program(target)
    except ToolMissing as missing:
        if proc.which("wine") is not None:  # wine is there, but not for this arch
            return f"{missing.message}; {missing.hint}"
        if not installs_with_apt():
            return "no wine here (install wine)"
    return None


def describe_runner(target: Target) -> str:
    return describe(target)


def run_program(target: Target) -> str | None:
    return "wine"


def cargo_runner(target: Target) -> list[str]:
    return []  # plain cargo gets no runner: a bare wine lacks the shim and the prefix


def wine_wrapper(target: Target, cache_dir: Path) -> Path:
    """A content-addressed script cargo runs as the runner: ``wrapper TEST_EXE ARGS…``."""
    body = (
        "#!/bin/sh\n"
        "# written by crossmatrix: runs a Windows test binary under wine\n"
        f"exec {shlex.quote(scripts.python())} -m tooling.cli.wine_runner "
        f"{shlex.quote(target.triple)} {shlex.quote(str(cache_dir))} \"$@\"\n"
    )
    return scripts.wrapper(cache_dir, f"wine-test-{target.triple}", body).write()


def test_runner(target: Target, cache_dir: Path, environ: Mapping[str, str]) -> TestRunner:
    """``python -m tooling.platforms.wine`` (through :func:`wine_wrapper`) runs each test
    binary under wine, with the shim when this wine needs it."""
    wine_program(target)
    test_bound = timeouts.env_name("test")  # the runner bounds each test binary like cargo test
    return TestRunner(command=str(wine_wrapper(target, cache_dir)), describe=describe(target),
                      env={test_bound: str(timeouts.current().test)})
