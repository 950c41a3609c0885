"""The CI matrix, generated pipelines (checked by real validators) and the release merge."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import tooling
from tests.unit import fake_records
from tooling.errors import ConfigError, StepFailed, UsageError
from tooling.matrix import config
from tooling.matrix.targets import TABLE, by_name
from tooling.pymod import modules
from tooling.release import ci, merge
from tooling.steps import manifest
from tooling.util import archives, atomic

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture
def project() -> config.Project:
    return config.load(REPO)


def test_matrix_is_the_nox_build_sessions(project: config.Project) -> None:
    rows = ci.matrix(project)
    listed = subprocess.run([str(BIN / "nox"), "-l", "--json"], cwd=REPO, capture_output=True,
                            text=True, check=True)
    sessions = [s for s in json.loads(listed.stdout) if s["session"].startswith("build-")]
    assert [r["session"] for r in rows] == [s["session"] for s in sessions]
    for row, session in zip(rows, sessions, strict=True):
        assert row["tags"] == [t for t in session["tags"] if t != "build"]
        assert row["triple"] in session["description"]
    assert [r["name"] for r in rows] == [t.name for t in TABLE]


def test_matrix_filters(project: config.Project) -> None:
    assert {r["name"] for r in ci.matrix(project, tags=["musl"])} == {
        "linux-x86_64", "linux-aarch64", "linux-armv7"}
    assert [r["name"] for r in ci.matrix(project, name_glob="*-gnu", tags=["aarch64"])] == [
        "linux-aarch64-gnu"]
    floor = ci.matrix(project, ["linux-aarch64-gnu.2.17"])
    assert floor[0]["command"] == ".venv/bin/inv release --target linux-aarch64-gnu.2.17"
    with pytest.raises(UsageError):
        ci.matrix(project, tags=["sparc"])


def test_generated_github_workflow_passes_actionlint(project: config.Project,
                                                     tmp_path: Path) -> None:
    path = ci.generate(project, "github", ci.matrix(project), tmp_path / "crossmatrix.yml")
    lint = subprocess.run([str(BIN / "actionlint"), str(path)], capture_output=True, text=True,
                          check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    text = path.read_text()
    for target in TABLE:
        assert f".venv/bin/nox -s build-{target.name}" in text
    assert "inv merge --out release -- parts/*" in text
    assert "GITHUB_STEP_SUMMARY" in text


def test_generated_gitlab_pipeline_matches_the_schema(project: config.Project,
                                                      tmp_path: Path) -> None:
    path = ci.generate(project, "gitlab", ci.matrix(project), tmp_path / ".gitlab-ci.yml")
    check = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema",
                            "vendor.gitlab-ci", str(path)], capture_output=True, text=True,
                           check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    import yaml

    doc = yaml.safe_load(path.read_text())
    assert doc["merge"]["needs"] == [f"build-{t.name}" for t in TABLE]


def test_gitlab_keeps_protected_refs_std_cache_apart(project: config.Project) -> None:
    """A branch anyone can push to must not fill the std cache release builds link from."""
    assert ci.layout(project) == ci.OWN
    doc = ci.gitlab(ci.matrix(project), ci.OWN)
    for target in TABLE:
        (std,) = [c for c in doc[f"build-{target.name}"]["cache"]
                  if ".cache/crossmatrix/sysroots/" in c["paths"]]
        assert std["key"] == f"crossmatrix-std-$CI_COMMIT_REF_PROTECTED-{target.triple}"
    committed = (REPO / ".gitlab-ci.yml").read_text()
    assert committed == ci.render(doc)  # the committed pipeline is the generated one


# --- another project: crossmatrix installed as a tool in each job --------------------------

def _outside(root: Path, table: str = "", sub: str = "", git: bool = True) -> config.Project:
    """A Rust project of someone else's repository at ``root`` (a git work tree when
    ``git``), in its folder ``sub``, with ``table`` in its Cargo.toml's settings."""
    folder = root / sub if sub else root
    (folder / "src").mkdir(parents=True)
    if git:
        (root / ".git").mkdir()
    (folder / "Cargo.toml").write_text(
        '[package]\nname = "demo"\nversion = "0.1.0"\nedition = "2021"\n\n'
        '[package.metadata.crossmatrix]\ntargets = ["linux-x86_64", "linux-aarch64-gnu"]\n'
        + table)
    (folder / "src" / "main.rs").write_text("fn main() {}\n")
    return config.load(folder)


