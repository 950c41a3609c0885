"""tooling.targets: the table, name/triple/glob/tag specs, ad-hoc triples and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tooling.errors import UsageError
from tooling.matrix import targets
from tooling.matrix.targets import TABLE, Target, by_name, from_triple, resolve, select
from tooling.platforms import macos, platform_of

#: name -> (triple, libc, arch) of every Linux row the table must hold, in table order.
EXPECTED_ROWS: dict[str, tuple[str, str, str]] = {
    "linux-x86_64": ("x86_64-unknown-linux-musl", "musl", "x86_64"),
    "linux-aarch64": ("aarch64-unknown-linux-musl", "musl", "aarch64"),
    "linux-armv7": ("armv7-unknown-linux-musleabihf", "musl", "armv7"),
    "linux-x86_64-gnu": ("x86_64-unknown-linux-gnu", "gnu", "x86_64"),
    "linux-aarch64-gnu": ("aarch64-unknown-linux-gnu", "gnu", "aarch64"),
    "linux-riscv64-gnu": ("riscv64gc-unknown-linux-gnu", "gnu", "riscv64gc"),
}
#: name -> (triple, os, linker, format, archive, platform-arch) of the Windows and macOS rows
OTHER_ROWS: dict[str, tuple[str, str, str, str, str, str]] = {
    "windows-x86_64": ("x86_64-pc-windows-gnu", "windows", "gcc", "pe", ".zip", "windows-x64"),
    "windows-x86": ("i686-pc-windows-gnu", "windows", "gcc", "pe", ".zip", "windows-x86"),
    "macos-x86_64": ("x86_64-apple-darwin", "macos", "zig", "macho", ".tar.gz", "macos-x64"),
    "macos-aarch64": ("aarch64-apple-darwin", "macos", "zig", "macho", ".tar.gz",
                      "macos-aarch64"),
}


def _names(found: list[Target]) -> list[str]:
    return [t.name for t in found]


def _assert_short_render(exc: UsageError) -> None:
    assert len(exc.render().splitlines()) <= 2


# --- the table ---------------------------------------------------------------------------


def test_table_has_exactly_the_ten_rows_in_order() -> None:
    assert [t.name for t in TABLE] == [*EXPECTED_ROWS, *OTHER_ROWS]
    assert [t.triple for t in TABLE] == [row[0] for row in EXPECTED_ROWS.values()] + [
        row[0] for row in OTHER_ROWS.values()]


@pytest.mark.parametrize("name", list(OTHER_ROWS))
def test_windows_and_macos_rows(name: str) -> None:
    triple, os_name, linker, fmt, archive, platform_arch = OTHER_ROWS[name]
    target = by_name()[name]
    assert (target.triple, target.os, target.linker) == (triple, os_name, linker)
    assert platform_of(target).binary_format == fmt
    assert platform_of(target).archive_suffix == archive
    assert target.platform_arch == platform_arch
    assert platform_of(target).exe_suffix == (".exe" if os_name == "windows" else "")
    assert not target.is_glibc and not target.debian_std_possible
    assert os_name in target.tags
    # never "native" on Linux, whatever the CPU
    assert not target.runs_natively(target.arch.host_machines[0], "Linux")
    assert target.runs_natively(target.arch.host_machines[0], os_name)


def test_windows_uses_mingw_and_macos_zig_with_a_minimum_version(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert by_name()["windows-x86"].gcc == "i686-w64-mingw32-gcc"
    assert by_name()["windows-x86_64"].gcc == "x86_64-w64-mingw32-gcc"
    monkeypatch.delenv("MACOSX_DEPLOYMENT_TARGET", raising=False)
    assert macos.zig_target(by_name()["macos-aarch64"]) == "aarch64-macos.11.0-none"
    assert macos.zig_target(by_name()["macos-x86_64"]) == "x86_64-macos.10.12-none"
    assert macos.rustflags(by_name()["macos-aarch64"]) == ("-C", "strip=none")
    monkeypatch.setenv("MACOSX_DEPLOYMENT_TARGET", "12.3")
    assert macos.zig_target(by_name()["macos-aarch64"]) == "aarch64-macos.12.3-none"
    monkeypatch.setenv("MACOSX_DEPLOYMENT_TARGET", "twelve")
    with pytest.raises(UsageError, match="twelve"):
        macos.deployment_target(by_name()["macos-aarch64"])


@pytest.mark.parametrize("name", list(EXPECTED_ROWS))
def test_table_row(name: str) -> None:
    triple, libc, arch = EXPECTED_ROWS[name]
    target = by_name()[name]
    assert target.name == name
    assert target.triple == triple
    assert target.libc == libc
    assert target.arch.rust == arch
    assert target.in_table is True
    assert target.os == "linux"
    assert target.linkage == ("static" if libc == "musl" else "dynamic")
    assert target.is_static is (libc == "musl")
    assert target.linker == ("zig" if libc == "musl" else "gcc")
    assert "linux" in target.tags
    assert libc in target.tags
    assert arch in target.tags
    assert target.linkage in target.tags


def test_by_name_maps_every_row() -> None:
    table = by_name()
    assert set(table) == set(EXPECTED_ROWS) | set(OTHER_ROWS)
    assert all(table[t.name] is t for t in TABLE)


def test_env_key_and_cc_key() -> None:
    armv7 = by_name()["linux-armv7"]
    assert armv7.env_key == "ARMV7_UNKNOWN_LINUX_MUSLEABIHF"
    assert armv7.cc_key == "armv7_unknown_linux_musleabihf"
    riscv = by_name()["linux-riscv64-gnu"]
    assert riscv.env_key == "RISCV64GC_UNKNOWN_LINUX_GNU"
    assert riscv.cc_key == "riscv64gc_unknown_linux_gnu"


def _zig_target(target: Target) -> str:
    return platform_of(target).zig_target(target)


def test_zig_target() -> None:
    assert _zig_target(by_name()["linux-armv7"]) == "arm-linux-musleabihf"
    assert _zig_target(by_name()["linux-x86_64"]) == "x86_64-linux-musl"
    assert _zig_target(by_name()["linux-aarch64-gnu"]) == "aarch64-linux-gnu"


def test_abi_suffix_and_gnu_names() -> None:
    armv7 = by_name()["linux-armv7"]
    assert armv7.abi_suffix == "musleabihf"
    assert armv7.gcc == "arm-linux-gnueabihf-gcc"
    aarch64_gnu = by_name()["linux-aarch64-gnu"]
    assert aarch64_gnu.abi_suffix == "gnu"
    assert aarch64_gnu.gnu_sysroot == "/usr/aarch64-linux-gnu"


def test_runs_natively_by_machine() -> None:
    for target in TABLE:
        if not target.is_linux:
            continue
        if target.arch.rust == "x86_64":
            assert target.runs_natively("x86_64")
            assert not target.runs_natively("aarch64")
        elif target.arch.rust == "aarch64":
            assert not target.runs_natively("x86_64")
            assert target.runs_natively("aarch64")
        else:
            assert not target.runs_natively("x86_64")


# --- resolve ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(EXPECTED_ROWS))
def test_resolve_name(name: str) -> None:
    assert resolve(name) == [by_name()[name]]


def test_resolve_strips_whitespace() -> None:
    assert resolve("  linux-aarch64 ") == [by_name()["linux-aarch64"]]


@pytest.mark.parametrize("name", list(EXPECTED_ROWS))
def test_resolve_table_triple_returns_the_row(name: str) -> None:
    row = by_name()[name]
    found = resolve(row.triple)
    assert len(found) == 1
    assert found[0] is row
    assert found[0].in_table is True
    assert from_triple(row.triple) is row


@pytest.mark.parametrize(
    ("triple", "libc", "arch", "zig_target"),
    [
        ("armv7-unknown-linux-gnueabihf", "gnu", "armv7", "arm-linux-gnueabihf"),
        ("i686-unknown-linux-musl", "musl", "i686", "x86-linux-musl"),
        ("riscv64gc-unknown-linux-musl", "musl", "riscv64gc", "riscv64-linux-musl"),
    ],
)
def test_resolve_unlisted_linux_triple_is_ad_hoc(
    triple: str, libc: str, arch: str, zig_target: str
) -> None:
    found = resolve(triple)
    assert len(found) == 1
    target = found[0]
    assert target.in_table is False
    assert target.name == triple
    assert target.triple == triple
    assert target.libc == libc
    assert target.arch.rust == arch
    assert target.linkage == ("static" if libc == "musl" else "dynamic")
    assert target.linker == ("zig" if libc == "musl" else "gcc")
    assert _zig_target(target) == zig_target
    assert "linux" in target.tags
    assert target not in TABLE


@pytest.mark.parametrize(
    "triple",
    [
        "sparc-sun-solaris",
        "armv5te-unknown-linux-gnueabi",  # an architecture with no row (rustc knows it)
        "x86_64-pc-windows-msvc",
        "x86_64-unknown-linux-gnux32",  # unknown ABI
        "armv7-unknown-linux-musl",  # armv7 is hard-float: needs ...eabihf
        "aarch64-unknown-linux-gnueabihf",  # ... and aarch64 must not have it
        "x86_64-unknown-linux",
    ],
)
def test_from_triple_rejects_non_linux_or_unknown(triple: str) -> None:
    assert from_triple(triple) is None
    with pytest.raises(UsageError) as info:
        resolve(triple)
    assert triple in info.value.message
    assert info.value.exit_code == 2
    _assert_short_render(info.value)


def test_resolve_glob() -> None:
    assert _names(resolve("linux-*-gnu")) == [
        "linux-x86_64-gnu",
        "linux-aarch64-gnu",
        "linux-riscv64-gnu",
    ]
    assert _names(resolve("linux-aarch64*")) == ["linux-aarch64", "linux-aarch64-gnu"]


def test_resolve_glob_matching_nothing_fails() -> None:
    with pytest.raises(UsageError) as info:
        resolve("linux-*-sparc")
    assert "linux-*-sparc" in info.value.message
    assert info.value.hint is not None
    assert "linux-x86_64" in info.value.hint
    _assert_short_render(info.value)


def test_resolve_tag() -> None:
    assert _names(resolve("tag:musl")) == ["linux-x86_64", "linux-aarch64", "linux-armv7"]
    assert _names(resolve("tag:gnu")) == [
        "linux-x86_64-gnu",
        "linux-aarch64-gnu",
        "linux-riscv64-gnu",
    ]
    assert _names(resolve("tag:aarch64")) == ["linux-aarch64", "linux-aarch64-gnu",
                                              "macos-aarch64"]
    assert resolve("tag:linux") == [t for t in TABLE if t.os == "linux"]
    assert _names(resolve("tag:windows")) == ["windows-x86_64", "windows-x86"]
    assert _names(resolve("tag:macos")) == ["macos-x86_64", "macos-aarch64"]


def test_resolve_unknown_tag_lists_known_tags() -> None:
    with pytest.raises(UsageError) as info:
        resolve("tag:sparc")
    assert "sparc" in info.value.message
    assert info.value.hint is not None
    assert "musl" in info.value.hint
    _assert_short_render(info.value)


def test_resolve_unknown_name_suggests_close_name() -> None:
    with pytest.raises(UsageError) as info:
        resolve("linux-sparc")
    exc = info.value
    assert exc.exit_code == 2
    assert "linux-sparc" in exc.message
    assert exc.hint is not None
    assert "did you mean" in exc.hint
    assert any(name in exc.hint for name in EXPECTED_ROWS)
    rendered = exc.render()
    assert rendered.startswith("error: ")
    assert "linux-sparc" in rendered
    _assert_short_render(exc)


def test_resolve_typo_suggests_the_intended_name() -> None:
    with pytest.raises(UsageError) as info:
        resolve("linux-arch64")
    assert info.value.hint is not None
    assert "linux-aarch64" in info.value.hint


def test_resolve_garbage_triple_fails() -> None:
    with pytest.raises(UsageError) as info:
        resolve("sparc-sun-solaris")
    assert "sparc-sun-solaris" in info.value.message
    assert info.value.exit_code == 2
    _assert_short_render(info.value)


# --- select -------------------------------------------------------------------------------


def test_named_is_only_a_name_a_target_has() -> None:
    for row in TABLE:
        assert targets.named(row.name) == row
    floored = targets.named("linux-aarch64-gnu.2.17")
    assert floored is not None and floored.glibc == "2.17"
    adhoc = targets.named("riscv64gc-unknown-linux-musl")
    assert adhoc is not None and not adhoc.in_table
    for other in ["x86_64-unknown-linux-musl", "linux-*", "linux-armv?", "tag:musl",
                  " linux-x86_64", "../../ESCAPED", "linux-x86_64/..", "", "linux-sparc"]:
        assert targets.named(other) is None, other


def test_select_default_is_whole_table() -> None:
    assert select(None) == list(TABLE)
    assert select([]) == list(TABLE)


def test_select_uses_given_default_when_no_specs() -> None:
    assert _names(select(None, ["linux-armv7", "linux-x86_64"])) == [
        "linux-armv7",
        "linux-x86_64",
    ]


def test_select_specs_override_default() -> None:
    assert _names(select(["linux-armv7"], ["linux-x86_64"])) == ["linux-armv7"]


def test_select_deduplicates_and_keeps_order() -> None:
    chosen = select(
        [
            "linux-aarch64-gnu",
            "tag:musl",
            "linux-aarch64",  # already in tag:musl
            "aarch64-unknown-linux-gnu",  # the triple of the first spec
            "linux-*-gnu",
            "i686-unknown-linux-musl",
            "i686-unknown-linux-musl",
        ]
    )
    assert _names(chosen) == [
        "linux-aarch64-gnu",
        "linux-x86_64",
        "linux-aarch64",
        "linux-armv7",
        "linux-x86_64-gnu",
        "linux-riscv64-gnu",
        "i686-unknown-linux-musl",
    ]


def test_select_propagates_unknown_target() -> None:
    with pytest.raises(UsageError):
        select(["linux-x86_64", "linux-sparc"])


def test_known_names_lists_names_and_triples() -> None:
    known = targets.known_names()
    for name, (triple, _, _) in EXPECTED_ROWS.items():
        assert name in known
        assert triple in known


def test_setup_needs_for_windows_and_macos(tmp_path: Path) -> None:
    from tooling.matrix import config
    from tooling.setup import install

    (tmp_path / "Cargo.toml").write_text('[package]\nname = "x"\nversion = "0.1.0"\n')
    project = config.load(tmp_path)
    win = install.needs([by_name()["windows-x86_64"]], project)
    assert {"gcc-mingw-w64-x86-64-win32", "wine", "wine64"} <= set(win.packages)
    assert win.arches == () and win.optional == ()
    win32 = install.needs([by_name()["windows-x86"]], project)
    assert "gcc-mingw-w64-i686-win32" in win32.packages
    assert win32.arches == () and win32.optional == ("wine32:i386",)
    assert win32.optional_arches == ("i386",)
    mac = install.needs([by_name()["macos-aarch64"]], project)
    assert "llvm" in mac.packages
    assert not any(p.startswith(("qemu", "binutils-", "libc6-dev")) for p in mac.packages)


def test_a_target_runs_natively_on_its_own_os_and_cpu_only() -> None:
    table = by_name()
    assert table["macos-aarch64"].runs_natively("arm64", "Darwin")  # what macOS reports
    assert table["macos-x86_64"].runs_natively("x86_64", "Darwin")
    assert not table["macos-x86_64"].runs_natively("arm64", "Darwin")
    assert table["linux-x86_64-gnu"].runs_natively("x86_64", "Linux")
    assert not table["linux-x86_64-gnu"].runs_natively("x86_64", "Darwin")
    assert table["windows-x86_64"].runs_natively("AMD64", "Windows")
