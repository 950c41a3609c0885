"""The derivation from real ``rustc --print cfg`` outputs, recorded in tests/unit/recorded_cfg
(rustup's rustc, see RUSTC_VERSION there): a fake rustc says them verbatim, and each triple
gets the row its facts mean — big-endian (s390x, powerpc64, mips64, aarch64_be), soft-float
ARM (target_abi eabi), MIPS n64 (abi64), PPC64 ELFv1 (powerpc64 gnu) and ELFv2 (powerpc64le,
and powerpc64 musl, which rustc says is ELFv2 too: the name does not decide)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.fake_rustc import FakeRustc, install
from tooling.matrix import rustc_data
from tooling.matrix.targets import resolve
from tooling.platforms import linux
from tooling.verify import elf

RECORDED = Path(__file__).parent / "recorded_cfg"
OUTPUTS = {path.stem: path.read_text() for path in sorted(RECORDED.glob("*.cfg"))}

#: triple -> (elf_machine, class, endian, float_abi, elf_abi, deb_arch, qemu, gnu_loader)
EXPECTED: dict[str, tuple[str, int, str, str | None, str | None, str | None, str, str]] = {
    "s390x-unknown-linux-gnu": ("EM_S390", 64, "big", None, None, "s390x", "qemu-s390x",
                                "lib/ld64.so.1"),
    "aarch64_be-unknown-linux-gnu": ("EM_AARCH64", 64, "big", None, None, None,
                                     "qemu-aarch64_be", "lib/ld-linux-aarch64_be.so.1"),
    "powerpc64-unknown-linux-gnu": ("EM_PPC64", 64, "big", None, "elfv1", "ppc64",
                                    "qemu-ppc64", "lib64/ld64.so.1"),
    "powerpc64-unknown-linux-musl": ("EM_PPC64", 64, "big", None, "elfv2", None,
                                     "qemu-ppc64", "lib64/ld64.so.2"),
    "powerpc64le-unknown-linux-gnu": ("EM_PPC64", 64, "little", None, "elfv2", "ppc64el",
                                      "qemu-ppc64le", "lib64/ld64.so.2"),
    "mips64el-unknown-linux-gnuabi64": ("EM_MIPS", 64, "little", None, "n64", "mips64el",
                                        "qemu-mips64el", "lib64/ld.so.1"),
    "mips64-unknown-linux-gnuabi64": ("EM_MIPS", 64, "big", None, "n64", "mips64",
                                      "qemu-mips64", "lib64/ld.so.1"),
    "mips-unknown-linux-gnu": ("EM_MIPS", 32, "big", None, "o32", "mips", "qemu-mips",
                               "lib/ld.so.1"),
    "arm-unknown-linux-gnueabi": ("EM_ARM", 32, "little", "soft", None, "armel", "qemu-arm",
                                  "lib/ld-linux.so.3"),
    "arm-unknown-linux-musleabi": ("EM_ARM", 32, "little", "soft", None, "armel", "qemu-arm",
                                   "lib/ld-linux.so.3"),
    "armv7-unknown-linux-musleabi": ("EM_ARM", 32, "little", "soft", None, "armel",
                                     "qemu-arm", "lib/ld-linux.so.3"),
    "armv7-unknown-linux-gnueabihf": ("EM_ARM", 32, "little", "hard", None, "armhf",
                                      "qemu-arm", "lib/ld-linux-armhf.so.3"),
    "loongarch64-unknown-linux-gnu": ("EM_LOONGARCH", 64, "little", None, None, "loong64",
                                      "qemu-loongarch64", "lib64/ld-linux-loongarch-lp64d.so.1"),
    "i586-unknown-linux-gnu": ("EM_386", 32, "little", None, None, "i386", "qemu-i386",
                               "lib/ld-linux.so.2"),
}


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeRustc]:
    version = (RECORDED / "RUSTC_VERSION").read_text().strip()
    rustc = FakeRustc(tmp_path / "rustup", "rustup", version, OUTPUTS)
    install(monkeypatch, tmp_path, rustc)
    yield rustc
    rustc_data.forget()


def test_every_recorded_output_has_its_expectation() -> None:
    assert set(OUTPUTS) == set(EXPECTED)


@pytest.mark.parametrize("triple", sorted(EXPECTED))
def test_a_recorded_cfg_gives_the_row_its_facts_mean(recorded: FakeRustc, triple: str) -> None:
    [target] = resolve(triple)
    assert f"--print cfg --target {triple}" in recorded.calls  # asked, not read off the name
    arch = target.arch
    assert (arch.elf_machine, arch.elf_class, arch.endian, arch.float_abi, arch.elf_abi,
            arch.deb_arch, arch.qemu, arch.gnu_loader) == EXPECTED[triple]
    facts = rustc_data.facts(triple)
    assert facts is not None
    assert (facts.endian, facts.pointer_width) == (arch.endian, arch.elf_class)
    libc = "musl" if "musl" in triple else "gnu"
    assert (target.libc, target.linkage) == (libc, "static" if libc == "musl" else "dynamic")


def test_soft_float_arm_is_said_by_target_abi_and_verified_from_the_elf_flags(
        recorded: FakeRustc) -> None:
    """rustc's target_abi "eabi" (recorded) makes the row soft-float, and verify then wants
    EF_ARM_ABI_FLOAT_SOFT in e_flags: a hard-float binary fails that check."""
    [soft] = resolve("armv7-unknown-linux-musleabi")
    assert rustc_data.facts("armv7-unknown-linux-musleabi").abi == "eabi"  # type: ignore[union-attr]
    assert "soft_float" in " ".join(soft.arch.zig_flags)
    base = dict(path=Path("p"), size=1, machine="EM_ARM", elf_class=32, endian="little",
                elf_type="ET_EXEC", elf_abi=None, interpreter=None, needed=(), static=True,
                static_pie=False, glibc_requirements={}, highest_glibc=None, stripped=True,
                exported=())
    float_checks = {
        abi: [c for c in elf.verify(elf.BinaryFacts(float_abi=abi, **base), soft)  # type: ignore[arg-type]
              if c.name == "float-abi"]
        for abi in ("soft", "hard")}
    assert [c.ok for c in float_checks["soft"]] == [True]
    assert [(c.ok, c.expected, c.actual) for c in float_checks["hard"]] == [
        (False, "soft", "hard")]


def test_big_endian_is_verified_from_the_elf_header(recorded: FakeRustc) -> None:
    [s390x] = resolve("s390x-unknown-linux-gnu")
    base = dict(path=Path("p"), size=1, machine="EM_S390", elf_class=64, elf_type="ET_DYN",
                float_abi=None, elf_abi=None, interpreter="/lib/ld64.so.1",
                needed=("libc.so.6",), static=False, static_pie=False,
                glibc_requirements={}, highest_glibc=None, stripped=True, exported=())
    checks = {endian: {c.name: c.ok for c in elf.verify(
        elf.BinaryFacts(endian=endian, **base), s390x)}  # type: ignore[arg-type]
        for endian in ("big", "little")}
    assert checks["big"]["endian"] and not checks["little"]["endian"]


def test_a_gnu_port_debian_has_no_cross_gcc_for_links_with_zig_and_says_why_not_run(
        recorded: FakeRustc) -> None:
    """loongarch64: Debian 12 has no gcc-loongarch64-linux-gnu, libc6-dev-loong64-cross or
    binutils: zig links it with its own glibc, setup asks for none of them, and its binaries
    are verified, not run (qemu would need that glibc)."""
    [loong] = resolve("loongarch64-unknown-linux-gnu")
    assert (loong.libc, loong.linker, loong.arch.debian_cross) == ("gnu", "zig", False)
    wanted = linux.debian_packages(loong, loong.linker)
    assert wanted.packages == ("qemu-user",) and wanted.std == ()
    assert linux.gcc_link(loong).packages == ()
    said = linux.cannot_run(loong)
    assert said is not None and "no loongarch64-linux-gnu cross glibc" in said
    [s390x] = resolve("s390x-unknown-linux-gnu")  # a port whose cross gcc Debian has
    assert (s390x.linker, s390x.arch.debian_cross) == ("gcc", True)
    assert "binutils-s390x-linux-gnu" in linux.debian_packages(s390x, "gcc").packages