def _tool(*args: str) -> str:
    return " ".join([ci.TOOL, *args])


INSTALL = ["python3 -m venv /opt/crossmatrix",
           f"/opt/crossmatrix/bin/pip install -q crossmatrix=={tooling.__version__}"]


def test_another_projects_github_workflow_installs_crossmatrix_as_a_tool(tmp_path: Path) -> None:
    import yaml

    project = _outside(tmp_path / "repo", sub="rust/app", table='dist = "out/dist"\n')
    where = ci.layout(project)
    assert not where.own and where.project == "rust/app" and where.dist == "rust/app/out/dist"
    path = ci.generate(project, "github", ci.matrix(project))
    assert path == tmp_path / "repo" / ".github" / "workflows" / "crossmatrix.yml"  # git root
    text = path.read_text()
    assert text.startswith(ci.TOOL_HEADER) and ci.written_here(path)
    for own in ("bootstrap.sh", ".venv", "nox", "inv ", "-e ."):
        assert own not in text
    doc = yaml.safe_load(text)
    build = doc["jobs"]["build"]
    assert build["strategy"]["matrix"]["include"] == [
        {"name": name, "triple": triple,
         "command": _tool("--project", "rust/app", "release", "--target", name)}
        for name, triple in (("linux-x86_64", "x86_64-unknown-linux-musl"),
                             ("linux-aarch64-gnu", "aarch64-unknown-linux-gnu"))]
    steps = {s.get("name", s.get("uses")): s for s in build["steps"]}
    assert steps["Install crossmatrix and the target's packages"]["run"].splitlines() == [
        *INSTALL, _tool("--project", "rust/app", "setup", "--target", "${{ matrix.name }}")]
    assert steps["Build, verify, run and package"]["run"] == "${{ matrix.command }}"
    assert steps["Upload dist"]["with"]["path"] == "rust/app/out/dist/"
    assert steps["Cache the std sysroots"]["with"]["path"] == "~/.cache/crossmatrix/sysroots"
    assert "Cache the cargo registry" in steps
    merge_steps = {s.get("name", s.get("uses")): s for s in doc["jobs"]["merge"]["steps"]}
    assert merge_steps["Install crossmatrix"]["run"].splitlines() == INSTALL
    assert merge_steps["Merge"]["run"] == _tool("--project", "rust/app", "merge", "--out",
                                                "release", "--", "parts/*")
    assert merge_steps["Job summary"]["run"] == (
        _tool("ci-summary", "release") + ' >> "$GITHUB_STEP_SUMMARY"')
    if (BIN / "actionlint").exists():
        lint = subprocess.run([str(BIN / "actionlint"), str(path)], capture_output=True,
                              text=True, check=False)
        assert lint.returncode == 0, lint.stdout + lint.stderr


