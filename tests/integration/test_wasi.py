"""wasm32-wasip1, a target from rustc's own data: two programs of the sample workspace (one
Rust only, one with C compiled by zig through cc) built with rustup's std and rustc's own
rust-lld, verified as WASI modules, run under Wasmtime from PyPI and packaged; the wasm
reader cross-checked against the Bytecode Alliance's wasm-tools; `crossmatrix test` runs
the tests under Wasmtime too."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.integration.helpers import BIN, REPO, Run, crossmatrix, write_project
from tooling.platforms import wasi
from tooling.verify import wasm

pytestmark = pytest.mark.integration

TRIPLE = "wasm32-wasip1"
STAGED = REPO / "crates" / "target" / "crossmatrix" / TRIPLE / "bin"


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    root = write_project(tmp_path_factory.mktemp("wasi"),
                         f'packages = ["edge-agent", "sensor-crc"]\ntargets = ["{TRIPLE}"]\n')
    return root, crossmatrix(root, "release")


def test_a_wasi_release_builds_verifies_runs_and_packages(release: tuple[Path, Run]) -> None:
    root, result = release
    assert result.returncode == 0, result.stderr[-3000:]
    dist = root / "dist" / TRIPLE
    info = json.loads((dist / "build_info.json").read_text())
    assert (info["os"], info["libc"], info["linkage"], info["arch"]) == (
        "wasi", "wasi", "static", "wasm32")
    assert (info["std_provider"], info["linker_program"]) == ("rustup", "rust-lld")
    assert info["ran"] is True
    programs = {a["name"]: a for a in info["artifacts"]}
    assert set(programs) == {"edge-agent.wasm", "sensor-crc.wasm"}
    for artifact in programs.values():
        assert (artifact["machine"], artifact["needed"], artifact["stripped"]) == (
            "wasm32", ["wasi_snapshot_preview1"], True)
        assert artifact["run"]["ran"] and artifact["run"]["names_triple"]
        assert artifact["run"]["runner"].startswith("wasmtime ")
        assert "nothing preopened" in artifact["run"]["runner"]
    assert programs["edge-agent.wasm"]["run"]["output"] == f"edge-agent 0.1.0 ({TRIPLE})"
    assert programs["sensor-crc.wasm"]["run"]["output"].startswith(
        f"sensor-crc 0.1.0 ({TRIPLE}; C by clang")  # zig's clang compiled its C
    with tarfile.open(dist / info["archive"]["file"]) as archive:
        assert sorted(Path(n).name for n in archive.getnames() if n.endswith(".wasm")) == [
            "edge-agent.wasm", "sensor-crc.wasm"]
    state = json.loads((STAGED.parent / "state.json").read_text())
    for name, verified in state["verify"]["data"].items():
        assert verified["ok"], (name, verified)
        assert set(verified["checks"]) == {"format", "valid", "imports", "entry", "memory",
                                           "stripped"}
        assert all(c["ok"] for c in verified["checks"].values())


def test_the_staged_module_computes_with_its_c_code_under_wasmtime(
        release: tuple[Path, Run]) -> None:
    assert release[1].returncode == 0, release[1].stderr[-3000:]
    ran = subprocess.run([sys.executable, "-m", wasi.RUNNER_MODULE,
                          str(STAGED / "sensor-crc.wasm"), "123456789"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert (ran.returncode, ran.stdout.strip()) == (0, "cbf43926"), ran.stderr


def _wasm_tools(*args: str) -> str:
    return subprocess.run([str(BIN / "wasm-tools"), *args], capture_output=True, text=True,
                          timeout=120, check=True).stdout


def test_the_wasm_reader_agrees_with_wasm_tools(release: tuple[Path, Run]) -> None:
    """The reader's imports, exports and custom sections, as wasm-tools (an independent
    parser, Rust's wasmparser) prints them, for the stripped module and cargo's own."""
    assert release[1].returncode == 0, release[1].stderr[-3000:]
    staged = STAGED / "sensor-crc.wasm"
    unstripped = REPO / "crates" / "target" / TRIPLE / "release" / "sensor-crc.wasm"
    for path in (staged, unstripped):
        found = wasm.read_sections(path.read_bytes())
        printed = _wasm_tools("print", str(path))
        imports = re.findall(r'\(import "([^"]+)" "([^"]+)" \((\w+)', printed)
        exports = re.findall(r'\(export "([^"]+)" \((\w+)', printed)
        assert found.imports == tuple(imports)
        assert found.exports == tuple(exports)
        custom = re.findall(r'custom "([^"]+)"', _wasm_tools("objdump", str(path)))
        assert found.custom == tuple(custom)
        assert wasm.wasmtime_lists(path.read_bytes()) == (found.imports, found.exports)
    assert "name" in wasm.read_sections(unstripped.read_bytes()).custom
    assert "name" not in wasm.read_sections(staged.read_bytes()).custom


def test_cargo_test_runs_under_wasmtime(release: tuple[Path, Run]) -> None:
    root, _ = release
    result = crossmatrix(root, "test", "--target", TRIPLE)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    assert "test tests::known_check_value ... ok" in out
    assert re.search(r"tests: \d+ passed \(\d+ suites under wasmtime ", out), out[-2000:]
