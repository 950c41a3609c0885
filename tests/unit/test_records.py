"""The typed records: JSON Schemas made from them (committed, shipped in the package),
and from_json refusing a record of another version or shape with one line naming the
file and the field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args

import pytest

from tests.unit import fake_records, snapshot
from tooling import records
from tooling.errors import BadRecord, StepFailed
from tooling.matrix.targets import Os
from tooling.records import codec
from tooling.records.build_info import BuildInfo
from tooling.records.layout import ModuleLayout
from tooling.records.release import MergedRelease
from tooling.records.steps import Verified
from tooling.release import deploy, merge
from tooling.util import archives

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _schema_text(record: type[codec.FileRecord]) -> str:
    return json.dumps(codec.json_schema(record), indent=2, sort_keys=True,
                      ensure_ascii=False) + "\n"


def test_committed_schemas_are_made_from_the_records() -> None:
    snapshot.check({records.schema_path(r).name: _schema_text(r) for r in records.FILES},
                   records.SCHEMAS)


def test_the_schemas_are_package_data() -> None:
    """A wheel has them: pyproject.toml ships tooling/records/schemas/*.schema.json."""
    import tomllib

    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = data["tool"]["setuptools"]["package-data"]["tooling.records"]
    shipped = {p.name for pattern in patterns for p in records.SCHEMAS.parent.glob(pattern)}
    assert shipped == {records.schema_path(r).name for r in records.FILES}


def test_every_file_record_is_versioned() -> None:
    for record in records.FILES:
        assert record.supported_version() == 1
        schema = codec.json_schema(record)
        assert schema["properties"]["schema_version"]["const"] == 1
        assert "schema_version" in schema["required"]
        assert schema["additionalProperties"] is False


def _info() -> BuildInfo:
    return fake_records.build_info(
        "windows-x86_64", archive="demo.zip", archive_sha="a" * 64,
        artifacts=(fake_records.artifact("demo.exe", sha256="b" * 64, size=3,
                                         subsystem="IMAGE_SUBSYSTEM_WINDOWS_CUI"),
                   fake_records.artifact("demo", sha256="c" * 64)))


def test_a_record_reads_back_as_itself_and_leaves_out_what_is_absent() -> None:
    info = _info()
    data = info.to_json()
    assert data["schema_version"] == 1
    assert data["artifacts"][0]["subsystem"] == "IMAGE_SUBSYSTEM_WINDOWS_CUI"
    assert "subsystem" not in data["artifacts"][1] and "min_os" not in data["artifacts"][1]
    assert BuildInfo.from_json(json.loads(json.dumps(data)), source="x") == info


def _refused(data: Any, record: type[codec.Record] = BuildInfo) -> str:
    with pytest.raises(BadRecord) as caught:
        record.from_json(data, source="dist/windows-x86_64/build_info.json")
    assert "\n" not in caught.value.message
    assert caught.value.hint
    return caught.value.message


def test_another_version_or_none_is_refused() -> None:
    data = _info().to_json()
    assert _refused({**data, "schema_version": 2}) == (
        "dist/windows-x86_64/build_info.json: schema_version: 2, but this crossmatrix reads "
        "version 1 of dist/<target>/build_info.json")
    del data["schema_version"]
    assert _refused(data) == (
        "dist/windows-x86_64/build_info.json: schema_version: missing (this crossmatrix "
        "reads version 1 of dist/<target>/build_info.json)")
    assert "schema_version: true" in _refused({**data, "schema_version": True})


def test_a_malformed_record_names_the_field() -> None:
    data = _info().to_json()
    where = "dist/windows-x86_64/build_info.json: "
    bad = json.loads(json.dumps(data))
    bad["artifacts"][1]["size"] = "3"
    assert _refused(bad) == where + 'artifacts[1].size: expected an integer, got "3"'
    bad = json.loads(json.dumps(data))
    del bad["archive"]["sha256"]
    assert _refused(bad) == where + "archive.sha256: missing"
    oses = ", ".join(f'"{name}"' for name in get_args(Os))
    assert _refused({**data, "os": "plan9"}) == (
        where + f'os: expected one of {oses}, got "plan9"')
    assert _refused({**data, "ran": 1}) == where + "ran: expected true or false, got 1"
    assert _refused({**data, "extra": 1}) == where + "extra: not a field of this record"
    assert _refused({**data, "artifacts": {}}) == (
        where + "artifacts: expected an array, got an object")
    assert _refused([data]) == where + "the record: expected an object, got an array"
    assert _refused({**data, "name": None}) == where + "name: expected a string, got null"
    BuildInfo.from_json({**data, "highest_glibc": None}, source="x")  # null is allowed there
    assert "needed[0]" in _refused({**data, "artifacts": [
        {**data["artifacts"][0], "needed": [None]}]})


def test_step_records_are_the_mapping_on_disk() -> None:
    verified = Verified(binaries={"demo": fake_records.verified()})
    data = verified.to_json()
    assert list(data) == ["demo"] and data["demo"]["ok"] is True
    assert Verified.from_json(data, source="state.json") == verified
    assert _refused({"demo": {**data["demo"], "ok": None}}, Verified).endswith(
        "demo.ok: expected true or false, got null")


def test_load_says_what_is_wrong_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "build_info.json"
    with pytest.raises(BadRecord, match=r"build_info.json: cannot be read \(No such file"):
        BuildInfo.load(path)
    path.write_text("{not json")
    with pytest.raises(BadRecord, match=r"build_info.json: not a JSON file \(Expecting"):
        BuildInfo.load(path)
    _info().write(path)
    assert BuildInfo.load(path) == _info()
    assert path.read_text().startswith('{\n  "arch": "x86_64",\n  "archive": {')


# --- the schemas against records, and the records' own checks ------------------------------

def test_the_schemas_accept_records_and_refuse_what_from_json_refuses() -> None:
    import jsonschema

    info = _info().to_json()
    validator = jsonschema.Draft202012Validator(codec.json_schema(BuildInfo))
    validator.check_schema(validator.schema)
    validator.validate(info)
    for bad in ({**info, "schema_version": 2}, {**info, "extra": 1}, {**info, "ran": 1},
                {k: v for k, v in info.items() if k != "schema_version"}):
        assert not validator.is_valid(bad)
        with pytest.raises(BadRecord):
            BuildInfo.from_json(bad, source="x")
    merged = MergedRelease(project="demo", version="0.1.0", targets=(_info(),),
                           expected=("windows-x86_64",), missing=(), failed={}, complete=True)
    jsonschema.validate(merged.to_json(), codec.json_schema(MergedRelease))
    layout = ModuleLayout(module="m", builds={})
    jsonschema.validate(layout.to_json(), codec.json_schema(ModuleLayout))


# --- readers of files made elsewhere: one line, no traceback -------------------------------

def _dist(root: Path, info: dict[str, Any]) -> Path:
    folder = root / "dist" / "windows-x86_64"
    folder.mkdir(parents=True)
    (folder / "demo.zip").write_bytes(b"zip")
    (folder / "build_info.json").write_text(json.dumps(info))
    archives.write_sha256sums(folder, [folder / "demo.zip", folder / "build_info.json"])
    return root / "dist"


def test_merge_and_deploy_refuse_an_old_build_info_naming_file_and_field(
        tmp_path: Path) -> None:
    old = _info().to_json()
    del old["schema_version"]
    dist = _dist(tmp_path, old)
    with pytest.raises(StepFailed, match=r"windows-x86_64/build_info.json: schema_version: "
                                         r"missing"):
        merge.merge([dist], tmp_path / "release")
    assert not (tmp_path / "release").exists()
    with pytest.raises(BadRecord, match="schema_version: missing"):
        deploy.find(dist)


@pytest.mark.parametrize("argv", [["merge", "--partial", "--out", "{out}", "--dir", "{dist}"],
                                  ["deploy", "--list", "--from", "{dist}"]],
                         ids=["merge", "deploy"])
def test_the_console_script_says_it_in_one_line(tmp_path: Path, argv: list[str]) -> None:
    bad = json.loads(json.dumps(_info().to_json()))
    bad["artifacts"][0]["sha256"] = 7
    dist = _dist(tmp_path, bad)
    args = [a.format(out=tmp_path / "release", dist=dist) for a in argv]
    result = subprocess.run([str(BIN / "crossmatrix"), "--project", str(REPO), *args],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120,
                            check=False)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines == [f"error: {dist}/windows-x86_64/build_info.json: artifacts[0].sha256: "
                     "expected a string, got 7",
                     "  hint: it was not made by this crossmatrix version: package that target "
                     "again (`inv release --target NAME`) with this one"]


def test_an_installed_record_of_another_version_is_named(tmp_path: Path) -> None:
    release = tmp_path / "opt" / "releases" / "x"
    release.mkdir(parents=True)
    (tmp_path / "opt" / "current").symlink_to(release)
    old = _info().to_json()
    old["schema_version"] = 0
    (release / ".crossmatrix.json").write_text(json.dumps({**old, "sha256": "a" * 64}))
    with pytest.raises(BadRecord, match=r"\.crossmatrix\.json: schema_version: 0") as caught:
        deploy.smoke(tmp_path / "opt")
    assert caught.value.hint is not None and "inv deploy" in caught.value.hint
