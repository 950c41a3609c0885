"""Targets from rustc's own data: triples of ``rustc --print target-list`` (rustup's and
Debian's), their facts from ``rustc --print cfg``, remembered per rustc binary and asked only
outside the table; what cannot be built yet, and why; the project's named rows."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.unit import fake_records
from tests.unit.fake_rustc import FakeRustc, cfg, install
from tooling.errors import ConfigError, StepFailed, UsageError
from tooling.matrix import config, rustc_data, targets
from tooling.matrix.targets import TABLE, NotSupportedYet, by_name, from_triple, resolve, select
from tooling.release import ci, deploy, merge
from tooling.util import archives, atomic

RUSTUP_TARGETS = {
    "s390x-unknown-linux-musl": cfg("s390x", env="musl", endian="big"),
    "arm-unknown-linux-musleabi": cfg("arm", env="musl", abi="eabi", width=32),
    "arm-unknown-linux-gnueabihf": cfg("arm", abi="eabihf", width=32),
    "powerpc64-unknown-linux-gnu": cfg("powerpc64", abi="elfv1", endian="big"),
    "mips64el-unknown-linux-gnuabi64": cfg("mips64", abi="abi64"),
    "x86_64-unknown-freebsd": cfg("x86_64", os="freebsd", env=""),
    "x86_64-unknown-illumos": cfg("x86_64", os="illumos", env=""),
    "x86_64-pc-windows-msvc": cfg("x86_64", os="windows", env="msvc"),
    "thumbv7em-none-eabihf": cfg("arm", os="none", env="", abi="eabihf", width=32),
    "aarch64-pc-windows-gnullvm": cfg("aarch64", os="windows", abi="llvm"),
    "armv7-unknown-linux-uclibceabihf": cfg("arm", env="uclibc", abi="eabihf", width=32),
    "x86_64-unknown-linux-gnux32": cfg("x86_64", abi="x32", width=32),
    "armv5te-unknown-linux-gnueabi": cfg("arm", abi="eabi", width=32),
    # the table's own triples are in every rustc's list too
    **{t.triple: cfg("x86_64") for t in TABLE},
}
#: Debian's rustc knows one triple rustup's does not
DEBIAN_TARGETS = {**RUSTUP_TARGETS,
                  "loongarch64-unknown-linux-gnu": cfg("loongarch64")}


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[FakeRustc,
                                                                            FakeRustc]]:
    rustup = FakeRustc(tmp_path / "rustup", "rustup", "rustc 1.95.0 (59807616e 2026-04-14)",
                       RUSTUP_TARGETS)
    debian = FakeRustc(tmp_path / "debian", "debian", "rustc 1.96.0 (ac68faa20 2026-05-25)",
                       DEBIAN_TARGETS)
    install(monkeypatch, tmp_path, rustup, debian)
    yield rustup, debian
    rustc_data.forget()


def _forget() -> None:
    """A new crossmatrix process: only the remembered answers on disk are left."""
    rustc_data.forget()


# --- the data path --------------------------------------------------------------------------


def test_a_linux_triple_gets_its_facts_from_rustc(fakes: tuple[FakeRustc, FakeRustc]) -> None:
    rustup, _ = fakes
    [target] = resolve("s390x-unknown-linux-musl")
    assert (target.name, target.triple, target.libc, target.linkage, target.linker) == (
        "s390x-unknown-linux-musl", "s390x-unknown-linux-musl", "musl", "static", "zig")
    assert not target.in_table and target.os == "linux"
    arch = target.arch
    assert (arch.qemu, arch.elf_machine, arch.elf_class, arch.endian, arch.deb_arch,
            arch.gnu_prefix) == ("qemu-s390x", "EM_S390", 64, "big", "s390x", "s390x-linux-gnu")
    assert target.tags == ("linux", "musl", "static", "s390x")
    assert "--print cfg --target s390x-unknown-linux-musl" in rustup.calls


def test_the_float_abi_comes_from_rustcs_target_abi_not_the_name(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A rustc that calls the ...gnueabihf triple soft-float (target_abi "eabi") gets the
    soft-float row: the name is not read."""
    odd = FakeRustc(tmp_path / "odd", "rustup", "rustc 1.95.0",
                    {"arm-unknown-linux-gnueabihf": cfg("arm", abi="eabi", width=32)})
    install(monkeypatch, tmp_path, odd)
    try:
        [target] = resolve("arm-unknown-linux-gnueabihf")
        assert (target.arch.float_abi, target.arch.deb_arch, target.arch.gnu_loader) == (
            "soft", "armel", "lib/ld-linux.so.3")
    finally:
        rustc_data.forget()


