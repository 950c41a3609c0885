"""tooling.config: loading and validating ``[tool.crossmatrix]``, per-target tables, env layers.

Every test builds a real project folder in ``tmp_path``: a ``Cargo.toml`` and,
where the test needs one, a ``pyproject.toml``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tooling.errors import ConfigError, UsageError
from tooling.matrix import config
from tooling.matrix.config import Project, TargetSettings
from tooling.matrix.targets import TABLE, by_name, from_triple
from tooling.util import cachedir, timeouts

ENV_VARS = (
    "CROSSMATRIX_CACHE_DIR",
    "CROSSMATRIX_OFFLINE",
    "CROSSMATRIX_STD_PROVIDER",
    "CROSSMATRIX_PROJECT",
    "CROSSMATRIX_PROFILE",
    *(timeouts.env_name(kind) for kind in timeouts.KINDS),
)

MakeProject = Callable[..., Path]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No ``CROSSMATRIX_*`` variable of the caller's shell leaks into a test."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    # profiles are looked up in cargo's config files too: not the caller's
    monkeypatch.setenv("CARGO_HOME", str(tmp_path / "cargo-home"))
    for name in [n for n in os.environ if n.startswith("CARGO_PROFILE_")]:
        monkeypatch.delenv(name)
    yield


@pytest.fixture
def make_project(tmp_path: Path) -> MakeProject:
    """Create ``tmp_path/project`` with a cargo workspace and an optional pyproject."""

    def make(pyproject: str | None = None, *, workspace: str | None = "crates") -> Path:
        root = tmp_path / "project"
        root.mkdir(exist_ok=True)
        if workspace is not None:
            ws = root / workspace
            ws.mkdir(parents=True, exist_ok=True)
            (ws / "Cargo.toml").write_text(
                '[workspace]\nmembers = []\n\n[profile.dist]\ninherits = "release"\n',
                encoding="utf-8")
        if pyproject is not None:
            (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
        return root

    return make


def _short(exc: UsageError) -> str:
    """The rendered error, after checking it is at most two lines."""
    rendered = exc.render()
    assert len(rendered.splitlines()) <= 2, rendered
    return rendered


def _load_error(root: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        config.load(root)
    assert info.value.exit_code == 2
    _short(info.value)
    return info.value


FULL = """\
[project]
name = "example"

[tool.crossmatrix]
name = "edge-tools"
workspace = "crates"
dist = "out/dist"
targets = ["linux-aarch64", "linux-armv7*", "tag:gnu"]
profile = "dist"
packages = ["cli", "daemon"]
features = ["tls"]
std-provider = "rustup"
offline = true
cache-dir = "/var/cache/cm"
smoke-args = ["--help"]
smoke-expect-triple = false

[tool.crossmatrix.target.linux-aarch64]
linker = "gcc"
rustflags = ["-C", "target-cpu=cortex-a53"]
env = { FOO = "bar" }

