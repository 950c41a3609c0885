"""The per-target pipeline: std → compile → strip → verify → run → package.

Each step reads what the earlier steps recorded in
``<target dir>/crossmatrix/<name>/state.json`` and records its own result there,
so every step can also run on its own (``inv verify --target X``). A step whose
input changed clears what the later steps recorded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooling import __version__, atomic, cargo, console, linkers, proc, toolchain
from tooling.config import Project
from tooling.errors import CrossmatrixError, SomeTargetsFailed, StepFailed, ToolMissing
from tooling.targets import Target

STEPS = ("compile", "strip", "verify", "run", "package")


@dataclass(frozen=True)
class Build:
    project: Project
    target: Target

    @property
    def workspace(self) -> cargo.Workspace:
        return cargo.metadata(self.project.workspace)

    @property
    def out(self) -> Path:
        return self.workspace.target_dir / "crossmatrix" / self.target.name

    @property
    def stage(self) -> Path:
        return self.out / "bin"

    @property
    def dist(self) -> Path:
        return self.project.dist / self.target.name

    def state(self) -> dict[str, Any]:
        path = self.out / "state.json"
        if not path.is_file():
            return {}
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except json.JSONDecodeError:
            return {}  # a damaged record is never trusted; the steps redo their work
        return data

    def record(self, step: str, value: Any) -> None:
        """Record ``step``'s result and forget every later step's."""
        state = self.state()
        state[step] = value
        if step in STEPS:
            for later in STEPS[STEPS.index(step) + 1:]:
                state.pop(later, None)
        self.out.mkdir(parents=True, exist_ok=True)
        atomic.write_json(self.out / "state.json", state)

    def require(self, step: str, needed: str) -> dict[str, Any]:
        value = self.state().get(step)
        if not value:
            raise StepFailed(f"{self.target.name}: nothing from `{step}` yet",
                             f"run `inv {step} --target {self.target.name}` before `inv {needed}`")
        result: dict[str, Any] = value
        return result


# --- std ---------------------------------------------------------------------------------

def install_std(build: Build) -> toolchain.StdPlan:
    plan = toolchain.ensure(build.project, build.target)
    console.step(build.target.name, f"std: {plan.describe()} — {plan.reason}")
    console.step(build.target.name, f"compiler: {plan.compiler.describe()}")
    build.record("std", {
        "provider": plan.provider, "reason": plan.reason,
        "compiler": plan.compiler.version_line, "compiler_kind": plan.compiler.kind,
        "sysroot": plan.sysroot.name if plan.sysroot else None,
    })
    return plan


# --- compile -----------------------------------------------------------------------------

def _rustflags_env(target: Target, flags: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Our rustflags as ``--config`` (merged with the user's config files), or, when the
    user set RUSTFLAGS (which makes cargo ignore target rustflags), appended to it."""
    user = os.environ.get("CARGO_ENCODED_RUSTFLAGS")
    if user is None and os.environ.get("RUSTFLAGS"):
        user = "\x1f".join(os.environ["RUSTFLAGS"].split())
    if user is not None:
        merged = [f for f in user.split("\x1f") if f] + list(flags)
        return {"CARGO_ENCODED_RUSTFLAGS": "\x1f".join(merged)}, []
    if not flags:
        return {}, []
    return {}, ["--config", f"target.{target.triple}.rustflags={json.dumps(list(flags))}"]


def _diagnose(build: Build, plan: toolchain.StdPlan | None,
              link: linkers.LinkerPlan) -> Callable[[str], str]:
    target = build.target

    def hint(stderr: str) -> str:
        missing_symbol = re.search(r"undefined symbol: ([A-Za-z_][A-Za-z0-9_@.]*)", stderr)
        if target.glibc and missing_symbol:
            return (f"{missing_symbol[1]} is not in glibc {target.glibc}: raise the floor "
                    f"(e.g. {target.triple}.2.28) or stop calling it")
        if "E0463" in stderr or "can't find crate for `core`" in stderr or (
                "can't find crate for `std`" in stderr):
            return (f"std for {target.triple} is missing: run `inv install-targets --target "
                    f"{target.name}` (after `inv setup`)")
        if not link.present():
            if not link.packages:
                return (f"the linker {link.linker} is missing: install it, or change `linker` "
                        f"in [tool.crossmatrix.target.{target.name}]")
            return (f"the linker {link.linker} is missing: run `inv setup --target "
                    f"{target.name}` (installs {' '.join(link.packages)})")
        return "cargo's own error is above"

    return hint