def test_arm_rows_follow_target_abi(fakes: tuple[FakeRustc, FakeRustc]) -> None:
    [soft] = resolve("arm-unknown-linux-musleabi")
    [hard] = resolve("arm-unknown-linux-gnueabihf")
    assert (soft.arch.float_abi, soft.arch.deb_arch, soft.arch.gnu_prefix) == (
        "soft", "armel", "arm-linux-gnueabi")
    assert (hard.arch.float_abi, hard.arch.deb_arch, hard.arch.gnu_prefix) == (
        "hard", "armhf", "arm-linux-gnueabihf")
    assert soft.arch.zig_flags != hard.arch.zig_flags  # v6 without and with vfp2
    [ppc] = resolve("powerpc64-unknown-linux-gnu")
    assert (ppc.arch.elf_abi, ppc.arch.deb_arch, ppc.arch.qemu) == ("elfv1", "ppc64",
                                                                    "qemu-ppc64")
    [mips] = resolve("mips64el-unknown-linux-gnuabi64")
    assert (mips.arch.elf_abi, mips.arch.endian, mips.arch.gnu_prefix) == (
        "n64", "little", "mips64el-linux-gnuabi64")


def test_table_targets_never_ask_rustc(fakes: tuple[FakeRustc, FakeRustc]) -> None:
    rustup, debian = fakes
    assert select(None) == list(TABLE)
    for row in TABLE:
        assert resolve(row.name) == [row] and resolve(row.triple) == [row]
        assert from_triple(row.triple) is row
    resolve("tag:musl")
    resolve("linux-*")
    resolve("linux-aarch64-gnu.2.17")
    assert rustup.calls == [] and debian.calls == []


def test_answers_are_remembered_per_rustc_binary(fakes: tuple[FakeRustc, FakeRustc]) -> None:
    rustup, _ = fakes
    resolve("s390x-unknown-linux-musl")
    asked = len(rustup.calls)
    assert asked == 3  # -V, target-list, cfg
    _forget()
    resolve("s390x-unknown-linux-musl")
    assert len(rustup.calls) == asked  # a second process asks nothing
    rustup.change()  # rustup update: a new rustc binary
    _forget()
    resolve("s390x-unknown-linux-musl")
    assert len(rustup.calls) == 2 * asked


def test_the_union_of_both_lists_and_which_knows_it(
        fakes: tuple[FakeRustc, FakeRustc]) -> None:
    rustup, debian = fakes
    [target] = resolve("loongarch64-unknown-linux-gnu")  # Debian's rustc only
    assert (target.arch.qemu, target.arch.deb_arch) == ("qemu-loongarch64", "loong64")
    assert "--print cfg --target loongarch64-unknown-linux-gnu" in debian.calls
    assert not any("cfg" in call for call in rustup.calls)
    facts = rustc_data.facts("x86_64-unknown-freebsd")
    assert facts is not None
    assert facts.known_by == ("rustup's rustc 1.95.0", "debian's rustc 1.96.0")
    only = rustc_data.facts("loongarch64-unknown-linux-gnu")
    assert only is not None and only.known_by == ("debian's rustc 1.96.0",)


@pytest.mark.parametrize(("triple", "says"), [
    ("x86_64-unknown-illumos", "no platform module for target_os illumos"),
    # bare metal needs rustc's target spec too: these fakes give none (test_bare_metal.py)
    ("thumbv7em-none-eabihf", "rustc gives no target spec for it"),
    ("x86_64-pc-windows-msvc", "target_env 'msvc', target_abi '' needs another linker"),
    ("armv7-unknown-linux-uclibceabihf", "target_env 'uclibc' is not a C library"),
    ("x86_64-unknown-linux-gnux32", "no row for x86_64 (target_arch x86_64, target_abi 'x32'"),
    ("armv5te-unknown-linux-gnueabi", "no row for armv5te"),
])
def test_what_rustc_knows_and_crossmatrix_cannot_build_says_which_step_and_why(
        fakes: tuple[FakeRustc, FakeRustc], triple: str, says: str) -> None:
    with pytest.raises(NotSupportedYet) as info:
        resolve(triple)
    gap = info.value
    assert gap.step == "compile" and says in gap.why
    assert "unknown target" not in gap.message
    assert gap.message.startswith(f"{triple} (known to rustup's rustc 1.95.0 and debian's "
                                  "rustc 1.96.0) is not supported yet: compile: ")
    assert gap.exit_code == 2 and len(gap.render().splitlines()) <= 2
    assert from_triple(triple) is None
    assert targets.named(triple) is None


