"""crossmatrix benchmarks: each figure measured side by side with what people use today.

    python bench/bench.py [--quick] [--only P1,P4] [--out docs/BENCHMARKS.md]
    inv bench [--quick] [--only P1,P4]

A and B alternate (A, B, A, B, …) after a warm-up, so drift hits both; the table
gives medians and the ratio A/B. Results go to docs/BENCHMARKS.md (with the exact
command, date, machine and tool versions) and the sizes to docs/sizes.png.

P1  warm no-op: `nox -s build-linux-aarch64` vs `cargo zigbuild --release`.
P2  fresh crate, std not installed: crossmatrix with the std cache vs
    `cargo zigbuild -Zbuild-std`; and filling the cache once vs that plain build-std.
P3  the Linux matrix from warm std caches (cold target folder): crossmatrix release
    vs the sum of the same cargo commands run raw.
P4  stripped sizes vs cargo-zigbuild's output, and the min-size profile.
P5  the default matrix (ten targets) cold, as P3, with targets side by side (jobs).
P6  edit one source file, then the whole matrix: crossmatrix release vs the sum of the
    ten single-target raw cargo rebuilds, an edit before each.
P7  one cargo call for several targets (`--target a --target b`) vs one call per target,
    cold and after an edit (two zig-linked musl targets of the sample workspace).
S1  startup: `crossmatrix --help` vs invoke's own bare `invoke --help` (no tasks file), and
    `nox -l` in this repository vs `nox -l` over a one-session noxfile.
R1  the Windows programs of windows-x86_64 run 5 times each under wine: crossmatrix's runner
    (one lingering wineserver per prefix) vs `wine prog.exe --version` per run, as a script
    does it (each wine starts and ends its own server).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.helpers import FORCED_PROVIDERS as FORCED  # noqa: E402
from tooling.matrix import workspace  # noqa: E402
from tooling.matrix.config import load  # noqa: E402
from tooling.matrix.targets import TABLE, by_name  # noqa: E402
from tooling.plan.cargo_call import Invocation  # noqa: E402
from tooling.std import providers  # noqa: E402
from tooling.steps import compiling  # noqa: E402
from tooling.steps.state import Build  # noqa: E402

BIN = Path(sys.prefix) / "bin"
WORK = Path(tempfile.gettempdir()) / "crossmatrix-bench"
OFFLINE = {"CROSSMATRIX_OFFLINE": "1"}


@dataclass
class Figure:
    key: str
    what: str
    a_label: str
    b_label: str
    a: list[float] = field(default_factory=list)
    b: list[float] = field(default_factory=list)
    goal: str = ""
    unit: str = "s"
    note: str = ""

    @property
    def ratio(self) -> float:
        return statistics.median(self.a) / statistics.median(self.b)


def sh(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path = REPO) -> float:
    """Run a command, return its wall time; a failure stops the benchmark with its tail."""
    start = time.perf_counter()
    res = subprocess.run(argv, env={**os.environ, **(env or {})}, cwd=cwd, capture_output=True,
                         text=True, check=False)
    took = time.perf_counter() - start
    if res.returncode != 0:
        tail = "\n".join((res.stderr or res.stdout).splitlines()[-25:])
        raise SystemExit(f"benchmark command failed: {shlex.join(argv)}\n{tail}")
    return took


def alternate(fig: Figure, a: Callable[[], float], b: Callable[[], float], reps: int,
              warmup: int) -> Figure:
    for _ in range(warmup):
        a()
        b()
    for i in range(reps):
        fig.a.append(a())
        fig.b.append(b())
        print(f"  {fig.key} rep {i + 1}/{reps}: A {fig.a[-1]:.2f}s  B {fig.b[-1]:.2f}s",
              file=sys.stderr)
    return fig


def project_dir(name: str, extra: str = "", workspace: Path = REPO / "crates") -> Path:
    root = WORK / name
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        f'[tool.crossmatrix]\nname = "edge-tools"\nworkspace = "{workspace}"\ndist = "dist"\n'
        f"offline = true\n{extra}")
    return root


def zig_env(target_name: str, project: Path, target_dir: Path) -> dict[str, str]:
    """cargo-zigbuild with the same compiler and std crossmatrix uses for that target."""
    build = Build(load(project), by_name()[target_name])
    plan = providers.plan(build.project, build.target)
    env = {"PATH": f"{BIN}:{plan.compiler.cargo.parent}:{os.environ['PATH']}",
           "RUSTC": str(plan.compiler.rustc), "CARGO_TARGET_DIR": str(target_dir)}
    flags = list(plan.rustflags)
    if build.target.libc == "musl":
        flags += ["-C", "link-self-contained=no"]
    if flags:
        env[f"CARGO_TARGET_{build.target.env_key}_RUSTFLAGS"] = " ".join(flags)
    return env


_COUNTER = iter(range(1_000_000))


def fresh(prefix: str = "target") -> Path:
    """A new, empty (not yet created) folder under the benchmark's work folder."""
    path = WORK / f"{prefix}-{next(_COUNTER)}"
    shutil.rmtree(path, ignore_errors=True)
    return path


