"""What build scripts get besides a C compiler: cross pkg-config, PROTOC, pre-build."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tooling.compile import buildenv
from tooling.errors import StepFailed, ToolMissing, UsageError
from tooling.matrix import config
from tooling.matrix.targets import by_name
from tooling.steps import compiling

AARCH64_GNU = by_name()["linux-aarch64-gnu"]


def test_pkg_config_points_cross_gnu_builds_at_the_multiarch_folder() -> None:
    env = buildenv.pkg_config_env(AARCH64_GNU, environ={})
    assert env == {
        "PKG_CONFIG_ALLOW_CROSS_aarch64_unknown_linux_gnu": "1",
        "PKG_CONFIG_LIBDIR_aarch64_unknown_linux_gnu":
            "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig",
        "PKG_CONFIG_SYSROOT_DIR_aarch64_unknown_linux_gnu": "/",
    }


@pytest.mark.parametrize("name", ["linux-aarch64", "linux-x86_64", "windows-x86_64",
                                  "macos-aarch64"])
def test_no_cross_pkg_config_where_debians_libraries_cannot_be_linked(name: str) -> None:
    # musl is static (a crate must vendor its C library), Windows/macOS are not Debian's
    assert buildenv.pkg_config_env(by_name()[name], environ={}) == {}


def test_the_users_own_pkg_config_settings_win() -> None:
    env = buildenv.pkg_config_env(AARCH64_GNU, environ={
        "PKG_CONFIG_LIBDIR_aarch64-unknown-linux-gnu": "/board/rootfs/usr/lib/pkgconfig"})
    assert "PKG_CONFIG_LIBDIR_aarch64_unknown_linux_gnu" not in env
    assert "PKG_CONFIG_ALLOW_CROSS_aarch64_unknown_linux_gnu" in env


def _workspace(tmp_path: Path, build_dep: str | None) -> Path:
    deps = f'dependencies = [\n "{build_dep}",\n]\n' if build_dep else ""
    (tmp_path / "Cargo.lock").write_text(
        'version = 4\n\n[[package]]\nname = "telemetry"\nversion = "0.1.0"\n' + deps
        + ('\n[[package]]\nname = "prost-build"\nversion = "0.14.4"\n' if build_dep else ""))
    return tmp_path


def test_protoc_is_found_on_path_and_set(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    protoc = bin_dir / "protoc"
    protoc.write_text("#!/bin/sh\n")
    protoc.chmod(0o755)
    ws = _workspace(tmp_path, "prost-build")
    assert buildenv.protoc_users(ws) == ["telemetry"]
    assert buildenv.protoc_env(ws, environ={"PATH": str(bin_dir)}) == {"PROTOC": str(protoc)}


def test_no_protoc_says_which_crate_needs_it_and_what_to_install(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, "prost-build")
    with pytest.raises(ToolMissing) as caught:
        buildenv.protoc_env(ws, environ={"PATH": str(tmp_path / "empty")})
    assert caught.value.message == ("telemetry needs protoc (its build script runs "
                                    "prost-build), and none is installed")
    assert "protobuf-compiler" in (caught.value.hint or "")


def test_a_bad_protoc_setting_names_the_value(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, "prost-build")
    with pytest.raises(UsageError, match="PROTOC='/nowhere/protoc' is not an executable"):
        buildenv.protoc_env(ws, environ={"PROTOC": "/nowhere/protoc", "PATH": ""})


def test_workspaces_without_protoc_users_need_nothing(tmp_path: Path) -> None:
    assert buildenv.protoc_env(_workspace(tmp_path, None), environ={"PATH": ""}) == {}


def test_pre_build_runs_each_command_with_deb_arch_once_per_change(tmp_path: Path) -> None:
    out = tmp_path / "seen"
    commands = [f'echo "$DEB_ARCH $TARGET_TRIPLE $MULTIARCH_LIBDIR" >> {out}',
                f'echo second >> {out}']
    key = buildenv.run_pre_build(commands, AARCH64_GNU, tmp_path, None)
    assert out.read_text() == ("arm64 aarch64-unknown-linux-gnu /usr/lib/aarch64-linux-gnu\n"
                               "second\n")
    assert buildenv.run_pre_build(commands, AARCH64_GNU, tmp_path, key) == key
    assert out.read_text().count("second") == 1  # unchanged: not run again
    buildenv.run_pre_build([*commands, "true"], AARCH64_GNU, tmp_path, key)
    assert out.read_text().count("second") == 2  # changed: run again


def test_a_failing_pre_build_command_stops_with_the_command(tmp_path: Path) -> None:
    with pytest.raises(StepFailed) as caught:
        buildenv.run_pre_build(["true", "exit 7"], AARCH64_GNU, tmp_path, None)
    assert caught.value.message == ("linux-aarch64-gnu: pre-build command failed (exit 7): "
                                    "exit 7")
    with pytest.raises(StepFailed) as caught:  # the hint names the table they are from
        buildenv.run_pre_build(["exit 7"], AARCH64_GNU, tmp_path, None,
                               where="[workspace.metadata.crossmatrix]")
    assert (caught.value.hint or "").startswith(
        "fix it in [workspace.metadata.crossmatrix] pre-build")


def test_pre_build_config_per_target_replaces_the_global_list(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "x"\nversion = "0.1.0"\n')
    (tmp_path / "pyproject.toml").write_text(
        '[tool.crossmatrix]\npre-build = ["echo all"]\n'
        '[tool.crossmatrix.target.linux-aarch64-gnu]\n'
        'pre-build = ["apt-get install -y zlib1g-dev:$DEB_ARCH"]\n')
    project = config.load(tmp_path)
    assert project.pre_build_for(AARCH64_GNU) == ("apt-get install -y zlib1g-dev:$DEB_ARCH",)
    assert project.pre_build_for(by_name()["linux-armv7"]) == ("echo all",)


def test_pre_build_must_be_a_list(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "x"\nversion = "0.1.0"\n')
    (tmp_path / "pyproject.toml").write_text(
        '[tool.crossmatrix.target.linux-aarch64-gnu]\npre-build = "apt-get install x"\n')
    with pytest.raises(UsageError, match="pre-build must be a list of strings"):
        config.load(tmp_path)


@pytest.mark.parametrize(("stderr", "expected"), [
    ("/usr/bin/aarch64-linux-gnu-ld: cannot find -lsqlite3: No such file or directory",
     "the C library sqlite3 is not installed for aarch64-unknown-linux-gnu: install "
     "libsqlite3-dev:arm64 (pre-build = [\"apt-get install -y libsqlite3-dev:$DEB_ARCH\"] in "
     "[tool.crossmatrix.target.linux-aarch64-gnu]), or enable libsqlite3-sys's `bundled` "
     "feature"),
    ("The system library `zlib` required by crate `libz-sys` was not found.",
     "the C library zlib is not installed for aarch64-unknown-linux-gnu: install "
     "zlib1g-dev:arm64 (pre-build = [\"apt-get install -y zlib1g-dev:$DEB_ARCH\"] in "
     "[tool.crossmatrix.target.linux-aarch64-gnu]), or enable libz-sys's `static` feature"),
])
def test_a_missing_dev_package_is_named_for_the_targets_architecture(stderr: str,
                                                                     expected: str) -> None:
    assert compiling._known_failure(stderr, AARCH64_GNU) == expected


def test_the_pre_build_fix_names_the_projects_own_table() -> None:
    """A project configured in Cargo.toml is told about its own table, not pyproject's."""
    where = "[workspace.metadata.crossmatrix.target.linux-aarch64-gnu]"
    hint = compiling._known_failure("cannot find -lsqlite3", AARCH64_GNU, where)
    assert hint is not None and f"in {where})" in hint and "tool.crossmatrix" not in hint


def test_on_musl_the_fix_is_the_vendored_feature() -> None:
    hint = compiling._known_failure("ld.lld: error: unable to find library -lsqlite3",
                                    by_name()["linux-aarch64"])
    assert hint == ("the C library sqlite3 is not available for aarch64-unknown-linux-musl "
                    "(Debian's libraries are for Linux gnu targets): enable libsqlite3-sys's "
                    "`bundled` feature")


def test_cxx_comes_with_the_c_compiler(tmp_path: Path) -> None:
    from tooling.compile import linkers

    plan = linkers.zig_plan(by_name()["linux-aarch64"], tmp_path).materialize()
    env = plan.cargo_env(by_name()["linux-aarch64"])
    cxx = env["CXX_aarch64_unknown_linux_musl"]
    assert "zig c++ --" in Path(cxx).read_text()
    assert os.access(cxx, os.X_OK)
