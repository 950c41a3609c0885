"""The compiler chosen by the workspace's rust-version, with fake compilers: today's choice
kept when it meets it, else another rustup toolchain or Debian's rustc-web with a std that
fits it; a pin or a forced provider respected; one line when nothing fits."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from tooling.errors import ToolMissing
from tooling.matrix import workspace
from tooling.matrix.config import Project
from tooling.matrix.targets import by_name
from tooling.std import compiler, providers
from tooling.util import proc
from tooling.util.proc import Result

HOST = "x86_64-unknown-linux-gnu"
AARCH64_GNU = "aarch64-unknown-linux-gnu"


def _compiler(kind: str, root: Path, release: str) -> compiler.Compiler:
    return compiler.Compiler(
        kind=kind,  # type: ignore[arg-type]
        rustc=root / "bin" / "rustc", cargo=root / "bin" / "cargo", release=release,
        commit_hash=f"{root.name}-hash", host=HOST, sysroot=root,
        verbose_version=f"rustc {release} ({root.name})\nrelease: {release}\n")


def _std(c: compiler.Compiler, triple: str) -> None:
    lib = c.sysroot / "lib" / "rustlib" / triple / "lib"
    lib.mkdir(parents=True, exist_ok=True)
    (lib / "libstd-0123.rlib").write_bytes(b"")


def _src(c: compiler.Compiler) -> None:
    library = c.sysroot / "lib" / "rustlib" / "src" / "rust" / "library"
    (library / "std").mkdir(parents=True)
    (library / "std" / "Cargo.toml").write_text("[package]\n")
    (library / "vendor").mkdir()


@dataclass
class World:
    """rustup's active toolchain, the other installed ones, Debian's rustc-web, a pin."""

    tmp: Path
    active: compiler.Compiler
    debian: compiler.Compiler
    others: list[compiler.Compiler] = field(default_factory=list)
    required: providers.Requirement | None = None
    pin: str | None = None
    calls: list[list[str]] = field(default_factory=list)

    def toolchain(self, name: str, release: str) -> compiler.Compiler:
        made = _compiler("rustup", self.tmp / "toolchains" / name, release)
        self.others.append(made)
        return made


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(tmp_path, _compiler("rustup", tmp_path / "toolchains" / "stable", "1.95.0"),
              _compiler("debian", tmp_path / "debian", "1.96.0"))
    monkeypatch.setattr(providers, "rustup_compiler", lambda ws: w.active)
    monkeypatch.setattr(providers, "debian_compiler", lambda: w.debian)
    monkeypatch.setattr(providers, "rustup_toolchains", lambda: (w.active, *w.others))
    monkeypatch.setattr(providers, "requirement", lambda project: w.required)
    monkeypatch.setattr(providers, "toolchain_pin", lambda ws: w.pin)

    def fake_run(argv: list[str], **kw: object) -> Result:
        w.calls.append(list(argv))
        return Result(tuple(argv), 1, "", "error: could not download: no network")

    monkeypatch.setattr(proc, "run", fake_run)
    return w


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(root=tmp_path, workspace=tmp_path, dist=tmp_path / "dist",
                   targets=("linux-aarch64-gnu",), cache_dir=tmp_path / "cache")


def _needs(version: str) -> providers.Requirement:
    return providers.Requirement(version, "hello")


def test_without_rust_version_today_choice_stays(world: World, project: Project) -> None:
    _std(world.active, AARCH64_GNU)
    _std(world.debian, AARCH64_GNU)
    chosen = providers.plan(project, by_name()["linux-aarch64-gnu"])
    assert (chosen.provider, chosen.compiler) == ("rustup", world.active)
    assert chosen.compiler_reason == ""


def test_today_choice_kept_when_it_meets_the_rust_version(world: World,
                                                        project: Project) -> None:
    _std(world.active, AARCH64_GNU)
    _std(world.debian, AARCH64_GNU)
    world.required = _needs("1.95")
    chosen = providers.plan(project, by_name()["linux-aarch64-gnu"])
    assert (chosen.provider, chosen.compiler) == ("rustup", world.active)
    assert chosen.compiler_reason == "meets rust-version 1.95 (hello)"


def test_older_rustup_gives_way_to_debian_and_its_multiarch_std(world: World,
                                                                project: Project) -> None:
    _std(world.active, AARCH64_GNU)
    _std(world.debian, AARCH64_GNU)
    world.required = _needs("1.96")
    chosen = providers.plan(project, by_name()["linux-aarch64-gnu"])
    assert (chosen.provider, chosen.compiler) == ("debian", world.debian)
    assert chosen.compiler_reason == (
        "rust-version 1.96 (hello); rustup's rustc 1.95.0 is older")


def test_debian_compiler_without_its_std_builds_std(world: World, project: Project) -> None:
    _std(world.active, "aarch64-unknown-linux-musl")
    _src(world.debian)
    world.required = _needs("1.96")
    chosen = providers.plan(project, by_name()["linux-aarch64"])
    assert (chosen.provider, chosen.compiler) == ("build-std", world.debian)
    assert chosen.sysroot is not None and "1.96.0" in chosen.sysroot.name


def test_another_rustup_release_before_debian_and_debian_before_a_nightly(
        world: World, project: Project) -> None:
    _std(world.active, AARCH64_GNU)
    _std(world.debian, AARCH64_GNU)
    nightly = world.toolchain("nightly", "1.98.0-nightly")
    _std(nightly, AARCH64_GNU)
    world.required = _needs("1.96")
    target = by_name()["linux-aarch64-gnu"]
    assert providers.plan(project, target).compiler == world.debian
    newer = world.toolchain("1.97.0", "1.97.0")
    world.toolchain("1.96.0", "1.96.0")  # installed, but without this target's std
    _std(newer, AARCH64_GNU)
    chosen = providers.plan(project, target)
    assert (chosen.provider, chosen.compiler) == ("rustup", newer)
    assert chosen.reason == "target installed in rustup toolchain 1.97.0"
    world.required = _needs("1.98")  # only the nightly is as new
    assert providers.plan(project, target).compiler == nightly


def test_a_pinned_toolchain_is_respected_and_said(world: World, project: Project) -> None:
    _std(world.active, AARCH64_GNU)
    _std(world.debian, AARCH64_GNU)
    world.pin = "/w/rust-toolchain.toml (1.95.0)"
    target = by_name()["linux-aarch64-gnu"]
    world.required = _needs("1.95")
    assert providers.plan(project, target).compiler_reason == (
        "pinned by /w/rust-toolchain.toml (1.95.0); meets rust-version 1.95 (hello)")
    world.required = _needs("1.96")  # Debian's would do, but the pin says 1.95
    with pytest.raises(providers.RustVersionUnmet) as caught:
        providers.plan(project, target)
    assert caught.value.message == (
        "linux-aarch64-gnu: rust-version 1.96 (hello) needs rustc 1.96 or newer, but "
        "/w/rust-toolchain.toml (1.95.0) pins rustc 1.95.0")
    assert caught.value.hint == "pin 1.96 or newer there"


def test_forced_rustup_older_than_rust_version_is_one_line(world: World,
                                                           project: Project) -> None:
    _std(world.active, AARCH64_GNU)
    _std(world.debian, AARCH64_GNU)
    world.required = _needs("1.96")
    forced = replace(project, std_provider="rustup")
    with pytest.raises(providers.RustVersionUnmet) as caught:
        providers.plan(forced, by_name()["linux-aarch64-gnu"])
    assert "std-provider 'rustup' allows only rustup's (rustup stable 1.95.0)" in (
        caught.value.message)
    assert caught.value.hint is not None
    assert caught.value.hint.startswith("`rustup toolchain install 1.96`")
    assert caught.value.exit_code == ToolMissing.exit_code
    newer = world.toolchain("1.96.0", "1.96.0")  # a rustup toolchain that fits: used
    _std(newer, AARCH64_GNU)
    assert providers.plan(forced, by_name()["linux-aarch64-gnu"]).compiler == newer


@pytest.mark.parametrize("forced", ["debian", "build-std"])
def test_forced_debian_older_than_rust_version(world: World, project: Project,
                                               forced: str) -> None:
    _std(world.debian, AARCH64_GNU)
    _src(world.debian)
    newer = world.toolchain("1.97.0", "1.97.0")  # rustup's would do, but is not asked
    _std(newer, AARCH64_GNU)
    world.required = _needs("1.97")
    with pytest.raises(providers.RustVersionUnmet, match=rf"std-provider '{forced}' uses "
                       r"Debian's rustc-web \(1\.96\.0\)"):
        providers.plan(replace(project, std_provider=forced), by_name()["linux-aarch64-gnu"])


def test_none_fits_names_the_versions_and_the_fix(world: World, project: Project) -> None:
    _std(world.active, AARCH64_GNU)
    _std(world.debian, AARCH64_GNU)
    world.required = _needs("1.97")
    with pytest.raises(providers.RustVersionUnmet) as caught:
        providers.plan(project, by_name()["linux-aarch64-gnu"])
    assert caught.value.message == (
        "linux-aarch64-gnu: rust-version 1.97 (hello) needs rustc 1.97 or newer; here: "
        "rustup stable 1.95.0, Debian's rustc-web 1.96.0")
    assert caught.value.hint is not None and "`rustup toolchain install 1.97`" in (
        caught.value.hint)


def test_a_fitting_toolchain_without_the_target_says_add_it(world: World,
                                                            project: Project) -> None:
    _std(world.active, AARCH64_GNU)
    world.toolchain("1.97.0", "1.97.0")
    world.required = _needs("1.97")
    with pytest.raises(providers.RustVersionUnmet) as caught:
        providers.plan(project, by_name()["linux-aarch64-gnu"])
    assert caught.value.hint == f"`rustup target add --toolchain 1.97.0 {AARCH64_GNU}`"


def test_rustup_too_old_is_not_asked_to_add_the_target(world: World, project: Project) -> None:
    _std(world.debian, AARCH64_GNU)  # online project, rustup lacks the target
    target = by_name()["linux-aarch64-gnu"]
    world.required = _needs("1.96")
    chosen = providers.plan(project, target)
    assert providers.pending_action(project, target, chosen) == ""
    assert providers.ensure(project, target).compiler == world.debian
    assert not any(c[:3] == ["rustup", "target", "add"] for c in world.calls)
    world.required = _needs("1.95")  # today's behaviour when rustup's would do
    assert providers.pending_action(project, target, providers.plan(project, target)) == (
        f"rustup target add {AARCH64_GNU} (debian if that fails)")


@pytest.mark.parametrize(("release", "needed", "met"), [
    ("1.96.0", "1.96", True), ("1.95.0", "1.96", False), ("1.97.0-nightly", "1.97", True),
    ("1.96.0", "1.96.1", False), ("1.100.0", "1.99", True), ("1.96.0", "1", True)])
def test_requirement_compares_as_cargo(tmp_path: Path, release: str, needed: str,
                                       met: bool) -> None:
    assert providers.Requirement(needed, "x").met_by(
        _compiler("rustup", tmp_path, release)) is met


def test_highest_member_rust_version(tmp_path: Path) -> None:
    ws = workspace.Workspace(root=tmp_path, target_dir=tmp_path, name="w", version="0.1.0",
                             rust_versions=(("a", "1.70"), ("b", "1.9"), ("c", "1.96")))
    assert ws.rust_version() == ("c", "1.96")
    assert ws.rust_version(("a", "b")) == ("a", "1.70")
    assert ws.rust_version(("d",)) is None


def test_rust_versions_read_from_cargo_metadata(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSMATRIX_CACHE_DIR", str(tmp_path / "cache"))
    answer = {"workspace_root": str(tmp_path), "target_directory": str(tmp_path / "target"),
              "workspace_members": ["a 1", "b 1"], "packages": [
                  {"id": f"{n} 1", "name": n, "version": "0.1.0", "targets": [],
                   "dependencies": [], "rust_version": rv,
                   "manifest_path": str(tmp_path / n / "Cargo.toml")}
                  for n, rv in (("a", "1.96"), ("b", None), ("dep", "1.99"))]}
    monkeypatch.setattr(proc, "run", lambda argv, **kw: Result(tuple(argv), 0,
                                                               json.dumps(answer), ""))
    workspace.metadata.cache_clear()
    try:
        assert workspace.metadata(tmp_path).rust_versions == (("a", "1.96"),)
        project = Project(root=tmp_path, workspace=tmp_path, dist=tmp_path / "dist",
                          targets=(), cache_dir=tmp_path / "cache")
        assert providers.requirement(project) == providers.Requirement("1.96", "a")
    finally:
        workspace.metadata.cache_clear()


def test_toolchain_pins_as_rustup_finds_them(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "rustup"
    home.mkdir()
    monkeypatch.setenv("RUSTUP_HOME", str(home))
    monkeypatch.delenv("RUSTUP_TOOLCHAIN", raising=False)
    ws = tmp_path / "outer" / "ws"
    ws.mkdir(parents=True)
    assert compiler.toolchain_pin(ws) is None
    (ws / "rust-toolchain.toml").write_text('[toolchain]\ncomponents = ["clippy"]\n')
    assert compiler.toolchain_pin(ws) is None  # names no toolchain
    (tmp_path / "outer" / "rust-toolchain").write_text("1.95.0\n")
    assert compiler.toolchain_pin(ws) == f"{tmp_path / 'outer' / 'rust-toolchain'} (1.95.0)"
    (ws / "rust-toolchain.toml").write_text('[toolchain]\nchannel = "1.97"\n')
    assert compiler.toolchain_pin(ws) == f"{ws / 'rust-toolchain.toml'} (1.97)"
    (home / "settings.toml").write_text(f'[overrides]\n"{ws}" = "nightly"\n')
    assert compiler.toolchain_pin(ws) == f"rustup override nightly for {ws}"
    monkeypatch.setenv("RUSTUP_TOOLCHAIN", "beta")
    assert compiler.toolchain_pin(ws) == "RUSTUP_TOOLCHAIN=beta"


def test_installed_toolchains_from_rustup_remembered(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "rustup"
    monkeypatch.setenv("RUSTUP_HOME", str(home))
    monkeypatch.setenv("CROSSMATRIX_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("stable-x86_64-unknown-linux-gnu", "1.97.0-x86_64-unknown-linux-gnu"):
        (home / "toolchains" / name / "bin").mkdir(parents=True)
        for tool in ("rustc", "cargo"):
            (home / "toolchains" / name / "bin" / tool).write_text("")
    (home / "settings.toml").write_text("")
    asked: list[list[str]] = []

    def fake_run(argv: list[str], **kw: object) -> Result:
        asked.append(list(argv))
        if argv[1:] == ["toolchain", "list"]:
            return Result(tuple(argv), 0, "stable-x86_64-unknown-linux-gnu (active, default)\n"
                          "1.97.0-x86_64-unknown-linux-gnu\nnightly-gone\n", "")
        release = "1.97.0" if "1.97.0" in argv[0] else "1.95.0"
        if "-vV" in argv:
            return Result(tuple(argv), 0, f"rustc {release}\nrelease: {release}\n", "")
        return Result(tuple(argv), 0, str(Path(argv[0]).parent.parent) + "\n", "")

    monkeypatch.setattr(proc, "which", lambda name, path=None: str(tmp_path / name))
    monkeypatch.setattr(proc, "run", fake_run)
    compiler.rustup_toolchains.cache_clear()
    try:
        found = compiler.rustup_toolchains()
        assert [c.release for c in found] == ["1.95.0", "1.97.0"]  # nightly-gone: no files
        assert found[1].rustc == home / "toolchains" / "1.97.0-x86_64-unknown-linux-gnu" / \
            "bin" / "rustc"
        compiler.rustup_toolchains.cache_clear()
        before = len(asked)
        assert compiler.rustup_toolchains() == found
        assert len(asked) == before  # remembered: no rustup, no rustc asked again
    finally:
        compiler.rustup_toolchains.cache_clear()


def test_a_pinned_toolchain_not_here_does_not_stop_reading_the_workspace(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ouch 0.8.3 pins 1.93.0 in rust-toolchain.toml (seen in the corpus): rustup's cargo
    proxy fails at once there, and crossmatrix builds with a compiler that meets its
    rust-version; its manifests are read with rustup's default toolchain."""
    monkeypatch.setenv("CROSSMATRIX_CACHE_DIR", str(tmp_path / "cache"))
    home = tmp_path / "rustup"
    home.mkdir()
    (home / "settings.toml").write_text('default_toolchain = "stable-x86_64-unknown-linux-gnu"\n')
    monkeypatch.setenv("RUSTUP_HOME", str(home))
    monkeypatch.delenv("RUSTUP_TOOLCHAIN", raising=False)
    answer = {"workspace_root": str(tmp_path), "target_directory": str(tmp_path / "target"),
              "workspace_members": ["ouch 1"], "packages": [
                  {"id": "ouch 1", "name": "ouch", "version": "0.8.3", "targets": [],
                   "dependencies": [], "rust_version": "1.93.0",
                   "manifest_path": str(tmp_path / "Cargo.toml")}]}
    asked: list[str | None] = []

    def proxy(argv: list[str], **kw: object) -> Result:
        env = kw.get("env")
        pinned = env.get("RUSTUP_TOOLCHAIN") if isinstance(env, dict) else None
        asked.append(pinned)
        if argv[0] == "cargo" and pinned is None:
            return Result(tuple(argv), 1, "", "error: toolchain '1.93.0-x86_64-unknown-linux-"
                                              "gnu' is not installed\n")
        return Result(tuple(argv), 0, json.dumps(answer), "")

    monkeypatch.setattr(proc, "run", proxy)
    workspace.metadata.cache_clear()
    try:
        assert workspace.metadata(tmp_path).rust_versions == (("ouch", "1.93.0"),)
        assert asked == [None, "stable-x86_64-unknown-linux-gnu"]
    finally:
        workspace.metadata.cache_clear()
