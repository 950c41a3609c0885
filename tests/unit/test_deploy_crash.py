"""`deploy` killed outright, with a real SIGKILL of a real process, at every step that
touches the file system or starts a program: each time, `current` names a whole release,
the old one or the new one, that passes its smoke test; and the next deploy finishes the
job and leaves no leftovers.

The deploy runs in a child Python whose profiler counts the calls into ``posix`` (open,
mkdir, fsync, fchmod, rename, symlink, unlink, rmdir, …) and ``_posixsubprocess``
(starting the smoke test) and sends itself SIGKILL just before the N-th one; a first run
to the end counts them, then N takes every value from 1 to that count."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_deploy import MUSL, _ok, _release
from tooling.matrix import host
from tooling.release import deploy

ROOT = Path(__file__).resolve().parents[2]
HOST = host.detect()
pytestmark = pytest.mark.skipif(HOST.arch is None or HOST.arch.rust != "x86_64",
                                reason="these fixtures are x86_64 programs")

DRIVER = """
import os, signal, sys
from pathlib import Path
from tooling.release import deploy

STEPS = {"open", "mkdir", "rmdir", "fsync", "fchmod", "chmod", "utime", "replace", "rename",
         "symlink", "link", "unlink", "truncate", "ftruncate", "fork_exec"}
kill_at, count = int(sys.argv[3]), 0

def profile(frame, event, arg):
    global count
    if (event == "c_call" and getattr(arg, "__name__", "") in STEPS
            and getattr(arg, "__module__", "") in ("posix", "_posixsubprocess")):
        count += 1
        if count == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

artifact = deploy.find(Path(sys.argv[1]))[0]
sys.setprofile(profile)
deploy.install(artifact, Path(sys.argv[2]), can_run=True, keep=1)
sys.setprofile(None)
print(count)
"""


def _run(source: Path, dest: Path, kill_at: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", DRIVER, str(source), str(dest), str(kill_at)],
                          capture_output=True, text=True, env=env, check=False, timeout=300)


Setup = tuple[Path, Path, dict[str, str]]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    """A --dest where Z then A were installed (current A, previous Z), the dist of B, and
    the release folders' names: {"z": …, "a": …, "b": …}."""
    root = tmp_path_factory.mktemp("crash")
    template = root / "template"
    names = {}
    for tag in ("z", "a", "b"):
        dist = root / f"dist-{tag}"
        _release(dist, "linux-x86_64", MUSL, _ok(MUSL, f"+{tag}"))
        artifact = deploy.find(dist)[0]
        names[tag] = f"{artifact.name}-{artifact.sha256[:12]}"
        if tag != "b":
            deploy.install(artifact, template, can_run=True)
    return template, root / "dist-b", names


def _line(names: dict[str, str], name: str | None) -> str:
    tag = next(t for t, n in names.items() if n == name)
    return f"demo 0.1.0+{tag} ({MUSL})"


def test_sigkill_at_every_step_leaves_a_whole_current(setup: Setup, tmp_path: Path) -> None:
    template, dist_b, names = setup
    full = tmp_path / "full"
    shutil.copytree(template, full, symlinks=True)
    done = _run(dist_b, full, 0)
    assert done.returncode == 0, done.stderr
    steps = int(done.stdout.split()[-1])
    assert steps >= 10  # lock, unpack, marker, fsyncs, smoke test, two links, prune
    # the run to the end: B current, A previous, Z removed by --keep 1
    assert (deploy._linked(full, "current"), deploy._linked(full, "previous")) == (
        names["b"], names["a"])
    assert sorted(p.name for p in (full / "releases").iterdir()) == sorted(
        [names["a"], names["b"]])
    left: dict[str, int] = {}
    for kill_at in range(1, steps + 1):
        point = f"killed before step {kill_at} of {steps}"
        dest = tmp_path / f"killed-{kill_at}"
        shutil.copytree(template, dest, symlinks=True)
        killed = _run(dist_b, dest, kill_at)
        assert killed.returncode == -signal.SIGKILL, (point, killed.stderr)
        current = deploy._linked(dest, "current")
        previous = deploy._linked(dest, "previous")
        assert current in (names["a"], names["b"]), f"{point}: current is {current}"
        assert deploy._intact(dest / "releases" / str(current), None), f"{point}: not whole"
        assert deploy.smoke(dest) == [_line(names, current)], point
        assert previous in (names["z"], names["a"]) and previous != current, point
        assert deploy._intact(dest / "releases" / str(previous), None), point
        left[current or ""] = left.get(current or "", 0) + 1
        # the next deploy finishes the job and removes what the killed one left
        deploy.install(deploy.find(dist_b)[0], dest, can_run=True, keep=1)
        assert deploy._linked(dest, "current") == names["b"], point
        assert deploy.smoke(dest) == [_line(names, names["b"])], point
        assert not [p for p in (dest / "releases").iterdir() if p.name.startswith(".")], point
        assert sorted(p.name for p in dest.iterdir()) == [
            ".deploy.lock", "current", "previous", "releases"], point
        shutil.rmtree(dest)
    assert sorted(left) == sorted([names["a"], names["b"]]), left  # both outcomes were seen
