"""Two processes contend for one std cache entry for real: different projects and target
folders (so the per-target lock does not serialise them first), one empty cache. One
builds std, the other waits for it and then builds with it; the entry is built once and
passes its check."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.integration.helpers import BIN, hello_project
from tooling.matrix.targets import by_name
from tooling.std import sysroot

pytestmark = pytest.mark.integration

TARGET = by_name()["linux-x86_64"]  # a static musl binary this host runs without qemu


def test_two_processes_contending_for_one_std_entry_build_it_once(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    projects = [hello_project(tmp_path / name, TARGET.name, TARGET.triple)
                for name in ("one", "two")]
    logs = [tmp_path / "one.log", tmp_path / "two.log"]
    env = {**os.environ, "CROSSMATRIX_CACHE_DIR": str(cache)}
    procs = [subprocess.Popen([str(BIN / "crossmatrix"), "--project", str(project), "release"],
                              stdout=subprocess.DEVNULL, stderr=log.open("wb"), env=env)
             for project, log in zip(projects, logs, strict=True)]
    codes = [p.wait(timeout=1800) for p in procs]
    said = [log.read_text(errors="replace") for log in logs]
    assert codes == [0, 0], said[0][-3000:] + said[1][-3000:]
    building = f"  building std for {TARGET.triple} from "
    builders = [text for text in said if building in text]
    assert len(builders) == 1 and builders[0].count(building) == 1, "std built more than once"
    (waiter,) = [text for text in said if building not in text]
    assert f"another crossmatrix is building std for {TARGET.triple}" in waiter  # it contended
    assert f"std for {TARGET.triple} is already in the cache" in waiter  # and then used it
    (entry,) = (cache / "sysroots").iterdir()
    assert sysroot.problem(entry) is None
    assert list((cache / "tmp").iterdir()) == []  # no work or staging folder left
    for project in projects:
        info = json.loads((project / "dist" / TARGET.name / "build_info.json").read_text())
        assert info["std_provider"] == "build-std" and info["std_sysroot"] == entry.name
        (hello,) = [a for a in info["artifacts"] if a["name"] == "hello"]
        assert f"hello ({TARGET.triple})" in hello["run"]["output"]
