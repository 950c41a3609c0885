"""Linux: ELF programs, static with musl (linked by zig) or dynamic with glibc (Debian's gcc,
or zig for a glibc floor), run natively or under qemu-user, with Debian's multiarch
packages for glibc targets. musl vs glibc is this module's business."""

from __future__ import annotations

import platform
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from tooling.errors import ToolMissing
from tooling.matrix.host import Host, installs_with_apt
from tooling.matrix.targets import Os, Target
from tooling.platforms.base import (
    BinaryFormat,
    GccLink,
    Packages,
    StripTools,
    TestRunner,
    ZigLink,
    strip_programs,
)
from tooling.util import proc, versions

name: Os = "linux"
binary_format: BinaryFormat = "elf"
exe_suffix = ""
archive_suffix = ".tar.gz"
module_suffix = ".so"
links_python_dll = False


# --- linking ---------------------------------------------------------------------------

def zig_target(target: Target) -> str:
    """``aarch64-linux-musl``, ``arm-linux-gnueabihf``; with a glibc floor ``….2.17``."""
    zig = f"{target.arch.zig_arch}-linux-{target.abi_suffix}"
    return f"{zig}.{target.glibc}" if target.glibc else zig


def zig_link(target: Target) -> ZigLink:
    # zig brings musl's crt objects; rustc's self-contained ones would clash.
    flags = ("-C", "link-self-contained=no") if target.libc == "musl" else ()
    return ZigLink(target=zig_target(target), rustflags=flags)


def gcc_link(target: Target) -> GccLink:
    """The host's gcc for its own glibc target, else Debian's cross gcc and glibc."""
    native = target.runs_natively()
    gcc = "gcc" if native and target.libc == "gnu" else target.gcc
    ar = "ar" if native and target.libc == "gnu" else f"{target.arch.gnu_prefix}-ar"
    if gcc == "gcc":
        return GccLink(gcc=gcc, ar=ar, packages=("gcc",), gxx="g++", gxx_packages=("g++",),
                       ranlib="ranlib")
    prefix = target.arch.gnu_prefix
    # None: no Debian port, or none of its cross packages: no package brings its gcc
    deb = target.arch.deb_arch if target.arch.debian_cross else None
    return GccLink(gcc=gcc, ar=ar, gxx=f"{prefix}-g++", ranlib=f"{prefix}-ranlib",
                   packages=(f"gcc-{prefix}", f"libc6-dev-{deb}-cross") if deb else (),
                   gxx_packages=(f"g++-{prefix}",) if deb else (), sysroot=target.gnu_sysroot)


def rustflags(target: Target) -> tuple[str, ...]:
    return ()


def build_settings(target: Target) -> dict[str, str]:
    return {}


def cdylib_unsupported(target: Target, flags: Sequence[str]) -> str | None:
    """musl targets link statically (crt-static), and rustc refuses a shared library there
    unless the user turned crt-static off."""
    if target.libc == "musl" and "target-feature=-crt-static" not in " ".join(flags):
        return "musl targets link statically (crt-static); no shared libraries"
    return None


def cmake_system(target: Target) -> tuple[str, str]:
    return "Linux", target.arch.target_arch


def link_hint(target: Target, stderr: str, where: str) -> str | None:
    return None


def strip_tools(target: Target) -> StripTools:
    return StripTools(programs=strip_programs(target.arch.gnu_prefix, target),
                      package=f"binutils-{target.arch.gnu_prefix}", library_flag="--strip-all")


# --- running ---------------------------------------------------------------------------

def prefix(target: Target) -> list[str]:
    """The command that runs a Linux binary of ``target`` here (empty: run it directly).

    Dynamic binaries get the cross sysroot's loader (``-L``) and, through
    ``LD_LIBRARY_PATH``, its libc too: without it the loader follows the host's
    ``/etc/ld.so.cache`` to a multiarch ``libc6:<arch>`` (installed beside Debian's
    ``libstd-rust-web-dev:<arch>``) of another build, and the mismatched pair hangs in
    ``pthread_create``, so every threaded program (every ``cargo test``) never finishes."""
    if target.runs_natively() and (target.libc == "musl" or Path(
            "/" + target.arch.gnu_loader).exists()):
        return []
    argv = [target.arch.qemu]
    if not target.is_static:
        argv += ["-L", target.gnu_sysroot, "-E", f"LD_LIBRARY_PATH={target.gnu_sysroot}/lib"]
    return argv


