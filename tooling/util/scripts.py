"""Small generated scripts (the zig linker wrappers, the wine test runner) and the
interpreter they call back into.

A script's file name carries a hash of its content, so a changed script is a new path:
cargo, which keys its fingerprints on the linker's and the runner's paths, relinks."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path


def bin_dir() -> Path:
    """This environment's scripts folder (the venv's bin/), however Python was started."""
    return Path(sys.prefix) / "bin"


def python() -> str:
    """One spelling of this environment's interpreter (python, python3 and python3.11 are
    the same program, but a different spelling would change the wrappers' content, their
    path, and so make cargo rebuild everything)."""
    return str(bin_dir() / "python3")


def wrapper(cache_dir: Path, stem: str, body: str) -> Path:
    """Write ``body`` to a content-addressed script under ``cache_dir/wrappers``."""
    digest = hashlib.sha256(body.encode()).hexdigest()[:10]
    path = cache_dir / "wrappers" / f"{stem}-{digest}"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(body)
        tmp.chmod(0o755)
        os.replace(tmp, path)
    return path
