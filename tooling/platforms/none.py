"""Bare metal (rustc's ``target_os = "none"``): static ELF images of ``#![no_std]`` crates
(core and alloc), linked by rustc's own lld as the targets' specs name it, stripped by
llvm-strip. No operating system, so no runner here: the images are verified structurally,
not run (a board, or qemu-system with a memory map and semihosting, would run them). No C
compiler is set up: the cc crate falls back to its own guess (``arm-none-eabi-gcc``)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from tooling.errors import StepFailed, UsageError
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
from tooling.std.compiler import rust_lld
from tooling.util import proc

name: Os = "none"
binary_format: BinaryFormat = "elf"
exe_suffix = ""
archive_suffix = ".tar.gz"
module_suffix = ".so"
links_python_dll = False

#: llvm-strip reads every architecture LLVM targets (no binutils per bare-metal arch)
LLVM_STRIPS = ("llvm-strip", "llvm-strip-19", "llvm-strip-16", "llvm-strip-15", "llvm-strip-14")
_NO_STD = re.compile(r"can't find crate for `std`")
#: cargo names the crate that needs std, else the one that failed
_WHICH_CRATE = re.compile(r"`std` is required by `([\w.+-]+)`|could not compile `([\w.+-]+)`")


# --- linking ---------------------------------------------------------------------------

def zig_target(target: Target) -> str:
    return f"{target.arch.zig_arch}-freestanding"


def zig_link(target: Target) -> ZigLink:
    raise UsageError(f"linker 'zig' is not set up for {target.name} (bare metal)",
                     "remove its linker setting: bare-metal targets link with rustc's rust-lld")


def gcc_link(target: Target) -> GccLink:
    raise UsageError(f"linker 'gcc' is not set up for {target.name} (bare metal)",
                     "remove its linker setting: bare-metal targets link with rustc's rust-lld")


def rustflags(target: Target) -> tuple[str, ...]:
    return ()


def build_settings(target: Target) -> dict[str, str]:
    return {}


def cdylib_unsupported(target: Target, flags: Sequence[str]) -> str | None:
    return "bare metal has no dynamic loader, so no shared libraries"


def cmake_system(target: Target) -> tuple[str, str]:
    return "Generic", target.arch.target_arch


def link_hint(target: Target, stderr: str, where: str) -> str | None:
    """A crate that needs std, built for a target that has none: the one fix."""
    if not _NO_STD.search(stderr):
        return None
    crate = _WHICH_CRATE.search(stderr)
    who = f"{crate[1] or crate[2]} needs" if crate else "a crate of the build needs"
    return (f"{who} std, and {target.triple} (bare metal) has only core and alloc: make it "
            "#![no_std] (with #![no_main] and a #[panic_handler] for a program), or leave "
            f"it out of {target.name}'s packages")


def strip_tools(target: Target) -> StripTools:
    return StripTools(programs=LLVM_STRIPS, package="llvm", library_flag="--strip-all")


# --- running ---------------------------------------------------------------------------

def cannot_run(target: Target) -> str | None:
    emulator = target.arch.qemu or "qemu-system"
    return (f"bare metal: no OS loads it here (a board, or {emulator} with its memory map "
            "and semihosting, would)")


def describe_runner(target: Target) -> str:
    return "none"


def run_program(target: Target) -> str | None:
    return None


def cargo_runner(target: Target) -> list[str]:
    return []


def run(target: Target, binary: Path, args: Sequence[str], cache_dir: Path) -> proc.Result:
    raise StepFailed(f"{binary.name} cannot run here: {cannot_run(target)}")


def test_runner(target: Target, cache_dir: Path,
                environ: Mapping[str, str]) -> TestRunner | None:
    return None


def python_mismatch(target: Target) -> str | None:
    return "bare metal: no Python imports a module there"


# --- the build machine and installing ------------------------------------------------------

def debian_libraries(target: Target) -> bool:
    return False


def debian_packages(target: Target, linker: str) -> Packages:
    """llvm-strip; Debian's lld only where no rustup toolchain brings its rust-lld."""
    lld = ("lld",) if linker == "rust-lld" and rust_lld() is None else ()
    return Packages(packages=("llvm", *lld))


# deploy installs on Linux only
fits_host = never_fits
preference = no_preference
scratch_image = no_scratch_image
