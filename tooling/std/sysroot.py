"""The std cache: std built once from source per (compiler, triple, std flags), reused everywhere.

An entry is a folder ``<cache>/sysroots/<triple>-<release>-<key>/`` laid out like
a real sysroot (``lib/rustlib/<triple>/lib/*.rlib``) so any later build of any
crate or project uses it with ``--sysroot``. The entry is built in a temporary
folder and renamed into place whole, with ``crossmatrix-sysroot.json`` written
inside before the rename: an entry without it is never trusted. A file lock per
entry keeps two concurrent builds from building it twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tooling.errors import StepFailed
from tooling.util import console, proc

if TYPE_CHECKING:
    from tooling.matrix.targets import Target
    from tooling.std.compiler import Compiler

MARKER = "crossmatrix-sysroot.json"
#: What ``-Zbuild-std`` builds: std plus both panic runtimes, so one entry
#: serves panic=unwind and panic=abort profiles, and libtest (with its getopts,
#: vendored in rust-web-src), which ``cargo test`` (``inv test``) links into test binaries.
BUILD_STD = "std,panic_abort,test"
#: Bump when the way entries are built changes, so old entries are not reused.
LAYOUT_VERSION = 2
#: Like the std rustup ships: with LLVM bitcode beside the object code, so a profile
#: with `lto = true` can use the cached std too.
STD_RUSTFLAGS = ("-Cembed-bitcode=yes",)

_DUMMY_MANIFEST = """\
[package]
name = "crossmatrix-sysroot"
version = "0.0.0"
edition = "2021"

