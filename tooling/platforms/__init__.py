"""How each operating system links, strips, runs, verifies, names and packages its artifacts.

One module per OS (:mod:`~tooling.platforms.linux`, :mod:`~tooling.platforms.windows`,
:mod:`~tooling.platforms.macos`, :mod:`~tooling.platforms.freebsd`,
:mod:`~tooling.platforms.netbsd`, :mod:`~tooling.platforms.wasi`) provides what
:class:`~tooling.platforms.base.Platform` declares; :func:`platform_of` picks it for a
target. Callers ask the platform and never branch on ``target.os``: adding an OS is one
module here plus rows of the target table.
"""

from __future__ import annotations

from typing import Final

from tooling.matrix.targets import Os, Target
from tooling.platforms import freebsd, linux, macos, netbsd, none, wasi, windows
from tooling.platforms.base import Platform

PLATFORMS: Final[dict[Os, Platform]] = {"linux": linux, "windows": windows, "macos": macos,
                                        "freebsd": freebsd, "netbsd": netbsd, "wasi": wasi,
                                        "none": none}


def platform_of(target: Target) -> Platform:
    return PLATFORMS[target.os]
