"""macOS: Mach-O programs linked by zig (with libSystem's stubs; code that links Apple
frameworks needs an SDK in SDKROOT) for a minimum macOS, stripped by llvm-strip. Nothing
runs Mach-O programs on Linux: they are verified structurally, not run."""

from __future__ import annotations

import os
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
from tooling.util import proc

name: Os = "macos"
binary_format: BinaryFormat = "macho"
exe_suffix = ""
archive_suffix = ".tar.gz"
module_suffix = ".so"
links_python_dll = False

#: rustc's own default minimum macOS per architecture (`rustc --print deployment-target`)
DEFAULT_MIN = {"aarch64": "11.0", "x86_64": "10.12"}
_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?$")
#: llvm-strip re-signs the ad-hoc signature of arm64 Mach-O files it changes.
LLVM_STRIPS = ("llvm-strip", "llvm-strip-19", "llvm-strip-16", "llvm-strip-15", "llvm-strip-14")
_APPLE_MISSING = re.compile(
    r'unable to find (?:system )?framework "([\w.+-]+)"|framework not found ([\w.+-]+)'
    r'|unable to find (?:system )?library "?-?l?([\w.+-]+)"?|library not found for -l([\w.+-]+)')


def deployment_target(target: Target) -> str:
    """MACOSX_DEPLOYMENT_TARGET when set (as rustc and the cc crate read it), else rustc's
    default for the architecture."""
    value = os.environ.get("MACOSX_DEPLOYMENT_TARGET", "").strip()
    if not value:
        return DEFAULT_MIN.get(target.arch.rust, "11.0")
    if not _VERSION.match(value):
        raise UsageError(f"MACOSX_DEPLOYMENT_TARGET={value!r} is not a macOS version",
                         "set it like 11.0 (or unset it for rustc's default)")
    return value


# --- linking ---------------------------------------------------------------------------

def zig_target(target: Target) -> str:
    # the version is the minimum macOS written into the binary
    return f"{target.arch.zig_arch}-macos.{deployment_target(target)}-none"


def zig_link(target: Target) -> ZigLink:
    # rustc, the cc crate and zig agree on the minimum macOS
    return ZigLink(target=zig_target(target),
                   env={"MACOSX_DEPLOYMENT_TARGET": deployment_target(target)})


def gcc_link(target: Target) -> GccLink:
    raise UsageError(f"linker 'gcc' cannot link {target.name}",
                     "remove its linker setting: macOS targets link with zig")


def rustflags(target: Target) -> tuple[str, ...]:
    """rustc strips Mach-O with ``rust-objcopy``, which only rustup ships; crossmatrix
    strips in its own step instead (with an llvm-strip that keeps the arm64 ad-hoc
    signature valid)."""
    return ("-C", "strip=none")


def build_settings(target: Target) -> dict[str, str]:
    """The minimum macOS: the binary records it, so verifying depends on it."""
    return {"macos": deployment_target(target)}


def cdylib_unsupported(target: Target, flags: Sequence[str]) -> str | None:
    return None


def cmake_system(target: Target) -> tuple[str, str]:
    arch = target.arch.target_arch
    return "Darwin", "arm64" if arch == "aarch64" else arch


#: clang (zig cc) compiling a build script's C: a header it has not (jemalloc's sys/syscall.h)
_HEADER_MISSING = re.compile(r"fatal error: '([\w/.+-]+\.h)' file not found")


def link_hint(target: Target, stderr: str, where: str) -> str | None:
    apple = _APPLE_MISSING.search(stderr)
    if not apple:
        header = _HEADER_MISSING.search(stderr)
        if header is None:
            return None
        sdk = os.environ.get("SDKROOT")
        if sdk:
            return (f"{header[1]} is not in SDKROOT={sdk} (a build script's C includes it): "
                    "point SDKROOT at a full macOS SDK, or give that crate its library")
        return (f"{header[1]} is not among zig's macOS headers (a build script's C includes "
                "it): an Apple header needs a macOS SDK (set SDKROOT to MacOSX.sdk from "
                "Xcode or its Command Line Tools); a library's, that library for macOS")
    missing = next(g for g in apple.groups() if g)
    sdk = os.environ.get("SDKROOT")
    if sdk:
        return f"{missing} is not in SDKROOT={sdk}: point SDKROOT at a full macOS SDK"
    return (f"{missing} is an Apple framework or library that zig's macOS stubs lack: "
            "set SDKROOT to a macOS SDK (MacOSX.sdk from Xcode or its Command Line "
            "Tools) and build again")


def strip_tools(target: Target) -> StripTools:
    # a library loses only its local symbols (-x): its exports are what the program loading
    # it looks up (--strip-all drops _PyInit_* from a dylib)
    return StripTools(programs=LLVM_STRIPS, package="llvm", library_flag="-x")


# --- running ---------------------------------------------------------------------------

def cannot_run(target: Target) -> str | None:
    if target.runs_natively():
        return None
    return "no macOS here: nothing runs Mach-O programs on Linux"


def describe_runner(target: Target) -> str:
    return "native" if target.runs_natively() else "none"


def run_program(target: Target) -> str | None:
    return None


def cargo_runner(target: Target) -> list[str]:
    return []


def run(target: Target, binary: Path, args: Sequence[str], cache_dir: Path) -> proc.Result:
    reason = cannot_run(target)
    if reason:
        raise StepFailed(f"{binary.name} cannot run here: {reason}")
    return proc.run([str(binary), *args], bound="run", check=False,
                    what=f"running {binary.name}")


def test_runner(target: Target, cache_dir: Path,
                environ: Mapping[str, str]) -> TestRunner | None:
    return None if cannot_run(target) else TestRunner(command=None, describe="native")


def python_mismatch(target: Target) -> str | None:
    return None


# --- the build machine and installing ------------------------------------------------------

def debian_libraries(target: Target) -> bool:
    return False


def debian_packages(target: Target, linker: str) -> Packages:
    return Packages(packages=("llvm",))  # llvm-strip: strips Mach-O and re-signs arm64


# deploy installs on Linux only
fits_host = never_fits
preference = no_preference
scratch_image = no_scratch_image
