"""Hostile release archives through the real `crossmatrix deploy`: links, link chains, hard
links, devices, FIFOs, absolute and `..` names, oversized and too many members, forged
headers, in .tar.gz and .zip. Each must be refused with exit 1 and one `error:` line, no
traceback, and nothing written: not outside --dest, and nothing inside it but its lock
and an empty releases/. Each case runs under this venv's Python and under Debian 12's own
/usr/bin/python3 (3.11.2, whose tarfile has no extraction filters at all); that one has
no third-party packages, so it gets this venv's pure-Python site-packages (invoke,
filelock) on PYTHONPATH: the standard library, tarfile included, is Debian's."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import subprocess
import sys
import sysconfig
import tarfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit import fake_records
from tooling.matrix import host
from tooling.util import archives, unpack

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEBIAN_PYTHON = Path("/usr/bin/python3")
TOP = "demo-0.1.0-linux-x86_64"
SCRIPT = b"#!/bin/sh\necho 'demo 0.1.0 (x86_64-unknown-linux-musl)'\n"

HOST = host.detect()
pytestmark = pytest.mark.skipif(HOST.arch is None or HOST.arch.rust != "x86_64",
                                reason="these fixtures are x86_64 programs")


def interpreters() -> list[object]:
    debian = pytest.param("debian", marks=pytest.mark.skipif(
        not DEBIAN_PYTHON.is_file(), reason=f"{DEBIAN_PYTHON} (Debian's own) is not here"))
    return ["venv", debian]


def command(which: str) -> tuple[list[str], dict[str, str]]:
    """argv prefix and environment that run the `crossmatrix` console script's main()."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if which == "venv":
        env["PYTHONPATH"] = str(ROOT)
        return [str(BIN / "crossmatrix")], env
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), sysconfig.get_paths()["purelib"]])
    env["PYTHONNOUSERSITE"] = "1"
    return [str(DEBIAN_PYTHON), "-c", "from tooling.cli.main import main; main()"], env


# --- archives ---------------------------------------------------------------------------

def _info(name: str, kind: bytes = tarfile.REGTYPE, *, size: int = 0, link: str = "",
          mode: int = 0o755) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname, info.mode = kind, size, link, mode
    return info


def tar_gz(*extra: tarfile.TarInfo, raw: bytes = b"") -> bytes:
    """A good archive (top folder, one program) followed by ``extra`` members (their
    content: ``x`` bytes for files that carry any) and then ``raw`` tar blocks."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_info(TOP, tarfile.DIRTYPE))
        tar.addfile(_info(f"{TOP}/demo", size=len(SCRIPT)), io.BytesIO(SCRIPT))
        for info in extra:
            carries = info.type in (tarfile.REGTYPE, tarfile.AREGTYPE) and info.size
            tar.addfile(info, io.BytesIO(b"x" * info.size) if carries else None)
        tar.fileobj.write(raw)
        tar.offset += len(raw)
    return buf.getvalue()


def header_only(info: tarfile.TarInfo) -> bytes:
    """A tar header that declares ``info.size`` bytes, with none of them behind it."""
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def many_files(count: int) -> bytes:
    return tar_gz(*(_info(f"{TOP}/f{i}", mode=0o644) for i in range(count)))


def zip_bytes(*extra: tuple[str, int, bytes],
              patch: Callable[[zipfile.ZipFile], None] | None = None) -> bytes:
    """A good .zip (as write_zip makes them) plus ``extra`` (name, unix mode, content)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        def put(name: str, mode: int, data: bytes) -> None:
            entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            entry.create_system = 3
            entry.external_attr = mode << 16
            archive.writestr(entry, data)
        put(f"{TOP}/", stat.S_IFDIR | 0o755, b"")
        put(f"{TOP}/demo.exe", stat.S_IFREG | 0o755, b"MZ")
        with warnings.catch_warnings():  # "Duplicate name": that is the point of one case
            warnings.simplefilter("ignore")
            for name, mode, data in extra:
                put(name, mode, data)
        if patch is not None:
            patch(archive)
    return buf.getvalue()


def _huge_zip_member(archive: zipfile.ZipFile) -> None:
    archive.filelist[-1].file_size = 5 << 30  # what the central directory will declare


def _huge_zip_total(archive: zipfile.ZipFile) -> None:
    for entry in archive.filelist[-2:]:
        entry.file_size = 3 << 30  # each below the cap, together beyond it


def _encrypted(archive: zipfile.ZipFile) -> None:
    archive.filelist[-1].flag_bits |= 0x1


def many_zip(count: int) -> bytes:
    return zip_bytes(*((f"{TOP}/f{i}", stat.S_IFREG | 0o644, b"") for i in range(count)))


