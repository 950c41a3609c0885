"""Which rustc builds: rustup's or Debian's, with its version, commit and sysroot."""

from __future__ import annotations

import functools
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tooling.matrix.host import debian_system
from tooling.matrix.workspace import DEBIAN_CARGO, rustup_home
from tooling.util import memo, proc

DEBIAN_RUSTC = Path("/usr/bin/rustc")


#: The lines of ``cargo -vV`` that say which cargo it is.
CARGO_VERSION_FIELDS = ("release", "commit-hash", "commit-date", "host")


@dataclass(frozen=True, kw_only=True)
class Compiler:
    kind: Literal["rustup", "debian"]
    rustc: Path
    cargo: Path
    release: str  #: "1.96.0"
    commit_hash: str
    host: str
    sysroot: Path
    verbose_version: str = field(repr=False)

    @property
    def version_line(self) -> str:
        return self.verbose_version.splitlines()[0].strip()

    def describe(self) -> str:
        return f"{self.version_line} [{self.kind}: {self.rustc}]"

    def env(self) -> dict[str, str]:
        """What the child cargo needs so that this exact compiler is used."""
        return {"RUSTC": str(self.rustc)}


def _parse_vv(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines()[1:]:
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def _compiler(kind: Literal["rustup", "debian"], rustc: Path, cargo: Path) -> Compiler:
    def probe() -> tuple[list[str], list[Path]]:
        vv = proc.run([str(rustc), "-vV"], bound="tool", echo=False, what=f"{rustc} -vV").stdout
        root = proc.run([str(rustc), "--print", "sysroot"], bound="tool",
                        echo=False).stdout.strip()
        return [vv, root], []

    vv, root = memo.remember("rustc", [str(rustc)], [rustc], probe)
    fields = _parse_vv(vv)
    return Compiler(kind=kind, rustc=rustc, cargo=cargo, release=fields.get("release", "?"),
                    commit_hash=fields.get("commit-hash", "unknown"),
                    host=fields.get("host", "?"), sysroot=Path(root), verbose_version=vv)


@functools.cache
def rustup_compiler(workspace: Path) -> Compiler | None:
    """The rustup toolchain active for ``workspace`` (honours rust-toolchain files)."""
    rustup = proc.which("rustup")
    if rustup is None:
        return None
    home = rustup_home()

    def which() -> tuple[list[str] | None, list[Path]]:
        paths = []
        for tool in ("rustc", "cargo"):
            res = proc.run(["rustup", "which", tool], bound="tool", cwd=workspace, check=False,
                           echo=False)
            if not res.ok:
                return None, []
            paths.append(res.stdout.strip())
        return paths, [Path(p) for p in paths]

    files = [Path(rustup), home / "settings.toml", home / "toolchains",
             *memo.ancestors_files(workspace, ("rust-toolchain", "rust-toolchain.toml"))]
    found = memo.remember("rustup-which", [str(workspace)], files, which)
    if found is None:
        return None
    return _compiler("rustup", Path(found[0]), Path(found[1]))


@functools.cache
def rustup_toolchains() -> tuple[Compiler, ...]:
    """Every installed rustup toolchain's compiler (``rustup toolchain list``, remembered
    while rustup's settings and toolchains folder are unchanged), in rustup's order."""
    rustup = proc.which("rustup")
    if rustup is None:
        return ()
    home = rustup_home()

    def listed() -> tuple[list[str], list[Path]]:
        res = proc.run(["rustup", "toolchain", "list"], bound="tool", check=False, echo=False)
        names = [line.split()[0] for line in res.stdout.splitlines()
                 if line.strip() and res.ok and "no installed toolchains" not in line]
        return names, []

    files = [Path(rustup), home / "settings.toml", home / "toolchains"]
    names: list[str] = memo.remember("rustup-toolchains", [str(home)], files, listed)
    found = []
    for name in names:
        bin_dir = home / "toolchains" / name / "bin"
        if (bin_dir / "rustc").is_file() and (bin_dir / "cargo").is_file():
            found.append(_compiler("rustup", bin_dir / "rustc", bin_dir / "cargo"))
    return tuple(found)


def _channel(path: Path) -> str | None:
    """The toolchain a rust-toolchain file names (None: it names none, or is unreadable)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if path.name == "rust-toolchain" and "[toolchain]" not in text:
        return text.strip() or None  # the old one-line form
    try:
        table = tomllib.loads(text).get("toolchain", {})
    except tomllib.TOMLDecodeError:
        return None
    named = table.get("channel") or table.get("path") if isinstance(table, dict) else None
    return str(named) if named else None


def toolchain_pin(workspace: Path) -> str | None:
    """What pins the rustup toolchain for ``workspace``, as rustup looks for it (None:
    rustup's default toolchain is used): ``RUSTUP_TOOLCHAIN``, then, from the workspace
    upwards, a ``rustup override set`` folder or a rust-toolchain file. Read from files:
    no rustup runs."""
    if os.environ.get("RUSTUP_TOOLCHAIN"):
        return f"RUSTUP_TOOLCHAIN={os.environ['RUSTUP_TOOLCHAIN']}"
    try:
        settings = tomllib.loads((rustup_home() / "settings.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        settings = {}
    overrides = settings.get("overrides", {})
    overrides = overrides if isinstance(overrides, dict) else {}
    for folder in (workspace, *workspace.parents):
        if str(folder) in overrides:
            return f"rustup override {overrides[str(folder)]} for {folder}"
        for name in ("rust-toolchain", "rust-toolchain.toml"):
            channel = _channel(folder / name)
            if channel is not None:
                return f"{folder / name} ({channel})"
    return None


@functools.cache
def debian_compiler() -> Compiler | None:
    """Debian's rustc-web, on a Debian system only: elsewhere ``/usr/bin/rustc`` is another
    distribution's, without the multiarch std and std source the debian and build-std
    providers use."""
    if not (debian_system() and DEBIAN_RUSTC.is_file() and DEBIAN_CARGO.is_file()):
        return None
    return _compiler("debian", DEBIAN_RUSTC, DEBIAN_CARGO)


def cargo_version(compiler: Compiler) -> str:
    """``cargo -vV`` of the compiler's cargo, remembered while its binary is unchanged: its
    version line, release, commit, host (not the os, libcurl, libgit2 it runs with)."""
    def probe() -> tuple[str, list[Path]]:
        res = proc.run([str(compiler.cargo), "-vV"], bound="tool", echo=False,
                       what=f"{compiler.cargo} -vV")
        lines = res.stdout.splitlines()
        kept = [line for line in lines[1:] if line.partition(":")[0] in CARGO_VERSION_FIELDS]
        return "\n".join(lines[:1] + kept) + "\n", []

    value: str = memo.remember("cargo", [str(compiler.cargo)], [compiler.cargo], probe)
    return value


def has_std(compiler: Compiler, triple: str, sysroot_dir: Path | None = None,
            crate: str = "std") -> bool:
    """The sysroot has ``crate``'s rlib for ``triple`` (``core`` for a target without std)."""
    lib = (sysroot_dir or compiler.sysroot) / "lib" / "rustlib" / triple / "lib"
    return any(lib.glob(f"lib{crate}-*.rlib"))


def default_compiler(workspace: Path) -> Compiler | None:
    """The compiler a build uses when nothing asks for another: rustup's active toolchain
    for ``workspace``, else Debian's."""
    return rustup_compiler(workspace) or debian_compiler()


RUST_LLD = "rust-lld"
#: Debian's lld (package lld): rustc reads the GNU flavour from its name
DEBIAN_LLD = "ld.lld"


def rust_lld(workspace: Path | None = None) -> str | None:
    """rustup's ``rust-lld`` (the active toolchain's for ``workspace`` first, then any
    installed one's), else Debian's ``ld.lld``; None: neither is here. rustc links its
    bare-metal targets with it; as an absolute path it serves Debian's rustc too, which
    ships no rust-lld."""
    active = rustup_compiler(workspace) if workspace is not None else None
    for compiler in (*([active] if active else []), *rustup_toolchains()):
        found = compiler.sysroot / "lib" / "rustlib" / compiler.host / "bin" / RUST_LLD
        if found.is_file():
            return str(found)
    return proc.which(DEBIAN_LLD)