def hello_crate(root: Path) -> Path:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "Cargo.toml").write_text(
        '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n')
    (root / "src" / "main.rs").write_text(
        'fn main() { println!("hello (aarch64-unknown-linux-musl)"); }\n')
    (root / "pyproject.toml").write_text(
        '[tool.crossmatrix]\noffline = true\ntargets = ["linux-aarch64"]\n'
        '[tool.crossmatrix.target.linux-aarch64]\nstd-provider = "build-std"\n')
    return root


# --- the figures ---------------------------------------------------------------------------

def p1(reps: int, warmup: int) -> Figure:
    project = project_dir("p1", FORCED)
    zig_target = WORK / "p1-zigbuild-target"
    env = zig_env("linux-aarch64", project, zig_target)
    fig = Figure("P1", "warm no-op build of linux-aarch64 (compile, strip, verify, run, package)",
                 "nox -s build-linux-aarch64", "cargo zigbuild --release", goal="ratio ≤ 1.0")
    return alternate(
        fig,
        lambda: sh([str(BIN / "nox"), "-s", "build-linux-aarch64", "--", str(project)],
                   env=OFFLINE),
        # --workspace --bins as crossmatrix builds it: musl makes no cdylib (build_core)
        lambda: sh([str(BIN / "cargo-zigbuild"), "zigbuild", "--release", "--workspace",
                    "--bins", "--target", "aarch64-unknown-linux-musl"], env=env,
                   cwd=REPO / "crates"),
        reps, warmup)


def p2(reps: int, warmup: int) -> list[Figure]:
    crate = hello_crate(WORK / "p2-hello")
    build = Build(load(crate), by_name()["linux-aarch64"])
    plan = providers.ensure(build.project, build.target)  # the cache is warm for A

    def a() -> float:
        return sh([str(BIN / "crossmatrix"), "--project", str(crate), "compile"],
                  env={**OFFLINE, "CARGO_TARGET_DIR": str(fresh())})

    def b() -> float:
        env = {"PATH": f"{BIN}:{plan.compiler.cargo.parent}:{os.environ['PATH']}",
               "RUSTC": str(plan.compiler.rustc), "RUSTC_BOOTSTRAP": "1",
               "CARGO_TARGET_DIR": str(fresh()),
               "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS": "-C link-self-contained=no"}
        return sh([str(BIN / "cargo-zigbuild"), "zigbuild", "--release", "-Zbuild-std=std,"
                   "panic_abort", "--target", "aarch64-unknown-linux-musl"], env=env, cwd=crate)

    cached = alternate(Figure(
        "P2", "fresh crate for a target without installed std (new target folder)",
        "crossmatrix compile, std cache warm", "cargo zigbuild -Zbuild-std",
        goal="≥ 50x faster (ratio ≤ 0.02)"), a, b, reps, warmup)

    def fill() -> float:
        cache = fresh("p2-cache")
        took = sh([str(BIN / "crossmatrix"), "--project", str(crate), "install-targets"],
                  env={**OFFLINE, "CROSSMATRIX_CACHE_DIR": str(cache)})
        shutil.rmtree(cache, ignore_errors=True)
        return took

    once = alternate(Figure(
        "P2-fill", "filling the std cache once (new cache folder)",
        "crossmatrix install-targets", "cargo zigbuild -Zbuild-std (the same fresh crate)",
        goal="ratio ≤ 1.1"), fill, b, max(1, reps - 1), 0)
    return [cached, once]


