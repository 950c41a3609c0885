from __future__ import annotations

from pathlib import Path

import pytest

from tooling.compile import linkers
from tooling.errors import ConfigError, UsageError
from tooling.matrix import config
from tooling.matrix.targets import by_name, resolve
from tooling.platforms import platform_of


def test_suffix_on_a_name_or_triple_sets_the_floor_and_zig() -> None:
    for spec in ("linux-aarch64-gnu.2.17", "aarch64-unknown-linux-gnu.2.17"):
        (target,) = resolve(spec)
        assert target.name == "linux-aarch64-gnu.2.17"
        assert target.triple == "aarch64-unknown-linux-gnu"
        assert target.glibc == "2.17"
        assert target.linker == "zig"
        assert platform_of(target).zig_target(target) == "aarch64-linux-gnu.2.17"


@pytest.mark.parametrize("spec", ["linux-aarch64.2.17", "linux-x86_64-gnu.2.16",
                                  "linux-x86_64-gnu.3.0"])
def test_floor_that_cannot_hold_is_bad_input(spec: str) -> None:
    with pytest.raises(UsageError):
        resolve(spec)


def test_floor_wrapper_links_against_the_old_glibc(tmp_path: Path) -> None:
    (target,) = resolve("linux-riscv64-gnu.2.27")
    plan = linkers.plan(target, "zig", tmp_path).materialize()
    body = Path(plan.linker).read_text()
    assert "-target riscv64-linux-gnu.2.27" in body
    assert plan.rustflags == ()  # link-self-contained=no is for musl only
    assert plan.cc == plan.linker  # C code from build scripts goes through the same zig


def _project(tmp_path: Path, table: str) -> config.Project:
    (tmp_path / "Cargo.toml").write_text("[workspace]\n")
    (tmp_path / "pyproject.toml").write_text("[tool.crossmatrix]\n" + table)
    return config.load(tmp_path)


def test_configured_floor_applies_to_gnu_targets_only(tmp_path: Path) -> None:
    project = _project(tmp_path, 'glibc = "2.28"\n')
    chosen = {t.name: t for t in project.select(None)}
    assert chosen["linux-aarch64-gnu"].glibc == "2.28"  # name unchanged: same dist folder
    assert chosen["linux-aarch64-gnu"].linker == "zig"
    assert chosen["linux-aarch64"].glibc is None
    assert project.linker_for(chosen["linux-aarch64-gnu"]) == "zig"


def test_per_target_floor_beats_the_global_one(tmp_path: Path) -> None:
    project = _project(tmp_path, 'glibc = "2.28"\n[tool.crossmatrix.target.linux-x86_64-gnu]\n'
                                 'glibc = "2.17"\n')
    chosen = {t.name: t for t in project.select(["tag:gnu"])}
    assert chosen["linux-x86_64-gnu"].glibc == "2.17"
    assert chosen["linux-riscv64-gnu"].glibc == "2.28"


def test_floor_with_a_gcc_linker_is_a_config_error(tmp_path: Path) -> None:
    project = _project(tmp_path, 'glibc = "2.17"\n[tool.crossmatrix.target.linux-aarch64-gnu]\n'
                                 'linker = "gcc"\n')
    (target,) = project.select(["linux-aarch64-gnu"])
    with pytest.raises(ConfigError, match="needs the zig linker"):
        project.linker_for(target)


def test_bad_floor_in_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"2\.5"):
        _project(tmp_path, 'glibc = "2.5"\n')
    assert by_name()["linux-aarch64-gnu"].glibc is None
