"""Foreign Python roots: which targets get one, how apt's answer is read, and how the run
step chooses the Python that imports a module (the roots themselves are made and used for
real in tests/integration/test_real_workspaces.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tooling.matrix.targets import TABLE, by_name
from tooling.pymod import modules, roots

APT_CACHE = """python3.11-minimal:arm64
  PreDepends: libc6:arm64
  Depends: libpython3.11-minimal:arm64
  Depends: libexpat1:arm64
 |Depends: <mime-support:arm64>
libc6:arm64
  Depends: libgcc-s1:arm64
<mime-support:arm64>
libgcc-s1:arm64
libpython3.11-minimal:arm64
libexpat1:arm64
"""


def test_the_closure_is_the_real_packages_apt_listed() -> None:
    assert roots.parse_closure(APT_CACHE) == [
        "libc6:arm64", "libexpat1:arm64", "libgcc-s1:arm64", "libpython3.11-minimal:arm64",
        "python3.11-minimal:arm64"]


def test_only_foreign_glibc_targets_of_debian_architectures_get_a_root() -> None:
    chosen = {t.name for t in TABLE if roots.wanted(t)}
    # musl modules are not built, riscv64 is no Debian 12 architecture, the host's own
    # Python imports linux-x86_64-gnu's, Windows and macOS have no Debian Python
    assert chosen == {"linux-aarch64-gnu"}


def _fake_root(cache: Path) -> None:
    root = roots.folder(cache, "arm64")
    root.mkdir(parents=True)
    (root / roots.MARKER).write_text(json.dumps(
        {"arch": "arm64", "python": "3.11.2", "executable": "usr/bin/python3.11"}))


def test_the_run_step_imports_with_the_root_once_setup_made_it(tmp_path: Path) -> None:
    target = by_name()["linux-aarch64-gnu"]
    assert modules.importer(target, tmp_path) is None
    why = modules.cannot_import(target, tmp_path)
    assert why is not None and "`inv setup` makes a Python for arm64" in why
    _fake_root(tmp_path)
    found = modules.importer(target, tmp_path)
    assert found is not None
    argv, who = found
    root = roots.folder(tmp_path, "arm64")
    assert argv == ["qemu-aarch64", "-L", str(root), str(root / "usr/bin/python3.11")]
    assert who == "CPython 3.11.2 aarch64 (Debian arm64) under qemu-aarch64"
    assert modules.cannot_import(target, tmp_path) is None


def test_a_half_made_root_is_not_used(tmp_path: Path) -> None:
    """The marker is written last, inside the folder renamed into place: without it the
    folder is a crash's leftover."""
    roots.folder(tmp_path, "arm64").mkdir(parents=True)
    assert roots.find(tmp_path, by_name()["linux-aarch64-gnu"]) is None


@pytest.mark.parametrize("name", ["linux-x86_64-gnu", "linux-riscv64-gnu", "windows-x86_64"])
def test_other_targets_never_look_for_a_root(tmp_path: Path, name: str) -> None:
    _fake_root(tmp_path)
    assert roots.find(tmp_path, by_name()[name]) is None
