"""inv deploy against release folders made here: selection, checksums, hostile archives,
atomic install, smoke test and rollback. The "binaries" are small executables that print
a triple, so these run fast; tests/integration/test_deploy.py uses real cross builds."""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
import tarfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from tests.unit import fake_records
from tooling.errors import BadRecord, StepFailed, UsageError
from tooling.matrix import host
from tooling.platforms import runner
from tooling.records.build_info import BuildInfo, RunInfo
from tooling.records.codec import ABSENT, Absent
from tooling.release import deploy
from tooling.release.deploy import Artifact
from tooling.util import archives, atomic, unpack

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TOP = "demo-0.1.0-linux-x86_64"

HOST = host.detect()
pytestmark = pytest.mark.skipif(HOST.arch is None or HOST.arch.rust != "x86_64",
                                reason="these fixtures are x86_64 programs")


def _release(dist: Path, name: str, triple: str, script: str | bytes, *,
             glibc: str | None = None, version: str = "0.1.0", mode: int = 0o755,
             also_listed: tuple[str, ...] = (),
             names_triple: bool | Absent | None = True) -> Path:
    """dist/<name>/ as `inv release` makes it, its one program ``demo`` being ``script``;
    ``also_listed``: programs build_info.json lists that the archive does not hold;
    ``names_triple``: what build_info.json says of the release's smoke test."""
    folder = dist / name
    folder.mkdir(parents=True)
    program = dist / f".{name}-prog"
    program.write_bytes(script.encode() if isinstance(script, str) else script)
    program.chmod(0o755)
    top = f"demo-{version}-{name}"
    archive = folder / f"{top}.tar.gz"
    sha = archives.write_tar_gz(archive, [("demo", program, mode)], top_dir=top, mtime=86400)
    listed = [fake_records.artifact(other, sha256="0" * 64) for other in also_listed]
    fake_records.build_info(
        name, triple=triple, version=version, source_date_epoch=86400, highest_glibc=glibc,
        archive=archive.name, archive_sha=sha,
        artifacts=(fake_records.artifact("demo", size=program.stat().st_size,
                                         sha256=atomic.sha256_file(program),
                                         highest_glibc=glibc,
                                         run=RunInfo(ran=True, runner="native", output="demo",
                                                     names_triple=names_triple)), *listed),
    ).write(folder / "build_info.json")
    archives.write_sha256sums(folder, [archive, folder / "build_info.json"])
    return folder


def _ok(triple: str, tag: str = "") -> str:
    return f"#!/bin/sh\necho 'demo 0.1.0{tag} ({triple})'\n"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    d = tmp_path / "dist"
    _release(d, "linux-x86_64", "x86_64-unknown-linux-musl", _ok("x86_64-unknown-linux-musl"))
    _release(d, "linux-x86_64-gnu", "x86_64-unknown-linux-gnu",
             _ok("x86_64-unknown-linux-gnu"), glibc="2.17")
    _release(d, "linux-aarch64", "aarch64-unknown-linux-musl", _ok("aarch64-unknown-linux-musl"))
    return d


def test_list_says_what_fits_and_why(dist: Path) -> None:
    rows = {r["name"]: r for r in deploy.list_rows(deploy.find(dist), HOST)}
    assert rows["linux-x86_64"]["fits"] and rows["linux-x86_64-gnu"]["fits"]
    assert not rows["linux-aarch64"]["fits"]
    assert "needs aarch64" in rows["linux-aarch64"]["why"]
    assert rows["linux-x86_64"]["built"] == "1970-01-02 00:00"
    assert len(rows["linux-x86_64"]["sha256"]) == 64


def test_a_windows_or_macos_build_of_this_cpu_never_fits_linux(dist: Path) -> None:
    _release(dist, "windows-x86_64", "x86_64-pc-windows-gnu", _ok("x86_64-pc-windows-gnu"))
    _release(dist, "macos-x86_64", "x86_64-apple-darwin", _ok("x86_64-apple-darwin"))
    rows = {r["name"]: r for r in deploy.list_rows(deploy.find(dist), HOST)}
    assert not rows["windows-x86_64"]["fits"] and not rows["macos-x86_64"]["fits"]
    assert rows["windows-x86_64"]["why"] == "a windows build; deploy installs on Linux"
    assert deploy.choose(deploy.find(dist), HOST).name == "linux-x86_64-gnu"
    assert deploy.by_name(deploy.find(dist), "linux-x64").name == "linux-x86_64"


