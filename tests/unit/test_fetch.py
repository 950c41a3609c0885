"""``inv setup``'s ``cargo fetch``: a failure says why, with a real (fake) cargo."""

from __future__ import annotations

from pathlib import Path

import pytest

from tooling.errors import StepFailed
from tooling.matrix import config
from tooling.setup import install
from tooling.std.compiler import Compiler

#: what cargo said for tealdeer 1.9.1's Cargo.lock here (seen in the corpus): the registry
#: mirror has no webpki-roots 1.0.11
NOT_IN_REGISTRY = (
    "    Updating crates.io index\n"
    "error: failed to select a version for the requirement `webpki-roots = \"^1.0.10\"` "
    "(locked to 1.0.11)\n"
    "candidate versions found which didn't match: 1.0.10, 1.0.9, 1.0.8, ...\n"
    "location searched: crates.io index\n")


class FakeCompiler:
    def __init__(self, cargo: Path) -> None:
        self.cargo = cargo

    def env(self) -> dict[str, str]:
        return {}


@pytest.mark.parametrize(("said", "hint"), [
    (NOT_IN_REGISTRY, "the registry here has no webpki-roots 1.0.11, which Cargo.lock pins (a "
                      "mirror behind crates.io, or a release taken down): `cargo update -p "
                      "webpki-roots` to a version it has, or use a registry that has it"),
    ("error: failed to download from `https://index.crates.io/...`\n",
     "cargo could not download the crates; setup needs the network once"),
])
def test_a_failed_fetch_says_why(said: str, hint: str, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "said").write_text(said)
    cargo = tmp_path / "cargo"
    cargo.write_text(f"#!/bin/sh\ncat '{tmp_path / 'said'}' >&2\nexit 101\n")
    cargo.chmod(0o755)
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "app"\nversion = "0.1.0"\n')
    (tmp_path / "Cargo.lock").write_text("version = 4\n")
    fake: Compiler = FakeCompiler(cargo)  # type: ignore[assignment]
    monkeypatch.setattr(install, "_compiler", lambda project: fake)
    with pytest.raises(StepFailed) as caught:
        install.fetch_crates(config.load(tmp_path))
    assert caught.value.message == "cargo fetch failed with exit code 101"
    assert caught.value.hint == hint
