"""Fixtures shared by the integration tests (see helpers.py for what they build)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.helpers import FORCED_PROVIDERS, Run, crossmatrix, write_project


@pytest.fixture(scope="session")
def matrix_release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    """`crossmatrix release` of the whole default matrix, once for the session."""
    project = write_project(tmp_path_factory.mktemp("matrix"), FORCED_PROVIDERS)
    result = crossmatrix(project, "release")
    return project, result
