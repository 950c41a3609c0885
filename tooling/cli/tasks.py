"""The invoke tasks: every pipeline step on its own, and ``release`` for all of them.

Each task takes ``--target`` (repeatable; a name, a triple, a glob or ``tag:NAME``;
default: the project's matrix) and is also reachable as ``crossmatrix <task>
--project PATH`` for any cargo workspace.
"""

from __future__ import annotations

import functools
import json as _json
import os
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from tooling.cli.boundary import reported
from tooling.errors import StepFailed, UsageError
from tooling.matrix import targets
from tooling.matrix.config import Project, jobs_value, load
from tooling.util import console, timeouts

F = TypeVar("F", bound=Callable[..., Any])

TARGET_HELP = {"target": "target name, triple, glob or tag:NAME (repeatable; default: the matrix)"}


def _exit(text: str, code: int) -> NoReturn:
    console.error(text)
    raise Exit(code=code)


def boundary(func: F) -> F:
    """An invoke task whose errors are one message and an exit code, never a traceback;
    its children bounded by the ``CROSSMATRIX_TIMEOUT_*`` variables until a project is
    loaded (whose timeouts then are in force, :func:`_project`)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with reported(_exit):
            timeouts.use(timeouts.from_env(timeouts.Timeouts(), os.environ))
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _project(c: Context) -> Project:
    """The project, its timeouts put in force for every child from here on."""
    path = c.config.get("crossmatrix", {}).get("project")
    project = load(path)
    timeouts.use(project.timeouts)
    return project


def _selected(c: Context, target: list[str],
              unsupported: list[targets.NotSupportedYet] | None = None,
              ) -> tuple[Project, list[targets.Target]]:
    """The project and its chosen targets; with ``unsupported``, triples rustc knows and
    crossmatrix cannot build yet are collected there (``targets``, ``plan`` show them)."""
    project = _project(c)
    return project, project.select(target, unsupported=unsupported)


def _steps(c: Context, target: list[str], steps: tuple[str, ...]) -> None:
    from tooling.steps import pipeline  # startup time: each task loads only its own stage

    project, chosen = _selected(c, target)
    pipeline.run_matrix(project, chosen, steps)


@task(iterable=["target"], help={**TARGET_HELP, "dry_run": "print what would be installed"})
@boundary
def setup(c: Context, target: list[str], dry_run: bool = False) -> None:
    """Install the Debian packages the targets need (architectures, cross gcc, qemu, std)."""
    from tooling.setup import install  # startup time: each task loads only its own stage

    project, chosen = _selected(c, target)
    # the crates first where a cargo is here: their build scripts' sources tell what they
    # need (C++ compiled by cc), and setup installs it
    fetched = not dry_run and install.can_fetch(project)
    if fetched:
        install.fetch_crates(project)
    install.setup(chosen, project, dry_run=dry_run)
    if not dry_run:
        if not fetched:  # cargo came with setup (Debian's): what the crates need, now
            install.fetch_crates(project)
            install.setup(chosen, project)
        install.python_roots(chosen, project)


@task(iterable=["target"], help={**TARGET_HELP, "json": "print the plan as JSON"})
@boundary
def plan(c: Context, target: list[str], json: bool = False) -> None:
    """What each target's build will be, before anything runs or is written: compiler, std,
    linker, the cargo call and its environment, the steps, what is missing and its fix."""
    from tooling.plan import planner  # startup time: each task loads only its own stage

    gaps: list[targets.NotSupportedYet] = []
    project, chosen = _selected(c, target, gaps)
    made = planner.plan(project, chosen, gaps)
    if json:
        console.out().print(_json.dumps(made.to_json(), indent=2), markup=False)
    else:
        for line in planner.describe(made):
            console.out().print(line, markup=False, highlight=False, soft_wrap=True)


@task(iterable=["target"], help={**TARGET_HELP, "json": "print JSON instead of a table"})
@boundary
def targets_(c: Context, target: list[str], json: bool = False) -> None:
    """The target table: name, triple, std provider, linker, runner, and whether it is ready."""
    from tooling.doctor import readiness  # startup time: each task loads only its own stage
    from tooling.plan import planner  # startup time: each task loads only its own stage

    gaps: list[targets.NotSupportedYet] = []
    project, chosen = _selected(c, target, gaps)
    rows = [readiness.row(p) for p in planner.plan(project, chosen).targets]
    rows += [readiness.unsupported_row(gap) for gap in gaps]
    if json:
        console.out().print(_json.dumps(rows, indent=2), markup=False)
    else:
        readiness.print_table(rows)


@task(iterable=["target"], help={
    **TARGET_HELP, "json": "print JSON instead of a table",
    "strict": "exit 1 when something a dependency needs is not installed here",
    "dev": "also audit the members' dev-dependencies"})
@boundary
def doctor(c: Context, target: list[str], json: bool = False, strict: bool = False,
           dev: bool = False) -> None:
    """Audit the dependencies per target: pure Rust, C code the target's C toolchain builds,
    or a library or tool beyond it (openssl, protoc, cmake, nasm, libclang); with the fixes."""
    # startup time: each task loads only its own stage
    from tooling.doctor import audit as doctor_mod

    project, chosen = _selected(c, target)
    doctor_mod.run(project, chosen, as_json=json, strict=strict, dev=dev)


@task(iterable=["target"], help={
    "target": "a target of the matrix to write (repeatable; default: the triples of "
              ".cargo/config.toml build.target and rust-toolchain.toml, else every target)",
    "pyproject": "write [tool.crossmatrix] into pyproject.toml instead of Cargo.toml",
    "force": "replace the settings table that is already there"})
@boundary
def init(c: Context, target: list[str], pyproject: bool = False, force: bool = False) -> None:
    """Write a commented settings table for this project into its Cargo.toml (or
    pyproject.toml): its targets, binaries, and what each target's dependencies need."""
    from tooling.scaffold import init as init_mod  # startup time: each task loads its own stage

    init_mod.init(c.config.get("crossmatrix", {}).get("project"), target,
                  pyproject=pyproject, force=force)