def cannot_run(target: Target) -> str | None:
    """qemu-user runs every architecture of the table: where setup installs Debian packages a
    missing qemu (or cross glibc) is installed, so only a host without apt says so here."""
    argv = prefix(target)
    if not argv:
        return None
    loader = Path(target.gnu_sysroot) / target.arch.gnu_loader
    if not target.is_static and not target.arch.debian_cross and not loader.exists():
        return (f"no {target.arch.rust} glibc at {target.gnu_sysroot} for qemu: Debian 12 has "
                f"no {target.arch.gnu_prefix} cross glibc (a musl triple of it runs)")
    if installs_with_apt():
        return None
    if proc.which(argv[0]) is None:
        return f"no {argv[0]} here (install qemu-user)"
    if not target.is_static and not loader.exists():
        return (f"no {target.arch.rust} glibc at {target.gnu_sysroot} here (install the "
                f"{target.arch.gnu_prefix} cross C library there)")
    return None


def describe_runner(target: Target) -> str:
    argv = prefix(target)
    return " ".join(argv) if argv else "native"


def run_program(target: Target) -> str | None:
    argv = prefix(target)
    return argv[0] if argv else None


def cargo_runner(target: Target) -> list[str]:
    return prefix(target)


def run(target: Target, binary: Path, args: Sequence[str], cache_dir: Path) -> proc.Result:
    argv = [*prefix(target), str(binary), *args]
    hint = None
    if argv[0] == target.arch.qemu and proc.which(argv[0]) is None:
        hint = f"run `inv setup --target {target.name}` (installs qemu-user)"
    return proc.run(argv, bound="run", check=False, what=f"running {binary.name}", hint=hint)


def test_runner(target: Target, cache_dir: Path, environ: Mapping[str, str]) -> TestRunner:
    """qemu as cargo's runner, with one test thread unless the user chose (emulated threads
    are slow, and libtest starts one per CPU)."""
    argv = prefix(target)
    if not argv:
        return TestRunner(command=None, describe="native")
    if proc.which(argv[0]) is None:
        raise ToolMissing(f"{argv[0]} is not installed, so {target.name} tests cannot run",
                          f"run `inv setup --target {target.name}` (installs qemu-user)")
    command = shlex.join(argv)
    if "RUST_TEST_THREADS" in environ:
        return TestRunner(command=command, describe=command, notes=(
            f"RUST_TEST_THREADS={environ['RUST_TEST_THREADS']} (yours) under qemu",))
    return TestRunner(command=command, describe=command, env={"RUST_TEST_THREADS": "1"},
                      notes=("RUST_TEST_THREADS=1: one test thread under qemu "
                             "(set RUST_TEST_THREADS to choose)",))


def python_mismatch(target: Target) -> str | None:
    """A module links the C library of its target: this Python's must be the same."""
    if target.libc != "gnu":
        return "a musl module; this Python is glibc's"
    if platform.libc_ver()[0] != "glibc":
        return "a glibc module; this Python's C library is not glibc"
    return None


# --- the build machine and installing ------------------------------------------------------

def debian_libraries(target: Target) -> bool:
    """Debian's libraries are glibc's: their ``<pkg>-dev:<arch>`` serve gnu targets only."""
    return target.libc == "gnu"


def debian_packages(target: Target, linker: str) -> Packages:
    native = target.runs_natively()
    arches: list[str] = []
    packages: list[str] = []
    std: list[str] = []
    if not native:
        packages.append("qemu-user")
        if target.arch.debian_cross:
            packages.append(f"binutils-{target.arch.gnu_prefix}")
    if linker == "gcc":
        packages += gcc_link(target).packages
    if target.debian_std_possible and not native:
        arches.append(target.arch.deb)
        std.append(f"libstd-rust-web-dev:{target.arch.deb}")
    if target.libc == "gnu" and not native and target.arch.debian_cross:
        # the target's glibc, for running and for ldd under qemu
        packages.append(f"libc6-dev-{target.arch.deb_arch}-cross")
    return Packages(arches=tuple(arches), packages=tuple(packages), std=tuple(std))


def fits_host(target: Target, host: Host, highest_glibc: str | None) -> tuple[bool, str]:
    if host.arch is None or host.arch.rust != target.arch.rust:
        return False, f"needs {target.arch.rust}, this is {host.describe()}"
    if target.is_static:
        return True, "static: runs on any Linux of this architecture"
    if host.libc != "gnu" or host.glibc is None:
        return False, f"needs glibc, this userland is {host.libc}"
    if highest_glibc and versions.parse(highest_glibc) > versions.parse(host.glibc):
        return False, f"needs glibc {highest_glibc}, this machine has {host.glibc}"
    return True, f"glibc {host.glibc} ≥ {highest_glibc or 'any'}"


def preference(target: Target, host: Host | None) -> tuple[bool, ...]:
    """Lowest first: a build for this userland's libc, a glibc-floored one before one
    without; with no host to ask, the static build."""
    if host is None:
        return (target.libc != "musl",)
    return (target.libc != host.libc, target.glibc is None)


def scratch_image(target: Target) -> bool:
    """A ``FROM scratch`` image runs a static binary: it needs nothing from the image."""
    return target.is_static
