"""setup for any selection: Debian's std of a target is one provider of several (rustup's std,
build-std from rust-web-src), so one the archive cannot serve (seen: ``libstd-rust-web-dev:i386``
and ``:armhf`` "held broken packages") is skipped with a line saying so, and setup installs the
rest; a project that forces ``std-provider = "debian"`` still fails without it."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.fake_rustc import FakeRustc, cfg, install
from tooling.errors import StepFailed
from tooling.matrix import config, rustc_data
from tooling.matrix.targets import resolve
from tooling.setup import install as setup

I686 = "i686-unknown-linux-gnu"
BROKEN = "libstd-rust-web-dev:i386"

#: apt-get, dpkg-query and dpkg as a Debian host's: nothing installed yet, every call logged,
#: and the packages of BROKEN.json refused the way apt refuses them
APT = """#!{python}
import json, sys
from pathlib import Path
here = Path(__file__).parent
with open(here / "calls.log", "a") as log:
    log.write(json.dumps([Path(sys.argv[0]).name, *sys.argv[1:]]) + "\\n")
name, args = Path(sys.argv[0]).name, sys.argv[1:]
broken = json.loads((here / "BROKEN.json").read_text())
if name == "dpkg-query":
    sys.exit(1)  # no package is installed
if name == "apt-get" and "install" in args and any(a in broken for a in args):
    print("Reading package lists...")
    print("E: Unable to correct problems, you have held broken packages.", file=sys.stderr)
    sys.exit(100)
"""


@pytest.fixture
def apt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A fake apt on PATH (run as root: no sudo), and a rustc that knows i686's facts."""
    bin_dir = tmp_path / "apt-bin"
    bin_dir.mkdir()
    for name in ("apt-get", "dpkg-query", "dpkg"):
        (bin_dir / name).write_text(APT.format(python=sys.executable))
        (bin_dir / name).chmod(0o755)
    (bin_dir / "BROKEN.json").write_text(json.dumps([BROKEN]))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    rustc = FakeRustc(tmp_path / "rustup", "rustup", "rustc 1.95.0 (59807616e 2026-04-14)",
                      {I686: cfg("x86", width=32)})
    install(monkeypatch, tmp_path, rustc)
    yield bin_dir
    rustc_data.forget()


def _calls(bin_dir: Path) -> list[list[str]]:
    log = bin_dir / "calls.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _project(tmp_path: Path, settings: str = "") -> config.Project:
    root = tmp_path / "p"
    root.mkdir()
    (root / "Cargo.toml").write_text('[package]\nname = "p"\nversion = "0.1.0"\n\n' + settings)
    return config.load(root)


def test_a_std_the_archive_cannot_serve_is_skipped_and_said(
        apt: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _project(tmp_path)
    [target] = resolve(I686)
    wanted = setup.needs([target], project)
    assert BROKEN not in wanted.packages and wanted.std == {BROKEN: (I686,)}
    assert {"gcc-i686-linux-gnu", "libc6-dev-i386-cross"} <= set(wanted.packages)
    done = setup.setup([target], project)  # does not raise
    installs = [c for c in _calls(apt) if c[0] == "apt-get" and "install" in c]
    # the packages the build needs in one call, without the std; the std on its own after
    [required, std] = installs
    assert "gcc-i686-linux-gnu" in required and BROKEN not in required
    assert std[-1] == BROKEN
    assert any(line.startswith(f"apt-get install {BROKEN} (Debian's std") for line in done)
    said = capsys.readouterr()
    [line] = [x for x in (said.out + said.err).splitlines() if f"skipped {BROKEN}" in x]
    assert "held broken packages" in line
    assert f"{I686} takes rustup's std or build-std instead" in line


def test_a_std_the_archive_serves_is_installed(apt: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    (apt / "BROKEN.json").write_text("[]")
    [target] = resolve(I686)
    setup.setup([target], _project(tmp_path))
    assert [c[-1] for c in _calls(apt) if c[0] == "apt-get" and "install" in c][-1] == BROKEN
    said = capsys.readouterr()
    assert "skipped" not in said.out + said.err


def test_a_project_that_forces_debians_std_needs_it(apt: Path, tmp_path: Path) -> None:
    project = _project(tmp_path, f'[package.metadata.crossmatrix.target."{I686}"]\n'
                                 'std-provider = "debian"\n')
    [target] = resolve(I686)
    wanted = setup.needs([target], project)
    assert BROKEN in wanted.packages and wanted.std == {}
    with pytest.raises(StepFailed):  # apt's refusal is setup's failure: no other std allowed
        setup.setup([target], project)
