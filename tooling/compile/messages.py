"""cargo's JSON messages: the executables and cdylibs a build made (never guessed paths)."""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, kw_only=True)
class Artifact:
    package: str
    name: str  #: the bin or cdylib target's name
    path: Path
    fresh: bool
    kind: str = "bin"  #: "bin" or "cdylib"


#: what a cdylib's file is called: .so (Linux), .dll (Windows), .dylib (macOS)
_LIBRARY_SUFFIXES = (".so", ".dll", ".dylib")


def parse_messages(stdout: str, cdylibs: Collection[tuple[str, str]] | None = None
                   ) -> tuple[list[Artifact], bool]:
    """Executables and cdylibs from cargo's ``compiler-artifact`` messages, and build
    success. ``cdylibs``: the workspace members' (package, library) pairs — cargo also
    builds the cdylib of a dependency that declares one (tokei's ``slug``, for wasm),
    which is not the project's to ship."""
    artifacts: list[Artifact] = []
    success = False
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        msg = json.loads(line)
        reason = msg.get("reason")
        if reason == "compiler-artifact" and msg.get("executable"):
            if "bin" not in msg["target"]["kind"]:
                continue
            package = msg.get("package_id", "")
            artifacts.append(Artifact(
                package=_package_name(package) or msg["target"]["name"],
                name=msg["target"]["name"],
                path=Path(msg["executable"]),
                fresh=bool(msg.get("fresh")),
            ))
        elif reason == "compiler-artifact" and "cdylib" in msg["target"]["kind"]:
            library = next((Path(f) for f in msg.get("filenames", [])
                            if Path(f).suffix in _LIBRARY_SUFFIXES), None)
            package = _package_name(msg.get("package_id", "")) or msg["target"]["name"]
            if cdylibs is not None and (package, msg["target"]["name"]) not in cdylibs:
                continue
            if library is not None:
                artifacts.append(Artifact(
                    package=package, name=msg["target"]["name"], path=library,
                    fresh=bool(msg.get("fresh")), kind="cdylib"))
        elif reason == "build-finished":
            success = bool(msg.get("success"))
    return artifacts, success


def compiled_units(stdout: str) -> tuple[list[str], int]:
    """The crates cargo compiled (``fresh: false``), by package name with its target's kind
    when that is not a plain library (``app (bin)``, ``serde (build-script)``), and how many
    units it reported in all. What an edit really cost, read from cargo itself."""
    compiled: list[str] = []
    total = 0
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        msg = json.loads(line)
        if msg.get("reason") != "compiler-artifact":
            continue
        total += 1
        if msg.get("fresh"):
            continue
        kinds = msg["target"]["kind"]
        kind = "build-script" if "custom-build" in kinds else kinds[0]
        name = _package_name(msg.get("package_id", "")) or msg["target"]["name"]
        compiled.append(name if kind in ("lib", "rlib") else f"{name} ({kind})")
    return compiled, total


def _package_name(package_id: str) -> str:
    # "path+file:///x/crates/edge-agent#0.1.0" or "registry+...#name@1.0" or old "name 0.1.0 (...)"
    if "#" in package_id:
        tail = package_id.rsplit("#", 1)[1]
        if "@" in tail:
            return tail.split("@", 1)[0]
        return package_id.rsplit("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return package_id.split(" ", 1)[0]


#: cargo's progress lines and a build script's instructions to cargo: not what went wrong
_CHATTER = re.compile(r"^\s*(?:(?:Compiling|Checking|Building|Fresh|Running|Finished|"
                      r"Downloaded|Downloading|Blocking|Updating|Locking|Adding|Documenting)"
                      r"\s|cargo::?(?:rerun-if|rustc-))")
_ERROR = re.compile(r"^error(?:\[E\d+\])?:")
#: a build script's own warning (cargo:warning=…), said before cargo's error: often the cause
_SCRIPT_WARNING = re.compile(r"^warning: [\w.+-]+@[\w.+-]+: ")


def error_lines(stderr: str, limit: int = 60, width: int = 400) -> str:
    """The lines of a failed cargo's stderr that say what went wrong: its errors from the
    first on (without progress lines and build-script chatter) and the build scripts'
    warnings before them; at most ``limit`` lines of at most ``width`` characters (a link
    error's note holds the whole linker command). Without an error line, the last lines."""
    lines = stderr.rstrip("\n").splitlines()
    first = next((i for i, line in enumerate(lines) if _ERROR.match(line)), None)
    if first is None:
        kept = lines[-min(limit, 20):]
    else:
        kept = [line for line in lines[:first] if _SCRIPT_WARNING.match(line)]
        kept += [line for line in lines[first:] if not _CHATTER.match(line)]
    if len(kept) > limit:
        kept = [*kept[:limit - 2], f"[… {len(kept) - limit + 1} lines …]", kept[-1]]
    return "\n".join(line if len(line) <= width else line[:width] + " …" for line in kept)
