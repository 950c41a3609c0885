"""Integration tests really cross-compile the sample workspace, inspect and run the binaries.

They build into the repository's own target folder (so a run after the README's
first command is incremental) and share the user's std cache (the point of it),
but write their releases into temporary folders. The project they build is
configured offline: rustup only for targets it already has, Debian's multiarch
std for linux-aarch64-gnu, std built from source for the rest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
#: every sample crate with a binary: Rust only, C by cc, SQLite (bundled C), protobuf
#: (protoc at build time), zlib (the system's on Linux gnu, built from source elsewhere)
PROGRAMS = ("edge-agent", "fleet-report", "sensor-crc", "sqlite-probe", "telemetry-proto",
            "log-shipper")


#: where the matrix fixture (conftest.py) keeps its release's dist/logs: later tests run
#: single steps on that project, and each run makes its targets' logs anew
RELEASE_LOGS = "release-logs"


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def crossmatrix(project: Path, *args: str, env: dict[str, str] | None = None,
                timeout: float = 3000) -> Run:
    """The console script, as a user runs it."""
    return command([str(BIN / "crossmatrix"), "--project", str(project), *args], env=env,
                   timeout=timeout)


def command(argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 3000) -> Run:
    full_env = {**os.environ, **(env or {})}
    res = subprocess.run(list(argv), capture_output=True, text=True, env=full_env, cwd=cwd,
                         timeout=timeout, check=False)
    return Run(res.returncode, res.stdout, res.stderr)


#: Every provider exercised whatever this machine's rustup holds: Debian's multiarch std
#: for linux-aarch64-gnu, std built from source for the musl targets, riscv64, Windows and
#: macOS, and rustup (offline: only what it already has) for the host.
def repo_pre_build() -> dict[str, list[str]]:
    """The repository's own ``pre-build`` lines per target (log-shipper's zlib1g-dev)."""
    import tomllib

    table = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["crossmatrix"]
    return {name: list(settings["pre-build"])
            for name, settings in table.get("target", {}).items() if "pre-build" in settings}


def providers(chosen: dict[str, str]) -> str:
    """``[tool.crossmatrix.target.<name>] std-provider = ...`` tables for a pyproject, with
    the repository's ``pre-build`` lines for those targets (as its own config has them)."""
    import json

    pre_build = repo_pre_build()
    return "".join(f'[tool.crossmatrix.target.{name}]\nstd-provider = "{provider}"\n'
                   + (f"pre-build = {json.dumps(pre_build[name])}\n" if name in pre_build else "")
                   for name, provider in chosen.items())


FORCED_PROVIDERS = "\n" + providers({
    "linux-aarch64-gnu": "debian",
    **dict.fromkeys(("linux-aarch64", "linux-armv7", "linux-x86_64", "linux-riscv64-gnu",
                     "windows-x86_64", "windows-x86", "macos-x86_64", "macos-aarch64"),
                    "build-std"),
})


def write_project(root: Path, extra: str = "", *, workspace: Path | None = None,
                  offline: bool = True) -> Path:
    """A project of the sample workspace (each of its programs prints its own triple, and
    the smoke test checks that), or of ``workspace``; offline unless told (then rustup may
    add a target's std, as on a user's first run)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        "[tool.crossmatrix]\n"
        'name = "edge-tools"\n'
        f'workspace = "{workspace or REPO / "crates"}"\n'
        'dist = "dist"\n'
        f"offline = {'true' if offline else 'false'}\n"
        + ("smoke-expect-triple = true\n" if workspace is None else "") + extra
    )
    return root




def hello_project(root: Path, target: str, triple: str) -> Path:
    """A crate of one binary (it prints ``hello (<triple>)``), no dependencies, that is its
    own crossmatrix project: offline, std for ``target`` built from source."""
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "Cargo.toml").write_text(
        '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n')
    (root / "src" / "main.rs").write_text(f'fn main() {{ println!("hello ({triple})"); }}\n')
    (root / "pyproject.toml").write_text(
        f'[tool.crossmatrix]\noffline = true\ntargets = ["{target}"]\n'
        "smoke-expect-triple = true\n"
        f'[tool.crossmatrix.target.{target}]\nstd-provider = "build-std"\n')
    return root


#: A bare-metal program (``#![no_std]``, ``#![no_main]``) that links with rustc's rust-lld
#: and no linker script: ``_start`` is lld's default entry (``__start`` on MIPS; without it
#: lld keeps nothing and e_entry is 0, which verify refuses), a ``#[panic_handler]`` and a
#: tiny global allocator (no atomics: thumbv6m has no compare-and-swap) so that ``alloc``
#: is linked too, and a volatile store keeps the work from being optimised away.
NO_STD_MAIN = """\
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::panic::PanicInfo;

const HEAP: usize = 4096;

struct Bump {
    heap: UnsafeCell<[u8; HEAP]>,
    next: UnsafeCell<usize>,
}

// one core, no interrupts touching the heap: a plain cell is enough
unsafe impl Sync for Bump {}

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let next = &mut *self.next.get();
        let start = (*next + layout.align() - 1) & !(layout.align() - 1);
        if start + layout.size() > HEAP {
            return core::ptr::null_mut();
        }
        *next = start + layout.size();
        (self.heap.get() as *mut u8).add(start)
    }
    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static ALLOCATOR: Bump = Bump { heap: UnsafeCell::new([0; HEAP]), next: UnsafeCell::new(0) };

static mut RESULT: u32 = 0;

#[panic_handler]
fn panic(_info: &PanicInfo) -> ! {
    loop {}
}

#[no_mangle]
pub extern "C" fn _start() -> ! {
    let squares: Vec<u32> = (1..=16u32).map(|n| n * n).collect();
    let sum: u32 = squares.iter().sum();
    unsafe { core::ptr::write_volatile(core::ptr::addr_of_mut!(RESULT), sum) };
    loop {}
}

// lld starts MIPS images at __start (as GNU ld does), every other one at _start
#[cfg(any(target_arch = "mips", target_arch = "mips32r6", target_arch = "mips64"))]
#[no_mangle]
pub extern "C" fn __start() -> ! {
    _start()
}
"""


def write_no_std_crate(root: Path, name: str = "bare") -> Path:
    """A cargo package of one bare-metal binary ``name`` (:data:`NO_STD_MAIN`) at ``root``,
    its own workspace, panic = "abort" in every profile; returns ``root``. For any
    ``*-none-*`` triple whose target rustc links with its own lld (thumbv7em-none-eabihf,
    riscv32imac-unknown-none-elf …)."""
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "Cargo.toml").write_text(
        f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n\n'
        '[profile.dev]\npanic = "abort"\n\n[profile.release]\npanic = "abort"\n')
    (root / "src" / "main.rs").write_text(NO_STD_MAIN)
    return root


def no_std_project(root: Path, *triples: str, extra: str = "", name: str = "bare") -> Path:
    """:func:`write_no_std_crate` as its own crossmatrix project (offline) whose default
    targets are ``triples``."""
    write_no_std_crate(root, name)
    listed = ", ".join(f'"{triple}"' for triple in triples)
    (root / "pyproject.toml").write_text(
        f'[tool.crossmatrix]\nname = "{name}"\noffline = true\ntargets = [{listed}]\n'
        + extra)
    return root
