"""The corpus: real crates nobody here wrote, released by crossmatrix as a new user would.

Each entry of bench/corpus.toml is fetched from crates.io at its pinned version (a published
program with the Cargo.lock it was published with, or a one-line program over a -sys crate)
and released with ``crossmatrix release`` and no settings at all: the default matrix, the
crate's own release profile. What each target did — built, verified, ran under what, or the
reason it did not — is read from the release's own records (dist/release.json and each
target's build_info.json) and crossmatrix's closing error lines, stored in docs/corpus.json
(runs accumulate: a run of some crates or targets updates only those cells) and written as
docs/CORPUS.md.

    python bench/corpus.py                      # everything (hours on a small machine)
    python bench/corpus.py --only sd,libz-sys --target linux-aarch64 --target windows-x86_64
    python bench/corpus.py --list               # the entries
    python bench/corpus.py --render             # the table again from docs/corpus.json

Fetching needs crates.io (the only network it uses); building is crossmatrix's own.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tooling.matrix.config import load  # noqa: E402
from tooling.matrix.targets import TABLE  # noqa: E402

BIN = Path(sys.prefix) / "bin"
CORPUS = REPO / "bench" / "corpus.toml"
DEFAULT_WORK = Path(tempfile.gettempdir()) / "crossmatrix-corpus"
CARGO_HOME = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))


@dataclass(frozen=True)
class Entry:
    kind: str  #: "binary" or "sys"
    name: str
    version: str
    why: str
    call: str = ""  #: sys: the Rust expression the program prints
    features: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass
class Cell:
    status: str  #: "ran", "verified", "failed", "stopped"
    detail: str  #: what ran it, why it was not run, or the error and its fix


def entries(path: Path = CORPUS) -> list[Entry]:
    data = tomllib.loads(path.read_text())
    return [Entry(kind=kind, name=e["name"], version=e["version"], why=e.get("why", ""),
                  call=e.get("call", ""), features=tuple(e.get("features", ())))
            for kind in ("binary", "sys") for e in data.get(kind, [])]


def run(argv: list[str], *, cwd: Path, timeout: float, log: Path) -> tuple[int, str]:
    """``argv``'s exit code and what it printed, which goes to ``log`` as it comes (``tail
    -f`` it to watch a long build)."""
    with log.open("a") as out:
        out.write(f"$ {shlex.join(argv)}  (in {cwd})\n")
        out.flush()
        start = out.tell()
        try:
            res = subprocess.run(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                 text=True, timeout=timeout, check=False)
        finally:
            out.flush()
        out.write(f"(exit {res.returncode})\n")
    with log.open() as written:
        written.seek(start)
        return res.returncode, written.read()


def _registry_source(name: str, version: str) -> Path | None:
    for root in sorted((CARGO_HOME / "registry" / "src").glob("*")):
        candidate = root / f"{name}-{version}"
        if (candidate / "Cargo.toml").is_file():
            return candidate
    return None


def fetch_binary(entry: Entry, work: Path, log: Path) -> Path:
    """The published crate, as cargo downloads it (with its Cargo.lock), copied to ``work``."""
    dest = work / "src" / entry.key
    if (dest / "Cargo.toml").is_file():
        return dest
    source = _registry_source(entry.name, entry.version)
    if source is None:
        scratch = work / "fetch" / entry.key
        (scratch / "src").mkdir(parents=True, exist_ok=True)
        (scratch / "src" / "lib.rs").write_text("")
        (scratch / "Cargo.toml").write_text(
            '[package]\nname = "corpus-fetch"\nversion = "0.0.0"\nedition = "2021"\n\n'
            f'[dependencies]\n{entry.name} = "={entry.version}"\n')
        code, _ = run(["cargo", "fetch"], cwd=scratch, timeout=1800, log=log)
        source = _registry_source(entry.name, entry.version)
        if source is None:
            raise SystemExit(f"corpus: could not fetch {entry.key} from crates.io "
                             f"(cargo fetch exit {code}; see {log})")
    tmp = dest.with_name(dest.name + ".new")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp, symlinks=True)
    tmp.rename(dest)
    return dest


def write_sys_program(entry: Entry, work: Path, log: Path) -> Path:
    """A program that calls into the -sys crate, so its C is built and linked."""
    dest = work / "src" / entry.key
    (dest / "src").mkdir(parents=True, exist_ok=True)
    features = f", features = {json.dumps(list(entry.features))}" if entry.features else ""
    manifest = (
        f'[package]\nname = "corpus-{entry.name.replace("_", "-")}"\nversion = "0.1.0"\n'
        'edition = "2021"\npublish = false\n\n'
        f'[dependencies]\n{entry.name} = {{ version = "={entry.version}"{features} }}\n')
    main = f'fn main() {{\n    let value = {entry.call};\n    println!("{{value:?}}");\n}}\n'
    changed = ((dest / "Cargo.toml").read_text() if (dest / "Cargo.toml").is_file()
               else "") != manifest
    (dest / "Cargo.toml").write_text(manifest)
    (dest / "src" / "main.rs").write_text(main)
    if changed or not (dest / "Cargo.lock").is_file():
        code, _ = run(["cargo", "generate-lockfile"], cwd=dest, timeout=1800, log=log)
        if code != 0:
            raise SystemExit(f"corpus: cargo generate-lockfile failed for {entry.key} "
                             f"(see {log})")
    return dest


_CLOSING = re.compile(r"^error: ([\w.-]+): (.*)\n  hint: (.*)$", re.M)
_LAST_ERROR = re.compile(r"^error: (.*)(?:\n  hint: (.*))?", re.M)


_CARGO_ERROR = re.compile(r"^error(?:\[E\d+\])?: (?!could not compile)(.*)$", re.M)


def _first_error(log: Path) -> str:
    """The first error cargo or rustc printed in a target's log (dist/logs/<target>.log)."""
    try:
        found = _CARGO_ERROR.search(log.read_text(errors="replace"))
    except OSError:
        return ""
    return found[0].strip()[:300] if found else ""


