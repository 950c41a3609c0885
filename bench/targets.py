"""The target sweep: every triple rustc knows, built, verified and run by crossmatrix.

For each triple of ``rustc --print target-list`` (rustup's rustc and Debian's, the union) that
crossmatrix can plan (:func:`tooling.matrix.targets.select` with ``unsupported=``), a small std
program (a no_std one for target_os none, see :func:`program_for`) is released with the real
console script, ``crossmatrix --project P release --target T``; what it did is read from the
release's own records (dist/release.json, the target's build_info.json), its binary is read
again with crossmatrix's ELF reader, and the cell goes into docs/targets.json (runs accumulate,
and a cell already done by the same crossmatrix and rustcs is skipped) and docs/TARGETS.md,
with the triples crossmatrix cannot plan and the one line saying why.

The tier of each triple is rustc's own: ``metadata.tier`` of ``--print all-target-specs-json``
(``RUSTC_BOOTSTRAP=1``), and "rustup std" is whether rustup's channel manifest ships rust-std
for it.

    python bench/targets.py --setup --only '*-linux-*'    # Linux triples, setup first
    python bench/targets.py --only 's390x-*,i686-unknown-linux-gnu' --budget 1800
    python bench/targets.py --list                         # what it would do, and why not
    inv sweep --only '*-linux-musl*' --setup

``--setup`` runs ``crossmatrix setup --target T`` before each release (apt, through
crossmatrix's own setup). Needs the network for ``rustup target add``; without it std comes
from Debian or is built from source (build-std), which is slower.
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.helpers import write_no_std_crate  # noqa: E402
from tooling import __version__  # noqa: E402
from tooling.errors import StepFailed, UsageError  # noqa: E402
from tooling.matrix import rustc_data  # noqa: E402
from tooling.matrix.targets import NotSupportedYet, Target, select  # noqa: E402
from tooling.verify import inspection  # noqa: E402

BIN = Path(sys.prefix) / "bin"
DEFAULT_WORK = Path(tempfile.gettempdir()) / "crossmatrix-sweep"
OUT = REPO / "docs" / "TARGETS.md"

MAIN_RS = r"""//! The sweep's program: std at work (a thread, a map, floats, a file, the clock), and
//! the triple it was built for, which crossmatrix's smoke test checks. Under WASI the
//! factorial is computed on the main thread and the file is skipped: preview 1 has no
//! threads, and crossmatrix's Wasmtime runner preopens no folder.
use std::collections::HashMap;

const TARGET: &str = env!("SWEEP_TARGET");

#[cfg(not(target_os = "wasi"))]
fn factorial() -> u64 {
    std::thread::spawn(|| (1..=10u64).product::<u64>()).join().expect("the thread ran")
}

#[cfg(target_os = "wasi")]
fn factorial() -> u64 {
    (1..=10u64).product::<u64>()
}

#[cfg(not(target_os = "wasi"))]
fn round_trip() -> String {
    use std::io::{Read, Write};
    let path = std::env::temp_dir().join(format!("sweep-probe-{}", std::process::id()));
    std::fs::File::create(&path).and_then(|mut f| f.write_all(TARGET.as_bytes())).expect("write");
    let mut back = String::new();
    std::fs::File::open(&path).and_then(|mut f| f.read_to_string(&mut back)).expect("read");
    let _ = std::fs::remove_file(&path);
    back
}

#[cfg(target_os = "wasi")]
fn round_trip() -> String {
    TARGET.to_string()
}

