"""``crossmatrix init``: a commented settings table for the project at hand.

The table goes into the root Cargo.toml (``[workspace.metadata.crossmatrix]``, or
``[package.metadata.crossmatrix]`` for a single crate) or, with ``--pyproject``, into
pyproject.toml (``[tool.crossmatrix]``). What it says comes from the project:

- the targets: ``build.target`` of ``.cargo/config.toml`` and ``targets`` of
  ``rust-toolchain.toml`` (each triple named by its row of the table), or ``--target``,
  else the whole default matrix;
- the binaries and libraries ``cargo metadata`` lists (comments; ``smoke-args``);
- what ``doctor`` finds each target's dependencies need (comments, with the fixes).

The table is rendered with tomlkit and added after the file's last byte: the user's text,
comments and formatting stay as they are. An existing table is refused (exit 2, nothing
written) unless ``--force``, which removes it (tomlkit again, the rest untouched) first.
The new text is checked as :mod:`tooling.matrix.config` loads it before it is written,
atomically.
"""

from __future__ import annotations

import textwrap
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Table

from tooling import __version__
from tooling.doctor import audit, depgraph
from tooling.doctor.classify import EXTERNAL, NATIVE, PURE
from tooling.errors import ConfigError, CrossmatrixError, UsageError
from tooling.matrix import config, targets, workspace
from tooling.util import atomic, console, memo

#: where a target triple can already be named for a cargo project, nearest first
CARGO_CONFIGS = (".cargo/config.toml", ".cargo/config")
TOOLCHAIN_FILES = ("rust-toolchain.toml", "rust-toolchain")


@dataclass(frozen=True, kw_only=True)
class Found:
    """The targets to write and where they came from."""

    names: tuple[str, ...]
    origin: str  #: "from rust-toolchain.toml", "given with --target" …
    #: (triple, file) named in the project's files that crossmatrix cannot build
    unknown: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, kw_only=True)
class Facts:
    """Everything the table says, gathered before anything is written."""

    root: Path
    file: Path  #: the file the table goes into
    table: str  #: its dotted name
    found: Found
    binaries: tuple[tuple[str, str], ...] = ()
    libraries: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    name: str = ""  #: the workspace's name (the archives' default prefix)
    reports: tuple[audit.TargetReport, ...] = ()
    #: target name -> why doctor could not audit it
    failed: dict[str, str] = field(default_factory=dict)
    #: the tables of ``file`` that ``--force`` replaces
    replaced: tuple[str, ...] = ()


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path} cannot be read as TOML: {exc}",
                          "fix it (cargo reads it too), or pass --target") from None


