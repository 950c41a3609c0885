"""Integration tests really cross-compile the sample workspace, inspect and run the binaries.

They build into the repository's own target folder (so a run after the README's
first command is incremental) and share the user's std cache (the point of it),
but write their releases into temporary folders. The project they build is
configured offline: rustup only for targets it already has, Debian's multiarch
std for linux-aarch64-gnu, std built from source for the rest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
#: every sample crate with a binary: Rust only, C by cc, SQLite (bundled C), protobuf
#: (protoc at build time), zlib (the system's on Linux gnu, built from source elsewhere)
PROGRAMS = ("edge-agent", "fleet-report", "sensor-crc", "sqlite-probe", "telemetry-proto",
            "log-shipper")


#: where the matrix fixture (conftest.py) keeps its release's dist/logs: later tests run
#: single steps on that project, and each run makes its targets' logs anew
RELEASE_LOGS = "release-logs"


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def crossmatrix(project: Path, *args: str, env: dict[str, str] | None = None,
                timeout: float = 3000) -> Run:
    """The console script, as a user runs it."""
    return command([str(BIN / "crossmatrix"), "--project", str(project), *args], env=env,
                   timeout=timeout)


def command(argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 3000) -> Run:
    full_env = {**os.environ, **(env or {})}
    res = subprocess.run(list(argv), capture_output=True, text=True, env=full_env, cwd=cwd,
                         timeout=timeout, check=False)
    return Run(res.returncode, res.stdout, res.stderr)


#: Every provider exercised whatever this machine's rustup holds: Debian's multiarch std
#: for linux-aarch64-gnu, std built from source for the musl targets, riscv64, Windows and
#: macOS, and rustup (offline: only what it already has) for the host.
def repo_pre_build() -> dict[str, list[str]]:
    """The repository's own ``pre-build`` lines per target (log-shipper's zlib1g-dev)."""
    import tomllib

    table = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["crossmatrix"]
    return {name: list(settings["pre-build"])
            for name, settings in table.get("target", {}).items() if "pre-build" in settings}


def providers(chosen: dict[str, str]) -> str:
    """``[tool.crossmatrix.target.<name>] std-provider = ...`` tables for a pyproject, with
    the repository's ``pre-build`` lines for those targets (as its own config has them)."""
    import json

    pre_build = repo_pre_build()
    return "".join(f'[tool.crossmatrix.target.{name}]\nstd-provider = "{provider}"\n'
                   + (f"pre-build = {json.dumps(pre_build[name])}\n" if name in pre_build else "")
                   for name, provider in chosen.items())


FORCED_PROVIDERS = "\n" + providers({
    "linux-aarch64-gnu": "debian",
    **dict.fromkeys(("linux-aarch64", "linux-armv7", "linux-x86_64", "linux-riscv64-gnu",
                     "windows-x86_64", "windows-x86", "macos-x86_64", "macos-aarch64"),
                    "build-std"),
})


def write_project(root: Path, extra: str = "", *, workspace: Path | None = None) -> Path:
    """A project of the sample workspace (each of its programs prints its own triple, and
    the smoke test checks that), or of ``workspace``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        "[tool.crossmatrix]\n"
        'name = "edge-tools"\n'
        f'workspace = "{workspace or REPO / "crates"}"\n'
        'dist = "dist"\n'
        "offline = true\n"
        + ("smoke-expect-triple = true\n" if workspace is None else "") + extra
    )
    return root




def hello_project(root: Path, target: str, triple: str) -> Path:
    """A crate of one binary (it prints ``hello (<triple>)``), no dependencies, that is its
    own crossmatrix project: offline, std for ``target`` built from source."""
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "Cargo.toml").write_text(
        '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n')
    (root / "src" / "main.rs").write_text(f'fn main() {{ println!("hello ({triple})"); }}\n')
    (root / "pyproject.toml").write_text(
        f'[tool.crossmatrix]\noffline = true\ntargets = ["{target}"]\n'
        "smoke-expect-triple = true\n"
        f'[tool.crossmatrix.target.{target}]\nstd-provider = "build-std"\n')
    return root
