"""Small generated scripts (the zig linker wrappers, the wine test runner) and the
interpreter they call back into.

A script's file name carries a hash of its content, so a changed script is a new path:
cargo, which keys its fingerprints on the linker's and the runner's paths, relinks.
A script is planned as its path and content (:func:`wrapper`) and written by the
executor (:meth:`Script.write`)."""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tooling.util import atomic


def bin_dir() -> Path:
    """This environment's scripts folder (the venv's bin/), however Python was started."""
    return Path(sys.prefix) / "bin"


def python() -> str:
    """One spelling of this environment's interpreter (python, python3 and python3.11 are
    the same program, but a different spelling would change the wrappers' content, their
    path, and so make cargo rebuild everything)."""
    return str(bin_dir() / "python3")


@dataclass(frozen=True)
class Script:
    """A script to write before cargo runs: where, and what it says."""

    path: Path
    body: str
    mode: int = 0o755  #: 0o644 for a file that is read, not run (a CMake toolchain file)

    def write(self) -> Path:
        if not self.path.is_file():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = atomic.pid_sibling(self.path, "tmp")
            tmp.write_text(self.body)
            tmp.chmod(self.mode)
            os.replace(tmp, self.path)
        return self.path


def wrapper(cache_dir: Path, stem: str, body: str, *, suffix: str = "",
            mode: int = 0o755) -> Script:
    """A content-addressed script under ``cache_dir/wrappers`` (planned, not written)."""
    digest = hashlib.sha256(body.encode()).hexdigest()[:10]
    return Script(cache_dir / "wrappers" / f"{stem}-{digest}{suffix}", body, mode)
