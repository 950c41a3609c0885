"""Std provider selection, with fake compilers (no cargo, no rustup calls)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from tests.unit import fake_std
from tooling.errors import ToolMissing, UsageError
from tooling.matrix.config import Project, TargetSettings
from tooling.matrix.targets import by_name
from tooling.std import compiler, providers, sysroot
from tooling.util import proc
from tooling.util.proc import Result


def _compiler(kind: str, root: Path) -> compiler.Compiler:
    return compiler.Compiler(
        kind=kind,  # type: ignore[arg-type]
        rustc=root / "bin" / "rustc", cargo=root / "bin" / "cargo", release="1.96.0",
        commit_hash=f"{kind}-hash", host="x86_64-unknown-linux-gnu", sysroot=root,
        verbose_version=f"rustc 1.96.0 ({kind})\nrelease: 1.96.0\n",
    )


def _std(root: Path, triple: str) -> None:
    lib = root / "lib" / "rustlib" / triple / "lib"
    lib.mkdir(parents=True, exist_ok=True)
    (lib / "libstd-0123.rlib").write_bytes(b"")


def _src(root: Path) -> None:
    library = root / "lib" / "rustlib" / "src" / "rust" / "library"
    (library / "std").mkdir(parents=True)
    (library / "std" / "Cargo.toml").write_text("[package]\n")
    (library / "vendor").mkdir()


@dataclass
class World:
    """A rustup and a Debian compiler as folders; rustup cannot download anything."""

    rustup: compiler.Compiler
    debian: compiler.Compiler
    calls: list[list[str]] = field(default_factory=list)

    def asked_rustup_to_add(self) -> bool:
        return any(c[:3] == ["rustup", "target", "add"] for c in self.calls)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(_compiler("rustup", tmp_path / "rustup"), _compiler("debian", tmp_path / "debian"))
    monkeypatch.setattr(providers, "rustup_compiler", lambda ws: w.rustup)
    monkeypatch.setattr(providers, "debian_compiler", lambda: w.debian)
    monkeypatch.setattr(providers, "requirement", lambda project: None)  # no rust-version

    def fake_run(argv: list[str], **kw: object) -> Result:
        w.calls.append(list(argv))
        return Result(tuple(argv), 1, "", "error: could not download: no network")

    monkeypatch.setattr(proc, "run", fake_run)
    fake_std.answer_probes(monkeypatch)
    return w


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(root=tmp_path, workspace=tmp_path, dist=tmp_path / "dist",
                   targets=("linux-aarch64",), cache_dir=tmp_path / "cache")


def test_installed_rustup_target_wins(world: World,
                                      project: Project) -> None:
    _std(world.rustup.sysroot, "aarch64-unknown-linux-gnu")
    _std(world.debian.sysroot, "aarch64-unknown-linux-gnu")
    plan = providers.plan(project, by_name()["linux-aarch64-gnu"])
    assert plan.provider == "rustup"
    assert plan.compiler.kind == "rustup"
    assert plan.rustflags == ()


def test_debian_multiarch_std_when_rustup_cannot_add(world: World,
                                                     project: Project) -> None:
    _std(world.debian.sysroot, "aarch64-unknown-linux-gnu")
    target = by_name()["linux-aarch64-gnu"]
    planned = providers.plan(project, target)
    assert not world.asked_rustup_to_add()  # planning never installs
    assert providers.pending_action(project, target, planned) == (
        "rustup target add aarch64-unknown-linux-gnu (debian if that fails)")
    plan = providers.ensure(project, target)
    assert plan.provider == "debian"
    assert plan.compiler.kind == "debian"
    assert world.asked_rustup_to_add()


def test_tier_3_target_goes_straight_to_build_std(world: World, project: Project,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """rustup ships no std for a tier-3 target (rustc's spec says the tier): neither the plan
    nor the executor asks it to add one before building std."""
    from tooling.matrix import rustc_data

    _src(world.debian.sysroot)
    monkeypatch.setattr(rustc_data, "spec", lambda triple: rustc_data.Spec(
        triple=triple, linker=None, linker_flavor=None, tier=3))
    target = by_name()["linux-aarch64"]
    planned = providers.plan(project, target)
    assert planned.provider == "build-std"
    assert providers.pending_action(project, target, planned) == (
        f"build std into {planned.sysroot}")
    monkeypatch.setattr(sysroot, "build", lambda *a, **k: None)
    with pytest.raises(Exception, match="left no usable sysroot"):
        providers.ensure(project, target)  # the (faked) build made nothing
    assert not world.asked_rustup_to_add()
    # a tier-2 target is still offered to rustup first
    monkeypatch.setattr(rustc_data, "spec", lambda triple: rustc_data.Spec(
        triple=triple, linker=None, linker_flavor=None, tier=2))
    assert providers.pending_action(project, target, planned).startswith(
        "rustup target add aarch64-unknown-linux-musl")


def test_a_target_linked_with_rustups_own_c_runtime_is_never_served_by_build_std(
        world: World, project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """WASI: rustc links it with wasi-libc from rustup's std (its self-contained objects),
    which a std built from Debian's source lacks (a CI run built it, then rust-lld was not
    found; preview 2's build script failed). Offline, the plan says so in one line instead
    of building std; online, rustup is asked to add it. musl's crt goes through zig."""
    from tooling.matrix import rustc_data

    _src(world.debian.sysroot)
    wasi_like = rustc_data.Spec(triple="aarch64-unknown-linux-musl", linker="rust-lld",
                                linker_flavor="wasm-lld", tier=2, crt_objects_fallback="true")
    monkeypatch.setattr(rustc_data, "spec", lambda triple: wasi_like)
    target = by_name()["linux-aarch64"]
    offline = replace(project, offline=True)
    with pytest.raises(ToolMissing) as missing:
        providers.plan(offline, target)
    assert "rustup's std" in str(missing.value) and "Debian's source" in str(missing.value)
    assert (missing.value.hint or "").startswith("`rustup target add aarch64-unknown-linux-musl`")
    forced = replace(offline, per_target={target.name: TargetSettings(std_provider="build-std")})
    with pytest.raises(ToolMissing, match="from provider 'build-std': rustc links"):
        providers.plan(forced, target)
    monkeypatch.setattr(sysroot, "build", lambda *a, **k: pytest.fail("std built"))
    with pytest.raises(ToolMissing):
        providers.ensure(offline, target)
    assert not world.asked_rustup_to_add()
    with pytest.raises(ToolMissing):  # online: rustup is asked (the fake has no network)
        providers.ensure(project, target)
    assert world.asked_rustup_to_add()
    for shipped in (replace(wasi_like, linker=None, linker_flavor="gnu-cc",
                            crt_objects_fallback="musl"),
                    replace(wasi_like, linker_flavor="gnu-lld", crt_objects_fallback="false")):
        monkeypatch.setattr(rustc_data, "spec", lambda triple, s=shipped: s)
        assert providers.plan(offline, target).provider == "build-std"


def test_offline_project_never_asks_rustup(world: World,
                                           project: Project) -> None:
    _std(world.debian.sysroot, "aarch64-unknown-linux-gnu")
    offline = replace(project, offline=True)
    plan = providers.ensure(offline, by_name()["linux-aarch64-gnu"])
    assert plan.provider == "debian"
    assert providers.pending_action(offline, by_name()["linux-aarch64-gnu"], plan) == ""
    assert not world.asked_rustup_to_add()


def test_musl_falls_to_build_std_with_a_cached_sysroot_path(
        world: World, project: Project) -> None:
    _src(world.debian.sysroot)
    plan = providers.plan(project, by_name()["linux-aarch64"])
    assert plan.provider == "build-std"
    assert not plan.ready
    assert plan.sysroot is not None and plan.sysroot.parent == project.cache_dir / "sysroots"
    assert plan.rustflags == ("--sysroot", str(plan.sysroot))
    # a folder with a marker of no files is not an entry; one sealed (every file's hash)
    # by this key is ready, and reused as is
    (plan.sysroot / "lib").mkdir(parents=True)
    (plan.sysroot / sysroot.MARKER).write_text("{}")
    assert not providers.plan(project, by_name()["linux-aarch64"]).ready
    (plan.sysroot / "lib" / "libstd-1.rlib").write_bytes(b"std")
    sysroot.seal(plan.sysroot, sysroot.key_inputs(world.debian, "aarch64-unknown-linux-musl"))
    assert providers.plan(project, by_name()["linux-aarch64"]).ready


def test_debian_has_no_riscv64_std_so_build_std(world: World,
                                                project: Project) -> None:
    _src(world.debian.sysroot)
    assert providers.plan(project, by_name()["linux-riscv64-gnu"]).provider == "build-std"


def test_forced_provider_from_config(world: World,
                                     project: Project) -> None:
    _std(world.rustup.sysroot, "aarch64-unknown-linux-gnu")
    _std(world.debian.sysroot, "aarch64-unknown-linux-gnu")
    forced = replace(project, per_target={"linux-aarch64-gnu": TargetSettings(
        std_provider="debian")})
    assert providers.plan(forced, by_name()["linux-aarch64-gnu"]).provider == "debian"


def test_forcing_debian_for_musl_is_bad_input(world: World,
                                              project: Project) -> None:
    with pytest.raises(UsageError, match="cannot serve aarch64-unknown-linux-musl"):
        providers.plan(replace(project, std_provider="debian"), by_name()["linux-aarch64"])


def test_no_provider_says_what_to_install(world: World,
                                          project: Project) -> None:
    with pytest.raises(ToolMissing) as caught:
        providers.ensure(project, by_name()["linux-armv7"])
    assert "armv7-unknown-linux-musleabihf" in caught.value.message
    assert caught.value.hint is not None and "inv setup --target linux-armv7" in caught.value.hint


def test_sysroot_key_follows_compiler_triple_and_flags(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    fake_std.answer_probes(monkeypatch)
    a = _compiler("debian", tmp_path)
    _src(tmp_path)
    b = replace(a, commit_hash="other")
    triple = "aarch64-unknown-linux-musl"
    assert sysroot.key(a, triple) == sysroot.key(a, triple)
    assert sysroot.key(a, triple) != sysroot.key(b, triple)
    assert sysroot.key(a, triple) != sysroot.key(a, "x86_64-unknown-linux-musl")
    assert sysroot.key(a, triple) != sysroot.key(a, triple, ("-Ctarget-cpu=cortex-a53",))


def test_std_is_planned_for_the_panic_strategy_cargo_builds_with(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cargo.toml, then the cargo configs (they override it), then the environment."""
    from tooling.matrix.workspace import profile_panic

    ws = tmp_path / "ws"
    (ws / ".cargo").mkdir(parents=True)
    (ws / "Cargo.toml").write_text('[profile.dist]\ninherits = "release"\n')
    home = tmp_path / "cargo-home"
    home.mkdir()
    monkeypatch.setenv("CARGO_HOME", str(home))
    monkeypatch.delenv("CARGO_PROFILE_RELEASE_PANIC", raising=False)
    assert profile_panic(ws, "dist") == "unwind"
    (home / "config.toml").write_text('[profile.release]\npanic = "abort"\n')
    assert profile_panic(ws, "dist") == "abort"  # the user's cargo home config
    (ws / ".cargo" / "config.toml").write_text('[profile.release]\npanic = "unwind"\n')
    assert profile_panic(ws, "release") == "unwind"  # the nearer config wins
    monkeypatch.setenv("CARGO_PROFILE_RELEASE_PANIC", "abort")
    assert profile_panic(ws, "dist") == "abort"  # and the environment over both
