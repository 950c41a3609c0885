"""crossmatrix: cross-compile Rust crates for a matrix of targets and prove what was built."""

__version__ = "0.1.0"
