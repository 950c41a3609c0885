"""Bare metal (target_os none) from rustc's own data: the recorded ``--print cfg`` text and
``--print target-spec-json`` of a real rustc (tests/unit/snapshots/bare_metal_rustc.json,
rustup's 1.95.0) make each triple's target (ELF machine, class, endian, float ABI) or say
why not; what the none platform, the linker plan, the std build and verify do with it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.fake_rustc import FakeRustc, install
from tooling.compile import crossenv, linkers, nostd
from tooling.matrix import rustc_data
from tooling.matrix.targets import NotSupportedYet, Target, resolve
from tooling.platforms import none, platform_of, runner
from tooling.std import compiler, providers, sysroot
from tooling.verify import elf

RECORDED = json.loads((Path(__file__).parent / "snapshots" / "bare_metal_rustc.json")
                      .read_text())

#: the target table a hint names
WHERE = "[package.metadata.crossmatrix.target.t]"


@pytest.fixture
def rustc(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeRustc]:
    """A rustc answering with the recorded text of the real one."""
    found = RECORDED["targets"]
    fake = FakeRustc(tmp_path / "rustup", "rustup", RECORDED["rustc"],
                     {triple: data["cfg"] for triple, data in found.items()},
                     specs={triple: data["spec"] for triple, data in found.items()})
    install(monkeypatch, tmp_path, fake)
    yield fake
    rustc_data.forget()


def _one(triple: str) -> Target:
    [target] = resolve(triple)
    return target


def test_the_recorded_text_is_a_real_rustcs() -> None:
    thumb = RECORDED["targets"]["thumbv7em-none-eabihf"]
    assert 'target_os="none"' in thumb["cfg"] and 'target_abi="eabihf"' in thumb["cfg"]
    assert thumb["spec"]["linker-flavor"] == "gnu-lld"
    assert RECORDED["rustc"].startswith("rustc 1.")


@pytest.mark.parametrize(("triple", "machine", "bits", "endian", "float_abi"), [
    ("thumbv7em-none-eabihf", "EM_ARM", 32, "little", "hard"),
    ("thumbv6m-none-eabi", "EM_ARM", 32, "little", "soft"),
    ("armebv7r-none-eabihf", "EM_ARM", 32, "big", "hard"),
    ("riscv32imac-unknown-none-elf", "EM_RISCV", 32, "little", "soft"),  # ilp32
    ("riscv32imafc-unknown-none-elf", "EM_RISCV", 32, "little", "single"),  # ilp32f
    ("riscv32e-unknown-none-elf", "EM_RISCV", 32, "little", "soft"),  # ilp32e
    ("riscv64gc-unknown-none-elf", "EM_RISCV", 64, "little", "double"),  # lp64d
    ("x86_64-unknown-none", "EM_X86_64", 64, "little", None),
    ("mipsel-unknown-none", "EM_MIPS", 32, "little", None),
    ("hexagon-unknown-none-elf", "EM_QDSP6", 32, "little", None),
])
def test_a_bare_metal_triple_gets_its_row_from_rustcs_cfg_and_spec(
        rustc: FakeRustc, triple: str, machine: str, bits: int, endian: str,
        float_abi: str | None) -> None:
    target = _one(triple)
    assert (target.name, target.os, target.libc, target.linkage, target.linker) == (
        triple, "none", "none", "static", "rust-lld")
    assert target.freestanding and not target.in_table and not target.is_glibc
    assert target.glibc_loader is None
    arch = target.arch
    assert (arch.elf_machine, arch.elf_class, arch.endian, arch.float_abi) == (
        machine, bits, endian, float_abi)
    assert arch.rust == triple.split("-")[0] and arch.deb_arch is None
    assert target.tags == ("none", "bare-metal", "static", arch.rust)
    assert platform_of(target) is none
    assert f"--print cfg --target {triple}" in rustc.calls
    assert f"-Zunstable-options --print target-spec-json --target {triple}" in rustc.calls


def test_qemu_system_and_the_elf_abi_follow_the_machine_row(rustc: FakeRustc) -> None:
    mips = _one("mipsel-unknown-none").arch
    assert (mips.qemu, mips.elf_abi) == ("qemu-system-mipsel", "o32")  # little-endian MIPS
    assert _one("armebv7r-none-eabihf").arch.qemu == "qemu-system-arm"  # big-endian too
    assert _one("hexagon-unknown-none-elf").arch.qemu == ""  # no qemu-system
    assert "qemu-system " in (none.cannot_run(_one("hexagon-unknown-none-elf")) or "")


def test_the_float_abi_is_rustcs_spec_not_the_name(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A rustc whose spec calls the ...eabihf triple soft-float gets a soft-float row, and
    one whose RISC-V abiname is lp64d a double-float row whatever the name says."""
    thumb = RECORDED["targets"]["thumbv7em-none-eabihf"]
    riscv = RECORDED["targets"]["riscv32imac-unknown-none-elf"]
    odd = FakeRustc(tmp_path / "odd", "rustup", RECORDED["rustc"],
                    {"thumbv7em-none-eabihf": thumb["cfg"],
                     "riscv32imac-unknown-none-elf": riscv["cfg"]},
                    specs={"thumbv7em-none-eabihf": {**thumb["spec"], "llvm-floatabi": "soft"},
                           "riscv32imac-unknown-none-elf": {**riscv["spec"],
                                                            "llvm-abiname": "ilp32d"}})
    install(monkeypatch, tmp_path, odd)
    try:
        assert _one("thumbv7em-none-eabihf").arch.float_abi == "soft"
        assert _one("riscv32imac-unknown-none-elf").arch.float_abi == "double"
    finally:
        rustc_data.forget()