def _triples(root: Path) -> list[tuple[str, str]]:
    """(triple, file) from the project's cargo config and rust-toolchain files."""
    found: list[tuple[str, str]] = []
    config_file = next((root / n for n in CARGO_CONFIGS if (root / n).is_file()), None)
    if config_file is not None:
        build = _toml(config_file).get("build", {})
        value = build.get("target") if isinstance(build, dict) else None
        for triple in [value] if isinstance(value, str) else value or []:
            found.append((str(triple), str(config_file.relative_to(root))))
    toolchain = next((root / n for n in TOOLCHAIN_FILES if (root / n).is_file()), None)
    if toolchain is not None:
        try:
            data = tomllib.loads(toolchain.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError:
            data = {}  # an old rust-toolchain file: one line naming the channel, no targets
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{toolchain} cannot be read: {exc}") from None
        table = data.get("toolchain", {})
        for triple in table.get("targets", []) if isinstance(table, dict) else []:
            found.append((str(triple), toolchain.name))
    return found


def find_targets(root: Path, specs: Sequence[str]) -> Found:
    """The matrix to write: ``--target`` values, else the triples the project's files name
    (by their row's name where a row has that triple), else the default matrix."""
    if specs:
        return Found(names=tuple(t.name for t in targets.select(specs)),
                     origin="given with --target")
    names: list[str] = []
    unknown: list[tuple[str, str]] = []
    origins: list[str] = []
    for triple, where in _triples(root):
        target = targets.from_triple(triple)
        if target is None:
            unknown.append((triple, where))
            continue
        if target.name not in names:
            names.append(target.name)
        if where not in origins:
            origins.append(where)
    if not names:
        return Found(names=tuple(t.name for t in targets.TABLE),
                     origin="the whole table (no file of the project names a target)",
                     unknown=tuple(unknown))
    return Found(names=tuple(names), origin="from " + " and ".join(origins), unknown=tuple(unknown))


def destination(root: Path, *, pyproject: bool) -> tuple[Path, str]:
    """The file and table ``init`` writes for the project at ``root``."""
    if not (root / "Cargo.toml").is_file():
        raise UsageError(f"no Cargo.toml in {root}",
                         "run `crossmatrix init` in a cargo workspace, or pass --project PATH")
    if pyproject:
        return root / "pyproject.toml", config.PYPROJECT_TABLE
    file, table = config.table_to_write(root)
    assert file is not None  # a Cargo.toml is there
    return file, table


def check_existing(root: Path, file: Path, table: str, *, force: bool) -> list[str]:
    """The tables in ``file`` that ``--force`` replaces; a table there without it, or one
    elsewhere that would hide the new one or be hidden by it, is refused (one line)."""
    replaced = []
    for there, name in config.tables_in(root):
        if there != file:
            if name == config.PYPROJECT_TABLE:
                how = "which wins over a Cargo.toml table"
                fix = "`crossmatrix init --pyproject --force` replaces it"
            else:
                how = "which a [tool.crossmatrix] in pyproject.toml would hide"
                fix = "`crossmatrix init --force` without --pyproject replaces it"
            raise UsageError(f"{there} already has [{name}], {how}; nothing written ({fix})")
        if not force:
            raise UsageError(f"{there} already has [{name}]; nothing written "
                             "(`crossmatrix init --force` replaces it)")
        replaced.append(name)
    return replaced


def gather(root: Path, specs: Sequence[str], *, pyproject: bool = False,
           force: bool = False) -> Facts:
    """What the table will say; reads the project, writes nothing."""
    file, table = destination(root, pyproject=pyproject)
    replaced = check_existing(root, file, table, force=force)
    found = find_targets(root, specs)
    project = config.from_table(root, {"targets": list(found.names)}, f"{file} [{table}]",
                                config_file=file, config_table=table)
    with memo.read_only():
        facts = workspace.metadata(project.workspace)
        reports: list[audit.TargetReport] = []
        failed: dict[str, str] = {}
        for target in project.select(None):
            try:
                packages = depgraph.packages_for(project, target)
                reports.append(audit.audit(packages,
                                           audit.context_for(project, target, packages)))
            except CrossmatrixError as exc:
                failed[target.name] = exc.message
                console.warn(f"init: doctor could not audit {target.name}: {exc.message}")
    return Facts(root=root, file=file, table=table, found=found, binaries=facts.binaries,
                 libraries=facts.libraries, name=facts.name, reports=tuple(reports),
                 failed=failed, replaced=tuple(replaced))


#: how wide init's comments are (continuation lines are indented)
WIDTH = 92


def _comment_lines(text: str) -> list[str]:
    return textwrap.wrap(" ".join(text.split()), WIDTH, subsequent_indent="  ",
                         break_on_hyphens=False, break_long_words=False)


def _alternatives(fix: str) -> list[str]:
    """A fix's alternatives: split at each ", or " outside brackets and parentheses."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(fix):
        depth += (char in "([") - (char in ")]")
        if depth == 0 and fix.startswith(", or ", index):
            parts.append(fix[start:index])
            start = index + len(", or ")
    return [*parts, fix[start:]]


def _doctor_lines(facts: Facts) -> list[str]:
    """The comment lines of doctor's findings: a summary per target (wrapped), then per
    dependency that lacks something here its needs and each fix on a line of its own
    (not wrapped, so a pre-build line can be copied whole)."""
    lines = _comment_lines("What the dependencies need, per target "
                           "(`crossmatrix doctor` checks again):")
    for report in facts.reports:
        name = report.target.name
        native = sorted({f.crate for f in report.findings if f.tier == NATIVE})
        external = sorted({f.crate for f in report.findings if f.tier == EXTERNAL})
        parts = [f"{report.counts()['pure-rust']} pure Rust"]
        if native:
            parts.append(f"C code: {', '.join(native)}")
        if external:
            parts.append(f"a library or tool beyond that: {', '.join(external)}")
        crates = f"{report.total} crate{'' if report.total == 1 else 's'}"
        lines += _comment_lines(f"{name}: {crates} ({'; '.join(parts)}); "
                                f"{report.ready} of {report.total} ready here")
        for finding in report.findings:
            missing = [n for n in finding.needs if not n.ok]
            if finding.tier == PURE or not missing:
                continue
            lines.append(f"{name}: {finding.crate} needs")
            for need in missing:
                first, *others = _alternatives(" ".join((need.fix or "?").split()))
                lines.append(f"  {need.what}: {first}")
                lines += [f"    or {text}" for text in others]
    for name, why in facts.failed.items():
        lines += _comment_lines(f"{name}: not audited ({why})")
    return lines


def render(facts: Facts) -> Table:
    """The settings table, its comments included (tomlkit)."""
    table = tomlkit.table()

    def say(text: str) -> None:
        for line in _comment_lines(text):
            table.add(tomlkit.comment(line))

    say(f"Written by `crossmatrix init` ({__version__}). Every key is optional; "
        "`crossmatrix plan` shows what a build would be.")
    say(f'name = "{facts.name}": the archives\' name prefix (default: the workspace\'s name)')
    say('dist = "dist": where the releases go, a folder inside the project (the default)')
    for triple, where in facts.found.unknown:
        say(f"{triple} (from {where}) is no target crossmatrix builds: left out")
    say(f"The matrix: {facts.found.origin}. `crossmatrix targets` lists every target.")
    names = tomlkit.array()
    names.extend(facts.found.names)
    names.multiline(True)
    table.add("targets", names)
    binaries = [name if name == package else f"{name} ({package})"
                for package, name in facts.binaries]
    libraries = [f"{name} ({', '.join(kinds)})" for _, name, kinds in facts.libraries]
    if libraries:
        say(f"Libraries: {', '.join(libraries)}")
    if binaries:
        say(f"Binaries: {', '.join(binaries)}. The smoke test runs each with smoke-args "
            "(under qemu, wine or natively): it must exit 0.")
        table.add("smoke-args", ["--version"])
    else:
        say("No binaries: nothing for the smoke test to run.")
    for line in _doctor_lines(facts):
        table.add(tomlkit.comment(line))
    return table


def _nested(name: str, table: Table) -> tomlkit.TOMLDocument:
    """A document holding ``table`` at the dotted ``name``, rendered as one header."""
    first, *rest = name.split(".")
    node = table
    for key in reversed(rest):
        parent = tomlkit.table(is_super_table=True)
        parent.add(key, node)
        node = parent
    document = tomlkit.document()
    document.add(first, node)
    return document


def _without(text: str, tables: Sequence[str]) -> str:
    """``text`` with these tables (and their sub-tables) removed; the rest as it was."""
    if not tables:
        return text
    document = tomlkit.parse(text)
    for name in tables:
        *outer, last = name.split(".")
        holder: Any = document
        for key in outer:
            holder = holder[key]
        del holder[last]
    return document.as_string()


def new_text(original: str, facts: Facts) -> str:
    """The file's text with the table added at its end (after removing those it replaces)."""
    base = _without(original, facts.replaced)
    added = _nested(facts.table, render(facts)).as_string().rstrip("\n") + "\n"
    if base and not base.endswith("\n"):
        base += "\n"
    if base and not base.endswith("\n\n"):
        base += "\n"
    return base + added


def check(text: str, facts: Facts) -> config.Project:
    """Load the table in ``text`` as config.py does; a problem here is crossmatrix's."""
    where = f"{facts.file} [{facts.table}]"
    try:
        data: Any = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"adding [{facts.table}] to {facts.file} would make it invalid "
                          f"TOML ({exc}); nothing written",
                          "add the table by hand, or use --pyproject") from None
    for key in facts.table.split("."):
        data = data[key]
    return config.from_table(facts.root, data, where, config_file=facts.file,
                             config_table=facts.table)


def init(project: Path | str | None, specs: Sequence[str], *, pyproject: bool = False,
         force: bool = False) -> Path:
    """Write the settings table for the project at ``project``; the file written."""
    facts = gather(config.project_root(project), specs, pyproject=pyproject, force=force)
    file = facts.file
    original = file.read_text(encoding="utf-8") if file.exists() else ""
    text = new_text(original, facts)
    check(text, facts)
    written = atomic.rewrite_text(file, text)
    verb = "replaced" if facts.replaced else "wrote"
    console.info(f"init: {verb} [{facts.table}] in {file}: {len(facts.found.names)} targets "
                 f"({facts.found.origin}), {len(facts.binaries)} binaries")
    return written
