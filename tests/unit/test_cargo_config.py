"""tooling.cargo_config: the ``.cargo/config.toml`` round trip on real files."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from tooling.compile import cargo_config
from tooling.errors import ConfigError, UsageError

AARCH64_GNU = "aarch64-unknown-linux-gnu"
X86_64_MUSL = "x86_64-unknown-linux-musl"

ORIGINAL = """\
# Cargo settings for this workspace.
# Hand-written: keep this header.

[build]
jobs = 4  # the CI runner has four cores
rustflags = ["-D", "warnings"]

[target.aarch64-unknown-linux-gnu]
# my own cross gcc
linker = "my-gcc"
"""

SETTINGS: dict[str, dict[str, Any]] = {
    AARCH64_GNU: {
        "linker": "aarch64-linux-gnu-gcc",
        "runner": ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"],
        "rustflags": ["-C", "link-arg=-Wl,--as-needed"],
    },
    X86_64_MUSL: {
        "linker": "/cache/crossmatrix/zig/x86_64-linux-musl-cc",
        "rustflags": ["-C", "target-feature=+crt-static"],
    },
}


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / ".cargo" / "config.toml"
    path.parent.mkdir()
    path.write_text(ORIGINAL, encoding="utf-8")
    return path


def _lines_with(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


def test_update_keeps_user_text_and_adds_owned_keys(config_path: Path) -> None:
    changes = cargo_config.update(config_path, SETTINGS)
    text = config_path.read_text(encoding="utf-8")

    # The user's file is untouched up to the end of their table; everything new follows it.
    assert text.startswith(ORIGINAL)
    # The user's linker is kept, not overwritten and not marked as ours.
    assert 'linker = "my-gcc"\n' in text
    assert "aarch64-linux-gnu-gcc" not in text
    assert not any(line.startswith('linker = "my-gcc"') and "crossmatrix" in line
                   for line in text.splitlines())

    # Every key crossmatrix wrote carries the mark.
    added = text[len(ORIGINAL):]
    for line in added.splitlines():
        if "=" in line:
            assert line.endswith("# crossmatrix"), line
    assert len(_lines_with(text, "# crossmatrix")) == 4

    assert sorted(changes) == sorted([
        f"target.{AARCH64_GNU}.runner = {SETTINGS[AARCH64_GNU]['runner']!r}",
        f"target.{AARCH64_GNU}.rustflags = {SETTINGS[AARCH64_GNU]['rustflags']!r}",
        f"target.{X86_64_MUSL}.linker = {SETTINGS[X86_64_MUSL]['linker']!r}",
        f"target.{X86_64_MUSL}.rustflags = {SETTINGS[X86_64_MUSL]['rustflags']!r}",
    ])

    data = tomllib.loads(text)
    assert data["build"] == {"jobs": 4, "rustflags": ["-D", "warnings"]}
    assert data["target"][AARCH64_GNU] == {
        "linker": "my-gcc",
        "runner": SETTINGS[AARCH64_GNU]["runner"],
        "rustflags": SETTINGS[AARCH64_GNU]["rustflags"],
    }
    assert data["target"][X86_64_MUSL] == SETTINGS[X86_64_MUSL]


def test_user_key_kept_and_warned(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cargo_config.update(config_path, {AARCH64_GNU: {"linker": "aarch64-linux-gnu-gcc"}})
    assert config_path.read_text(encoding="utf-8") == ORIGINAL
    err = capsys.readouterr().err
    assert "keeping your" in err
    assert f"target.{AARCH64_GNU}.linker" in err


def test_user_key_with_same_value_is_silent(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = config_path.stat().st_mtime_ns
    assert cargo_config.update(config_path, {AARCH64_GNU: {"linker": "my-gcc"}}) == []
    assert config_path.read_bytes() == ORIGINAL.encode()
    assert config_path.stat().st_mtime_ns == before
    assert "keeping your" not in capsys.readouterr().err


def test_second_identical_run_changes_nothing(config_path: Path) -> None:
    assert cargo_config.update(config_path, SETTINGS) != []
    first = config_path.read_bytes()
    stat = config_path.stat()
    assert cargo_config.update(config_path, SETTINGS) == []
    assert config_path.read_bytes() == first
    after = config_path.stat()
    assert after.st_mtime_ns == stat.st_mtime_ns
    assert after.st_ino == stat.st_ino  # not even an atomic replace with the same bytes


def test_changed_owned_value_is_updated_in_place(config_path: Path) -> None:
    cargo_config.update(config_path, SETTINGS)
    first = config_path.read_text(encoding="utf-8")
    new_settings = {X86_64_MUSL: {"linker": "/other/zig-cc"}}
    changes = cargo_config.update(config_path, new_settings)
    assert changes == [f"target.{X86_64_MUSL}.linker = '/other/zig-cc'"]
    text = config_path.read_text(encoding="utf-8")
    assert text == first.replace(
        'linker = "/cache/crossmatrix/zig/x86_64-linux-musl-cc" # crossmatrix',
        'linker = "/other/zig-cc" # crossmatrix',
    )
    assert text.startswith(ORIGINAL)
    data = tomllib.loads(text)
    assert data["target"][X86_64_MUSL]["linker"] == "/other/zig-cc"
    assert data["target"][X86_64_MUSL]["rustflags"] == SETTINGS[X86_64_MUSL]["rustflags"]
    # and that new value is idempotent too
    assert cargo_config.update(config_path, new_settings) == []


def test_changed_owned_list_is_updated(config_path: Path) -> None:
    cargo_config.update(config_path, SETTINGS)
    flags = ["-C", "target-cpu=cortex-a72"]
    changes = cargo_config.update(config_path, {AARCH64_GNU: {"rustflags": flags}})
    assert changes == [f"target.{AARCH64_GNU}.rustflags = {flags!r}"]
    text = config_path.read_text(encoding="utf-8")
    assert 'rustflags = ["-C", "target-cpu=cortex-a72"] # crossmatrix' in text
    assert tomllib.loads(text)["target"][AARCH64_GNU]["linker"] == "my-gcc"


def test_missing_file_is_created(tmp_path: Path) -> None:
    path = tmp_path / "project" / ".cargo" / "config.toml"
    changes = cargo_config.update(path, SETTINGS)
    assert path.is_file()
    assert len(changes) == 5
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    assert data == {"target": SETTINGS}
    for line in text.splitlines():
        if "=" in line:
            assert line.endswith("# crossmatrix"), line
    stat = path.stat()
    assert cargo_config.update(path, SETTINGS) == []
    assert path.stat().st_mtime_ns == stat.st_mtime_ns


def test_empty_settings_on_missing_file_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / ".cargo" / "config.toml"
    assert cargo_config.update(path, {}) == []
    assert not path.exists()


def test_empty_settings_leave_existing_file_byte_identical(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("# my settings\n[build]\njobs = 1\n", encoding="utf-8")
    before = path.read_bytes()
    assert cargo_config.update(path, {}) == []
    assert path.read_bytes() == before


def test_no_temp_files_left(config_path: Path) -> None:
    cargo_config.update(config_path, SETTINGS)
    assert sorted(p.name for p in config_path.parent.iterdir()) == ["config.toml"]


@pytest.mark.parametrize(
    "text",
    [
        "[target.aarch64-unknown-linux-gnu\nlinker = 'x'\n",
        "[build]\njobs = = 4\n",
        "[build]\njobs = 1\njobs = 2\n",
    ],
)
def test_invalid_toml_raises_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        cargo_config.update(path, SETTINGS)
    exc = info.value
    assert isinstance(exc, UsageError)
    assert exc.exit_code == 2
    assert str(path) in exc.message
    assert "not valid TOML" in exc.message
    assert len(exc.render().splitlines()) <= 2
    assert path.read_text(encoding="utf-8") == text  # left alone


def test_target_not_a_table_raises_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('target = "x86_64-unknown-linux-musl"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        cargo_config.update(path, SETTINGS)
    assert len(info.value.render().splitlines()) <= 2


def test_target_triple_not_a_table_raises_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[target]\n"{X86_64_MUSL}" = "zig"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        cargo_config.update(path, SETTINGS)
    assert X86_64_MUSL in info.value.message


def test_non_contiguous_target_tables(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    original = (
        '[target.x86_64-unknown-linux-musl]\nlinker = "my-cc"\n\n'
        "[build]\njobs = 2\n\n"
        '[target.aarch64-unknown-linux-gnu]\nlinker = "my-gcc"\n'
    )
    path.write_text(original, encoding="utf-8")
    cargo_config.update(path, {AARCH64_GNU: {"runner": ["qemu-aarch64"]}})
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data["target"][AARCH64_GNU] == {"linker": "my-gcc", "runner": ["qemu-aarch64"]}
    assert data["target"][X86_64_MUSL] == {"linker": "my-cc"}
    assert data["build"] == {"jobs": 2}


def test_user_comment_mentioning_crossmatrix_is_not_ownership(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    original = f'[target.{AARCH64_GNU}]\nlinker = "my-gcc"  # crossmatrix: do not touch\n'
    path.write_text(original, encoding="utf-8")
    cargo_config.update(path, {AARCH64_GNU: {"linker": "aarch64-linux-gnu-gcc"}})
    assert path.read_text(encoding="utf-8") == original


def test_tuple_values_are_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    settings = {AARCH64_GNU: {"rustflags": ("-C", "target-cpu=cortex-a53")}}
    assert cargo_config.update(path, settings) != []
    assert cargo_config.update(path, settings) == []


# --- rewriting in place: permissions and symlinks ---------------------------------------


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644])
def test_the_files_permissions_are_kept(config_path: Path, mode: int) -> None:
    config_path.chmod(mode)
    assert cargo_config.update(config_path, SETTINGS)
    assert _mode(config_path) == mode
    assert X86_64_MUSL in config_path.read_text()


def test_a_new_file_is_0644_whatever_the_umask(tmp_path: Path) -> None:
    import os

    old = os.umask(0o077)
    try:
        path = tmp_path / ".cargo" / "config.toml"
        cargo_config.update(path, SETTINGS)
    finally:
        os.umask(old)
    assert _mode(path) == 0o644


def test_a_symlink_stays_and_its_target_is_rewritten(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    shared = tmp_path / "shared" / "cargo-config.toml"
    shared.parent.mkdir()
    shared.write_text(ORIGINAL, encoding="utf-8")
    shared.chmod(0o600)
    link = tmp_path / ".cargo" / "config.toml"
    link.parent.mkdir()
    link.symlink_to("../shared/cargo-config.toml")
    assert cargo_config.update(link, SETTINGS)
    assert link.is_symlink()
    assert str(link.readlink()) == "../shared/cargo-config.toml"
    assert shared.read_text().startswith(ORIGINAL)
    assert X86_64_MUSL in shared.read_text()
    assert _mode(shared) == 0o600
    # written beside the real file, renamed: no temp file anywhere, nothing new in .cargo/
    assert sorted(p.name for p in shared.parent.iterdir()) == ["cargo-config.toml"]
    assert sorted(p.name for p in link.parent.iterdir()) == ["config.toml"]
    assert "is a link" in capsys.readouterr().err
    assert cargo_config.update(link, SETTINGS) == []  # the second run reads through it too


def test_a_chain_of_links_is_followed_to_the_file(tmp_path: Path) -> None:
    real = tmp_path / "real.toml"
    real.write_text("[build]\njobs = 2\n")
    (tmp_path / "middle.toml").symlink_to(real)
    link = tmp_path / "config.toml"
    link.symlink_to(tmp_path / "middle.toml")
    cargo_config.update(link, SETTINGS)
    assert link.is_symlink() and (tmp_path / "middle.toml").is_symlink()
    assert AARCH64_GNU in real.read_text()


@pytest.mark.parametrize("kind", ["dangling", "loop"])
def test_a_link_that_leads_nowhere_is_refused(tmp_path: Path, kind: str) -> None:
    link = tmp_path / "config.toml"
    link.symlink_to(tmp_path / "missing.toml" if kind == "dangling" else link)
    with pytest.raises(ConfigError) as info:
        cargo_config.update(link, SETTINGS)
    assert str(link) in info.value.message
    assert len(info.value.render().splitlines()) == 2
    assert link.is_symlink() and not (tmp_path / "missing.toml").exists()


def test_a_folder_in_the_files_place_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.mkdir()
    with pytest.raises(ConfigError) as info:
        cargo_config.update(path, SETTINGS)
    assert "is not a file" in info.value.message


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"[build]\njobs = 1 # \xff\n")
    with pytest.raises(ConfigError) as info:
        cargo_config.update(path, SETTINGS)
    assert str(path) in info.value.message
    assert path.read_bytes() == b"[build]\njobs = 1 # \xff\n"