[lib]
path = "lib.rs"
"""


def source_dir(compiler: Compiler) -> Path | None:
    """std's source (Debian's rust-web-src) for this compiler, if installed."""
    library = compiler.sysroot / "lib" / "rustlib" / "src" / "rust" / "library"
    return library if (library / "std" / "Cargo.toml").is_file() else None


def key(compiler: Compiler, triple: str, std_rustflags: tuple[str, ...] = (),
        features: tuple[str, ...] = (), panic: str = "unwind") -> str:
    material = json.dumps(
        {
            "layout": LAYOUT_VERSION,
            "commit": compiler.commit_hash,
            "release": compiler.release,
            "triple": triple,
            "build-std": BUILD_STD,
            "rustflags": list(std_rustflags),
            "features": sorted(features),
            **({"panic": panic} if panic != "unwind" else {}),
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def entry_dir(cache_dir: Path, compiler: Compiler, triple: str,
              std_rustflags: tuple[str, ...] = (), features: tuple[str, ...] = (),
              panic: str = "unwind") -> Path:
    digest = key(compiler, triple, std_rustflags, features, panic)
    return cache_dir / "sysroots" / f"{triple}-{compiler.release}-{digest}"


def is_ready(entry: Path) -> bool:
    return (entry / MARKER).is_file()


def build(compiler: Compiler, target: Target, entry: Path, cache_dir: Path,
          std_rustflags: tuple[str, ...] = (), features: tuple[str, ...] = (),
          panic: str = "unwind") -> None:
    """Build std for ``target`` into ``entry`` unless another process already did."""
    from filelock import FileLock

    locks = cache_dir / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with FileLock(str(locks / f"{entry.name}.lock")):
        if is_ready(entry):
            console.info(f"  std for {target.triple} is already in the cache: {entry}")
            return
        _build_locked(compiler, target, entry, cache_dir, std_rustflags, features, panic)


def _rtstartup(compiler: Compiler, target: Target, library: Path, lib: Path,
               env: dict[str, str]) -> list[str]:
    """rustc links ``rsbegin.o``/``rsend.o`` around every windows-gnu image (unwind frame
    registration); rustup ships them, a std built from source has to make them."""
    if not target.needs_rtstartup:
        return []
    made = []
    for stem in ("rsbegin", "rsend"):
        source = library / "rtstartup" / f"{stem}.rs"
        if not source.is_file():
            raise StepFailed(f"{source} is missing; windows-gnu needs it",
                             "reinstall Debian's rust-web-src")
        proc.run([str(compiler.rustc), "--target", target.triple, "--emit=obj", "-O",
                  "-C", "panic=abort", "--crate-name", stem, "-o", str(lib / f"{stem}.o"),
                  str(source)], bound="tool", env=env,
                 what=f"compiling {stem}.o for {target.triple}")
        made.append(f"{stem}.o")
    return made


def _build_locked(compiler: Compiler, target: Target, entry: Path, cache_dir: Path,
                  std_rustflags: tuple[str, ...], features: tuple[str, ...] = (),
                  panic: str = "unwind") -> None:
    library = source_dir(compiler)
    if library is None:
        raise StepFailed(f"no std source for {compiler.version_line}",
                         "install Debian's rust-web-src (`inv setup`)")
    work = cache_dir / "tmp" / f"{entry.name}.{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "crate" / ".cargo").mkdir(parents=True)
    manifest = _DUMMY_MANIFEST
    if panic != "unwind":  # every std crate, panic_abort included, built for that strategy
        manifest += f'\n[profile.release]\npanic = "{panic}"\n'
    (work / "crate" / "Cargo.toml").write_text(manifest)
    (work / "crate" / "lib.rs").write_text("#![no_std]\n")
    vendor = library / "vendor"
    if vendor.is_dir():
        # std's own dependencies come from the source package, not the network.
        (work / "crate" / ".cargo" / "config.toml").write_text(
            '[source.crates-io]\nreplace-with = "rust-std-vendor"\n\n'
            f'[source.rust-std-vendor]\ndirectory = "{vendor}"\n'
        )
    env = proc.child_env(
        {
            **compiler.env(),
            "RUSTC_BOOTSTRAP": "1",
            "CARGO_TARGET_DIR": str(work / "target"),
            f"CARGO_TARGET_{target.env_key}_RUSTFLAGS": " ".join(
                [*STD_RUSTFLAGS, *std_rustflags]),
        },
        remove=("RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_TARGET", "RUSTC_WRAPPER"),
    )
    console.info(f"  building std for {target.triple} from {library} "
                 f"(once; cached in {entry.parent})")
    started = time.monotonic()
    argv = [str(compiler.cargo), "build", "--release", f"-Zbuild-std={BUILD_STD}",
            "--target", target.triple]
    if features:
        argv.append(f"-Zbuild-std-features={','.join(sorted(features))}")
    if vendor.is_dir():
        argv.append("--offline")
    proc.stream(argv, bound="build", env=env, cwd=work / "crate",
                what=f"building std for {target.triple}",
                hint="the std build failed; its own error is above")
    deps = work / "target" / target.triple / "release" / "deps"
    staging = work / "sysroot"
    lib = staging / "lib" / "rustlib" / target.triple / "lib"
    lib.mkdir(parents=True)
    copied = 0
    for rlib in sorted(deps.glob("*.rlib")):
        if rlib.name.startswith("libcrossmatrix_sysroot-"):
            continue
        shutil.copy2(rlib, lib / rlib.name)
        copied += 1
    for crate in ("std", "test"):
        if not any(lib.glob(f"lib{crate}-*.rlib")):
            raise StepFailed(f"the std build for {target.triple} produced no lib{crate} rlib")
    startup = _rtstartup(compiler, target, library, lib, env)
    seconds = time.monotonic() - started
    (staging / MARKER).write_text(json.dumps({
        "triple": target.triple,
        "compiler": compiler.version_line,
        "commit": compiler.commit_hash,
        "source": str(library),
        "build-std": BUILD_STD,
        "rustflags": list(std_rustflags),
        "features": sorted(features),
        "panic": panic,
        "rlibs": copied,
        "startup_objects": startup,
        "build_seconds": round(seconds, 1),
    }, indent=2, sort_keys=True) + "\n")
    entry.parent.mkdir(parents=True, exist_ok=True)
    if entry.exists():  # a half-made entry from an interrupted run: never trusted, replaced
        shutil.rmtree(entry)
    os.replace(staging, entry)
    shutil.rmtree(work, ignore_errors=True)
    console.info(f"  std for {target.triple}: {copied} rlibs in {seconds:.0f}s → {entry}")
