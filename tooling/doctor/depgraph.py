"""The dependency graph cargo builds for one target, for ``inv doctor``.

The packages and edges come from ``cargo metadata --filter-platform`` (which package is
compiled for the target, which for the build machine: build scripts and proc macros);
the enabled features from ``cargo tree --target``, because ``cargo metadata`` reports
features unified over every platform, as resolver 1 did (a feature enabled under
``[target.'cfg(target_env = "musl")'.dependencies]`` would show up for gnu too), and
``cargo tree`` also leaves out what resolver 2 does not build for the target.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooling.errors import ToolMissing
from tooling.matrix.config import Project
from tooling.matrix.targets import Target
from tooling.std.compiler import default_compiler
from tooling.util import proc


@dataclass(frozen=True, kw_only=True)
class Package:
    name: str
    version: str
    links: str | None = None
    features: frozenset[str] = frozenset()
    build_deps: tuple[tuple[str, str], ...] = ()  #: (name, version) of its build-dependencies
    #: "target": compiled for the target; "host": only for build scripts and proc macros
    side: str = "target"
    via: tuple[str, ...] = ()  #: crate names from a workspace member down to this one
    build_script: Path | None = None
    system_deps: tuple[str, ...] = ()  #: pkg-config names from [package.metadata.system-deps]


FeatureMap = Mapping[tuple[str, str], frozenset[str]]


def parse_tree(text: str) -> dict[tuple[str, str], frozenset[str]]:
    """``cargo tree --prefix none --format '{p}|{f}'``: enabled features per (name, version),
    the union of the package's instances (for the target and for the build machine)."""
    found: dict[tuple[str, str], set[str]] = {}
    for line in text.splitlines():
        head, sep, tail = line.rpartition("|")
        words = head.split()
        if not sep or len(words) < 2 or not words[1].startswith("v"):
            continue
        features = tail.strip().removesuffix("(*)").strip()
        found.setdefault((words[0], words[1][1:]), set()).update(
            f for f in features.split(",") if f)
    return {key: frozenset(value) for key, value in found.items()}


def _system_deps(package: Mapping[str, Any]) -> tuple[str, ...]:
    table = (package.get("metadata") or {}).get("system-deps") or {}
    names = []
    for key, value in table.items():
        if key.startswith("cfg("):
            continue
        if isinstance(value, dict):
            if value.get("optional"):
                continue
            names.append(str(value.get("name", key)))
        else:
            names.append(str(key))
    return tuple(names)


def _build_script(package: Mapping[str, Any]) -> Path | None:
    for target in package.get("targets", []):
        if "custom-build" in target.get("kind", []):
            return Path(target["src_path"])
    return None


def _is_proc_macro(package: Mapping[str, Any]) -> bool:
    return any("proc-macro" in t.get("kind", []) for t in package.get("targets", []))


def graph(metadata: Mapping[str, Any], features: FeatureMap | None = None, *,
          dev: bool = False, packages: Sequence[str] = ()) -> list[Package]:
    """Every package built from the workspace members (``packages``: only these members):
    normal and build dependencies (and the members' dev-dependencies with ``dev``).
    ``features`` (from :func:`parse_tree`) also says which packages cargo really builds
    for the target; without it the metadata's features are taken."""
    by_id = {p["id"]: p for p in metadata["packages"]}
    nodes = {n["id"]: n for n in (metadata.get("resolve") or {}).get("nodes", [])}

    def key(pid: str) -> tuple[str, str]:
        return by_id[pid]["name"], by_id[pid]["version"]

    def built(pid: str) -> bool:
        return pid in by_id and (features is None or key(pid) in features)

    members = [m for m in metadata["workspace_members"]
               if m in by_id and (not packages or by_id[m]["name"] in packages)]
    sides: dict[str, set[str]] = {}
    via: dict[str, tuple[str, ...]] = {}
    queue: deque[tuple[str, str, tuple[str, ...]]] = deque(
        (m, "target", (by_id[m]["name"],)) for m in members)
    while queue:
        pid, side, path = queue.popleft()
        if side in sides.get(pid, ()):
            continue
        sides.setdefault(pid, set()).add(side)
        via.setdefault(pid, path)
        for dep in nodes.get(pid, {}).get("deps", []):
            child = dep["pkg"]
            kinds = {k.get("kind") for k in dep.get("dep_kinds") or [{"kind": None}]}
            if not dev:
                kinds.discard("dev")
            if not kinds or not built(child):
                continue
            if side == "host" or _is_proc_macro(by_id[child]):
                child_sides = {"host"}
            else:
                child_sides = {"target"} if kinds & {None, "dev"} else set()
                if "build" in kinds:
                    child_sides.add("host")
            for child_side in sorted(child_sides, reverse=True):  # "target" first
                queue.append((child, child_side, (*path, by_id[child]["name"])))
    result = []
    for pid in sorted(sides, key=key):
        package = by_id[pid]
        node = nodes.get(pid, {})
        build_deps = tuple(sorted(
            key(d["pkg"]) for d in node.get("deps", [])
            if built(d["pkg"]) and any(k.get("kind") == "build" for k in d.get("dep_kinds", []))))
        enabled = features.get(key(pid)) if features is not None else None
        result.append(Package(
            name=package["name"], version=package["version"], links=package.get("links"),
            features=enabled if enabled is not None else frozenset(node.get("features", [])),
            build_deps=build_deps, side="target" if "target" in sides[pid] else "host",
            via=via[pid], build_script=_build_script(package),
            system_deps=_system_deps(package)))
    return result


def _cargo(project: Project) -> tuple[str, dict[str, str]]:

    compiler = default_compiler(project.workspace)
    if compiler is not None:
        return str(compiler.cargo), proc.child_env(compiler.env())
    if proc.which("cargo"):
        return "cargo", proc.child_env()
    raise ToolMissing("no cargo to read the workspace's dependencies with",
                      "install Rust with rustup, or Debian's cargo-web (`inv setup`)")


def _cargo_stdout(project: Project, args: list[str], what: str) -> str:
    """``cargo ARGS --offline``, then (unless the project is offline) without it."""
    cargo, env = _cargo(project)
    hint = f"is {project.workspace} a cargo workspace? `inv setup` fetches its crates"
    res = proc.run([cargo, *args, "--offline"], bound="tool", cwd=project.workspace, env=env,
                   echo=False, check=project.offline, what=what, hint=hint)
    if not res.ok:  # it may download the registry's index
        res = proc.run([cargo, *args], bound="fetch", cwd=project.workspace, env=env,
                       echo=False, what=what, hint=hint)
    return res.stdout


def packages_for(project: Project, target: Target, *, dev: bool = False) -> list[Package]:
    features = ["--features", ",".join(project.features)] if project.features else []
    metadata = json.loads(_cargo_stdout(
        project, ["metadata", "--format-version", "1", "--filter-platform", target.triple,
                  *features], "cargo metadata"))
    scope = [a for p in project.packages for a in ("-p", p)] or ["--workspace"]
    tree = _cargo_stdout(
        project, ["tree", "--target", target.triple, "-e", "normal,build,dev" if dev else
                  "normal,build", "--prefix", "none", "--format", "{p}|{f}", *scope,
                  *features], "cargo tree")
    return graph(metadata, parse_tree(tree), dev=dev, packages=project.packages)