def compile_target(build: Build) -> list[cargo.Artifact]:
    project, target = build.project, build.target
    plan: toolchain.StdPlan | None
    try:
        plan = install_std(build)
    except ToolMissing as missing:
        plan = None
        console.warn(f"{target.name}: {missing.message}")
    link = linkers.plan(target, project.linker_for(target), project.cache_dir)
    compiler = plan.compiler if plan else (
        toolchain.rustup_compiler(project.workspace) or toolchain.debian_compiler())
    if compiler is None:
        raise ToolMissing("no Rust compiler found", "install rustup, or run `inv setup`")
    settings = project.settings_for(target)
    flags = [*link.rustflags, *(plan.rustflags if plan else ()), *settings.rustflags]
    extra_env, config_args = _rustflags_env(target, flags)
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    wrapper = {}
    if project.sccache:
        sccache = proc.which("sccache")
        if sccache is None:
            raise ToolMissing("sccache = true, but sccache is not installed",
                              f"run `inv setup --target {target.name}` (installs Debian's sccache)")
        wrapper = {"RUSTC_WRAPPER": sccache}
    env = proc.child_env(
        {**compiler.env(), **link.cargo_env(target), **settings.env, **extra_env, **wrapper,
         "PATH": path},
        remove=("CARGO_BUILD_TARGET", "RUSTFLAGS") if extra_env else ("CARGO_BUILD_TARGET",),
    )
    argv = [str(compiler.cargo), "build", "--target", target.triple,
            "--message-format=json-render-diagnostics", *config_args]
    argv += ["--release"] if project.profile == "release" else ["--profile", project.profile]
    if project.packages:
        for package in project.packages:
            argv += ["-p", package]
    else:
        argv.append("--workspace")
    argv.append("--bins")
    if project.features:
        argv += ["--features", ",".join(project.features)]
    if (project.workspace / "Cargo.lock").is_file():
        argv.append("--locked")
    console.step(target.name, f"compile with {compiler.describe()}, linker {link.describe()}")
    diagnose = _diagnose(build, plan, link)
    res = proc.stream(argv, env=env, cwd=project.workspace, what="cargo build", check=False)
    artifacts, success = cargo.parse_messages(res.stdout)
    if not res.ok or not success:
        raise StepFailed(f"{target.name}: cargo build failed (exit {res.returncode})",
                         diagnose(res.stderr))
    if plan is None:
        raise StepFailed(f"{target.name}: built without a known std provider")
    if not artifacts:
        raise StepFailed(f"{target.name}: cargo built no executables",
                         "set `packages` in [tool.crossmatrix] to crates that have binaries")
    build.record("compile", {
        "artifacts": [{"package": a.package, "name": a.name, "path": str(a.path)}
                      for a in artifacts],
        "compiler": compiler.version_line,
        "compiler_kind": compiler.kind,
        "compiler_commit": compiler.commit_hash,
        "std_provider": plan.provider,
        "std_reason": plan.reason,
        "sysroot": plan.sysroot.name if plan.sysroot else None,
        "linker": link.kind,
        "linker_program": Path(link.linker).name,
        "profile": project.profile,
        "rustflags": [f if not f.startswith("/") else Path(f).name for f in flags],
    })
    for artifact in artifacts:
        console.step(target.name, f"built {artifact.name}: {artifact.path}")
    return artifacts


# --- strip -------------------------------------------------------------------------------