def p3(reps: int, targets: list[str], warmup: int, key: str = "P3") -> Figure:
    project = project_dir("p3", FORCED)

    def a() -> float:
        target_dir = fresh()
        took = sh([str(BIN / "crossmatrix"), "--project", str(project), "release",
                   *(f"--target={t}" for t in targets)],
                  env={**OFFLINE, "CARGO_TARGET_DIR": str(target_dir)})
        shutil.rmtree(target_dir, ignore_errors=True)
        return took

    def b() -> float:
        target_dir = fresh()
        os.environ["CARGO_TARGET_DIR"] = str(target_dir)
        try:
            total = 0.0
            proj = load(project)
            for name in targets:
                call = compiling.invocation(Build(proj, by_name()[name]), provide_std=False)
                total += sh(call.argv, env=call.env, cwd=proj.workspace)
        finally:
            del os.environ["CARGO_TARGET_DIR"]
            shutil.rmtree(target_dir, ignore_errors=True)
        return total

    return alternate(Figure(
        key, f"{'the default matrix' if len(targets) == len(TABLE) else 'the matrix'} "
        f"({len(targets)} targets) from warm std caches, cold target folder",
        "crossmatrix release", "sum of the raw cargo builds", goal="ratio ≤ 1.15"),
        a, b, reps, warmup)


def p5(reps: int, warmup: int) -> Figure:
    """P3 over the whole default matrix, with targets side by side (``jobs``)."""
    fig = p3(reps, [t.name for t in TABLE], warmup, key="P5")
    return dataclasses.replace(
        fig, key="P5", what=f"the default matrix ({len(TABLE)} targets) from warm std caches, "
        "cold target folder", a_label="crossmatrix release (jobs: one per core)",
        goal="ratio ≤ 0.7")


def _edit(source: Path, n: int) -> None:
    """A one-line change cargo must rebuild for: a new comment at the end of the file."""
    with source.open("a") as f:
        f.write(f"// edit {n}\n")


def p6(reps: int, warmup: int) -> Figure:
    """Edit one source file, then the whole matrix: crossmatrix release against the sum of
    the single-target raw cargo rebuilds, each after its own edit (and its own warm build)."""
    copy = WORK / "p6-workspace"
    if not copy.is_dir():
        shutil.copytree(REPO / "crates", copy, ignore=shutil.ignore_patterns("target"))
    project = project_dir("p6", FORCED, workspace=copy)
    source = copy / "edge-agent" / "src" / "main.rs"
    a_dir, b_dir = WORK / "p6-target-a", WORK / "p6-target-b"
    edits = iter(range(1_000_000))
    names = [t.name for t in TABLE]
    proj = load(project)

    def a() -> float:
        _edit(source, next(edits))
        return sh([str(BIN / "crossmatrix"), "--project", str(project), "release"],
                  env={**OFFLINE, "CARGO_TARGET_DIR": str(a_dir)})

    def b() -> float:
        os.environ["CARGO_TARGET_DIR"] = str(b_dir)
        try:
            total = 0.0
            for name in names:
                _edit(source, next(edits))
                call = compiling.invocation(Build(proj, by_name()[name]), provide_std=False)
                total += sh(call.argv, env=call.env, cwd=proj.workspace)
        finally:
            del os.environ["CARGO_TARGET_DIR"]
        return total

    return alternate(Figure(
        "P6", f"edit one source file (edge-agent), then the whole matrix ({len(names)} targets)",
        "crossmatrix release", "sum of the single-target raw cargo rebuilds, an edit before "
        "each", goal="ratio ≤ 1.1"), a, b, reps, max(1, warmup))