def cells(project: Path, stderr: str, returncode: int, targets: list[str],
          stage: str = "release") -> dict[str, Cell]:
    """What each target did, from the release's records and crossmatrix's closing lines
    (``stage`` "setup": setup failed, so nothing was released)."""
    dist = project / "dist"
    manifest = dist / "release.json"
    hints = {m[1]: (m[2], m[3]) for m in _CLOSING.finditer(stderr)}
    if stage != "release" or not manifest.is_file():
        found = list(_LAST_ERROR.finditer(stderr))
        said = (f"{found[-1][1]}" + (f" — {found[-1][2]}" if found[-1][2] else "")
                if found else f"exit {returncode}, no error line")
        return {t: Cell("stopped", f"{stage}: {said}" if stage != "release" else said)
                for t in targets}
    release = json.loads(manifest.read_text())
    result: dict[str, Cell] = {}
    for target in targets:
        if target in release.get("failed", {}):
            message, hint = hints.get(target, (release["failed"][target], ""))
            first = _first_error(dist / "logs" / f"{target}.log")
            said = message + (f" — {hint}" if hint else "") + (f" (cargo: {first})" if first
                                                              else "")
            result[target] = Cell("failed", said)
            continue
        info_file = dist / target / "build_info.json"
        if not info_file.is_file():
            result[target] = Cell("stopped", "not in this release (not built)")
            continue
        info = json.loads(info_file.read_text())
        runs = [a["run"] for a in info["artifacts"] if a.get("kind", "bin") == "bin"]
        if runs and all(r["ran"] for r in runs):
            runners = sorted({"natively" if r["runner"] in (None, "native") else r["runner"]
                              for r in runs})
            result[target] = Cell("ran", f"{len(runs)} program(s): {', '.join(runners)}")
        else:
            reasons = sorted({r["output"] for r in runs if not r["ran"]})
            result[target] = Cell("verified", "not run: " + "; ".join(reasons))
    return result


def release(entry: Entry, work: Path, targets: list[str] | None,
            timeout: float) -> dict[str, Cell]:
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{entry.key}.log"
    log.write_text("")
    project = (fetch_binary if entry.kind == "binary" else write_sys_program)(entry, work, log)
    chosen = [arg for target in targets or [] for arg in ("--target", target)]
    wanted = targets or _default_matrix(project)
    try:
        # as a new user does: setup (what the lock file needs: cmake, nasm, g++ …), then release
        code, said = run([str(BIN / "crossmatrix"), "--project", str(project), "setup", *chosen],
                         cwd=project, timeout=timeout, log=log)
        if code != 0:
            return cells(project, said, code, wanted, stage="setup")
        code, stderr = run([str(BIN / "crossmatrix"), "--project", str(project), "release",
                            *chosen], cwd=project, timeout=timeout, log=log)
    except subprocess.TimeoutExpired:
        return {t: Cell("stopped", f"not finished in {timeout:.0f} s") for t in wanted}
    return cells(project, stderr, code, wanted)


def _default_matrix(project: Path) -> list[str]:
    return [t.name for t in load(project).select(None)]


SYMBOL = {"ran": "✔ ran", "verified": "✔ verified", "failed": "✗ failed", "stopped": "✗ stopped"}


