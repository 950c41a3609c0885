"""CI fan-out for real: three copies of the repository each build one target (as three
runners would), `merge` joins them; and sccache as the compiler wrapper, in local mode."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.helpers import REPO, crossmatrix

pytestmark = pytest.mark.integration

OFFLINE = {"CROSSMATRIX_OFFLINE": "1"}
IGNORE = shutil.ignore_patterns("target", "dist", ".venv", ".git", "*_cache", "__pycache__",
                                ".nox", "release")


def test_three_runners_then_merge(tmp_path: Path) -> None:
    builds = {"a": "linux-x86_64-gnu", "b": "linux-aarch64-gnu", "c": "linux-aarch64"}
    for copy, target in builds.items():
        shutil.copytree(REPO, tmp_path / copy, ignore=IGNORE)
        result = crossmatrix(tmp_path / copy, "release", "--target", target, env=OFFLINE)
        assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "release"
    # three of the project's ten targets: merged, but never called complete
    merged = crossmatrix(tmp_path / "a", "merge", "--out", str(out), "--",
                         *(str(tmp_path / c / "dist") for c in builds))
    assert merged.returncode == 4, merged.stderr
    assert "is not a complete release: missing linux-x86_64, linux-armv7" in merged.stderr
    incomplete = json.loads((out / "release.json").read_text())
    assert incomplete["complete"] is False and len(incomplete["missing"]) == 7
    # --partial: only what is there is expected
    merged = crossmatrix(tmp_path / "a", "merge", "--partial", "--out", str(out), "--",
                         *(str(tmp_path / c / "dist") for c in builds))
    assert merged.returncode == 0, merged.stderr
    check = subprocess.run(["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=out,
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    release = json.loads((out / "release.json").read_text())
    assert [t["name"] for t in release["targets"]] == sorted(builds.values())
    summary = crossmatrix(tmp_path / "a", "ci-summary", "--folder", str(out))
    assert summary.returncode == 0
    assert summary.stdout.count("| linux-aarch64 |") == 6  # six programs (musl: no cdylib)
    # merging the same parts again changes nothing
    before = (out / "SHA256SUMS").read_bytes()
    again = crossmatrix(tmp_path / "a", "merge", "--partial", "--out", str(out), "--",
                        *(str(tmp_path / c / "dist") for c in reversed(builds)))
    assert again.returncode == 0
    assert (out / "SHA256SUMS").read_bytes() == before


def test_sccache_local_mode_caches_compiles(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        f'[tool.crossmatrix]\nworkspace = "{REPO / "crates"}"\noffline = true\nsccache = true\n'
        'targets = ["linux-x86_64-gnu"]\npackages = ["fleet-report"]\n')
    setup = crossmatrix(project, "setup")
    assert setup.returncode == 0, setup.stderr
    sccache = shutil.which("sccache")
    assert sccache is not None
    env = {"SCCACHE_DIR": str(tmp_path / "sccache"), "CARGO_TARGET_DIR": str(tmp_path / "t"),
           **OFFLINE}
    try:
        built = crossmatrix(project, "compile", env=env)
        assert built.returncode == 0, built.stderr[-3000:]
        # the environment delta in the target's log shows it (and -v would show it)
        log = (project / "dist" / "logs" / "linux-x86_64-gnu.log").read_text()
        assert "RUSTC_WRAPPER=" in log
        stats = subprocess.run([sccache, "--show-stats"], capture_output=True, text=True,
                               env={**env, "PATH": "/usr/bin:/bin"}, check=True).stdout
        requests = re.search(r"Compile requests\s+(\d+)", stats)
        assert requests is not None and int(requests[1]) > 0, stats
    finally:
        subprocess.run([sccache, "--stop-server"], capture_output=True, check=False,
                       env={"SCCACHE_DIR": str(tmp_path / "sccache"), "PATH": "/usr/bin:/bin"})