@task(iterable=["target"], help=TARGET_HELP)
@boundary
def install_targets(c: Context, target: list[str]) -> None:
    """Provide each target's std: rustup, Debian's multiarch std, or build-std into the cache."""
    _steps(c, target, ("install-targets",))


@task(iterable=["target"], help=TARGET_HELP)
@boundary
def configure(c: Context, target: list[str]) -> None:
    """Write linker, runner and rustflags into .cargo/config.toml, keeping your own keys."""
    # startup time: each task loads only its own stage
    from tooling.steps import configure as configure_mod

    project, chosen = _selected(c, target)
    configure_mod.write(project, chosen)


@task(iterable=["target"], help=TARGET_HELP)
@boundary
def compile(c: Context, target: list[str]) -> None:
    """Build the workspace's binaries for each target (one cargo call per target)."""
    _steps(c, target, ("compile",))


@task(iterable=["target"], help=TARGET_HELP)
@boundary
def strip(c: Context, target: list[str]) -> None:
    """Strip the built binaries with a strip for their architecture; report sizes."""
    _steps(c, target, ("strip",))


@task(iterable=["target"], help={
    **TARGET_HELP, "glibc": "also fail when a binary needs a GLIBC_x.y above this (e.g. 2.31)"})
@boundary
def verify(c: Context, target: list[str], glibc: str | None = None) -> None:
    """Check each binary: architecture, static or dynamic, highest GLIBC version, stripped."""
    from tooling.steps import (  # startup time: each task loads only its own stage
        pipeline,
        verifying,
    )

    if glibc is None:
        _steps(c, target, ("verify",))
        return
    targets.glibc_version(glibc)
    project, chosen = _selected(c, target)
    pipeline.run_matrix(project, chosen,
                        [lambda build: verifying.verify_target(build, glibc_floor=glibc)])


@task(name="run", iterable=["target"], help=TARGET_HELP)
@boundary
def run_(c: Context, target: list[str]) -> None:
    """Smoke-test each binary (qemu, wine or natively): it must exit 0.

    With smoke-expect-triple = true it must also print its own target triple."""
    _steps(c, target, ("run",))


@task(iterable=["target"], help=TARGET_HELP)
@boundary
def package(c: Context, target: list[str]) -> None:
    """Write dist/<name>/: a deterministic .tar.gz, SHA256SUMS and build_info.json."""
    _steps(c, target, ("package",))


@task(iterable=["target"], help={
    **TARGET_HELP, "jobs": "targets at once (default: the project's jobs, else one per core); "
                           "cargo runs for one target at a time, the other steps beside it"})
