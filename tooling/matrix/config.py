"""The project being built: where its workspace is, and its crossmatrix settings.

The settings are one table, read from the project's root folder: ``[tool.crossmatrix]`` of
its pyproject.toml, or else ``[workspace.metadata.crossmatrix]`` (a workspace) or
``[package.metadata.crossmatrix]`` (a single crate) of its Cargo.toml. The keys and their
checks are the same in each; when pyproject.toml has the table, it is used and a Cargo.toml
table is ignored, with a warning.

Layers, lowest first: built-in defaults, that table, its per-target tables
(``….target.<name>``), ``CROSSMATRIX_*`` environment variables, then command-line options.
Every key is validated; an unknown key fails with a suggestion.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tooling.errors import ConfigError, UsageError
from tooling.matrix import targets as targets_mod
from tooling.matrix import workspace as workspace_mod
from tooling.util import console
from tooling.util import timeouts as timeouts_mod
from tooling.util.cachedir import default_cache_dir

#: the settings' table in pyproject.toml, and in Cargo.toml (a workspace's, a crate's)
PYPROJECT_TABLE = "tool.crossmatrix"
WORKSPACE_TABLE = "workspace.metadata.crossmatrix"
PACKAGE_TABLE = "package.metadata.crossmatrix"

STD_PROVIDERS = ("auto", "rustup", "debian", "build-std")
#: A linker setting is one of these, or the name or path of a linker program.
LINKERS = ("zig", "gcc")


@dataclass(frozen=True, kw_only=True)
class TargetSettings:
    """Per-target overrides; ``None`` means "use the project-wide value"."""

    linker: str | None = None
    std_provider: str | None = None
    glibc: str | None = None
    rustflags: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    allow_libraries: tuple[str, ...] = ()
    #: shell commands run before this target's build (None: the project-wide list)
    pre_build: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class Project:
    root: Path  #: the folder whose pyproject.toml or Cargo.toml holds the settings
    name: str | None = None  #: archive name prefix (default: from cargo metadata)
    workspace: Path  #: the cargo workspace (folder of its Cargo.toml)
    dist: Path
    targets: tuple[str, ...]  #: the default matrix
    profile: str = "release"
    packages: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    std_provider: str = "auto"
    glibc: str | None = None  #: glibc floor for every gnu target
    std_features: tuple[str, ...] = ()  #: std built from source with these cargo features
    sccache: bool = False  #: compile through sccache (RUSTC_WRAPPER), shared across CI runners
    offline: bool = False  #: never ask rustup to download a target
    #: targets built at once (None: one per core); cargo's steps still take turns
    jobs: int | None = None
    cache_dir: Path
    smoke_args: tuple[str, ...] = ("--version",)
    #: the smoke test also fails when the output does not name the target triple
    smoke_expect_triple: bool = False
    per_target: Mapping[str, TargetSettings] = field(default_factory=dict)
    #: the project's own named rows: ``[….target.<name>] triple = "…"``
    rows: tuple[targets_mod.Target, ...] = ()
    #: DLLs (Windows) or dylib paths (macOS) a binary may load beyond the system's own
    allow_libraries: tuple[str, ...] = ()
    #: CROSSMATRIX_STD_PROVIDER or a command-line option: beats every table
    std_provider_override: str | None = None
    #: shell commands run before every target's build (a target's own list replaces it)
    pre_build: tuple[str, ...] = ()
    #: how long each kind of child process may run (``[tool.crossmatrix.timeouts]``)
    timeouts: timeouts_mod.Timeouts = field(default_factory=timeouts_mod.Timeouts)
    #: the file whose table holds the settings, or would hold them (none is written yet)
    config_file: Path | None = None
    #: that table's dotted name: tool.crossmatrix, workspace.metadata.crossmatrix …
    config_table: str = PYPROJECT_TABLE
    #: what a generated CI job gives pip to install crossmatrix (None: this version)
    ci_install: str | None = None

    def table(self, *keys: str) -> str:
        """How a hint names a settings table: ``[tool.crossmatrix.target.linux-armv7]``."""
        return f"[{'.'.join((self.config_table, *keys))}]"

    def pre_build_for(self, target: targets_mod.Target) -> tuple[str, ...]:
        own = self.settings_for(target).pre_build
        return self.pre_build if own is None else own

    def settings_for(self, target: targets_mod.Target) -> TargetSettings:
        """The target's own table: by its name, the name it was floored from
        (``linux-aarch64-gnu.2.17`` → ``linux-aarch64-gnu``), or its triple."""
        base = target.name.removesuffix(f".{target.glibc}") if target.glibc else target.name
        for key in dict.fromkeys((target.name, base, target.triple)):
            if key in self.per_target:
                return self.per_target[key]
        return TargetSettings()

    def linker_for(self, target: targets_mod.Target) -> str:
        configured = self.settings_for(target).linker
        if target.glibc and configured not in (None, "zig"):
            raise ConfigError(
                f"{target.name}: a glibc floor ({target.glibc}) needs the zig linker, "
                f"but linker = {configured!r} is configured",
                "remove that linker setting, or the floor",
            )
        return configured or target.linker

    def allowed_libraries(self, target: targets_mod.Target) -> frozenset[str]:
        names = (*self.allow_libraries, *self.settings_for(target).allow_libraries)
        return frozenset(n.lower() if n.lower().endswith(".dll") else n for n in names)

    def glibc_for(self, target: targets_mod.Target) -> str | None:
        if target.libc != "gnu":
            return None
        return target.glibc or self.settings_for(target).glibc or self.glibc

    def select(self, specs: Sequence[str] | None,
               unsupported: list[targets_mod.NotSupportedYet] | None = None,
               ) -> list[targets_mod.Target]:
        """The targets named by ``specs`` (default: the matrix), with configured glibc floors;
        with ``unsupported``, triples crossmatrix cannot build yet are noted there."""
        chosen = []
        for target in targets_mod.select(specs, self.targets, self.rows, unsupported):
            floor = self.glibc_for(target)
            if floor and not target.glibc:
                target = targets_mod.with_floor(target, floor, rename=False)
            chosen.append(target)
        return chosen

    def std_provider_for(self, target: targets_mod.Target) -> str:
        if self.std_provider_override:
            return self.std_provider_override
        return self.settings_for(target).std_provider or self.std_provider


_TOP_KEYS = {
    "name", "workspace", "glibc", "dist", "targets", "profile", "packages", "features",
    "std-provider", "std-features", "offline", "sccache", "cache-dir", "smoke-args",
    "smoke-expect-triple", "allow-libraries", "pre-build", "target", "timeouts", "ci-install",
    "jobs",
}
_TARGET_KEYS = {"linker", "std-provider", "rustflags", "env", "glibc", "allow-libraries",
                "pre-build", "triple"}



def _sub(where: str, *keys: str) -> str:
    """The place of a table inside ``where``: ``F [tool.crossmatrix]`` and ``target``, ``x``
    give ``F [tool.crossmatrix] target.x``."""
    return f"{where} {'.'.join(keys)}"


def _unknown(keys: set[str], allowed: set[str], where: str) -> None:
    for key in sorted(keys - allowed):
        close = difflib.get_close_matches(key, sorted(allowed), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(sorted(allowed))}"
        raise ConfigError(f"unknown key {key!r} in {where}", hint)


def _str(value: Any, key: str, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: {key} must be a non-empty string, got {value!r}")
    return value


def _strs(value: Any, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings, got {value!r}")
    return tuple(value)


def _bool(value: Any, key: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {key} must be true or false, got {value!r}")
    return value


def jobs_value(value: Any, key: str, where: str) -> int:
    """A number of targets at once: a whole number from 1 (TOML's, or text of one)."""
    text = value if isinstance(value, str) else None
    number = int(text) if text is not None and text.strip().isdigit() else value
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ConfigError(f"{where}: {key} = {value!r} is not a number of targets at once",
                          "use a whole number from 1 (1: one target after another)")
    return number


def _choice(value: Any, key: str, where: str, allowed: tuple[str, ...]) -> str:
    text = _str(value, key, where)
    if text not in allowed:
        raise ConfigError(f"{where}: {key} = {text!r} is not one of {', '.join(allowed)}")
    return text


def _floor(value: Any, where: str) -> str:
    text = _str(value, "glibc", where)
    try:
        targets_mod.glibc_version(text)
    except UsageError as exc:
        raise ConfigError(f"{where}: {exc.message}", exc.hint) from None
    return text


def _inside_project(value: Any, key: str, where: str) -> str:
    """A folder of its own inside the project, relative to its root (``dist``): crossmatrix
    replaces whole folders in it, so it may not point elsewhere."""
    text = _str(value, key, where)
    hint = (f'give a folder inside the project, e.g. {key} = "dist" '
            "(copy the release elsewhere afterwards, or `inv merge --out DIR`)")
    path = Path(text)
    if "\0" in text:
        raise ConfigError(f"{where}: {key} = {text!r} holds a NUL character", hint)
    if path.is_absolute() or text.startswith("~"):
        raise ConfigError(f"{where}: {key} = {text!r} is not relative to the project", hint)
    if ".." in path.parts:
        raise ConfigError(f"{where}: {key} = {text!r} goes up with '..'", hint)
    if path == Path("."):
        raise ConfigError(f"{where}: {key} = {text!r} is the project's own folder", hint)
    return text


def _pip_spec(value: Any, key: str, where: str) -> str:
    """What pip installs (``ci-install``): one requirement, URL or wheel path, on one line
    (it becomes one shell word of a CI job), never an option of pip's own."""
    text = _str(value, key, where)
    hint = ('give one thing for pip to install, e.g. ci-install = "crossmatrix==0.1.0" or '
            '"crossmatrix @ https://example.org/crossmatrix-0.1.0-py3-none-any.whl"')
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise ConfigError(f"{where}: {key} = {text!r} holds a line break or control character",
                          hint)
    if text.strip() != text:
        raise ConfigError(f"{where}: {key} = {text!r} has spaces around it", hint)
    if text.startswith("-"):
        raise ConfigError(f"{where}: {key} = {text!r} is a pip option, not what to install",
                          hint)
    return text


def _cache_dir(value: Any, root: Path, where: str) -> Path:
    """``cache-dir``: a folder of the project (relative, no ``..``) or anywhere given as an
    absolute path or ``~/…`` (a cache shared by several projects or CI jobs)."""
    text = _str(value, "cache-dir", where)
    hint = ("give a folder inside the project, or an absolute path (or ~/...) "
            "for a cache outside it")
    if "\0" in text:
        raise ConfigError(f"{where}: cache-dir = {text!r} holds a NUL character", hint)
    path = Path(text).expanduser()
    if not path.is_absolute():
        if ".." in path.parts:
            raise ConfigError(f"{where}: cache-dir = {text!r} goes up with '..'", hint)
        if path == Path("."):
            raise ConfigError(f"{where}: cache-dir = {text!r} is the project's own folder",
                              hint)
    return (root / path).resolve()


#: what cargo accepts as a profile name (not starting with "-": it would read as an option)
_PROFILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


def _profile_name(value: Any, key: str, where: str) -> str:
    text = _str(value, key, where)
    if not _PROFILE_NAME.fullmatch(text):
        raise ConfigError(f"{where}: {key} = {text!r} is not a cargo profile name",
                          'use letters, digits, "_" and "-" only, e.g. "release" or "min-size"')
    return text


def _check_profile(project: Project, key: str, where: str) -> None:
    """The profile is one cargo will find: built in, or defined for this workspace."""
    if workspace_mod.profile_defined(project.workspace, project.profile):
        return
    manifest = workspace_mod.root_manifest(project.workspace)
    raise ConfigError(
        f"{where}: {key} = {project.profile!r} is not a profile of the workspace "
        f"(no [profile.{project.profile}] in {manifest})",
        f'add [profile.{project.profile}] with inherits = "release" there, '
        f"or use one of {', '.join(workspace_mod.BUILTIN_PROFILES)}")


def _env_table(value: Any, where: str) -> dict[str, str]:
    """A target's ``env``: variable names (non-empty, no "=") to string values."""
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"{where}: env must be a table of strings")
    for key, text in value.items():
        if not key or "=" in key or "\0" in key:
            raise ConfigError(f"{where}: env key {key!r} is not a variable name",
                              'name each variable without "=", e.g. env = { OPENSSL_STATIC = "1" }')
        if "\0" in text:
            raise ConfigError(f"{where}: env {key} = {text!r} holds a NUL character",
                              "an environment value cannot hold NUL; remove it")
    return dict(value)


