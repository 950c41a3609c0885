"""Hosts without apt (macOS, Fedora, a container without root): what is on PATH decides
whether a missing cross gcc, qemu or wine is something setup installs (an apt host) or
something crossmatrix goes without: zig links, rustup's rust-objcopy strips, and a
binary with no runner here is recorded "not run" with what to install."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pytest

from tooling.compile import linkers
from tooling.errors import ToolMissing
from tooling.matrix import config, host
from tooling.matrix.targets import Target, by_name
from tooling.plan import planner
from tooling.platforms import linux, strip, windows
from tooling.setup import install
from tooling.std import compiler, providers
from tooling.util import proc

APT = ("apt-get", "dpkg-query", "dpkg")


def only(monkeypatch: pytest.MonkeyPatch, programs: Iterable[str], *, root: bool = True) -> None:
    """PATH holds exactly ``programs`` (each found at /fake/bin/<name>)."""
    found = set(programs)
    monkeypatch.setattr(proc, "which",
                        lambda name, path=None: f"/fake/bin/{name}" if name in found else None)
    monkeypatch.setattr(os, "geteuid", lambda: 0 if root else 1000)


def test_an_apt_host_needs_apt_get_dpkg_query_and_root_or_sudo(
        monkeypatch: pytest.MonkeyPatch) -> None:
    only(monkeypatch, APT)
    assert host.installs_with_apt() and host.debian_system()
    only(monkeypatch, APT, root=False)
    assert not host.installs_with_apt()  # an Ubuntu runner without root or sudo
    assert host.debian_system()
    only(monkeypatch, (*APT, "sudo"), root=False)
    assert host.installs_with_apt()
    only(monkeypatch, ("dnf", "sudo"))
    assert not host.installs_with_apt() and not host.debian_system()


def test_debian_rustc_is_looked_for_on_a_debian_system_only(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    rustc, cargo = tmp_path / "rustc", tmp_path / "cargo"
    rustc.write_text("")
    cargo.write_text("")
    monkeypatch.setattr(compiler, "DEBIAN_RUSTC", rustc)
    monkeypatch.setattr(compiler, "DEBIAN_CARGO", cargo)
    probed: list[tuple[str, Path, Path]] = []

    def probe(kind: str, rustc: Path, cargo: Path) -> str:
        probed.append((kind, rustc, cargo))
        return "debian's"

    monkeypatch.setattr(compiler, "_compiler", probe)
    compiler.debian_compiler.cache_clear()
    try:
        only(monkeypatch, ("rustc", "cargo"))  # Fedora: /usr/bin/rustc is Fedora's
        assert compiler.debian_compiler() is None and probed == []
        compiler.debian_compiler.cache_clear()
        only(monkeypatch, APT)
        assert compiler.debian_compiler() == "debian's"  # type: ignore[comparison-overlap]
        assert probed == [("debian", rustc, cargo)]
    finally:
        compiler.debian_compiler.cache_clear()


def test_a_missing_qemu_is_not_run_with_the_install_hint_without_apt_only(
        monkeypatch: pytest.MonkeyPatch) -> None:
    aarch64 = by_name()["linux-aarch64"]
    only(monkeypatch, ())
    assert linux.cannot_run(aarch64) == "no qemu-aarch64 here (install qemu-user)"
    only(monkeypatch, ("qemu-aarch64",))
    assert linux.cannot_run(aarch64) is None  # static: qemu alone runs it
    only(monkeypatch, APT)
    assert linux.cannot_run(aarch64) is None  # setup installs qemu-user here
    only(monkeypatch, ())
    assert linux.cannot_run(by_name()["linux-x86_64"]) is None  # runs natively


def test_a_dynamic_foreign_binary_needs_the_cross_glibc_too(
        monkeypatch: pytest.MonkeyPatch) -> None:
    gnu = by_name()["linux-aarch64-gnu"]
    only(monkeypatch, ("qemu-aarch64",))
    monkeypatch.setattr(Path, "exists", lambda self: False)
    reason = linux.cannot_run(gnu)
    assert reason is not None and reason.startswith(
        "no aarch64 glibc at /usr/aarch64-linux-gnu here")
    monkeypatch.setattr(Path, "exists", lambda self: True)
    assert linux.cannot_run(gnu) is None


def test_a_missing_wine_is_not_run_without_apt_and_an_error_with_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    win = by_name()["windows-x86_64"]
    only(monkeypatch, ())
    assert windows.cannot_run(win) == "no wine here (install wine)"
    only(monkeypatch, APT)
    assert windows.cannot_run(win) is None
    with pytest.raises(ToolMissing, match="wine is not installed"):
        windows.wine_program(win)


def _project(tmp_path: Path, table: str = "") -> config.Project:
    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n')
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "main.rs").write_text("fn main() {}\n")
    (tmp_path / "pyproject.toml").write_text(f"[tool.crossmatrix]\n{table}\n")
    return config.load(tmp_path)


def test_zig_links_a_gcc_default_target_whose_gcc_is_absent_without_apt(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    project = _project(tmp_path)
    win, gnu = by_name()["windows-x86_64"], by_name()["linux-aarch64-gnu"]
    only(monkeypatch, ())
    for target in (win, gnu):
        link = linkers.for_project(project, target)
        assert link.kind == "zig" and link.present()
        assert link.instead == f"as {target.gcc} is not here (and no apt to install it)"
        assert link.instead in link.describe()
    assert linkers.for_project(project, win).zig_target == "x86_64-windows-gnu"
    only(monkeypatch, ("x86_64-w64-mingw32-gcc",))
    assert linkers.for_project(project, win).kind == "gcc"  # there: the default stays
    only(monkeypatch, APT)
    link = linkers.for_project(project, win)
    assert link.kind == "gcc" and not link.instead  # setup installs MinGW-w64 here
    assert "gcc-mingw-w64-x86-64-win32" in link.packages


def test_a_configured_gcc_is_never_swapped_for_zig(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    project = _project(tmp_path, '[tool.crossmatrix.target.windows-x86_64]\nlinker = "gcc"\n')
    only(monkeypatch, ())
    link = linkers.for_project(project, by_name()["windows-x86_64"])
    assert link.kind == "gcc" and not link.present()


def test_rustups_objcopy_strips_without_apt_and_binutils_with_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    aarch64 = by_name()["linux-aarch64"]
    objcopy = "/rustup/toolchains/x/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-objcopy"
    monkeypatch.setattr(strip, "rustup_objcopy", lambda: objcopy)
    only(monkeypatch, ())
    assert strip.find_strip(aarch64) == objcopy
    only(monkeypatch, ("llvm-strip",))
    assert strip.find_strip(aarch64) == "llvm-strip"  # a strip on PATH comes first
    only(monkeypatch, APT)
    with pytest.raises(ToolMissing) as raised:
        strip.find_strip(aarch64)
    assert "installs binutils-aarch64-linux-gnu" in (raised.value.hint or "")
    monkeypatch.setattr(strip, "rustup_objcopy", lambda: None)
    only(monkeypatch, ())
    with pytest.raises(ToolMissing) as raised:
        strip.find_strip(aarch64)
    assert raised.value.hint == ("install aarch64-linux-gnu-strip or llvm-strip "
                                 "(Debian's binutils-aarch64-linux-gnu)")


class _Plan:
    def __init__(self, targets: tuple[planner.TargetPlan, ...]) -> None:
        self.targets = targets


def _target_plan(name: str, missing: tuple[planner.Missing, ...] = (),
                 cannot_run: str | None = None) -> planner.TargetPlan:
    return planner.TargetPlan(target=by_name()[name], std=None, std_action="",
                              link=linkers.LinkerPlan(kind="zig", linker="cc", cc="cc", ar="ar"),
                              call=None, strip=None, runner="none", cannot_run=cannot_run,
                              steps=(), missing=missing)


def test_setup_without_apt_says_what_debian_would_get_and_what_to_install_here(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    project = _project(tmp_path)
    aarch64 = by_name()["linux-aarch64"]
    only(monkeypatch, ())
    monkeypatch.setattr(install, "needs", lambda targets, project: install.Needs(
        arches=("arm64",), packages=("file", "qemu-user")))
    monkeypatch.setattr(planner, "plan", lambda project, targets: _Plan((
        _target_plan("linux-aarch64", cannot_run="no qemu-aarch64 here (install qemu-user)"),)))
    assert install.setup([aarch64], project, dry_run=True) == []
    said = capsys.readouterr()
    text = said.out + said.err
    assert "setup: on Debian it would run: dpkg --add-architecture arm64" in text
    assert "setup: on Debian it would run: apt-get install file qemu-user" in text
    assert ("setup: here, to run linux-aarch64 too: no qemu-aarch64 here (install qemu-user)"
            in text)
    assert "setup: nothing missing here to build linux-aarch64" in text
    gap = planner.Missing(step="compile", what="no std for aarch64-unknown-linux-musl",
                          fix="`rustup target add aarch64-unknown-linux-musl`")
    monkeypatch.setattr(planner, "plan", lambda project, targets: _Plan((
        _target_plan("linux-aarch64", missing=(gap,)),)))
    with pytest.raises(ToolMissing, match="1 thing the selected targets need"):
        install.setup([aarch64], project, dry_run=True)
    said = capsys.readouterr()
    assert ("setup: here, install: linux-aarch64: no std for aarch64-unknown-linux-musl "
            "(compile): `rustup target add aarch64-unknown-linux-musl`") in said.out + said.err


def test_setup_without_apt_adds_the_rustup_targets_whose_std_is_missing(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    project = _project(tmp_path)
    aarch64, win = by_name()["linux-aarch64"], by_name()["windows-x86_64"]
    only(monkeypatch, ())
    monkeypatch.setattr(install, "needs", lambda targets, project: install.Needs(
        arches=(), packages=("file",)))
    monkeypatch.setattr(planner, "plan", lambda project, targets: _Plan(()))
    have = {win.name}
    ensured: list[str] = []

    def std_plan(project: config.Project, target: Target) -> None:
        if target.name not in have:
            raise ToolMissing(f"no std for {target.triple}")

    def ensure(project: config.Project, target: Target) -> None:
        ensured.append(target.name)

    monkeypatch.setattr(providers, "plan", std_plan)
    monkeypatch.setattr(providers, "ensure", ensure)
    install.setup([aarch64, win], project)
    assert ensured == ["linux-aarch64"]  # windows-x86_64's std is there already
    ensured.clear()
    install.setup([aarch64, win], project, dry_run=True)
    assert ensured == []  # a dry run adds nothing
