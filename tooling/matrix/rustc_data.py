"""What rustc itself says about a target: ``rustc --print target-list`` and ``rustc --print
cfg --target T``, from rustup's rustc and Debian's (their lists differ: the union counts,
and each answer names which one knows the triple).

Asked only for a triple that is not a row of the table, and remembered (:mod:`tooling.util.memo`)
while the rustc binary keeps its size and modification time, i.e. per rustc version: the
default matrix never runs rustc here.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tooling.util import memo, proc

DEBIAN_RUSTC = Path("/usr/bin/rustc")


@dataclass(frozen=True)
class Rustc:
    kind: str  #: "rustup" or "debian"
    path: Path


@dataclass(frozen=True, kw_only=True)
class Facts:
    """``rustc --print cfg --target <triple>``, the keys crossmatrix reads."""

    triple: str
    arch: str  #: target_arch: x86, arm, mips64, powerpc64 …
    os: str  #: target_os: linux, windows, macos, freebsd, none …
    env: str  #: target_env: gnu, musl, "" …
    abi: str  #: target_abi: eabihf, eabi, abi64, elfv1, elfv2, "" …
    endian: str  #: "little" or "big"
    pointer_width: int
    features: tuple[str, ...] = ()
    known_by: tuple[str, ...] = ()  #: "rustup rustc 1.95.0", "debian rustc 1.96.0"

    @property
    def cpu(self) -> str:
        """The triple's first part as rustc spells it (armv7, thumbv7neon, i586)."""
        return self.triple.split("-", 1)[0]

    def describe(self) -> str:
        return " and ".join(self.known_by)


def _rustup_rustc() -> Path | None:
    rustup = proc.which("rustup")
    if rustup is None:
        return None
    home = Path(os.environ.get("RUSTUP_HOME", Path.home() / ".rustup"))
    cwd = Path.cwd()

    def which() -> tuple[str | None, list[Path]]:
        res = proc.run(["rustup", "which", "rustc"], bound="tool", check=False, echo=False)
        if not res.ok:
            return None, []
        return res.stdout.strip(), [Path(res.stdout.strip())]

    files = [Path(rustup), home / "settings.toml", home / "toolchains",
             *memo.ancestors_files(cwd, ("rust-toolchain", "rust-toolchain.toml"))]
    found: str | None = memo.remember("rustup-which-rustc", [str(cwd)], files, which)
    return Path(found) if found else None


def _find() -> tuple[Rustc, ...]:
    found = []
    rustup = _rustup_rustc()
    if rustup is not None:
        found.append(Rustc("rustup", rustup))
    if DEBIAN_RUSTC.is_file():
        found.append(Rustc("debian", DEBIAN_RUSTC))
    return tuple(found)


#: where the rustc binaries come from (a test puts its fake rustc here)
find_rustcs: Callable[[], tuple[Rustc, ...]] = _find


@functools.cache
def rustcs() -> tuple[Rustc, ...]:
    return find_rustcs()


def forget() -> None:
    """Drop what this process was told (the remembered answers on disk stay)."""
    for cached in (rustcs, _listing, _cfg, _spec):
        cached.cache_clear()


@functools.cache
def _listing(rustc: Rustc) -> tuple[str, frozenset[str]]:
    """(``rustc -V``, the triples of ``--print target-list``) of one rustc."""
    def probe() -> tuple[list[str], list[Path]]:
        version = proc.run([str(rustc.path), "-V"], bound="tool", echo=False,
                           what=f"{rustc.path} -V").stdout.strip()
        listed = proc.run([str(rustc.path), "--print", "target-list"], bound="tool",
                          echo=False, what=f"{rustc.path} --print target-list").stdout
        return [version, *listed.split()], []

    value: list[str] = memo.remember("rustc-target-list", [str(rustc.path)], [rustc.path], probe)
    return value[0], frozenset(value[1:])


def _short(version: str) -> str:
    """``rustc 1.95.0 (59807616e 2026-04-14)`` → ``rustc 1.95.0``."""
    return " ".join(version.split()[:2])


def known_triples() -> frozenset[str]:
    """Every triple some rustc here knows (the union of their lists)."""
    return frozenset().union(*(_listing(r)[1] for r in rustcs()))


@functools.cache
def _cfg(rustc: Rustc, triple: str) -> dict[str, list[str]]:
    def probe() -> tuple[str, list[Path]]:
        res = proc.run([str(rustc.path), "--print", "cfg", "--target", triple], bound="tool",
                       echo=False, what=f"{rustc.path} --print cfg --target {triple}")
        return res.stdout, []

    text: str = memo.remember("rustc-cfg", [str(rustc.path), triple], [rustc.path], probe)
    values: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition("=")
        values.setdefault(key, []).append(value.strip('"'))
    return values


