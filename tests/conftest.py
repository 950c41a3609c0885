from __future__ import annotations

import pytest

from tooling.util import proc, timeouts


@pytest.fixture(autouse=True)
def _quiet_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proc, "ECHO", False)


@pytest.fixture(autouse=True)
def _default_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bounds a test puts in force (loading a project through the CLI does) end with it."""
    monkeypatch.setattr(timeouts, "_current", timeouts.Timeouts())
    for kind in timeouts.KINDS:
        monkeypatch.delenv(timeouts.env_name(kind), raising=False)
