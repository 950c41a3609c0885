"""CMake and bindgen under cross builds: a CMake toolchain file per target, named by
``CMAKE_TOOLCHAIN_FILE_<triple>``, and ``BINDGEN_EXTRA_CLANG_ARGS_<triple>``.

The cmake crate reads ``CMAKE_TOOLCHAIN_FILE`` as ``<name>_<triple>`` (the triple as given,
then with underscores), ``TARGET_<name>``, then ``<name>``; bindgen reads its extra clang
arguments the same way without ``TARGET_``. Without a toolchain file the cmake crate
guesses the system, and CMake then searches this machine's libraries and headers; with
one it passes no compilers of its own, so the file names them all: the target's C and C++
compilers (zig's wrappers or Debian's cross gcc/g++), ar and ranlib, and finds libraries,
headers and packages only under the target's root.

Per-target variables only, and none for the host's own triple (build scripts and
proc-macros are host units: whatever they see must be the same in every target's call).
What the user set wins: one of these variables in the environment or in the target's
``env`` setting and crossmatrix sets none of its own.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tooling.compile.linkers import LinkerPlan
from tooling.matrix.targets import Target
from tooling.platforms import platform_of
from tooling.util import memo, proc, scripts
from tooling.util.scripts import Script

TOOLCHAIN = "CMAKE_TOOLCHAIN_FILE"
BINDGEN = "BINDGEN_EXTRA_CLANG_ARGS"

#: clang's name of an architecture where Rust's differs (bindgen maps it the same way)
_CLANG_ARCH = {"riscv64gc": "riscv64"}


@dataclass(frozen=True)
class CrossEnv:
    """What a target's cargo call gets for CMake and bindgen, and the files to write first."""

    env: dict[str, str]
    scripts: tuple[Script, ...] = ()


def user_set(name: str, target: Target, environ: Mapping[str, str], *,
             target_prefix: bool = True) -> bool:
    """The user named ``name`` for this target's build scripts (any spelling they read)."""
    keys = [f"{name}_{target.triple}", f"{name}_{target.cc_key}", name]
    if target_prefix:
        keys.append(f"TARGET_{name}")
    return any(key in environ for key in keys)


def clang_triple(target: Target) -> str:
    arch = target.arch.rust
    return target.triple.replace(arch, _CLANG_ARCH.get(arch, arch), 1)


def find_roots(target: Target, link: LinkerPlan, cache_dir: Path) -> list[str]:
    """Where CMake's find_* look for the target's files: the cross gcc's sysroot, and "/"
    too where Debian's multiarch ``-dev:<arch>`` packages serve the target (their
    ``/usr/lib/<triplet>``, CMake's library architecture, and ``/usr/include``). zig brings
    its C library and nothing of this machine's is the target's: a root that holds nothing."""
    roots = [link.sysroot] if link.sysroot else []
    if roots and platform_of(target).debian_libraries(target):
        roots.append("/")
    return roots or [str(cache_dir / "wrappers" / "no-sysroot")]


def _cmake_str(value: str) -> str:
    return '"' + value.replace("\\", "/").replace('"', '\\"') + '"'


def toolchain_file(target: Target, link: LinkerPlan, cache_dir: Path) -> str:
    """The CMake toolchain file's text for ``target`` linked by ``link``."""
    system, processor = platform_of(target).cmake_system(target)
    cxx = link.cxx or link.cc
    roots = ";".join(find_roots(target, link, cache_dir))
    lines = [
        f"# written by crossmatrix for {target.triple} ({link.describe()})",
        f"set(CMAKE_SYSTEM_NAME {system})",
        f"set(CMAKE_SYSTEM_PROCESSOR {processor})",
        f"set(CMAKE_C_COMPILER {_cmake_str(link.cc)})",
        f"set(CMAKE_CXX_COMPILER {_cmake_str(cxx)})",
        f"set(CMAKE_ASM_COMPILER {_cmake_str(link.cc)})",
        f"set(CMAKE_AR {_cmake_str(link.ar)} CACHE FILEPATH \"\" FORCE)",
        *([f"set(CMAKE_RANLIB {_cmake_str(link.ranlib)} CACHE FILEPATH \"\" FORCE)"]
          if link.ranlib else []),
        f"set(CMAKE_FIND_ROOT_PATH {_cmake_str(roots)})",
        "set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)",
        "set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)",
        "set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)",
        "set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)",
    ]
    return "\n".join(lines) + "\n"


def zig_includes(zig_target: str) -> list[str]:
    """zig's C library headers for its ``-target`` (``zig libc -target … -includes``), the
    folders its clang searches after its own; remembered per zig version and target."""
    argv = [scripts.python(), "-m", "ziglang", "libc", "-target", zig_target, "-includes"]

    def ask() -> tuple[list[str], list[Path]]:
        res = proc.run(argv, bound="tool", echo=False, check=False)
        folders = [line.strip() for line in res.stdout.splitlines() if line.strip()] \
            if res.ok else []
        return folders, [Path(f) for f in folders]

    found: list[str] = memo.remember("zig-libc-includes", argv, [], ask)
    return found


def bindgen_args(target: Target, link: LinkerPlan) -> list[str]:
    """libclang's arguments for the target's headers: its clang triple, and the target's
    C library headers (zig's for zig, the cross gcc's sysroot ``include`` for gcc)."""
    args = [f"--target={clang_triple(target)}"]
    if link.zig_target:
        for folder in zig_includes(link.zig_target):
            args += ["-isystem", folder]
    elif link.sysroot:
        args += ["-isystem", f"{link.sysroot}/include"]
    return args


def plan(target: Target, link: LinkerPlan, cache_dir: Path, environ: Mapping[str, str],
         host: str) -> CrossEnv:
    """The target's CMake and bindgen variables and the toolchain file they name (planned,
    not written). ``environ``: what its build scripts see (this process's environment and
    the target's ``env``); ``host``: the compiler's host triple, which gets nothing."""
    if target.triple == host or link.kind == "custom" or not link.cc:
        return CrossEnv({})  # no C toolchain (rust-lld on bare metal): nothing to point at
    env: dict[str, str] = {}
    written: list[Script] = []
    if not user_set(TOOLCHAIN, target, environ):
        script = scripts.wrapper(cache_dir, f"cmake-{target.triple}",
                                 toolchain_file(target, link, cache_dir), suffix=".cmake",
                                 mode=0o644)
        written.append(script)
        env[f"{TOOLCHAIN}_{target.cc_key}"] = str(script.path)
    if not user_set(BINDGEN, target, environ, target_prefix=False):
        env[f"{BINDGEN}_{target.cc_key}"] = shlex.join(bindgen_args(target, link))
    return CrossEnv(env, tuple(written))
