"""crossmatrix installed as a tool — by the real pipx from a clean clone, and from a wheel —
used outside the repository.

The wheel is built from a copy of the sources (pyproject.toml, README.md, tooling/: the
build writes nothing into the checkout) with pip; without build isolation when this
environment's setuptools reads pyproject.toml's license, else pip fetches setuptools.
It is installed, as pipx and ``uv tool`` do, into a fresh venv of its own; with
``--no-deps``, its dependencies seen through a .pth line naming this environment's
site-packages and cargo-zigbuild's program linked into its bin/ (what installing the
dependencies would put there), so nothing is downloaded. Every command then runs from
a folder outside the repository, PYTHONPATH unset: only the wheel's code can answer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from tests.integration.helpers import BIN, REPO, Run, command

pytestmark = pytest.mark.integration

VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "tooling", source / "tooling",
                    ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    isolation = ["--no-build-isolation"] if _setuptools_reads_the_license() else []
    result = command([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q",
                      "-w", str(out), str(source)], cwd=source, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    (built,) = out.glob("crossmatrix-*.whl")
    return built


def _setuptools_reads_the_license() -> bool:
    """setuptools 77 reads ``license = "MIT"`` (an SPDX expression); older ones refuse it."""
    try:
        major = int(metadata.version("setuptools").split(".")[0])
    except metadata.PackageNotFoundError:
        return False
    return major >= 77


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("tool") / "venv"
    assert command([sys.executable, "-m", "venv", str(home)], timeout=300).returncode == 0
    python = home / "bin" / "python"
    result = command([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
                     timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    site = Path(command([str(python), "-c", "import sysconfig; "
                         "print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (home / "bin" / "cargo-zigbuild").symlink_to(BIN / "cargo-zigbuild")
    return home


def _outside(venv: Path, tmp_path: Path, program: str, *args: str) -> Run:
    """A command of the installed tool (or a program's absolute path), run from a folder
    that is no project, with neither PYTHONPATH nor this environment's bin/ (only the
    tool's own is on PATH)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "CROSSMATRIX_PROJECT", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *(
        d for d in os.environ.get("PATH", "").split(os.pathsep) if Path(d) != BIN)])
    done = subprocess.run([str(venv / "bin" / program), *args], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    return Run(done.returncode, done.stdout, done.stderr)


def _project(tmp_path: Path) -> Path:
    crate = tmp_path / "hello"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(
        '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n')
    (crate / "src" / "main.rs").write_text('fn main() { println!("hello"); }\n')
    return crate


def test_the_wheel_holds_the_code_and_the_data_it_reads(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    schemas = {p.name for p in (REPO / "tooling" / "records" / "schemas").glob("*.json")}
    assert schemas and {f"tooling/records/schemas/{n}" for n in schemas} <= names
    sources = {p.relative_to(REPO).as_posix() for p in (REPO / "tooling").rglob("*.py")}
    assert sources <= names  # pyimport.py and pyloader.py too: read as files at run time
    assert "tooling/__main__.py" in names
    assert not any(n.startswith(("tests/", "crates/", "bench/")) or n in (
        "tasks.py", "noxfile.py") for n in names)
    entry = zipfile.ZipFile(wheel).read(f"crossmatrix-{VERSION}.dist-info/entry_points.txt")
    assert "crossmatrix = tooling.cli.main:main" in entry.decode()


def test_the_installed_tool_runs_outside_the_repository(venv: Path, tmp_path: Path) -> None:
    where = _outside(venv, tmp_path, "python", "-c", "import tooling; print(tooling.__file__)")
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(venv)  # the wheel's, not the checkout's
    version = _outside(venv, tmp_path, "crossmatrix", "--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"crossmatrix {VERSION}")
    module = _outside(venv, tmp_path, "python", "-m", "tooling", "--version")
    assert (module.returncode, module.stdout.strip()) == (0, f"crossmatrix {VERSION}")
    usage = _outside(venv, tmp_path, "crossmatrix", "--help")
    assert usage.returncode == 0 and "--project" in usage.stdout
    listed = _outside(venv, tmp_path, "crossmatrix", "--list")
    assert listed.returncode == 0
    assert {"init", "plan", "release", "doctor"} <= {line.split()[0] for line in
                                                     listed.stdout.splitlines()[1:] if line}
    project = _project(tmp_path)
    plan = _outside(venv, tmp_path, "crossmatrix", "--project", str(project), "plan", "--json",
                    "--target", "linux-x86_64")
    assert plan.returncode == 0, plan.stderr[-3000:]
    document = json.loads(plan.stdout)
    assert document["workspace"] == str(project)
    assert [t["name"] for t in document["targets"]] == ["linux-x86_64"]
    # the zig wrappers call back into the tool's own environment
    assert str(venv / "bin") in json.dumps(document["targets"][0])


def test_init_then_plan_with_the_installed_tool(venv: Path, tmp_path: Path) -> None:
    project = _project(tmp_path)
    made = _outside(venv, tmp_path, "crossmatrix", "--project", str(project), "init",
                    "--target", "linux-x86_64", "--target", "windows-x86_64")
    assert made.returncode == 0, made.stderr[-3000:]
    settings = tomllib.loads((project / "Cargo.toml").read_text())
    assert settings["package"]["metadata"]["crossmatrix"]["targets"] == [
        "linux-x86_64", "windows-x86_64"]
    plan = _outside(venv, tmp_path, "crossmatrix", "--project", str(project), "plan", "--json")
    assert plan.returncode == 0 and "warning" not in plan.stderr, plan.stderr[-3000:]
    assert [t["name"] for t in json.loads(plan.stdout)["targets"]] == [
        "linux-x86_64", "windows-x86_64"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion_through_the_console_script(venv: Path, tmp_path: Path,
                                                     shell: str) -> None:
    script = _outside(venv, tmp_path, "crossmatrix", "--print-completion-script", shell)
    assert script.returncode == 0, script.stderr
    assert "--complete" in script.stdout and "_complete_crossmatrix" in script.stdout
    words = _outside(venv, tmp_path, "crossmatrix", "--complete", "--", "crossmatrix", "pl")
    assert words.returncode == 0 and "plan" in words.stdout.split()
    options = _outside(venv, tmp_path, "crossmatrix", "--complete", "--", "crossmatrix",
                       "init", "--")
    assert {"--force", "--pyproject", "--target"} <= set(options.stdout.split())


def test_bash_completes_task_names_with_the_sourced_script(venv: Path, tmp_path: Path) -> None:
    """What a user's shell does: source the script, then complete ``crossmatrix pl<TAB>``."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash here")
    done = _outside(venv, tmp_path, bash, "-c",
                    "source <(crossmatrix --print-completion-script bash)\n"
                    "COMP_WORDS=(crossmatrix pl); _complete_crossmatrix crossmatrix pl\n"
                    'echo "${COMPREPLY[@]}"\n')
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["plan"]


@pytest.fixture(scope="module")
def pipx_tool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pipx install <clean clone>``, the real pipx (a dev dependency), into a home of its
    own: the clone's committed files only, its dependencies from pip's own sources."""
    root = tmp_path_factory.mktemp("pipx")
    clone = root / "clone"
    if (REPO / ".git").exists():
        made = command(["git", "clone", "-q", str(REPO), str(clone)], timeout=300)
        assert made.returncode == 0, made.stderr
    else:  # an unpacked source tree: what it holds is what a clone would
        shutil.copytree(REPO, clone, ignore=shutil.ignore_patterns(
            "__pycache__", ".venv", "target", "dist"))
    env = {"PIPX_HOME": str(root / "home"), "PIPX_BIN_DIR": str(root / "bin"),
           "PIPX_MAN_DIR": str(root / "man"), "PYTHONPATH": ""}
    done = command([sys.executable, "-m", "pipx", "install", "--python", sys.executable,
                    str(clone)], env=env, timeout=1200)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return root / "bin"


def test_pipx_install_from_a_clean_clone_builds_an_outside_project(
        pipx_tool: Path, tmp_path: Path) -> None:
    """The README's `pipx install .`: the tool it puts on PATH releases a project nobody
    here wrote (no pyproject.toml, default settings) for a zig-linked target, through the
    zig wrappers of its own environment, and the program runs."""
    tool = pipx_tool / "crossmatrix"
    assert tool.is_symlink() or tool.is_file()
    project = _project(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "CROSSMATRIX_PROJECT", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join([str(pipx_tool), *(
        d for d in os.environ.get("PATH", "").split(os.pathsep) if Path(d) != BIN)])
    done = subprocess.run([str(tool), "--project", str(project), "release", "--target",
                           "linux-x86_64"], cwd=elsewhere, env=env, capture_output=True,
                          text=True, timeout=1800, check=False)
    # one target of the default matrix: a release that is not complete exits 1 and says so
    assert "linux-x86_64 packaged" in done.stdout + done.stderr, (done.stdout + done.stderr)[-3000:]
    assert "release: NOT complete, 1 of 10 targets" in done.stdout + done.stderr
    info = json.loads((project / "dist" / "linux-x86_64" / "build_info.json").read_text())
    assert (info["triple"], info["linker"], info["ran"]) == ("x86_64-unknown-linux-musl", "zig",
                                                            True)
    [binary] = info["artifacts"]
    assert binary["linkage"] == "static" and binary["run"]["output"].strip() == "hello"
    home = Path(os.path.realpath(tool)).parent
    assert home.is_relative_to(pipx_tool.parent / "home")  # pipx's venv, not this one
