"""glibc floors: binaries (C code included) linked against an old glibc, and proven to need
no newer GLIBC_x.y; and a binary that needs a newer one caught by verify."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.integration.helpers import FORCED_PROVIDERS, REPO, Run, crossmatrix, write_project
from tooling.matrix.targets import resolve
from tooling.platforms import linux
from tooling.verify import elf

pytestmark = pytest.mark.integration


def _v(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


@pytest.fixture(scope="module")
def floor_release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    project = write_project(tmp_path_factory.mktemp("floor"), FORCED_PROVIDERS)
    result = crossmatrix(project, "release", "--target", "linux-aarch64-gnu.2.17",
                         "--target", "x86_64-unknown-linux-gnu.2.17")
    return project, result


@pytest.mark.parametrize("name", ["linux-aarch64-gnu.2.17", "linux-x86_64-gnu.2.17"])
def test_floor_holds_and_binaries_run(floor_release: tuple[Path, Run], name: str) -> None:
    project, result = floor_release
    assert result.returncode == 0, result.stderr[-3000:]
    dist = project / "dist" / name
    info = json.loads((dist / "build_info.json").read_text())
    assert info["glibc_floor"] == "2.17"
    assert info["linker"] == "zig"
    assert _v(info["highest_glibc"]) <= (2, 17)
    target = resolve(name)[0]
    names = {a["name"] for a in info["artifacts"]}
    assert "sensor-crc" in names  # the crate with C code compiled through cc
    for artifact in info["artifacts"]:
        # measure again from the staged binary, independently of build_info.json
        staged = REPO / "crates" / "target" / "crossmatrix" / name / "bin" / artifact["name"]
        facts = elf.read_facts(staged)
        assert facts.highest_glibc is not None and _v(facts.highest_glibc) <= (2, 17)
        if artifact["kind"] != "bin":  # build_core's Python module: a library, not run
            continue
        ran = subprocess.run([*linux.prefix(target), str(staged), "--version"],
                             capture_output=True, text=True, timeout=120, check=False)
        assert ran.returncode == 0 and target.triple in ran.stdout, ran.stderr
        if artifact["name"] == "sensor-crc":
            assert "C by clang" in ran.stdout  # zig cc compiled the C code, not the host gcc
            crc = subprocess.run([*linux.prefix(target), str(staged), "123456789"],
                                 capture_output=True, text=True, timeout=120, check=True)
            assert crc.stdout.strip() == "cbf43926"


def test_verify_against_a_floor_names_the_newer_symbols(
        matrix_release: tuple[Path, Run]) -> None:
    """The gcc-linked glibc build of the matrix needs GLIBC_2.34: a 2.17 board can't run it."""
    project, release = matrix_release
    assert release.returncode == 0
    result = crossmatrix(project, "verify", "--target", "linux-x86_64-gnu", "--glibc", "2.17")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    last = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(last) == 1
    assert "glibc expected <= 2.17" in last[0]
    assert "@GLIBC_2." in last[0]  # names the offending symbols with their versions


def test_calling_a_newer_function_under_a_floor_is_explained(tmp_path: Path) -> None:
    crate = tmp_path / "newsym"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(
        '[package]\nname = "newsym"\nversion = "0.1.0"\nedition = "2021"\n')
    (crate / "src" / "main.rs").write_text(
        'extern "C" { fn getrandom(buf: *mut u8, len: usize, flags: u32) -> isize; }\n'
        "fn main() { let mut b = [0u8; 8]; let n = unsafe { getrandom(b.as_mut_ptr(), 8, 0) };"
        ' println!("{n} (x86_64-unknown-linux-gnu)"); }\n')
    (crate / "pyproject.toml").write_text(
        '[tool.crossmatrix]\noffline = true\nglibc = "2.17"\ntargets = ["linux-x86_64-gnu"]\n')
    result = crossmatrix(crate, "compile")
    assert result.returncode == 1
    assert "getrandom is not in glibc 2.17" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("spec", ["linux-aarch64.2.17", "linux-aarch64-gnu.2.5",
                                  "linux-aarch64-gnu.two"])
def test_bad_floor_is_bad_input(tmp_path: Path, spec: str) -> None:
    result = crossmatrix(write_project(tmp_path / "p"), "targets", "--target", spec)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2
    assert "Traceback" not in result.stderr
