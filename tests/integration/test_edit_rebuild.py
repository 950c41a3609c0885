"""The edit-rebuild loop across a matrix: after an edit, each target recompiles only what the
edit touched. Host build scripts and proc-macros (serde_derive, syn, cc) are shared by the
targets that use one compiler, so nothing crossmatrix gives one target's cargo call may
invalidate them for another (as a host-triple linker variable once did: 252 crates again).

What was compiled is cargo's own word: its JSON messages' ``fresh: false`` units, which
the compile step reports per target."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.integration.helpers import REPO, command, crossmatrix

pytestmark = pytest.mark.integration

#: four targets, three linkers (the host's gcc, zig for musl, MinGW-w64's gcc) and two
#: compilers (rustup's, and Debian's for linux-aarch64-gnu); std from the warm caches
TARGETS = ("linux-x86_64-gnu", "linux-aarch64", "windows-x86_64", "linux-aarch64-gnu")

APP = """use shapes::Shape;

fn main() {{
    // edit {n}
    let shape = Shape::new(3, shapes::c_double(2));
    println!("{{}}", serde_json::to_string(&shape).unwrap());
}}
"""


def _workspace(root: Path) -> Path:
    """A lib with a serde derive (host proc-macros) and a cc build script, and a program."""
    (root / "shapes" / "src").mkdir(parents=True)
    (root / "app" / "src").mkdir(parents=True)
    (root / "Cargo.toml").write_text(
        '[workspace]\nresolver = "2"\nmembers = ["shapes", "app"]\n')
    shutil.copy2(REPO / "crates" / "Cargo.lock", root / "Cargo.lock")  # versions cached here
    (root / "shapes" / "Cargo.toml").write_text(
        '[package]\nname = "shapes"\nversion = "0.1.0"\nedition = "2021"\n\n'
        '[dependencies]\nserde = { version = "1", features = ["derive"] }\n\n'
        '[build-dependencies]\ncc = "1"\n')
    (root / "shapes" / "build.rs").write_text(
        'fn main() { cc::Build::new().file("double.c").compile("double"); }\n')
    (root / "shapes" / "double.c").write_text("int double_it(int x) { return 2 * x; }\n")
    (root / "shapes" / "src" / "lib.rs").write_text(
        "#[derive(serde::Serialize)]\npub struct Shape { sides: u32, scale: i32 }\n"
        "impl Shape { pub fn new(sides: u32, scale: i32) -> Self { Self { sides, scale } } }\n"
        'extern "C" { fn double_it(x: i32) -> i32; }\n'
        "pub fn c_double(x: i32) -> i32 { unsafe { double_it(x) } }\n")
    (root / "app" / "Cargo.toml").write_text(
        '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n'
        '[dependencies]\nshapes = { path = "../shapes" }\nserde_json = "1"\n')
    (root / "app" / "src" / "main.rs").write_text(APP.format(n=0))
    # the sample workspace's lock, trimmed to these crates (crossmatrix builds --locked)
    fitted = command(["cargo", "metadata", "--offline", "--format-version", "1"], cwd=root)
    assert fitted.returncode == 0, fitted.stderr
    (root / "pyproject.toml").write_text(
        '[tool.crossmatrix]\noffline = true\n'
        f"targets = {list(TARGETS)!r}\n".replace("'", '"')
        + "".join(f'[tool.crossmatrix.target.{name}]\nstd-provider = "{provider}"\n'
                  for name, provider in (("linux-aarch64", "build-std"),
                                         ("windows-x86_64", "build-std"),
                                         ("linux-aarch64-gnu", "debian"))))
    return root


def _compiled(stderr: str) -> dict[str, str]:
    """Each target's "cargo compiled N of M units: …" line (shown from -v on), by target."""
    found = dict(re.findall(r"^(\S+) (cargo compiled .*)$", stderr, re.M))
    assert set(found) == set(TARGETS), stderr[-3000:]
    return found


def _counts(line: str) -> tuple[int, int]:
    found = re.match(r"cargo compiled (\d+) of (\d+) units", line)
    assert found, line
    return int(found[1]), int(found[2])


def test_an_edit_recompiles_only_the_edited_crate_for_every_target(tmp_path: Path) -> None:
    project = _workspace(tmp_path / "ws")
    first = crossmatrix(project, "-v", "compile")
    assert first.returncode == 0, first.stderr[-4000:]
    # host units (proc-macro2, syn, serde_derive, the build scripts) once per compiler:
    # the first target of Debian's compiler compiles them, the two after it reuse them
    cold = {t: _counts(line) for t, line in _compiled(first.stderr).items()}
    assert cold["linux-x86_64-gnu"][0] == cold["linux-x86_64-gnu"][1], cold  # rustup's alone
    debian = [cold[t] for t in TARGETS[1:]]
    assert debian[0][0] == debian[0][1], cold
    assert all(compiled < total for compiled, total in debian[1:]), cold

    again = crossmatrix(project, "-v", "compile")  # nothing changed: every unit fresh
    assert again.returncode == 0, again.stderr[-4000:]
    assert all(line.endswith("(all fresh)") for line in _compiled(again.stderr).values())

    (project / "app" / "src" / "main.rs").write_text(APP.format(n=1))
    edited = crossmatrix(project, "-v", "compile")
    assert edited.returncode == 0, edited.stderr[-4000:]
    for target, line in _compiled(edited.stderr).items():
        assert re.fullmatch(r"cargo compiled 1 of \d+ units: app \(bin\)", line), (target, line)
