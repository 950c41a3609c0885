"""Foreign CPython roots: a Debian ``<arch>`` ``python3.N-minimal`` with its dependency
closure and the pure-Python part of ``libpython3.N-stdlib``, unpacked into the cache, so a
Python module built for that architecture is really imported and called, under qemu,
instead of only checked structurally.

Made by ``inv setup`` (it needs the Debian archive once); used by the run step when
present. Like debootstrap's first stage, the packages are unpacked without running
their maintainer scripts: nothing is configured, nothing on the host is touched, and
qemu's ``-L`` makes the root the program's ``/``.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tooling.errors import StepFailed
from tooling.matrix.targets import Target
from tooling.platforms import platform_of
from tooling.util import atomic, console, proc

MARKER = "crossmatrix-pyroot.json"
#: apt-cache depends options that leave only what must be there for a program to run
_ONLY_DEPENDS = ("--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                 "--no-breaks", "--no-replaces", "--no-enhances")
_PYTHON_MINIMAL = re.compile(r"python3\.\d+-minimal")


@dataclass(frozen=True)
class Root:
    path: Path
    arch: str  #: Debian architecture
    python: str  #: e.g. 3.11.2
    executable: str  #: inside the root, e.g. usr/bin/python3.11

    def argv(self, target: Target) -> list[str]:
        """The command that starts this root's Python under the target's qemu."""
        return [target.arch.qemu, "-L", str(self.path), str(self.path / self.executable)]

    def describe(self, target: Target) -> str:
        return f"CPython {self.python} {target.arch.rust} (Debian {self.arch}) under " \
               f"{target.arch.qemu}"


def wanted(target: Target) -> bool:
    """Targets whose modules a root can import: Linux glibc targets of a Debian
    architecture that do not run here directly."""
    return platform_of(target).debian_libraries(target) and target.debian_std_possible \
        and not target.runs_natively()


def folder(cache_dir: Path, deb_arch: str) -> Path:
    return cache_dir / "python-roots" / deb_arch


def find(cache_dir: Path, target: Target) -> Root | None:
    """The finished root for ``target``'s architecture, if ``inv setup`` made one."""
    if not wanted(target):
        return None
    path = folder(cache_dir, target.arch.deb)
    try:
        mark = json.loads((path / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return Root(path, str(mark["arch"]), str(mark["python"]), str(mark["executable"]))


def closure(package: str) -> list[str]:
    """``package`` and everything it depends on (recursively), as apt names them."""
    res = proc.run(["apt-cache", "depends", *_ONLY_DEPENDS, package], bound="tool", echo=False,
                   what=f"apt-cache depends {package}")
    return parse_closure(res.stdout)


def parse_closure(text: str) -> list[str]:
    """The real packages of ``apt-cache depends --recurse``: unindented lines, without the
    virtual ones (``<name>``)."""
    names = (line.strip() for line in text.splitlines() if line and not line[0].isspace())
    return sorted({n for n in names if n and not n.startswith("<")})


def python_package(deb_arch: str) -> str:
    """``python3.N-minimal:<arch>``: the interpreter Debian's python3 is for ``deb_arch``."""
    res = proc.run(["apt-cache", "depends", f"python3-minimal:{deb_arch}"], bound="tool",
                   echo=False, check=False, what="apt-cache depends python3-minimal")
    found = _PYTHON_MINIMAL.search(res.stdout)
    if not res.ok or found is None:
        raise StepFailed(f"the Debian archive has no python3-minimal:{deb_arch}",
                         f"run `dpkg --add-architecture {deb_arch} && apt-get update` "
                         "(inv setup does)")
    return f"{found.group(0)}:{deb_arch}"


def make(cache_dir: Path, target: Target) -> Root:
    """Download and unpack the root for ``target``'s architecture (once; a lock keeps two
    setups from racing, and the folder appears whole or not at all)."""
    from filelock import FileLock

    deb_arch = target.arch.deb
    final = folder(cache_dir, deb_arch)
    final.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(final.parent / f".{deb_arch}.lock")):
        have = find(cache_dir, target)
        if have is not None:
            return have
        package = python_package(deb_arch)
        # the standard library's Python code too (json, for the loader), without the
        # libraries its C extensions would need (that closure reaches perl and dpkg)
        stdlib = "lib" + package.replace("-minimal", "-stdlib")
        packages = [*closure(package), stdlib]
        new = atomic.pid_sibling(final, "new")
        shutil.rmtree(new, ignore_errors=True)
        new.mkdir()
        with tempfile.TemporaryDirectory(prefix="crossmatrix-debs-") as debs:
            proc.run(["apt-get", "download", "-qq", *packages], bound="fetch", cwd=Path(debs),
                     what="apt-get download", hint="the Debian archive must be reachable once")
            unpacked = []
            for deb in sorted(Path(debs).glob("*.deb")):
                proc.run(["dpkg-deb", "-x", str(deb), str(new)], bound="tool", echo=False,
                         what=f"dpkg-deb -x {deb.name}")
                unpacked.append(deb.name)
        executable = f"usr/bin/{package.split(':')[0].removesuffix('-minimal')}"
        version = _check(new, executable, target)
        atomic.write_json(new / MARKER, {"arch": deb_arch, "python": version,
                                         "executable": executable, "debs": unpacked})
        atomic.replace_dir(new, final)
    console.info(f"setup: CPython {version} for {deb_arch} in {final} "
                 f"({len(unpacked)} Debian packages, for importing {target.arch.rust} modules)")
    return Root(final, deb_arch, version, executable)


def _check(root: Path, executable: str, target: Target) -> str:
    """Start the root's Python under qemu; return its version."""
    script = "import json, platform; print(platform.machine(), platform.python_version())"
    res = proc.run([target.arch.qemu, "-L", str(root), str(root / executable), "-c", script],
                   bound="run", check=False, what=f"{executable} under {target.arch.qemu}")
    words = res.stdout.split()
    if not res.ok or len(words) != 2:
        raise StepFailed(f"the {target.arch.deb} Python does not start under "
                         f"{target.arch.qemu}: {res.tail(1) or f'exit {res.returncode}'}")
    return words[1]