def test_select_notes_unsupported_triples_instead_of_raising(
        fakes: tuple[FakeRustc, FakeRustc]) -> None:
    gaps: list[NotSupportedYet] = []
    chosen = select(["linux-x86_64", "x86_64-unknown-illumos", "s390x-unknown-linux-musl",
                     "x86_64-unknown-illumos"], unsupported=gaps)
    assert [t.name for t in chosen] == ["linux-x86_64", "s390x-unknown-linux-musl"]
    assert [g.facts.triple for g in gaps] == ["x86_64-unknown-illumos"]
    with pytest.raises(NotSupportedYet):
        select(["x86_64-unknown-illumos"])


def test_an_unknown_string_is_still_unknown_with_rustcs_triples_suggested(
        fakes: tuple[FakeRustc, FakeRustc]) -> None:
    with pytest.raises(UsageError) as info:
        resolve("s390x-unknown-linux-muls")
    assert not isinstance(info.value, NotSupportedYet)
    assert info.value.message == "unknown target 's390x-unknown-linux-muls'"
    assert info.value.hint is not None
    assert "did you mean s390x-unknown-linux-musl" in info.value.hint
    assert len(info.value.render().splitlines()) <= 2


def test_no_rustc_at_all_leaves_only_the_table(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    install(monkeypatch, tmp_path)
    try:
        assert from_triple("s390x-unknown-linux-musl") is None
        with pytest.raises(UsageError, match="unknown target 's390x-unknown-linux-musl'"):
            resolve("s390x-unknown-linux-musl")
        assert resolve("linux-armv7") == [by_name()["linux-armv7"]]
    finally:
        rustc_data.forget()


def test_a_rustc_that_fails_is_one_line_naming_the_command(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    broken = FakeRustc(tmp_path / "broken", "rustup", "rustc 1.95.0",
                       {"s390x-unknown-linux-musl": cfg("s390x", endian="big")},
                       refuse=("s390x-unknown-linux-musl",))
    install(monkeypatch, tmp_path, broken)
    try:
        assert "s390x-unknown-linux-musl" in rustc_data.known_triples()
        with pytest.raises(StepFailed) as info:
            resolve("s390x-unknown-linux-musl")
        assert info.value.message == (f"{broken.path} --print cfg --target "
                                      "s390x-unknown-linux-musl failed with exit code 1")
    finally:
        rustc_data.forget()


# --- named rows in the project's settings ---------------------------------------------------


def _project(tmp_path: Path, settings: str) -> Path:
    root = tmp_path / "p"
    root.mkdir(exist_ok=True)
    (root / "Cargo.toml").write_text(
        '[package]\nname = "p"\nversion = "0.1.0"\n\n' + settings)
    return root


def test_a_named_row_joins_the_matrix_and_the_ci(fakes: tuple[FakeRustc, FakeRustc],
                                                 tmp_path: Path) -> None:
    root = _project(tmp_path, '[package.metadata.crossmatrix.target.linux-s390x]\n'
                              'triple = "s390x-unknown-linux-musl"\n'
                              'rustflags = ["-Copt-level=s"]\n')
    project = config.load(root)
    [row] = project.rows
    assert (row.name, row.triple, row.configured, row.in_table) == (
        "linux-s390x", "s390x-unknown-linux-musl", True, False)
    assert project.targets == (*(t.name for t in TABLE), "linux-s390x")
    assert [t.name for t in project.select(None)][-1] == "linux-s390x"
    assert project.select(["linux-s390x"]) == [row]
    assert [t.name for t in project.select(["tag:s390x"])] == ["linux-s390x"]
    assert project.settings_for(row).rustflags == ("-Copt-level=s",)
    rows = {r["name"]: r for r in ci.matrix(project)}
    assert rows["linux-s390x"]["session"] == "build-linux-s390x"  # nox -s build-linux-s390x
    # an outside project's job: crossmatrix installed as a tool (ci-install)
    assert rows["linux-s390x"]["command"] == (
        "/opt/crossmatrix/bin/crossmatrix release --target linux-s390x")
    assert rows["linux-s390x"]["triple"] == "s390x-unknown-linux-musl"


def test_a_named_row_with_a_floor_and_in_targets(fakes: tuple[FakeRustc, FakeRustc],
                                                 tmp_path: Path) -> None:
    root = _project(tmp_path, '[package.metadata.crossmatrix]\ntargets = ["ppc"]\n\n'
                              '[package.metadata.crossmatrix.target.ppc]\n'
                              'triple = "powerpc64-unknown-linux-gnu"\nglibc = "2.17"\n')
    project = config.load(root)
    [chosen] = project.select(None)
    assert (chosen.name, chosen.glibc, chosen.linker) == ("ppc", "2.17", "zig")


@pytest.mark.parametrize(("table", "says"), [
    ('[T.linux-x86_64]\ntriple = "s390x-unknown-linux-musl"\n', "a row of the table already"),
    ('[T."Big Name"]\ntriple = "s390x-unknown-linux-musl"\n', "cannot name a target"),
    ('[T.s]\ntriple = "s390x-unknown-linux-muls"\n', "unknown target"),
    ('[T.s]\ntriple = "linux-aarch64"\n', "is not a Rust target triple"),
    ('[T.s]\ntriple = "aarch64-unknown-linux-musl"\n', "is the table's linux-aarch64"),
    ('[T.sun]\ntriple = "x86_64-unknown-illumos"\n', "not supported yet: compile: no platform"),
    ('[T.s]\ntriple = 3\n', "triple must be a non-empty string"),
])
def test_bad_named_rows(fakes: tuple[FakeRustc, FakeRustc], tmp_path: Path, table: str,
                        says: str) -> None:
    root = _project(tmp_path, table.replace("[T.", "[package.metadata.crossmatrix.target."))
    with pytest.raises(ConfigError) as info:
        config.load(root)
    assert says in info.value.message
    assert str(root / "Cargo.toml") in info.value.message
    assert len(info.value.render().splitlines()) <= 2


def test_nox_lists_a_session_per_named_row(tmp_path: Path) -> None:
    """The real noxfile, with the real rustc: `nox -l -- PROJECT` lists the row's sessions."""
    root = _project(tmp_path, '[package.metadata.crossmatrix.target.arm-soft]\n'
                              'triple = "arm-unknown-linux-musleabi"\n')
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-m", "nox", "-f", str(repo / "noxfile.py"), "-l",
                           "--", str(root)], capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(repo)})
    assert done.returncode == 0, done.stderr
    assert "build-arm-soft [build,linux,musl,static,arm]" in done.stdout
    assert "test-arm-soft" in done.stdout
    assert "build-linux-armv7" in done.stdout


