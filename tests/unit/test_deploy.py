"""inv deploy against release folders made here: selection, checksums, hostile archives,
atomic install, smoke test and rollback. The "binaries" are small executables that print
a triple, so these run fast; tests/integration/test_deploy.py uses real cross builds."""

from __future__ import annotations

import io
import json
import os
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from tests.unit import fake_records
from tooling.errors import StepFailed, UsageError
from tooling.matrix import host
from tooling.records.build_info import BuildInfo
from tooling.release import deploy
from tooling.util import archives, atomic

HOST = host.detect()
pytestmark = pytest.mark.skipif(HOST.arch is None or HOST.arch.rust != "x86_64",
                                reason="these fixtures are x86_64 programs")


def _release(dist: Path, name: str, triple: str, script: str, *, glibc: str | None = None,
             version: str = "0.1.0") -> Path:
    folder = dist / name
    folder.mkdir(parents=True)
    program = dist / f".{name}-prog"
    program.write_text(script)
    program.chmod(0o755)
    top = f"demo-{version}-{name}"
    archive = folder / f"{top}.tar.gz"
    sha = archives.write_tar_gz(archive, [("demo", program, 0o755)], top_dir=top, mtime=86400)
    fake_records.build_info(
        name, triple=triple, version=version, source_date_epoch=86400, highest_glibc=glibc,
        archive=archive.name, archive_sha=sha,
        artifacts=(fake_records.artifact("demo", size=program.stat().st_size,
                                         sha256=atomic.sha256_file(program),
                                         highest_glibc=glibc),),
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
