"""The step records chain: a record counts only if made from the current previous one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tooling.errors import StepFailed
from tooling.matrix import workspace
from tooling.matrix.config import Project
from tooling.matrix.targets import by_name
from tooling.records.steps import Stripped, StrippedBinary
from tooling.steps.state import Build
from tooling.util.digests import digest


@pytest.fixture
def build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Build:
    ws = workspace.Workspace(root=tmp_path, target_dir=tmp_path / "target", name="w",
                         version="1.0.0")
    monkeypatch.setattr(Build, "workspace", property(lambda self: ws))
    project = Project(root=tmp_path, workspace=tmp_path, dist=tmp_path / "dist",
                      targets=("linux-aarch64",), cache_dir=tmp_path / "cache")
    return Build(project, by_name()["linux-aarch64"])


def test_chain_of_current_records(build: Build) -> None:
    build.record("compile", {"n": 1}, inputs="argv", outputs="bins-1")
    assert build.current("compile") is not None
    assert build.current("strip") is None
    with pytest.raises(StepFailed, match="no current result of `strip`"):
        build.require("strip", "verify")
    build.record("strip", {"s": 1}, inputs=build.next_inputs("strip", "strip"), outputs="st-1")
    assert build.require("strip", "verify") == {"s": 1}
    assert build.unchanged("strip")
    # cargo produced other binaries: the strip record no longer counts
    build.record("compile", {"n": 2}, inputs="argv", outputs="bins-2")
    assert build.current("strip") is None
    assert not build.unchanged("strip")


def test_settings_are_part_of_a_steps_inputs(build: Build) -> None:
    build.record("compile", {}, inputs="a", outputs="o")
    before = build.current("compile")
    assert before is not None
    verify_inputs = build.inputs_for("verify", before)
    floor = Build(build.project, by_name()["linux-aarch64-gnu"])
    assert floor.inputs_for("verify", before) == verify_inputs  # no floor either way
    assert digest({"a": 1}, [2]) == digest({"a": 1}, [2])
    assert digest({"a": 1}) != digest({"a": 2})


def test_damaged_state_file_is_not_trusted(build: Build) -> None:
    build.record("compile", {}, inputs="a", outputs="o")
    (build.out / "state.json").write_text("{not json")
    assert build.state() == {}
    assert build.current("compile") is None


def test_a_record_that_does_not_read_is_redone_not_trusted(build: Build) -> None:
    build.record("compile", {}, inputs="a", outputs="o")
    build.record("strip", {"prog": {"sha256": 1}}, inputs=build.next_inputs("strip", "strip"),
                 outputs="st")
    assert build.unchanged("strip")
    assert build.reusable(Stripped) is None  # the step runs again
    with pytest.raises(StepFailed, match=r"the record of `strip` is not one this crossmatrix "
                                         r"reads \(.*state.json \(strip\): prog.package: "
                                         r"missing\)") as caught:
        build.load(Stripped, "verify")
    assert caught.value.hint == "run `inv strip --target linux-aarch64` again"
    stripped = Stripped(binaries={"prog": StrippedBinary(
        package="p", path="/x/prog", kind="bin", target_name="prog", size_unstripped=2,
        size=1, sha256="f" * 64)})
    build.save(stripped, inputs=build.next_inputs("strip", "strip"))
    assert build.load(Stripped, "verify") == stripped
    assert build.reusable(Stripped) == stripped
    assert build.current("strip") == {"inputs": build.next_inputs("strip", "strip"),
                                      "outputs": stripped.outputs(), "data": stripped.to_json(),
                                      "settings": digest(build.settings_for("strip"))}


def test_a_verify_record_made_under_other_rules_is_redone(
        build: Build, monkeypatch: pytest.MonkeyPatch) -> None:
    from tooling.steps import state

    build.record("compile", {}, inputs="a", outputs="o")
    before = build.current("compile")
    assert before is not None
    now = build.inputs_for("verify", before)
    monkeypatch.setattr(state, "VERIFY_RULES", state.VERIFY_RULES - 1)
    assert build.inputs_for("verify", before) != now


def test_cargos_artifact_order_does_not_make_the_later_steps_run_again() -> None:
    """cargo reports artifacts in the order its jobs finish; a no-op build must still skip
    strip, verify, run and package."""
    from dataclasses import replace

    from tooling.records.steps import Compiled, CompiledArtifact

    a, b = (CompiledArtifact(package=n, name=n, path=f"/t/{n}", kind="bin", target_name=n,
                             sha256=n * 8) for n in ("edge-agent", "sqlite-probe"))
    one = Compiled(artifacts=(a, b), compiler="rustc 1.96.0", compiler_kind="debian",
                   compiler_commit="c", std_provider="build-std", std_reason="src",
                   sysroot=None, linker="zig", linker_program="zig", profile="release",
                   rustflags=())
    assert replace(one, artifacts=(b, a)).outputs() == one.outputs()
    assert replace(one, artifacts=(a,)).outputs() != one.outputs()