[tool.crossmatrix.target.linux-riscv64-gnu]
std-provider = "build-std"
"""


# --- reading values ---------------------------------------------------------------------


def test_load_reads_all_values(make_project: MakeProject) -> None:
    root = make_project(FULL)
    project = config.load(root)
    assert project.root == root.resolve()
    assert project.name == "edge-tools"
    assert project.workspace == (root / "crates").resolve()
    assert project.dist == (root / "out" / "dist").resolve()
    assert project.targets == ("linux-aarch64", "linux-armv7*", "tag:gnu")
    assert project.profile == "dist"
    assert project.packages == ("cli", "daemon")
    assert project.features == ("tls",)
    assert project.std_provider == "rustup"
    assert project.offline is True
    assert project.cache_dir == Path("/var/cache/cm")
    assert project.smoke_args == ("--help",)
    assert project.smoke_expect_triple is False
    assert set(project.per_target) == {"linux-aarch64", "linux-riscv64-gnu"}
    aarch64 = project.per_target["linux-aarch64"]
    assert aarch64 == TargetSettings(
        linker="gcc", rustflags=("-C", "target-cpu=cortex-a53"), env={"FOO": "bar"}
    )
    assert project.per_target["linux-riscv64-gnu"].std_provider == "build-std"


def test_paths_are_relative_to_project_root_not_cwd(
    make_project: MakeProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\ndist = "dist"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    project = config.load(root)
    assert project.workspace == (root / "crates").resolve()
    assert project.dist == (root / "dist").resolve()
    assert project.workspace.is_absolute()
    assert project.dist.is_absolute()


def test_relative_cache_dir_is_relative_to_project_root(
    make_project: MakeProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\ncache-dir = "cache"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    project = config.load(root)
    assert project.cache_dir == (root / "cache").resolve()


def test_load_accepts_pyproject_file_path(make_project: MakeProject) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\nname = "x"\n')
    project = config.load(root / "pyproject.toml")
    assert project.root == root.resolve()
    assert project.name == "x"


def test_load_from_crossmatrix_project_env(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\nname = "from-env"\n')
    monkeypatch.setenv("CROSSMATRIX_PROJECT", str(root))
    assert config.load().name == "from-env"


def test_load_finds_root_from_cwd(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project('[tool.crossmatrix]\nname = "found"\n', workspace=".")
    (root / "src" / "bin").mkdir(parents=True)
    monkeypatch.chdir(root / "src" / "bin")
    project = config.load()
    assert project.root == root.resolve()
    assert project.name == "found"


def test_nearest_cargo_toml_is_the_root(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\nname = "outer"\n')
    monkeypatch.chdir(root / "crates")
    project = config.load()  # crates/ holds a Cargo.toml: it is the nearest root
    assert project.root == (root / "crates").resolve()
    assert project.name is None


def test_defaults_without_pyproject(make_project: MakeProject, tmp_path: Path) -> None:
    root = make_project(None, workspace=".")
    project = config.load(root)
    assert project.root == root.resolve()
    assert project.workspace == root.resolve()
    assert project.dist == (root / "dist").resolve()
    assert project.targets == tuple(t.name for t in TABLE)
    assert len(project.targets) == 10
    assert project.name is None
    assert project.profile == "release"
    assert project.packages == ()
    assert project.features == ()
    assert project.std_provider == "auto"
    assert project.offline is False
    assert project.cache_dir == tmp_path / "xdg-cache" / "crossmatrix"
    assert project.smoke_args == ("--version",)
    assert project.smoke_expect_triple is False  # exit 0 is the smoke test; the triple if asked
    assert dict(project.per_target) == {}


def test_defaults_with_pyproject_without_table(make_project: MakeProject) -> None:
    root = make_project('[project]\nname = "x"\n', workspace=".")
    project = config.load(root)
    assert project.targets == tuple(t.name for t in TABLE)
    assert project.std_provider == "auto"


def test_from_table_directly(make_project: MakeProject) -> None:
    root = make_project(None)
    project = config.from_table(root, {"workspace": "crates", "targets": ["tag:musl"]}, "here")
    assert project.targets == ("tag:musl",)
    assert project.workspace == (root / "crates").resolve()


# --- settings in Cargo.toml --------------------------------------------------------------

WORKSPACE_MANIFEST = '[workspace]\nmembers = []\n\n[profile.dist]\ninherits = "release"\n'
PACKAGE_MANIFEST = '[package]\nname = "demo"\nversion = "0.1.0"\nedition = "2021"\n'


def _cargo_project(tmp_path: Path, manifest: str, table: str = "") -> Path:
    """``tmp_path/cargo-project``: a Cargo.toml (``manifest`` and then ``table``), no
    pyproject.toml."""
    root = tmp_path / "cargo-project"
    root.mkdir(exist_ok=True)
    (root / "Cargo.toml").write_text(manifest + table, encoding="utf-8")
    return root


def _as_cargo(text: str, table: str) -> str:
    """FULL's settings as a Cargo.toml table: the same keys under ``[<table>]``."""
    settings = text[text.index("[tool.crossmatrix]"):]
    return settings.replace("[tool.crossmatrix", f"[{table}")


@pytest.mark.parametrize(("manifest", "table"), [
    (WORKSPACE_MANIFEST, "workspace.metadata.crossmatrix"),
    (PACKAGE_MANIFEST + '\n[profile.dist]\ninherits = "release"\n',
     "package.metadata.crossmatrix"),
])
def test_a_cargo_toml_table_reads_like_the_pyproject_one(make_project: MakeProject,
                                                         tmp_path: Path, manifest: str,
                                                         table: str) -> None:
    """Every key, every per-target table: the same project from either file."""
    from_pyproject = config.load(make_project(FULL))
    root = _cargo_project(tmp_path, manifest, "\n" + _as_cargo(FULL, table))
    (root / "crates").mkdir()
    (root / "crates" / "Cargo.toml").write_text(WORKSPACE_MANIFEST, encoding="utf-8")
    project = config.load(root)
    assert project.config_file == root.resolve() / "Cargo.toml"
    assert project.config_table == table
    assert project.table("target", "linux-aarch64") == f"[{table}.target.linux-aarch64]"
    assert project.workspace == (root / "crates").resolve()
    assert project.dist == (root / "out" / "dist").resolve()
    moved = replace(from_pyproject, root=project.root, workspace=project.workspace,
                    dist=project.dist, config_file=project.config_file, config_table=table)
    assert project == moved


def test_cargo_toml_workspace_defaults_to_its_own_folder(tmp_path: Path) -> None:
    root = _cargo_project(tmp_path, WORKSPACE_MANIFEST,
                          '\n[workspace.metadata.crossmatrix]\nname = "outside"\n'
                          'targets = ["linux-aarch64"]\n')
    project = config.load(root)
    assert (project.root, project.workspace) == (root.resolve(), root.resolve())
    assert (project.name, project.targets) == ("outside", ("linux-aarch64",))
    assert project.dist == root.resolve() / "dist"


