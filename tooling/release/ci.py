"""CI fan-out: the build matrix as data, and generated GitHub / GitLab pipelines.

One job per target runs ``nox -s build-<name>`` (the same session a developer runs),
then one job merges the per-target ``dist/`` folders with ``inv merge``. Jobs run in
a ``debian:bookworm`` container, so ``inv setup`` finds the same packages as here.
Generation is deterministic: the same table gives the same bytes.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tooling.errors import UsageError
from tooling.matrix.config import Project
from tooling.matrix.targets import Target
from tooling.util import atomic

CONTAINER = "debian:bookworm"
RUNNER = {"github": "ubuntu-24.04", "gitlab": "saas-linux-small-amd64"}
PROVIDERS = ("github", "gitlab")
OUTPUT = {"github": Path(".github/workflows/crossmatrix.yml"), "gitlab": Path(".gitlab-ci.yml")}
#: The GitLab cache of std sysroots: one for protected refs, one for the others.
GITLAB_STD_CACHE = "crossmatrix-std-$CI_COMMIT_REF_PROTECTED"
#: What a bare debian:bookworm container lacks before bootstrap.sh can run.
BASE_PACKAGES = "git ca-certificates python3 python3-venv"


def build_command(target: Target) -> str:
    if target.in_table and not target.glibc:
        return f".venv/bin/nox -s build-{target.name}"
    return f".venv/bin/inv release --target {target.name}"


def matrix(project: Project, specs: Sequence[str] | None = None, name_glob: str | None = None,
           tags: Sequence[str] = ()) -> list[dict[str, Any]]:
    rows = []
    for target in project.select(specs):
        if name_glob and not fnmatch.fnmatchcase(target.name, name_glob):
            continue
        if any(tag not in target.tags for tag in tags):
            continue
        rows.append({
            "session": f"build-{target.name}", "name": target.name, "triple": target.triple,
            "os": target.os, "arch": target.arch.rust, "libc": target.libc,
            "tags": list(target.tags), "runner": RUNNER["github"], "container": CONTAINER,
            "command": build_command(target),
        })
    if not rows:
        filters = [f"--name {name_glob}"] if name_glob else []
        filters += [f"--tag {tag}" for tag in tags]
        chosen = " ".join(filters) or "the selection"
        raise UsageError(f"the CI matrix is empty: no target matches {chosen}",
                         "loosen --name / --tag, or check `targets`")
    return rows


def _setup_steps() -> list[dict[str, Any]]:
    return [
        {"name": "Install git and Python",
         "run": f"apt-get update -qq\napt-get install -y -qq --no-install-recommends "
                f"{BASE_PACKAGES}\n"},
        {"uses": "actions/checkout@v4"},
    ]


def github(rows: list[dict[str, Any]]) -> dict[str, Any]:
    include = [{"name": r["name"], "triple": r["triple"], "command": r["command"]} for r in rows]
    return {
        "name": "crossmatrix",
        "on": {"push": {"branches": ["main"]}, "pull_request": {}, "workflow_dispatch": {}},
        "permissions": {"contents": "read"},
        "jobs": {
            "build": {
                "name": "build ${{ matrix.name }}",
                "runs-on": RUNNER["github"],
                "container": CONTAINER,
                "strategy": {"fail-fast": False, "matrix": {"include": include}},
                "steps": [
                    *_setup_steps(),
                    {"name": "Install crossmatrix and the target's packages",
                     "run": "bash bootstrap.sh setup --target ${{ matrix.name }}"},
                    {"name": "Compiler version (std cache key)", "id": "rustc",
                     "run": 'echo "key=$(/usr/bin/rustc -vV | sed -n \'s/^commit-hash: //p\')"'
                            ' >> "$GITHUB_OUTPUT"'},
                    {"name": "Cache the cargo registry", "uses": "actions/cache@v4",
                     "with": {"path": "~/.cargo/registry\n~/.cargo/git\n",
                              "key": "cargo-${{ hashFiles('**/Cargo.lock') }}"}},
                    # GitHub scopes caches by ref already: a pull request reads main's
                    # but writes only its own, so no branch can plant std for main
                    {"name": "Cache the std sysroots", "uses": "actions/cache@v4",
                     "with": {"path": "~/.cache/crossmatrix/sysroots",
                              "key": "crossmatrix-std-${{ matrix.triple }}-"
                                     "${{ steps.rustc.outputs.key }}"}},
                    {"name": "Build, verify, run and package", "run": "${{ matrix.command }}"},
                    {"name": "Upload dist", "uses": "actions/upload-artifact@v4",
                     "with": {"name": "dist-${{ matrix.name }}", "path": "dist/",
                              "if-no-files-found": "error"}},
                ],
            },
            "merge": {
                "needs": "build",
                "runs-on": RUNNER["github"],
                "container": CONTAINER,
                "steps": [
                    *_setup_steps(),
                    {"name": "Install crossmatrix",
                     "run": "python3 -m venv .venv\n.venv/bin/pip install -q -e .\n"},
                    {"name": "Download every target's dist",
                     "uses": "actions/download-artifact@v4",
                     "with": {"pattern": "dist-*", "path": "parts"}},
                    {"name": "Merge", "run": ".venv/bin/inv merge --out release -- parts/*"},
                    {"name": "Job summary",
                     "run": '.venv/bin/inv ci-summary release >> "$GITHUB_STEP_SUMMARY"'},
                    {"name": "Upload the release", "uses": "actions/upload-artifact@v4",
                     "with": {"name": "release", "path": "release/",
                              "if-no-files-found": "error"}},
                ],
            },
        },
    }


def gitlab(rows: list[dict[str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "stages": ["build", "merge"],
        "default": {
            "image": CONTAINER,
            "before_script": [
                "apt-get update -qq",
                f"apt-get install -y -qq --no-install-recommends {BASE_PACKAGES}",
            ],
        },
        "variables": {
            "CROSSMATRIX_CACHE_DIR": "$CI_PROJECT_DIR/.cache/crossmatrix",
            "CARGO_HOME": "$CI_PROJECT_DIR/.cargo-home",
        },
    }
    for r in rows:
        doc[f"build-{r['name']}"] = {
            "stage": "build",
            "script": [f"bash bootstrap.sh setup --target {r['name']}", r["command"]],
            "cache": [
                {"key": "cargo-registry", "paths": [".cargo-home/registry/"]},
                # entries inside are keyed by what changes std themselves; the key keeps
                # protected refs' std apart, so no other branch can plant a libstd that
                # release builds link (whatever the project's cache settings)
                {"key": f"{GITLAB_STD_CACHE}-{r['triple']}",
                 "paths": [".cache/crossmatrix/sysroots/"]},
            ],
            "artifacts": {"paths": [f"dist/{r['name']}/"], "expire_in": "1 week"},
        }
    doc["merge"] = {
        "stage": "merge",
        "needs": [f"build-{r['name']}" for r in rows],
        "script": [
            "python3 -m venv .venv",
            ".venv/bin/pip install -q -e .",
            ".venv/bin/inv merge --out release -- dist",
            ".venv/bin/inv ci-summary release | tee release-summary.md",
        ],
        "artifacts": {"paths": ["release/", "release-summary.md"],
                      "expose_as": "crossmatrix release"},
    }
    return doc


def render(data: dict[str, Any]) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    header = "# Generated by `inv ci-generate`; regenerate instead of editing.\n"
    return header + yaml.dump(data, Dumper=Dumper, sort_keys=False, width=100,
                              default_flow_style=False)


def generate(project: Project, provider: str, rows: list[dict[str, Any]],
             out: Path | None = None) -> Path:
    if provider not in PROVIDERS:
        raise UsageError(f"unknown CI provider {provider!r}", f"use one of: {', '.join(PROVIDERS)}")
    data = github(rows) if provider == "github" else gitlab(rows)
    path = out or project.root / OUTPUT[provider]
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, render(data))
    return path
