"""Strip foreign binaries with a strip that reads their architecture (the platform's)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tooling.errors import ToolMissing
from tooling.matrix.host import installs_with_apt
from tooling.matrix.targets import Target
from tooling.platforms import platform_of
from tooling.std.compiler import rustup_toolchains
from tooling.util import atomic, proc

#: LLVM's objcopy as rustup's rustc component ships it: it strips ELF,
#: PE and Mach-O alike, in place
RUST_OBJCOPY = "rust-objcopy"


def rustup_objcopy() -> str | None:
    """The first installed rustup toolchain's ``rust-objcopy`` (None: none has one)."""
    for compiler in rustup_toolchains():
        found = compiler.sysroot / "lib" / "rustlib" / compiler.host / "bin" / RUST_OBJCOPY
        if found.is_file():
            return str(found)
    return None


def find_strip(target: Target) -> str:
    """The platform's strip programs, best first; on a host without apt (where setup
    cannot install binutils) rustup's ``rust-objcopy`` after them."""
    tools = platform_of(target).strip_tools(target)
    if not target.arch.debian_cross:  # no Debian binutils: rustup's LLVM before the host's
        objcopy = rustup_objcopy()
        if objcopy is not None:
            return objcopy
    for name in tools.programs:
        if proc.which(name):
            return name
    apt = installs_with_apt()
    objcopy = None if apt else rustup_objcopy()
    if objcopy is not None:
        return objcopy
    fix = (f"run `inv setup --target {target.name}` (installs {tools.package})" if apt
           else f"install {tools.programs[0]} or llvm-strip (Debian's {tools.package})")
    raise ToolMissing(
        f"no strip for {target.arch.rust} binaries (tried {', '.join(tools.programs)})", fix)


def pe_timestamp(path: Path) -> int | None:
    """A PE file's COFF ``TimeDateStamp`` (what its linker wrote); None: not a PE file."""
    try:
        with path.open("rb") as f:
            head = f.read(0x40)
            if len(head) < 0x40 or head[:2] != b"MZ":
                return None
            f.seek(int.from_bytes(head[0x3C:0x40], "little"))
            coff = f.read(12)
    except OSError:
        return None
    if len(coff) < 12 or coff[:4] != b"PE\0\0":
        return None
    return int.from_bytes(coff[8:12], "little")


def strip_copy(target: Target, source: Path, dest: Path, *,
               library: bool = False) -> tuple[int, int]:
    """Copy ``source`` to ``dest`` stripped; return (size before, size after).

    A library is stripped as its platform says (a Mach-O one loses only its local
    symbols, ``-x``: its exports are what the program loading it looks up).

    The stripped file is made beside ``dest`` and renamed over it, so ``dest`` is
    either the old file or the whole new one.
    """
    tool = find_strip(target)
    dest.parent.mkdir(parents=True, exist_ok=True)
    # made under its final name (a Mach-O signature records the file name) in a folder beside
    work = atomic.pid_sibling(dest, "strip")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    tmp = work / dest.name
    shutil.copyfile(source, tmp)
    try:
        tools = platform_of(target).strip_tools(target)
        how = tools.library_flag if library else tools.program_flag
        argv, env = [tool, *tools.subcommand, how, "-o", str(tmp), str(tmp)], None
        stamp = pe_timestamp(source)
        if stamp is not None and not os.environ.get("SOURCE_DATE_EPOCH"):
            # binutils' strip writes the time of the strip into a PE header unless
            # SOURCE_DATE_EPOCH says otherwise: the linker's own stamp is kept, so the same
            # program from cargo strips to the same bytes (and is not checked or run again)
            env = proc.child_env({"SOURCE_DATE_EPOCH": str(stamp)})
        if Path(tool).name == RUST_OBJCOPY:  # in place; its libLLVM is in the toolchain's lib
            lib = str(Path(tool).parents[3])
            argv, env = [tool, how, str(tmp)], proc.child_env(
                {"LD_LIBRARY_PATH": lib, "DYLD_FALLBACK_LIBRARY_PATH": lib})
        proc.run(argv, bound="tool", env=env, what=f"{Path(tool).name} {source.name}")
        tmp.chmod(0o755)
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return source.stat().st_size, dest.stat().st_size