def test_another_projects_gitlab_pipeline_installs_crossmatrix_as_a_tool(tmp_path: Path) -> None:
    import yaml

    project = _outside(tmp_path / "repo", sub="rust")
    path = ci.generate(project, "gitlab", ci.matrix(project))
    assert path == tmp_path / "repo" / ".gitlab-ci.yml"
    assert path.read_text().startswith(ci.TOOL_HEADER)
    doc = yaml.safe_load(path.read_text())
    job = doc["build-linux-aarch64-gnu"]
    assert job["script"] == [
        *INSTALL, _tool("--project", "rust", "setup", "--target", "linux-aarch64-gnu"),
        _tool("--project", "rust", "release", "--target", "linux-aarch64-gnu")]
    assert job["artifacts"]["paths"] == ["rust/dist/linux-aarch64-gnu/"]
    assert {c["key"] for c in job["cache"]} == {
        "cargo-registry", "crossmatrix-std-$CI_COMMIT_REF_PROTECTED-aarch64-unknown-linux-gnu"}
    assert doc["merge"]["needs"] == ["build-linux-x86_64", "build-linux-aarch64-gnu"]
    assert doc["merge"]["script"] == [
        *INSTALL, _tool("--project", "rust", "merge", "--out", "release", "--", "rust/dist"),
        _tool("ci-summary", "release") + " | tee release-summary.md"]
    check = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema",
                            "vendor.gitlab-ci", str(path)], capture_output=True, text=True,
                           check=False)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_console_script_writes_another_projects_pipeline_at_the_git_root(
        tmp_path: Path) -> None:
    """As a user runs it: from inside the project's subfolder, crossmatrix as a tool."""
    import yaml

    project = _outside(tmp_path / "repo", sub="tools/rust")
    run = subprocess.run([str(BIN / "crossmatrix"), "--project", ".", "ci-generate",
                          "--provider", "gitlab"], cwd=project.root, capture_output=True,
                         text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert not (project.root / ".gitlab-ci.yml").exists()
    doc = yaml.safe_load((tmp_path / "repo" / ".gitlab-ci.yml").read_text())
    assert doc["build-linux-x86_64"]["script"][-1] == _tool(
        "--project", "tools/rust", "release", "--target", "linux-x86_64")


@pytest.mark.parametrize("provider", ci.PROVIDERS)
def test_a_project_at_its_repositorys_root_needs_no_project_option(tmp_path: Path,
                                                                   provider: str) -> None:
    for git in (True, False):  # outside git, the project's folder is the root
        root = tmp_path / f"git-{git}"
        project = _outside(root, git=git)
        path = ci.generate(project, provider, ci.matrix(project))
        assert path == root / ci.OUTPUT[provider]
        text = path.read_text()
        assert "--project" not in text
        assert _tool("release", "--target", "linux-x86_64") in text
        assert _tool("merge", "--out", "release", "--") in text
        assert " dist/linux-x86_64/" in text or "path: dist/" in text


@pytest.mark.parametrize("provider", ci.PROVIDERS)
def test_ci_install_chooses_what_the_jobs_install(tmp_path: Path, provider: str) -> None:
    import yaml

    spec = "crossmatrix @ https://example.org/wheels/crossmatrix-0.2.0-py3-none-any.whl"
    project = _outside(tmp_path / "repo", table=f'ci-install = "{spec}"\n')
    assert project.ci_install == spec
    path = ci.generate(project, provider, ci.matrix(project))
    doc = yaml.safe_load(path.read_text())
    pip = f"/opt/crossmatrix/bin/pip install -q '{spec}'"  # one shell word
    if provider == "github":
        runs = [s.get("run", "") for job in doc["jobs"].values() for s in job["steps"]]
    else:
        runs = [line for key, job in doc.items() if isinstance(job, dict) and "script" in job
                for line in job["script"]]
    assert sum(pip in run for run in runs) == (2 if provider == "github" else 3)
    assert "crossmatrix==" not in path.read_text()
    first = path.read_bytes()
    ci.generate(project, provider, ci.matrix(project))
    assert path.read_bytes() == first  # the same input gives the same bytes


def test_ci_install_is_read_from_pyproject_too(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "demo"\nversion = "0.1.0"\n')
    (tmp_path / "pyproject.toml").write_text(
        '[tool.crossmatrix]\nci-install = "crossmatrix==9.9"\n')
    assert ci.layout(config.load(tmp_path)).install == "crossmatrix==9.9"


@pytest.mark.parametrize("value", ["", "-e .", "crossmatrix\nrm -rf ~", " crossmatrix", "3"])
def test_a_bad_ci_install_is_refused(tmp_path: Path, value: str) -> None:
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "demo"\nversion = "0.1.0"\n')
    toml = "3" if value == "3" else json.dumps(value)
    with pytest.raises(ConfigError, match="ci-install"):
        config.from_table(tmp_path, tomllib.loads(f"ci-install = {toml}"), "here")


def test_an_unversioned_crossmatrix_needs_ci_install(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ci, "__version__", "0+unknown")
    project = _outside(tmp_path / "repo")
    with pytest.raises(UsageError, match="no version") as info:
        ci.matrix(project)
    assert info.value.hint is not None and "ci-install" in info.value.hint
    assert not (tmp_path / "repo" / ".github").exists()
    pinned = _outside(tmp_path / "pinned", table='ci-install = "crossmatrix==0.1.0"\n')
    assert ci.layout(pinned).install == "crossmatrix==0.1.0"


def test_a_dist_outside_the_repository_is_refused(tmp_path: Path) -> None:
    project = _outside(tmp_path / "repo", sub="app")
    (tmp_path / "elsewhere").mkdir()
    (project.root / "dist").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UsageError, match="outside the repository"):
        ci.generate(project, "github", [])


def test_the_crossmatrix_repository_is_told_apart(tmp_path: Path) -> None:
    assert ci.is_crossmatrix_repo(REPO)
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("bootstrap.sh", "noxfile.py"):
        shutil.copy(REPO / name, copy / name)
    assert not ci.is_crossmatrix_repo(copy)  # no tooling/ package: someone else's
    (copy / "tooling").mkdir()
    (copy / "tooling" / "__init__.py").write_text("")
    assert ci.is_crossmatrix_repo(copy)
    (copy / "noxfile.py").write_text("import nox\n")
    assert not ci.is_crossmatrix_repo(copy)  # no build-<name> sessions


def test_a_broken_workflow_is_caught_by_the_validators(tmp_path: Path) -> None:
    """The validators are not rubber stamps."""
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
                   "      - run: echo ${{ matrix.nope }}\n")
    assert subprocess.run([str(BIN / "actionlint"), str(bad)], capture_output=True,
                          check=False).returncode != 0
    bad.write_text("build:\n  stage: build\n  script: 3\n")
    assert subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci",
                           str(bad)], capture_output=True, check=False).returncode != 0


