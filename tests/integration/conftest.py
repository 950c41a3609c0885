"""Fixtures shared by the integration tests (see helpers.py for what they build)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.integration.helpers import (
    FORCED_PROVIDERS,
    RELEASE_LOGS,
    Run,
    crossmatrix,
    write_project,
)


@pytest.fixture(scope="session")
def matrix_release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    """`crossmatrix release` of the whole default matrix, once for the session."""
    project = write_project(tmp_path_factory.mktemp("matrix"), FORCED_PROVIDERS)
    result = crossmatrix(project, "release")
    # each run makes its targets' logs anew (later tests run single steps on this project):
    # the release's own logs, kept for the tests that read them
    if (project / "dist" / "logs").is_dir():
        shutil.copytree(project / "dist" / "logs", project / RELEASE_LOGS)
    return project, result
