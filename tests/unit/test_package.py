"""Deterministic archives, SHA256SUMS and atomic writes, on real files."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tooling.errors import StepFailed, UsageError
from tooling.steps import manifest
from tooling.util import archives, atomic

MTIME = 1_700_000_000


def _make_sources(root: Path, *, file_mtime: int) -> list[tuple[str, Path, int]]:
    """Three source files with fixed contents but caller-chosen timestamps."""
    root.mkdir(parents=True)
    (root / "prog").write_bytes(b"\x7fELF fake binary\x00" * 100)
    (root / "README.md").write_text("# hello\n", encoding="utf-8")
    (root / "LICENSE").write_text("MIT\n", encoding="utf-8")
    (root / "notes").write_text("naïve café\n", encoding="utf-8")
    for child in root.iterdir():
        os.utime(child, (file_mtime, file_mtime))
    return [
        ("prog", root / "prog", 0o755),
        ("README.md", root / "README.md", 0o644),
        ("doc/LICENSE", root / "LICENSE", 0o644),
        ("doc/ünïcode.txt", root / "notes", 0o600),
    ]


@pytest.fixture
def restore_tz() -> Iterator[None]:
    saved = os.environ.get("TZ")
    yield
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


def _build_in(base: Path, umask: int, tz: str, file_mtime: int,
              suffix: str = ".tar.gz") -> bytes:
    os.environ["TZ"] = tz
    time.tzset()
    old = os.umask(umask)
    try:
        members = _make_sources(base / "src", file_mtime=file_mtime)
        dest = base / "out" / f"demo-1.0-x86_64{suffix}"
        dest.parent.mkdir()
        digest = archives.write_archive(dest, members, top_dir="demo-1.0-x86_64", mtime=MTIME)
    finally:
        os.umask(old)
    data = dest.read_bytes()
    assert digest == hashlib.sha256(data).hexdigest()
    assert dest.stat().st_mode & 0o777 == 0o644
    return data


def test_archive_is_byte_identical_across_dirs_umask_and_tz(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_tz: None
) -> None:
    monkeypatch.chdir(tmp_path)
    first = _build_in(tmp_path / "a", 0o022, "UTC", file_mtime=1_000_000)
    monkeypatch.chdir(tmp_path / "a")
    second = _build_in(tmp_path / "b" / "deeper", 0o077, "Asia/Kolkata", file_mtime=2_000_000)
    assert first == second


def test_zip_is_byte_identical_across_dirs_umask_and_tz(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_tz: None
) -> None:
    monkeypatch.chdir(tmp_path)
    first = _build_in(tmp_path / "a", 0o022, "UTC", 1_000_000, suffix=".zip")
    second = _build_in(tmp_path / "b" / "deeper", 0o077, "Asia/Kolkata", 2_000_000,
                       suffix=".zip")
    assert first == second
    import zipfile

    with zipfile.ZipFile(io.BytesIO(first)) as zipped:
        entries = zipped.infolist()
        names = [e.filename for e in entries]
        assert names == sorted(names)
        assert names[0] == "demo-1.0-x86_64/"
        modes = {e.filename: e.external_attr >> 16 & 0o7777 for e in entries}
        assert modes["demo-1.0-x86_64/prog"] == 0o755
        assert modes["demo-1.0-x86_64/doc/ünïcode.txt"] == 0o600
        assert {e.date_time for e in entries} == {time.gmtime(MTIME)[:6]}
        assert all(e.extra == b"" for e in entries)
        assert zipped.read("demo-1.0-x86_64/doc/ünïcode.txt") == "naïve café\n".encode()
    # unzip, a tool crossmatrix does not own, agrees
    if shutil.which("unzip"):
        listed = subprocess.run(["unzip", "-tq", str(tmp_path / "a" / "out" /
                                                     "demo-1.0-x86_64.zip")],
                                capture_output=True, text=True, check=False)
        assert listed.returncode == 0, listed.stdout + listed.stderr


def test_archive_entries_sorted_with_fixed_metadata(tmp_path: Path) -> None:
    members = _make_sources(tmp_path / "src", file_mtime=123)
    dest = tmp_path / "demo.tar.gz"
    archives.write_tar_gz(dest, members, top_dir="demo", mtime=MTIME)

    with tarfile.open(dest, "r:gz") as tar:
        infos = tar.getmembers()
        names = [i.name for i in infos]
        assert names == [
            "demo",
            "demo/README.md",
            "demo/doc",
            "demo/doc/LICENSE",
            "demo/doc/ünïcode.txt",
            "demo/prog",
        ]
        assert names == sorted(names)
        for info in infos:
            assert (info.uid, info.gid, info.uname, info.gname) == (0, 0, "", "")
            assert info.mtime == MTIME
            assert "atime" not in info.pax_headers
            assert "ctime" not in info.pax_headers
        modes = {i.name: (i.type, i.mode) for i in infos}
        assert modes["demo"] == (tarfile.DIRTYPE, 0o755)
        assert modes["demo/doc"] == (tarfile.DIRTYPE, 0o755)
        assert modes["demo/prog"] == (tarfile.REGTYPE, 0o755)
        assert modes["demo/README.md"] == (tarfile.REGTYPE, 0o644)
        assert modes["demo/doc/ünïcode.txt"] == (tarfile.REGTYPE, 0o600)
        prog = tar.extractfile("demo/prog")
        assert prog is not None
        assert prog.read() == (tmp_path / "src" / "prog").read_bytes()


def test_gzip_header_has_no_mtime_and_no_name(tmp_path: Path) -> None:
    members = _make_sources(tmp_path / "src", file_mtime=123)
    dest = tmp_path / "demo.tar.gz"
    archives.write_tar_gz(dest, members, top_dir="demo", mtime=MTIME)
    data = dest.read_bytes()
    assert data[:3] == b"\x1f\x8b\x08"
    assert data[3] & 0x08 == 0  # FNAME
    assert data[4:8] == b"\x00\x00\x00\x00"  # MTIME
    assert gzip.decompress(data)  # and it is a valid stream


def test_archive_rejects_bad_member_lists(tmp_path: Path) -> None:
    src = tmp_path / "f"
    src.write_bytes(b"x")
    dest = tmp_path / "out.tar.gz"
    bad: list[list[tuple[str, Path, int]]] = [
        [("../escape", src, 0o644)],
        [("/abs", src, 0o644)],
        [("a//b", src, 0o644)],
        [("a", src, 0o644), ("a", src, 0o644)],
        [("bin", src, 0o644), ("bin/x", src, 0o644)],
        [("a", src, 0o17777)],
    ]
    for members in bad:
        with pytest.raises(UsageError):
            archives.write_tar_gz(dest, members, top_dir="top", mtime=0)
    with pytest.raises(UsageError):
        archives.write_tar_gz(dest, [("a", src, 0o644)], top_dir="a/b", mtime=0)
    with pytest.raises(StepFailed, match="cannot package"):
        archives.write_tar_gz(dest, [("a", tmp_path / "nope", 0o644)], top_dir="top", mtime=0)
    with pytest.raises(StepFailed, match="not a regular file"):
        archives.write_tar_gz(dest, [("a", tmp_path, 0o644)], top_dir="top", mtime=0)
    assert not dest.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def _dist(tmp_path: Path) -> tuple[Path, list[Path]]:
    dist = tmp_path / "dist"
    (dist / "sub").mkdir(parents=True)
    files = [dist / "b.tar.gz", dist / "a.tar.gz", dist / "sub" / "c.json"]
    for i, f in enumerate(files):
        f.write_bytes(f"content {i}\n".encode())
    return dist, files


def test_sha256sums_format_and_real_sha256sum_accepts_it(tmp_path: Path) -> None:
    dist, files = _dist(tmp_path)
    out = archives.write_sha256sums(dist, [files[0], Path("a.tar.gz"), files[2], files[0]])
    assert out == dist / "SHA256SUMS"
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    assert [line.split("  ", 1)[1] for line in lines] == [
        "a.tar.gz\n",
        "b.tar.gz\n",
        "sub/c.json\n",
    ]
    expected = hashlib.sha256(b"content 0\n").hexdigest()
    assert lines[1] == f"{expected}  b.tar.gz\n"
    assert archives.check_sha256sums(dist) == []

    sha256sum = shutil.which("sha256sum")
    if sha256sum is None:
        pytest.skip("coreutils sha256sum not installed")
    result = subprocess.run(
        [sha256sum, "-c", "--strict", "SHA256SUMS"],
        cwd=dist,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_sha256sums_rejects_files_outside_directory(tmp_path: Path) -> None:
    dist, _ = _dist(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.write_bytes(b"x")
    with pytest.raises(UsageError):
        archives.write_sha256sums(dist, [outside])


def test_check_sha256sums_reports_problems(tmp_path: Path) -> None:
    dist, files = _dist(tmp_path)
    assert archives.check_sha256sums(dist) == ["SHA256SUMS: missing"]
    archives.write_sha256sums(dist, files)

    files[0].write_bytes(b"tampered\n")
    files[2].unlink()
    assert archives.check_sha256sums(dist) == ["b.tar.gz: checksum mismatch", "sub/c.json: missing"]

    sums = dist / "SHA256SUMS"
    with sums.open("a", encoding="utf-8") as fh:
        fh.write("not a checksum line\n")
        fh.write(f"{'0' * 64}  ../etc/passwd\n")
    problems = archives.check_sha256sums(dist)
    assert problems[2].startswith("SHA256SUMS line 4: malformed")
    assert problems[3].startswith("SHA256SUMS line 5: unsafe name")

    sums.write_text("", encoding="utf-8")
    assert archives.check_sha256sums(dist) == ["SHA256SUMS: no checksum lines"]


def test_check_folder_hashes_every_file_and_follows_nothing(tmp_path: Path) -> None:
    dist, files = _dist(tmp_path)
    archives.write_sha256sums(dist, files)
    contents = archives.check_folder(dist)
    assert contents.files == {"a.tar.gz": hashlib.sha256(b"content 1\n").hexdigest(),
                              "b.tar.gz": hashlib.sha256(b"content 0\n").hexdigest(),
                              "sub/c.json": hashlib.sha256(b"content 2\n").hexdigest()}
    assert contents.dirs == {"sub"} and contents.links == {} and contents.unlisted == {}
    (dist / "link").symlink_to(tmp_path / "elsewhere")  # dangling: it is not followed
    assert archives.check_folder(dist).links == {"link": str(tmp_path / "elsewhere")}
    (dist / "extra").write_bytes(b"x")
    with pytest.raises(StepFailed, match="'extra' is not listed in SHA256SUMS"):
        archives.check_folder(dist)
    lenient = archives.check_folder(dist, lambda name: name == "extra")
    assert lenient.unlisted == {"extra": hashlib.sha256(b"x").hexdigest()}
    (dist / "extra").unlink()
    files[2].unlink()
    files[2].symlink_to(files[0])  # listed, now a link to a listed file: refused
    with pytest.raises(StepFailed, match=r"sub/c\.json is a symlink"):
        archives.check_folder(dist)


def test_copy_checked_writes_only_the_bytes_it_was_told(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(b"payload")
    (tmp_path / "out").mkdir()
    archives.copy_checked(src, tmp_path / "out" / "a", hashlib.sha256(b"payload").hexdigest(),
                          0o644)
    assert (tmp_path / "out" / "a").read_bytes() == b"payload"
    with pytest.raises(StepFailed, match="changed while it was being merged"):
        archives.copy_checked(src, tmp_path / "out" / "b", "0" * 64, 0o644)
    (tmp_path / "link").symlink_to(src)
    with pytest.raises(StepFailed, match="link is a symlink"):
        archives.copy_checked(tmp_path / "link", tmp_path / "out" / "c",
                              hashlib.sha256(b"payload").hexdigest(), 0o644)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a"]


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_text("old", encoding="utf-8")
    old = os.umask(0o077)
    try:
        atomic.write_json(target, {"b": 1, "a": "é"})
    finally:
        os.umask(old)
    assert target.read_text(encoding="utf-8") == '{\n  "a": "é",\n  "b": 1\n}\n'
    assert json.loads(target.read_text(encoding="utf-8")) == {"a": "é", "b": 1}
    assert target.stat().st_mode & 0o777 == 0o644
    atomic.write_text(target, "new\n")
    assert target.read_bytes() == b"new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_atomic_write_failure_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "keep.txt"
    target.write_bytes(b"old contents")

    def boom(src: object, dst: object) -> None:
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="simulated"):
        atomic.write_bytes(target, b"new contents")
    with pytest.raises(OSError, match="simulated"):
        archives.write_tar_gz(target, [], top_dir="top", mtime=0)
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_copy_file_sets_mode_and_sha256_file_streams(tmp_path: Path) -> None:
    src = tmp_path / "bin"
    payload = os.urandom(3 << 20)
    src.write_bytes(payload)
    src.chmod(0o600)
    dest = tmp_path / "stage" / "bin"
    dest.parent.mkdir()
    atomic.copy_file(src, dest, 0o755)
    assert dest.read_bytes() == payload
    assert dest.stat().st_mode & 0o777 == 0o755
    assert atomic.sha256_file(dest) == hashlib.sha256(payload).hexdigest()


def test_clean_stale_temps(tmp_path: Path) -> None:
    (tmp_path / ".out.tar.gz.abc123.tmp").write_bytes(b"half")
    (tmp_path / "keep.tmp").write_bytes(b"not ours")
    (tmp_path / ".keep").write_bytes(b"not a temp")
    (tmp_path / ".dir.tmp").mkdir()
    removed = atomic.clean_stale_temps(tmp_path)
    assert removed == [tmp_path / ".out.tar.gz.abc123.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".dir.tmp", ".keep", "keep.tmp"]
    assert atomic.clean_stale_temps(tmp_path / "missing") == []
    fresh = tmp_path / ".fresh.tmp"
    fresh.write_bytes(b"")
    assert atomic.clean_stale_temps(tmp_path, older_than=3600) == []
    assert fresh.exists()


def test_source_date_epoch_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234567890")
    assert archives.source_date_epoch(tmp_path) == 1234567890
    fullwidth_12 = "\uff11\uff12"  # str.isdigit() says yes; date +%s never prints these
    for bad in ["yesterday", "-5", "1.5", " 12", fullwidth_12, "99999999999999999999"]:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", bad)
        with pytest.raises(UsageError) as info:
            archives.source_date_epoch(tmp_path)
        assert repr(bad) in info.value.message
        assert "\n" not in info.value.message


def test_source_date_epoch_falls_back_to_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert archives.source_date_epoch(tmp_path) == 0  # not a repository
    monkeypatch.setenv("PATH", str(tmp_path))
    assert archives.source_date_epoch(tmp_path) == 0  # no git at all


def test_source_date_epoch_from_head_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git not installed")
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_AUTHOR_DATE": "@1500000000 +0000",
        "GIT_COMMITTER_DATE": "@1600000000 +0000",
    }
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run([git, "init", "-q", str(repo)], env=env, check=True)
    assert archives.source_date_epoch(repo) == 0  # no commits yet
    subprocess.run(
        [git, "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "x"], env=env, check=True
    )
    assert archives.source_date_epoch(repo) == 1600000000


def test_a_run_where_every_target_failed_early_still_writes_release_json(
        tmp_path: Path) -> None:
    """No dist folder yet (nothing was built): release.json says what failed, no traceback."""
    dist = tmp_path / "never-made" / "dist"
    release = manifest.dist_manifest(dist, ["linux-aarch64"], "0.1.0",
                                     {"linux-aarch64": "linux-aarch64: no std"})
    assert not release.complete and release.missing == ("linux-aarch64",)
    written = json.loads((dist / "release.json").read_text())
    assert written["failed"] == {"linux-aarch64": "linux-aarch64: no std"}
