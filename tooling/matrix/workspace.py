"""Talking to cargo: ``cargo metadata`` for the workspace, one ``cargo build`` per target
with JSON messages, artifact paths taken from those messages (never guessed)."""

from __future__ import annotations

import functools
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooling.util import memo, proc, versions


@dataclass(frozen=True, kw_only=True)
class Workspace:
    root: Path
    target_dir: Path
    name: str  #: used in archive names: the root package's name, else the folder's
    version: str
    #: member packages with a cdylib target, and that target's name
    cdylibs: tuple[tuple[str, str], ...] = ()
    #: of those, the ones that are Python extension modules (they depend on pyo3)
    python_modules: tuple[str, ...] = ()
    #: (package, rust-version) of the members that declare one
    rust_versions: tuple[tuple[str, str], ...] = ()
    #: the members' binaries: (package, binary name)
    binaries: tuple[tuple[str, str], ...] = ()
    #: the members' libraries: (package, library name, its crate types: lib, cdylib …)
    libraries: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    #: the root source file of each member's binaries and library: (package, kind, path)
    crate_roots: tuple[tuple[str, str, Path], ...] = ()
    #: the members' build scripts: (package, its source)
    build_scripts: tuple[tuple[str, Path], ...] = ()

    def rust_version(self, packages: tuple[str, ...] = ()) -> tuple[str, str] | None:
        """The highest ``rust-version`` of ``packages`` (every member when empty), with the
        package that asks for it; None when none declares one."""
        asked = [(name, version) for name, version in self.rust_versions
                 if not packages or name in packages]
        if not asked:
            return None
        return max(asked, key=lambda item: versions.parse(item[1]))


#: rustup's words for a toolchain that a rust-toolchain file pins and is not installed here
_PIN_MISSING = "is not installed"
#: Debian's cargo (rustc-web's), which reads a workspace's manifests as well as any
DEBIAN_CARGO = Path("/usr/bin/cargo")


def _other_cargos(cargo: str) -> list[tuple[str, dict[str, str]]]:
    """Where the workspace pins a toolchain that is not here (crossmatrix builds with
    another one that meets its rust-version): rustup's default toolchain, Debian's cargo."""
    try:
        default = tomllib.loads((rustup_home() / "settings.toml").read_text()).get(
            "default_toolchain")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        default = None
    found = [(cargo, {"RUSTUP_TOOLCHAIN": str(default)})] if default else []
    return found + ([(str(DEBIAN_CARGO), {})] if DEBIAN_CARGO.is_file() else [])


@functools.cache
def metadata(workspace: Path, cargo: str = "cargo") -> Workspace:
    def ask() -> tuple[dict[str, Any], list[Path]]:
        hint = "install Rust with rustup, or Debian's cargo-web (`inv setup`)"
        argv = [cargo, "metadata", "--format-version", "1", "--no-deps"]
        res = proc.run([*argv, "--offline"], bound="tool", cwd=workspace, echo=False,
                       check=False, hint=hint)
        for other, env in _other_cargos(cargo) if _PIN_MISSING in res.stderr else []:
            res = proc.run([other, *argv[1:], "--offline"], bound="tool", cwd=workspace,
                           env=proc.child_env(env), echo=False, check=False)
            if res.ok:
                break
        if not res.ok:  # it may download the registry's index
            res = proc.run(argv, bound="fetch", cwd=workspace, echo=False, what="cargo metadata",
                           hint=f"is {workspace} a cargo workspace?")
        answer: dict[str, Any] = json.loads(res.stdout)
        manifests = [Path(p["manifest_path"]) for p in answer["packages"]]
        return answer, manifests

    files = [workspace / "Cargo.toml", workspace / "Cargo.lock",
             *memo.ancestors_files(workspace, (".cargo/config.toml", ".cargo/config"))]
    data: dict[str, Any] = memo.remember("cargo-metadata", [str(workspace)], files, ask)
    packages = data["packages"]
    member_ids = set(data["workspace_members"])
    members = [p for p in packages if p["id"] in member_ids]
    root = Path(data["workspace_root"])
    root_pkg = next((p for p in members if Path(p["manifest_path"]).parent == root), None)
    first = root_pkg or (members[0] if members else None)
    cdylibs = tuple((p["name"], t["name"]) for p in members for t in p["targets"]
                    if "cdylib" in t.get("crate_types", t["kind"]))
    python = tuple(p["name"] for p in members if p["name"] in dict(cdylibs)
                   and any(d["name"] == "pyo3" and d.get("kind") is None
                           for d in p["dependencies"]))
    binaries = tuple((p["name"], t["name"]) for p in members for t in p["targets"]
                     if "bin" in t["kind"])
    libraries = tuple((p["name"], t["name"], tuple(t.get("crate_types", t["kind"])))
                      for p in members for t in p["targets"]
                      if set(t["kind"]) & {"lib", "rlib", "dylib", "cdylib", "staticlib",
                                                    "proc-macro"})
    return Workspace(
        root=root,
        target_dir=Path(data["target_directory"]),
        name=(root_pkg["name"] if root_pkg else root.name),
        version=(first["version"] if first else "0.0.0"),
        cdylibs=cdylibs,
        python_modules=python,
        rust_versions=tuple((p["name"], str(p["rust_version"])) for p in members
                            if p.get("rust_version")),
        binaries=binaries,
        libraries=libraries,
        crate_roots=tuple((p["name"], kind, Path(t["src_path"])) for p in members
                          for t in p["targets"] for kind in ("bin", "lib")
                          if kind in t["kind"] and t.get("src_path")),
        build_scripts=tuple((p["name"], Path(t["src_path"])) for p in members
                            for t in p["targets"]
                            if "custom-build" in t["kind"] and t.get("src_path")),
    )