def _one_call(calls: list[Invocation]) -> tuple[list[str], dict[str, str]]:
    """The cargo calls of several targets as one: every target's ``--target`` and
    ``--config target.<triple>.*``, and the union of their environments (every difference
    between them is keyed by the target: CC_<t>, CARGO_TARGET_<T>_LINKER …)."""
    first, *rest = calls
    argv = list(first.argv)
    env = dict(first.env)
    for call in rest:
        extra, args = [], list(call.argv)
        for i, arg in enumerate(args):
            if arg == "--target" or (arg == "--config" and args[i + 1].startswith("target.")):
                extra += [arg, args[i + 1]]
        argv += extra
        for key, value in call.env.items():
            if env.get(key, value) != value:
                raise SystemExit(f"P7: {key} differs between the targets: not one call")
            env[key] = value
    return argv, env


def p7(reps: int, warmup: int, targets: list[str]) -> list[Figure]:
    """One cargo call for several targets (``--target a --target b``) against one call per
    target, in one target folder: cold (an empty folder) and after an edit (warm)."""
    copy = WORK / "p7-workspace"
    if not copy.is_dir():
        shutil.copytree(REPO / "crates", copy, ignore=shutil.ignore_patterns("target"))
    project = project_dir("p7", FORCED, workspace=copy)
    proj = load(project)
    source = copy / "edge-agent" / "src" / "main.rs"
    edits = iter(range(1_000_000))

    def calls(target_dir: Path) -> list[Invocation]:
        os.environ["CARGO_TARGET_DIR"] = str(target_dir)
        try:
            return [compiling.invocation(Build(proj, by_name()[n]), provide_std=False)
                    for n in targets]
        finally:
            del os.environ["CARGO_TARGET_DIR"]

    def together(target_dir: Path) -> float:
        argv, env = _one_call(calls(target_dir))
        return sh(argv, env=env, cwd=proj.workspace)

    def apart(target_dir: Path) -> float:
        return sum(sh(c.argv, env=c.env, cwd=proj.workspace) for c in calls(target_dir))

    def cold(how: Callable[[Path], float]) -> Callable[[], float]:
        def run() -> float:
            target_dir = fresh()
            try:
                return how(target_dir)
            finally:
                shutil.rmtree(target_dir, ignore_errors=True)
        return run

    warm_a, warm_b = WORK / "p7-warm-a", WORK / "p7-warm-b"

    def edited(how: Callable[[Path], float], target_dir: Path) -> Callable[[], float]:
        def run() -> float:
            _edit(source, next(edits))
            return how(target_dir)
        return run

    names = ", ".join(targets)
    return [
        alternate(Figure("P7-cold", f"cold workspace, {names}: one cargo call for all",
                         "cargo build --target a --target b …", "one cargo call per target",
                         goal="keep what wins"), cold(together), cold(apart), reps, warmup),
        alternate(Figure("P7-warm", f"an edit, then {names}: one cargo call for all",
                         "cargo build --target a --target b …", "one cargo call per target",
                         goal="keep what wins"), edited(together, warm_a),
                  edited(apart, warm_b), reps, max(1, warmup)),
    ]