def test_a_single_crate_reads_its_package_table(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    root = _cargo_project(tmp_path, PACKAGE_MANIFEST,
                          '\n[package.metadata.crossmatrix]\nsmoke-args = ["--help"]\n')
    (root / "src").mkdir()
    monkeypatch.chdir(root / "src")  # found from below, like a pyproject.toml
    project = config.load()
    assert project.smoke_args == ("--help",)
    assert project.workspace == root.resolve()
    assert project.table() == "[package.metadata.crossmatrix]"


def test_cargo_toml_metadata_of_other_tools_is_not_read(tmp_path: Path) -> None:
    root = _cargo_project(tmp_path, PACKAGE_MANIFEST,
                          '\n[package.metadata.docs.rs]\nall-features = true\n'
                          '[package.metadata]\ncrossmatrixx = { targets = "nope" }\n')
    project = config.load(root)
    assert project.targets == tuple(t.name for t in TABLE)
    assert project.config_table == "package.metadata.crossmatrix"  # where hints point


def test_pyproject_wins_over_cargo_toml_with_one_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _cargo_project(tmp_path, WORKSPACE_MANIFEST,
                          '\n[workspace.metadata.crossmatrix]\nname = "from-cargo"\n')
    (root / "pyproject.toml").write_text('[tool.crossmatrix]\nname = "from-pyproject"\n',
                                         encoding="utf-8")
    project = config.load(root)
    assert project.name == "from-pyproject"
    assert (project.config_file, project.config_table) == (root.resolve() / "pyproject.toml",
                                                           "tool.crossmatrix")
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    pyproject, cargo = root.resolve() / "pyproject.toml", root.resolve() / "Cargo.toml"
    assert err.startswith(f"warning: settings from {pyproject} [tool.crossmatrix]; "
                          f"{cargo} [workspace.metadata.crossmatrix] ignored"), err


def test_the_warning_also_names_the_workspace_cargo_toml_the_pyproject_points_at(
        make_project: MakeProject, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\n')
    manifest = root / "crates" / "Cargo.toml"
    manifest.write_text(manifest.read_text() + '[workspace.metadata.crossmatrix]\noffline = true\n')
    assert config.load(root).offline is False
    err = capsys.readouterr().err
    assert f"{manifest.resolve()} [workspace.metadata.crossmatrix] ignored" in err
    assert err.count("\n") == 1


def test_no_warning_without_two_tables(make_project: MakeProject, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    config.load(make_project('[tool.crossmatrix]\nworkspace = "crates"\n'))
    root = _cargo_project(tmp_path, WORKSPACE_MANIFEST,
                          '\n[workspace.metadata.crossmatrix]\noffline = true\n')
    (root / "pyproject.toml").write_text('[project]\nname = "mixed"\n', encoding="utf-8")
    assert config.load(root).offline is True  # a pyproject.toml without the table: Cargo's
    assert capsys.readouterr().err == ""


def test_a_cargo_toml_that_does_not_parse_is_cargos_to_report_beside_a_pyproject_table(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _cargo_project(tmp_path, "[workspace\n")
    (root / "pyproject.toml").write_text('[tool.crossmatrix]\nworkspace = "ws"\n',
                                         encoding="utf-8")
    (root / "ws").mkdir()
    (root / "ws" / "Cargo.toml").write_text(WORKSPACE_MANIFEST, encoding="utf-8")
    assert config.load(root).workspace == (root / "ws").resolve()
    assert capsys.readouterr().err == ""
    (root / "pyproject.toml").unlink()  # now Cargo.toml is where the settings would be
    exc = _load_error(root)
    assert f"{root.resolve() / 'Cargo.toml'} is not valid TOML" in exc.message


@pytest.mark.parametrize(("manifest", "table"), [
    (WORKSPACE_MANIFEST, "workspace.metadata.crossmatrix"),
    (PACKAGE_MANIFEST, "package.metadata.crossmatrix"),
])
@pytest.mark.parametrize(("lines", "place", "says"), [
    ('targets = "linux-aarch64"', ": targets", "list of strings"),
    ('targets = ["linux-sparc"]', ": targets", "linux-sparc"),
    ("targts = []", "", "unknown key 'targts'"),
    ('workspace = "nowhere"', "", "no Cargo.toml in"),
    ("[{table}.target.linux-aarch64]\nlinkr = 1", " target.linux-aarch64", "linkr"),
    ('[{table}.target.linux-x86_64]\nglibc = "2.17"', " target.linux-x86_64", "gnu targets"),
    ('[{table}.timeouts]\nrun = "soon"', " timeouts: run", "soon"),
    ("timeouts = 5", " timeouts", "must be a table"),
])
def test_errors_name_the_cargo_toml_and_its_table(tmp_path: Path, manifest: str, table: str,
                                                  lines: str, place: str, says: str) -> None:
    root = _cargo_project(tmp_path, manifest, f"\n[{table}]\n" + lines.format(table=table))
    exc = _load_error(root)
    where = f"{root.resolve() / 'Cargo.toml'} [{table}]"
    assert says in exc.message
    assert where + place in f"{exc.message} {exc.hint}", exc.render()


def test_both_cargo_tables_in_one_file_are_refused(tmp_path: Path) -> None:
    root = _cargo_project(tmp_path, PACKAGE_MANIFEST,
                          '\n[workspace]\n[workspace.metadata.crossmatrix]\noffline = true\n'
                          '[package.metadata.crossmatrix]\noffline = false\n')
    exc = _load_error(root)
    assert "has both [workspace.metadata.crossmatrix] and [package.metadata.crossmatrix]" \
        in exc.message
    assert exc.hint is not None and "keep one" in exc.hint


@pytest.mark.parametrize(("manifest", "table"), [
    (WORKSPACE_MANIFEST + "[workspace.metadata]\ncrossmatrix = 5\n",
     "workspace.metadata.crossmatrix"),
    (PACKAGE_MANIFEST + '[package.metadata]\ncrossmatrix = ["linux-x86_64"]\n',
     "package.metadata.crossmatrix"),
])
def test_a_cargo_table_that_is_not_a_table(tmp_path: Path, manifest: str, table: str) -> None:
    exc = _load_error(_cargo_project(tmp_path, manifest))
    assert f"Cargo.toml [{table}] must be a table" in exc.message


def test_timeout_errors_name_the_cargo_toml_table(tmp_path: Path) -> None:
    """The bound in force says which table sets it, once the project is loaded."""
    project = config.load(_cargo_project(tmp_path, WORKSPACE_MANIFEST,
                                         "\n[workspace.metadata.crossmatrix.timeouts]\nrun = 9\n"))
    assert project.timeouts == timeouts.Timeouts(run=9)  # the table is no part of the bounds
    before = timeouts.current()
    try:
        timeouts.use(project.timeouts)
        assert timeouts.setting("run") == "[workspace.metadata.crossmatrix.timeouts] run"
        assert 'run = "18s" in [workspace.metadata.crossmatrix.timeouts]' in timeouts.hint(
            "run", 9)
    finally:
        timeouts.use(before)
    assert timeouts.setting("run") == "[tool.crossmatrix.timeouts] run"


def test_without_settings_hints_point_at_the_root_cargo_toml(make_project: MakeProject,
                                                             tmp_path: Path) -> None:
    workspace = config.load(_cargo_project(tmp_path, WORKSPACE_MANIFEST))
    assert workspace.table("target", "linux-armv7") == (
        "[workspace.metadata.crossmatrix.target.linux-armv7]")
    assert workspace.config_file == tmp_path / "cargo-project" / "Cargo.toml"
    pyproject = config.load(make_project('[project]\nname = "x"\n', workspace="."))
    assert pyproject.table() == "[workspace.metadata.crossmatrix]"  # a Cargo.toml is there
    only = tmp_path / "only-pyproject"
    only.mkdir()
    (only / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    exc = _load_error(only)  # no workspace: the hint names the pyproject's table
    assert f"{only.resolve() / 'pyproject.toml'} [tool.crossmatrix]" in (exc.hint or "")


# --- validation errors ------------------------------------------------------------------


def test_unknown_top_key_suggests_targets(make_project: MakeProject) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\ntargts = ["linux-x86_64"]\n')
    exc = _load_error(root)
    assert "targts" in exc.message
    assert exc.hint is not None
    assert "targets" in exc.hint
    assert "did you mean" in exc.hint


def test_unknown_top_key_without_close_match_lists_allowed(make_project: MakeProject) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\nzzzzzz = 1\n')
    exc = _load_error(root)
    assert "zzzzzz" in exc.message
    assert exc.hint is not None
    assert "targets" in exc.hint
    assert "std-provider" in exc.hint


def test_unknown_per_target_key(make_project: MakeProject) -> None:
    root = make_project(
        '[tool.crossmatrix]\nworkspace = "crates"\n'
        '[tool.crossmatrix.target.linux-aarch64]\nlinkr = "gcc"\n'
    )
    exc = _load_error(root)
    assert "linkr" in exc.message
    assert "linux-aarch64" in exc.message
    assert exc.hint is not None
    assert "linker" in exc.hint


@pytest.mark.parametrize(
    ("line", "key", "expected"),
    [
        ('targets = "linux-aarch64"', "targets", "list of strings"),
        ('offline = "yes"', "offline", "true or false"),
        ("packages = [1]", "packages", "list of strings"),
        ('features = "tls"', "features", "list of strings"),
        ("name = 3", "name", "non-empty string"),
        ('name = ""', "name", "non-empty string"),
        ("dist = []", "dist", "non-empty string"),
        ("smoke-expect-triple = 1", "smoke-expect-triple", "true or false"),
        ('smoke-args = "--version"', "smoke-args", "list of strings"),
        ("cache-dir = 5", "cache-dir", "non-empty string"),
        ('target = "linux-aarch64"', "target", "table"),
    ],
)
def test_wrong_types(make_project: MakeProject, line: str, key: str, expected: str) -> None:
    root = make_project(f'[tool.crossmatrix]\nworkspace = "crates"\n{line}\n')
    exc = _load_error(root)
    assert key in exc.message
    assert expected in exc.message


@pytest.mark.parametrize("value", ["false", '""'])
def test_falsy_cache_dir_is_rejected(make_project: MakeProject, value: str) -> None:
    root = make_project(f'[tool.crossmatrix]\nworkspace = "crates"\ncache-dir = {value}\n')
    _load_error(root)


# --- paths, profiles, environment names ---------------------------------------------------


@pytest.mark.parametrize(("value", "why"), [
    ("../dist", "goes up with '..'"),
    ("out/../../dist", "goes up with '..'"),
    ("out/../dist", "goes up with '..'"),
    ("/tmp/dist", "not relative to the project"),
    ("~/dist", "not relative to the project"),
    (".", "the project's own folder"),
    ("./", "the project's own folder"),
])
def test_dist_must_be_a_folder_inside_the_project(make_project: MakeProject, value: str,
                                                  why: str) -> None:
    root = make_project(f'[tool.crossmatrix]\nworkspace = "crates"\ndist = "{value}"\n')
    exc = _load_error(root)
    assert f"dist = {value!r}" in exc.message
    assert why in exc.message
    assert exc.hint is not None and 'dist = "dist"' in exc.hint


def test_dist_in_a_subfolder_is_fine(make_project: MakeProject) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\ndist = "./out/dist"\n')
    assert config.load(root).dist == (root / "out" / "dist").resolve()


@pytest.mark.parametrize("value", ["../cache", "a/../../cache", "."])
def test_relative_cache_dir_may_not_leave_the_project(make_project: MakeProject,
                                                      value: str) -> None:
    root = make_project(f'[tool.crossmatrix]\nworkspace = "crates"\ncache-dir = "{value}"\n')
    exc = _load_error(root)
    assert f"cache-dir = {value!r}" in exc.message
    assert exc.hint is not None and "absolute path" in exc.hint


def test_absolute_and_home_cache_dirs_are_kept(make_project: MakeProject, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache shared by several projects or CI jobs lives outside any one of them."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\ncache-dir = "~/cm"\n')
    assert config.load(root).cache_dir == tmp_path / "home" / "cm"
    shared = tmp_path / "shared" / "cache"
    root = make_project(f'[tool.crossmatrix]\nworkspace = "crates"\ncache-dir = "{shared}"\n')
    assert config.load(root).cache_dir == shared


@pytest.mark.parametrize("value", ["../x", "a/b", "fast lto", "-x", "a.b", "sp\u00e9cial"])
def test_profile_must_be_a_simple_name(make_project: MakeProject, value: str) -> None:
    root = make_project(f'[tool.crossmatrix]\nworkspace = "crates"\nprofile = "{value}"\n')
    exc = _load_error(root)
    assert f"profile = {value!r}" in exc.message
    assert "not a cargo profile name" in exc.message


def test_env_profile_must_be_a_simple_name(make_project: MakeProject,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\n')
    monkeypatch.setenv("CROSSMATRIX_PROFILE", "../../etc")
    exc = _load_error(root)
    assert "CROSSMATRIX_PROFILE = '../../etc'" in exc.message


@pytest.mark.parametrize("name", ["dev", "release", "test", "bench"])
def test_cargo_builtin_profiles_need_no_table(make_project: MakeProject, name: str) -> None:
    root = make_project(f'[tool.crossmatrix]\nworkspace = "crates"\nprofile = "{name}"\n')
    assert config.load(root).profile == name


def test_a_profile_the_workspace_does_not_define_is_refused(make_project: MakeProject) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\nprofile = "fast"\n')
    exc = _load_error(root)
    assert "profile = 'fast'" in exc.message
    assert str(root / "crates" / "Cargo.toml") in exc.message
    assert exc.hint is not None and "[profile.fast]" in exc.hint


def test_env_profile_the_workspace_does_not_define_is_refused(
        make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\n')
    monkeypatch.setenv("CROSSMATRIX_PROFILE", "fast")
    exc = _load_error(root)
    assert "CROSSMATRIX_PROFILE = 'fast'" in exc.message
    monkeypatch.setenv("CROSSMATRIX_PROFILE", "dist")  # defined by the fixture's workspace
    assert config.load(root).profile == "dist"


def test_profiles_come_from_the_workspace_root_manifest(make_project: MakeProject) -> None:
    """A member folder as the workspace: cargo reads profiles from the root above it."""
    root = make_project(None, workspace=None)
    (root / "Cargo.toml").write_text('[workspace]\nmembers = ["app"]\n\n'
                                     '[profile.fast]\ninherits = "release"\n')
    (root / "app").mkdir()
    (root / "app" / "Cargo.toml").write_text('[package]\nname = "app"\nversion = "0.1.0"\n')
    (root / "pyproject.toml").write_text(
        '[tool.crossmatrix]\nworkspace = "app"\nprofile = "fast"\n')
    assert config.load(root).profile == "fast"
    (root / "pyproject.toml").write_text(
        '[tool.crossmatrix]\nworkspace = "app"\nprofile = "small"\n')
    exc = _load_error(root)
    assert str(root / "Cargo.toml") in exc.message


def test_profiles_from_cargo_config_and_environment_count(
        make_project: MakeProject, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """cargo itself accepts a profile defined only in .cargo/config.toml, in
    $CARGO_HOME/config.toml or by CARGO_PROFILE_<NAME>_* variables."""
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\nprofile = "small-lto"\n')
    _load_error(root)
    monkeypatch.setenv("CARGO_PROFILE_SMALL_LTO_INHERITS", "release")
    assert config.load(root).profile == "small-lto"
    monkeypatch.delenv("CARGO_PROFILE_SMALL_LTO_INHERITS")
    home = tmp_path / "cargo-home"
    home.mkdir()
    (home / "config.toml").write_text('[profile.small-lto]\ninherits = "release"\n')
    assert config.load(root).profile == "small-lto"
    (home / "config.toml").unlink()
    (root / ".cargo").mkdir()
    (root / ".cargo" / "config.toml").write_text('[profile.small-lto]\ninherits = "release"\n')
    assert config.load(root).profile == "small-lto"


def test_empty_targets_list_is_refused(make_project: MakeProject) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\ntargets = []\n')
    exc = _load_error(root)
    assert "targets = []" in exc.message
    assert exc.hint is not None and "remove the key" in exc.hint


@pytest.mark.parametrize(("table", "shown"), [
    ('{ "A=B" = "1" }', "'A=B'"),
    ('{ "" = "1" }', "''"),
    ('{ "=" = "1" }', "'='"),
    ('{ "A\\u0000" = "1" }', "'A\\x00'"),
])
def test_env_keys_must_be_variable_names(make_project: MakeProject, table: str,
                                         shown: str) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\n'
                        f'[tool.crossmatrix.target.linux-aarch64]\nenv = {table}\n')
    exc = _load_error(root)
    assert f"env key {shown}" in exc.message
    assert "linux-aarch64" in exc.message


def test_env_value_with_nul_is_refused(make_project: MakeProject) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\n'
                        '[tool.crossmatrix.target.linux-aarch64]\nenv = { A = "x\\u0000" }\n')
    exc = _load_error(root)
    assert "env A" in exc.message


@pytest.mark.parametrize(
    ("table", "line"),
    [
        ("linux-aarch64", "linker = 1"),
        ("linux-aarch64", 'rustflags = "-Ctarget-cpu=native"'),
        ("linux-aarch64", "env = { A = 1 }"),
        ("linux-aarch64", 'env = "A=1"'),
    ],
)
def test_wrong_per_target_types(make_project: MakeProject, table: str, line: str) -> None:
    root = make_project(
        f'[tool.crossmatrix]\nworkspace = "crates"\n[tool.crossmatrix.target.{table}]\n{line}\n'
    )
    exc = _load_error(root)
    assert table in exc.message


def test_per_target_entry_that_is_not_a_table(make_project: MakeProject) -> None:
    root = make_project(
        '[tool.crossmatrix]\nworkspace = "crates"\n'
        '[tool.crossmatrix.target]\nlinux-aarch64 = "gcc"\n'
    )
    exc = _load_error(root)
    assert "linux-aarch64" in exc.message
    assert "table" in exc.message


def test_std_provider_rejected_naming_allowed_values(make_project: MakeProject) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\nstd-provider = "magic"\n')
    exc = _load_error(root)
    assert "magic" in exc.message
    for allowed in config.STD_PROVIDERS:
        assert allowed in exc.message


def test_per_target_std_provider_rejected(make_project: MakeProject) -> None:
    root = make_project(
        '[tool.crossmatrix]\nworkspace = "crates"\n'
        '[tool.crossmatrix.target.linux-armv7]\nstd-provider = "magic"\n'
    )
    exc = _load_error(root)
    assert "magic" in exc.message
    assert "build-std" in exc.message


@pytest.mark.parametrize("value", config.STD_PROVIDERS)
def test_every_std_provider_accepted(make_project: MakeProject, value: str) -> None:
    root = make_project(f'[tool.crossmatrix]\nworkspace = "crates"\nstd-provider = "{value}"\n')
    assert config.load(root).std_provider == value


def test_per_target_table_for_unknown_target_suggests(make_project: MakeProject) -> None:
    root = make_project(
        '[tool.crossmatrix]\nworkspace = "crates"\n'
        '[tool.crossmatrix.target.linux-aarch65]\nlinker = "gcc"\n'
    )
    with pytest.raises(UsageError) as info:
        config.load(root)
    exc = info.value
    assert exc.exit_code == 2
    assert "linux-aarch65" in exc.message
    assert exc.hint is not None
    assert "linux-aarch64" in exc.hint
    _short(exc)


def test_unknown_name_in_targets_list_suggests(make_project: MakeProject) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\ntargets = ["linux-sparc"]\n')
    with pytest.raises(UsageError) as info:
        config.load(root)
    assert "linux-sparc" in info.value.message
    assert info.value.hint is not None
    assert "did you mean" in info.value.hint
    _short(info.value)


def test_workspace_without_cargo_toml(make_project: MakeProject) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "nothing-here"\n')
    (root / "nothing-here").mkdir()
    exc = _load_error(root)
    assert "Cargo.toml" in exc.message
    assert "nothing-here" in exc.message
    assert exc.hint is not None
    assert "workspace" in exc.hint


def test_missing_workspace_folder(make_project: MakeProject) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "missing"\n')
    exc = _load_error(root)
    assert "Cargo.toml" in exc.message


def test_project_without_any_cargo_toml(make_project: MakeProject) -> None:
    root = make_project('[tool.crossmatrix]\nname = "x"\n', workspace=None)
    exc = _load_error(root)
    assert "Cargo.toml" in exc.message


@pytest.mark.parametrize(
    "text",
    [
        "[tool.crossmatrix\nworkspace = 'crates'\n",
        "[tool.crossmatrix]\nworkspace = = 'crates'\n",
        "[tool.crossmatrix]\nname = 'a'\nname = 'b'\n",
    ],
)
def test_invalid_toml_is_a_config_error(make_project: MakeProject, text: str) -> None:
    root = make_project(text)
    exc = _load_error(root)
    assert "pyproject.toml" in exc.message
    assert "not valid TOML" in exc.message
    assert isinstance(exc.__cause__, Exception)


def test_tool_crossmatrix_not_a_table(make_project: MakeProject) -> None:
    root = make_project('[tool]\ncrossmatrix = "yes"\n')
    exc = _load_error(root)
    assert "[tool.crossmatrix]" in exc.message


def test_project_path_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "project"
    exc = _load_error(missing)
    assert str(missing) in exc.message
    assert exc.hint is not None
    assert "--project" in exc.hint


def test_no_root_above_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    if any((p / "pyproject.toml").is_file() or (p / "Cargo.toml").is_file()
           for p in (empty, *empty.parents)):
        pytest.skip("a pyproject.toml or Cargo.toml sits above the temporary folder")
    monkeypatch.chdir(empty)
    with pytest.raises(ConfigError) as info:
        config.load()
    assert info.value.hint is not None
    assert "--project" in info.value.hint
    _short(info.value)


def test_config_error_is_a_usage_error() -> None:
    exc = ConfigError("bad", "fix it")
    assert isinstance(exc, UsageError)
    assert exc.exit_code == 2
    assert exc.render() == "error: bad\n  hint: fix it"
    assert ConfigError("bad").render() == "error: bad"


# --- environment layer ------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("true", True),
                                                  ("0", False), ("false", False)])
def test_env_offline(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    root = make_project(
        f'[tool.crossmatrix]\nworkspace = "crates"\noffline = {str(not expected).lower()}\n'
    )
    monkeypatch.setenv("CROSSMATRIX_OFFLINE", value)
    assert config.load(root).offline is expected


def test_env_offline_invalid(make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\n')
    monkeypatch.setenv("CROSSMATRIX_OFFLINE", "maybe")
    exc = _load_error(root)
    assert "CROSSMATRIX_OFFLINE" in exc.message
    assert "maybe" in exc.message


def test_env_std_provider(make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\nstd-provider = "rustup"\n')
    monkeypatch.setenv("CROSSMATRIX_STD_PROVIDER", "build-std")
    project = config.load(root)
    assert project.std_provider == "rustup"  # the file's value stays what the file says
    assert project.std_provider_override == "build-std"
    assert project.std_provider_for(by_name()["linux-x86_64"]) == "build-std"


def test_env_std_provider_invalid(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\n')
    monkeypatch.setenv("CROSSMATRIX_STD_PROVIDER", "magic")
    exc = _load_error(root)
    assert "CROSSMATRIX_STD_PROVIDER" in exc.message
    assert "magic" in exc.message


def test_env_std_provider_overrides_per_target_table(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project(
        '[tool.crossmatrix]\nworkspace = "crates"\n'
        '[tool.crossmatrix.target.linux-aarch64-gnu]\nstd-provider = "debian"\n'
    )
    monkeypatch.setenv("CROSSMATRIX_STD_PROVIDER", "build-std")
    project = config.load(root)
    assert project.std_provider_for(by_name()["linux-aarch64-gnu"]) == "build-std"


def test_env_cache_dir(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\ncache-dir = "/from/config"\n')
    monkeypatch.setenv("CROSSMATRIX_CACHE_DIR", str(tmp_path / "env-cache"))
    assert config.load(root).cache_dir == tmp_path / "env-cache"


def test_env_cache_dir_expands_user(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = make_project(None, workspace=".")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CROSSMATRIX_CACHE_DIR", "~/cm-cache")
    assert config.load(root).cache_dir == tmp_path / "home" / "cm-cache"


def test_config_cache_dir_used_without_env(make_project: MakeProject) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\ncache-dir = "/from/config"\n')
    assert config.load(root).cache_dir == Path("/from/config")


def test_env_unset_keeps_project(make_project: MakeProject) -> None:
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\noffline = true\n')
    project = config.load(root)
    assert config.apply_env(project) is project


# --- per-target settings ------------------------------------------------------------------


def test_linker_defaults_come_from_the_table(make_project: MakeProject) -> None:
    project = config.load(make_project(None, workspace="."))
    for target in TABLE:
        assert project.settings_for(target) == TargetSettings()
        assert project.linker_for(target) == target.linker
        assert project.std_provider_for(target) == "auto"


def test_per_target_linker_override(make_project: MakeProject) -> None:
    sdk_gcc = "/opt/sdk/bin/aarch64-buildroot-linux-gnu-gcc"
    root = make_project(
        '[tool.crossmatrix]\nworkspace = "crates"\nstd-provider = "rustup"\n'
        "[tool.crossmatrix.target.linux-x86_64]\n"
        'linker = "gcc"\n'
        "[tool.crossmatrix.target.linux-aarch64-gnu]\n"
        f'linker = "{sdk_gcc}"\n'
        'std-provider = "debian"\n'
    )
    project = config.load(root)
    assert project.linker_for(by_name()["linux-x86_64"]) == "gcc"
    assert project.linker_for(by_name()["linux-aarch64-gnu"]) == sdk_gcc
    assert project.linker_for(by_name()["linux-armv7"]) == "zig"  # no table: the row's default
    assert project.std_provider_for(by_name()["linux-aarch64-gnu"]) == "debian"
    assert project.std_provider_for(by_name()["linux-x86_64"]) == "rustup"


def test_settings_for_table_keyed_by_triple(make_project: MakeProject) -> None:
    root = make_project(
        '[tool.crossmatrix]\nworkspace = "crates"\n'
        "[tool.crossmatrix.target.aarch64-unknown-linux-gnu]\n"
        'linker = "aarch64-linux-gnu-gcc-12"\n'
        'rustflags = ["-C", "target-cpu=neoverse-n1"]\n'
    )
    project = config.load(root)
    row = by_name()["linux-aarch64-gnu"]
    settings = project.settings_for(row)
    assert settings.linker == "aarch64-linux-gnu-gcc-12"
    assert settings.rustflags == ("-C", "target-cpu=neoverse-n1")
    assert project.linker_for(row) == "aarch64-linux-gnu-gcc-12"
    assert project.settings_for(by_name()["linux-aarch64"]) == TargetSettings()


def test_settings_for_ad_hoc_triple(make_project: MakeProject) -> None:
    triple = "armv7-unknown-linux-gnueabihf"
    root = make_project(
        '[tool.crossmatrix]\nworkspace = "crates"\n'
        f'targets = ["{triple}"]\n'
        f'[tool.crossmatrix.target.{triple}]\nlinker = "zig"\n'
    )
    project = config.load(root)
    target = from_triple(triple)
    assert target is not None
    assert project.targets == (triple,)
    assert project.linker_for(target) == "zig"


def test_settings_for_prefers_name_over_triple(make_project: MakeProject) -> None:
    root = make_project(
        '[tool.crossmatrix]\nworkspace = "crates"\n'
        '[tool.crossmatrix.target.linux-aarch64-gnu]\nlinker = "by-name"\n'
        '[tool.crossmatrix.target.aarch64-unknown-linux-gnu]\nlinker = "by-triple"\n'
    )
    assert config.load(root).linker_for(by_name()["linux-aarch64-gnu"]) == "by-name"


def test_a_floored_target_keeps_its_base_targets_settings(make_project: MakeProject) -> None:
    """`--target linux-aarch64-gnu.2.17` is linux-aarch64-gnu linked against an older glibc:
    its pre-build, std provider and libraries are still linux-aarch64-gnu's."""
    root = make_project(
        '[tool.crossmatrix]\nworkspace = "crates"\n'
        '[tool.crossmatrix.target.linux-aarch64-gnu]\nstd-provider = "build-std"\n'
        'pre-build = ["apt-get install -y libssl-dev:$DEB_ARCH"]\n'
    )
    project = config.load(root)
    floored = project.select(["linux-aarch64-gnu.2.17"])[0]
    assert floored.name == "linux-aarch64-gnu.2.17"
    assert project.std_provider_for(floored) == "build-std"
    assert project.pre_build_for(floored) == ("apt-get install -y libssl-dev:$DEB_ARCH",)
    assert project.linker_for(floored) == "zig"  # the floor's own rule still holds


def test_project_is_frozen(make_project: MakeProject) -> None:
    project: Project = config.load(make_project(None, workspace="."))
    with pytest.raises(AttributeError):
        project.offline = True  # type: ignore[misc]


def test_default_cache_dir_honours_xdg(tmp_path: Path) -> None:
    assert cachedir.default_cache_dir() == tmp_path / "xdg-cache" / "crossmatrix"
    assert os.environ["XDG_CACHE_HOME"] == str(tmp_path / "xdg-cache")


# --- timeouts ---------------------------------------------------------------------------

def test_timeouts_default_generously_and_read_seconds_or_durations(
        make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.load(make_project('[tool.crossmatrix]\nworkspace = "crates"\n')
                       ).timeouts == timeouts.Timeouts(build=7200, test=7200, run=300,
                                                       pre_build=3600, fetch=3600, tool=600)
    root = make_project('[tool.crossmatrix]\nworkspace = "crates"\n'
                        '[tool.crossmatrix.timeouts]\nbuild = "3h"\nrun = 90\n'
                        'pre-build = "30m"\ntool = 2.5\n')
    bounds = config.load(root).timeouts
    assert (bounds.build, bounds.run, bounds.pre_build, bounds.tool) == (10800, 90, 1800, 2.5)
    assert (bounds.test, bounds.fetch) == (7200, 3600)  # the others keep their defaults
    monkeypatch.setenv("CROSSMATRIX_TIMEOUT_RUN", "2m")  # the environment beats the table
    monkeypatch.setenv("CROSSMATRIX_TIMEOUT_PRE_BUILD", "45")
    bounds = config.load(root).timeouts
    assert (bounds.run, bounds.pre_build, bounds.build) == (120, 45, 10800)


@pytest.mark.parametrize("value", ["-5", "0", '"soon"', "true", '"1d"', "inf", '"2 hours"',
                                   "700000", '""'])
def test_a_bad_timeout_is_refused_in_one_line(make_project: MakeProject, value: str) -> None:
    root = make_project(f'[tool.crossmatrix]\nworkspace = "crates"\n'
                        f'[tool.crossmatrix.timeouts]\nbuild = {value}\n')
    exc = _load_error(root)
    assert "timeouts: build = " in exc.message
    assert "90s" in (exc.hint or "")


def test_timeouts_name_known_kinds(make_project: MakeProject,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    exc = _load_error(make_project('[tool.crossmatrix]\nworkspace = "crates"\n'
                                   '[tool.crossmatrix.timeouts]\nbiuld = 60\n'))
    assert "biuld" in exc.message and "'build'" in (exc.hint or "")
    exc = _load_error(make_project('[tool.crossmatrix]\nworkspace = "crates"\ntimeouts = 60\n'))
    assert "timeouts must be a table" in exc.message
    monkeypatch.setenv("CROSSMATRIX_TIMEOUT_TEST", "forever")
    exc = _load_error(make_project('[tool.crossmatrix]\nworkspace = "crates"\n'))
    assert exc.message == "CROSSMATRIX_TIMEOUT_TEST = 'forever' is not a timeout"


@pytest.mark.parametrize(("seconds", "said"), [(7200, "2h"), (5400, "90m"), (300, "5m"),
                                               (90, "90s"), (2.5, "2.5s")])
def test_a_bound_is_said_in_its_largest_whole_unit(seconds: float, said: str) -> None:
    assert timeouts.describe(seconds) == said
