"""Where crossmatrix keeps what it makes once and reuses (std sysroots, probes, wine prefixes)."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    if env := os.environ.get("CROSSMATRIX_CACHE_DIR"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "crossmatrix"