def s1(reps: int, warmup: int) -> list[Figure]:
    """Startup: the console script and the session list against the bare frameworks."""
    bare = WORK / "s1-bare"
    bare.mkdir(parents=True, exist_ok=True)
    (bare / "noxfile.py").write_text(
        "import nox\n\n\n@nox.session(python=False)\ndef one(session):\n"
        "    session.run('true')\n")
    return [
        alternate(Figure("S1-cli", "startup of the console script's help",
                         "crossmatrix --help", "invoke --help (no tasks file)",
                         goal="report"),
                  lambda: sh([str(BIN / "crossmatrix"), "--help"]),
                  lambda: sh([str(BIN / "invoke"), "--help"], cwd=bare), reps, warmup),
        alternate(Figure("S1-nox", "listing the sessions (what feeds the CI matrix)",
                         "nox -l (this repository)", "nox -l (a one-session noxfile)",
                         goal="report"),
                  lambda: sh([str(BIN / "nox"), "-l"]),
                  lambda: sh([str(BIN / "nox"), "-l"], cwd=bare), reps, warmup),
    ]


def p4() -> tuple[Figure, dict[str, dict[str, int]]]:
    project = project_dir("p4", FORCED)
    sizes: dict[str, dict[str, int]] = {}
    sh([str(BIN / "crossmatrix"), "--project", str(project), "release"], env=OFFLINE)
    for target in TABLE:
        info = json.loads((project / "dist" / target.name / "build_info.json").read_text())
        zig_dir = WORK / "p4-zigbuild-target"
        env = zig_env(target.name, project, zig_dir)
        sh([str(BIN / "cargo-zigbuild"), "zigbuild", "--release", "--workspace", "--bins",
            "--target", target.triple],
           env=env, cwd=REPO / "crates")
        for art in info["artifacts"]:
            theirs = (zig_dir / target.triple / "release" / art["name"]).stat().st_size
            sizes.setdefault(target.name, {})[art["name"]] = art["size"]
            sizes[target.name][f"{art['name']} (zigbuild)"] = theirs
    small = project_dir("p4-min-size", 'profile = "min-size"\nstd-features = '
                        '["optimize_for_size"]\ntargets = ["linux-aarch64"]\n')
    sh([str(BIN / "crossmatrix"), "--project", str(small), "release"], env=OFFLINE)
    info = json.loads((small / "dist" / "linux-aarch64" / "build_info.json").read_text())
    minimal = {a["name"]: a["size"] for a in info["artifacts"]}
    fig = Figure("P4", "edge-agent for linux-aarch64, stripped: min-size profile vs release",
                 "min-size (opt-level z, LTO, 1 CGU, panic=abort, std optimize_for_size)",
                 "release", [minimal["edge-agent"]], [sizes["linux-aarch64"]["edge-agent"]],
                 goal="≥ 40% smaller (ratio ≤ 0.60)", unit="bytes")
    return fig, sizes


def r1(reps: int, warmup: int) -> Figure:
    from tooling.platforms import windows  # only this figure needs it

    project = project_dir("r1", FORCED)
    sh([str(BIN / "crossmatrix"), "--project", str(project), "release", "--target",
        "windows-x86_64"], env=OFFLINE)
    target = by_name()["windows-x86_64"]
    target_dir = workspace.metadata(load(project).workspace).target_dir
    bins = sorted((target_dir / "crossmatrix" / target.name / "bin").glob("*.exe"))
    cache = load(project).cache_dir
    plain = WORK / "r1-plain"
    plain.mkdir(parents=True, exist_ok=True)
    for exe in bins:
        shutil.copy2(exe, plain / exe.name)
    if windows.needs_shim(target):
        shutil.copy2(windows.shim(target, cache), plain / windows.SHIM_DLL)
    prefix = WORK / "r1-plain-prefix"  # its own: not served by the runner's lingering server
    env = {**os.environ, **windows.env(prefix)}

    def a() -> float:
        start = time.perf_counter()
        for _ in range(5):
            for exe in bins:
                if not windows.run(target, exe, ["--version"], cache).ok:
                    raise SystemExit(f"{exe.name} failed under crossmatrix's wine runner")
        return time.perf_counter() - start

    def b() -> float:
        return sum(sh(["wine", str(plain / exe.name), "--version"], env=env, cwd=plain)
                   for _ in range(5) for exe in bins)

    fig = Figure("R1", f"{len(bins)} Windows programs x 5 runs under wine (windows-x86_64)",
                 "crossmatrix's runner (one lingering wineserver)",
                 "wine prog.exe per run (a server each)", goal="ratio ≤ 0.5")
    return alternate(fig, a, b, reps, warmup)