def strip_target(build: Build) -> dict[str, Any]:
    from tooling import strip

    compiled = build.require("compile", "strip")
    results: dict[str, Any] = {}
    for artifact in compiled["artifacts"]:
        source = Path(artifact["path"])
        if not source.is_file():
            raise StepFailed(f"{build.target.name}: {source} is gone",
                             f"run `inv compile --target {build.target.name}` again")
        dest = build.stage / artifact["name"]
        before, after = strip.strip_copy(build.target, source, dest)
        results[artifact["name"]] = {
            "package": artifact["package"], "path": str(dest),
            "size_unstripped": before, "size": after, "sha256": atomic.sha256_file(dest),
        }
        console.step(build.target.name, f"strip {artifact['name']}: {before:,} → {after:,} bytes")
    build.record("strip", results)
    return results


# --- verify ------------------------------------------------------------------------------

def verify_target(build: Build, *, glibc_floor: str | None = None) -> dict[str, Any]:
    """Check the stripped binaries; ``glibc_floor`` (default: the target's) bounds GLIBC_x.y."""
    from tooling import inspect

    glibc_floor = glibc_floor or build.target.glibc
    stripped = build.require("strip", "verify")
    results: dict[str, Any] = {}
    problems: list[str] = []
    for name, info in stripped.items():
        path = Path(info["path"])
        facts = inspect.read_facts(path)
        checks = inspect.verify(facts, build.target, glibc_floor=glibc_floor)
        console.step(build.target.name, f"verify {name}")
        for line in inspect.render(checks):
            console.info(f"    {line}")
        console.info(f"    file: {inspect.file_output(path)}")
        ldd = inspect.ldd_output(path, build.target, facts)
        console.info("    ldd:  " + "\n          ".join(ldd.splitlines() or [""]))
        bad = inspect.failed(checks)
        problems += [f"{name}: {c.name} expected {c.expected}, got {c.actual}" for c in bad]
        results[name] = {
            "sha256": atomic.sha256_file(path),
            "ok": not bad,
            "machine": facts.machine,
            "linkage": "static" if facts.static else "dynamic",
            "static_pie": facts.static_pie,
            "interpreter": facts.interpreter,
            "needed": list(facts.needed),
            "highest_glibc": facts.highest_glibc,
            "stripped": facts.stripped,
            "checks": {c.name: {"ok": c.ok, "expected": c.expected, "actual": c.actual}
                       for c in checks},
        }
    build.record("verify", results)
    if problems:
        raise StepFailed(f"{build.target.name}: verify failed: {'; '.join(problems)}",
                         "the binary is not what the target promises; see the checks above")
    return results


# --- run ---------------------------------------------------------------------------------

def _checked(build: Build, step: str, needed: str) -> dict[str, Any]:
    """``step``'s record, refusing it when a staged binary changed since."""
    record = build.require(step, needed)
    for name, info in record.items():
        path = build.stage / name
        if not path.is_file() or atomic.sha256_file(path) != info["sha256"]:
            raise StepFailed(f"{build.target.name}: {name} changed since `{step}`",
                             f"run `inv {step} --target {build.target.name}` again")
    return record


def run_target(build: Build) -> dict[str, Any]:
    from tooling import runner

    verified = _checked(build, "verify", "run")
    failed = [name for name, info in verified.items() if not info["ok"]]
    if failed:
        raise StepFailed(f"{build.target.name}: {', '.join(failed)} failed verify; not running it",
                         f"fix the build, then `inv verify --target {build.target.name}`")
    results: dict[str, Any] = {}
    for name, info in verified.items():
        line = runner.smoke(build.target, build.stage / name, build.project.smoke_args,
                            build.project.smoke_expect_triple)
        results[name] = {"sha256": info["sha256"], "runner": runner.describe(build.target),
                         "output": line}
        console.step(build.target.name, f"run {name} ({runner.describe(build.target)}): {line}")
    build.record("run", results)
    return results


# --- package -----------------------------------------------------------------------------

