"""Running the steps of the pipeline over the targets of a matrix.

One target's failure does not stop the others; at the end the failed ones are
named with their errors and the exit code says "some targets failed".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tooling import checking, compiling, console, packaging
from tooling.config import Project
from tooling.errors import CrossmatrixError, SomeTargetsFailed
from tooling.state import STEPS, Build
from tooling.targets import Target

StepFn = Callable[[Build], object]

STEP_FUNCTIONS: dict[str, StepFn] = {
    "install-targets": compiling.install_std,
    "compile": compiling.compile_target,
    "strip": checking.strip_target,
    "verify": checking.verify_target,
    "run": checking.run_target,
    "package": packaging.package_target,
}
RELEASE = STEPS  #: `inv release`: every step, in order


def run_matrix(project: Project, targets: Sequence[Target],
               steps: Sequence[str | StepFn]) -> None:
    """Run ``steps`` for each target; one target's failure does not stop the others."""
    failures: list[tuple[Target, CrossmatrixError]] = []
    for target in targets:
        build = Build(project, target)
        try:
            for step in steps:
                (STEP_FUNCTIONS[step] if isinstance(step, str) else step)(build)
        except CrossmatrixError as exc:
            if len(targets) == 1:
                raise
            console.error(f"{target.name}: {exc.message}")
            failures.append((target, exc))
    if failures:
        for failed, error in failures:
            console.error(error.render().replace("error:", f"error: {failed.name}:", 1))
        raise SomeTargetsFailed(
            f"{len(failures)} of {len(targets)} targets failed: "
            + ", ".join(t.name for t, _ in failures),
            "re-run only those with --target NAME; the others are done",
        )