@pytest.mark.parametrize(("triple", "says"), [
    ("avr-none", "rustc links it with avr-gcc (linker-flavor gnu-cc)"),
    ("wasm32v1-none", "rustc links it with rust-lld (linker-flavor wasm-lld)"),
])
def test_bare_metal_rustc_does_not_link_into_elf_is_not_supported_yet(
        rustc: FakeRustc, triple: str, says: str) -> None:
    with pytest.raises(NotSupportedYet) as info:
        resolve(triple)
    assert info.value.step == "compile" and says in info.value.why
    assert len(info.value.render().splitlines()) <= 2


def test_an_architecture_with_no_machine_row_says_so(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """rustc's lld links it, but the machine table has no ELF machine for its target_arch."""
    thumb = RECORDED["targets"]["thumbv7em-none-eabihf"]
    cfg = thumb["cfg"].replace('target_arch="arm"', 'target_arch="powerpc"')
    fake = FakeRustc(tmp_path / "ppc", "rustup", RECORDED["rustc"],
                     {"powerpc-unknown-none": cfg}, specs={"powerpc-unknown-none": thumb["spec"]})
    install(monkeypatch, tmp_path, fake)
    try:
        with pytest.raises(NotSupportedYet) as info:
            resolve("powerpc-unknown-none")
        assert "no bare-metal row for target_arch powerpc (32-bit)" in info.value.why
    finally:
        rustc_data.forget()


def test_no_target_spec_from_rustc_is_not_supported_yet(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = FakeRustc(tmp_path / "nospec", "rustup", RECORDED["rustc"],
                     {"thumbv7em-none-eabihf": RECORDED["targets"]["thumbv7em-none-eabihf"]["cfg"]})
    install(monkeypatch, tmp_path, fake)
    try:
        with pytest.raises(NotSupportedYet, match="rustc gives no target spec for it"):
            resolve("thumbv7em-none-eabihf")
    finally:
        rustc_data.forget()


# --- the platform, the linker, C -------------------------------------------------------


def test_the_none_platform_runs_nothing_and_says_why(rustc: FakeRustc) -> None:
    target = _one("thumbv7em-none-eabihf")
    why = none.cannot_run(target)
    assert why is not None and why.startswith("bare metal: ") and "qemu-system-arm" in why
    assert none.test_runner(target, Path("/nonexistent"), {}) is None
    assert none.cargo_runner(target) == [] and none.run_program(target) is None
    assert none.cdylib_unsupported(target, []) is not None
    assert runner.NOT_RUN == "verified structurally, not run"
    assert none.binary_format == "elf"
    assert "llvm-strip" in none.strip_tools(target).programs


def test_a_crate_that_needs_std_gets_one_line_with_the_fix(rustc: FakeRustc) -> None:
    target = _one("thumbv7em-none-eabihf")
    stderr = ("error[E0463]: can't find crate for `std`\n  |\n  = note: the "
              "`thumbv7em-none-eabihf` target may not support the standard library\n"
              "error: could not compile `hello` (bin \"hello\") due to 1 previous error\n")
    hint = none.link_hint(target, stderr, WHERE)
    assert hint is not None and "\n" not in hint
    assert hint.startswith("hello needs std, and thumbv7em-none-eabihf (bare metal) has only "
                           "core and alloc: make it #![no_std]")
    assert none.link_hint(target, "error: linking with `rust-lld` failed", WHERE) is None


def test_rust_lld_links_with_no_c_toolchain(rustc: FakeRustc, tmp_path: Path) -> None:
    target = _one("riscv32imac-unknown-none-elf")
    plan = linkers.plan(target, "rust-lld", tmp_path)
    assert plan.kind == "rust-lld" and plan.cc == "" and plan.scripts == ()
    env = plan.cargo_env(target)
    assert env == {"CARGO_TARGET_RISCV32IMAC_UNKNOWN_NONE_ELF_LINKER": plan.linker}
    found = compiler.rust_lld()
    if found is None:  # neither rustup's rust-lld nor Debian's ld.lld: setup installs lld
        assert (plan.linker, plan.packages) == ("rust-lld", ("lld",))
    else:
        assert plan.linker == found and Path(found).is_file() and plan.packages == ()
        assert Path(found).name in ("rust-lld", "ld.lld")
    assert crossenv.plan(target, plan, tmp_path, {}, "x86_64-unknown-linux-gnu").env == {}


# --- std: core and alloc --------------------------------------------------------------


def test_build_std_builds_core_and_alloc_with_the_mem_functions(rustc: FakeRustc) -> None:
    target = _one("thumbv7em-none-eabihf")
    assert sysroot.crates_for(target) == "core,alloc"
    args = sysroot._cargo_args(target.triple, (), sysroot.crates_for(target))
    assert "-Zbuild-std=core,alloc" in args
    assert "-Zbuild-std-features=compiler-builtins-mem" in args
    assert sysroot._cargo_args("x86_64-unknown-linux-musl", ()) == [
        "build", "--release", "-Zbuild-std=std,panic_abort,test", "--target",
        "x86_64-unknown-linux-musl", "--offline"]
    assert providers._base_crate(target) == "core"


def test_has_std_reads_the_crate_asked_for(tmp_path: Path) -> None:
    lib = tmp_path / "lib" / "rustlib" / "thumbv7em-none-eabihf" / "lib"
    lib.mkdir(parents=True)
    (lib / "libcore-0147d103acb464ac.rlib").write_bytes(b"!<arch>\n")
    fake = compiler.Compiler(kind="rustup", rustc=tmp_path / "rustc", cargo=tmp_path / "cargo",
                             release="1.95.0", commit_hash="x", host="x86_64-unknown-linux-gnu",
                             sysroot=tmp_path, verbose_version="rustc 1.95.0\n")
    assert compiler.has_std(fake, "thumbv7em-none-eabihf", crate="core")
    assert not compiler.has_std(fake, "thumbv7em-none-eabihf")


# --- verify ---------------------------------------------------------------------------


def _facts(**changes: object) -> elf.BinaryFacts:
    base: dict[str, object] = dict(
        path=Path("bare"), size=3624, machine="EM_ARM", elf_class=32, endian="little",
        elf_type="ET_EXEC", float_abi="hard", interpreter=None, needed=(), static=True,
        static_pie=False, glibc_requirements={}, highest_glibc=None, stripped=True,
        exported=(), entry=0x202DB)
    base.update(changes)
    return elf.BinaryFacts(**base)  # type: ignore[arg-type]


def test_verify_checks_machine_float_abi_static_and_the_entry_point(rustc: FakeRustc) -> None:
    target = _one("thumbv7em-none-eabihf")
    checks = {c.name: c for c in elf.verify(_facts(), target)}
    assert set(checks) == {"machine", "class", "endian", "float-abi", "linkage", "entry",
                           "stripped"}  # no glibc check: there is no C library
    assert all(c.ok for c in checks.values())
    assert checks["entry"].actual == "0x202db"
    bad = {c.name: c for c in elf.failed(elf.verify(
        _facts(float_abi="soft", entry=0, static=False, interpreter="/lib/ld.so"), target))}
    assert set(bad) == {"float-abi", "entry", "linkage"}
    assert bad["entry"].actual == "none (e_entry 0)"
    riscv = _one("riscv32imac-unknown-none-elf")
    assert not elf.failed(elf.verify(_facts(machine="EM_RISCV", float_abi="soft"), riscv))
    assert elf.failed(elf.verify(_facts(machine="EM_RISCV", float_abi="double"), riscv))


def test_cargo_naming_the_crate_that_needs_std_wins(rustc: FakeRustc) -> None:
    """A dependency that needs std: cargo says which, and the hint names it, not the
    package that failed to compile."""
    target = _one("thumbv7em-none-eabihf")
    stderr = ("error[E0463]: can't find crate for `std`\n  = note: `std` is required by "
              "`itoa` because it does not declare `#![no_std]`\nerror: could not compile "
              "`itoa` (lib) due to 1 previous error\n")
    hint = none.link_hint(target, stderr, WHERE)
    assert hint is not None and hint.startswith("itoa needs std")


@pytest.mark.parametrize(("source", "no_std"), [
    ("#![no_std]\n#![no_main]\n", True),
    ("//! docs\n#![ no_std ]\n", True),
    ('#![cfg_attr(not(feature = "std"), no_std)]\n', True),
    ("fn main() { println!(\"hi\"); }\n", False),
    ("#![no_main]\nuse core::panic::PanicInfo;\n", False),
    ("#![cfg_attr(test, allow(unused))]\n// no_std some day\n", False),
])
def test_which_crate_roots_declare_no_std(source: str, no_std: bool) -> None:
    assert nostd.declares_no_std(source) is no_std


def test_without_any_rust_lld_setup_installs_debians_lld(
        rustc: FakeRustc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No rustup toolchain with its rust-lld and no ld.lld: the plan names the linker as
    missing and setup installs Debian's lld (with llvm for llvm-strip)."""
    target = _one("thumbv7em-none-eabihf")
    assert none.debian_packages(target, "rust-lld").packages[0] == "llvm"
    monkeypatch.setattr(linkers, "rust_lld", lambda workspace=None: None)
    monkeypatch.setattr(none, "rust_lld", lambda workspace=None: None)
    plan = linkers.plan(target, "rust-lld", tmp_path)
    assert (plan.linker, plan.packages, plan.present()) == ("rust-lld", ("lld",), False)
    assert none.debian_packages(target, "rust-lld").packages == ("llvm", "lld")