#: (id, target, archive bytes, what the one error line says)
Case = tuple[str, str, Callable[[Path], bytes], str]
LINUX, WINDOWS = "linux-x86_64", "windows-x86_64"
CASES: list[Case] = [
    ("symlink-absolute", LINUX, lambda t: tar_gz(
        _info(f"{TOP}/evil", tarfile.SYMTYPE, link="/etc/passwd")), "symbolic link"),
    ("symlink-up", LINUX, lambda t: tar_gz(
        _info(f"{TOP}/up", tarfile.SYMTYPE, link="../../../../outside")), "symbolic link"),
    ("symlink-inside", LINUX, lambda t: tar_gz(
        _info(f"{TOP}/alias", tarfile.SYMTYPE, link="demo")), "symbolic link"),
    ("symlink-chain", LINUX, lambda t: tar_gz(  # the CVE-2025-4517 shape
        _info(f"{TOP}/s1", tarfile.SYMTYPE, link="s2"),
        _info(f"{TOP}/s2", tarfile.SYMTYPE, link="s3"),
        _info(f"{TOP}/s3", tarfile.SYMTYPE, link="../../../../outside"),
        _info(f"{TOP}/s1/pwned", size=3)), "symbolic link"),
    ("symlink-dir-then-file", LINUX, lambda t: tar_gz(
        _info(f"{TOP}/d", tarfile.SYMTYPE, link=str(t / "outside")),
        _info(f"{TOP}/d/pwned", size=3)), "symbolic link"),
    ("hardlink-absolute", LINUX, lambda t: tar_gz(
        _info(f"{TOP}/h", tarfile.LNKTYPE, link=str(t / "outside" / "keep"))), "hard link"),
    ("hardlink-d-e-h", LINUX, lambda t: tar_gz(
        _info(f"{TOP}/d", tarfile.DIRTYPE), _info(f"{TOP}/d/e", tarfile.DIRTYPE),
        _info(f"{TOP}/d/e/h", tarfile.LNKTYPE, link="../x")), "hard link"),
    ("hardlink-inside", LINUX, lambda t: tar_gz(
        _info(f"{TOP}/h", tarfile.LNKTYPE, link=f"{TOP}/demo")), "hard link"),
    ("char-device", LINUX, lambda t: tar_gz(_info(f"{TOP}/null", tarfile.CHRTYPE)), "device"),
    ("block-device", LINUX, lambda t: tar_gz(_info(f"{TOP}/sda", tarfile.BLKTYPE)), "device"),
    ("fifo", LINUX, lambda t: tar_gz(_info(f"{TOP}/pipe", tarfile.FIFOTYPE)), "FIFO"),
    ("sparse", LINUX, lambda t: tar_gz(
        _info(f"{TOP}/holes", tarfile.GNUTYPE_SPARSE)), "sparse"),
    ("absolute-name", LINUX, lambda t: tar_gz(
        _info(str(t / "abs-escape"), size=3)), "an absolute path"),
    ("dotdot-name", LINUX, lambda t: tar_gz(_info("../escaped", size=3)), "a path with .."),
    ("nested-dotdot", LINUX, lambda t: tar_gz(
        _info(f"{TOP}/../../escaped", size=3)), "a path with .."),
    ("dot-and-empty-parts", LINUX, lambda t: tar_gz(
        _info(f"./{TOP}//x", size=3)), "not a plain relative path"),
    ("listed-twice", LINUX, lambda t: tar_gz(_info(f"{TOP}/demo", size=9)), "listed twice"),
    ("file-below-a-file", LINUX, lambda t: tar_gz(
        _info(f"{TOP}/demo/x", size=3)), "which is a file"),
    ("oversized-member", LINUX, lambda t: tar_gz(
        raw=header_only(_info(f"{TOP}/huge", size=5 << 30))), "beyond"),
    ("too-many-members", LINUX, lambda t: many_files(unpack.MAX_MEMBERS), "members"),
    ("forged-pax-header", LINUX, lambda t: tar_gz(
        raw=header_only(_info("././@PaxHeader", tarfile.XHDTYPE, size=64 << 20))
        + b"\0" * (64 << 20)), "more than its members declare"),
    ("plain-tar", LINUX, lambda t: gzip.decompress(tar_gz()), "neither a .tar.gz nor a .zip"),
    ("zip-symlink", WINDOWS, lambda t: zip_bytes(
        (f"{TOP}/evil", stat.S_IFLNK | 0o777, b"/etc/passwd")), "symbolic link"),
    ("zip-symlink-chain", WINDOWS, lambda t: zip_bytes(
        (f"{TOP}/s1", stat.S_IFLNK | 0o777, b"s2"),
        (f"{TOP}/s2", stat.S_IFLNK | 0o777, b"../../../../outside"),
        (f"{TOP}/s1/pwned", stat.S_IFREG | 0o644, b"x")), "symbolic link"),
    ("zip-fifo", WINDOWS, lambda t: zip_bytes(
        (f"{TOP}/pipe", stat.S_IFIFO | 0o644, b"")), "FIFO"),
    ("zip-device", WINDOWS, lambda t: zip_bytes(
        (f"{TOP}/null", stat.S_IFCHR | 0o644, b"")), "device"),
    ("zip-absolute-name", WINDOWS, lambda t: zip_bytes(
        (str(t / "abs-escape"), stat.S_IFREG | 0o644, b"x")), "an absolute path"),
    ("zip-dotdot-name", WINDOWS, lambda t: zip_bytes(
        ("../escaped", stat.S_IFREG | 0o644, b"x")), "a path with .."),
    ("zip-backslash-name", WINDOWS, lambda t: zip_bytes(
        (f"{TOP}\\..\\..\\escaped", stat.S_IFREG | 0o644, b"x")), "not a plain relative"),
    ("zip-listed-twice", WINDOWS, lambda t: zip_bytes(
        (f"{TOP}/demo.exe", stat.S_IFREG | 0o755, b"MZMZ")), "listed twice"),
    ("zip-oversized-member", WINDOWS, lambda t: zip_bytes(
        (f"{TOP}/huge", stat.S_IFREG | 0o644, b"x"), patch=_huge_zip_member), "beyond"),
    ("zip-too-many-members", WINDOWS, lambda t: many_zip(unpack.MAX_MEMBERS), "members"),
    ("zip-encrypted", WINDOWS, lambda t: zip_bytes(
        (f"{TOP}/secret", stat.S_IFREG | 0o644, b"x"), patch=_encrypted), "encrypted"),
    ("zip-oversized-total", WINDOWS, lambda t: zip_bytes(
        (f"{TOP}/big1", stat.S_IFREG | 0o644, b"x"), (f"{TOP}/big2", stat.S_IFREG | 0o644, b"x"),
        patch=_huge_zip_total), "beyond"),
]


