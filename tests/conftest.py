from __future__ import annotations

import pytest

from tooling.util import proc


@pytest.fixture(autouse=True)
def _quiet_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proc, "ECHO", False)