def render(store: dict[str, Any], listed: list[Entry], matrix: list[str]) -> str:
    """Every entry of the corpus (those not built yet too) against the default matrix and
    any other target a run used."""
    crates: dict[str, Any] = {e.key: {"kind": e.kind, "why": e.why, "cells": {},
                                      "command": "", "date": "not run yet"} for e in listed}
    crates.update({k: v for k, v in store["crates"].items() if k in crates})  # not dropped ones
    others = sorted({t for c in crates.values() for t in c["cells"]} - set(matrix))
    targets = [*matrix, *others]
    lines = [
        "# Corpus",
        "",
        "Real crates nobody here wrote, each released by `crossmatrix release` with no "
        "settings (the default matrix, the crate's own release profile and Cargo.lock). "
        "Entries: `bench/corpus.toml`; made by `bench/corpus.py` (each crate's command and "
        "date below). ✔ ran: built, verified and run (qemu, wine or natively); ✔ verified: "
        "built and verified, not run here (the reason is in the notes); ✗: did not build or "
        "verify, with crossmatrix's own words.",
        "",
        "| crate | kind | " + " | ".join(targets) + " |",
        "|---|---|" + "---|" * len(targets),
    ]
    notes: list[str] = []
    for key, crate in sorted(crates.items()):
        row = [f"`{key}`", crate["kind"]]
        said: dict[tuple[str, str], list[str]] = {}  # the same words for several targets
        for target in targets:
            cell = crate["cells"].get(target)
            row.append(SYMBOL[cell["status"]] if cell else "·")
            if cell and cell["status"] != "ran":
                said.setdefault((cell["status"], cell["detail"]), []).append(target)
        notes += [f"- `{key}` {', '.join(names)}: {SYMBOL[status]} — {detail}"
                  for (status, detail), names in said.items()]
        lines.append("| " + " | ".join(row) + " |")
    done = sum(len(c["cells"]) for c in crates.values())
    ok = sum(1 for c in crates.values() for cell in c["cells"].values()
             if cell["status"] in ("ran", "verified"))
    pairs = len(crates) * len(matrix)
    lines += ["", f"{done} of the {pairs} (crate, default-matrix target) pairs tried so far: "
              f"{ok} built and verified, {done - ok} not; · not tried yet.",
              "", "## Notes", "", *(notes or ["(none)"]), "", "## Runs", ""]
    lines += [f"- `{key}` ({crate['why']}): " + (f"`{crate['command']}` — {crate['date']}"
                                                 if crate["command"] else "not run yet")
              for key, crate in sorted(crates.items())]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated crate names")
    parser.add_argument("--target", action="append", default=[],
                        help="a target (repeatable); default: crossmatrix's default matrix")
    parser.add_argument("--work", default=str(DEFAULT_WORK), help="sources, logs, targets")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds per crate")
    parser.add_argument("--out", default=str(REPO / "docs" / "CORPUS.md"))
    parser.add_argument("--list", action="store_true", help="print the entries and stop")
    parser.add_argument("--render", action="store_true",
                        help="only write the table again from docs/corpus.json (no builds)")
    args = parser.parse_args()
    chosen = entries()
    if args.only:
        wanted = {n.strip() for n in args.only.split(",") if n.strip()}
        unknown = wanted - {e.name for e in chosen}
        if unknown:
            raise SystemExit(f"corpus: not in bench/corpus.toml: {', '.join(sorted(unknown))}")
        chosen = [e for e in chosen if e.name in wanted]
    if args.list:
        for e in chosen:
            print(f"{e.kind:6} {e.key:40} {e.why}")
        return
    work = Path(args.work)
    out = Path(args.out)
    listed = entries()
    matrix = [t.name for t in TABLE]  # the default matrix: a project with no settings
    store_file = out.with_name("corpus.json")
    store = json.loads(store_file.read_text()) if store_file.is_file() else {"crates": {}}
    # an entry no longer listed (a version replaced) leaves the record with it
    store["crates"] = {k: v for k, v in store["crates"].items() if k in {e.key for e in listed}}
    if args.render:
        store_file.write_text(json.dumps(store, indent=2, sort_keys=True) + "\n")
        out.write_text(render(store, listed, matrix))
        print(f"corpus: {out}")
        return
    for entry in chosen:
        print(f"corpus: {entry.key} …", flush=True)
        found = release(entry, work, args.target or None, args.timeout)
        crate = store["crates"].setdefault(entry.key, {"cells": {}})
        crate.update(kind=entry.kind, why=entry.why, date=datetime.datetime.now(
            datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            command=shlex.join(["python", "bench/corpus.py", "--only", entry.name,
                                *[a for t in args.target for a in ("--target", t)]]))
        crate["cells"].update({t: dataclasses.asdict(c) for t, c in found.items()})
        for target, cell in found.items():
            print(f"  {target}: {SYMBOL[cell.status]} {cell.detail}", flush=True)
        store_file.parent.mkdir(parents=True, exist_ok=True)
        store_file.write_text(json.dumps(store, indent=2, sort_keys=True) + "\n")
        out.write_text(render(store, listed, matrix))
    print(f"corpus: {out}")


if __name__ == "__main__":
    main()