@boundary
def release(c: Context, target: list[str], jobs: str = "") -> None:
    """compile, strip, verify, run and package each target (std is provided on the way)."""
    from tooling.steps import pipeline  # startup time: each task loads only its own stage

    at_once = jobs_value(jobs, "--jobs", "the command line") if jobs else None
    project, chosen = _selected(c, target)
    pipeline.run_matrix(project, chosen, pipeline.RELEASE, jobs=at_once)


@task(name="test", iterable=["target"], help={
    **TARGET_HELP, "no_run": "only build the test binaries (cargo test --no-run)",
    "args": "passed to the test binaries, e.g. --args '--nocapture' (or give them after --)"})
@boundary
def test_(c: Context, target: list[str], no_run: bool = False, args: str = "") -> None:
    """Run the workspace's cargo test on each target: under qemu, wine, or natively."""
    from tooling.steps import cargo_test  # startup time: each task loads only its own stage

    project, chosen = _selected(c, target)
    extra = [*cargo_test.split_args(args, "--args"),
             *cargo_test.split_args(c.remainder, "after --")]
    cargo_test.run_matrix(project, chosen, no_run=no_run, args=extra)


@task(iterable=["target", "tag"], help={
    **TARGET_HELP, "name": "keep targets whose name matches this glob",
    "tag": "keep targets with this tag (repeatable: all must match)"})
@boundary
def ci_matrix(c: Context, target: list[str], name: str | None = None,
              tag: list[str] | None = None) -> None:
    """Print the build matrix as JSON: one entry per build session (name, triple, tags, runner)."""
    from tooling.release import ci  # startup time: each task loads only its own stage

    project = _project(c)
    rows = ci.matrix(project, target or None, name, tag or [])
    console.out().print(_json.dumps(rows, indent=2), markup=False, soft_wrap=True)


@task(iterable=["target"], help={
    **TARGET_HELP, "provider": "github or gitlab",
    "out": "where to write (default: the usual path)",
    "force": "replace the file there even if crossmatrix did not write it"})
@boundary
def ci_generate(c: Context, target: list[str], provider: str = "github",
                out: str | None = None, force: bool = False) -> None:
    """Write the CI pipeline: one job per target, then a merge job (another project's jobs
    install crossmatrix from its ci-install setting)."""
    from pathlib import Path

    from tooling.release import ci  # startup time: each task loads only its own stage

    project = _project(c)
    if provider not in ci.PROVIDERS:
        raise UsageError(f"unknown CI provider {provider!r}",
                         f"use --provider {' or --provider '.join(ci.PROVIDERS)}")
    path = ci.generate(project, provider, ci.matrix(project, target or None),
                       Path(out) if out else None, force=force)
    console.info(f"ci-generate: wrote {path}")


@task(iterable=["dir"], help={
    "dir": "a dist folder to merge (repeatable; or list them after --)",
    "out": "the merged release folder (default: release)",
    "partial": "merge what is there without expecting the project's whole matrix"})
@boundary
def merge(c: Context, dir: list[str], out: str = "release", partial: bool = False) -> None:
    """Merge per-target dist folders into one release: `inv merge --out release -- DIR...`."""
    import shlex
    from pathlib import Path

    # startup time: each task loads only its own stage
    from tooling.release import merge as merge_mod

    folders = [Path(arg) for arg in [*dir, *shlex.split(c.remainder)]]
    if not folders:
        raise UsageError("inv merge needs the dist folders to merge",
                         "inv merge --out release -- a/dist b/dist c/dist")
    expected = [] if partial else [t.name for t in _project(c).select(None)]
    merge_mod.merge(folders, Path(out), expected)


@task(help={"folder": "a merged release or a dist folder"})
@boundary
def ci_summary(c: Context, folder: str = "release") -> None:
    """Print a markdown table of a release (target, size, linkage, highest glibc, sha256)."""
    from pathlib import Path

    # startup time: each task loads only its own stage
    from tooling.release import merge as merge_mod

    print(merge_mod.summary(Path(folder)), end="")


@task(help={
    "list": "show every artifact: target, size, sha256, build date, whether it fits here",
    "dest": "install into this folder (current/, previous/, releases/)",
    "from": "a dist/ or release folder (default: the project's dist)",
    "force_arch": "install this artifact (name, triple or linux-x64 style) even if it won't run",
    "test_only": "only run the smoke test of what is installed at --dest",
    "rollback": "switch --dest back to the previous version",
    "keep": "then remove all but the N newest releases (never current or previous; "
            "default: keep all)"})
