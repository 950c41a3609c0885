"""Build scripts and proc-macros (host units) are shared by every target built with one
compiler: nothing in one target's cargo call that they can see may differ from another's,
or each switch of target rebuilds them and everything that depends on them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tooling.matrix import config
from tooling.matrix.targets import TABLE, Target
from tooling.plan import cargo_call
from tooling.std import compiler, providers

HOST = "x86_64-unknown-linux-gnu"
COMPILER = compiler.Compiler(
    kind="debian", rustc=Path("/usr/bin/rustc"), cargo=Path("/usr/bin/cargo"),
    release="1.96.0", commit_hash="0" * 40, host=HOST,
    sysroot=Path("/usr"), verbose_version="rustc 1.96.0 (test)\n")

#: unscoped, and read only for Apple targets (by rustc and cc-rs); there is no per-target
#: spelling of it
APPLE_ONLY = {"MACOSX_DEPLOYMENT_TARGET"}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> config.Project:
    workspace = tmp_path / "ws"
    (workspace / "src").mkdir(parents=True)
    (workspace / "Cargo.toml").write_text(
        '[package]\nname = "probe"\nversion = "0.1.0"\nedition = "2021"\n')
    (workspace / "src" / "main.rs").write_text("fn main() {}\n")
    monkeypatch.setenv("CROSSMATRIX_CACHE_DIR", str(tmp_path / "cache"))
    for key in ("RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"):
        monkeypatch.delenv(key, raising=False)
    return config.from_table(tmp_path, {"workspace": "ws", "offline": True}, "test")


def _std(target: Target, tmp_path: Path) -> providers.StdPlan:
    return providers.StdPlan(provider="build-std", compiler=COMPILER,
                             sysroot=tmp_path / "cache" / "sysroots" / target.triple,
                             reason="test")


def _scoped_to(target: Target, key: str) -> bool:
    """A variable only units of ``target`` read (cargo's and cc-rs's per-target names)."""
    if target.triple == HOST:  # the host's own names are read by host units as well
        return False
    return key.endswith((f"_{target.cc_key}", f"_{target.cc_key}".upper())) \
        or key.startswith(f"CARGO_TARGET_{target.env_key}_")


def _seen_by_host_units(call: cargo_call.Invocation, target: Target) -> dict[str, str]:
    seen = {k: v for k, v in call.added.items()
            if not _scoped_to(target, k) and k not in APPLE_ONLY}
    configs = call.argv[call.argv.index("--config") + 1:] if "--config" in call.argv else []
    for value in configs[:1]:
        # cargo gives target.<host>'s rustflags to host units only without --target
        assert value.startswith(f"target.{target.triple}.rustflags=")
    return seen


def test_every_targets_call_shows_host_units_the_same(project: config.Project,
                                                      tmp_path: Path) -> None:
    seen = {t.name: _seen_by_host_units(cargo_call.derive(project, t, _std(t, tmp_path)), t)
            for t in TABLE}
    first = seen[TABLE[0].name]
    for name, view in seen.items():
        assert view == first, (name, set(view.items()) ^ set(first.items()))
    # the host target's linker reaches its own units only: as a target rustflag
    assert not any(k.startswith(f"CARGO_TARGET_{HOST.upper().replace('-', '_')}_")
                   for k in first)


def test_the_host_targets_linker_is_a_target_rustflag(project: config.Project,
                                                     tmp_path: Path) -> None:
    host = next(t for t in TABLE if t.triple == HOST)
    call = cargo_call.derive(project, host, _std(host, tmp_path))
    flags = json.loads(call.argv[call.argv.index("--config") + 1].partition("=")[2])
    assert flags[:2] == ["-C", "linker=gcc"]
    assert call.added[f"CC_{host.cc_key}"] == "gcc"
    assert f"CARGO_TARGET_{host.env_key}_LINKER" not in call.added
