"""Load the build of a native Python module that fits this machine.

crossmatrix copies this file beside the builds (``dist/<module>-bin/<module>_loader.py``,
with MODULE filled in). It reads ``build_info.json`` in its folder, picks
``<platform-arch>/<module>.so`` (``.pyd`` on Windows) for the running interpreter, and
says clearly when none fits. Standard library only: it runs on the deployed machine.

    import build_core_loader
    build_core = build_core_loader.load()

``python build_core_loader.py`` prints which build it would load, or why none fits.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import platform
import struct
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

MODULE = "build_core"
HERE = Path(__file__).resolve().parent

_ARCHES = {"x86_64": "x64", "amd64": "x64", "i386": "x86", "i686": "x86", "x86": "x86",
           "aarch64": "aarch64", "arm64": "aarch64", "armv7l": "armv7", "armv8l": "armv7",
           "riscv64": "riscv64"}
_OSES = {"linux": "linux", "win32": "windows", "cygwin": "windows", "darwin": "macos"}


def this_platform(sys_platform: str | None = None, machine: str | None = None,
                  pointer_bits: int | None = None) -> str:
    """``linux-x64``, ``windows-x86``, ``macos-aarch64``: the name of the running
    interpreter's platform (a 32-bit Python on 64-bit Windows is windows-x86)."""
    os_name = _OSES.get(sys_platform or sys.platform, sys_platform or sys.platform)
    arch = _ARCHES.get((machine or platform.machine()).lower(), (machine or "").lower())
    bits = pointer_bits or struct.calcsize("P") * 8
    if arch == "x64" and bits == 32:
        arch = "x86"
    if arch == "aarch64" and bits == 32:
        arch = "armv7"
    return f"{os_name}-{arch}"


def glibc() -> str | None:
    """The C library's own answer (None: not glibc, e.g. musl or not Linux)."""
    try:
        value = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        return None
    if not value or not value.startswith("glibc "):
        return None
    return value.split()[1]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())


def choose(info: dict[str, Any], plat: str, libc_version: str | None,
           on_linux: bool) -> dict[str, Any]:
    """The build_info entry for ``plat``; ImportError saying why when none fits."""
    builds: dict[str, dict[str, Any]] = info.get("builds", {})
    have = ", ".join(sorted(builds)) or "none"
    entry = builds.get(plat)
    if entry is None:
        raise ImportError(f"{MODULE}: no build for {plat} (this machine); builds here: {have}")
    if on_linux:
        if libc_version is None:
            raise ImportError(f"{MODULE}: the {plat} build needs glibc, and this Python's C "
                              "library is not glibc (musl?); builds here are for glibc")
        needs = entry.get("highest_glibc")
        if needs and _version(needs) > _version(libc_version):
            raise ImportError(f"{MODULE}: the {plat} build needs glibc {needs}, this machine "
                              f"has {libc_version}; rebuild it with a glibc floor "
                              f"(--target {entry.get('target', plat)}.{libc_version})")
    if sys.version_info < tuple(entry.get("min_python", (3, 9))):
        raise ImportError(f"{MODULE}: needs Python {entry.get('min_python')}+")
    return entry


def load(folder: Path | str = HERE) -> ModuleType:
    """Import the build of MODULE for this machine from ``folder``."""
    folder = Path(folder)
    info_path = folder / "build_info.json"
    try:
        info = json.loads(info_path.read_text())
    except (OSError, ValueError) as exc:
        raise ImportError(f"{MODULE}: cannot read {info_path} ({exc})") from exc
    entry = choose(info, this_platform(), glibc(), sys.platform.startswith("linux"))
    path = folder / entry["file"]
    loader = importlib.machinery.ExtensionFileLoader(MODULE, str(path))
    spec = importlib.util.spec_from_file_location(MODULE, path, loader=loader)
    if spec is None:
        raise ImportError(f"{MODULE}: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    sys.modules[MODULE] = module
    return module


if __name__ == "__main__":
    try:
        mod = load()
    except ImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    print(f"{MODULE}: loaded {mod.__file__} for {this_platform()}")
