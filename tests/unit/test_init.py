"""crossmatrix init: the table it writes (targets from the project's files, binaries from
cargo metadata, doctor's findings as comments), the file kept byte for byte, the refusals,
and the written settings loading through config.py without a warning. cargo metadata
really runs (crates without dependencies); doctor's dependency graph is fabricated."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.unit.fake_cargo import FakeMetadata
from tooling.doctor import audit, depgraph
from tooling.doctor.classify import Context
from tooling.doctor.depgraph import Package, graph
from tooling.doctor.presence import Machine, Need
from tooling.errors import ConfigError
from tooling.matrix import config, workspace
from tooling.matrix.targets import TABLE, Target, by_name
from tooling.scaffold import init

CARGO_TOML = """\
# the workspace of two programs and a library
[workspace]
resolver = "2"
members = ["app", "tool", "core"]   # keep this comment

[workspace.metadata.docs]
tag = 'single quotes stay'

[profile.release]
debug = false
"""


def _crate(root: Path, name: str, *, kind: str = "bin") -> None:
    src = root / name / "src"
    src.mkdir(parents=True)
    (root / name / "Cargo.toml").write_text(
        f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n')
    (src / ("main.rs" if kind == "bin" else "lib.rs")).write_text("fn main() {}\n")


def _workspace(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "Cargo.toml").write_text(CARGO_TOML)
    _crate(root, "app")
    _crate(root, "tool")
    _crate(root, "core", kind="lib")
    return root


def _openssl_graph() -> FakeMetadata:
    meta = FakeMetadata()
    meta.add("app", "0.1.0", member=True, deps=["openssl-sys", "itoa"])
    meta.add("openssl-sys", "0.9.105", links="openssl", build=["cc", "pkg-config"])
    meta.add("itoa", "1.0.18")
    meta.add("cc", "1.2.0")
    meta.add("pkg-config", "0.3.34")
    return meta


@pytest.fixture
def doctor(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """doctor on a fabricated graph, on a machine (a folder) with no libraries and no tools."""
    empty = tmp_path / "machine"
    (empty / "bin").mkdir(parents=True)

    def packages_for(project: config.Project, target: Target, *, dev: bool = False
                     ) -> list[Package]:
        return graph(_openssl_graph().json(), dev=dev)

    def context_for(project: config.Project, target: Target,
                    packages: Any) -> Context:
        return Context(target=target, machine=Machine(env={"PATH": str(empty / "bin")},
                                                      root=empty),
                       c_toolchain=Need(what=f"C compiler for {target.name}", ok=True),
                       host_cc=Need(what="cc", ok=True), host=by_name()["linux-x86_64-gnu"],
                       pre_build=project.pre_build_for(target),
                       crates=frozenset(p.name for p in packages),
                       config_table=project.config_table)

    monkeypatch.setattr(depgraph, "packages_for", packages_for)
    monkeypatch.setattr(audit, "context_for", context_for)
    workspace.metadata.cache_clear()


def _run(root: Path, *args: str) -> int:
    from tooling.cli.main import program

    try:
        program.run(["crossmatrix", "--project", str(root), "init", *args])
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    return 0


def _loads_quietly(root: Path, capsys: pytest.CaptureFixture[str]) -> config.Project:
    capsys.readouterr()
    project = config.load(root)
    assert capsys.readouterr().err == ""
    return project


def test_targets_from_cargo_config_and_rust_toolchain(
        tmp_path: Path, doctor: None, capsys: pytest.CaptureFixture[str]) -> None:
    root = _workspace(tmp_path / "ws")
    (root / ".cargo").mkdir()
    (root / ".cargo" / "config.toml").write_text('[build]\ntarget = "aarch64-unknown-linux-gnu"\n')
    (root / "rust-toolchain.toml").write_text(
        '[toolchain]\nchannel = "stable"\ntargets = ["x86_64-unknown-linux-musl", '
        '"wasm32-unknown-unknown", "aarch64-unknown-linux-gnu", "i686-unknown-linux-musl"]\n')
    assert _run(root) == 0
    text = (root / "Cargo.toml").read_text()
    assert text.startswith(CARGO_TOML)  # the user's file, byte for byte, then the table
    added = text[len(CARGO_TOML):]
    assert added.startswith("\n[workspace.metadata.crossmatrix]\n")
    settings = tomllib.loads(text)["workspace"]["metadata"]["crossmatrix"]
    # triples by their row's name; one no row has stays a triple (an ad-hoc target)
    assert settings["targets"] == ["linux-aarch64-gnu", "linux-x86_64",
                                   "i686-unknown-linux-musl"]
    assert settings["smoke-args"] == ["--version"]
    assert "# wasm32-unknown-unknown (from rust-toolchain.toml) is no target" in added
    assert "from .cargo/config.toml and rust-toolchain.toml" in added
    assert "# Binaries: app, tool." in added and "# Libraries: core (lib)" in added
    lines = added.splitlines()
    # doctor's finding for the gnu target, each fix on its line: the pre-build one whole
    at = lines.index("# linux-aarch64-gnu: openssl-sys needs")
    assert lines[at + 1].startswith("#   OpenSSL for arm64 (openssl.pc): enable openssl-sys's "
                                    "`vendored` feature")
    assert ('#     or add pre-build = ["apt-get install -y libssl-dev:$DEB_ARCH"] to '
            "[workspace.metadata.crossmatrix.target.linux-aarch64-gnu]") in lines[at + 2:at + 4]
    assert "#   pkg-config: install Debian's pkg-config" in lines
    at = lines.index("# linux-x86_64: openssl-sys needs")
    assert lines[at + 1].startswith("#   OpenSSL built for linux-x86_64: enable")
    assert not any("apt-get" in line for line in lines[at:at + 4])  # musl: no Debian library
    prose = " ".join(line.removeprefix("#").strip() for line in lines)
    assert ("linux-x86_64: 5 crates (4 pure Rust; a library or tool beyond that: "
            "openssl-sys); 4 of 5 ready here") in prose
    assert all(len(line) <= 94 for line in lines if line.startswith("#") and " or " not in line
               and ": enable" not in line)
    project = _loads_quietly(root, capsys)
    assert project.config_table == config.WORKSPACE_TABLE
    assert [t.name for t in project.select(None)] == settings["targets"]


def test_the_default_matrix_and_a_crate_without_binaries(
        tmp_path: Path, doctor: None, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "lib"
    _crate(tmp_path, "lib", kind="lib")
    original = (root / "Cargo.toml").read_bytes()
    assert _run(root) == 0
    text = (root / "Cargo.toml").read_bytes()
    assert text.startswith(original)
    settings = tomllib.loads(text.decode())["package"]["metadata"]["crossmatrix"]
    assert settings["targets"] == [t.name for t in TABLE]
    assert "smoke-args" not in settings
    assert b"# No binaries: nothing for the smoke test to run." in text
    assert _loads_quietly(root, capsys).config_table == config.PACKAGE_TABLE


def test_an_existing_table_is_refused_in_one_line_and_the_file_untouched(
        tmp_path: Path, doctor: None, capsys: pytest.CaptureFixture[str]) -> None:
    root = _workspace(tmp_path / "ws")
    assert _run(root, "--target", "linux-x86_64") == 0
    before = (root / "Cargo.toml").read_bytes()
    capsys.readouterr()
    assert _run(root, "--target", "windows-x86_64") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "already has [workspace.metadata.crossmatrix]" in err[0] and "--force" in err[0]
    assert (root / "Cargo.toml").read_bytes() == before
    # a pyproject.toml table would win over the Cargo.toml one: refused even with --force
    (root / "pyproject.toml").write_text('[tool.crossmatrix]\ntargets = ["linux-x86_64"]\n')
    manifest = (root / "Cargo.toml").read_bytes()
    assert _run(root, "--force") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "[tool.crossmatrix], which wins over" in err[0]
    assert (root / "Cargo.toml").read_bytes() == manifest


def test_force_replaces_the_table_and_its_target_tables_only(
        tmp_path: Path, doctor: None, capsys: pytest.CaptureFixture[str]) -> None:
    root = _workspace(tmp_path / "ws")
    old = ('\n[workspace.metadata.crossmatrix]\ntargets = ["linux-x86_64"]\n\n'
           '[workspace.metadata.crossmatrix.target.linux-x86_64]\nlinker = "gcc"\n')
    after = "\n[patch.crates-io]\n# a comment after the old table\n"
    (root / "Cargo.toml").write_text(CARGO_TOML + old + after)
    assert _run(root, "--force", "--target", "tag:windows") == 0
    text = (root / "Cargo.toml").read_text()
    # the old table's lines are gone, every other byte is as it was
    assert text.startswith(CARGO_TOML + after + "\n[workspace.metadata.crossmatrix]\n")
    assert text.count("[workspace.metadata.crossmatrix") == 1
    settings = tomllib.loads(text)["workspace"]["metadata"]["crossmatrix"]
    assert settings["targets"] == ["windows-x86_64", "windows-x86"]
    assert "target" not in settings
    assert "# a comment after the old table" in text
    _loads_quietly(root, capsys)


def test_pyproject_gets_tool_crossmatrix(tmp_path: Path, doctor: None,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    root = _workspace(tmp_path / "ws")
    (root / "pyproject.toml").write_text('[project]\nname = "x"  # mine\n')
    assert _run(root, "--pyproject", "-t", "linux-armv7") == 0
    text = (root / "pyproject.toml").read_text()
    assert text.startswith('[project]\nname = "x"  # mine\n\n[tool.crossmatrix]\n')
    assert (root / "Cargo.toml").read_text() == CARGO_TOML
    project = _loads_quietly(root, capsys)
    assert project.config_table == config.PYPROJECT_TABLE and project.targets == (
        "linux-armv7",)
    # now Cargo.toml's table would be hidden by pyproject.toml's: refused
    assert _run(root) == 2
    assert "--pyproject --force" in capsys.readouterr().err


def test_the_rendered_table_is_checked_as_config_loads_it(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws")
    facts = init.Facts(root=root, file=root / "Cargo.toml", table=config.WORKSPACE_TABLE,
                       found=init.Found(names=("linux-x86_64",), origin="given with --target"),
                       binaries=(("app", "app"),))
    text = init.new_text(CARGO_TOML, facts)
    assert init.check(text, facts).targets == ("linux-x86_64",)
    # a manifest whose metadata is an inline table cannot take the table: refused
    inline = CARGO_TOML.replace("[workspace.metadata.docs]\ntag = 'single quotes stay'\n", "")
    inline = inline.replace('resolver = "2"\n', 'resolver = "2"\nmetadata = { a = 1 }\n')
    with pytest.raises(ConfigError, match="would make it invalid TOML"):
        init.check(init.new_text(inline, facts), facts)


def test_a_failed_write_leaves_the_file_as_it_was(tmp_path: Path, doctor: None,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The new text goes into a temporary file beside, renamed over the old one: when the
    rename fails, the manifest is untouched and no temporary file is left."""
    root = _workspace(tmp_path / "ws")

    def fail(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)  # the rename atomic.write_text ends with
    with pytest.raises(OSError, match="disk full"):
        init.init(root, ["linux-x86_64"])
    assert (root / "Cargo.toml").read_text() == CARGO_TOML
    assert sorted(p.name for p in root.iterdir()) == ["Cargo.toml", "app", "core", "tool"]


def test_a_cargo_table_is_not_hidden_by_a_new_pyproject_one(
        tmp_path: Path, doctor: None, capsys: pytest.CaptureFixture[str]) -> None:
    root = _workspace(tmp_path / "ws")
    assert _run(root, "-t", "linux-x86_64") == 0
    manifest = (root / "Cargo.toml").read_bytes()
    capsys.readouterr()
    assert _run(root, "--pyproject", "--force") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "which a [tool.crossmatrix] in pyproject.toml would hide" in err[0]
    assert not (root / "pyproject.toml").exists()
    assert (root / "Cargo.toml").read_bytes() == manifest
