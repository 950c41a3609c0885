"""The corpus's quick member, end to end: a published crate fetched from crates.io at its
pinned version with its own Cargo.lock, released by crossmatrix with no settings, and the
result read back from the release's records into CORPUS.md."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.integration.helpers import REPO, command

pytestmark = pytest.mark.integration


def test_a_published_crate_is_released_with_no_settings_and_reported(tmp_path: Path) -> None:
    out = tmp_path / "docs" / "CORPUS.md"
    done = command([sys.executable, str(REPO / "bench" / "corpus.py"), "--only", "sd",
                    "--target", "linux-aarch64", "--work", str(tmp_path / "work"),
                    "--out", str(out)], timeout=2400)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    source = tmp_path / "work" / "src" / "sd@1.0.0"
    assert (source / "Cargo.lock").is_file()  # the lock file it was published with
    assert not (source / "pyproject.toml").exists()  # and no settings of ours
    store = json.loads(out.with_name("corpus.json").read_text())
    cell = store["crates"]["sd@1.0.0"]["cells"]["linux-aarch64"]
    assert cell == {"status": "ran", "detail": "1 program(s): qemu-aarch64"}, cell
    info = json.loads((source / "dist" / "linux-aarch64" / "build_info.json").read_text())
    assert [a["run"]["ran"] for a in info["artifacts"]] == [True]
    report = out.read_text()
    row = next(line for line in report.splitlines() if line.startswith("| `sd@1.0.0`"))
    assert "✔ ran" in row and row.count("·") == 9  # the other nine targets: not tried here
