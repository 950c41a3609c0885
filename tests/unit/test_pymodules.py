"""The loader shipped beside the Python modules, and the build-core-bin layout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit import fake_records
from tooling.matrix.targets import TABLE, by_name
from tooling.pymod import modules, pyloader

INFO: dict[str, Any] = {"module": "build_core", "builds": {
    "linux-x64": {"file": "linux-x64/build_core.so", "target": "linux-x86_64-gnu",
                  "highest_glibc": "2.34", "min_python": [3, 9]},
    "linux-aarch64": {"file": "linux-aarch64/build_core.so", "target": "linux-aarch64-gnu",
                      "highest_glibc": "2.17", "min_python": [3, 9]},
    "windows-x86": {"file": "windows-x86/build_core.pyd", "target": "windows-x86"},
}}


@pytest.mark.parametrize(("sys_platform", "machine", "bits", "expected"), [
    ("linux", "x86_64", 64, "linux-x64"),
    ("linux", "aarch64", 64, "linux-aarch64"),
    ("linux", "armv7l", 32, "linux-armv7"),
    ("linux", "aarch64", 32, "linux-armv7"),  # 32-bit userland on a 64-bit kernel
    ("win32", "AMD64", 64, "windows-x64"),
    ("win32", "AMD64", 32, "windows-x86"),  # 32-bit Python on 64-bit Windows
    ("darwin", "arm64", 64, "macos-aarch64"),
    ("darwin", "x86_64", 64, "macos-x64"),
])
def test_this_platform_names_match_the_target_table(sys_platform: str, machine: str,
                                                    bits: int, expected: str) -> None:
    assert pyloader.this_platform(sys_platform, machine, bits) == expected
    assert expected in {t.platform_arch for t in TABLE}


def test_the_build_for_this_machine_is_chosen() -> None:
    assert pyloader.choose(INFO, "linux-aarch64", "2.31", True)["target"] == "linux-aarch64-gnu"
    assert pyloader.choose(INFO, "windows-x86", None, False)["target"] == "windows-x86"


def test_no_build_for_this_platform_says_which_there_are() -> None:
    with pytest.raises(ImportError) as caught:
        pyloader.choose(INFO, "linux-riscv64", "2.36", True)
    assert str(caught.value) == ("build_core: no build for linux-riscv64 (this machine); "
                                 "builds here: linux-aarch64, linux-x64, windows-x86")


def test_a_glibc_too_old_for_the_build_is_refused_with_the_fix() -> None:
    with pytest.raises(ImportError) as caught:
        pyloader.choose(INFO, "linux-x64", "2.28", True)
    assert str(caught.value) == ("build_core: the linux-x64 build needs glibc 2.34, this "
                                 "machine has 2.28; rebuild it with a glibc floor "
                                 "(--target linux-x86_64-gnu.2.28)")


def test_musl_python_is_told_the_builds_are_for_glibc() -> None:
    with pytest.raises(ImportError, match="not glibc"):
        pyloader.choose(INFO, "linux-x64", None, True)


def test_layout_records_each_build_links_this_machines_and_writes_the_loader(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(modules, "host_platform", lambda: "linux-x64")
    source = tmp_path / "libbuild_core.so"
    source.write_bytes(b"\x7fELF fake module")
    dist = tmp_path / "dist"
    for name in ("linux-aarch64-gnu", "linux-x86_64-gnu", "windows-x86_64"):
        modules.lay_out(dist, "build_core", by_name()[name], source,
                        fake_records.verified(ok=True, highest_glibc=None),
                        fake_records.ran(ran=False, output="x"))
    root = dist / "build-core-bin"
    info = json.loads((root / "build_info.json").read_text())
    assert list(info["builds"]) == ["linux-aarch64", "linux-x64", "windows-x64"]
    assert info["builds"]["windows-x64"]["file"] == "windows-x64/build_core.pyd"
    assert (root / "windows-x64" / "build_core.pyd").read_bytes() == source.read_bytes()
    assert (root / "build_core.so").readlink() == Path("linux-x64/build_core.so")
    loader = (root / "build_core_loader.py").read_text()
    assert 'MODULE = \'build_core\'' in loader and "def load(" in loader
    assert not list(root.glob(".*"))  # no temporary files left
