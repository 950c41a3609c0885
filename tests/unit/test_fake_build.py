"""A fake build, like cargo-dist's ``--artifacts=lies``: the compile step's record is made
up and its artifacts are small files; what would run a tool (strip, the ELF and PE
readers, qemu and wine, the archivers) tells fixed lies. Everything else is the real code:
the pipeline over three targets (a musl one, a Windows one with a Python module, and one
whose compile fails), the step records, packaging, dist/release.json, the module layout
and ``inv merge``. What it writes is compared with the snapshots in
``tests/unit/snapshots/fake_build/``: review a change there like a change of the format.

Regenerate them with ``CROSSMATRIX_UPDATE_SNAPSHOTS=1 pytest tests/unit/test_fake_build.py``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.unit import snapshot
from tooling import records
from tooling.errors import SomeTargetsFailed, StepFailed
from tooling.matrix import workspace
from tooling.matrix.config import Project
from tooling.matrix.targets import Target
from tooling.platforms import linux, platform_of, runner, strip, windows
from tooling.pymod import modules
from tooling.records.build_info import BuildInfo
from tooling.records.codec import FileRecord
from tooling.records.layout import ModuleLayout
from tooling.records.release import DistManifest, MergedRelease
from tooling.records.steps import Compiled, CompiledArtifact, Ran, Stripped
from tooling.release import merge
from tooling.steps import pipeline, progress, verifying
from tooling.steps.state import STEPS, Build
from tooling.util import archives, atomic, digests
from tooling.verify import inspection
from tooling.verify.elf import Check

SNAPSHOTS = Path(__file__).with_name("snapshots") / "fake_build"
TARGETS = ("linux-x86_64", "windows-x86_64", "linux-aarch64")
BUILT = ("linux-x86_64", "windows-x86_64")
FAILS = "linux-aarch64"
EPOCH = 1_700_000_000
#: what cargo "built", by binary format: (file, package, kind, bin or lib target name)
ARTIFACTS = {
    "elf": [("fleet-report", "fleet-report", "bin", "fleet-report"),
            ("log-shipper", "log-shipper", "bin", "log-shipper")],
    "pe": [("fleet-report.exe", "fleet-report", "bin", "fleet-report"),
           ("build_core.dll", "build-core", "cdylib", "build_core")],
}
#: the records and files the snapshots hold (state/<target>.json: each step's data)
FILES = ("dist/linux-x86_64/build_info.json", "dist/windows-x86_64/build_info.json",
         "dist/build-core-bin/build_info.json", "dist/release.json", "release/release.json")
SCHEMAS: dict[str, type[FileRecord]] = {
    "dist/linux-x86_64/build_info.json": BuildInfo,
    "dist/windows-x86_64/build_info.json": BuildInfo,
    "dist/build-core-bin/build_info.json": ModuleLayout,
    "dist/release.json": DistManifest,
    "release/release.json": MergedRelease,
}


# --- the lies -------------------------------------------------------------------------------

def fake_compile(build: Build) -> None:
    """What compile_target records, for small files said to be cargo's."""
    if build.target.name == FAILS:
        raise StepFailed(f"{build.target.name}: cargo build failed (exit 101)",
                         "cargo's own error is above")
    folder = build.workspace.target_dir / build.target.triple / "release"
    folder.mkdir(parents=True, exist_ok=True)
    artifacts = []
    for name, package, kind, target_name in ARTIFACTS[platform_of(build.target).binary_format]:
        path = folder / name
        path.write_bytes(f"{build.target.triple} {name}\n".encode() * 40 + b"\0symbols" * 50)
        artifacts.append(CompiledArtifact(package=package, name=name, path=str(path),
                                          kind=kind, target_name=target_name,
                                          sha256=atomic.sha256_file(path)))
    windows = build.target.os == "windows"
    build.save(Compiled(
        artifacts=tuple(artifacts), compiler="rustc 1.84.0 (9fc6b4312 2025-01-07)",
        compiler_kind="rustup", compiler_commit="9fc6b43126469e3858e2fe86cafb4f0fd5068869",
        std_provider="rustup", std_reason="rustup ships std for this target", sysroot=None,
        linker="gcc" if windows else "zig",
        linker_program="x86_64-w64-mingw32-gcc" if windows else "zig",
        profile="release", rustflags=() if windows else ("-C", "target-feature=+crt-static"),
    ), inputs=digests.digest(["cargo", "build", "--target", build.target.triple]))


