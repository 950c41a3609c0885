"""A project nobody here wrote: one crate whose settings are in its own Cargo.toml (no
pyproject.toml) and whose program prints a plain version line, no target triple."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.helpers import crossmatrix

pytestmark = pytest.mark.integration


def test_a_crate_configured_in_cargo_toml_releases_on_exit_0(tmp_path: Path) -> None:
    crate = tmp_path / "plain"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(
        '[package]\nname = "plain"\nversion = "0.3.1"\nedition = "2021"\n\n'
        '[package.metadata.crossmatrix]\noffline = true\ntargets = ["linux-x86_64-gnu"]\n'
        'dist = "out"\n')
    (crate / "src" / "main.rs").write_text(
        'fn main() { println!("plain {}", env!("CARGO_PKG_VERSION")); }\n')
    result = crossmatrix(crate, "release", timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "warning:" not in result.stderr
    info = json.loads((crate / "out" / "linux-x86_64-gnu" / "build_info.json").read_text())
    assert info["project"] == "plain" and info["ran"] is True
    (artifact,) = info["artifacts"]
    assert artifact["run"]["ran"] is True
    assert artifact["run"]["output"] == "plain 0.3.1"
    assert artifact["run"]["names_triple"] is False
