"""wasm32-wasip1 and wasm32-wasip2, targets from rustc's own data: two programs of the
sample workspace (one Rust only, one with C compiled by zig through cc) built with rustup's
std and rustc's own rust-lld, verified as a WASI module (preview 1) and a component
(preview 2), run under Wasmtime from PyPI and packaged; the wasm reader cross-checked
against the Bytecode Alliance's wasm-tools; `crossmatrix test` runs the tests under
Wasmtime too."""

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
P2 = "wasm32-wasip2"
#: the checks of each: a component has no _start and no memory export of its own
CHECKS = {TRIPLE: {"format", "valid", "imports", "entry", "memory", "stripped"},
          P2: {"format", "valid", "imports", "entry", "stripped"}}


def staged(triple: str) -> Path:
    return REPO / "crates" / "target" / "crossmatrix" / triple / "bin"


STAGED = staged(TRIPLE)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    # not offline: on a fresh machine crossmatrix itself asks rustup for the two stds (a
    # std built from Debian's source cannot serve them: see the test after the next)
    root = write_project(tmp_path_factory.mktemp("wasi"),
                         'packages = ["edge-agent", "sensor-crc"]\n'
                         f'targets = ["{TRIPLE}", "{P2}"]\n', offline=False)
    return root, crossmatrix(root, "release")


@pytest.mark.parametrize("triple", [TRIPLE, P2])
def test_a_wasi_release_builds_verifies_runs_and_packages(release: tuple[Path, Run],
                                                          triple: str) -> None:
    root, result = release
    assert result.returncode == 0, result.stderr[-3000:]
    dist = root / "dist" / triple
    info = json.loads((dist / "build_info.json").read_text())
    assert (info["os"], info["libc"], info["linkage"], info["arch"]) == (
        "wasi", "wasi", "static", "wasm32")
    assert (info["std_provider"], info["linker_program"]) == ("rustup", "rust-lld")
    assert info["ran"] is True
    programs = {a["name"]: a for a in info["artifacts"]}
    assert set(programs) == {"edge-agent.wasm", "sensor-crc.wasm"}
    for artifact in programs.values():
        assert (artifact["machine"], artifact["stripped"]) == ("wasm32", True)
        if triple == TRIPLE:
            assert artifact["needed"] == ["wasi_snapshot_preview1"]
        else:  # WASI interfaces: wasi:cli/environment@0.2.x …
            assert artifact["needed"] and all(n.startswith("wasi:") for n in artifact["needed"])
        assert artifact["run"]["ran"] and artifact["run"]["names_triple"]
        assert artifact["run"]["runner"].startswith("wasmtime ")
        assert "nothing preopened" in artifact["run"]["runner"]
    assert programs["edge-agent.wasm"]["run"]["output"] == f"edge-agent 0.1.0 ({triple})"
    assert programs["sensor-crc.wasm"]["run"]["output"].startswith(
        f"sensor-crc 0.1.0 ({triple}; C by clang")  # zig's clang compiled its C
    with tarfile.open(dist / info["archive"]["file"]) as archive:
        assert sorted(Path(n).name for n in archive.getnames() if n.endswith(".wasm")) == [
            "edge-agent.wasm", "sensor-crc.wasm"]
    state = json.loads((staged(triple).parent / "state.json").read_text())
    assert set(state["verify"]["data"]) == set(programs)
    for name, verified in state["verify"]["data"].items():
        assert verified["ok"], (name, verified)
        assert set(verified["checks"]) == CHECKS[triple]
        assert all(c["ok"] for c in verified["checks"].values())


@pytest.mark.parametrize("triple", [TRIPLE, P2])
def test_the_staged_module_computes_with_its_c_code_under_wasmtime(
        release: tuple[Path, Run], triple: str) -> None:
    assert release[1].returncode == 0, release[1].stderr[-3000:]
    ran = subprocess.run([sys.executable, "-m", wasi.RUNNER_MODULE,
                          str(staged(triple) / "sensor-crc.wasm"), "123456789"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert (ran.returncode, ran.stdout.strip()) == (0, "cbf43926"), ran.stderr


def _wasm_tools(*args: str) -> str:
    return subprocess.run([str(BIN / "wasm-tools"), *args], capture_output=True, text=True,
                          timeout=120, check=True).stdout


def test_the_wasm_reader_agrees_with_wasm_tools(release: tuple[Path, Run]) -> None:
    """The reader's imports, exports and custom sections, as wasm-tools (an independent
    parser, Rust's wasmparser) prints them, for the stripped module and cargo's own."""
    assert release[1].returncode == 0, release[1].stderr[-3000:]
    staged_module = STAGED / "sensor-crc.wasm"
    unstripped = REPO / "crates" / "target" / TRIPLE / "release" / "sensor-crc.wasm"
    for path in (staged_module, unstripped):
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
    assert "name" not in wasm.read_sections(staged_module.read_bytes()).custom


def test_the_component_reader_agrees_with_wasm_tools(release: tuple[Path, Run]) -> None:
    """The custom sections of a component and of the modules in it, as wasm-tools lists
    them; wasm-tools strip left none."""
    assert release[1].returncode == 0, release[1].stderr[-3000:]
    unstripped = REPO / "crates" / "target" / P2 / "release" / "sensor-crc.wasm"
    for path in (staged(P2) / "sensor-crc.wasm", unstripped):
        found = wasm.read_sections(path.read_bytes())
        custom = re.findall(r'custom "([^"]+)"', _wasm_tools("objdump", str(path)))
        assert (found.layer, found.custom) == (1, tuple(custom))
    assert {"name", "component-name"} <= set(wasm.read_sections(unstripped.read_bytes()).custom)
    assert wasm.read_sections((staged(P2) / "sensor-crc.wasm").read_bytes()).custom == ()


@pytest.mark.parametrize("triple", [TRIPLE, P2])
def test_cargo_test_runs_under_wasmtime(release: tuple[Path, Run], triple: str) -> None:
    root, _ = release
    result = crossmatrix(root, "test", "--target", triple)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    assert "test tests::known_check_value ... ok" in out
    assert re.search(r"tests: \d+ passed \(\d+ suites under wasmtime ", out), out[-2000:]


def test_a_std_from_source_is_refused_in_one_line_before_anything_builds(
        tmp_path: Path) -> None:
    """rustc links WASI with wasi-libc from rustup's std (its self-contained objects): a
    std built from Debian's source cannot serve it (a CI run built one for a minute, then
    cargo failed: rust-lld not found). Asked for build-std, the release stops at once."""
    root = write_project(tmp_path / "wasi-source",
                         'packages = ["edge-agent"]\n'
                         f'targets = ["{TRIPLE}"]\n'
                         f'[tool.crossmatrix.target.{TRIPLE}]\nstd-provider = "build-std"\n')
    result = crossmatrix(root, "release")
    assert result.returncode == 3, result.stderr[-2000:]
    assert "building std" not in result.stderr and "Compiling" not in result.stderr
    assert (f"no std for {TRIPLE} from provider 'build-std': rustc links {TRIPLE} with the "
            "C runtime of rustup's std") in result.stderr
    assert f"hint: `rustup target add {TRIPLE}`" in result.stderr
    assert not (root / "dist" / TRIPLE).exists()