def test_generation_is_deterministic(project: config.Project, tmp_path: Path) -> None:
    for provider in ci.PROVIDERS:
        a = ci.generate(project, provider, ci.matrix(project), tmp_path / f"a-{provider}.yml")
        b = ci.generate(project, provider, ci.matrix(project), tmp_path / f"b-{provider}.yml")
        assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("provider", ci.PROVIDERS)
def test_a_pipeline_crossmatrix_did_not_write_is_not_replaced(
        project: config.Project, tmp_path: Path, provider: str) -> None:
    path = tmp_path / ci.OUTPUT[provider].name
    mine = "# my own pipeline\nstages: [test]\n"
    path.write_text(mine)
    with pytest.raises(UsageError) as info:
        ci.generate(project, provider, ci.matrix(project), path)
    assert str(path) in info.value.message
    assert "not written by crossmatrix" in info.value.message
    assert info.value.hint is not None and "--force" in info.value.hint
    assert len(info.value.render().splitlines()) == 2
    assert path.read_text() == mine
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temp file either
    ci.generate(project, provider, ci.matrix(project), path, force=True)
    assert path.read_text().startswith(ci.HEADER)


def test_its_own_pipeline_is_regenerated_even_when_edited(project: config.Project,
                                                          tmp_path: Path) -> None:
    path = ci.generate(project, "gitlab", ci.matrix(project), tmp_path / ".gitlab-ci.yml")
    assert ci.written_here(path)
    path.write_text(path.read_text() + "# an edit the header warned about\n")
    path.chmod(0o600)
    ci.generate(project, "gitlab", ci.matrix(project, ["linux-x86_64"]), path)
    assert "build-linux-x86_64:" in path.read_text()
    assert "build-linux-aarch64:" not in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600