def test_glibc_userland_prefers_the_gnu_build_and_checks_its_glibc(dist: Path) -> None:
    assert deploy.choose(deploy.find(dist), HOST).name == "linux-x86_64-gnu"
    old = host.Host(arch=HOST.arch, machine=HOST.machine, elf_class=64, libc="gnu",
                        glibc="2.12")
    assert deploy.choose(deploy.find(dist), old).name == "linux-x86_64"  # glibc too old
    musl = host.Host(arch=HOST.arch, machine=HOST.machine, elf_class=64, libc="musl",
                         glibc=None)
    assert deploy.choose(deploy.find(dist), musl).name == "linux-x86_64"


def test_install_is_atomic_keeps_previous_and_rolls_back_by_hand(dist: Path,
                                                                 tmp_path: Path) -> None:
    dest = tmp_path / "opt"
    artifacts = deploy.find(dist)
    first = deploy.install(deploy.by_name(artifacts, "linux-x86_64-gnu"), dest, can_run=True)
    second = deploy.install(deploy.by_name(artifacts, "linux-x64"), dest, can_run=True)
    assert (dest / "current").resolve() == second.resolve()
    assert (dest / "previous").resolve() == first.resolve()
    assert deploy.smoke(dest) == ["demo 0.1.0 (x86_64-unknown-linux-musl)"]
    deploy.rollback(dest)
    assert (dest / "current").resolve() == first.resolve()
    assert deploy.smoke(dest) == ["demo 0.1.0 (x86_64-unknown-linux-gnu)"]
    assert os.readlink(dest / "current") == f"releases/{first.name}"  # relative to --dest
    assert os.readlink(dest / "previous") == f"releases/{second.name}"
    # no temporary leftovers: only the lock file
    assert [p.name for p in dest.glob(".*")] == [".deploy.lock"]
    assert not list((dest / "releases").glob(".*"))


def test_failing_smoke_test_rolls_back(dist: Path, tmp_path: Path) -> None:
    dest = tmp_path / "opt"
    good = deploy.install(deploy.by_name(deploy.find(dist), "linux-x86_64-gnu"), dest,
                          can_run=True)
    broken = tmp_path / "broken"
    _release(broken, "linux-x86_64", "x86_64-unknown-linux-musl", "#!/bin/sh\nexit 3\n")
    with pytest.raises(StepFailed,
                       match=r"smoke test of linux-x86_64 failed.*linux-x86_64-gnu-.* is still"):
        deploy.install(deploy.find(broken)[0], dest, can_run=True)
    assert (dest / "current").resolve() == good.resolve()
    assert deploy.smoke(dest) == ["demo 0.1.0 (x86_64-unknown-linux-gnu)"]


def test_tampered_archive_is_refused_and_nothing_changes(dist: Path, tmp_path: Path) -> None:
    dest = tmp_path / "opt"
    good = deploy.install(deploy.by_name(deploy.find(dist), "linux-x86_64-gnu"), dest,
                          can_run=True)
    archive = next((dist / "linux-x86_64").glob("*.tar.gz"))
    data = bytearray(archive.read_bytes())
    data[-20] ^= 0xFF
    archive.write_bytes(bytes(data))
    before = sorted(p.name for p in (dest / "releases").iterdir())
    with pytest.raises(StepFailed, match=r"does not match SHA256SUMS \(.*\); refusing"):
        deploy.install(deploy.by_name(deploy.find(dist), "linux-x86_64"), dest, can_run=True)
    assert (dest / "current").resolve() == good.resolve()
    assert sorted(p.name for p in (dest / "releases").iterdir()) == before