def _row_part(dist: Path, name: str, triple: str, arch: str) -> Path:
    """``dist/<name>`` of a named row, as `inv package` writes it."""
    folder = dist / name
    folder.mkdir(parents=True)
    binary = dist.parent / f"{name}.stage"
    binary.write_bytes(b"demo")
    archive = folder / f"demo-0.1.0-{name}.tar.gz"
    sha = archives.write_archive(archive, [("demo", binary, 0o755)], top_dir=f"demo-{name}",
                                 mtime=0)
    info = fake_records.build_info(
        "linux-x86_64", archive=archive.name, archive_sha=sha,
        artifacts=(fake_records.artifact("demo", size=4, sha256=atomic.sha256_file(binary)),))
    replace(info, name=name, triple=triple, arch=arch).write(folder / "build_info.json")
    archives.write_sha256sums(folder, [archive, folder / "build_info.json"])
    return folder


def test_merge_and_deploy_take_a_named_rows_release(fakes: tuple[FakeRustc, FakeRustc],
                                                    tmp_path: Path) -> None:
    dist = tmp_path / "a" / "dist"
    _row_part(dist, "linux-s390x", "s390x-unknown-linux-musl", "s390x")
    [part] = merge.find_parts([dist])
    assert (part.name, part.info.triple) == ("linux-s390x", "s390x-unknown-linux-musl")
    [found] = deploy.find(dist)
    assert found.target.triple == "s390x-unknown-linux-musl"
    assert found.target.arch.qemu == "qemu-s390x"


@pytest.mark.parametrize(("name", "triple"), [
    ("linux-s390x", "x86_64-unknown-illumos"),  # rustc knows it; crossmatrix builds no such
    ("Linux_S390X", "s390x-unknown-linux-musl"),  # no row can have that name
    ("linux-s390x", "x86_64-unknown-linux-gnu"),  # a table row's triple: that row's name
])
def test_merge_refuses_a_release_of_no_row(fakes: tuple[FakeRustc, FakeRustc], tmp_path: Path,
                                           name: str, triple: str) -> None:
    dist = tmp_path / "a" / "dist"
    _row_part(dist, name, triple, "s390x")
    with pytest.raises(StepFailed, match=f"name '{name}' is not a target of the table"):
        merge.find_parts([dist])
    with pytest.raises(UsageError, match=f"unknown target '{name}'|{triple}"):
        deploy.find(dist)
