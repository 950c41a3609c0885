from __future__ import annotations

import os
from pathlib import Path

import pytest

from tooling.util import memo


@pytest.fixture(scope="session")
def _memo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("memo")


@pytest.fixture(autouse=True)
def _own_memo_store(_memo_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The remembered probes of the unit tests stay theirs: a test whose fake ``proc.run``
    answers a rustc probe with nothing would otherwise leave that answer in this machine's
    cache for every real run (it did: no rustc knew any triple after one). A test that
    names a cache folder of its own (CROSSMATRIX_CACHE_DIR) gets its memo there."""
    outside = os.environ.get("CROSSMATRIX_CACHE_DIR")
    real = memo._store

    def store() -> Path:
        named = os.environ.get("CROSSMATRIX_CACHE_DIR")
        return real() if named and named != outside else _memo_store

    monkeypatch.setattr(memo, "_store", store)
