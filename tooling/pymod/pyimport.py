"""Import a native module from a file and call it: ``python pyimport.py PATH NAME``.

Run by crossmatrix in a fresh interpreter (a module that crashes on import takes only
that process down). Prints ``imported NAME: target() = TRIPLE`` when the module has a
``target()`` function, else the names it exports.
"""

import importlib.machinery
import importlib.util
import sys


def main(path: str, name: str) -> None:
    loader = importlib.machinery.ExtensionFileLoader(name, path)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    if spec is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    if hasattr(module, "target"):
        print(f"imported {name}: target() = {module.target()}")
    else:
        print(f"imported {name}: " + ", ".join(n for n in dir(module) if not n.startswith("_")))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
