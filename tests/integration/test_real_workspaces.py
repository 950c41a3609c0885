"""The sample crates that are not hello world, in the matrix release: C compiled by build
scripts (SQLite), protoc at build time (prost-build), a system library through pkg-config
(zlib: Debian's arm64 one for linux-aarch64-gnu, built from source on musl), and the PyO3
module laid out as build-core-bin/<platform-arch>/ — checked from the outside."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import lief
import pefile
import pytest
from elftools.elf.elffile import ELFFile

from tests.integration.helpers import RELEASE_LOGS, Run
from tooling.matrix import config
from tooling.matrix.targets import TABLE, Target, by_name
from tooling.platforms import runner
from tooling.pymod import roots

pytestmark = pytest.mark.integration

LINUX = [t for t in TABLE if t.is_linux]


def _info(matrix_release: tuple[Path, Run], name: str) -> dict[str, Any]:
    project, result = matrix_release
    assert result.returncode == 0, result.stderr[-3000:]
    data: dict[str, Any] = json.loads((project / "dist" / name / "build_info.json").read_text())
    return data


def _artifact(info: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(a for a in info["artifacts"] if a["name"] == name)
    return found


@pytest.mark.parametrize("target", LINUX, ids=lambda t: t.name)
def test_sqlite_and_protobuf_code_ran_on_every_linux_target(
        matrix_release: tuple[Path, Run], target: Target) -> None:
    info = _info(matrix_release, target.name)
    sqlite = _artifact(info, "sqlite-probe")["run"]
    assert sqlite["ran"] is True
    # a row that went into SQLite's C code and came back out, computed on the target
    assert re.search(rf"\({target.triple}; SQLite 3\.\d+\.\d+\): battery-temp n=2 avg=22\.0$",
                     sqlite["output"]), sqlite
    proto = _artifact(info, "telemetry-proto")["run"]
    assert proto["ran"] is True
    assert f"({target.triple}; 2 readings round-tripped in 71 bytes)" in proto["output"]


def _debian_zlib(arch: str) -> str:
    version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", f"zlib1g:{arch}"],
                             capture_output=True, text=True, check=True).stdout
    match = re.match(r"(?:\d+:)?(\d+\.\d+\.\d+)", version)
    assert match, version
    return match[1]


def test_aarch64_gnu_links_debians_arm64_zlib_and_runs_under_qemu(
        matrix_release: tuple[Path, Run], tmp_path: Path) -> None:
    """pre-build installed zlib1g-dev:arm64; pkg-config found it in the multiarch folder;
    the program needs libz.so.1 and, run by qemu with the target's sysroot, reports the
    version of Debian's arm64 zlib (not a bundled copy)."""
    project, _ = matrix_release
    log = (project / RELEASE_LOGS / "linux-aarch64-gnu.log").read_text()  # the release's
    assert "linux-aarch64-gnu pre-build: " in log  # the step line (-v shows it)
    info = _info(matrix_release, "linux-aarch64-gnu")
    shipper = _artifact(info, "log-shipper")
    assert "libz.so.1" in shipper["needed"]
    with tarfile.open(project / "dist" / "linux-aarch64-gnu" / info["archive"]["file"]) as tar:
        tar.extractall(tmp_path, filter="data")
    binary = tmp_path / shipper["path"]
    ran = subprocess.run(["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", str(binary)],
                         capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    assert f"(aarch64-unknown-linux-gnu; zlib {_debian_zlib('arm64')})" in ran.stdout


@pytest.mark.parametrize("name", ["linux-aarch64", "linux-armv7", "linux-x86_64"])
def test_musl_targets_take_the_vendored_zlib(matrix_release: tuple[Path, Run],
                                             name: str) -> None:
    """musl: the `static` feature (log-shipper's Cargo.toml, for non-gnu targets only)
    builds zlib from libz-sys's source: a static program with no libz.so.1."""
    shipper = _artifact(_info(matrix_release, name), "log-shipper")
    assert shipper["needed"] == [] and shipper["linkage"] == "static"
    assert shipper["run"]["ran"] is True
    bundled = re.search(r"zlib (\d+\.\d+\.\d+)\)", shipper["run"]["output"])
    assert bundled, shipper["run"]["output"]


# --- the PyO3 module -------------------------------------------------------------------

#: platform-arch → the target that provides it (musl targets build no cdylib)
MODULE_TARGETS = {t.platform_arch: t for t in TABLE if t.libc != "musl"}


def _layout(matrix_release: tuple[Path, Run]) -> Path:
    project, result = matrix_release
    assert result.returncode == 0, result.stderr[-3000:]
    return project / "dist" / "build-core-bin"


def test_build_core_layout_lists_every_build(matrix_release: tuple[Path, Run]) -> None:
    root = _layout(matrix_release)
    info = json.loads((root / "build_info.json").read_text())
    assert info["module"] == "build_core"
    assert set(info["builds"]) == set(MODULE_TARGETS) == {
        "linux-x64", "linux-aarch64", "linux-riscv64", "windows-x64", "windows-x86",
        "macos-x64", "macos-aarch64"}
    for plat, entry in info["builds"].items():
        target = MODULE_TARGETS[plat]
        suffix = ".pyd" if target.os == "windows" else ".so"
        assert entry["file"] == f"{plat}/build_core{suffix}"
        assert entry["triple"] == target.triple and entry["verified"] is True
        import hashlib

        assert hashlib.sha256((root / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]
    folders = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert folders == sorted(MODULE_TARGETS)
    link = root / "build_core.so"
    assert link.is_symlink() and str(link.readlink()) == "linux-x64/build_core.so"


def _python(code: str, cwd: Path, python: list[str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*(python or [sys.executable]), "-c", code], capture_output=True,
                          text=True, cwd=cwd, timeout=120, check=False)


#: load through the loader, call the Rust code, and see a Rust error become ValueError
USE_MODULE = (
    "import build_core_loader as l; m = l.load(); "
    "print(m.__file__, m.target(), m.crc32(b'123456789'), m.summarize([1.0, 2.0, 6.0]))\n"
    "try:\n    m.summarize([])\nexcept ValueError as e:\n    print('ValueError', e)")


def test_the_loader_imports_this_machines_build_and_it_works(
        matrix_release: tuple[Path, Run], tmp_path: Path) -> None:
    root = _layout(matrix_release)
    ran = _python(USE_MODULE, root)
    assert ran.returncode == 0, ran.stderr
    first, second = ran.stdout.splitlines()
    assert first == (f"{root / 'linux-x64' / 'build_core.so'} x86_64-unknown-linux-gnu "
                     f"{0xCBF43926} (3, 3.0, 1.0, 6.0)")
    assert second == "ValueError summarize() needs at least one value"
    # the compatibility link: a plain `import build_core` from the folder
    plain = _python("import build_core; print(build_core.target())", root)
    assert plain.stdout.strip() == "x86_64-unknown-linux-gnu", plain.stderr


def test_the_loader_says_clearly_when_no_build_fits(matrix_release: tuple[Path, Run],
                                                    tmp_path: Path) -> None:
    root = _layout(matrix_release)
    copy = tmp_path / "build-core-bin"
    copy.mkdir()
    (copy / "build_core_loader.py").write_bytes((root / "build_core_loader.py").read_bytes())
    info = json.loads((root / "build_info.json").read_text())
    del info["builds"]["linux-x64"]
    (copy / "build_info.json").write_text(json.dumps(info))
    ran = subprocess.run([sys.executable, str(copy / "build_core_loader.py")],
                         capture_output=True, text=True, timeout=60, check=False)
    assert ran.returncode == 1
    assert ran.stderr.strip() == (
        "error: build_core: no build for linux-x64 (this machine); builds here: "
        "linux-aarch64, linux-riscv64, macos-aarch64, macos-x64, windows-x64, windows-x86")


def test_an_arm64_python_under_qemu_loads_the_aarch64_build(
        matrix_release: tuple[Path, Run]) -> None:
    """Debian's arm64 CPython (the root `inv setup` unpacked) run by qemu-aarch64: the same
    loader picks linux-aarch64/build_core.so for that machine and the Rust code answers."""
    project, _ = matrix_release
    target = by_name()["linux-aarch64-gnu"]
    python = roots.find(config.load(project).cache_dir, target)
    assert python is not None, "inv setup makes the arm64 Python (bootstrap.sh test runs it)"
    root = _layout(matrix_release)
    ran = _python(USE_MODULE + "\nimport platform; print(platform.machine())", root,
                  python.argv(target))
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == [
        f"{root / 'linux-aarch64' / 'build_core.so'} aarch64-unknown-linux-gnu {0xCBF43926} "
        "(3, 3.0, 1.0, 6.0)",
        "ValueError summarize() needs at least one value",
        "aarch64"]


@pytest.mark.parametrize("plat", ["linux-aarch64", "linux-riscv64"])
def test_foreign_linux_modules_are_that_arch_and_export_pyinit(
        matrix_release: tuple[Path, Run], plat: str) -> None:
    path = _layout(matrix_release) / plat / "build_core.so"
    target = MODULE_TARGETS[plat]
    with path.open("rb") as handle:
        elf = ELFFile(handle)
        assert elf["e_machine"] == target.arch.elf_machine and elf["e_type"] == "ET_DYN"
        dynsym = elf.get_section_by_name(".dynsym")
        exported = {s.name for s in dynsym.iter_symbols()  # type: ignore[union-attr]
                    if s["st_shndx"] != "SHN_UNDEF"}
        assert "PyInit_build_core" in exported
        # no libpython: the interpreter that imports it provides Python's symbols
        needed = [t.needed for t in elf.get_section_by_name(".dynamic").iter_tags()  # type: ignore[union-attr]
                  if t.entry.d_tag == "DT_NEEDED"]
        assert not any("python" in n for n in needed), needed


@pytest.mark.parametrize("plat", ["windows-x64", "windows-x86"])
def test_windows_modules_are_pyds_importing_python3_dll(matrix_release: tuple[Path, Run],
                                                        plat: str) -> None:
    target = MODULE_TARGETS[plat]
    pe = pefile.PE(str(_layout(matrix_release) / plat / "build_core.pyd"))
    assert pefile.MACHINE_TYPE[pe.FILE_HEADER.Machine] == target.arch.pe_machine
    assert pe.is_dll()
    exports = {s.name for s in pe.DIRECTORY_ENTRY_EXPORT.symbols}
    assert b"PyInit_build_core" in exports
    imports = {e.dll.lower() for e in pe.DIRECTORY_ENTRY_IMPORT}
    assert b"python3.dll" in imports  # abi3: the stable ABI's DLL, any CPython >= 3.9


@pytest.mark.parametrize("plat", ["macos-x64", "macos-aarch64"])
def test_macos_modules_export_pyinit_and_leave_python_to_the_loader(
        matrix_release: tuple[Path, Run], plat: str) -> None:
    target = MODULE_TARGETS[plat]
    fat = lief.MachO.parse(str(_layout(matrix_release) / plat / "build_core.so"))
    assert fat is not None
    binary = fat.at(0)
    assert binary is not None
    assert str(binary.header.cpu_type).endswith(str(target.arch.macho_cpu))
    assert "_PyInit_build_core" in {s.name for s in binary.exported_symbols}
    # Python's symbols are looked up when the module is loaded (-undefined dynamic_lookup)
    assert any(str(s.name).startswith("_Py") for s in binary.imported_symbols)
    assert not any("ython" in str(lib.name) for lib in binary.libraries)


def test_module_check_is_recorded_per_target(matrix_release: tuple[Path, Run]) -> None:
    host = _artifact(_info(matrix_release, "linux-x86_64-gnu"), "libbuild_core.so")["run"]
    assert host["ran"] is True and host["runner"].startswith("imported by CPython 3.")
    assert host["output"] == "imported build_core: target() = x86_64-unknown-linux-gnu"
    # imported by the arm64 Python under qemu: the module's own code says its triple
    arm = _artifact(_info(matrix_release, "linux-aarch64-gnu"), "libbuild_core.so")["run"]
    assert arm["ran"] is True
    assert re.fullmatch(r"imported by CPython 3\.\d+\.\d+ aarch64 \(Debian arm64\) under "
                        r"qemu-aarch64", arm["runner"]), arm
    assert arm["output"] == "imported build_core: target() = aarch64-unknown-linux-gnu"
    # riscv64 is no Debian 12 architecture: no Python for it, so checked, not imported
    riscv = _artifact(_info(matrix_release, "linux-riscv64-gnu"), "libbuild_core.so")["run"]
    assert riscv["ran"] is False
    assert riscv["output"].startswith(f"{runner.NOT_RUN} (exports PyInit_build_core; built "
                                      "for linux-riscv64")
    builds = json.loads((_layout(matrix_release) / "build_info.json").read_text())["builds"]
    assert {plat for plat, b in builds.items() if b["imported"]} == {"linux-x64",
                                                                      "linux-aarch64"}


@pytest.mark.parametrize("name", ["linux-aarch64", "linux-armv7"])
def test_sample_crates_unit_tests_pass_under_qemu(tmp_path: Path, name: str) -> None:
    """`inv test`: the crates' own tests (SQLite, protobuf, zlib, C CRC) compiled for the
    board's target and run by qemu."""
    from tests.integration.helpers import FORCED_PROVIDERS, crossmatrix, write_project

    project = write_project(tmp_path / "p", FORCED_PROVIDERS)
    result = crossmatrix(project, "test", "--target", name)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    out = result.stdout + result.stderr
    for test in ("stores_and_averages_readings", "sqlite_is_the_bundled_one",
                 "persists_to_a_file", "batch_round_trips", "wire_format_is_protobuf",
                 "round_trips_and_shrinks_repetitive_logs", "corrupt_input_is_refused",
                 "known_check_value"):
        assert f"{test} ... ok" in out, test
    assert by_name()[name].arch.qemu in out
