"""A big-endian target with C code: an outside project whose build script compiles a C file
with the ``cc`` crate, released with ``crossmatrix --project P release --target
s390x-unknown-linux-gnu`` (a triple of no row: its facts are rustc's). The program and its C
object are s390x (EM_S390, ELF64, MSB — read from the bytes, apart from crossmatrix's verify),
and it runs under qemu-s390x with the cross glibc, where the C code sees big-endian bytes."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from tests.integration.helpers import command, crossmatrix, write_project
from tooling.matrix.targets import resolve
from tooling.platforms import linux
from tooling.verify import elf

pytestmark = pytest.mark.integration

TRIPLE = "s390x-unknown-linux-gnu"
SAYS = f"{TRIPLE}: C says big-endian (64-bit long), Rust says big-endian"

ENDIAN_C = """\
#include <stdint.h>
#include <string.h>
/* the first byte in memory of 0x01020304: 1 on a big-endian machine, 4 on a little one */
int endian_first_byte(void) {
    uint32_t word = 0x01020304u;
    unsigned char bytes[4];
    memcpy(bytes, &word, sizeof bytes);
    return bytes[0];
}
/* a sum the C compiler computes in the target's long: 64-bit on s390x */
long endian_long_bits(void) { return (long)(sizeof(long) * 8); }
"""

BUILD_RS = """\
fn main() {
    cc::Build::new().file("native/endian.c").compile("endian");
    println!("cargo:rustc-env=BUILT_FOR={}", std::env::var("TARGET").unwrap());
    println!("cargo:rerun-if-changed=native/endian.c");
}
"""

MAIN_RS = """\
extern "C" {
    fn endian_first_byte() -> std::os::raw::c_int;
    fn endian_long_bits() -> std::os::raw::c_long;
}
fn main() {
    let (first, bits) = unsafe { (endian_first_byte(), endian_long_bits()) };
    let c_says = if first == 1 { "big" } else if first == 4 { "little" } else { "unknown" };
    let rust_says = if cfg!(target_endian = "big") { "big" } else { "little" };
    println!("{}: C says {c_says}-endian ({bits}-bit long), Rust says {rust_says}-endian",
             env!("BUILT_FOR"));
    std::process::exit(if c_says == rust_says { 0 } else { 1 });
}
"""


def _workspace(root: Path) -> Path:
    ws = root / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "native").mkdir()
    (ws / "Cargo.toml").write_text(
        '[package]\nname = "endian-probe"\nversion = "0.1.0"\nedition = "2021"\n\n'
        '[build-dependencies]\ncc = "1"\n')
    (ws / "build.rs").write_text(BUILD_RS)
    (ws / "src" / "main.rs").write_text(MAIN_RS)
    (ws / "native" / "endian.c").write_text(ENDIAN_C)
    # the cc crate from cargo's cache (the sample workspace uses it), else crates.io once
    locked = command(["cargo", "generate-lockfile", "--offline"], cwd=ws)
    if locked.returncode != 0:
        locked = command(["cargo", "generate-lockfile"], cwd=ws)
    assert locked.returncode == 0, locked.stderr
    fetched = command(["cargo", "fetch"], cwd=ws)
    assert fetched.returncode == 0, fetched.stderr
    return ws


def _header(path: Path) -> tuple[int, int, int]:
    """(EI_CLASS, EI_DATA, e_machine) straight from the bytes: 2 = ELF64, 2 = MSB, 22 =
    EM_S390 (e_machine read in the byte order EI_DATA names)."""
    head = path.read_bytes()[:20]
    assert head[:4] == b"\x7fELF", head
    machine = head[18:20]
    return head[4], head[5], int.from_bytes(machine, "big" if head[5] == 2 else "little")


def test_s390x_with_c_code_builds_verifies_big_endian_and_runs(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    project = write_project(tmp_path / "project", workspace=ws)
    setup = crossmatrix(project, "setup", "--target", TRIPLE)  # s390x cross gcc and glibc
    assert setup.returncode == 0, setup.stderr[-3000:]

    result = crossmatrix(project, "release", "--target", TRIPLE)
    assert result.returncode == 0, result.stderr[-4000:]
    dist = project / "dist" / TRIPLE
    info = json.loads((dist / "build_info.json").read_text())
    assert (info["triple"], info["linkage"], info["libc"]) == (TRIPLE, "dynamic", "gnu")
    [art] = [a for a in info["artifacts"] if a["name"] == "endian-probe"]
    assert art["machine"] == "EM_S390" and art["interpreter"] == "/lib/ld64.so.1"
    run = art["run"]
    assert run["ran"] is True and run["runner"].startswith("qemu-s390x -L /usr/s390x-linux-gnu")
    assert run["output"].strip() == SAYS, run

    # the released program, read again from the archive
    with tarfile.open(dist / info["archive"]["file"]) as tar:
        [member] = [m for m in tar.getmembers() if m.name.endswith("/endian-probe")]
        tar.extractall(tmp_path / "unpacked", members=[member], filter="data")
    binary = tmp_path / "unpacked" / member.name
    assert _header(binary) == (2, 2, 22)  # ELF64, MSB, EM_S390
    facts = elf.read_facts(binary)
    [target] = resolve(TRIPLE)
    assert (facts.machine, facts.elf_class, facts.endian) == ("EM_S390", 64, "big")
    assert all(check.ok for check in elf.verify(facts, target)), elf.verify(facts, target)

    # the C object the cc crate compiled is s390x's too (a host object would not link)
    objects = list((ws / "target" / TRIPLE).glob("release/build/endian-probe-*/out/**/*.o"))
    assert objects, "cc left no object file"
    assert {_header(o) for o in objects} == {(2, 2, 22)}

    # and it runs under qemu-s390x, with the C code's answer
    assert linux.prefix(target)[0] == "qemu-s390x"
    ran = command([*linux.prefix(target), str(binary)])
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == SAYS
