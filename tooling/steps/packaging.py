"""Package: one target's verified, smoke-tested binaries into ``dist/<name>/``.

A deterministic ``.tar.gz``, ``SHA256SUMS`` and ``build_info.json``, made in a
folder beside and renamed into place whole; skipped when its inputs and the
commit time are unchanged and the folder still checks out against SHA256SUMS.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from tooling import __version__
from tooling.errors import StepFailed
from tooling.platforms import platform_of
from tooling.pymod import modules
from tooling.steps import checking
from tooling.steps.state import Build
from tooling.util import archives, atomic, console, versions


def package_target(build: Build) -> Path:
    target, ws = build.target, build.workspace
    compiled = build.require("compile", "package")
    stripped = build.require("strip", "package")
    verified = build.require("verify", "package")
    ran = build.require("run", "package")
    inputs = build.next_inputs("package", "package")
    if not all(v["ok"] for v in verified.values()):
        raise StepFailed(f"{target.name}: verify failed; not packaging it")
    if not checking.staged_intact(build, stripped):
        raise StepFailed(f"{target.name}: a staged binary changed since it was verified",
                         f"run `inv release --target {target.name}` again")
    mtime = archives.source_date_epoch(build.project.root)
    previous = build.state().get("package")
    if (build.unchanged("package") and previous is not None
            and previous["data"].get("source_date_epoch") == mtime
            and (build.dist / "SHA256SUMS").is_file()
            and not archives.check_sha256sums(build.dist)):
        console.step(target.name, f"package: {build.dist} is up to date; skipped")
        _python_modules(build, stripped, verified, ran)
        return build.dist
    top = f"{build.project.name or ws.name}-{ws.version}-{target.name}"
    build.project.dist.mkdir(parents=True, exist_ok=True)
    atomic.clean_dead_leftovers(build.dist)  # from a run killed mid-swap
    new = build.project.dist / f".{target.name}.{os.getpid()}.new"
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir()
    archive = new / f"{top}{platform_of(target).archive_suffix}"
    members = [(name, build.stage / name, 0o755) for name in sorted(stripped)]
    archive_sha = archives.write_archive(archive, members, top_dir=top, mtime=mtime)
    artifacts = []
    for name in sorted(stripped):
        s, v = stripped[name], verified[name]
        artifacts.append({
            "name": name, "package": s["package"], "path": f"{top}/{name}",
            "kind": s.get("kind", "bin"),
            # not the unstripped size: on windows-gnu the symbol table names rustc's own
            # temporary folders (raw-dylib import libraries), which would make
            # build_info.json differ between two identical builds
            "size": s["size"], "sha256": v["sha256"],
            "linkage": v["linkage"], "interpreter": v["interpreter"], "needed": v["needed"],
            "highest_glibc": v["highest_glibc"], "machine": v["machine"],
            "stripped": v["stripped"],
            **{key: v[key] for key in ("min_os", "signature", "subsystem") if key in v},
            "run": {"ran": ran[name].get("ran", True), "runner": ran[name]["runner"],
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
                             key=versions.parse, default=None),
        "std_provider": compiled["std_provider"], "std_source": compiled["std_reason"],
        "std_sysroot": compiled["sysroot"],
        "linker": compiled["linker"], "linker_program": compiled["linker_program"],
        "profile": compiled["profile"], "rustflags": compiled["rustflags"],
        "source_date_epoch": mtime,
        "ran": all(a["run"]["ran"] for a in artifacts if a["kind"] == "bin"),
        "archive": {"file": archive.name, "sha256": archive_sha},
        "artifacts": artifacts,
        "crossmatrix": __version__,
    }
    atomic.write_json(new / "build_info.json", info)
    archives.write_sha256sums(new, [archive, new / "build_info.json"])
    atomic.replace_dir(new, build.dist)
    size = (build.dist / archive.name).stat().st_size
    console.step(target.name, f"package: {build.dist / archive.name} ({size:,} bytes)")
    _python_modules(build, stripped, verified, ran)
    build.record("package", {"archive": str(build.dist / archive.name), "sha256": archive_sha,
                             "source_date_epoch": mtime},
                 inputs=inputs, outputs=archive_sha)
    return build.dist


def _python_modules(build: Build, stripped: dict[str, Any], verified: dict[str, Any],
                    ran: dict[str, Any]) -> None:
    """Python extension modules also go to ``dist/<module>-bin/<platform-arch>/``."""
    for name, info in sorted(stripped.items()):
        module = checking.python_module(build, info)
        if module is None:
            continue
        dest = modules.lay_out(build.project.dist, module, build.target, build.stage / name,
                                 verified[name], ran[name])
        console.step(build.target.name, f"package: {dest}")