def test_ownership_is_read_from_the_first_line_only(tmp_path: Path) -> None:
    path = tmp_path / "ci.yml"
    path.write_text("stages: [test]\n" + ci.HEADER)
    assert not ci.written_here(path)
    path.write_text(ci.HEADER.replace("\n", "\r\n") + "stages: []\r\n")
    assert ci.written_here(path)
    path.write_bytes(b"\xff\xfe")
    assert not ci.written_here(path)
    assert not ci.written_here(tmp_path / "missing.yml")


def test_a_linked_pipeline_stays_a_link_and_a_folder_is_refused(project: config.Project,
                                                                tmp_path: Path) -> None:
    real = ci.generate(project, "github", ci.matrix(project), tmp_path / "shared.yml")
    link = tmp_path / "crossmatrix.yml"
    link.symlink_to("shared.yml")
    ci.generate(project, "github", ci.matrix(project, ["linux-x86_64"]), link, force=False)
    assert link.is_symlink() and "linux-aarch64" not in real.read_text()
    (tmp_path / "dangling.yml").symlink_to("nowhere.yml")
    with pytest.raises(UsageError, match=r"nowhere\.yml"):
        ci.generate(project, "github", ci.matrix(project), tmp_path / "dangling.yml", force=True)
    (tmp_path / "folder.yml").mkdir()
    with pytest.raises(UsageError, match="not a file"):
        ci.generate(project, "github", ci.matrix(project), tmp_path / "folder.yml", force=True)
    assert not (tmp_path / "nowhere.yml").exists()


# --- merge -------------------------------------------------------------------------------

def _dist(root: Path, name: str, payload: bytes, version: str = "0.1.0") -> Path:
    folder = root / "dist" / name
    folder.mkdir(parents=True)
    binary = root / f"{name}-bin"
    binary.write_bytes(payload)
    archive = folder / f"demo-{version}-{name}.tar.gz"
    sha = archives.write_tar_gz(archive, [("demo", binary, 0o755)], top_dir=f"demo-{name}",
                               mtime=0)
    fake_records.build_info(
        name, version=version, archive=archive.name, archive_sha=sha,
        artifacts=(fake_records.artifact("demo", size=len(payload),
                                         sha256=atomic.sha256_file(binary)),),
    ).write(folder / "build_info.json")
    archives.write_sha256sums(folder, [archive, folder / "build_info.json"])
    return root / "dist"


def test_merge_of_three_machines_is_verified_and_deterministic(tmp_path: Path) -> None:
    parts = [_dist(tmp_path / m, n, n.encode()) for m, n in
             (("a", "linux-aarch64"), ("b", "linux-x86_64"), ("c", "linux-armv7"))]
    release = merge.merge(parts, tmp_path / "release")
    assert [t.name for t in release.targets] == ["linux-aarch64", "linux-armv7",
                                                 "linux-x86_64"]
    assert archives.check_sha256sums(tmp_path / "release") == []
    first = (tmp_path / "release" / "SHA256SUMS").read_bytes()
    merge.merge(list(reversed(parts)), tmp_path / "release2")
    assert (tmp_path / "release2" / "SHA256SUMS").read_bytes() == first
    assert (tmp_path / "release2" / "release.json").read_bytes() == (
        tmp_path / "release" / "release.json").read_bytes()
    table = merge.summary(tmp_path / "release")
    assert table.count("| linux-") == 3


def test_merge_refuses_two_different_artifacts_under_one_name(tmp_path: Path) -> None:
    a = _dist(tmp_path / "a", "linux-aarch64", b"one")
    b = _dist(tmp_path / "b", "linux-aarch64", b"two")
    with pytest.raises(StepFailed, match="two different artifacts named linux-aarch64"):
        merge.merge([a, b], tmp_path / "release")
    assert not (tmp_path / "release").exists()
    same = _dist(tmp_path / "c", "linux-aarch64", b"one")
    merge.merge([a, same], tmp_path / "release")  # the same build twice is fine


