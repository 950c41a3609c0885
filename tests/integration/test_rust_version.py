"""A crate whose rust-version is newer than rustup's default toolchain may be: crossmatrix
picks a compiler here that meets it (rustup's when it does, else Debian's rustc-web with
its own std), and says so; one that nothing here meets stops before cargo runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.helpers import crossmatrix
from tooling.util import versions

pytestmark = pytest.mark.integration


def _crate(root: Path, rust_version: str) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "Cargo.toml").write_text(
        '[package]\nname = "msrv-hello"\nversion = "0.1.0"\nedition = "2021"\n'
        f'rust-version = "{rust_version}"\n\n'
        '[package.metadata.crossmatrix]\noffline = true\ntargets = ["linux-x86_64-gnu"]\n')
    (root / "src" / "main.rs").write_text('fn main() { println!("msrv-hello"); }\n')
    return root


def test_a_compiler_that_meets_rust_version_builds_and_runs(tmp_path: Path) -> None:
    crate = _crate(tmp_path / "msrv", "1.96")
    planned = crossmatrix(crate, "plan", "--json", timeout=300)
    assert planned.returncode == 0, planned.stderr[-2000:]
    (target,) = json.loads(planned.stdout)["targets"]
    assert target["ready"], target["missing"]
    chosen = target["compiler"]
    assert chosen["rust_version"] == "1.96"
    assert versions.parse(chosen["release"]) >= (1, 96)
    assert "rust-version 1.96 (msrv-hello)" in chosen["reason"]

    result = crossmatrix(crate, "-v", "release", timeout=900)  # -v: the step lines
    assert result.returncode == 0, result.stderr[-3000:]
    assert "is not supported by the following packages" not in result.stderr
    said = [x for x in result.stderr.splitlines() if "linux-x86_64-gnu compiler: " in x]
    assert said and said[0].endswith(chosen["reason"]), result.stderr[-3000:]
    info = json.loads((crate / "dist" / "linux-x86_64-gnu" / "build_info.json").read_text())
    assert info["compiler"]["kind"] == chosen["kind"]
    assert info["compiler"]["commit"] == chosen["commit"]
    assert info["std_provider"] == target["std"]["provider"]
    (artifact,) = info["artifacts"]
    assert artifact["run"]["ran"] is True and artifact["run"]["output"] == "msrv-hello"


def test_a_rust_version_nothing_here_meets_is_one_line_before_cargo(tmp_path: Path) -> None:
    crate = _crate(tmp_path / "future", "1.999")
    result = crossmatrix(crate, "release", timeout=300)
    assert result.returncode == 3, result.stderr[-2000:]
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert "rust-version 1.999 (msrv-hello) needs rustc 1.999 or newer; here: " in line
    assert "`rustup toolchain install 1.999`" in result.stderr
    assert "Compiling" not in result.stderr
    assert not (crate / "target" / "x86_64-unknown-linux-gnu").exists()