#: std's cargo features worth choosing for a cross build (from library/std/Cargo.toml).
STD_FEATURES = ("optimize_for_size", "panic_immediate_abort", "backtrace", "debug_refcell",
                "llvm-libunwind", "system-llvm-libunwind", "compiler-builtins-mem")


def _std_features(value: Any, where: str) -> tuple[str, ...]:
    features = _strs(value, "std-features", where)
    for feature in features:
        if feature not in STD_FEATURES:
            close = difflib.get_close_matches(feature, STD_FEATURES, n=1)
            raise ConfigError(f"{where}: unknown std feature {feature!r}",
                              f"did you mean {close[0]!r}?" if close
                              else f"known: {', '.join(STD_FEATURES)}")
    return tuple(sorted(features))


def _timeouts(table: Any, where: str) -> timeouts_mod.Timeouts:
    here = _sub(where, "timeouts")
    if not isinstance(table, dict):
        raise ConfigError(f"{here} must be a table of seconds per kind",
                          f"kinds: {', '.join(timeouts_mod.KINDS)}")
    _unknown(set(table), set(timeouts_mod.KINDS), here)
    return timeouts_mod.Timeouts().with_(
        {kind: timeouts_mod.parse(table[kind], f"{here}: {kind}")
         for kind in timeouts_mod.KINDS if kind in table})