def release(dist: Path, target: str, data: bytes) -> None:
    """``dist/<target>/``: the archive, its build_info.json, and a SHA256SUMS of both: a
    release whose checksums all match, so only the members can be refused."""
    folder = dist / target
    folder.mkdir(parents=True)
    archive = folder / (f"{TOP}.zip" if target == WINDOWS else f"{TOP}.tar.gz")
    archive.write_bytes(data)
    name = "demo.exe" if target == WINDOWS else "demo"
    fake_records.build_info(
        target, archive=archive.name, archive_sha=hashlib.sha256(data).hexdigest(),
        artifacts=(fake_records.artifact(name, sha256="0" * 64),),
    ).write(folder / "build_info.json")
    archives.write_sha256sums(folder, [archive, folder / "build_info.json"])


def snapshot(root: Path, skip: Path) -> dict[str, str]:
    found = {}
    for path in sorted(root.rglob("*")):
        if path == skip or skip in path.parents:
            continue
        rel = str(path.relative_to(root))
        if path.is_symlink():
            found[rel] = "-> " + os.readlink(path)
        elif path.is_file():
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[rel] = "dir"
    return found


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 20
    assert len({c[0] for c in CASES}) == len(CASES)
    assert {c[1] for c in CASES} == {LINUX, WINDOWS}


@pytest.mark.parametrize("which", interpreters())
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_hostile_archive_is_refused_with_one_line(case: Case, which: str,
                                                  tmp_path: Path) -> None:
    _, target, make, says = case
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "keep").write_text("untouched\n")
    dist = tmp_path / "dist"
    release(dist, target, make(tmp_path))
    dest = tmp_path / "deep" / "opt"
    dest.parent.mkdir()
    before = snapshot(tmp_path, dest)
    argv, env = command(which)
    force = ["--force-arch", target] if target == WINDOWS else []
    result = subprocess.run([*argv, "deploy", "--from", str(dist), "--dest", str(dest),
                             *force], capture_output=True, text=True, env=env, check=False,
                            timeout=300)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert len(errors) == 1, result.stderr
    assert says in errors[0] and ("refusing" in errors[0]), errors[0]
    assert snapshot(tmp_path, dest) == before  # nothing outside --dest
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*")) == [
        ".deploy.lock", "releases"]  # and nothing inside it but its lock
    assert not (dest / "current").is_symlink()


