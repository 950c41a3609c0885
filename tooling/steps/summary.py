"""The table at the end of a build, read from each target's ``dist/<target>/build_info.json``
(nothing recomputed): on the terminal for the targets of this run, and as markdown in
``dist/SUMMARY.md`` for every target the dist folder holds (those ``dist/release.json``
counts) and those that failed in this run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tooling.errors import BadRecord
from tooling.matrix.config import Project
from tooling.records.build_info import BuildInfo
from tooling.steps.progress import log_file, ran_text, shown_path, size
from tooling.util import atomic, console

COLUMNS = ("target", "std, compiler", "linker", "binaries", "stripped", "linkage",
           "highest glibc", "ran", "archive, sha256")
FILE = "SUMMARY.md"


def _row(info: BuildInfo) -> list[str]:
    compiler = " ".join(info.compiler.version.split()[:2])  # "rustc 1.83.0"
    # zig's wrappers are crossmatrix's own (zigcc-<triple>-<hash>); a gcc is named as it is
    linker = info.linker if info.linker == "zig" or not info.linker_program else (
        info.linker_program)
    ran = ran_text([(a.kind, a.run.ran, a.run.runner, a.run.output) for a in info.artifacts])
    return [info.name, f"{info.std_provider}, {compiler}", linker, str(len(info.artifacts)),
            size(sum(a.size for a in info.artifacts)), info.linkage,
            info.highest_glibc or "-", ran, f"{info.archive.file} {info.archive.sha256[:12]}"]


def rows(project: Project, names: Sequence[str], failed: Mapping[str, str]) -> list[list[str]]:
    """One row per name: from its build_info.json, or why there is none."""
    made = []
    for name in names:
        if name in failed:
            made.append([name, *["-"] * (len(COLUMNS) - 3), "failed",
                         f"log: {shown_path(log_file(project, name))}"])
            continue
        try:
            info = BuildInfo.load(project.dist / name / "build_info.json")
        except (BadRecord, OSError):
            made.append([name, *["-"] * (len(COLUMNS) - 3), "not packaged", "-"])
            continue
        made.append(_row(info))
    return made


def plain(table: Sequence[Sequence[str]]) -> list[str]:
    """Aligned columns, no box drawing (a log, a CI job's output)."""
    widths = [max(len(r[i]) for r in [COLUMNS, *table]) for i in range(len(COLUMNS))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
            for r in [COLUMNS, *table]]


def markdown(table: Sequence[Sequence[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(COLUMNS), line(["---"] * len(COLUMNS)), *map(line, table)]) + "\n"


def report(project: Project, ran: Sequence[str], held: Sequence[str],
           failed: Mapping[str, str]) -> None:
    """Show the table of the targets ``ran`` now; write dist/SUMMARY.md of those the dist
    folder ``held`` (release.json's targets) and the failed ones."""
    console.display().summary(plain(rows(project, ran, failed)))
    order = [t.name for t in project.select(None)]  # the matrix's order, then the others
    wanted = {*held, *ran}
    every = [*(n for n in order if n in wanted), *(n for n in ran if n not in order),
             *(n for n in held if n not in order and n not in ran)]
    project.dist.mkdir(parents=True, exist_ok=True)
    atomic.write_text(project.dist / FILE, markdown(rows(project, every, failed)))