def _known_target(name: str, where: str, rows: Sequence[targets_mod.Target] = ()) -> None:
    try:
        targets_mod.resolve(name, rows)
    except UsageError as exc:
        raise ConfigError(f"{where}: {exc.message}", exc.hint) from None


def _named_row(name: str, table: Mapping[str, Any], where: str) -> targets_mod.Target:
    """``[….target.<name>] triple = "…"``: a row of this project's matrix, named ``name``."""
    here = _sub(where, "target", name)
    triple = _str(table["triple"], "triple", here)
    if not targets_mod.ROW_NAME.fullmatch(name):
        raise ConfigError(f"{here}: {name!r} cannot name a target",
                          'use lower-case letters, digits, "-" and "_", e.g. linux-s390x')
    if name in targets_mod.known_names():
        raise ConfigError(f"{here}: {name} is a row of the table already",
                          "remove triple = … to set its options, or choose another name")
    row = next((t for t in targets_mod.TABLE if t.triple == triple), None)
    if row is not None:
        raise ConfigError(f"{here}: triple = {triple!r} is the table's {row.name}",
                          f"set its options in {_sub(where, 'target', row.name)} instead")
    try:
        found = targets_mod.resolve(triple)
    except UsageError as exc:
        raise ConfigError(f"{here}: triple = {triple!r}: {exc.message}", exc.hint) from None
    if len(found) != 1 or found[0].triple != triple:
        raise ConfigError(f"{here}: triple = {triple!r} is not a Rust target triple",
                          "give one of `rustc --print target-list`, e.g. s390x-unknown-linux-gnu")
    base = found[0]
    return replace(base, name=name, in_table=False, configured=True, glibc=None)