fn main() {
    let factorial = factorial();
    let mut words: HashMap<&str, usize> = HashMap::new();
    for word in "to be or not to be".split(' ') {
        *words.entry(word).or_default() += 1;
    }
    let root = format!("{:.6}", 2.0f64.sqrt() * (0.5f64).exp().ln() * 2.0);
    let back = round_trip();
    let clock = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).is_ok();
    let endian = if cfg!(target_endian = "big") { "big" } else { "little" };
    let ok = factorial == 3_628_800 && words["be"] == 2 && root == "1.414214" && back == TARGET
        && clock;
    println!("sweep-probe {} ({TARGET}): {endian}-endian, {}-bit, 10! = {factorial}, \
              sqrt 2 = {root}, {}", env!("CARGO_PKG_VERSION"), usize::BITS,
             if ok { "ok" } else { "WRONG" });
    std::process::exit(if ok { 0 } else { 1 });
}
"""

BUILD_RS = """fn main() {
    let target = std::env::var("TARGET").expect("cargo sets TARGET");
    println!("cargo:rustc-env=SWEEP_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
"""


@dataclass
class Cell:
    triple: str
    name: str  #: crossmatrix's name for it (a table row's name, else the triple)
    status: str  #: "ran", "verified", "failed", "stopped"
    std: str = ""  #: std provider
    linker: str = ""
    verify: str = ""  #: what the ELF reader found, or the failed check
    ran: str = ""  #: under what, or why not
    seconds: float = 0.0
    setup: str = ""  #: what `crossmatrix setup` said when it did not succeed
    tool: str = ""  #: crossmatrix and rustc versions it was made with
    date: str = ""


# --- rustc's and rustup's data --------------------------------------------------------------


def tiers() -> dict[str, int]:
    """``metadata.tier`` of every target spec rustc knows, from each rustc here (the first
    one that says wins)."""
    found: dict[str, int] = {}
    for rustc in rustc_data.rustcs():
        res = subprocess.run([str(rustc.path), "-Zunstable-options", "--print",
                              "all-target-specs-json"], capture_output=True, text=True,
                             env={**os.environ, "RUSTC_BOOTSTRAP": "1"}, check=False)
        if res.returncode != 0:
            continue
        for triple, spec in json.loads(res.stdout).items():
            tier = (spec.get("metadata") or {}).get("tier")
            if isinstance(tier, int):
                found.setdefault(triple, tier)
    return found


def rustup_std() -> set[str]:
    """The triples rustup's channel manifest (of the active toolchain) ships rust-std for."""
    rustup = shutil.which("rustup")
    if rustup is None:
        return set()
    res = subprocess.run([rustup, "which", "rustc"], capture_output=True, text=True,
                         check=False)
    if res.returncode != 0:
        return set()
    manifest = (Path(res.stdout.strip()).parents[1] / "lib" / "rustlib"
                / "multirust-channel-manifest.toml")
    if not manifest.is_file():
        return set()
    data = tomllib.loads(manifest.read_text())
    std = data.get("pkg", {}).get("rust-std", {}).get("target", {})
    return {triple for triple, entry in std.items() if entry.get("available")}


def tool_version() -> str:
    """crossmatrix's version and the git tree of tooling/ (dirty: changed files), and the
    rustcs: a cell made by another of these is made again."""
    tree = subprocess.run(["git", "rev-parse", "HEAD:tooling"], cwd=REPO, capture_output=True,
                          text=True, check=False).stdout.strip()[:12] or "no-git"
    dirty = subprocess.run(["git", "status", "--porcelain", "tooling"], cwd=REPO,
                           capture_output=True, text=True, check=False).stdout.strip()
    rustcs = "; ".join(" ".join(rustc_data._listing(r)[0].split()[:2]) + f" ({r.kind})"
                       for r in rustc_data.rustcs())
    return f"crossmatrix {__version__} tooling {tree}{'+dirty' if dirty else ''}; {rustcs}"


# --- the cells ------------------------------------------------------------------------------


def plan_all(triples: list[str]) -> tuple[dict[str, Target], dict[str, NotSupportedYet]]:
    """Each triple as crossmatrix plans it, or the reason it cannot."""
    supported: dict[str, Target] = {}
    gaps: dict[str, NotSupportedYet] = {}
    for triple in triples:
        found: list[NotSupportedYet] = []
        try:
            chosen = select([triple], unsupported=found)
        except UsageError as exc:  # any other refusal is a row of the report too
            gaps[triple] = NotSupportedYet(
                rustc_data.facts(triple) or rustc_data.Facts(
                    triple=triple, arch="", os="", env="", abi="", endian="", pointer_width=0),
                "plan", " ".join(str(exc).split()))
            continue
        if found:
            gaps[triple] = found[0]
        elif chosen:
            supported[triple] = chosen[0]
    return supported, gaps


def program_for(target: Target, work: Path) -> Path:
    """The project the sweep releases for ``target``: the std program, or for bare metal
    (target_os none) the integration tests' no_std one (``write_no_std_crate``: core and
    alloc, ``_start``, a panic handler; verified, not run)."""
    facts = rustc_data.facts(target.triple)
    if facts is not None and facts.os == "none":
        dest = write_no_std_crate(work / "nostd", name="sweep-bare")
        config = '[tool.crossmatrix]\ndist = "dist"\n'
        if not (dest / "pyproject.toml").is_file() or (
                dest / "pyproject.toml").read_text() != config:
            (dest / "pyproject.toml").write_text(config)
        return dest
    dest = work / "std"
    (dest / "src").mkdir(parents=True, exist_ok=True)
    files = {
        "Cargo.toml": '[package]\nname = "sweep-probe"\nversion = "0.1.0"\nedition = "2021"\n'
                      "publish = false\n\n[profile.release]\nopt-level = 1\n",
        "build.rs": BUILD_RS,
        "src/main.rs": MAIN_RS,
        "pyproject.toml": '[tool.crossmatrix]\ndist = "dist"\nsmoke-args = ["--version"]\n'
                          "smoke-expect-triple = true\n",
    }
    for name, text in files.items():
        path = dest / name
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
    return dest


def _run(argv: list[str], cwd: Path, log: Path, timeout: float) -> tuple[int | None, str]:
    """Exit code (None: timed out) and output, appended to ``log`` as it comes."""
    with log.open("a") as out:
        out.write(f"$ {shlex.join(argv)}\n")
        out.flush()
        start = out.tell()
        env = {**os.environ, "PYTHONPATH": str(REPO), "CROSSMATRIX_LIVE": "0"}
        try:
            code: int | None = subprocess.run(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                              text=True, env=env, timeout=timeout,
                                              check=False).returncode
        except subprocess.TimeoutExpired:
            code = None
        out.write(f"(exit {code})\n")
    with log.open() as written:
        written.seek(start)
        return code, written.read()


def _last_error(output: str) -> str:
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("error: "):
            hint = lines[i + 1].strip() if i + 1 < len(lines) and "hint:" in lines[i + 1] else ""
            return (line[7:] + (f" — {hint}" if hint else ""))[:400]
    return (lines[-2] if len(lines) > 1 else "no output")[:400]


def _first_cargo_error(log: Path) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return ""
    for line in text.splitlines():
        if line.startswith("error") and "could not compile" not in line:
            return line.strip()[:300]
    return ""


def _binary_facts(dist: Path, info: dict[str, Any], target: Target) -> str:
    """The released program read again from its archive and crossmatrix's checks run once
    more through the one entry point of every format (ELF: machine, class, endian, float/ELF
    ABI, linkage; PE, Mach-O, wasm likewise)."""
    archive = dist / info["archive"]["file"] if isinstance(info.get("archive"), dict) else None
    bins = [a for a in info.get("artifacts", ()) if a.get("kind", "bin") == "bin"]
    if not bins:
        return "no program"
    art = bins[0]
    if archive is None or not archive.is_file():
        return f"{art.get('machine', '?')}, {art.get('linkage', '?')}"
    with tempfile.TemporaryDirectory() as tmp:
        path = _extract(archive, art["path"], Path(tmp))
        if path is None:
            return f"{art.get('machine', '?')}, {art.get('linkage', '?')} (not in the archive)"
        try:
            found = inspection.inspect(path, target, glibc_floor=target.glibc)
        except StepFailed as exc:
            return f"FAILED to read it again: {exc.message}"
    bad = [f"{c.name}: {c.actual} (wanted {c.expected})" for c in found.checks if not c.ok]
    summary = found.summary
    told = {c.name: c.actual for c in found.checks}
    shape = " ".join(told[k] for k in ("class", "endian", "float-abi", "elf-abi") if k in told)
    said = (f"{summary.get('machine', '?')}" + (f" {shape}" if shape else "")
            + f", {summary.get('linkage', '?')}")
    return said if not bad else f"{said}; FAILED {'; '.join(bad)}"


def _extract(archive: Path, member_path: str, into: Path) -> Path | None:
    """One member of a release archive (tar.gz or zip), by its path inside the top folder."""
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zipped:
            name = next((n for n in zipped.namelist()
                         if n.endswith("/" + member_path) or n == member_path), None)
            if name is None:
                return None
            zipped.extract(name, into)
            return into / name
    with tarfile.open(archive) as tar:
        member = next((m for m in tar.getmembers()
                       if m.name.endswith("/" + member_path) or m.name == member_path), None)
        if member is None:
            return None
        tar.extractall(into, members=[member], filter="data")
        return into / member.name


def cell_from_release(project: Path, target: Target, code: int | None, output: str,
                      seconds: float) -> Cell:
    cell = Cell(triple=target.triple, name=target.name, status="failed", seconds=round(seconds))
    if code is None:
        cell.status, cell.ran = "stopped", f"not finished in {seconds:.0f} s"
        return cell
    dist = project / "dist"
    info_file = dist / target.name / "build_info.json"
    manifest = dist / "release.json"
    failed = json.loads(manifest.read_text()).get("failed", {}) if manifest.is_file() else {}
    if code != 0 or target.name in failed or not info_file.is_file():
        first = _first_cargo_error(dist / "logs" / f"{target.name}.log")
        cell.ran = _last_error(output) + (f" (cargo: {first})" if first else "")
        return cell
    info = json.loads(info_file.read_text())
    cell.std = info.get("std_provider", "")
    cell.linker = info.get("linker", "")
    cell.verify = _binary_facts(dist / target.name, info, target)
    runs = [a["run"] for a in info["artifacts"] if a.get("kind", "bin") == "bin"]
    if runs and all(r["ran"] for r in runs):
        cell.status = "ran"
        cell.ran = ", ".join(sorted({"natively" if r["runner"] in (None, "native")
                                     else r["runner"] for r in runs}))
    else:
        cell.status = "verified"
        said = "; ".join(sorted({r["output"] for r in runs if not r["ran"]}))
        cell.ran = said if "not run" in said else f"not run: {said}"
    if "FAILED" in cell.verify:
        cell.status = "failed"
    return cell


def sweep_one(target: Target, work: Path, *, setup: bool, timeout: float, tool: str) -> Cell:
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{target.triple}.log"
    log.write_text("")
    project = program_for(target, work)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    console = [str(BIN / "crossmatrix"), "--project", str(project)]
    said = ""
    start = time.monotonic()
    if setup:
        code, output = _run([*console, "setup", "--target", target.name], project, log, timeout)
        if code != 0:
            said = f"setup: {_last_error(output)}"
    left = max(60.0, timeout - (time.monotonic() - start))
    release_start = time.monotonic()
    shutil.rmtree(project / "dist", ignore_errors=True)
    code, output = _run([*console, "release", "--target", target.name], project, log, left)
    cell = cell_from_release(project, target, code, output, time.monotonic() - release_start)
    cell.setup, cell.tool, cell.date = said, tool, now
    return cell


# --- the report -----------------------------------------------------------------------------

SYMBOL = {"ran": "✔ ran", "verified": "✔ verified", "failed": "✗ failed",
          "stopped": "✗ stopped"}


def _cell_text(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(store: dict[str, Any]) -> str:
    cells: dict[str, dict[str, Any]] = store["cells"]
    plannable: dict[str, dict[str, Any]] = store["plannable"]
    gaps: dict[str, dict[str, Any]] = store["unsupported"]
    tier: dict[str, int] = store["tiers"]
    shipped = set(store["rustup_std"])

    def tier_of(triple: str) -> str:
        found = tier.get(triple)
        text = str(found) if found is not None else "?"
        return text + (" (rustup std)" if triple in shipped else "")

    counted = [c for t, c in cells.items() if t in plannable]
    ok = [c for c in counted if c["status"] in ("ran", "verified")]
    ran = [c for c in counted if c["status"] == "ran"]
    lines = [
        "# Targets",
        "",
        "Every triple of `rustc --print target-list` (rustup's and Debian's rustc, the union), "
        "released by `crossmatrix --project P release --target T` for a small std program "
        "(bench/targets.py: a thread, a map, floats, a file, the clock; it prints its triple, "
        "which the smoke test checks). The release's own records say which std and linker; the "
        "released binary is read again (machine, class, endianness, float or ELF ABI, linkage) "
        "and crossmatrix's checks are run on it once more. Tier: rustc's own "
        "(`metadata.tier` of `--print all-target-specs-json`); \"rustup std\": rustup's channel "
        "manifest ships rust-std for it. Seconds: the release, std included (a `rustup target "
        "add` or a build-std the first time).",
        "",
        f"**{len(plannable)}** of {len(plannable) + len(gaps)} triples are planned by "
        f"crossmatrix; tried so far: {len(counted)}, built and verified: **{len(ok)}**, "
        f"run: **{len(ran)}**.",
        "",
        "| triple | tier | std | linker | verify | ran under (or why not) | s |",
        "|---|---|---|---|---|---|---|",
    ]
    for triple in sorted(plannable):
        cell = cells.get(triple)
        if cell and cell["ran"].startswith("not run: verified structurally, not run"):
            cell = {**cell, "ran": cell["ran"].removeprefix("not run: ")}  # older cells
        if cell is None:
            lines.append(f"| `{triple}` | {tier_of(triple)} | · | · | · | not tried yet | · |")
            continue
        status = SYMBOL[cell["status"]]
        ran_text = cell["ran"] + (f" ({cell['setup']})" if cell.get("setup") else "")
        lines.append(f"| `{triple}` | {tier_of(triple)} | {cell['std'] or '·'} | "
                     f"{cell['linker'] or '·'} | {_cell_text(cell['verify']) or '·'} | "
                     f"{status}: {_cell_text(ran_text)} | {cell['seconds']:.0f} |")
    lines += ["", "## Not planned by crossmatrix", "",
              "Each with the step and the reason crossmatrix gives (`crossmatrix plan --target "
              "T` says the same).", "", "| triple | tier | why not |", "|---|---|---|"]
    for triple in sorted(gaps):
        gap = gaps[triple]
        lines.append(f"| `{triple}` | {tier_of(triple)} | {gap['step']}: "
                     f"{_cell_text(gap['why'])} |")
    lines += ["", "## Runs", ""]
    lines += [f"- `{run['command']}` — {run['date']}, {run['machine']}, {run['tool']}: "
              f"{run['summary']}" for run in store["runs"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="",
                        help="comma-separated globs over triples (default: all)")
    parser.add_argument("--budget", type=float, default=0,
                        help="seconds for the whole sweep (0: no limit); no cell starts later")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per triple")
    parser.add_argument("--setup", action="store_true",
                        help="run `crossmatrix setup --target T` before each release")
    parser.add_argument("--redo", action="store_true",
                        help="release the chosen triples again even if done by this version")
    parser.add_argument("--work", default=str(DEFAULT_WORK), help="projects and logs")
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--merge", action="append", default=[],
                        help="another sweep's targets.json (one run with other --work and "
                             "--out, say in parallel): its cells and runs are taken in")
    parser.add_argument("--report-only", action="store_true",
                        help="release nothing: merge (--merge) and write the report")
    parser.add_argument("--list", action="store_true",
                        help="print each triple's plan or reason, and stop")
    args = parser.parse_args()
    began = time.monotonic()
    globs = [g.strip() for g in args.only.split(",") if g.strip()]
    every = sorted(rustc_data.known_triples())
    supported, gaps = plan_all(every)
    chosen = [t for t in supported if not globs or any(fnmatch.fnmatchcase(t, g) for g in globs)]
    if args.list:
        for triple in every:
            if triple in supported:
                target = supported[triple]
                print(f"{triple:45} plan: {target.name} ({target.libc}, {target.linkage})")
            else:
                print(f"{triple:45} not planned: {gaps[triple].step}: {gaps[triple].why}")
        return
    out = Path(args.out)
    store_file = out.with_name("targets.json")
    store: dict[str, Any] = (json.loads(store_file.read_text()) if store_file.is_file()
                             else {"cells": {}, "runs": []})
    tool = tool_version()
    store.update(tiers=tiers(), rustup_std=sorted(rustup_std()),
                 plannable={t: {"name": supported[t].name} for t in supported},
                 unsupported={t: {"step": g.step, "why": g.why} for t, g in gaps.items()})
    for other in args.merge:
        theirs = json.loads(Path(other).read_text())
        for triple, cell in theirs["cells"].items():
            if triple not in store["cells"] or store["cells"][triple]["date"] <= cell["date"]:
                store["cells"][triple] = cell
        store["runs"] += [run for run in theirs["runs"] if run not in store["runs"]]
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    this_run: list[Cell] = []
    for triple in [] if args.report_only else chosen:
        old = store["cells"].get(triple)
        if old and old["tool"] == tool and old["status"] != "stopped" and not args.redo:
            print(f"sweep: {triple}: done by this version ({SYMBOL[old['status']]}), skipped")
            continue
        left = args.budget - (time.monotonic() - began) if args.budget else args.timeout
        if left <= 0:
            print(f"sweep: the budget ({args.budget:.0f} s) is spent; {triple} and later "
                  "not tried (run again to go on)")
            break
        print(f"sweep: {triple} …", flush=True)
        cell = sweep_one(supported[triple], work, setup=args.setup,
                         timeout=min(args.timeout, left), tool=tool)
        this_run.append(cell)
        print(f"  {SYMBOL[cell.status]} {cell.seconds:.0f} s: std {cell.std or '·'}, linker "
              f"{cell.linker or '·'}, {cell.verify or '·'}; {cell.ran}"
              + (f" ({cell.setup})" if cell.setup else ""), flush=True)
        store["cells"][triple] = asdict(cell)
        store_file.parent.mkdir(parents=True, exist_ok=True)
        store_file.write_text(json.dumps(store, indent=1, sort_keys=True) + "\n")
        out.write_text(render(store))  # a sweep stopped half-way leaves its report too
    counted = [c for t, c in store["cells"].items() if t in supported]
    built = sum(c["status"] in ("ran", "verified") for c in counted)
    mine = ", ".join(f"{n} {status}" for status in SYMBOL
                     if (n := sum(1 for c in this_run if c.status == status)))
    summary = (f"{len(this_run)} released in this run ({mine or 'none'}; "
               f"{time.monotonic() - began:.0f} s); in the report {built} built and verified, "
               f"{sum(c['status'] == 'ran' for c in counted)} run")
    command = shlex.join(["python", "bench/targets.py", *sys.argv[1:]])
    if args.report_only:
        summary = (f"report only, merged {', '.join(args.merge) or 'nothing'}; "
                   f"{built} built and verified, {sum(c['status'] == 'ran' for c in counted)} run")
    if not args.report_only or args.merge:
        store["runs"].append({"command": command, "summary": summary, "tool": tool,
                              "machine": f"{platform.machine()} {os.cpu_count()} cores",
                              "date": datetime.datetime.now(datetime.UTC).strftime(
                                  "%Y-%m-%d %H:%M UTC")})
    store_file.write_text(json.dumps(store, indent=1, sort_keys=True) + "\n")
    out.write_text(render(store))
    print(f"sweep: {summary} → {out}")


if __name__ == "__main__":
    main()