def package_target(build: Build) -> Path:
    from tooling import package

    target, ws = build.target, build.workspace
    compiled = build.require("compile", "package")
    stripped = build.require("strip", "package")
    verified = _checked(build, "verify", "package")
    ran = _checked(build, "run", "package")
    if not all(v["ok"] for v in verified.values()):
        raise StepFailed(f"{target.name}: verify failed; not packaging it")
    mtime = package.source_date_epoch(build.project.root)
    top = f"{build.project.name or ws.name}-{ws.version}-{target.name}"
    build.project.dist.mkdir(parents=True, exist_ok=True)
    new = build.project.dist / f".{target.name}.new"
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir()
    archive = new / f"{top}.tar.gz"
    members = [(name, build.stage / name, 0o755) for name in sorted(stripped)]
    archive_sha = package.write_tar_gz(archive, members, top_dir=top, mtime=mtime)
    artifacts = []
    for name in sorted(stripped):
        s, v = stripped[name], verified[name]
        artifacts.append({
            "name": name, "package": s["package"], "path": f"{top}/{name}",
            "size_unstripped": s["size_unstripped"], "size": s["size"], "sha256": v["sha256"],
            "linkage": v["linkage"], "interpreter": v["interpreter"], "needed": v["needed"],
            "highest_glibc": v["highest_glibc"], "machine": v["machine"],
            "stripped": v["stripped"], "run": {"runner": ran[name]["runner"],
                                               "output": ran[name]["output"]},
        })
    info = {
        "name": target.name, "triple": target.triple,
        "project": build.project.name or ws.name, "version": ws.version,
        "os": target.os, "arch": target.arch.rust, "libc": target.libc, "linkage": target.linkage,
        "compiler": {"version": compiled["compiler"], "kind": compiled["compiler_kind"],
                     "commit": compiled["compiler_commit"]},
        "glibc_floor": target.glibc,
        "highest_glibc": max((a["highest_glibc"] for a in artifacts if a["highest_glibc"]),
                             key=_version_key, default=None),
        "std_provider": compiled["std_provider"], "std_source": compiled["std_reason"],
        "std_sysroot": compiled["sysroot"],
        "linker": compiled["linker"], "linker_program": compiled["linker_program"],
        "profile": compiled["profile"], "rustflags": compiled["rustflags"],
        "source_date_epoch": mtime,
        "archive": {"file": archive.name, "sha256": archive_sha},
        "artifacts": artifacts,
        "crossmatrix": __version__,
    }
    atomic.write_json(new / "build_info.json", info)
    package.write_sha256sums(new, [archive, new / "build_info.json"])
    atomic.replace_dir(new, build.dist)
    size = (build.dist / archive.name).stat().st_size
    console.step(target.name, f"package: {build.dist / archive.name} ({size:,} bytes)")
    build.record("package", {"archive": str(build.dist / archive.name), "sha256": archive_sha})
    return build.dist


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


# --- running several steps over several targets -------------------------------------------

StepFn = Callable[[Build], object]

STEP_FUNCTIONS: dict[str, StepFn] = {
    "install-targets": install_std,
    "compile": compile_target,
    "strip": strip_target,
    "verify": verify_target,
    "run": run_target,
    "package": package_target,
}
RELEASE = ("compile", "strip", "verify", "run", "package")


def run_matrix(project: Project, targets: Sequence[Target],
               steps: Sequence[str | StepFn]) -> None:
    """Run ``steps`` for each target; one target's failure does not stop the others."""
    failures: list[tuple[Target, CrossmatrixError]] = []
    for target in targets:
        build = Build(project, target)
        try:
            for step in steps:
                (STEP_FUNCTIONS[step] if isinstance(step, str) else step)(build)
        except CrossmatrixError as exc:
            if len(targets) == 1:
                raise
            console.err().print(f"[red]{target.name}: {exc.message}[/]", markup=True)
            failures.append((target, exc))
    if failures:
        for failed, error in failures:
            console.err().print(error.render().replace("error:", f"error: {failed.name}:", 1),
                                markup=False)
        raise SomeTargetsFailed(
            f"{len(failures)} of {len(targets)} targets failed: "
            + ", ".join(t.name for t, _ in failures),
            "re-run only those with --target NAME; the others are done",
        )
