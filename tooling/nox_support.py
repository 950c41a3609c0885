"""What the nox sessions call: the release pipeline for one target, errors as session errors."""

from __future__ import annotations

from typing import Any

from tooling import pipeline
from tooling.config import load
from tooling.errors import CrossmatrixError


def release(session: Any, name: str) -> None:
    try:
        project = load(session.posargs[0] if session.posargs else None)
        pipeline.run_matrix(project, project.select([name]), pipeline.RELEASE)
    except CrossmatrixError as exc:
        session.error(exc.render())
