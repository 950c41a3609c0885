"""cargo's JSON messages: artifacts and what cargo really compiled (``fresh: false``)."""

from __future__ import annotations

import json
from pathlib import Path

from tooling.compile import messages


def _artifact(package_id: str, name: str, kind: list[str], fresh: bool,
              executable: str | None = None) -> str:
    return json.dumps({"reason": "compiler-artifact", "package_id": package_id,
                       "target": {"name": name, "kind": kind}, "fresh": fresh,
                       "executable": executable, "filenames": []})


SERDE = "registry+https://github.com/rust-lang/crates.io-index#serde@1.0.228"
STDOUT = "\n".join([
    _artifact(SERDE, "build_script_build", ["custom-build"], True),
    _artifact(SERDE, "serde", ["lib"], True),
    _artifact("path+file:///w/shapes#0.1.0", "build_script_build", ["custom-build"], False),
    _artifact("path+file:///w/shapes#0.1.0", "shapes", ["lib"], False),
    _artifact("path+file:///w/app#0.1.0", "app", ["bin"], False, "/w/target/x/release/app"),
    '{"reason":"build-script-executed","package_id":"path+file:///w/shapes#0.1.0"}',
    "   Compiling app v0.1.0 (not JSON)",
    '{"reason":"build-finished","success":true}',
])


def test_compiled_units_are_the_ones_cargo_did_not_find_fresh() -> None:
    compiled, total = messages.compiled_units(STDOUT)
    assert compiled == ["shapes (build-script)", "shapes", "app (bin)"]
    assert total == 5  # compiler-artifact messages only


def test_a_no_op_compiles_nothing() -> None:
    no_op = STDOUT.replace('"fresh": false', '"fresh": true')
    assert messages.compiled_units(no_op) == ([], 5)


def test_artifacts_and_success_come_from_the_same_messages() -> None:
    artifacts, success = messages.parse_messages(STDOUT)
    assert success
    assert [(a.package, a.name, a.path, a.fresh) for a in artifacts] == [
        ("app", "app", Path("/w/target/x/release/app"), False)]


def test_a_dependencys_cdylib_is_not_the_projects_artifact() -> None:
    """tokei (seen in the corpus): its dependency slug declares crate-type cdylib (for
    wasm), so cargo builds libslug-<hash>.so beside tokei; only members' cdylibs ship."""
    def cdylib(package_id: str, name: str, path: str) -> str:
        return json.dumps({"reason": "compiler-artifact", "package_id": package_id,
                           "target": {"name": name, "kind": ["cdylib", "rlib"]},
                           "fresh": False, "executable": None,
                           "filenames": [path, path.replace(".so", ".rlib")]})

    stdout = "\n".join([
        cdylib("registry+https://github.com/rust-lang/crates.io-index#slug@0.1.6", "slug",
               "/w/target/x/release/deps/libslug-cb19b228.so"),
        cdylib("path+file:///w/core#0.1.0", "build_core", "/w/target/x/release/libbuild_core.so"),
        STDOUT])
    artifacts, _ = messages.parse_messages(stdout, {("core", "build_core")})
    assert [(a.package, a.name, a.kind) for a in artifacts] == [
        ("core", "build_core", "cdylib"), ("app", "app", "bin")]
    everything, _ = messages.parse_messages(stdout)  # without the members: what cargo said
    assert [a.name for a in everything] == ["slug", "build_core", "app"]