def cargo_home(env: Mapping[str, str] | None = None) -> Path:
    """cargo's home as cargo finds it: $CARGO_HOME (an empty value counts as unset), else
    ~/.cargo."""
    return Path((os.environ if env is None else env).get("CARGO_HOME")
                or Path.home() / ".cargo")


def rustup_home() -> Path:
    """rustup's home: $RUSTUP_HOME (an empty value counts as unset), else ~/.rustup."""
    return Path(os.environ.get("RUSTUP_HOME") or Path.home() / ".rustup")


def registry_sources(pattern: str = "*") -> list[Path]:
    """The crates.io packages cargo unpacked here (``cargo fetch`` does) whose folder,
    ``<name>-<version>``, matches ``pattern``: one per registry index that has it."""
    return sorted((cargo_home() / "registry" / "src").glob(f"*/{pattern}"))


def _config_files(workspace: Path, env: Mapping[str, str]) -> list[Path]:
    """The cargo config files a cargo started in ``workspace`` reads, nearest first: in it
    and every folder above, then CARGO_HOME's (in one folder ``config`` wins over
    ``config.toml``, as in cargo)."""
    home = cargo_home(env)
    folders = [folder / ".cargo" for folder in (workspace, *workspace.parents)]
    if home not in folders:
        folders.append(home)
    return [config for folder in folders
            if (config := next((folder / n for n in ("config", "config.toml")
                                if (folder / n).is_file()), None)) is not None]


def _profiles(path: Path) -> dict[str, Any]:
    """The [profile] table of a cargo config or manifest; {} when it has none."""
    table = _toml_file(path).get("profile", {})
    return table if isinstance(table, dict) else {}


def profile_panic(workspace: Path, profile: str) -> str:
    """The panic strategy ("unwind" or "abort") cargo builds ``profile`` with in the
    workspace, following ``inherits``: a ``CARGO_PROFILE_<NAME>_PANIC`` variable, else the
    cargo configs' [profile], else the workspace's Cargo.toml. std built from source has to
    match it."""
    layers = [*(_profiles(c) for c in _config_files(workspace, os.environ)),
              _profiles(root_manifest(workspace))]
    seen: set[str] = set()
    name = profile
    while name not in seen:
        seen.add(name)
        variable = os.environ.get(f"CARGO_PROFILE_{name.upper().replace('-', '_')}_PANIC")
        if variable:
            return variable.strip('"')
        tables = [t for t in (layer.get(name) for layer in layers) if isinstance(t, dict)]
        panic = next((t["panic"] for t in tables if "panic" in t), None)
        if panic is not None:
            return str(panic)
        parent = next((t["inherits"] for t in tables if "inherits" in t), None)
        if parent is None:
            break
        name = str(parent)
    return "unwind"


#: cargo's own profiles: always there, whatever the manifests say
BUILTIN_PROFILES = ("dev", "release", "test", "bench")


def _toml_file(path: Path) -> dict[str, Any]:
    """A TOML file's table; {} when it is missing or unreadable (cargo says so itself)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def root_manifest(workspace: Path) -> Path:
    """The workspace root's Cargo.toml as cargo finds it from ``workspace``: that folder's
    own manifest when it has ``[workspace]``, the one its ``package.workspace`` names, else
    the nearest one above with ``[workspace]``, else its own (a package on its own)."""
    own = workspace / "Cargo.toml"
    data = _toml_file(own)
    if "workspace" in data:
        return own
    package = data.get("package")
    pointed = package.get("workspace") if isinstance(package, dict) else None
    if isinstance(pointed, str):
        return workspace / pointed / "Cargo.toml"
    for folder in workspace.parents:
        if "workspace" in _toml_file(folder / "Cargo.toml"):
            return folder / "Cargo.toml"
    return own


def profile_defined(workspace: Path, name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether cargo, run in ``workspace``, knows the profile ``name``: one of its own, a
    ``[profile.<name>]`` of the workspace root's Cargo.toml or of a cargo config file it
    reads (``.cargo/config.toml`` there and above, ``$CARGO_HOME/config.toml``), or one
    given by ``CARGO_PROFILE_<NAME>_*`` variables. Read from the files: no cargo runs."""
    if name in BUILTIN_PROFILES:
        return True
    env = os.environ if environ is None else environ
    prefix = f"CARGO_PROFILE_{name.upper().replace('-', '_')}_"
    if any(key.startswith(prefix) for key in env):
        return True
    files = [root_manifest(workspace), *_config_files(workspace, env)]
    return any(isinstance(_profiles(path).get(name), dict) for path in files)
