"""Just enough of cargo's own files for unit tests, written by hand: `cargo metadata
--format-version 1` (after `--filter-platform`: only the target's dependencies) and
Cargo.lock. No crate is fetched, no cargo runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

REGISTRY = "registry+https://github.com/rust-lang/crates.io-index"


class FakeMetadata:
    """Just enough of `cargo metadata --format-version 1` for the graph walk."""

    def __init__(self) -> None:
        self.packages: dict[str, dict[str, Any]] = {}
        self.edges: dict[str, list[tuple[str, str | None]]] = {}
        self.features: dict[str, list[str]] = {}
        self.members: list[str] = []

    def add(self, name: str, version: str = "1.0.0", *, links: str | None = None,
            deps: Iterable[str] = (), build: Iterable[str] = (), dev: Iterable[str] = (),
            features: Iterable[str] = (), proc_macro: bool = False, member: bool = False,
            build_rs: Path | None = None, metadata: dict[str, Any] | None = None) -> None:
        source = f"path+file:///ws/{name}" if member else REGISTRY
        pid = f"{source}#{name}@{version}"
        targets = [{"kind": ["proc-macro" if proc_macro else "lib"], "src_path": "lib.rs"}]
        if build_rs is not None:
            targets.append({"kind": ["custom-build"], "src_path": str(build_rs)})
        self.packages[name] = {"id": pid, "name": name, "version": version, "links": links,
                               "targets": targets, "metadata": metadata}
        edges: list[tuple[str, str | None]] = [(d, None) for d in deps]
        self.edges[name] = [*edges, *((d, "build") for d in build), *((d, "dev") for d in dev)]
        self.features[name] = list(features)
        if member:
            self.members.append(pid)

    def json(self) -> dict[str, Any]:
        nodes = [{"id": p["id"], "features": self.features[name],
                  "deps": [{"name": dep, "pkg": self.packages[dep]["id"],
                            "dep_kinds": [{"kind": kind, "target": None}]}
                           for dep, kind in self.edges[name]]}
                 for name, p in self.packages.items()]
        return {"packages": list(self.packages.values()), "workspace_members": self.members,
                "resolve": {"nodes": nodes}}


def write_lock(workspace: Path, packages: Mapping[str, tuple[str, Sequence[str]]]) -> Path:
    """A Cargo.lock: name -> (version, names of its dependencies), as cargo writes one."""
    workspace.mkdir(parents=True, exist_ok=True)
    text = "version = 4\n"
    for name, (version, deps) in sorted(packages.items()):
        text += f'\n[[package]]\nname = "{name}"\nversion = "{version}"\n'
        if deps:
            text += "dependencies = [\n" + "".join(f' "{d}",\n' for d in deps) + "]\n"
    path = workspace / "Cargo.lock"
    path.write_text(text)
    return path