# --- reporting -------------------------------------------------------------------------------

def versions() -> dict[str, str]:
    def out(argv: list[str]) -> str:
        res = subprocess.run(argv, capture_output=True, text=True, check=False)
        return (res.stdout or res.stderr).splitlines()[0].strip() if res.returncode == 0 else "?"

    from importlib.metadata import version

    return {
        "crossmatrix": version("crossmatrix"),
        "rustc (rustup)": out(["rustc", "-V"]),
        "rustc (Debian)": out(["/usr/bin/rustc", "-V"]),
        "cargo-zigbuild": out([str(BIN / "cargo-zigbuild"), "--version"]),
        "zig (ziglang)": version("ziglang"),
        "nox": version("nox"),
        "qemu-aarch64": out(["qemu-aarch64", "--version"]),
        "python": platform.python_version(),
    }


def machine() -> str:
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    cpu = "?"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in
                   Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    return f"{os.cpu_count()} cores ({cpu}), {mem} memory, {platform.platform()}"


def fmt(value: float, unit: str) -> str:
    return f"{value:,.0f} B" if unit == "bytes" else f"{value:.2f} s"


def table(figures: list[Figure]) -> str:
    rows = ["| figure | what | A | B | A (median) | B (median) | A/B | goal | runs |",
            "|---|---|---|---|---:|---:|---:|---|---:|"]
    for f in figures:
        rows.append(f"| {f.key} | {f.what} | {f.a_label} | {f.b_label} | "
                    f"{fmt(statistics.median(f.a), f.unit)} | "
                    f"{fmt(statistics.median(f.b), f.unit)} | {f.ratio:.3f} | {f.goal} | "
                    f"{len(f.a)}+{len(f.b)} |")
    return "\n".join(rows)


def size_table(sizes: dict[str, dict[str, int]]) -> str:
    rows = ["| target | binary | crossmatrix (stripped) | cargo-zigbuild --release | ratio |",
            "|---|---|---:|---:|---:|"]
    for target, values in sizes.items():
        for name, ours in values.items():
            if name.endswith("(zigbuild)"):
                continue
            theirs = values[f"{name} (zigbuild)"]
            rows.append(f"| {target} | {name} | {ours:,} | {theirs:,} | {ours / theirs:.3f} |")
    return "\n".join(rows)


