"""Talking to cargo: ``cargo metadata`` for the workspace, one ``cargo build`` per target
with JSON messages, artifact paths taken from those messages (never guessed)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooling.util import memo, proc


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


@functools.cache
def metadata(workspace: Path, cargo: str = "cargo") -> Workspace:
    def ask() -> tuple[dict[str, Any], list[Path]]:
        hint = "install Rust with rustup, or Debian's cargo-web (`inv setup`)"
        res = proc.run([cargo, "metadata", "--format-version", "1", "--no-deps", "--offline"],
                       bound="tool", cwd=workspace, echo=False, check=False, hint=hint)
        if not res.ok:  # it may download the registry's index
            res = proc.run([cargo, "metadata", "--format-version", "1", "--no-deps"],
                           bound="fetch", cwd=workspace, echo=False, what="cargo metadata",
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
    return Workspace(
        root=root,
        target_dir=Path(data["target_directory"]),
        name=(root_pkg["name"] if root_pkg else root.name),
        version=(first["version"] if first else "0.0.0"),
        cdylibs=cdylibs,
        python_modules=python,
    )


def profile_panic(workspace: Path, profile: str) -> str:
    """The panic strategy of ``profile`` in the workspace's Cargo.toml ("unwind" or "abort"),
    following ``inherits``; std built from source has to match it."""
    import tomllib

    try:
        profiles = tomllib.loads((workspace / "Cargo.toml").read_text()).get("profile", {})
    except (OSError, tomllib.TOMLDecodeError):
        return "unwind"
    seen: set[str] = set()
    name = profile
    while name not in seen:
        seen.add(name)
        table = profiles.get(name, {})
        if "panic" in table:
            return str(table["panic"])
        parent = table.get("inherits")
        if parent is None:
            break
        name = str(parent)
    return "unwind"








