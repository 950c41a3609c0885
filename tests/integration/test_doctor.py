"""`crossmatrix doctor` on a real cargo workspace, offline: crates this machine's cargo
registry already holds (the versions of crates/Cargo.lock), read by the real `cargo metadata`
and `cargo tree`, classified per target and checked against what is installed here.

openssl-sys is not among the sample workspace's crates (so not in an offline registry);
libsqlite3-sys without `bundled` plays its part: a system library, which Debian can give a
gnu target and nothing can give a musl one but the crate's own bundled copy.
"""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import REPO, crossmatrix

pytestmark = pytest.mark.integration

CRATES = ("itoa", "libz-sys", "libsqlite3-sys", "prost-build")


def _versions() -> dict[str, str]:
    """The sample workspace's versions of CRATES, when their .crate files are here."""
    lock = tomllib.loads((REPO / "crates" / "Cargo.lock").read_text())
    versions = {p["name"]: p["version"] for p in lock["package"] if p["name"] in CRATES}
    cargo_home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    cached = {p.name for p in (cargo_home / "registry" / "cache").glob("*/*.crate")}
    missing = [name for name in CRATES if f"{name}-{versions.get(name)}.crate" not in cached]
    if missing:
        pytest.skip(f"not in the local cargo registry (run `inv setup`): {', '.join(missing)}")
    return versions


def _workspace(root: Path, versions: dict[str, str]) -> Path:
    app = root / "app"
    (app / "src").mkdir(parents=True)
    (root / "Cargo.toml").write_text('[workspace]\nresolver = "2"\nmembers = ["app"]\n')
    (app / "Cargo.toml").write_text(
        '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n'
        "[dependencies]\n"
        f'itoa = "={versions["itoa"]}"\n'
        f'libz-sys = {{ version = "={versions["libz-sys"]}", features = ["static"] }}\n'
        f'libsqlite3-sys = "={versions["libsqlite3-sys"]}"\n\n'
        "[build-dependencies]\n"
        f'prost-build = "={versions["prost-build"]}"\n')
    (app / "src" / "main.rs").write_text("fn main() {}\n")
    (app / "build.rs").write_text("fn main() {}\n")
    (root / "pyproject.toml").write_text(
        '[tool.crossmatrix]\noffline = true\ntargets = ["linux-aarch64-gnu", "linux-x86_64"]\n')
    return root


def _rows(document: dict[str, Any], target: str) -> dict[str, dict[str, Any]]:
    report = next(t for t in document["targets"] if t["name"] == target)
    return {d["crate"]: d for d in report["dependencies"]}


def test_doctor_on_a_real_workspace(tmp_path: Path) -> None:
    project = _workspace(tmp_path / "ws", _versions())
    result = crossmatrix(project, "doctor", "--json", "--target", "linux-aarch64-gnu",
                         "--target", "linux-x86_64", timeout=300)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert [t["triple"] for t in document["targets"]] == [
        "aarch64-unknown-linux-gnu", "x86_64-unknown-linux-musl"]
    protoc = bool(os.environ.get("PROTOC")) or shutil.which("protoc") is not None
    sqlite_arm64 = any(Path(d, "sqlite3.pc").is_file()
                       for d in ("/usr/lib/aarch64-linux-gnu/pkgconfig", "/usr/share/pkgconfig"))
    for target in ("linux-aarch64-gnu", "linux-x86_64"):
        rows = _rows(document, target)
        assert rows["itoa"]["tier"] == 1 and rows["itoa"]["present"]
        assert rows["prost-build"]["tier"] == 1
        # libz-sys with `static` compiles its bundled zlib with the target's C compiler
        assert rows["libz-sys"]["tier"] == 2
        assert rows["libz-sys"]["note"] == "compiles its bundled zlib (`static`)"
        assert rows["libz-sys"]["needs"][0].startswith(f"C compiler for {target}")
        # the member's build script runs prost-build, which runs protoc
        assert rows["app"]["tier"] == 3
        assert rows["app"]["needs"] == ["protoc (protobuf compiler)"]
        assert rows["app"]["present"] is protoc
        assert rows["libsqlite3-sys"]["tier"] == 3
        assert rows["libsqlite3-sys"]["via"] == ["app", "libsqlite3-sys"]

    gnu = _rows(document, "linux-aarch64-gnu")["libsqlite3-sys"]
    assert gnu["needs"][0] == "SQLite for arm64 (sqlite3.pc)"
    assert gnu["present"] is sqlite_arm64
    if not sqlite_arm64:
        assert 'pre-build = ["apt-get install -y libsqlite3-dev:$DEB_ARCH"]' in gnu["fix"]

    musl = _rows(document, "linux-x86_64")["libsqlite3-sys"]
    assert musl["present"] is False and musl["missing"] == ["SQLite built for linux-x86_64"]
    assert musl["fix"].startswith("enable libsqlite3-sys's `bundled` feature")
    musl_report = next(t for t in document["targets"] if t["name"] == "linux-x86_64")
    assert musl_report["score"] < 100 and musl_report["tiers"]["external"] == 2

    strict = crossmatrix(project, "doctor", "--strict", "--target", "linux-x86_64",
                         timeout=300)
    assert strict.returncode == 1
    assert "libsqlite3-sys" in strict.stdout  # the table, with the fix
    error = [line for line in strict.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "libsqlite3-sys on linux-x86_64" in error[0]