def _target_settings(name: str, table: Any, where: str,
                     rows: Sequence[targets_mod.Target] = ()) -> TargetSettings:
    here = _sub(where, "target", name)
    if not isinstance(table, dict):
        raise ConfigError(f"{here} must be a table")
    _unknown(set(table), _TARGET_KEYS, here)
    _known_target(name, here, rows)
    if "glibc" in table and not all(t.is_glibc for t in targets_mod.resolve(name, rows)):
        raise ConfigError(f"{here}: glibc = {table['glibc']!r} applies to gnu targets, "
                          f"not {name}", "remove it; musl, Windows and macOS need no glibc floor")
    env = _env_table(table.get("env", {}), here)
    return TargetSettings(
        linker=_str(table["linker"], "linker", here) if "linker" in table else None,
        std_provider=(
            _choice(table["std-provider"], "std-provider", here, STD_PROVIDERS)
            if "std-provider" in table else None
        ),
        rustflags=_strs(table.get("rustflags", []), "rustflags", here),
        glibc=_floor(table["glibc"], here) if "glibc" in table else None,
        env=env,
        allow_libraries=_strs(table.get("allow-libraries", []), "allow-libraries", here),
        pre_build=_strs(table["pre-build"], "pre-build", here) if "pre-build" in table else None,
    )


