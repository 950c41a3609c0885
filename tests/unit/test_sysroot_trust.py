"""The std cache is keyed on everything that changes std, built from nothing else, and
checked before each use (fake compiler and cargo: no real build here)."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from tests.unit import fake_std
from tooling.errors import StepFailed
from tooling.matrix.targets import by_name
from tooling.std import sysroot

TARGET = by_name()["linux-aarch64"]
TRIPLE = TARGET.triple
#: what a user's shell or a CI job may carry, each changing std if the build saw it
INHERITED = {
    "CARGO_PROFILE_RELEASE_PANIC": "abort", "CARGO_PROFILE_RELEASE_OPT_LEVEL": "0",
    "CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS": "true",
    "CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS": "true", "RUSTFLAGS": "-Ctarget-cpu=native",
    "CARGO_ENCODED_RUSTFLAGS": "-Copt-level=1", "CARGO_BUILD_RUSTFLAGS": "-Cdebuginfo=2",
    f"CC_{TARGET.cc_key}": "/bin/false", f"CFLAGS_{TARGET.cc_key}": "-O0", "CFLAGS": "-O0",
    "CARGO_HOME": "/nonexistent", "RUSTC_WRAPPER": "/bin/false", "CARGO_BUILD_TARGET": "x",
    "MACOSX_DEPLOYMENT_TARGET": "14.0", "CARGO_UNSTABLE_BUILD_STD": "core",
}


@pytest.fixture
def cargo(monkeypatch: pytest.MonkeyPatch) -> fake_std.FakeCargo:
    fake_std.answer_probes(monkeypatch)
    return fake_std.FakeCargo().install(monkeypatch)


def _built(tmp_path: Path, cargo: fake_std.FakeCargo) -> Path:
    compiler = fake_std.compiler(tmp_path / "rustc")
    cache = tmp_path / "cache"
    entry = sysroot.entry_dir(cache, compiler, TRIPLE)
    sysroot.build(compiler, TARGET, entry, cache)
    return entry


def _lib(entry: Path) -> Path:
    return entry / "lib" / "rustlib" / TRIPLE / "lib"


def test_each_input_changes_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = fake_std.compiler(tmp_path)
    fake_std.answer_probes(monkeypatch)
    keys = {"base": sysroot.key(base, TRIPLE)}
    variants = {
        "llvm": replace(base, verbose_version=base.verbose_version.replace("22.1.8", "22.1.9")),
        "commit": replace(base, commit_hash="0" * 40,
                          verbose_version=base.verbose_version.replace("ac68faa20c58", "0" * 12)),
        "rustc": replace(base, rustc=tmp_path / "other" / "rustc"),
        "cargo": replace(base, cargo=tmp_path / "other" / "cargo"),
    }
    for name, compiler in variants.items():
        keys[name] = sysroot.key(compiler, TRIPLE)
    keys["triple"] = sysroot.key(base, "x86_64-unknown-linux-musl")
    keys["rustflags"] = sysroot.key(base, TRIPLE, ("-Ctarget-cpu=cortex-a53",))
    keys["features"] = sysroot.key(base, TRIPLE, features=("optimize_for_size",))
    keys["panic"] = sysroot.key(base, TRIPLE, panic="abort")
    for fact, value in (("cargo -vV", "cargo 1.96.1\n"),
                        ("source version", "rust-web-src 1.96.0+dfsg1-1~deb12u3; Cargo.lock "
                                           "sha256 00"),
                        ("target spec sha256", "22")):
        fake_std.answer_probes(monkeypatch, **{fact: value})
        keys[fact] = sysroot.key(base, TRIPLE)
    assert len(set(keys.values())) == len(keys), keys
    fake_std.answer_probes(monkeypatch)
    assert sysroot.key(base, TRIPLE) == keys["base"]  # and nothing else moves it


def test_a_compiler_without_commit_hash_is_refused(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    fake_std.answer_probes(monkeypatch)
    for missing in ("unknown", ""):
        with pytest.raises(StepFailed, match="no commit hash"):
            sysroot.key(fake_std.compiler(tmp_path, commit_hash=missing), TRIPLE)


def test_inherited_variables_neither_reach_the_build_nor_change_the_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cargo: fake_std.FakeCargo) -> None:
    compiler = fake_std.compiler(tmp_path / "rustc")
    clean = sysroot.key(compiler, TRIPLE)
    for name, value in INHERITED.items():
        monkeypatch.setenv(name, value)
    assert sysroot.key(compiler, TRIPLE) == clean
    entry = _built(tmp_path, cargo)
    assert entry.name.endswith(clean)
    ((argv, env, cwd),) = cargo.calls
    leaked = {name for name, value in INHERITED.items() if env.get(name) == value}
    assert not leaked, "inherited variables reached the std build"
    deliberate = {"RUSTC", "RUSTC_BOOTSTRAP", f"CARGO_TARGET_{TARGET.env_key}_RUSTFLAGS",
                  "CARGO_HOME", "CARGO_TARGET_DIR"}
    assert set(env) - set(sysroot.PASSED_ENV) == deliberate
    assert env["CARGO_HOME"].startswith(str(cwd.parent))  # its own, inside the work folder
    assert sysroot.cargo_configs(cwd) == []
    inputs = json.loads((entry / sysroot.MARKER).read_text())["inputs"]
    assert 'panic = "unwind"' in inputs["manifest"]
    assert argv[1:] == inputs["cargo args"]


def test_a_cache_inside_a_project_builds_outside_it(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    cargo: fake_std.FakeCargo) -> None:
    project = tmp_path / "checkout"
    (project / ".cargo").mkdir(parents=True)
    (project / ".cargo" / "config.toml").write_text('[profile.release]\npanic = "abort"\n')
    outside = tmp_path / "tmp"
    outside.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(outside))
    compiler = fake_std.compiler(tmp_path / "rustc")
    cache = project / ".cache" / "crossmatrix"  # the generated GitLab pipeline's
    entry = sysroot.entry_dir(cache, compiler, TRIPLE)
    sysroot.build(compiler, TARGET, entry, cache)
    ((_, _, cwd),) = cargo.calls
    assert cwd.is_relative_to(outside) and sysroot.cargo_configs(cwd) == []
    assert sysroot.problem(entry) is None
    assert list(outside.iterdir()) == []  # the work folder is removed
    assert list((cache / "tmp").iterdir()) == []  # and so is the staging folder


def test_no_folder_clear_of_cargo_configs_is_refused(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".cargo").mkdir()
    (tmp_path / ".cargo" / "config").write_text("[build]\n")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.setattr(sysroot, "LAST_RESORT", tmp_path)
    with pytest.raises(StepFailed, match=r"\.cargo/config would change it") as caught:
        sysroot.work_base(tmp_path / "cache")
    assert caught.value.hint is not None and "TMPDIR" in caught.value.hint


def test_an_entry_is_sealed_with_every_file_hash(tmp_path: Path,
                                                 cargo: fake_std.FakeCargo) -> None:
    entry = _built(tmp_path, cargo)
    marker = json.loads((entry / sysroot.MARKER).read_text())
    assert sorted(Path(rel).name for rel in marker["files"]) == sorted(
        name for name in fake_std.RLIBS if "crossmatrix_sysroot" not in name)
    assert marker["key"] == entry.name.rsplit("-", 1)[1]
    assert sysroot.problem(entry) is None and sysroot.is_ready(entry)


def test_a_tampered_rlib_is_found_and_built_again_in_one_line(
        tmp_path: Path, cargo: fake_std.FakeCargo, capsys: pytest.CaptureFixture[str]) -> None:
    entry = _built(tmp_path, cargo)
    assert sysroot.problem(entry) is None  # hashed once; remembered while files are unchanged
    libstd = _lib(entry) / "libstd-1.rlib"
    before = libstd.stat()
    data = bytearray(libstd.read_bytes())
    data[10] ^= 0xFF  # same size, and the same mtime given back: only the bytes differ
    libstd.write_bytes(bytes(data))
    os.utime(libstd, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert sysroot.is_ready(entry)  # a plan sees the entry there whole...
    assert "libstd-1.rlib is not the file its marker lists" in str(sysroot.problem(entry))
    capsys.readouterr()
    sysroot.build(fake_std.compiler(tmp_path / "rustc"), TARGET, entry, tmp_path / "cache")
    said = [line for line in capsys.readouterr().err.splitlines() if "cannot be used" in line]
    assert said == [f"warning: std cache entry {entry} cannot be used (lib/rustlib/{TRIPLE}/"
                    "lib/libstd-1.rlib is not the file its marker lists (sha256 differs)); "
                    "building it again"]
    assert len(cargo.calls) == 2
    assert sysroot.problem(entry) is None
    assert libstd.read_bytes() != bytes(data)


@pytest.mark.parametrize("damage", ["planted", "missing", "symlink", "resized", "renamed",
                                    "no-marker", "old-marker"])
def test_a_damaged_or_planted_entry_is_not_used(tmp_path: Path, cargo: fake_std.FakeCargo,
                                                damage: str) -> None:
    entry = _built(tmp_path, cargo)
    lib = _lib(entry)
    if damage == "planted":  # a file the build did not make (an rlib of another std, say)
        (entry / "lib" / "rustlib" / "x86_64-unknown-linux-musl" / "lib").mkdir(parents=True)
        (entry / "lib" / "rustlib" / "x86_64-unknown-linux-musl" / "lib" / "libstd-2.rlib"
         ).write_bytes(b"x")
    elif damage == "missing":
        (lib / "libtest-1.rlib").unlink()
    elif damage == "symlink":
        target = tmp_path / "elsewhere.rlib"
        shutil.copy(lib / "libcore-1.rlib", target)
        (lib / "libcore-1.rlib").unlink()
        (lib / "libcore-1.rlib").symlink_to(target)
    elif damage == "resized":
        with (lib / "libcore-1.rlib").open("ab") as f:
            f.write(b"\0")
    elif damage == "renamed":  # another key's entry, marker and all, under this name
        other = entry.with_name(entry.name[:-16] + "0" * 16)
        entry.rename(other)
        entry = other
    elif damage == "no-marker":
        (entry / sysroot.MARKER).unlink()
    elif damage == "old-marker":
        marker = json.loads((entry / sysroot.MARKER).read_text())
        (entry / sysroot.MARKER).write_text(json.dumps({**marker, "layout": 2}))
    assert sysroot.problem(entry) is not None
    assert not sysroot.is_ready(entry)


def test_a_stamp_from_elsewhere_does_not_vouch_for_an_entry(tmp_path: Path,
                                                            cargo: fake_std.FakeCargo) -> None:
    entry = _built(tmp_path, cargo)
    sysroot.problem(entry)
    stamp = sysroot._stamp_path(entry)
    copy = tmp_path / "copy" / "sysroots" / entry.name  # e.g. restored by a CI cache
    shutil.copytree(entry, copy)
    data = bytearray((_lib(copy) / "libcore-1.rlib").read_bytes())
    data[0] ^= 1
    (_lib(copy) / "libcore-1.rlib").write_bytes(bytes(data))
    (copy.parent.parent / "verified").mkdir()
    shutil.copy(stamp, sysroot._stamp_path(copy))
    assert "libcore-1.rlib is not the file" in str(sysroot.problem(copy))
