"""What the nox sessions call: the release pipeline for one target, errors as session errors."""

from __future__ import annotations

from typing import Any

from tooling.cli.boundary import reported
from tooling.matrix.config import Project, load
from tooling.steps import pipeline
from tooling.util import timeouts


def _load(path: str | None) -> Project:
    """The project, its timeouts put in force for every child from here on."""
    project = load(path)
    timeouts.use(project.timeouts)
    return project


def release(session: Any, name: str) -> None:
    with reported(lambda text, code: session.error(text)):
        project = _load(session.posargs[0] if session.posargs else None)
        pipeline.run_matrix(project, project.select([name]), pipeline.RELEASE)


def test(session: Any, name: str) -> None:
    """``cargo test`` for one target. Positional arguments: the project folder (if the first
    does not start with "-"), then what the test binaries get (``-- PATH --nocapture``)."""
    from tooling.steps import cargo_test  # startup time: each task loads only its own stage

    posargs = list(session.posargs)
    path = posargs.pop(0) if posargs and not posargs[0].startswith("-") else None
    with reported(lambda text, code: session.error(text)):
        project = _load(path)
        cargo_test.run_matrix(project, project.select([name]), args=posargs)
