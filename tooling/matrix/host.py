"""What the running machine can execute, read from its userland rather than the kernel.

`uname -m` says aarch64 on a 64-bit kernel running a 32-bit armhf userland, and says
nothing about musl vs glibc or which glibc. So the architecture comes from the ELF
header of the running interpreter, the libc from the C library it was linked with.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tooling.matrix.targets import ARCHES, Arch
from tooling.util import proc


@dataclass(frozen=True, kw_only=True)
class Host:
    arch: Arch | None  #: None: an architecture not in the table
    machine: str  #: e_machine of the userland, e.g. EM_AARCH64
    elf_class: int
    libc: str  #: "gnu", "musl" or "unknown"
    glibc: str | None  #: "2.36" on a glibc userland

    def describe(self) -> str:
        arch = self.arch.rust if self.arch else self.machine
        libc = f"glibc {self.glibc}" if self.glibc else self.libc
        return f"{arch} ({self.elf_class}-bit userland, {libc})"


def _elf_header(path: Path) -> tuple[str, int, str | None]:
    from elftools.elf.elffile import ELFFile

    with path.open("rb") as f:
        elf = ELFFile(f)
        machine = str(elf["e_machine"])
        float_abi = None
        if machine == "EM_ARM":
            float_abi = "hard" if elf["e_flags"] & 0x400 else "soft"
        return machine, elf.elfclass, float_abi


def detect(executable: Path | None = None) -> Host:
    exe = Path(executable or os.path.realpath(sys.executable))
    machine, elf_class, float_abi = _elf_header(exe)
    arch = next((a for a in ARCHES if a.elf_machine == machine
                 and a.elf_class == elf_class and (a.float_abi != "hard" or float_abi == "hard")),
                None)
    # the C library this process runs on (platform.libc_ver would read the symbol versions
    # the interpreter *needs*, not the glibc that is there)
    try:
        running = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):
        running = ""
    glibc = None
    if running.startswith("glibc "):
        glibc = running.split(" ", 1)[1]
        libc = "gnu"
    elif any(Path("/lib").glob("ld-musl-*.so.1")):
        libc = "musl"
    else:
        libc = "unknown"
    return Host(arch=arch, machine=machine, elf_class=elf_class, libc=libc, glibc=glibc)


def debian_system() -> bool:
    """A Debian (or Ubuntu) system: ``dpkg-query`` is on PATH. Only there is ``/usr/bin/rustc``
    Debian's rustc-web with its multiarch std (on Fedora it is Fedora's)."""
    return proc.which("dpkg-query") is not None


def installs_with_apt() -> bool:
    """``crossmatrix setup`` can install Debian packages here: apt-get and dpkg-query are on
    PATH, and it runs as root or sudo is there. Then a missing cross gcc, qemu or wine is
    something setup installs (an error naming it); on a host without (macOS, Fedora, a
    container without root) crossmatrix works with rustup's std and zig, and a missing
    runner is a recorded "not run" with what to install."""
    return (debian_system() and proc.which("apt-get") is not None
            and (os.geteuid() == 0 or proc.which("sudo") is not None))
