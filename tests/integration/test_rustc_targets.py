"""Triples beyond the table, from the real rustcs here: `targets` and `plan` answer for each,
the steps refuse the ones crossmatrix cannot build yet in one line, and one new Linux
target (soft-float ARMv6 with musl, a named row of the project) is built, verified and run
under qemu."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.integration.helpers import REPO, Run, crossmatrix, write_project
from tooling.matrix.targets import resolve
from tooling.platforms import linux
from tooling.verify import elf

pytestmark = pytest.mark.integration

LINUX = ("arm-unknown-linux-gnueabihf", "armv7-unknown-linux-musleabi",
         "s390x-unknown-linux-gnu", "powerpc64le-unknown-linux-gnu",
         "loongarch64-unknown-linux-gnu")
#: other OSes zig links (tooling/platforms/freebsd.py, netbsd.py; windows.py's gnullvm)
ZIG_OS = ("x86_64-unknown-freebsd", "aarch64-unknown-freebsd", "x86_64-unknown-netbsd",
          "aarch64-pc-windows-gnullvm")
NOT_YET = ("x86_64-unknown-illumos", "avr-none", "x86_64-pc-windows-msvc")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("rustc-targets"))


@pytest.mark.parametrize("triple", LINUX + ZIG_OS + NOT_YET)
def test_targets_answers_for_rustcs_triples(project: Path, triple: str) -> None:
    result = crossmatrix(project, "targets", "--json", "--target", triple)
    assert result.returncode == 0, result.stderr
    assert "unknown target" not in result.stdout + result.stderr
    [row] = json.loads(result.stdout)
    assert row["triple"] == triple
    assert row["supported"] is (triple not in NOT_YET)
    if triple in NOT_YET:
        [why] = row["missing"]
        assert why.startswith("not supported yet: compile: ")
        assert row["known_by"] and all("rustc" in who for who in row["known_by"])
    else:
        assert row["linkage"] == ("static" if "musl" in triple else "dynamic")


def test_plan_and_release_for_a_triple_not_supported_yet(project: Path) -> None:
    plan = crossmatrix(project, "plan", "--target", "x86_64-unknown-illumos")
    assert plan.returncode == 0, plan.stderr
    assert "x86_64-unknown-illumos  — not supported yet" in plan.stdout
    assert "compile    no platform module for target_os illumos" in plan.stdout
    release = crossmatrix(project, "release", "--target", "x86_64-unknown-illumos")
    assert release.returncode == 2
    [line, *_] = release.stderr.strip().splitlines()
    assert "x86_64-unknown-illumos" in line
    assert "not supported yet: compile: no platform module" in line
    unknown = crossmatrix(project, "targets", "--target", "wasm32-wasip9")
    assert unknown.returncode == 2
    assert "unknown target 'wasm32-wasip9'" in unknown.stderr
    assert "did you mean" in unknown.stderr and "wasm32-wasip1" in unknown.stderr


@pytest.fixture(scope="module")
def arm_soft_release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    """sensor-crc (Rust and C through cc) for arm-unknown-linux-musleabi, a named row."""
    root = write_project(tmp_path_factory.mktemp("arm-soft"),
                         'packages = ["sensor-crc"]\ntargets = ["linux-arm-soft"]\n'
                         "[tool.crossmatrix.target.linux-arm-soft]\n"
                         'triple = "arm-unknown-linux-musleabi"\n'
                         'std-provider = "build-std"\n')
    return root, crossmatrix(root, "release")


def test_a_new_linux_target_builds_verifies_and_runs(
        arm_soft_release: tuple[Path, Run]) -> None:
    root, result = arm_soft_release
    assert result.returncode == 0, result.stderr[-3000:]
    dist = root / "dist" / "linux-arm-soft"
    info = json.loads((dist / "build_info.json").read_text())
    assert info["triple"] == "arm-unknown-linux-musleabi"
    assert info["linkage"] == "static"
    target = resolve("arm-unknown-linux-musleabi")[0]
    staged = REPO / "crates" / "target" / "crossmatrix" / "linux-arm-soft" / "bin" / "sensor-crc"
    facts = elf.read_facts(staged)  # measured again, apart from the verify step
    assert (facts.machine, facts.elf_class, facts.float_abi, facts.static) == (
        "EM_ARM", 32, "soft", True)
    assert all(check.ok for check in elf.verify(facts, target)), elf.verify(facts, target)
    ran = subprocess.run([*linux.prefix(target), str(staged), "--version"], capture_output=True,
                         text=True, timeout=120, check=False)
    assert ran.returncode == 0 and "arm-unknown-linux-musleabi" in ran.stdout, ran.stderr
    crc = subprocess.run([*linux.prefix(target), str(staged), "123456789"],
                         capture_output=True, text=True, timeout=120, check=True)
    assert crc.stdout.strip() == "cbf43926"  # its C code, compiled by zig for ARMv6