@pytest.mark.parametrize("which", interpreters())
def test_a_good_release_deploys_and_rolls_back_under_each_python(which: str,
                                                                tmp_path: Path) -> None:
    """The same code path, end to end, with Debian's tarfile (no data_filter) too."""
    argv, env = command(which)
    dest = tmp_path / "opt"
    for version, tag in (("a", "0.1.0"), ("b", "0.1.0+b")):
        script = SCRIPT.replace(b"0.1.0", tag.encode())
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz, \
                tarfile.open(fileobj=gz, mode="w") as tar:
            tar.addfile(_info(TOP, tarfile.DIRTYPE))
            tar.addfile(_info(f"{TOP}/demo", size=len(script)), io.BytesIO(script))
        folder = tmp_path / version / LINUX
        folder.mkdir(parents=True)
        archive = folder / f"{TOP}.tar.gz"
        archive.write_bytes(buf.getvalue())
        fake_records.build_info(
            LINUX, archive=archive.name, archive_sha=hashlib.sha256(buf.getvalue()).hexdigest(),
            artifacts=(fake_records.artifact("demo", sha256=hashlib.sha256(script).hexdigest()),),
        ).write(folder / "build_info.json")
        archives.write_sha256sums(folder, [archive, folder / "build_info.json"])
        done = subprocess.run([*argv, "deploy", "--from", str(tmp_path / version), "--dest",
                               str(dest)], capture_output=True, text=True, env=env,
                              check=False, timeout=300)
        assert done.returncode == 0, done.stderr
        assert f"smoke test: demo {tag} (x86_64-unknown-linux-musl)" in done.stderr
    assert os.readlink(dest / "current").startswith("releases/linux-x86_64-")
    back = subprocess.run([*argv, "deploy", "--dest", str(dest), "--rollback"],
                          capture_output=True, text=True, env=env, check=False, timeout=300)
    assert back.returncode == 0, back.stderr
    assert "smoke test: demo 0.1.0 (x86_64-unknown-linux-musl)" in back.stderr
    assert (dest / "current" / TOP / "demo").read_bytes() == SCRIPT
    assert stat.S_IMODE((dest / "current" / TOP / "demo").stat().st_mode) == 0o755


def test_debian_python_really_has_no_extraction_filter() -> None:
    """What the Debian runs above stand for: a tarfile without data_filter (if a point
    release adds one, they still run the same code; this says which Python it was)."""
    if not DEBIAN_PYTHON.is_file():
        pytest.skip(f"{DEBIAN_PYTHON} is not here")
    probe = subprocess.run([str(DEBIAN_PYTHON), "-I", "-c",
                            "import sys, tarfile; print(sys.version.split()[0], "
                            "hasattr(tarfile, 'data_filter'))"],
                           capture_output=True, text=True, check=True, timeout=60)
    version, has_filter = probe.stdout.split()
    if has_filter == "True":
        pytest.skip(f"{DEBIAN_PYTHON} is {version} and has data_filter now")
    assert version.startswith("3.11.")


# --- docker-context reads the same way ---------------------------------------------------

def _project(tmp_path: Path, data: bytes) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.crossmatrix]\ntargets = ["linux-x86_64"]\n')
    (project / "Cargo.toml").write_text('[package]\nname = "demo"\nversion = "0.1.0"\n')
    folder = project / "dist" / LINUX
    folder.mkdir(parents=True)
    archive = folder / f"{TOP}.tar.gz"
    archive.write_bytes(data)
    fake_records.build_info(
        LINUX, archive=archive.name, archive_sha=hashlib.sha256(data).hexdigest(),
        artifacts=(fake_records.artifact("demo", sha256=hashlib.sha256(SCRIPT).hexdigest()),),
    ).write(folder / "build_info.json")
    archives.write_sha256sums(folder, [archive, folder / "build_info.json"])
    return project


@pytest.mark.parametrize("which", interpreters())
@pytest.mark.parametrize("hostile", [
    None, _info(f"{TOP}/evil", tarfile.SYMTYPE, link="/etc/passwd"),
    _info(f"{TOP}/d/e/h", tarfile.LNKTYPE, link="../x")], ids=["good", "symlink", "d-e-h"])
def test_docker_context_unpacks_only_files_and_folders(which: str,
                                                       hostile: tarfile.TarInfo | None,
                                                       tmp_path: Path) -> None:
    project = _project(tmp_path, tar_gz(*([hostile] if hostile else [])))
    argv, env = command(which)
    result = subprocess.run([*argv, "--project", str(project), "docker-context", "--target",
                             LINUX], capture_output=True, text=True, env=env, check=False,
                            timeout=300)
    assert "Traceback" not in result.stderr, result.stderr
    binaries = project / "docker" / "binaries" / "amd64"
    if hostile is None:
        assert result.returncode == 0, result.stderr
        assert (binaries / "demo" / "demo").read_bytes() == SCRIPT
        assert (binaries / "MANIFEST.txt").read_text() == (
            f"{hashlib.sha256(SCRIPT).hexdigest()}  demo/demo\n")
        return
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 1 and len(errors) == 1, result.stderr
    assert "link" in errors[0] and "refusing to extract" in errors[0]
    assert not (project / "docker").exists()