def _hostile(dist: Path, members: list[tarfile.TarInfo]) -> None:
    folder = dist / "linux-x86_64"
    folder.mkdir(parents=True)
    archive = folder / "demo.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for info in members:
            tar.addfile(info, io.BytesIO(b"x" * info.size) if info.isfile() else None)
    fake_records.build_info("linux-x86_64", version="0", archive=archive.name,
                            archive_sha=atomic.sha256_file(archive)
                            ).write(folder / "build_info.json")
    archives.write_sha256sums(folder, [archive, folder / "build_info.json"])


def _file(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = 1
    return info


def _link(name: str, to: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = to
    return info


@pytest.mark.parametrize("member", [
    _file("../escaped"), _file("/tmp/absolute-crossmatrix-test"),
    _file("demo/../../escaped"), _link("demo/evil", "/etc/passwd"),
    _link("demo/up", "../../outside"),
], ids=["dotdot", "absolute", "nested-dotdot", "abs-link", "rel-link"])
def test_hostile_archive_is_refused(tmp_path: Path, member: tarfile.TarInfo) -> None:
    dist = tmp_path / "dist"
    _hostile(dist, [_file("demo/ok"), member])
    dest = tmp_path / "deep" / "opt"
    with pytest.raises(StepFailed, match="refusing to extract"):
        deploy.install(deploy.find(dist)[0], dest, can_run=True)
    assert not (tmp_path / "deep" / "escaped").exists()
    assert not (tmp_path / "escaped").exists()
    assert not Path("/tmp/absolute-crossmatrix-test").exists()
    assert not (dest / "current").exists()


def test_bad_sources_and_names(tmp_path: Path, dist: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        deploy.find(tmp_path / "nowhere")
    with pytest.raises(UsageError, match="no artifact named 'linux-sparc'"):
        deploy.by_name(deploy.find(dist), "linux-sparc")
    (dist / "linux-aarch64" / "SHA256SUMS").write_text("")
    with pytest.raises(StepFailed, match="not listed in SHA256SUMS"):
        deploy.find(dist)


def test_nothing_fits(tmp_path: Path) -> None:
    d = tmp_path / "dist"
    _release(d, "linux-aarch64", "aarch64-unknown-linux-musl", _ok("aarch64-unknown-linux-musl"))
    with pytest.raises(StepFailed, match="no artifact fits this machine"):
        deploy.choose(deploy.find(d), HOST)
    dest = tmp_path / "opt"
    forced = deploy.install(deploy.by_name(deploy.find(d), "linux-aarch64"), dest, can_run=False)
    assert (dest / "current").resolve() == forced.resolve()
    assert json.loads((forced / ".crossmatrix.json").read_text())["name"] == "linux-aarch64"


def test_smoke_runs_programs_not_the_python_module_beside_them(tmp_path: Path) -> None:
    """A release with a cdylib (build_core's libbuild_core.so, executable bits and all): the
    smoke test runs the program only; running the library would crash and roll back."""
    dist = tmp_path / "dist"
    folder = _release(dist, "linux-x86_64-gnu", "x86_64-unknown-linux-gnu",
                      _ok("x86_64-unknown-linux-gnu"))
    info = BuildInfo.load(folder / "build_info.json")
    library = tmp_path / "libbuild_core.so"
    library.write_text("#!/bin/sh\nexit 139\n")  # what executing a shared library amounts to
    library.chmod(0o755)
    archive = folder / info.archive.file
    top = archive.name.removesuffix(".tar.gz")
    program = dist / ".linux-x86_64-gnu-prog"
    sha = archives.write_tar_gz(archive, [("demo", program, 0o755),
                                         ("libbuild_core.so", library, 0o755)],
                               top_dir=top, mtime=86400)
    info = replace(info, archive=replace(info.archive, sha256=sha), artifacts=(
        replace(info.artifacts[0], kind="bin"),
        fake_records.artifact("libbuild_core.so", package="build_core", kind="cdylib",
                              sha256=atomic.sha256_file(library))))
    info.write(folder / "build_info.json")
    archives.write_sha256sums(folder, [archive, folder / "build_info.json"])
    dest = tmp_path / "opt"
    deploy.install(deploy.by_name(deploy.find(dist), "linux-x86_64-gnu"), dest, can_run=True)
    assert deploy.smoke(dest) == ["demo 0.1.0 (x86_64-unknown-linux-gnu)"]
    assert (dest / "current" / top / "libbuild_core.so").is_file()


# --- links, failures, rollback ---------------------------------------------------------

MUSL = "x86_64-unknown-linux-musl"


def _version(tmp_path: Path, tag: str, script: str | bytes | None = None, **kw: Any) -> Artifact:
    """A linux-x86_64 release printing ``demo 0.1.0<tag> (triple)`` unless given a script."""
    dist = tmp_path / f"dist-{tag or 'plain'}-{len(list(tmp_path.glob('dist-*')))}"
    _release(dist, "linux-x86_64", MUSL, _ok(MUSL, tag) if script is None else script, **kw)
    return deploy.find(dist)[0]


def _names(dest: Path) -> tuple[str | None, str | None]:
    """What current and previous say (the link text), checked to name whole releases."""
    said: list[str | None] = []
    for link in ("current", "previous"):
        if not (dest / link).is_symlink():
            said.append(None)
            continue
        text = os.readlink(dest / link)
        assert text.startswith("releases/") and "/" not in text.removeprefix("releases/")
        assert (dest / link / ".crossmatrix.json").is_file(), f"{link} -> {text} dangles"
        said.append(text.removeprefix("releases/"))
    return said[0], said[1]


def test_dest_reached_through_a_symlink_keeps_working_links(tmp_path: Path) -> None:
    real = tmp_path / "srv" / "a" / "b" / "opt"
    real.mkdir(parents=True)
    (tmp_path / "opt").symlink_to(real)
    dest = tmp_path / "opt"  # what the user passes: a link to a folder three levels down
    first = deploy.install(_version(tmp_path, ""), dest, can_run=True)
    second = deploy.install(_version(tmp_path, "+2"), dest, can_run=True)
    assert _names(dest) == (second.name, first.name)
    assert _names(real) == (second.name, first.name)  # the same links, seen from either side
    broken = _version(tmp_path, "+broken", "#!/bin/sh\nexit 3\n")
    with pytest.raises(StepFailed, match="still current"):
        deploy.install(broken, dest, can_run=True)
    assert _names(dest) == (second.name, first.name)
    assert deploy.smoke(dest) == [f"demo 0.1.0+2 ({MUSL})"]
    deploy.rollback(dest)
    assert _names(dest) == (first.name, second.name)
    assert deploy.smoke(real) == [f"demo 0.1.0 ({MUSL})"]


def _elf_without_interpreter(tmp_path: Path) -> bytes:
    """/bin/true with its PT_INTERP renamed to a loader that does not exist."""
    data = Path("/bin/true").read_bytes()
    loader = b"/lib64/ld-linux-x86-64.so.2"
    if loader not in data:
        pytest.skip("/bin/true is not a glibc x86_64 program")
    return data.replace(loader, b"/lib64/ld-linux-x86-64.so.9")


FAILURES: dict[str, tuple[str | bytes | None, dict[str, Any], str]] = {
    "exit-status": ("#!/bin/sh\nexit 3\n", {}, "exited with 3"),
    "wrong-triple": ("#!/bin/sh\necho 'demo 0.1.0 (aarch64-unknown-linux-musl)'\n", {},
                     "did not print"),
    "no-elf-interpreter": (None, {}, "could not be run"),
    "enoexec": (b"\x7fELF\x02\x01\x01garbage, not a program", {}, "could not be run"),
    "eacces": (_ok(MUSL), {"mode": 0o644}, "could not be run: Permission denied"),
    "listed-program-missing": (_ok(MUSL), {"also_listed": ("edge-agent",)},
                               "edge-agent: listed in build_info.json but not a file"),
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_any_failing_smoke_test_leaves_current_and_previous_as_they_were(
        failure: str, tmp_path: Path) -> None:
    dest = tmp_path / "opt"
    first = deploy.install(_version(tmp_path, ""), dest, can_run=True)
    second = deploy.install(_version(tmp_path, "+2"), dest, can_run=True)
    script, kw, says = FAILURES[failure]
    if script is None:
        script = _elf_without_interpreter(tmp_path)
    with pytest.raises(StepFailed, match=says) as failed:
        deploy.install(_version(tmp_path, "+bad", script, **kw), dest, can_run=True)
    assert f"{second.name} is still current" in failed.value.message
    assert _names(dest) == (second.name, first.name)  # previous is not current
    assert sorted(p.name for p in (dest / "releases").iterdir()) == sorted(
        [first.name, second.name])  # the failed one is gone, no leftovers
    assert deploy.smoke(dest) == [f"demo 0.1.0+2 ({MUSL})"]


def test_the_triple_is_asked_of_programs_that_named_it_when_released(tmp_path: Path) -> None:
    """A program that printed no triple in the release's smoke test (most real CLIs) deploys
    on exit 0; one that did must still name it; a build_info.json from before
    ``names_triple`` was recorded is held to the triple, as every deploy was then."""
    dest = tmp_path / "opt"
    plain = "#!/bin/sh\necho 'demo 0.1.0'\n"
    installed = deploy.install(_version(tmp_path, "", plain, names_triple=False), dest,
                               can_run=True)
    assert deploy.smoke(dest) == ["demo 0.1.0"]
    for said in (True, ABSENT):
        with pytest.raises(StepFailed, match=f"did not print {MUSL}") as failed:
            deploy.install(_version(tmp_path, "+2", plain, names_triple=said), dest,
                           can_run=True)
        assert "build_info.json" in (failed.value.hint or "")
        assert _names(dest) == (installed.name, None)


def test_a_failed_first_deploy_installs_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "opt"
    with pytest.raises(StepFailed, match="nothing is installed"):
        deploy.install(_version(tmp_path, "", "#!/bin/sh\nexit 1\n"), dest, can_run=True)
    assert _names(dest) == (None, None)
    assert not list((dest / "releases").iterdir())


def test_ctrl_c_during_the_smoke_test_puts_everything_back(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    dest = tmp_path / "opt"
    first = deploy.install(_version(tmp_path, ""), dest, can_run=True)

    def interrupted(*args: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "smoke", interrupted)
    with pytest.raises(KeyboardInterrupt):
        deploy.install(_version(tmp_path, "+2"), dest, can_run=True)
    assert _names(dest) == (first.name, None)
    assert [p.name for p in (dest / "releases").iterdir()] == [first.name]


@pytest.mark.parametrize("step", ["current", "previous"])
def test_a_failure_while_switching_the_links_restores_both(
        step: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "opt"
    first = deploy.install(_version(tmp_path, ""), dest, can_run=True)
    second = deploy.install(_version(tmp_path, "+2"), dest, can_run=True)
    real = atomic.point_link

    def failing(link: Path, to: str) -> None:
        if link.name == step:
            raise OSError(28, "No space left on device")
        real(link, to)

    monkeypatch.setattr(atomic, "point_link", failing)
    with pytest.raises(StepFailed, match=r"No space left on device.*still current"):
        deploy.install(_version(tmp_path, "+3"), dest, can_run=True)
    monkeypatch.setattr(atomic, "point_link", real)
    assert _names(dest) == (second.name, first.name)


def test_real_ctrl_c_of_the_cli_keeps_the_old_release(tmp_path: Path) -> None:
    """SIGINT to a `crossmatrix deploy` whose new program hangs in its smoke test."""
    dest = tmp_path / "opt"
    first = deploy.install(_version(tmp_path, ""), dest, can_run=True)
    started = tmp_path / "started"
    hang = f"#!/bin/sh\ntouch {started}\nexec sleep 300\n"
    dist = tmp_path / "hangs"
    _release(dist, "linux-x86_64", MUSL, hang)
    child = subprocess.Popen([str(BIN / "crossmatrix"), "deploy", "--from", str(dist),
                              "--dest", str(dest)], stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        while not started.exists():  # the smoke test has begun: interrupt it there
            assert child.poll() is None, child.communicate()[1]
            os.sched_yield()
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=120)
    finally:
        child.kill()
    assert child.returncode == 130, stderr
    assert stderr.splitlines()[-1] == "interrupted" and "Traceback" not in stderr
    assert "stopped (KeyboardInterrupt)" in stderr
    assert _names(dest) == (first.name, None)
    assert [p.name for p in (dest / "releases").iterdir()] == [first.name]


def test_redeploying_the_installed_version_keeps_its_folder(tmp_path: Path) -> None:
    dest = tmp_path / "opt"
    artifact = _version(tmp_path, "")
    old = deploy.install(_version(tmp_path, "+old"), dest, can_run=True)
    live = deploy.install(artifact, dest, can_run=True)
    inode = live.stat().st_ino
    again = deploy.install(artifact, dest, can_run=True)
    assert again == live and live.stat().st_ino == inode  # not removed, not re-extracted
    assert _names(dest) == (live.name, old.name)  # and previous is not made current
    # a damaged live copy is not repaired in place either: the new copy gets a new name
    program = next(live.glob("*/demo"))
    program.write_text(_ok(MUSL, "+tampered"))
    fresh = deploy.install(artifact, dest, can_run=True)
    assert fresh.name == f"{live.name}-2" and live.stat().st_ino == inode
    assert _names(dest) == (fresh.name, live.name)
    assert deploy.smoke(dest) == [f"demo 0.1.0 ({MUSL})"]


def test_a_second_deploy_to_the_same_dest_waits_for_the_first(tmp_path: Path) -> None:
    dest = tmp_path / "opt"
    dest.mkdir()
    dist = tmp_path / "dist"
    _release(dist, "linux-x86_64", MUSL, _ok(MUSL))
    lock = FileLock(str(dest / deploy.LOCK))
    lock.acquire()
    child = subprocess.Popen([str(BIN / "crossmatrix"), "deploy", "--from", str(dist),
                              "--dest", str(dest)], stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert child.stderr is not None
        seen = []
        for line in child.stderr:
            seen.append(line)
            if "another deploy to" in line:
                break
        assert "waiting for it" in seen[-1], seen
        assert not (dest / "current").exists() and not (dest / "releases").exists()
        lock.release()
        rest = child.stderr.read()
        assert child.wait(timeout=120) == 0, rest
    finally:
        child.kill()
        lock.release(force=True)
    assert f"smoke test: demo 0.1.0 ({MUSL})" in rest
    assert _names(dest)[0] is not None


def test_keep_prunes_old_releases_but_never_current_or_previous(tmp_path: Path) -> None:
    dest = tmp_path / "opt"
    installed = [deploy.install(_version(tmp_path, f"+{n}"), dest, can_run=True, keep=2).name
                 for n in range(4)]
    assert sorted(p.name for p in (dest / "releases").iterdir()) == sorted(installed[2:])
    assert _names(dest) == (installed[3], installed[2])
    deploy.rollback(dest)  # current is now the older of the two
    newest = deploy.install(_version(tmp_path, "+5"), dest, can_run=True, keep=1).name
    assert _names(dest) == (newest, installed[2])
    assert sorted(p.name for p in (dest / "releases").iterdir()) == sorted(
        [newest, installed[2]])  # previous survives keep=1; the newest other one does not
    with pytest.raises(UsageError, match="--keep -1"):
        deploy.install(_version(tmp_path, "+6"), dest, can_run=True, keep=-1)


# --- what is checked before anything is unpacked -----------------------------------------

def _rewrite_info(folder: Path, **changes: Any) -> None:
    info = BuildInfo.load(folder / "build_info.json")
    replace(info, **changes).write(folder / "build_info.json")


def test_build_info_must_match_sha256sums(dist: Path) -> None:
    folder = dist / "linux-x86_64"
    _rewrite_info(folder, version="6.6.6")  # SHA256SUMS not updated
    with pytest.raises(StepFailed, match=r"build_info.json: does not match SHA256SUMS"):
        deploy.find(dist)
    archives.write_sha256sums(folder, [next(folder.glob("*.tar.gz"))])  # not listed at all
    with pytest.raises(StepFailed, match=r"build_info\.json is not listed in SHA256SUMS"):
        deploy.find(dist)


@pytest.mark.parametrize("name", ["/etc/passwd", "../linux-aarch64/x.tar.gz", "..", ""])
def test_an_archive_name_that_is_not_a_file_of_the_folder_is_refused(dist: Path,
                                                                     name: str) -> None:
    folder = dist / "linux-x86_64"
    info = BuildInfo.load(folder / "build_info.json")
    _rewrite_info(folder, archive=replace(info.archive, file=name))
    archives.write_sha256sums(folder, [next(folder.glob("*.tar.gz")),
                                       folder / "build_info.json"])
    with pytest.raises(BadRecord, match="is not the name of a file in that folder"):
        deploy.find(dist)


@pytest.mark.parametrize("how", ["renamed-over", "overwritten-in-place"])
def test_an_archive_swapped_after_the_check_is_never_read(
        how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The archive is hashed while copied; what is unpacked is that copy, whatever the
    path holds by then (here: an archive with a link out of the folder)."""
    artifact = _version(tmp_path, "")
    hostile = tmp_path / "hostile.tar.gz"
    with tarfile.open(hostile, "w:gz") as tar:
        link = tarfile.TarInfo(f"{TOP}/demo")
        link.type, link.linkname = tarfile.SYMTYPE, str(tmp_path / "outside")
        tar.addfile(link)
    real = unpack.unpack

    def swapped(source: Any, into: Path, what: str) -> Any:
        if how == "renamed-over":
            os.replace(hostile, artifact.archive)
        else:
            with artifact.archive.open("r+b") as fh:
                fh.truncate(0)
                fh.write(hostile.read_bytes())
        return real(source, into, what)

    monkeypatch.setattr(unpack, "unpack", swapped)
    dest = tmp_path / "opt"
    release = deploy.install(artifact, dest, can_run=True)
    assert (release / TOP / "demo").read_text() == _ok(MUSL)
    assert not (tmp_path / "outside").exists()
    assert deploy.smoke(dest) == [f"demo 0.1.0 ({MUSL})"]


def test_a_zip_release_installs_with_its_modes(tmp_path: Path) -> None:
    """What a windows build is packaged as; installed with --force-arch, never run."""
    folder = tmp_path / "dist" / "windows-x86_64"
    folder.mkdir(parents=True)
    program = tmp_path / "demo.exe"
    program.write_bytes(b"MZ not really")
    archive = folder / "demo-0.1.0-windows-x86_64.zip"
    sha = archives.write_zip(archive, [("demo.exe", program, 0o755),
                                       ("README.txt", program, 0o644)],
                             top_dir="demo-0.1.0-windows-x86_64", mtime=86400)
    fake_records.build_info("windows-x86_64", archive=archive.name, archive_sha=sha,
                            artifacts=(fake_records.artifact("demo.exe", sha256=sha),),
                            ).write(folder / "build_info.json")
    archives.write_sha256sums(folder, [archive, folder / "build_info.json"])
    release = deploy.install(deploy.find(tmp_path / "dist")[0], tmp_path / "opt",
                             can_run=False)
    top = release / "demo-0.1.0-windows-x86_64"
    assert (top / "demo.exe").read_bytes() == b"MZ not really"
    assert stat.S_IMODE((top / "demo.exe").stat().st_mode) == 0o755
    assert stat.S_IMODE((top / "README.txt").stat().st_mode) == 0o644


def test_the_total_size_cap_holds_against_members_that_lie(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """Several members, each within the cap, together beyond it (with a small cap: the
    real one is 4 GiB); nothing is written once the first pass has seen them all."""
    monkeypatch.setattr(unpack, "MAX_BYTES", 1000)
    dist = tmp_path / "dist"
    _release(dist, "linux-x86_64", MUSL, _ok(MUSL) + "#" * 600)
    folder = dist / "linux-x86_64"
    archive = next(folder.glob("*.tar.gz"))
    program = tmp_path / "big"
    program.write_text("x" * 600)
    archives.write_tar_gz(archive, [("demo", program, 0o755), ("other", program, 0o644)],
                          top_dir=TOP, mtime=0)
    info = BuildInfo.load(folder / "build_info.json")
    _rewrite_info(folder, archive=replace(info.archive, sha256=atomic.sha256_file(archive)))
    archives.write_sha256sums(folder, [archive, folder / "build_info.json"])
    dest = tmp_path / "opt"
    with pytest.raises(StepFailed, match=r"'.*/other' is 600 bytes, beyond 1,000 bytes"):
        deploy.install(deploy.find(dist)[0], dest, can_run=True)
    assert not list((dest / "releases").iterdir())


def test_a_dest_that_cannot_be_made_is_one_line_and_nothing_changes(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _release(dist, "linux-x86_64", MUSL, _ok(MUSL))
    (tmp_path / "file").write_text("not a folder\n")
    result = subprocess.run([str(BIN / "crossmatrix"), "deploy", "--from", str(dist), "--dest",
                             str(tmp_path / "file" / "opt")], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False,
                            timeout=300)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert errors == [f"error: cannot deploy to {tmp_path / 'file' / 'opt'}: Not a directory "
                      f"({tmp_path / 'file' / 'opt'}); nothing changed there"]
    assert (tmp_path / "file").read_text() == "not a folder\n"


def test_rollback_to_a_release_an_older_crossmatrix_installed(tmp_path: Path) -> None:
    """Its marker has no digests, and its links were made from the resolved path."""
    dest = tmp_path / "opt"
    old = deploy.install(_version(tmp_path, "+old"), dest, can_run=True)
    marker = json.loads((old / deploy.MARKER).read_text())
    del marker["files"]
    (old / deploy.MARKER).write_text(json.dumps(marker))
    (dest / "current").unlink()
    (dest / "current").symlink_to(os.path.relpath(old.resolve(), dest))
    new = deploy.install(_version(tmp_path, "+new"), dest, can_run=True)
    assert new.name != old.name and _names(dest) == (new.name, old.name)
    deploy.rollback(dest)
    assert deploy.smoke(dest) == [f"demo 0.1.0+old ({MUSL})"]


@pytest.mark.parametrize(("said", "names_triple", "fails"), [
    ("demo 0.1.0", False, None),  # printed no triple in its smoke test: exit 0 is enough
    ("demo 0.1.0", True, f"demo ran in its image but did not print {MUSL}: demo 0.1.0"),
    ("demo 0.1.0", ABSENT, "did not print"),  # made before names_triple was recorded
    (f"demo 0.1.0 ({MUSL})", True, None),
])
def test_docker_build_holds_each_program_to_its_smoke_test(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, said: str,
        names_triple: bool | Absent, fails: str | None) -> None:
    """`docker-build` runs each program in its image like a deploy does (a fake engine)."""
    from tooling.matrix.config import Project
    from tooling.matrix.targets import by_name
    from tooling.release import containers

    docker = tmp_path / "docker"
    docker.write_text(f'#!/bin/sh\n[ "$1" = run ] && echo \'{said}\'\nexit 0\n')
    docker.chmod(0o755)
    monkeypatch.setattr(containers, "engine", lambda: str(docker))
    project = Project(root=tmp_path, workspace=tmp_path, dist=tmp_path / "dist",
                      targets=("linux-x86_64",), cache_dir=tmp_path / "cache")
    (project.dist / "linux-x86_64").mkdir(parents=True)
    run = RunInfo(ran=True, runner="native", output="demo", names_triple=names_triple)
    fake_records.build_info("linux-x86_64", archive="a.tar.gz", archive_sha="0" * 64,
                            artifacts=(fake_records.artifact("demo", sha256="0" * 64,
                                                             run=run),),
                            ).write(project.dist / "linux-x86_64" / "build_info.json")
    (tmp_path / "docker-context").mkdir()
    monkeypatch.setattr(containers, "context_dir", lambda p: tmp_path / "docker-context")
    (tmp_path / "docker-context" / "Dockerfile.linux-x86_64").write_text("FROM scratch\n")
    target = by_name()["linux-x86_64"]
    if fails is None:
        assert containers.build_and_run(project, [target]) == {
            "linux-x86_64": f"built and ran {containers.image_name(project, target)}"}
        return
    with pytest.raises(StepFailed, match=fails) as failed:
        containers.build_and_run(project, [target])
    assert "docker-context --target linux-x86_64" in (failed.value.hint or "")
