"""``crossmatrix plan``: the whole plan of a build, printed, with nothing written — not the
project, not the cache. The executors (``configure`` here) are what write."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.integration.helpers import command, crossmatrix, write_project

MAIN = 'fn main() { println!("{}", env!("TARGET_TRIPLE", "?")); }\n'


def _tree(root: Path) -> dict[str, str]:
    """Every path below ``root`` with its kind and content hash (or link target)."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            found[rel] = "link " + str(path.readlink())
        elif path.is_file():
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[rel] = "dir"
    return found


def _workspace(root: Path) -> Path:
    ws = root / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "Cargo.toml").write_text('[package]\nname = "hello"\nversion = "0.1.0"\n'
                                   'edition = "2021"\n')
    (ws / "src" / "main.rs").write_text(MAIN)
    assert command(["cargo", "generate-lockfile", "--offline"], cwd=ws).returncode == 0
    return ws


def test_plan_prints_everything_and_writes_nothing(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    project = write_project(tmp_path / "project", workspace=ws)
    cache = tmp_path / "cache"
    cache.mkdir()
    env = {"CROSSMATRIX_CACHE_DIR": str(cache)}
    before = (_tree(project), _tree(ws))

    result = crossmatrix(project, "plan", "--json", "--target", "linux-aarch64",
                         "--target", "windows-x86_64", env=env)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["schema_version"] == 1
    aarch64, windows = plan["targets"]
    assert aarch64["triple"] == "aarch64-unknown-linux-musl"
    assert aarch64["std"]["provider"] in ("rustup", "build-std")
    assert aarch64["linker"]["kind"] == "zig" and len(aarch64["linker"]["writes"]) == 4
    assert not any(Path(p).exists() for p in aarch64["linker"]["writes"])
    toolchain, = aarch64["cargo"]["writes"]  # the CMake toolchain file, named per target
    assert aarch64["cargo"]["env"]["CMAKE_TOOLCHAIN_FILE_aarch64_unknown_linux_musl"] == toolchain
    assert not Path(toolchain).exists()
    assert aarch64["cargo"]["build"][1:4] == ["build", "--target", "aarch64-unknown-linux-musl"]
    assert aarch64["cargo"]["test"][1] == "test" and "--bins" not in aarch64["cargo"]["test"]
    assert "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER" in aarch64["cargo"]["env"]
    assert [s["name"] for s in aarch64["steps"]] == [
        "compile", "strip", "verify", "run", "package"]
    assert windows["linker"]["linker"] == "x86_64-w64-mingw32-gcc"

    text = crossmatrix(project, "plan", "--target", "macos-aarch64", env=env)
    assert text.returncode == 0, text.stderr
    assert "macos-aarch64 (aarch64-apple-darwin)" in text.stdout
    assert "verified structurally, not run" in text.stdout
    assert crossmatrix(project, "targets", "--json", env=env).returncode == 0
    assert crossmatrix(project, "doctor", "--json", env=env).returncode == 0

    assert list(cache.iterdir()) == []  # not even remembered probes
    assert (_tree(project), _tree(ws)) == before

    # the executor writes what the plan named: the wrappers and .cargo/config.toml
    assert crossmatrix(project, "configure", "--target", "linux-aarch64",
                       env=env).returncode == 0
    assert all(Path(p).is_file() for p in aarch64["linker"]["writes"])
    assert (project / ".cargo" / "config.toml").is_file()


def test_plan_of_a_bad_target_is_one_line(tmp_path: Path) -> None:
    project = write_project(tmp_path / "project", workspace=_workspace(tmp_path))
    result = crossmatrix(project, "plan", "--target", "linux-sparc")
    assert result.returncode == 2
    assert result.stderr.startswith("error: unknown target 'linux-sparc'")
    assert "Traceback" not in result.stderr