def chart(sizes: dict[str, dict[str, int]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(sizes)
    ours = [sizes[t]["edge-agent"] / 1024 for t in names]
    theirs = [sizes[t]["edge-agent (zigbuild)"] / 1024 for t in names]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    x = range(len(names))
    ax.bar([i - 0.2 for i in x], theirs, width=0.4, label="cargo zigbuild --release")
    ax.bar([i + 0.2 for i in x], ours, width=0.4, label="crossmatrix (stripped)")
    ax.set_xticks(list(x), names, rotation=20, ha="right")
    ax.set_ylabel("edge-agent size (KiB)")
    ax.set_title("edge-agent per target: crossmatrix vs cargo-zigbuild")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition each (a smoke run)")
    parser.add_argument("--only", default="P1,P2,P3,P4", help="comma-separated figures")
    parser.add_argument("--reps", type=int, help="repetitions of every figure chosen")
    parser.add_argument("--warmup", type=int, help="warm-up runs of every figure chosen")
    parser.add_argument("--out", default=str(REPO / "docs" / "BENCHMARKS.md"))
    args = parser.parse_args()
    only = {s.strip().upper() for s in args.only.split(",")}

    def reps(quick: int, full: int) -> int:
        return args.reps if args.reps is not None else quick if args.quick else full

    def warm(quick: int, full: int) -> int:
        return args.warmup if args.warmup is not None else quick if args.quick else full
    WORK.mkdir(parents=True, exist_ok=True)
    figures: list[Figure] = []
    sizes: dict[str, dict[str, int]] = {}
    if "P1" in only:
        figures.append(p1(reps=reps(3, 9), warmup=warm(1, 2)))
    if "P2" in only:
        figures += p2(reps=reps(1, 3), warmup=warm(0, 1))
    if "P3" in only:
        names = ["linux-x86_64-gnu", "linux-aarch64"] if args.quick else [t.name for t in TABLE]
        figures.append(p3(reps=reps(1, 2), targets=names,
                          warmup=warm(0, 1)))
    if "P5" in only:
        figures.append(p5(reps=reps(1, 2), warmup=warm(0, 1)))
    if "P6" in only:
        figures.append(p6(reps=reps(1, 3), warmup=1))
    if "P7" in only:
        figures += p7(reps=reps(1, 2), warmup=0,
                      targets=["linux-x86_64", "linux-aarch64"])
    if "P4" in only:
        size_fig, sizes = p4()
        figures.append(size_fig)
    if "S1" in only:
        figures += s1(reps=reps(5, 15), warmup=2)
    if "R1" in only:
        figures.append(r1(reps=reps(1, 3), warmup=1))
    command = shlex.join(["python", "bench/bench.py", *sys.argv[1:]])
    out = Path(args.out)
    store = out.with_name("benchmarks.json")
    stored = json.loads(store.read_text()) if store.is_file() else {"figures": {}}
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    for f in figures:
        stored["figures"][f.key] = {**dataclasses.asdict(f), "command": command, "date": when}
    if sizes:
        stored["sizes"] = sizes
        stored["sizes_date"] = when
    stored["machine"] = machine()
    stored["versions"] = versions()
    out.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n")
    all_figures = [Figure(**{k: v for k, v in data.items() if k not in ("command", "date")})
                   for _, data in sorted(stored["figures"].items())]
    runs = sorted({(d["command"], d["date"]) for d in stored["figures"].values()},
                  key=lambda r: r[1])
    report = [
        "# Benchmarks",
        "",
        "Produced by (from the repository root, after `bash bootstrap.sh release`):",
        "",
        *[f"- `{cmd}` — {date}" for cmd, date in runs],
        "",
        f"Machine: {stored['machine']}",
        "",
        "Versions: " + "; ".join(f"{k} {v}" for k, v in stored["versions"].items()),
        "",
        "A and B alternate after a warm-up; medians; A/B < 1 means crossmatrix is faster "
        "(or smaller).",
        "",
        table(all_figures),
    ]
    if stored.get("sizes"):
        chart(stored["sizes"], out.with_name("sizes.png"))
        report += ["", f"## Sizes per target ({stored['sizes_date']})", "",
                   "![sizes](sizes.png)", "", size_table(stored["sizes"])]
    report += ["", "## Raw timings", ""]
    for f in all_figures:
        report.append(f"- {f.key}: A {[round(v, 3) for v in f.a]}, "
                      f"B {[round(v, 3) for v in f.b]}")
    text = "\n".join(report) + "\n"
    analysis = out.with_name("BENCHMARKS-analysis.md")
    if analysis.is_file():
        text += "\n" + analysis.read_text()
    out.write_text(text)
    from rich.console import Console
    from rich.table import Table

    rich_table = Table(title="crossmatrix benchmarks")
    for col in ("figure", "A", "B", "A median", "B median", "A/B", "goal"):
        rich_table.add_column(col)
    for f in figures:
        rich_table.add_row(f.key, f.a_label, f.b_label, fmt(statistics.median(f.a), f.unit),
                           fmt(statistics.median(f.b), f.unit), f"{f.ratio:.3f}", f.goal)
    Console().print(rich_table)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
