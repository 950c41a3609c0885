"""crossmatrix: cross-compile Rust crates for a matrix of targets and prove what was built."""

from importlib import metadata

try:
    #: the installed distribution's version (pyproject.toml's [project] version)
    __version__ = metadata.version("crossmatrix")
except metadata.PackageNotFoundError:  # a source tree on sys.path, never installed
    __version__ = "0+unknown"
