"""Strip, verify and run the built binaries of one target.

Each step is skipped when its inputs (the previous step's outputs and its own
settings) are what it last ran on, and what it made is still on disk unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tooling.errors import StepFailed
from tooling.platforms import platform_of, runner, strip
from tooling.pymod import modules
from tooling.steps.state import Build
from tooling.util import atomic, console, digests


def staged_intact(build: Build, records: dict[str, Any]) -> bool:
    """Every staged binary is still the one recorded."""
    for name, info in records.items():
        path = build.stage / name
        if not path.is_file() or atomic.sha256_file(path) != info["sha256"]:
            return False
    return True


def _skip(build: Build, step: str, what: str) -> bool:
    if not build.unchanged(step):
        return False
    entry = build.state()[step]
    if step == "strip" and not staged_intact(build, entry["data"]):
        return False
    console.step(build.target.name, f"{step}: unchanged since the last run ({what}); skipped")
    return True


# --- strip -------------------------------------------------------------------------------

def strip_target(build: Build) -> dict[str, Any]:
    compiled = build.require("compile", "strip")
    inputs = build.next_inputs("strip", "strip")
    if _skip(build, "strip", "same binaries from cargo"):
        data: dict[str, Any] = build.state()["strip"]["data"]
        return data
    results: dict[str, Any] = {}
    for artifact in compiled["artifacts"]:
        source = Path(artifact["path"])
        if not source.is_file():
            raise StepFailed(f"{build.target.name}: {source} is gone",
                             f"run `inv compile --target {build.target.name}` again")
        dest = build.stage / artifact["name"]
        before, after = strip.strip_copy(build.target, source, dest,
                                         library=artifact.get("kind") == "cdylib")
        results[artifact["name"]] = {
            "package": artifact["package"], "path": str(dest),
            "kind": artifact.get("kind", "bin"), "target_name": artifact.get("target_name"),
            "size_unstripped": before, "size": after, "sha256": atomic.sha256_file(dest),
        }
        console.step(build.target.name, f"strip {artifact['name']}: {before:,} → {after:,} bytes")
    build.record("strip", results, inputs=inputs,
                 outputs=digests.digest({k: v["sha256"] for k, v in results.items()}))
    return results


# --- verify ------------------------------------------------------------------------------

def python_module(build: Build, info: dict[str, Any]) -> str | None:
    """The module name when this staged file is a Python extension module (a pyo3 cdylib)."""
    if info.get("kind") != "cdylib" or info.get("package") not in (
            build.workspace.python_modules):
        return None
    return str(info.get("target_name") or info["package"]).replace("-", "_")


def verify_target(build: Build, *, glibc_floor: str | None = None) -> dict[str, Any]:
    """Check the stripped binaries; ``glibc_floor`` (default: the target's) bounds GLIBC_x.y.

    A floor other than the target's is a one-off check: its result is not recorded.
    """
    ad_hoc = glibc_floor is not None and glibc_floor != build.target.glibc
    glibc_floor = glibc_floor or build.target.glibc
    stripped = build.require("strip", "verify")
    inputs = build.next_inputs("verify", "verify")
    if not staged_intact(build, stripped):
        raise StepFailed(f"{build.target.name}: a staged binary changed since `strip`",
                         f"run `inv strip --target {build.target.name}` again")
    if not ad_hoc and _skip(build, "verify", "same stripped binaries"):
        data: dict[str, Any] = build.state()["verify"]["data"]
        return _raise_if_failed(build, data)
    results: dict[str, Any] = {}
    allowed = build.project.allowed_libraries(build.target)
    for name, info in stripped.items():
        path = Path(info["path"])
        module = python_module(build, info)
        # startup time: pyelftools loads only when a binary is verified
        from tooling.verify import elf, inspection

        seen = inspection.inspect(
            path, build.target, glibc_floor=glibc_floor,
            # an extension module is loaded by Python: it imports python3.dll on Windows
            allowed=allowed | {"python3.dll"} if module else allowed,
            exports=(f"PyInit_{module}",) if module else ())
        console.step(build.target.name, f"verify {name}")
        for line in [*elf.render(seen.checks), *seen.notes]:
            console.info(f"    {line}")
        results[name] = {
            "sha256": info["sha256"],
            "ok": not elf.failed(seen.checks),
            **seen.summary,
            "checks": {c.name: {"ok": c.ok, "expected": c.expected, "actual": c.actual}
                       for c in seen.checks},
        }
    if not ad_hoc:
        build.record("verify", results, inputs=inputs, outputs=digests.digest(results))
    return _raise_if_failed(build, results)


def _raise_if_failed(build: Build, results: dict[str, Any]) -> dict[str, Any]:
    problems = [f"{name}: {check} expected {c['expected']}, got {c['actual']}"
                for name, info in results.items()
                for check, c in info["checks"].items() if not c["ok"]]
    if problems:
        raise StepFailed(f"{build.target.name}: verify failed: {'; '.join(problems)}",
                         "the binary is not what the target promises; see the checks above")
    return results


# --- run ---------------------------------------------------------------------------------

def run_target(build: Build) -> dict[str, Any]:
    verified = build.require("verify", "run")
    inputs = build.next_inputs("run", "run")
    failed = [name for name, info in verified.items() if not info["ok"]]
    if failed:
        raise StepFailed(f"{build.target.name}: {', '.join(failed)} failed verify; not running it",
                         f"fix the build, then `inv verify --target {build.target.name}`")
    if not staged_intact(build, verified):
        raise StepFailed(f"{build.target.name}: a staged binary changed since `verify`",
                         f"run `inv strip --target {build.target.name}` and verify again")
    platform = platform_of(build.target)
    reason = platform.cannot_run(build.target)
    if reason:  # said on every run, also when the record below is reused
        console.warn(f"{build.target.name}: {runner.NOT_RUN}: {reason}")
    if _skip(build, "run", "same verified binaries"):
        data: dict[str, Any] = build.state()["run"]["data"]
        return data
    results: dict[str, Any] = {}
    stripped = build.state()["strip"]["data"]
    for name, info in verified.items():
        if stripped.get(name, {}).get("kind") == "cdylib":
            results[name] = _load_library(build, name, stripped[name])
            continue
        if reason:
            results[name] = {"sha256": info["sha256"], "ran": False, "runner": None,
                             "output": f"{runner.NOT_RUN} ({reason})"}
            continue
        line = runner.smoke(build.target, build.stage / name, build.project.smoke_args,
                            build.project.smoke_expect_triple, build.project.cache_dir)
        described = platform.describe_runner(build.target)
        results[name] = {"sha256": info["sha256"], "ran": True, "runner": described,
                         "output": line}
        console.step(build.target.name, f"run {name} ({described}): {line}")
    build.record("run", results, inputs=inputs, outputs=digests.digest(results))
    return results


def _load_library(build: Build, name: str, info: dict[str, Any]) -> dict[str, Any]:
    """A cdylib is not a program: a Python extension module for this very machine is
    imported by this Python and called; any other library was verified, not loaded."""
    module = python_module(build, info)
    record: dict[str, Any] = {"sha256": info["sha256"], "ran": False, "runner": None}
    python = modules.importer(build.target, build.project.cache_dir) if module else None
    if module is None or python is None:
        why = modules.cannot_import(build.target, build.project.cache_dir) if module \
            else "a library, not a program"
        detail = f"exports PyInit_{module}; " if module else ""
        record["output"] = f"{runner.NOT_RUN} ({detail}{why})"
        console.step(build.target.name, f"run {name}: {record['output']}")
        return record
    argv, who = python
    line = modules.import_and_call(build.stage / name, module, build.target, argv)
    record.update(ran=True, runner=f"imported by {who}", output=line)
    console.step(build.target.name, f"run {name} (imported by {who}): {line}")
    return record