def fake_strip(target: Target, source: Path, dest: Path, *,
               library: bool = False) -> tuple[int, int]:
    data = source.read_bytes()
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(dest, data.split(b"\0symbols")[0], 0o755)
    return len(data), dest.stat().st_size


def fake_inspect(path: Path, target: Target, *, glibc_floor: str | None = None,
                 allowed: frozenset[str] = frozenset(),
                 exports: tuple[str, ...] = ()) -> inspection.Inspection:
    """What the ELF or PE reader would say about a good binary."""
    if platform_of(target).binary_format == "pe":
        machine = str(target.arch.pe_machine)
        needed = ["KERNEL32.dll", "msvcrt.dll", *sorted(allowed)]
        summary = {"machine": machine, "linkage": "dynamic", "static_pie": False,
                   "interpreter": None, "needed": needed, "highest_glibc": None,
                   "stripped": True, "subsystem": "IMAGE_SUBSYSTEM_WINDOWS_CUI"}
        linkage = Check("dlls", True, "system DLLs", ", ".join(needed))
    else:
        machine = target.arch.elf_machine
        summary = {"machine": machine, "linkage": "static", "static_pie": True,
                   "interpreter": None, "needed": [], "highest_glibc": None, "stripped": True}
        linkage = Check("linkage", True, "static", "static-pie")
    checks = [Check("machine", True, machine, machine), linkage,
              Check("stripped", True, "stripped", "stripped"),
              *inspection.exports_check(exports, exports)]
    return inspection.Inspection(checks, summary, [f"file: {path.name}: fake"])


def fake_archive(dest: Path, members: Sequence[tuple[str, Path, int]], *, top_dir: str,
                 mtime: int) -> str:
    """A listing instead of a .tar.gz or .zip (whose bytes depend on the zlib here)."""
    lines = [f"{mode:o} {atomic.sha256_file(src)} {top_dir}/{name}"
             for name, src, mode in members]
    atomic.write_text(dest, f"fake archive, mtime {mtime}\n" + "\n".join(lines) + "\n")
    return atomic.sha256_file(dest)


@pytest.fixture
def lies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    monkeypatch.setattr(strip, "strip_copy", fake_strip)
    monkeypatch.setattr(inspection, "inspect", fake_inspect)
    monkeypatch.setattr(archives, "write_archive", fake_archive)
    monkeypatch.setattr(windows, "cannot_run", lambda t: "no wine here (fake)")
    monkeypatch.setattr(windows, "describe_runner", lambda t: "wine")
    monkeypatch.setattr(linux, "describe_runner", lambda t: "native")
    monkeypatch.setattr(runner, "smoke", lambda t, binary, *_: runner.Smoke(
        line=f"{binary.name} 1.2.3 ({t.triple})", names_triple=True, runner="native"))
    monkeypatch.setattr(modules, "importer", lambda t, cache: None)
    monkeypatch.setattr(modules, "cannot_import", lambda t, cache: f"built for "
                        f"{t.platform_arch}; this Python runs on linux-x64 (fake)")
    monkeypatch.setattr(modules, "host_platform", lambda: "linux-x64")


