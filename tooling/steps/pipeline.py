"""Running the steps of the pipeline over the targets of a matrix.

One target's failure does not stop the others; at the end the failed ones are
named with their errors and the exit code says "some targets failed".
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence

from tooling import __version__
from tooling.compile import buildenv, hosttools, nostd
from tooling.errors import CrossmatrixError, UsageError
from tooling.matrix import workspace
from tooling.matrix.config import Project
from tooling.matrix.targets import Target
from tooling.platforms import platform_of
from tooling.steps import (
    compiling,
    each,
    leftovers,
    manifest,
    packaging,
    progress,
    running,
    stripping,
    summary,
    verifying,
)
from tooling.steps.each import each_target
from tooling.steps.state import STEPS, Build
from tooling.util import archives, console, memo

StepFn = Callable[[Build], object]

STEP_FUNCTIONS: dict[str, StepFn] = {
    "install-targets": compiling.install_std,
    "compile": compiling.compile_target,
    "strip": stripping.strip_target,
    "verify": verifying.verify_target,
    "run": running.run_target,
    "package": packaging.package_target,
}
RELEASE = STEPS  #: `inv release`: every step, in order
#: the steps that run cargo (std builds too): cargo uses every core and locks the target
#: folder, so targets built side by side (``jobs``) take turns for these, in the matrix's
#: order; strip, verify, run and package of one target go on beside the next one's cargo
CARGO_STEPS = frozenset({"install-targets", "compile"})


@contextlib.contextmanager
def _exclusive(build: Build) -> Iterator[None]:
    """One process at a time per target and target folder: cargo locks its own build,
    but the step records, the staged binaries and dist/<target> belong to this target's
    whole pipeline, so a second process waits for the first instead of interleaving."""
    from filelock import FileLock, Timeout

    build.out.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(build.out.parent / f"{build.out.name}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        console.progress(build.target.name, "another crossmatrix is building this target "
                                            "here; waiting for it")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def preflight(project: Project, targets: Sequence[Target],
              steps: Sequence[str | StepFn]) -> None:
    """Every setting a step would reject, checked before anything is built or written."""
    for target in targets:
        project.linker_for(target)  # a glibc floor with a gcc linker
        platform_of(target).build_settings(target)  # a bad MACOSX_DEPLOYMENT_TARGET
    if "package" in steps:
        archives.source_date_epoch(project.root)
    if "compile" in steps:
        for target in targets:  # a crate that needs std, for a target without one
            nostd.check(project, target)
        buildenv.protoc_env(project.workspace)  # no protoc: say so before building anything
        with memo.read_only():  # nor cmake, nasm, libclang …; writing nothing yet
            hosttools.check(project, targets)


def _write_manifest(project: Project, failed: dict[str, str]) -> tuple[str, ...]:
    """dist/release.json, said in one line; the targets it counts."""
    expected = [t.name for t in project.select(None)]
    version = workspace.metadata(project.workspace).version
    release = manifest.dist_manifest(project.dist, expected, version, failed)
    have = len(expected) - len(release.missing)
    if release.complete:
        console.info(f"release: complete, {have} of {len(expected)} targets "
                     f"({project.dist / 'release.json'})")
    else:
        console.info(f"release: NOT complete, {have} of {len(expected)} targets; missing "
                     f"{', '.join(release.missing)} ({project.dist / 'release.json'})")
    return release.targets


def _step_name(step: str | StepFn) -> str:
    return step if isinstance(step, str) else getattr(step, "__name__", "step")


def build_target(project: Project, target: Target, steps: Sequence[str | StepFn]) -> None:
    """``steps`` for one target, everything said and run also written to its log
    (dist/logs/<target>.log), whose path a failure names."""
    build = Build(project, target)
    header = (f"crossmatrix {__version__}: {', '.join(map(_step_name, steps))} of "
              f"{target.name} ({target.triple}), {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    with console.target_log(progress.log_file(project, target.name), header) as log:
        said = progress.Progress(build)
        try:
            with _exclusive(build):
                for step in steps:
                    function = STEP_FUNCTIONS[step] if isinstance(step, str) else step
                    # a target waiting for its turn at cargo stays "waiting" on the screen
                    if step not in CARGO_STEPS:
                        each.done_exclusive(target.name)
                    with (each.exclusive(target.name) if step in CARGO_STEPS
                          else contextlib.nullcontext()):
                        console.started(target.name, _step_name(step))
                        started = time.monotonic()
                        result = function(build)
                    said.done(step if isinstance(step, str) else None,
                              time.monotonic() - started, result)
            said.flush()
            console.finished(target.name, ok=True)
        except CrossmatrixError as exc:
            said.flush()  # what did finish
            console.finished(target.name, ok=False)
            if not isinstance(exc, UsageError):
                console.info(f"{target.name}: the whole log: {progress.shown_path(log)}")
            console.output(exc.render())
            raise


def run_matrix(project: Project, targets: Sequence[Target],
               steps: Sequence[str | StepFn], jobs: int | None = None) -> None:
    """Run ``steps`` for each target; one target's failure does not stop the others.
    ``jobs``: targets at once (default: the project's ``jobs``, else one per core)."""
    preflight(project, targets, steps)
    leftovers.at_start(project)  # of processes killed before: a few folders to look into

    with console.live([t.name for t in targets]):  # a terminal: a row per target
        outcomes = each_target(targets, lambda target: build_target(project, target, steps),
                               jobs=jobs or project.jobs or each.default_jobs())
    if "package" in steps:
        failed = {t.name: e.message for t, e in outcomes.failed}
        held = _write_manifest(project, failed)
        summary.report(project, [t.name for t in targets], held, failed)
    for failed_target, error in outcomes.failed:  # again at the end, each with its fix
        named = error.message.startswith(f"{failed_target.name}: ")
        console.error(error.render() if named else
                      error.render().replace("error:", f"error: {failed_target.name}:", 1))
    outcomes.raise_if_failed(len(targets), "{failed} of {total} targets failed",
                             "re-run only those with --target NAME; the others are done")
