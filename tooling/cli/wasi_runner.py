"""``python -m tooling.cli.wasi_runner MODULE.wasm [ARGS…]``: runs a WASI preview 1 module
under Wasmtime (the ``wasmtime`` package from PyPI) and exits with its ``proc_exit`` code.

The smoke step runs modules through it (bounded like any program), and ``inv test`` gives it
to cargo as the runner of wasm32-wasip1 test binaries. The module gets its arguments, no
environment, and nothing preopened (see :func:`tooling.platforms.wasi.run_module`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from tooling.platforms import wasi
from tooling.util import console

USAGE = "usage: python -m tooling.cli.wasi_runner MODULE.wasm [ARGS...]"


def main(argv: Sequence[str]) -> int:
    if not argv:
        console.error(USAGE)
        return 2
    module = Path(argv[0])
    if not module.is_file():
        console.error(f"error: no WebAssembly module at {module}")
        return 2
    try:
        import wasmtime
    except ImportError:
        console.error("error: the wasmtime package is not installed\n"
                      "  hint: install crossmatrix with its dependencies (it depends on wasmtime)")
        return 2
    try:
        return wasi.run_module(module, argv[1:])
    except wasmtime.WasmtimeError as exc:  # not a module, or its imports are not WASI's
        console.error(f"error: wasmtime cannot run {module.name}: "
                      f"{str(exc).strip().splitlines()[0]}")
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