def fake_build(root: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Build, package and merge in ``root``; the records as text, by snapshot name."""
    ws = workspace.Workspace(root=root / "crates", target_dir=root / "crates" / "target",
                             name="edge-tools", version="1.2.3",
                             cdylibs=(("build-core", "build_core"),),
                             python_modules=("build-core",))
    monkeypatch.setattr(workspace, "metadata", lambda *args, **kwargs: ws)
    project = Project(root=root, workspace=root / "crates", dist=root / "dist",
                      targets=TARGETS, cache_dir=root / "cache")
    with pytest.raises(SomeTargetsFailed, match=f"1 of 3 targets failed: {FAILS}"):
        pipeline.run_matrix(project, project.select(None),
                            [fake_compile, "strip", "verify", "run", "package"])
    merge.merge([project.dist], root / "release")
    made = {rel: (root / rel).read_text(encoding="utf-8") for rel in FILES}
    for name in BUILT:
        build = Build(project, project.select([name])[0])
        assert build.current("package") is not None  # every record current, in a chain
        data = {step: build.state()[step]["data"] for step in STEPS}
        text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        made[f"state/{name}.json"] = text.replace(str(root), "<tmp>")
    return made


# --- the tests ------------------------------------------------------------------------------

def test_the_records_of_a_fake_build_are_the_snapshots(
        tmp_path: Path, lies: None, monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot.check(fake_build(tmp_path, monkeypatch), SNAPSHOTS)


def test_the_files_of_a_fake_build_match_the_committed_schemas(
        tmp_path: Path, lies: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import jsonschema

    made = fake_build(tmp_path, monkeypatch)
    for rel, record in SCHEMAS.items():
        schema = json.loads(records.schema_path(record).read_text())
        jsonschema.validate(json.loads(made[rel]), schema)
        record.from_json(json.loads(made[rel]), source=rel)  # and the reader agrees


def test_two_fake_builds_in_two_folders_write_the_same_bytes(
        tmp_path: Path, lies: None, monkeypatch: pytest.MonkeyPatch) -> None:
    first = fake_build(tmp_path / "a", monkeypatch)
    second = fake_build(tmp_path / "b" / "deeper", monkeypatch)
    assert first == second
    for rel in FILES:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / "deeper" / rel
                                                        ).read_bytes()


def test_a_snapshot_that_differs_fails_and_the_update_rewrites_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(snapshot.UPDATE, raising=False)
    copy = tmp_path / "snapshots"
    shutil.copytree(SNAPSHOTS, copy)
    made = {str(p.relative_to(copy)): p.read_text() for p in copy.rglob("*") if p.is_file()}
    assert set(made) == {*FILES, *(f"state/{name}.json" for name in BUILT)}
    snapshot.check(made, copy)  # the same: passes
    changed = {**made, "dist/release.json": made["dist/release.json"].replace(
        '"complete": false', '"complete": true')}
    with pytest.raises(pytest.fail.Exception) as caught:
        snapshot.check(changed, copy)
    assert '-  "complete": false,\n+  "complete": true,' in str(caught.value)
    assert snapshot.UPDATE in str(caught.value)
    with pytest.raises(pytest.fail.Exception, match="no snapshot"):
        snapshot.check({**made, "new.json": "{}\n"}, copy)
    with pytest.raises(pytest.fail.Exception, match="no longer made"):
        snapshot.check({k: v for k, v in made.items() if k != "dist/release.json"}, copy)
    monkeypatch.setenv(snapshot.UPDATE, "1")
    snapshot.check(changed, copy)
    monkeypatch.delenv(snapshot.UPDATE)
    snapshot.check(changed, copy)
    assert '"complete": true' in (copy / "dist" / "release.json").read_text()


@pytest.mark.parametrize("expect", [False, True])
def test_the_run_step_asks_for_the_triple_only_when_the_project_does(
        tmp_path: Path, lies: None, monkeypatch: pytest.MonkeyPatch, expect: bool) -> None:
    """A program that prints no triple passes its smoke test by exiting 0; with
    ``smoke-expect-triple = true`` it fails, the hint naming that setting's table."""
    monkeypatch.setattr(runner, "smoke", lambda t, binary, *_: runner.Smoke(
        line=f"{binary.name} 1.2.3", names_triple=False, runner="native"))
    ws = workspace.Workspace(root=tmp_path / "crates", target_dir=tmp_path / "target",
                             name="demo", version="1.2.3")
    monkeypatch.setattr(workspace, "metadata", lambda *args, **kwargs: ws)
    project = Project(root=tmp_path, workspace=tmp_path / "crates", dist=tmp_path / "dist",
                      targets=("linux-x86_64",), cache_dir=tmp_path / "cache",
                      smoke_expect_triple=expect,
                      config_table="workspace.metadata.crossmatrix")
    steps: list[str | pipeline.StepFn] = [fake_compile, "strip", "verify", "run"]
    if not expect:
        pipeline.run_matrix(project, project.select(None), steps)
        ran = Build(project, project.select(None)[0]).load(Ran, "package")
        assert {n: (b.output, b.names_triple) for n, b in ran.binaries.items()} == {
            "fleet-report": ("fleet-report 1.2.3", False),
            "log-shipper": ("log-shipper 1.2.3", False)}
        return
    with pytest.raises(StepFailed) as failed:  # one target: its own error
        pipeline.run_matrix(project, project.select(None), steps)
    assert failed.value.message == ("fleet-report ran under native but did not print "
                                    "x86_64-unknown-linux-musl: fleet-report 1.2.3")
    assert (failed.value.hint or "").startswith(
        "smoke-expect-triple = true in [workspace.metadata.crossmatrix] asks for it")


def test_a_fake_build_says_a_few_lines_per_target_and_logs_everything(
        tmp_path: Path, lies: None, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """At the default verbosity: at most three lines per target (the groups of steps), the
    failed target's log named, the summary table on stdout and in dist/SUMMARY.md; each
    target's log holds its step lines, whatever was shown."""
    monkeypatch.delenv("CROSSMATRIX_VERBOSE", raising=False)
    fake_build(tmp_path, monkeypatch)
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    for name in BUILT:
        said = [line for line in err if line.startswith(f"{name} ")]
        assert len(said) == 3, said
    x86 = [line for line in err if line.startswith("linux-x86_64 ")]
    project = Project(root=tmp_path, workspace=tmp_path / "crates", dist=tmp_path / "dist",
                      targets=TARGETS, cache_dir=tmp_path / "cache")
    stripped = Build(project, project.select(["linux-x86_64"])[0]).load(
        Stripped, "test").binaries.values()
    before, after = (sum(b.size_unstripped for b in stripped), sum(b.size for b in stripped))
    assert before > after
    # the fake compile is no named step: its group says only what strip recorded
    assert x86[0] == f"linux-x86_64 stripped {progress.size(before)} → {progress.size(after)}"
    assert x86[1] == "linux-x86_64 verified (static) · ran under native"
    assert x86[2].startswith("linux-x86_64 packaged ")
    assert "sha256 " in x86[2] and x86[2].endswith(tuple("0123456789abcdef"))
    windows_ran = next(line for line in err if line.startswith("windows-x86_64 verified"))
    assert "not run (no wine here (fake))" in windows_ran
    logs = tmp_path / "dist" / "logs"
    assert f"{FAILS}: the whole log: {logs / f'{FAILS}.log'}" in err
    assert not any(line.startswith(f"{FAILS} ") for line in err)  # nothing finished
    assert "verify fleet-report" not in captured.err  # a -v line
    assert "machine" not in captured.err  # a -vv line
    assert sorted(p.name for p in logs.iterdir()) == sorted(f"{n}.log" for n in TARGETS)
    x86_log = (logs / "linux-x86_64.log").read_text()
    assert x86_log.startswith("crossmatrix ")
    assert "linux-x86_64 verify fleet-report" in x86_log  # every step line
    assert "linux-x86_64 packaged " in x86_log
    failed_log = (logs / f"{FAILS}.log").read_text()
    assert f"error: {FAILS}: cargo build failed (exit 101)" in failed_log
    table = captured.out.splitlines()
    assert table[0].split()[:2] == ["target", "std,"]
    assert [row.split()[0] for row in table[1:]] == list(TARGETS)
    assert "failed" in table[3] and f"{FAILS}.log" in table[3]
    summary = (tmp_path / "dist" / "SUMMARY.md").read_text().splitlines()
    assert summary[0].startswith("| target | std, compiler | linker | binaries |")
    assert summary[2].startswith("| linux-x86_64 | rustup, rustc ")
    assert "| static | - | ran under native | " in summary[2]
    assert [row.split(" | ")[0] for row in summary[2:]] == [f"| {n}" for n in
                                                            ("linux-x86_64", "windows-x86_64",
                                                             FAILS)]


@pytest.mark.parametrize("level", ["1", "2"])
def test_at_v_the_step_lines_are_shown_too_and_at_vv_the_checks(
        tmp_path: Path, lies: None, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], level: str) -> None:
    monkeypatch.setenv("CROSSMATRIX_VERBOSE", level)
    fake_build(tmp_path, monkeypatch)
    err = capsys.readouterr().err
    assert "linux-x86_64 verify fleet-report" in err
    assert "linux-x86_64 strip fleet-report: " in err
    assert ("file: fleet-report: fake" in err) == (level == "2")
    log = (tmp_path / "dist" / "logs" / "linux-x86_64.log").read_text()
    assert "file: fleet-report: fake" in log  # whatever the verbosity


def test_each_run_makes_the_log_anew(
        tmp_path: Path, lies: None, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_build(tmp_path, monkeypatch)
    log = tmp_path / "dist" / "logs" / "linux-x86_64.log"
    first = log.read_text()
    assert first.count("crossmatrix ") == 1 and "linux-x86_64 strip fleet-report: " in first
    fake_build(tmp_path, monkeypatch)
    again = log.read_text()
    assert again.count("crossmatrix ") == 1  # one run's header: not appended
    assert "strip: unchanged since the last run" in again  # the second run's own lines


def test_a_step_given_as_a_function_is_said_by_what_it_returned(
        tmp_path: Path, lies: None, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`inv verify --glibc X` runs verify as a function (its result not recorded): its line
    comes from the record it returned."""
    monkeypatch.delenv("CROSSMATRIX_VERBOSE", raising=False)
    fake_build(tmp_path, monkeypatch)
    capsys.readouterr()
    project = Project(root=tmp_path, workspace=tmp_path / "crates", dist=tmp_path / "dist",
                      targets=TARGETS, cache_dir=tmp_path / "cache")
    pipeline.run_matrix(project, project.select(["linux-x86_64"]),
                        [lambda build: verifying.verify_target(build, glibc_floor="2.17")])
    assert capsys.readouterr().err.splitlines() == ["linux-x86_64 verified (static)"]


def test_after_one_binary_changes_only_it_is_verified_and_run_again(
        tmp_path: Path, lies: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The edit-rebuild loop: cargo rebuilt one program, so verify and run check that one
    and take the others' results from their last records (matched by sha256, under the
    same settings); other smoke arguments run every program again."""
    ws = workspace.Workspace(root=tmp_path / "crates", target_dir=tmp_path / "target",
                             name="demo", version="1.2.3")
    monkeypatch.setattr(workspace, "metadata", lambda *args, **kwargs: ws)
    project = Project(root=tmp_path, workspace=tmp_path / "crates", dist=tmp_path / "dist",
                      targets=("linux-x86_64",), cache_dir=tmp_path / "cache")
    inspected: list[str] = []
    ran: list[str] = []
    real_inspect = fake_inspect

    def counting_inspect(path: Path, target: Target, **kw: object) -> inspection.Inspection:
        inspected.append(path.name)
        return real_inspect(path, target, **kw)  # type: ignore[arg-type]

    def counting_smoke(t: Target, binary: Path, *_: object) -> runner.Smoke:
        ran.append(binary.name)
        return runner.Smoke(line=f"{binary.name} 1.2.3 ({t.triple})", names_triple=True,
                            runner="native")

    monkeypatch.setattr(inspection, "inspect", counting_inspect)
    monkeypatch.setattr(runner, "smoke", counting_smoke)
    edited = {"n": 0}

    def compile_with_edit(build: Build) -> None:
        fake_compile(build)
        if edited["n"]:  # cargo relinked log-shipper only
            compiled = build.load(Compiled, "strip")
            path = Path(next(a.path for a in compiled.artifacts if a.name == "log-shipper"))
            path.write_bytes(f"edit {edited['n']}".encode() + path.read_bytes())  # kept by strip
            artifacts = tuple(
                CompiledArtifact(**{**a.to_json(), "sha256": atomic.sha256_file(Path(a.path))})
                for a in compiled.artifacts)
            build.save(Compiled(**{**{f: getattr(compiled, f) for f in (
                "compiler", "compiler_kind", "compiler_commit", "std_provider", "std_reason",
                "sysroot", "linker", "linker_program", "profile", "rustflags")},
                "artifacts": artifacts}), inputs=f"edit {edited['n']}")

    steps: list[str | pipeline.StepFn] = [compile_with_edit, "strip", "verify", "run",
                                          "package"]
    pipeline.run_matrix(project, project.select(None), steps)
    assert sorted(inspected) == sorted(ran) == ["fleet-report", "log-shipper"]
    inspected.clear()
    ran.clear()
    edited["n"] = 1
    pipeline.run_matrix(project, project.select(None), steps)
    assert inspected == ran == ["log-shipper"]
    build = Build(project, project.select(None)[0])
    assert set(build.load(Ran, "package").binaries) == {"fleet-report", "log-shipper"}
    assert build.current("package") is not None
    ran.clear()
    other = Project(**{**{f: getattr(project, f) for f in ("root", "workspace", "dist",
                                                            "targets", "cache_dir")},
                       "smoke_args": ("--help",)})
    pipeline.run_matrix(other, other.select(None), steps)
    assert sorted(ran) == ["fleet-report", "log-shipper"]  # the settings changed: all again
