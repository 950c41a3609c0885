"""Bare metal (target_os none): a ``#![no_std]`` program (helpers.NO_STD_MAIN) released for
thumbv7em-none-eabihf and riscv32imac-unknown-none-elf through the console script: core
and alloc from rustup (or built from source into the std cache), linked by rustc's
rust-lld, verified as ELF (machine, class, endian, float ABI, static, entry point),
recorded "verified structurally, not run" with the reason, packaged. The verify record is
cross-checked once against binutils' readelf; a crate that needs std stops before cargo."""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.integration.helpers import Run, crossmatrix, no_std_project
from tooling.util.cachedir import default_cache_dir

pytestmark = pytest.mark.integration

THUMB = "thumbv7em-none-eabihf"
RISCV = "riscv32imac-unknown-none-elf"
#: what verify must find: e_machine, ELF class, float ABI (e_flags)
EXPECTED = {THUMB: ("EM_ARM", "ELF32", "hard"), RISCV: ("EM_RISCV", "ELF32", "soft")}


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    root = no_std_project(tmp_path_factory.mktemp("bare-metal"), THUMB, RISCV)
    return root, crossmatrix(root, "release")


def _verified(root: Path, triple: str) -> dict[str, object]:
    state = json.loads((root / "target" / "crossmatrix" / triple / "state.json").read_text())
    record: dict[str, object] = state["verify"]["data"]["bare"]
    return record


def test_the_no_std_program_releases_for_both_targets(release: tuple[Path, Run]) -> None:
    root, result = release
    assert result.returncode == 0, result.stderr[-3000:]
    for triple in (THUMB, RISCV):
        info = json.loads((root / "dist" / triple / "build_info.json").read_text())
        assert (info["os"], info["libc"], info["linkage"], info["linker"]) == (
            "none", "none", "static", "rust-lld")
        assert info["std_provider"] in ("rustup", "build-std")
        assert info["highest_glibc"] is None and info["ran"] is False
        [artifact] = info["artifacts"]
        assert (artifact["name"], artifact["machine"], artifact["interpreter"],
                artifact["needed"]) == ("bare", EXPECTED[triple][0], None, [])
        run = artifact["run"]
        assert run["ran"] is False and run["runner"] is None
        assert run["output"].startswith("verified structurally, not run (bare metal: ")
        with tarfile.open(root / "dist" / triple / info["archive"]["file"]) as archive:
            assert any(m.name.endswith("/bare") and m.isfile() for m in archive.getmembers())


@pytest.mark.parametrize("triple", [THUMB, RISCV])
def test_the_verify_record_checks_the_elf_as_bare_metal(release: tuple[Path, Run],
                                                        triple: str) -> None:
    root, result = release
    assert result.returncode == 0, result.stderr[-3000:]
    record = _verified(root, triple)
    checks = record["checks"]
    assert isinstance(checks, dict)
    assert set(checks) == {"machine", "class", "endian", "float-abi", "linkage", "entry",
                           "stripped"}  # no glibc, no interpreter to compare
    assert all(check["ok"] for check in checks.values()), checks
    machine, elf_class, float_abi = EXPECTED[triple]
    assert (checks["machine"]["actual"], checks["class"]["actual"],
            checks["endian"]["actual"], checks["float-abi"]["actual"],
            checks["linkage"]["actual"]) == (machine, elf_class, "little", float_abi, "static")
    assert record["interpreter"] is None and record["needed"] == []