@boundary
def deploy(c: Context, list: bool = False, dest: str | None = None, from_: str | None = None,
           force_arch: str | None = None, test_only: bool = False,
           rollback: bool = False, keep: str | None = None) -> None:
    """Install the artifact that fits this machine, checked, atomically, with rollback."""
    from pathlib import Path

    # startup time: each task loads only its own stage
    from tooling.matrix.host import detect
    from tooling.release import deploy as deploy_mod

    if keep is not None and not (keep.isdigit() and int(keep) >= 1):
        raise UsageError(f"--keep {keep!r} is not a number of releases",
                         "give a whole number, 1 or more (without --keep, all are kept)")
    if test_only or rollback:
        if dest is None:
            raise UsageError("--test-only and --rollback need --dest DIR")
        if rollback:
            deploy_mod.rollback(Path(dest))
        for line in deploy_mod.smoke(Path(dest)):
            console.info(f"deploy: smoke test: {line}")
        return
    source = Path(from_) if from_ else _project(c).dist
    artifacts = deploy_mod.find(source)
    host = detect()
    if list:
        deploy_mod.print_list(deploy_mod.list_rows(artifacts, host), host)
        return
    if dest is None:
        raise UsageError("inv deploy needs --dest DIR (or --list)",
                         "inv deploy --dest /opt/edge-tools")
    if force_arch:
        chosen = deploy_mod.by_name(artifacts, force_arch)
        ok, why = deploy_mod.fits(chosen, host)
        if not ok:
            console.warn(f"--force-arch {force_arch}: {chosen.name} will not run here ({why})")
    else:
        chosen = deploy_mod.choose(artifacts, host)
        console.info(f"deploy: {chosen.name} fits {host.describe()}")
    deploy_mod.install(chosen, Path(dest), can_run=deploy_mod.fits(chosen, host)[0],
                       keep=int(keep or 0))


@task(help={"dry_run": "only list what would be removed, with sizes",
            "release": "the merged release folder of `inv merge --out` (default: release)"})
@boundary
def clean(c: Context, dry_run: bool = False, release: str = "release") -> None:
    """Remove what killed crossmatrix processes left: temporary std builds, half-made dists.

    Only the temporary folders and files crossmatrix names with its pid, when that process
    is gone (or the folder is older than a day); never a live process's."""
    from pathlib import Path

    from tooling.steps import leftovers  # startup time: each task loads only its own stage

    project = _project(c)
    report = leftovers.clean(project.cache_dir, project.dist,
                             target_dir=leftovers.target_dir(project),
                             merged=[Path(release)], dry_run=dry_run)
    if report.failed:
        raise StepFailed(f"{len(report.failed)} leftovers could not be removed "
                         f"(first: {report.failed[0].path})",
                         "see the warnings above; check their owner and permissions")
    if not report.removed:
        console.info("clean: nothing left behind by dead crossmatrix processes")
    else:
        verb = "would free" if dry_run else "freed"
        console.info(f"clean: {len(report.removed)} leftovers, {verb} {report.size:,} bytes")


@task(iterable=["target"], help=TARGET_HELP)
@boundary
def docker_context(c: Context, target: list[str]) -> None:
    """Collect the static binaries (from the checked releases) and a FROM scratch Dockerfile
    per target into docker/."""
    from tooling.release import containers  # startup time: each task loads only its own stage

    project, chosen = _selected(c, target)
    containers.collect(project, chosen)


@task(iterable=["target"], help=TARGET_HELP)
@boundary
def docker_build(c: Context, target: list[str]) -> None:
    """Build the images with the local engine and run those this host can run."""
    from tooling.release import containers  # startup time: each task loads only its own stage

    project, chosen = _selected(c, target)
    covered = containers.collect(project, chosen)
    containers.build_and_run(project, covered)


ns = Collection(setup, install_targets, configure, compile, strip, verify, run_, package, release,
                ci_matrix, ci_generate, merge, ci_summary, deploy, docker_context,
                docker_build, clean)
ns.add_task(targets_, name="targets")
ns.add_task(plan)
ns.add_task(doctor)
ns.add_task(test_)
ns.add_task(init)
ns.configure({"crossmatrix": {"project": None}})