def from_table(root: Path, table: Mapping[str, Any], where: str, *,
               config_file: Path | None = None,
               config_table: str = PYPROJECT_TABLE) -> Project:
    """Build a validated :class:`Project` from a settings table; ``where`` names it in
    errors (``/p/Cargo.toml [workspace.metadata.crossmatrix]``)."""
    _unknown(set(table), _TOP_KEYS, where)
    workspace = root / _str(table.get("workspace", "."), "workspace", where)
    if not (workspace / "Cargo.toml").is_file():
        raise ConfigError(
            f"no Cargo.toml in {workspace}",
            f"set workspace = \"<folder with Cargo.toml>\" in {where}",
        )
    per_target_table = table.get("target", {})
    if not isinstance(per_target_table, dict):
        raise ConfigError(f"{_sub(where, 'target')} must be a table of per-target tables")
    rows = tuple(_named_row(k, v, where) for k, v in per_target_table.items()
                 if isinstance(v, dict) and "triple" in v)
    names = _strs(table.get("targets", [t.name for t in (*targets_mod.TABLE, *rows)]),
                  "targets", where)
    if not names:
        raise ConfigError(f"{where}: targets = [] names no target",
                          "list at least one (`crossmatrix targets` shows them), "
                          "or remove the key for every target")
    for name in names:
        _known_target(name, f"{where}: targets", rows)
    project = Project(
        root=root,
        name=_str(table["name"], "name", where) if "name" in table else None,
        workspace=workspace.resolve(),
        dist=(root / _inside_project(table.get("dist", "dist"), "dist", where)).resolve(),
        targets=names,
        profile=_profile_name(table.get("profile", "release"), "profile", where),
        packages=_strs(table.get("packages", []), "packages", where),
        features=_strs(table.get("features", []), "features", where),
        std_provider=_choice(table.get("std-provider", "auto"), "std-provider", where,
                             STD_PROVIDERS),
        offline=_bool(table.get("offline", False), "offline", where),
        jobs=jobs_value(table["jobs"], "jobs", where) if "jobs" in table else None,
        sccache=_bool(table.get("sccache", False), "sccache", where),
        std_features=_std_features(table.get("std-features", []), where),
        glibc=_floor(table["glibc"], where) if "glibc" in table else None,
        cache_dir=(_cache_dir(table["cache-dir"], root, where) if "cache-dir" in table
                   else default_cache_dir()),
        smoke_args=_strs(table.get("smoke-args", ["--version"]), "smoke-args", where),
        smoke_expect_triple=_bool(table.get("smoke-expect-triple", False),
                                  "smoke-expect-triple", where),
        per_target={k: _target_settings(k, v, where, rows) for k, v in per_target_table.items()},
        rows=rows,
        allow_libraries=_strs(table.get("allow-libraries", []), "allow-libraries", where),
        pre_build=_strs(table.get("pre-build", []), "pre-build", where),
        timeouts=replace(_timeouts(table.get("timeouts", {}), where),
                         table=f"[{config_table}.timeouts]"),
        config_file=config_file,
        config_table=config_table,
        ci_install=(_pip_spec(table["ci-install"], "ci-install", where)
                    if "ci-install" in table else None),
    )
    _check_std_features(project, where)
    project = apply_env(project)
    if "CROSSMATRIX_PROFILE" in os.environ:
        _check_profile(project, "CROSSMATRIX_PROFILE", "environment")
    else:
        _check_profile(project, "profile", where)
    return project


