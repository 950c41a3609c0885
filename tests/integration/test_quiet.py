"""Quiet by default, loud on request, a log per target: a real, non-TTY `crossmatrix release`
of two targets (one by rustup, one with the cached build-std), then again with -v, then a
compile error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.helpers import crossmatrix

pytestmark = pytest.mark.integration

TARGETS = ("linux-x86_64-gnu", "linux-aarch64")


def _crate(root: Path) -> Path:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "Cargo.toml").write_text(
        '[package]\nname = "quiet"\nversion = "0.1.0"\nedition = "2021"\n')
    (root / "src" / "main.rs").write_text(
        'fn main() { println!("quiet ({})", std::env::consts::ARCH); }\n')
    (root / "pyproject.toml").write_text(
        f'[tool.crossmatrix]\noffline = true\ntargets = {list(TARGETS)!r}\n'.replace("'", '"')
        + '[tool.crossmatrix.target.linux-aarch64]\nstd-provider = "build-std"\n')
    return root


def test_a_release_says_three_lines_per_target_and_logs_the_rest(tmp_path: Path) -> None:
    crate = _crate(tmp_path / "quiet")
    result = crossmatrix(crate, "release")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stderr.splitlines()
    for name in TARGETS:
        said = [line for line in lines if line.startswith(f"{name} ")]
        assert 1 <= len(said) <= 3, said
        assert said[-1].startswith(f"{name} packaged dist/{name}/") or (
            f"packaged {crate}/dist/{name}/" in said[-1]), said
    # the targets' lines, the release line and nothing else: no command, no environment
    # (a std built from source says when it starts and when it is cached: once per machine)
    others = [line for line in lines if not line.startswith(TARGETS)
              and not line.startswith(("  building std for ", "  std for "))]
    assert [line for line in others if not line.startswith("warning:")] == [
        f"release: complete, 2 of 2 targets ({crate / 'dist' / 'release.json'})"]
    assert "CARGO_TARGET_" not in result.stderr and "Compiling quiet" not in result.stderr
    # the summary on stdout (plain text: no terminal), a row per target
    table = result.stdout.splitlines()
    assert table[0].startswith("target ") and "archive, sha256" in table[0]
    assert [row.split()[0] for row in table[1:]] == list(TARGETS)
    assert "ran under native" in table[1] and "ran under qemu-aarch64" in table[2]
    summary = (crate / "dist" / "SUMMARY.md").read_text().splitlines()
    assert summary[0].startswith("| target | std, compiler | linker |")
    assert [row.split(" | ")[0] for row in summary[2:]] == [f"| {n}" for n in TARGETS]
    assert "| build-std, rustc " in summary[3]
    for name in TARGETS:
        log = (crate / "dist" / "logs" / f"{name}.log").read_text()
        cargo = [line for line in log.splitlines() if line.startswith("+ ") and " build " in line
                 and "cargo" in line]
        assert cargo, log[-2000:]  # the cargo command, with the environment it adds
        assert f"CARGO_TARGET_{name.upper().replace('-', '_')}" not in cargo[0]  # not a name
        triple = {"linux-x86_64-gnu": "x86_64-unknown-linux-gnu",
                  "linux-aarch64": "aarch64-unknown-linux-musl"}[name]
        assert f"--target {triple}" in cargo[0]
        assert "Compiling quiet v0.1.0" in log  # cargo's own output
        assert f"{name} package: " in log  # the step lines the terminal did not get

    loud = crossmatrix(crate, "-v", "release")
    assert loud.returncode == 0, loud.stderr[-3000:]
    shown = [line for line in loud.stderr.splitlines() if line.startswith("+ ")]
    assert any("cargo" in line and "--target aarch64-unknown-linux-musl" in line
               for line in shown), loud.stderr[-3000:]
    assert any(line.startswith("linux-aarch64 compile with ") for line in
               loud.stderr.splitlines())  # the step lines too
    assert "release: complete, 2 of 2 targets" in loud.stderr


def test_a_compile_error_shows_cargos_error_lines_and_names_the_log(tmp_path: Path) -> None:
    crate = _crate(tmp_path / "broken")
    (crate / "src" / "main.rs").write_text("fn main() { let x: u32 = \"no\"; }\n")
    result = crossmatrix(crate, "release", "--target", "linux-x86_64-gnu")
    assert result.returncode == 1, result.stderr[-3000:]
    lines = result.stderr.rstrip().splitlines()
    assert any(line.startswith("error[E0308]: mismatched types") for line in lines)
    assert "Compiling quiet" not in result.stderr  # cargo's progress stays in the log
    log = crate / "dist" / "logs" / "linux-x86_64-gnu.log"
    named = [line for line in lines if line.startswith("linux-x86_64-gnu: the whole log: ")]
    assert len(named) == 1 and (crate / "dist" / "logs").samefile(
        Path(named[0].rsplit(": ", 1)[1]).parent), named
    assert lines[-2:] == ["error: linux-x86_64-gnu: cargo build failed (exit 101)",
                          "  hint: cargo's own error is above"]
    text = log.read_text()
    assert "Compiling quiet v0.1.0" in text and "error[E0308]" in text
    assert "error: linux-x86_64-gnu: cargo build failed (exit 101)" in text