def test_readelf_agrees_with_the_verify_record(release: tuple[Path, Run]) -> None:
    """binutils' own reading of the thumbv7em image: ARM, ELF32, the hard-float EABI flag,
    the same entry point, no program interpreter."""
    root, result = release
    assert result.returncode == 0, result.stderr[-3000:]
    staged = root / "target" / "crossmatrix" / THUMB / "bin" / "bare"
    header = subprocess.run(["readelf", "-h", str(staged)], capture_output=True, text=True,
                            check=True).stdout
    fields = dict(line.strip().split(":", 1) for line in header.splitlines()[1:]
                  if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    assert (fields["Class"], fields["Machine"], fields["Type"]) == (
        "ELF32", "ARM", "EXEC (Executable file)")
    assert "hard-float ABI" in fields["Flags"] and "Version5 EABI" in fields["Flags"]
    checks = _verified(root, THUMB)["checks"]
    assert isinstance(checks, dict)
    assert int(fields["Entry point address"], 16) == int(checks["entry"]["actual"], 16) != 0
    segments = subprocess.run(["readelf", "-lW", str(staged)], capture_output=True, text=True,
                              check=True).stdout
    assert "INTERP" not in segments and "DYNAMIC" not in segments
    assert re.search(r"^\s+LOAD\s", segments, re.MULTILINE)


def test_a_crate_that_needs_std_stops_before_cargo(tmp_path: Path) -> None:
    root = tmp_path / "hello"
    (root / "src").mkdir(parents=True)
    (root / "Cargo.toml").write_text(
        '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n')
    (root / "src" / "main.rs").write_text('fn main() { println!("hello"); }\n')
    (root / "pyproject.toml").write_text(
        f'[tool.crossmatrix]\noffline = true\ntargets = ["{THUMB}"]\n')
    result = crossmatrix(root, "release")
    assert result.returncode == 2, result.stderr
    [line, hint] = result.stderr.strip().splitlines()[-2:]
    assert line == (f"error: {THUMB}: hello (src/main.rs) does not declare #![no_std], and "
                    f"{THUMB} (bare metal) has only core and alloc")
    assert hint.strip().startswith("hint: make it #![no_std]")
    assert "can't find crate" not in result.stderr  # cargo never ran
    assert not (root / "target" / THUMB).exists()
    listed = crossmatrix(root, "targets", "--json")  # and the plan says so first
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    # beside it, on a machine whose rustup lacks the target, "std (inv install-targets)"
    assert [m for m in row["missing"] if not m.startswith("std (")] == [
        line.removeprefix("error: ")]


def test_targets_and_plan_say_how_bare_metal_is_served(release: tuple[Path, Run]) -> None:
    root, _ = release
    listed = crossmatrix(root, "targets", "--json", "--target", THUMB)
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert row["supported"] is True and row["linkage"] == "static"
    plan = crossmatrix(root, "plan", "--target", RISCV)
    assert plan.returncode == 0, plan.stderr
    assert "linker     rust-lld (" in plan.stdout
    assert "verified structurally, not run: bare metal: " in plan.stdout


def test_core_and_alloc_built_from_source_serve_it_too(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """std-provider = "build-std": core and alloc (not std) built once with Debian's rustc
    into the std cache, and the image linked with rust-lld all the same."""
    root = no_std_project(tmp_path_factory.mktemp("bare-metal-src"), "stm32-src", extra=(
        f'[tool.crossmatrix.target.stm32-src]\ntriple = "{THUMB}"\n'
        'std-provider = "build-std"\n'))
    result = crossmatrix(root, "release")
    assert result.returncode == 0, result.stderr[-3000:]
    info = json.loads((root / "dist" / "stm32-src" / "build_info.json").read_text())
    assert (info["std_provider"], info["compiler"]["kind"], info["linker"]) == (
        "build-std", "debian", "rust-lld")
    sysroot = default_cache_dir() / "sysroots" / info["std_sysroot"]  # named by its entry
    marker = json.loads((sysroot / "crossmatrix-sysroot.json").read_text())
    assert "-Zbuild-std=core,alloc" in marker["inputs"]["cargo args"]
    assert "-Zbuild-std-features=compiler-builtins-mem" in marker["inputs"]["cargo args"]
    rlibs = {Path(name).name.split("-")[0] for name in marker["files"]}
    assert {"libcore", "liballoc", "libcompiler_builtins"} <= rlibs
    assert "libstd" not in rlibs
    checks = _verified(root, "stm32-src")["checks"]
    assert isinstance(checks, dict) and all(check["ok"] for check in checks.values()), checks
    assert checks["float-abi"]["actual"] == "hard"
