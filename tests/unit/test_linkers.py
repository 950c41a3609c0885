from __future__ import annotations

from pathlib import Path

from tooling.compile import linkers
from tooling.matrix.targets import by_name


def test_zig_wrapper_names_its_target_and_is_content_addressed(tmp_path: Path) -> None:
    target = by_name()["linux-armv7"]
    plan = linkers.plan(target, "zig", tmp_path)
    script = Path(plan.linker)
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []  # planning writes nothing
    assert plan.present()  # a planned wrapper counts as there
    plan.materialize()
    body = script.read_text()
    assert script.stat().st_mode & 0o111
    assert script.name.startswith("zigcc-armv7-unknown-linux-musleabihf-")
    assert "-target arm-linux-musleabihf" in body
    assert "-mcpu=generic+v7a" in body
    assert " zig cc -- " in body
    assert plan.rustflags == ("-C", "link-self-contained=no")
    env = plan.cargo_env(target)
    assert env["CARGO_TARGET_ARMV7_UNKNOWN_LINUX_MUSLEABIHF_LINKER"] == str(script)
    assert env["CC_armv7_unknown_linux_musleabihf"] == str(script)
    # a second plan reuses the same file; other content gets another name
    assert linkers.plan(target, "zig", tmp_path).linker == plan.linker
    other = linkers.plan(by_name()["linux-aarch64"], "zig", tmp_path)
    assert other.linker != plan.linker


def test_gcc_for_foreign_and_host_gnu_targets(tmp_path: Path) -> None:
    aarch64 = linkers.plan(by_name()["linux-aarch64-gnu"], "gcc", tmp_path)
    assert aarch64.linker == "aarch64-linux-gnu-gcc"
    assert aarch64.ar == "aarch64-linux-gnu-ar"
    assert "gcc-aarch64-linux-gnu" in aarch64.packages
    assert aarch64.rustflags == ()
    host = linkers.plan(by_name()["linux-x86_64-gnu"], "gcc", tmp_path)
    assert host.linker == "gcc"


def test_custom_linker_program(tmp_path: Path) -> None:
    plan = linkers.plan(by_name()["linux-aarch64-gnu"], "/opt/sdk/bin/aarch64-rk-linux-gcc",
                        tmp_path)
    assert plan.kind == "custom"
    assert plan.linker == "/opt/sdk/bin/aarch64-rk-linux-gcc"
    assert plan.ar == "/opt/sdk/bin/aarch64-rk-linux-ar"
    assert not plan.present()


def test_build_scripts_get_the_targets_own_ranlib(tmp_path: Path) -> None:
    """cc-rs (and openssl-src's ``make install`` through it) reads RANLIB_<t>; without it
    the host's GNU ranlib indexes a Mach-O archive and calls it malformed."""
    macos = by_name()["macos-x86_64"]
    zig = linkers.plan(macos, "zig", tmp_path).materialize()
    ranlib = zig.cargo_env(macos)["RANLIB_x86_64_apple_darwin"]
    assert " zig ranlib -- " in Path(ranlib).read_text()
    gnu = by_name()["linux-aarch64-gnu"]
    gcc = linkers.plan(gnu, "gcc", tmp_path)
    assert gcc.cargo_env(gnu)["RANLIB_aarch64_unknown_linux_gnu"] == "aarch64-linux-gnu-ranlib"