def test_merge_refuses_a_tampered_part_and_keeps_the_old_release(tmp_path: Path) -> None:
    good = _dist(tmp_path / "a", "linux-aarch64", b"one")
    merge.merge([good], tmp_path / "release")
    before = (tmp_path / "release" / "SHA256SUMS").read_bytes()
    bad = _dist(tmp_path / "b", "linux-x86_64", b"two")
    archive = next((bad / "linux-x86_64").glob("*.tar.gz"))
    archive.write_bytes(archive.read_bytes() + b"x")
    with pytest.raises(StepFailed, match="checksum"):
        merge.merge([good, bad], tmp_path / "release")
    assert (tmp_path / "release" / "SHA256SUMS").read_bytes() == before


def test_merge_refuses_mixed_versions_and_non_folders(tmp_path: Path) -> None:
    a = _dist(tmp_path / "a", "linux-aarch64", b"one")
    b = _dist(tmp_path / "b", "linux-x86_64", b"two", version="0.2.0")
    with pytest.raises(StepFailed, match="different projects or versions"):
        merge.merge([a, b], tmp_path / "release")
    with pytest.raises(UsageError):
        merge.merge([tmp_path / "nowhere"], tmp_path / "release")
    shutil.rmtree(tmp_path / "a")


def _module(dist: Path, target: str, payload: bytes) -> None:
    source = dist.parent / f"{target}.so"
    source.write_bytes(payload)
    modules.lay_out(dist, "build_core", by_name()[target], source, fake_records.verified(),
                    fake_records.ran())


def test_merge_joins_the_python_module_layouts_of_each_machine(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(modules, "host_platform", lambda: "linux-x64")
    parts = [_dist(tmp_path / m, n, n.encode()) for m, n in
             (("a", "linux-x86_64-gnu"), ("b", "linux-aarch64-gnu"))]
    for dist, target in zip(parts, ("linux-x86_64-gnu", "linux-aarch64-gnu"), strict=True):
        _module(dist, target, target.encode())
    # a module layout is not a target: deploy and the dist manifest pass it by
    assert manifest.dist_folders(parts[0]) == ([parts[0] / "linux-x86_64-gnu"],
                                              [parts[0] / "build-core-bin"])
    release = merge.merge(parts, tmp_path / "release")
    assert [t.name for t in release.targets] == ["linux-aarch64-gnu", "linux-x86_64-gnu"]
    root = tmp_path / "release" / "build-core-bin"
    info = json.loads((root / "build_info.json").read_text())
    assert sorted(info["builds"]) == ["linux-aarch64", "linux-x64"]
    assert (root / "linux-aarch64" / "build_core.so").read_bytes() == b"linux-aarch64-gnu"
    assert (root / "build_core.so").readlink() == Path("linux-x64/build_core.so")
    assert archives.check_sha256sums(root) == []
    assert archives.check_sha256sums(tmp_path / "release") == []
    listed = (tmp_path / "release" / "SHA256SUMS").read_text()
    assert "build-core-bin/linux-aarch64/build_core.so" in listed

    # the same platform built differently on two machines is refused; nothing is written
    other = _dist(tmp_path / "c", "linux-armv7", b"armv7")
    _module(other, "linux-aarch64-gnu", b"another aarch64 build")
    with pytest.raises(StepFailed, match="two different build_core builds for linux-aarch64"):
        merge.merge([*parts, other], tmp_path / "release2")
    assert not (tmp_path / "release2").exists()


def test_a_damaged_module_layout_is_refused_before_merging(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(modules, "host_platform", lambda: "linux-x64")
    dist = _dist(tmp_path / "a", "linux-x86_64-gnu", b"x")
    _module(dist, "linux-x86_64-gnu", b"module")
    (dist / "build-core-bin" / "linux-x64" / "build_core.so").write_bytes(b"changed")
    with pytest.raises(StepFailed, match=r"build-core-bin: .*checksum"):
        merge.merge([dist], tmp_path / "release")


def test_committed_pipelines_are_up_to_date(project: config.Project, tmp_path: Path) -> None:
    for provider, committed in ci.OUTPUT.items():
        fresh = ci.generate(project, provider, ci.matrix(project), tmp_path / committed.name)
        assert (REPO / committed).read_text() == fresh.read_text(), (
            f"{committed} is stale: run `inv ci-generate --provider {provider}`")
