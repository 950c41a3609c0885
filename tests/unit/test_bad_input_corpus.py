"""Bad input, the way users give it: 50+ malformed configurations, environment values and
task arguments, each through the real `crossmatrix` console script. Every one must end
with exit code 2 (3 for a missing host tool), one `error:` line (plus at most one `hint:`
line) naming the bad value, no traceback, and nothing written: the project's files, its
dist/ and the cache are byte-for-byte what they were."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent

#: (id, [tool.crossmatrix] body, extra environment, argv after `crossmatrix --project P`,
#:  text the error line must contain)
Case = tuple[str, str, dict[str, str], list[str], str]

CONFIG: list[Case] = [
    ("unknown-key", 'targts = ["linux-x86_64"]', {}, ["release"], "targts"),
    ("targets-string", 'targets = "linux-x86_64"', {}, ["release"], "targets"),
    ("targets-unknown", 'targets = ["linux-x86-64"]', {}, ["release"], "linux-x86-64"),
    ("targets-not-yet", 'targets = ["x86_64-unknown-illumos"]', {}, ["release"],
     "not supported yet: compile: no platform module for target_os illumos"),
    ("row-not-yet", '[tool.crossmatrix.target.sun]\ntriple = "x86_64-unknown-illumos"', {},
     ["release"], "not supported yet"),
    ("targets-number", "targets = [1]", {}, ["release"], "targets"),
    ("targets-glob-none", 'targets = ["linux-*-sparc"]', {}, ["release"], "linux-*-sparc"),
    ("profile-number", "profile = 3", {}, ["release"], "profile"),
    ("std-provider", 'std-provider = "nightly"', {}, ["release"], "nightly"),
    ("offline-string", 'offline = "yes"', {}, ["release"], "offline"),
    ("sccache-number", "sccache = 1", {}, ["release"], "sccache"),
    ("glibc-too-old", 'glibc = "2.5"', {}, ["release"], "2.5"),
    ("glibc-word", 'glibc = "two"', {}, ["release"], "two"),
    ("glibc-float", "glibc = 2.17", {}, ["release"], "glibc"),
    ("workspace-missing", 'workspace = "nope"', {}, ["release"], "nope"),
    ("workspace-number", "workspace = 5", {}, ["release"], "workspace"),
    ("dist-list", "dist = []", {}, ["release"], "dist"),
    ("packages-string", 'packages = "demo"', {}, ["release"], "packages"),
    ("features-bool", "features = [true]", {}, ["release"], "features"),
    ("std-features-string", 'std-features = "panic_immediate_abort"', {}, ["release"],
     "std-features"),
    ("std-features-unknown", 'std-features = ["optimise_for_size"]', {}, ["release"],
     "optimise_for_size"),
    ("cache-dir-number", "cache-dir = 7", {}, ["release"], "cache-dir"),
    ("smoke-args-string", 'smoke-args = "--version"', {}, ["release"], "smoke-args"),
    ("smoke-expect-string", 'smoke-expect-triple = "no"', {}, ["release"],
     "smoke-expect-triple"),
    ("allow-libraries-string", 'allow-libraries = "vendor.dll"', {}, ["release"],
     "allow-libraries"),
    ("name-number", "name = 1", {}, ["release"], "name"),
    ("target-not-table", 'target = "x"', {}, ["release"], "target"),
    ("target-linker-number", "[tool.crossmatrix.target.linux-x86_64]\nlinker = 1", {},
     ["release"], "linker"),
    ("target-std-provider", '[tool.crossmatrix.target.linux-x86_64]\nstd-provider = "apt"', {},
     ["release"], "apt"),
    ("target-rustflags-string", '[tool.crossmatrix.target.linux-x86_64]\nrustflags = "-Cx"',
     {}, ["release"], "rustflags"),
    ("target-env-number", "[tool.crossmatrix.target.linux-x86_64]\nenv = { A = 1 }", {},
     ["release"], "env"),
    ("target-floor-on-musl", '[tool.crossmatrix.target.linux-x86_64]\nglibc = "2.17"', {},
     ["release"], "linux-x86_64"),
    ("target-unknown-key", "[tool.crossmatrix.target.linux-x86_64]\nlinkr = 1", {},
     ["release"], "linkr"),
    ("target-unknown-name", '[tool.crossmatrix.target.linux-x86-64]\nlinker = "zig"', {},
     ["release"], "linux-x86-64"),
    ("target-allow-libraries", "[tool.crossmatrix.target.windows-x86_64]\n"
     "allow-libraries = [1]", {}, ["release"], "allow-libraries"),
    ("floor-with-gcc", '[tool.crossmatrix.target.linux-aarch64-gnu]\nglibc = "2.17"\n'
     'linker = "gcc"', {}, ["release", "--target", "linux-aarch64-gnu"], "glibc floor"),
    ("std-features-with-debian", 'std-features = ["optimize_for_size"]\n'
     'std-provider = "debian"', {}, ["release", "--target", "linux-aarch64-gnu"], "debian"),
    ("not-toml", "targets = [", {}, ["release"], "not valid TOML"),
    ("targets-empty", "targets = []", {}, ["release"], "targets = []"),
    ("dist-dotdot", 'dist = "../out"', {}, ["release"], "'../out'"),
    ("dist-absolute", 'dist = "/tmp/crossmatrix-dist"', {}, ["package"],
     "'/tmp/crossmatrix-dist'"),
    ("cache-dir-dotdot", 'cache-dir = "../cache"', {}, ["release"], "'../cache'"),
    ("profile-path", 'profile = "../release"', {}, ["release"], "'../release'"),
    ("profile-undefined", 'profile = "nightly-size"', {}, ["release"], "'nightly-size'"),
    ("target-env-key-equals", '[tool.crossmatrix.target.linux-x86_64]\nenv = { "A=B" = "1" }',
     {}, ["release"], "'A=B'"),
    ("target-env-key-empty", '[tool.crossmatrix.target.linux-x86_64]\nenv = { "" = "1" }', {},
     ["release"], "env key ''"),
    ("timeout-negative", "[tool.crossmatrix.timeouts]\nbuild = -5", {}, ["release"], "-5"),
    ("timeout-word", 'timeouts = { run = "soon" }', {}, ["run"], "soon"),
    ("timeout-unknown-kind", "[tool.crossmatrix.timeouts]\ncompile = 60", {}, ["compile"],
     "compile"),
    ("timeouts-not-table", "timeouts = 600", {}, ["release"], "timeouts"),
    ("ci-install-empty", 'ci-install = ""', {}, ["ci-generate"], "ci-install"),
    ("ci-install-option", 'ci-install = "--pre crossmatrix"', {}, ["ci-generate"],
     "'--pre crossmatrix'"),
    ("ci-install-two-lines", 'ci-install = "crossmatrix\\ncurl x | sh"', {},
     ["ci-generate", "--provider", "gitlab"], "line break"),
]

ENVIRONMENT: list[Case] = [
    ("env-offline", "", {"CROSSMATRIX_OFFLINE": "maybe"}, ["release"], "maybe"),
    ("env-std-provider", "", {"CROSSMATRIX_STD_PROVIDER": "apt"}, ["release"], "apt"),
    ("env-profile-path", "", {"CROSSMATRIX_PROFILE": "a/b"}, ["release"], "'a/b'"),
    ("env-profile-undefined", "", {"CROSSMATRIX_PROFILE": "nightly-size"}, ["compile"],
     "'nightly-size'"),
    ("env-timeout", "", {"CROSSMATRIX_TIMEOUT_BUILD": "2 hours"}, ["compile"], "2 hours"),
    ("env-verbose", "", {"CROSSMATRIX_VERBOSE": "loud"}, ["release"], "loud"),
    ("env-source-date-epoch", "", {"SOURCE_DATE_EPOCH": "yesterday"},
     ["release", "--target", "linux-x86_64"], "yesterday"),
    ("env-macos-deployment", "", {"MACOSX_DEPLOYMENT_TARGET": "eleven"},
     ["release", "--target", "macos-aarch64"], "eleven"),
]

ARGUMENTS: list[Case] = [
    ("arg-unknown-target", "", {}, ["release", "--target", "linux-x86-64"], "linux-x86-64"),
    ("arg-glob-none", "", {}, ["compile", "--target", "linux-*-sparc"], "linux-*-sparc"),
    ("arg-tag-none", "", {}, ["strip", "--target", "tag:sparc"], "sparc"),
    ("arg-floor-on-musl", "", {}, ["release", "--target", "linux-x86_64.2.17"],
     "linux-x86_64"),
    ("arg-floor-too-old", "", {}, ["release", "--target", "linux-aarch64-gnu.2.5"], "2.5"),
    ("arg-target-no-value", "", {}, ["release", "--target"], "--target"),
    ("arg-unknown-task", "", {}, ["relese"], "relese"),
    ("arg-unknown-flag", "", {}, ["release", "--bogus"], "--bogus"),
    ("arg-verify-glibc", "", {}, ["verify", "--target", "linux-x86_64-gnu", "--glibc", "two"],
     "two"),
    ("arg-deploy-from", "", {}, ["deploy", "--list", "--from", "/nonexistent/dist"],
     "/nonexistent/dist"),
    ("arg-deploy-keep-word", "", {}, ["deploy", "--dest", "opt", "--keep", "all"], "'all'"),
    ("arg-deploy-keep-negative", "", {}, ["deploy", "--dest", "opt", "--keep=-1"], "'-1'"),
    ("arg-deploy-keep-zero", "", {}, ["deploy", "--dest", "opt", "--keep", "0"], "--keep"),
    ("arg-ci-provider", "", {}, ["ci-generate", "--provider", "jenkins"], "jenkins"),
    ("arg-ci-matrix-tag", "", {}, ["ci-matrix", "--tag", "sparc"], "sparc"),
    ("arg-merge-nothing", "", {}, ["merge", "--out", "merged"], "merge"),
    ("arg-merge-missing", "", {}, ["merge", "--out", "merged", "--dir", "/nonexistent/a"],
     "/nonexistent/a"),
    ("arg-merge-out-not-release", "", {}, ["merge", "--partial", "--out", "project/src",
                                           "--dir", "project/dist"], "project/src"),
    ("arg-merge-out-file", "", {}, ["merge", "--partial", "--out", "project/Cargo.toml",
                                    "--dir", "project/dist"], "project/Cargo.toml"),
    ("arg-install-targets", "", {}, ["install-targets", "--target", "sparc-unknown-linux"],
     "sparc-unknown-linux"),
    ("arg-targets-unknown", "", {}, ["targets", "--target", "windows-arm64"], "windows-arm64"),
    ("arg-plan-unknown", "", {}, ["plan", "--json", "--target", "linux-sparc"], "linux-sparc"),
    # a triple rustc knows and crossmatrix cannot build yet: the steps refuse it
    ("arg-release-not-yet", "", {}, ["release", "--target", "x86_64-unknown-illumos"],
     "x86_64-unknown-illumos (known to "),
    ("arg-compile-typo-triple", "", {}, ["compile", "--target", "s390x-unknown-linux-muls"],
     "unknown target 's390x-unknown-linux-muls'"),
]

#: (id, files the project holds besides its Cargo.toml — text, or "-> PATH" for a symlink —,
#:  argv after `crossmatrix --project P`, text the error line must contain)
FileCase = tuple[str, dict[str, str], list[str], str]

FILES: list[FileCase] = [
    ("configure-dangling-link", {".cargo/config.toml": "-> ../nowhere/config.toml"},
     ["configure", "--target", "linux-x86_64"], "nowhere/config.toml"),
    ("ci-generate-foreign-gitlab", {".gitlab-ci.yml": "stages: [test]\n"},
     ["ci-generate", "--provider", "gitlab"], ".gitlab-ci.yml"),
    ("ci-generate-foreign-github", {".github/workflows/crossmatrix.yml": "on: push\n"},
     ["ci-generate"], "crossmatrix.yml"),
    ("ci-generate-foreign-out", {}, ["ci-generate", "--out", "project/Cargo.toml"],
     "Cargo.toml"),
]

#: (id, what the project's Cargo.toml has after its [package] table (and no pyproject.toml),
#:  argv after `crossmatrix --project P`, text the error line must contain)
CargoCase = tuple[str, str, list[str], str]

CARGO: list[CargoCase] = [
    ("cargo-targets-string", '[package.metadata.crossmatrix]\ntargets = "linux-x86_64"',
     ["release"], "Cargo.toml [package.metadata.crossmatrix]: targets"),
    ("cargo-unknown-key", "[package.metadata.crossmatrix]\ntargts = []", ["release"],
     "'targts' in"),
    ("cargo-workspace-target-key", "[workspace]\n"
     "[workspace.metadata.crossmatrix.target.linux-x86_64]\nlinkr = 1", ["compile"],
     "Cargo.toml [workspace.metadata.crossmatrix] target.linux-x86_64"),
    ("cargo-timeout-word", '[package.metadata.crossmatrix.timeouts]\nrun = "soon"', ["run"],
     "[package.metadata.crossmatrix] timeouts: run = 'soon'"),
    ("cargo-dist-dotdot", '[package.metadata.crossmatrix]\ndist = "../out"', ["package"],
     "Cargo.toml [package.metadata.crossmatrix]: dist = '../out'"),
    ("cargo-not-a-table", "[package.metadata]\ncrossmatrix = 5", ["release"],
     "Cargo.toml [package.metadata.crossmatrix] must be a table"),
    ("cargo-both-tables", "[workspace]\n[workspace.metadata.crossmatrix]\noffline = true\n"
     "[package.metadata.crossmatrix]\noffline = true", ["release"], "has both"),
    ("cargo-not-toml", "[package.metadata.crossmatrix\n", ["release"], "not valid TOML"),
]

CASES = CONFIG + ENVIRONMENT + ARGUMENTS

#: a member that build-depends on a crate named cmake (a path crate: nothing to fetch), and
#: the lock file cargo writes for it
_CMAKE_USER = {
    "Cargo.toml": '[package]\nname = "demo"\nversion = "0.1.0"\nedition = "2021"\n\n'
                  '[build-dependencies]\ncmake = { path = "vendor/cmake" }\n',
    "build.rs": "fn main() {}\n",
    "vendor/cmake/Cargo.toml": '[package]\nname = "cmake"\nversion = "0.1.54"\n'
                               'edition = "2021"\n',
    "vendor/cmake/src/lib.rs": "",
    "Cargo.lock": 'version = 4\n\n[[package]]\nname = "cmake"\nversion = "0.1.54"\n\n'
                  '[[package]]\nname = "demo"\nversion = "0.1.0"\ndependencies = [\n "cmake",\n]\n',
}

#: (id, project files, extra environment, argv, text the error line must contain): a
#: program a build script runs here is missing; exit 3 (ToolMissing) before cargo runs.
#: The host's own gnu target: should a check let one through, cargo fails at once.
TOOLS: list[tuple[str, dict[str, str], dict[str, str], list[str], str]] = [
    ("tool-cmake-missing", _CMAKE_USER, {}, ["compile", "--target", "linux-x86_64-gnu"],
     "demo needs cmake to build for linux-x86_64-gnu (its build script runs cmake"),
    ("tool-cmake-variable-names-none", _CMAKE_USER, {"CMAKE": "/nowhere/cmake"},
     ["test", "--no-run", "--target", "linux-x86_64-gnu"], "demo needs cmake"),
]


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) + len(FILES) + len(CARGO) >= 50
    ids = [case[0] for case in (*CASES, *FILES, *CARGO)]
    assert len(set(ids)) == len(ids)


def _snapshot(root: Path) -> dict[str, str]:
    found = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            found[rel] = f"-> {os.readlink(path)}"
        elif path.is_file():
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[rel] = "dir"
    return found


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_bad_input_is_one_line_exit_2_and_touches_nothing(case: Case, tmp_path: Path) -> None:
    _, body, extra_env, argv, needle = case
    _refused(tmp_path, body, {}, extra_env, argv, needle)


@pytest.mark.parametrize("case", FILES, ids=[case[0] for case in FILES])
def test_bad_files_are_one_line_exit_2_and_touch_nothing(case: FileCase, tmp_path: Path) -> None:
    _, files, argv, needle = case
    _refused(tmp_path, "", files, {}, argv, needle)


@pytest.mark.parametrize("case", CARGO, ids=[case[0] for case in CARGO])
def test_bad_cargo_toml_settings_are_one_line_exit_2_and_touch_nothing(
        case: CargoCase, tmp_path: Path) -> None:
    _, table, argv, needle = case
    _refused(tmp_path, "", {}, {}, argv, needle, cargo=table)


@pytest.mark.parametrize("case", TOOLS, ids=[case[0] for case in TOOLS])
def test_a_missing_host_tool_is_one_line_exit_3_and_touches_nothing(
        case: tuple[str, dict[str, str], dict[str, str], list[str], str],
        tmp_path: Path) -> None:
    _, files, extra_env, argv, needle = case
    cargo = shutil.which("cargo")
    folder = Path(cargo).parent if cargo else None
    if folder is None or (folder / "cmake").exists() or folder == Path("/usr/bin"):
        pytest.skip("needs a cargo in a folder without cmake (PATH is only that folder)")
    _refused(tmp_path, "", files, {"PATH": str(folder), **extra_env}, argv, needle, code=3)


def _refused(tmp_path: Path, body: str, files: dict[str, str], extra_env: dict[str, str],
             argv: list[str], needle: str, *, cargo: str | None = None, code: int = 2) -> None:
    """``body`` goes into pyproject.toml's [tool.crossmatrix]; with ``cargo``, there is no
    pyproject.toml and ``cargo`` follows Cargo.toml's [package] table. The exit code is
    ``code`` (2: bad input; 3: a tool missing)."""
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "Cargo.toml").write_text(
        '[package]\nname = "demo"\nversion = "0.1.0"\nedition = "2021"\n'
        + (f"\n{cargo}\n" if cargo is not None else ""))
    (project / "src" / "main.rs").write_text('fn main() { println!("demo"); }\n')
    if cargo is None:
        (project / "pyproject.toml").write_text(f"[tool.crossmatrix]\n{body}\n")
    for name, content in files.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content.startswith("-> "):
            path.symlink_to(content.removeprefix("-> "))
        else:
            path.write_text(content)
    old = project / "dist" / "linux-x86_64"
    old.mkdir(parents=True)
    (old / "SHA256SUMS").write_text("0" * 64 + "  demo.tar.gz\n")  # a release made before
    cache = tmp_path / "cache"
    cache.mkdir()
    before, cache_before = _snapshot(project), _snapshot(cache)
    # offline: should a case slip through as valid, it must not reach rustup's downloads
    env = {**os.environ, "CROSSMATRIX_CACHE_DIR": str(cache), "CROSSMATRIX_OFFLINE": "1",
           **extra_env}
    env.pop("CROSSMATRIX_PROJECT", None)
    result = subprocess.run([str(BIN / "crossmatrix"), "--project", str(project), *argv],
                            capture_output=True, text=True, env=env, cwd=tmp_path,
                            timeout=120, check=False)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == code, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert 1 <= len(lines) <= 2, lines
    assert lines[0].startswith("error: "), lines
    assert needle in lines[0], lines
    if len(lines) == 2:
        assert lines[1].startswith("  hint: "), lines
    assert _snapshot(project) == before
    assert _snapshot(cache) == cache_before