def _check_std_features(project: Project, where: str) -> None:
    """Only a std built from source can have other features than the shipped one."""
    if not project.std_features:
        return
    providers = {where: project.std_provider, **{
        _sub(where, "target", name): s.std_provider for name, s in project.per_target.items()
        if s.std_provider}}
    for place, provider in providers.items():
        if provider not in ("auto", "build-std"):
            raise ConfigError(
                f"{place}: std-features {list(project.std_features)} need std-provider "
                f"'build-std', not {provider!r}", "remove std-provider, or the std-features")


def apply_env(project: Project) -> Project:
    changes: dict[str, Any] = {}
    if "CROSSMATRIX_CACHE_DIR" in os.environ:
        changes["cache_dir"] = default_cache_dir()
    if (value := os.environ.get("CROSSMATRIX_OFFLINE")) is not None:
        if value not in ("0", "1", "true", "false"):
            raise ConfigError(f"CROSSMATRIX_OFFLINE={value!r} must be 0, 1, true or false")
        changes["offline"] = value in ("1", "true")
    if (value := os.environ.get("CROSSMATRIX_JOBS")) is not None:
        changes["jobs"] = jobs_value(value, "CROSSMATRIX_JOBS", "environment")
    if (value := os.environ.get("CROSSMATRIX_PROFILE")) is not None:
        changes["profile"] = _profile_name(value, "CROSSMATRIX_PROFILE", "environment")
    bounds = timeouts_mod.from_env(project.timeouts, os.environ)
    if bounds != project.timeouts:
        changes["timeouts"] = bounds
    if (value := os.environ.get("CROSSMATRIX_STD_PROVIDER")) is not None:
        changes["std_provider_override"] = _choice(value, "CROSSMATRIX_STD_PROVIDER",
                                                   "environment", STD_PROVIDERS)
    return replace(project, **changes) if changes else project


