"""crossmatrix: cross-compile Rust crates for a matrix of targets and prove what was built."""

import os
import sys


def _installed_version() -> str:
    """The installed distribution's version (pyproject.toml's [project] version), read from
    the name of its ``crossmatrix-<version>.dist-info`` folder on ``sys.path``, as
    importlib.metadata finds it: importing importlib.metadata (email, zipfile …) would cost
    a warm no-op build ~0.05 s. Where no folder is found, importlib.metadata decides."""
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.startswith("crossmatrix-") and name.endswith(".dist-info"):
                return name[len("crossmatrix-"):-len(".dist-info")]
    from importlib import metadata

    try:
        return metadata.version("crossmatrix")
    except metadata.PackageNotFoundError:  # a source tree on sys.path, never installed
        return "0+unknown"


__version__ = _installed_version()