def facts(triple: str) -> Facts | None:
    """rustc's facts of ``triple``, from the first rustc that knows it; None: none does."""
    knowers = [(r, version) for r in rustcs() for version, listed in [_listing(r)]
               if triple in listed]
    if not knowers:
        return None
    values = _cfg(knowers[0][0], triple)

    def one(key: str) -> str:
        return (values.get(key) or [""])[0]

    return Facts(triple=triple, arch=one("target_arch"), os=one("target_os"),
                 env=one("target_env"), abi=one("target_abi"), endian=one("target_endian"),
                 pointer_width=int(one("target_pointer_width") or 0),
                 features=tuple(values.get("target_feature", ())),
                 known_by=tuple(f"{r.kind}'s {_short(v)}" for r, v in knowers))


@dataclass(frozen=True, kw_only=True)
class Spec:
    """``rustc --print target-spec-json --target T`` (under ``RUSTC_BOOTSTRAP=1``), the keys
    crossmatrix reads where ``--print cfg`` says too little: how a bare-metal target links
    and its float ABI."""

    triple: str
    linker: str | None  #: "rust-lld", "avr-gcc" … (None: the platform's cc)
    linker_flavor: str | None  #: "gnu-lld", "gnu-cc", "wasm-lld", "bpf" …
    llvm_floatabi: str | None = None  #: ARM's "hard" or "soft"
    llvm_abiname: str | None = None  #: RISC-V's "ilp32", "ilp32f", "lp64d" …; LoongArch's
    tier: int | None = None
    std: bool | None = None  #: the target has a std (False: core and alloc only)
    singlethread: bool | None = None  #: no threads (wasm32-wasip1, not its -threads twin)
    #: rustc links with objects of its own std's ``self-contained`` folder (WASI's
    #: wasi-libc, musl's crt): "wasm", "musl" … (None: none)
    crt_objects_fallback: str | None = None

    @property
    def links_elf_with_lld(self) -> bool:
        """rustc links it itself, with its own lld as a GNU ld (an ELF image)."""
        return self.linker_flavor == "gnu-lld"

    @property
    def needs_shipped_crt(self) -> bool:
        """rustc links it itself (its own lld, no C compiler driver) with C runtime objects
        that only a shipped std's ``self-contained`` folder holds (WASI's wasi-libc): a std
        built from source has none of them. musl's and MinGW's objects are also in that
        folder, but their link goes through a C compiler that brings its own."""
        own_lld = (self.linker_flavor or "").startswith(("wasm-lld", "gnu-lld"))
        return own_lld and self.crt_objects_fallback not in (None, "false")


@functools.cache
def _spec(rustc: Rustc, triple: str) -> dict[str, object]:
    def probe() -> tuple[dict[str, object], list[Path]]:
        res = proc.run([str(rustc.path), "-Zunstable-options", "--print", "target-spec-json",
                        "--target", triple], bound="tool", echo=False, check=False,
                       env=proc.child_env({"RUSTC_BOOTSTRAP": "1"}),
                       what=f"{rustc.path} --print target-spec-json --target {triple}")
        try:
            found = json.loads(res.stdout) if res.ok else {}
        except ValueError:
            found = {}
        return found if isinstance(found, dict) else {}, []

    value: object = memo.remember("rustc-target-spec", [str(rustc.path), triple],
                                  [rustc.path], probe)
    return value if isinstance(value, dict) else {}


def spec(triple: str) -> Spec | None:
    """rustc's target spec of ``triple``, from the first rustc that knows it (as
    :func:`facts`); None: none does, or it gives no spec."""
    knowers = [r for r in rustcs() if triple in _listing(r)[1]]
    if not knowers:
        return None
    raw = _spec(knowers[0], triple)
    if not raw:
        return None  # that rustc would not say (no RUSTC_BOOTSTRAP, an odd build)
    metadata = raw.get("metadata")
    meta = metadata if isinstance(metadata, dict) else {}

    def text(key: str) -> str | None:
        value = raw.get(key)
        return str(value) if value is not None else None

    tier, std, single = meta.get("tier"), meta.get("std"), raw.get("singlethread")
    return Spec(triple=triple, linker=text("linker"), linker_flavor=text("linker-flavor"),
                llvm_floatabi=text("llvm-floatabi"), llvm_abiname=text("llvm-abiname"),
                tier=tier if isinstance(tier, int) else None,
                std=std if isinstance(std, bool) else None,
                singlethread=single if isinstance(single, bool) else None,
                crt_objects_fallback=text("crt-objects-fallback"))