def find_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` with a pyproject.toml or Cargo.toml."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() or (folder / "Cargo.toml").is_file():
            return folder
    raise ConfigError(f"no pyproject.toml or Cargo.toml at or above {start}",
                      "run from a cargo workspace, or pass --project PATH")


@dataclass(frozen=True)
class _Table:
    """A settings table found in a file."""

    file: Path
    name: str  #: dotted: workspace.metadata.crossmatrix
    values: Mapping[str, Any]

    @property
    def where(self) -> str:
        return f"{self.file} [{self.name}]"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} cannot be read: {exc}") from exc


def _dig(data: Mapping[str, Any], path: Path, name: str) -> _Table | None:
    """The table at the dotted ``name`` of a file's ``data``, if it is there."""
    *outer, last = name.split(".")
    here: Any = data
    for key in outer:
        here = here.get(key) if isinstance(here, dict) else None
    if not isinstance(here, dict) or last not in here:
        return None
    if not isinstance(here[last], dict):
        raise ConfigError(f"{path} [{name}] must be a table, got {here[last]!r}",
                          f"write it as a table: [{name}] on a line of its own, keys below")
    return _Table(path, name, here[last])


def _pyproject_table(root: Path) -> _Table | None:
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return None
    return _dig(_read_toml(pyproject), pyproject, PYPROJECT_TABLE)


def _cargo_table(manifest: Path) -> _Table | None:
    """``[workspace.metadata.crossmatrix]`` or ``[package.metadata.crossmatrix]`` of a
    Cargo.toml; both in one file is refused: which one counts would be a guess."""
    if not manifest.is_file():
        return None
    data = _read_toml(manifest)
    found = [t for t in (_dig(data, manifest, WORKSPACE_TABLE), _dig(data, manifest,
                                                                     PACKAGE_TABLE)) if t]
    if len(found) == 2:
        raise ConfigError(f"{manifest} has both [{WORKSPACE_TABLE}] and [{PACKAGE_TABLE}]",
                          f"keep one: [{WORKSPACE_TABLE}] in a workspace, [{PACKAGE_TABLE}] "
                          "in a single crate")
    return found[0] if found else None


def _unused_cargo_table(manifest: Path) -> _Table | None:
    """A Cargo.toml table beside the pyproject's one, for the warning; a Cargo.toml that
    does not parse is cargo's to report, not a reason to stop here."""
    try:
        return _cargo_table(manifest)
    except ConfigError:
        return None


def table_to_write(root: Path) -> tuple[Path | None, str]:
    """Where a project without settings would put them: the root Cargo.toml's table (of
    its workspace or its crate), else pyproject.toml's."""
    manifest = root / "Cargo.toml"
    if manifest.is_file():
        workspace = "workspace" in _read_toml(manifest)
        return manifest, WORKSPACE_TABLE if workspace else PACKAGE_TABLE
    pyproject = root / "pyproject.toml"
    return (pyproject if pyproject.is_file() else None), PYPROJECT_TABLE


def tables_in(root: Path) -> list[tuple[Path, str]]:
    """The settings tables a project's root folder holds, as (file, dotted name): the one
    :func:`load` uses first (pyproject.toml's wins over Cargo.toml's)."""
    found = [_pyproject_table(root), _cargo_table(root / "Cargo.toml")]
    return [(t.file, t.name) for t in found if t is not None]


def project_root(project: Path | str | None = None) -> Path:
    """The root folder of the project at ``project`` (default: ``CROSSMATRIX_PROJECT``, else
    the nearest folder at or above the current one with a pyproject.toml or Cargo.toml)."""
    given = project or os.environ.get("CROSSMATRIX_PROJECT")
    if given is None:
        return find_root(Path.cwd())
    root = Path(given).expanduser()
    if not root.exists():
        raise ConfigError(f"project path {str(given)!r} does not exist",
                          "pass --project with a folder holding Cargo.toml or pyproject.toml")
    root = root.resolve()
    return root.parent if root.is_file() else root


def load(project: Path | str | None = None) -> Project:
    """Load the project at ``project`` (default: ``CROSSMATRIX_PROJECT`` or the current folder)."""
    root = project_root(project)
    table = _pyproject_table(root)
    if table is None:
        table = _cargo_table(root / "Cargo.toml")
    if table is None:
        config_file, config_table = table_to_write(root)
        return from_table(root, {}, f"{config_file or root} [{config_table}]",
                          config_file=config_file, config_table=config_table)
    loaded = from_table(root, table.values, table.where, config_file=table.file,
                        config_table=table.name)
    if table.name == PYPROJECT_TABLE:
        manifests = dict.fromkeys((root / "Cargo.toml", loaded.workspace / "Cargo.toml"))
        unused = [t.where for t in map(_unused_cargo_table, manifests) if t is not None]
        if unused:
            console.warn(f"settings from {table.where}; {' and '.join(unused)} ignored "
                         "(pyproject.toml's table wins: keep one of them)")
    return loaded
