"""inv doctor on fabricated `cargo metadata`: the graph walk, the three tiers, the presence
checks (PATH, variables, pkg-config folders under a fake root), the JSON and --strict."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.unit.fake_cargo import FakeMetadata
from tooling.compile import hosttools, syslibs
from tooling.doctor import audit, depgraph, presence
from tooling.doctor.classify import EXTERNAL, NATIVE, PURE, Context, Finding, classify
from tooling.doctor.depgraph import Package, graph, parse_tree
from tooling.doctor.presence import Machine, Need
from tooling.matrix import config
from tooling.matrix.targets import by_name


def sample(openssl: Iterable[str] = (), libz: Iterable[str] = ()) -> FakeMetadata:
    meta = FakeMetadata()
    meta.add("app", "0.1.0", member=True,
             deps=["openssl", "libz-sys", "itoa", "serde_derive", "ring"],
             build=["prost-build"], dev=["tempfile"])
    meta.add("openssl", "0.10.70", deps=["openssl-sys"],
             features=["vendored"] if "vendored" in openssl else [])
    meta.add("openssl-sys", "0.9.105", links="openssl", build=["cc", "pkg-config"],
             features=list(openssl))
    meta.add("libz-sys", "1.1.31", links="z", build=["cc", "pkg-config"], features=list(libz))
    meta.add("ring", "0.17.14", links="ring_core_0_17_14_", build=["cc"])
    meta.add("itoa", "1.0.18")
    meta.add("serde_derive", "1.0.229", proc_macro=True, deps=["syn"])
    meta.add("syn", "2.0.119")
    meta.add("prost-build", "0.14.4")
    meta.add("cc", "1.2.0")
    meta.add("pkg-config", "0.3.34")
    meta.add("tempfile", "3.27.0")
    return meta


def machine(tmp_path: Path, env: dict[str, str] | None = None,
            programs: Iterable[str] = ()) -> Machine:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for program in programs:
        exe = bin_dir / program
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    return Machine(env={"PATH": str(bin_dir), **(env or {})}, root=tmp_path)


def context(target: str, here: Machine, *, c_ok: bool = True, pre_build: Iterable[str] = (),
            crates: Iterable[str] = (), config_table: str = "tool.crossmatrix") -> Context:
    return Context(target=by_name()[target], machine=here,
                   c_toolchain=Need(what=f"C compiler for {target}", ok=c_ok,
                                    fix=f"run `inv setup --target {target}`"),
                   host_cc=Need(what="the build machine's C compiler (cc)", ok=True),
                   host=by_name()["linux-x86_64-gnu"], pre_build=tuple(pre_build),
                   crates=frozenset(crates), config_table=config_table)


def findings(meta: FakeMetadata, ctx: Context) -> dict[str, Finding]:
    return {p.name: classify(p, ctx) for p in graph(meta.json())}


def write_pc(tmp_path: Path, folder: str, name: str) -> None:
    path = tmp_path / folder.lstrip("/") / f"{name}.pc"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"Name: {name}\n")


# --- the graph ---------------------------------------------------------------------------

def test_graph_walks_normal_and_build_deps_and_marks_the_build_machines_side() -> None:
    packages = {p.name: p for p in graph(sample().json())}
    assert "tempfile" not in packages  # a dev-dependency
    assert packages["openssl-sys"].side == "target"
    assert packages["openssl-sys"].via == ("app", "openssl", "openssl-sys")
    assert packages["prost-build"].side == "host"  # build-dependency
    assert packages["serde_derive"].side == "host"  # proc macro
    assert packages["syn"].side == "host"  # only a proc macro uses it
    assert packages["app"].build_deps == (("prost-build", "0.14.4"),)
    assert ("cc", "1.2.0") in packages["openssl-sys"].build_deps
    assert "tempfile" in {p.name for p in graph(sample().json(), dev=True)}


def test_cargo_tree_features_win_and_leave_out_what_is_not_built() -> None:
    # metadata unifies features over every platform; cargo tree --target does not
    meta = sample(libz=["static"]).json()
    tree = parse_tree(
        "app v0.1.0 (/ws/app)|\n"
        "libz-sys v1.1.31|default,libc,stock-zlib\n"
        "openssl v0.10.70|\nopenssl-sys v0.9.105|\ncc v1.2.0|\ncc v1.2.0| (*)\n"
        "pkg-config v0.3.34|\nitoa v1.0.18|\nserde_derive v1.0.229 (proc-macro)|default\n"
        "syn v2.0.119|clone-impls,default (*)\nprost-build v0.14.4|default,format\n")
    assert tree[("syn", "2.0.119")] == {"clone-impls", "default"}
    packages = {p.name: p for p in graph(meta, tree)}
    assert packages["libz-sys"].features == {"default", "libc", "stock-zlib"}
    assert "ring" not in packages  # not in cargo tree's answer: not built for this target


# --- the tiers ---------------------------------------------------------------------------

def test_pure_crates_and_proc_macros_are_tier_one(tmp_path: Path) -> None:
    found = findings(sample(), context("linux-x86_64", machine(tmp_path)))
    assert found["itoa"].tier == PURE and found["itoa"].needs == ()
    assert found["serde_derive"].tier == PURE
    assert found["prost-build"].tier == PURE  # its user needs protoc, not prost-build itself


def test_openssl_without_vendored_cannot_link_on_musl(tmp_path: Path) -> None:
    here = machine(tmp_path, programs=["perl", "make", "pkg-config"])
    write_pc(tmp_path, "/usr/lib/x86_64-linux-gnu/pkgconfig", "openssl")  # glibc's: no use
    found = findings(sample(), context("linux-x86_64", here))["openssl-sys"]
    assert found.tier == EXTERNAL and not found.present and not found.ready
    assert found.missing[0].what == "OpenSSL built for linux-x86_64"
    assert found.fix is not None
    assert "enable openssl's `vendored` feature" in found.fix
    assert "perl and make" in found.fix
    assert "switch to rustls" in found.fix


def test_openssl_vendored_is_native_and_needs_perl_and_make(tmp_path: Path) -> None:
    meta = sample(openssl=["vendored"])
    found = findings(meta, context("linux-x86_64", machine(tmp_path)))["openssl-sys"]
    assert found.tier == NATIVE
    assert [n.what for n in found.needs] == ["C compiler for linux-x86_64", "perl", "make"]
    assert not found.present and found.fix == "install Debian's perl; install Debian's make"
    here = machine(tmp_path, programs=["perl", "make"])
    assert findings(meta, context("linux-x86_64", here))["openssl-sys"].present
    no_cc = findings(meta, context("linux-x86_64", here, c_ok=False))["openssl-sys"]
    assert not no_cc.present and no_cc.fix == "run `inv setup --target linux-x86_64`"


def test_openssl_for_a_gnu_target_from_debians_multiarch_or_pre_build(tmp_path: Path) -> None:
    here = machine(tmp_path, programs=["pkg-config"])
    missing = findings(sample(), context("linux-aarch64-gnu", here))["openssl-sys"]
    assert missing.tier == EXTERNAL and not missing.present
    assert missing.missing[0].what == "OpenSSL for arm64 (openssl.pc)"
    assert missing.fix is not None
    assert ('add pre-build = ["apt-get install -y libssl-dev:$DEB_ARCH"] to '
            "[tool.crossmatrix.target.linux-aarch64-gnu]") in missing.fix
    in_cargo = findings(sample(), context("linux-aarch64-gnu", here,
                                          config_table="package.metadata.crossmatrix"))
    assert "to [package.metadata.crossmatrix.target.linux-aarch64-gnu]" in (
        in_cargo["openssl-sys"].fix or "")
    planned = findings(sample(), context(
        "linux-aarch64-gnu", here,
        pre_build=["apt-get install -y libssl-dev:$DEB_ARCH"]))["openssl-sys"]
    assert planned.ready and not planned.present and planned.fix is None
    write_pc(tmp_path, "/usr/lib/aarch64-linux-gnu/pkgconfig", "openssl")
    installed = findings(sample(), context("linux-aarch64-gnu", here))["openssl-sys"]
    assert installed.tier == EXTERNAL and installed.present
    assert not findings(sample(), context("linux-riscv64-gnu", here))["openssl-sys"].present


def test_openssl_dir_names_a_prebuilt_copy_for_the_target(tmp_path: Path) -> None:
    prebuilt = tmp_path / "openssl-musl"
    prebuilt.mkdir()
    here = machine(tmp_path, env={"X86_64_UNKNOWN_LINUX_MUSL_OPENSSL_DIR": str(prebuilt)})
    assert findings(sample(), context("linux-x86_64", here))["openssl-sys"].present


def test_the_fix_names_the_crate_the_workspace_depends_on(tmp_path: Path) -> None:
    meta = FakeMetadata()
    meta.add("app", "0.1.0", member=True, deps=["reqwest"])
    meta.add("reqwest", "0.12.9", deps=["native-tls"])
    meta.add("native-tls", "0.2.12", deps=["openssl"])
    meta.add("openssl", "0.10.70", deps=["openssl-sys"])
    meta.add("openssl-sys", "0.9.105", links="openssl", build=["cc", "pkg-config"])
    meta.add("cc", "1.2.0")
    meta.add("pkg-config", "0.3.34")
    found = findings(meta, context("linux-aarch64", machine(tmp_path)))["openssl-sys"]
    assert found.fix is not None
    assert found.fix.startswith("enable reqwest's `native-tls-vendored` feature")
    assert "switch reqwest to rustls" in found.fix


def test_libz_sys_static_or_not_is_native(tmp_path: Path) -> None:
    here = machine(tmp_path)
    static = findings(sample(libz=["static"]), context("linux-aarch64-gnu", here))["libz-sys"]
    assert static.tier == NATIVE and static.present
    assert static.note == "compiles its bundled zlib (`static`)"
    plain = findings(sample(), context("linux-aarch64-gnu", here))["libz-sys"]
    assert plain.tier == NATIVE and plain.note == (
        "compiles its bundled zlib (zlib1g-dev:arm64 is not installed)")
    write_pc(tmp_path, "/usr/lib/aarch64-linux-gnu/pkgconfig", "zlib")
    plain = findings(sample(), context("linux-aarch64-gnu", here))["libz-sys"]
    assert plain.note == "links the system's zlib (zlib1g-dev:arm64 is installed)"
    musl = findings(sample(), context("linux-aarch64", here))["libz-sys"]
    assert musl.tier == NATIVE and musl.note == "compiles its bundled zlib"
    ng = findings(sample(libz=["zlib-ng"]), context("linux-aarch64", here))["libz-sys"]
    assert ng.tier == EXTERNAL and [n.what for n in ng.missing] == ["cmake"]


def test_prost_build_needs_protoc_from_env_path_or_a_vendoring_crate(tmp_path: Path) -> None:
    meta = sample()
    app = findings(meta, context("linux-x86_64", machine(tmp_path)))["app"]
    assert app.tier == EXTERNAL and not app.present
    assert app.missing[0].what == "protoc (protobuf compiler)"
    assert app.fix is not None and "protobuf-compiler" in app.fix
    protoc = tmp_path / "protoc"
    protoc.write_text("")
    with_env = machine(tmp_path, env={"PROTOC": str(protoc)})
    assert findings(meta, context("linux-x86_64", with_env))["app"].present
    on_path = machine(tmp_path, programs=["protoc"])
    assert findings(meta, context("linux-x86_64", on_path))["app"].present
    vendored = context("linux-x86_64", machine(tmp_path / "x"), crates=["protobuf-src"])
    assert findings(meta, vendored)["app"].present


def test_old_prost_build_and_pure_protobuf_codegen(tmp_path: Path) -> None:
    assert hosttools.tools_for_build_dep("prost-build", "0.10.4") == ("cmake",)
    assert hosttools.tools_for_build_dep("prost-build", "0.9.0") == ()
    assert hosttools.tools_for_build_dep("tonic-build", "0.12.3") == ("protoc",)
    build_rs = tmp_path / "build.rs"
    build_rs.write_text("fn main() { protobuf_codegen::Codegen::new().pure().run(); }\n")
    meta = FakeMetadata()
    meta.add("app", "0.1.0", member=True, build=["protobuf-codegen"], build_rs=build_rs)
    meta.add("protobuf-codegen", "3.7.1")
    assert findings(meta, context("linux-x86_64", machine(tmp_path)))["app"].tier == PURE
    build_rs.write_text("fn main() { protobuf_codegen::Codegen::new().run(); }\n")
    assert findings(meta, context("linux-x86_64", machine(tmp_path)))["app"].tier == EXTERNAL


def test_cmake_and_bindgen_build_dependencies(tmp_path: Path) -> None:
    meta = FakeMetadata()
    meta.add("app", "0.1.0", member=True, deps=["foo-sys"])
    meta.add("foo-sys", "0.2.0", links="foo", build=["cmake", "bindgen"])
    meta.add("cmake", "0.1.54", build=[])
    meta.add("bindgen", "0.72.0")
    here = machine(tmp_path)
    found = findings(meta, context("linux-aarch64-gnu", here))["foo-sys"]
    assert found.tier == EXTERNAL
    assert [n.what for n in found.needs] == ["C compiler for linux-aarch64-gnu",
                                             "libclang (bindgen)", "cmake"]
    assert [n.what for n in found.missing] == ["libclang (bindgen)", "cmake"]
    # LLVM's C++ library is not the libclang bindgen loads
    (tmp_path / "usr/lib/llvm-14/lib").mkdir(parents=True)
    (tmp_path / "usr/lib/llvm-14/lib/libclang-cpp.so.14").write_text("")
    assert not presence.tool_need("libclang", here).ok
    (tmp_path / "usr/lib/llvm-14/lib/libclang-14.so.1").write_text("")
    assert presence.tool_need("libclang", here).ok
    llvm = tmp_path / "llvm"
    llvm.mkdir()
    (llvm / "libclang.so.1").write_text("")
    elsewhere = machine(tmp_path / "other", env={"LIBCLANG_PATH": str(llvm)},
                        programs=["cmake"])
    assert findings(meta, context("linux-aarch64-gnu", elsewhere))["foo-sys"].present


def test_cc_build_dependency_and_ring_are_native(tmp_path: Path) -> None:
    meta = FakeMetadata()
    meta.add("app", "0.1.0", member=True, deps=["ring"], build=["cc"])
    meta.add("ring", "0.17.14", links="ring_core_0_17_14_", build=["cc"])
    meta.add("cc", "1.2.0")
    found = findings(meta, context("windows-x86_64", machine(tmp_path), c_ok=False))
    assert found["app"].tier == NATIVE and found["ring"].tier == NATIVE
    assert not found["ring"].present
    assert found["ring"].missing[0].what == "C compiler for windows-x86_64"


def test_a_proc_macro_with_c_code_needs_the_build_machines_compiler(tmp_path: Path) -> None:
    meta = FakeMetadata()
    meta.add("app", "0.1.0", member=True, deps=["derive-magic"])
    meta.add("derive-magic", "1.0.0", proc_macro=True, build=["cc"])
    meta.add("cc", "1.2.0")
    found = findings(meta, context("linux-armv7", machine(tmp_path), c_ok=False))
    assert found["derive-magic"].side == "host"
    assert found["derive-magic"].tier == NATIVE and found["derive-magic"].present


@pytest.mark.parametrize(("version", "target", "tier", "missing"), [
    ("0.30.0", "linux-armv7", EXTERNAL, ["cmake", "libclang (bindgen)"]),
    ("0.30.0", "linux-aarch64-gnu", NATIVE, []),
    # NASM for Windows x86-64 (unless AWS_LC_SYS_PREBUILT_NASM), on every version
    ("0.30.0", "windows-x86_64", EXTERNAL, ["cmake", "nasm (assembler)"]),
    ("0.36.0", "windows-x86_64", EXTERNAL, ["nasm (assembler)"]),
    ("0.36.0", "linux-armv7", NATIVE, []),
])
def test_aws_lc_sys(tmp_path: Path, version: str, target: str, tier: int,
                    missing: list[str]) -> None:
    meta = FakeMetadata()
    meta.add("app", "0.1.0", member=True, deps=["aws-lc-sys"])
    meta.add("aws-lc-sys", version, links=f"aws_lc_{version.replace('.', '_')}", build=["cc"])
    meta.add("cc", "1.2.0")
    found = findings(meta, context(target, machine(tmp_path)))["aws-lc-sys"]
    assert (found.tier, [n.what for n in found.missing]) == (tier, missing)
    if missing:
        assert found.fix is not None and "ring provider" in found.fix


def test_sqlite_bundled_on_windows_only_with_bundled_windows(tmp_path: Path) -> None:
    meta = FakeMetadata()
    meta.add("app", "0.1.0", member=True, deps=["libsqlite3-sys"])
    meta.add("libsqlite3-sys", "0.39.1", links="sqlite3", build=["pkg-config"],
             features=["bundled-windows"])
    meta.add("pkg-config", "0.3.34")
    assert findings(meta, context("windows-x86", machine(tmp_path)))[
        "libsqlite3-sys"].tier == NATIVE
    musl = findings(meta, context("linux-armv7", machine(tmp_path)))["libsqlite3-sys"]
    assert musl.tier == EXTERNAL and musl.fix is not None
    assert musl.fix.startswith("enable libsqlite3-sys's `bundled` feature")


def test_pyo3_abi3_extension_modules_need_no_python(tmp_path: Path) -> None:
    meta = FakeMetadata()
    meta.add("app", "0.1.0", member=True, deps=["pyo3-ffi"])
    meta.add("pyo3-ffi", "0.30.1", links="python", build=["pyo3-build-config"],
             features=["abi3", "abi3-py39", "extension-module"])
    meta.add("pyo3-build-config", "0.30.1")
    for target in ("linux-aarch64", "windows-x86_64", "macos-aarch64"):
        assert findings(meta, context(target, machine(tmp_path)))["pyo3-ffi"].tier == PURE
    meta.add("pyo3-ffi", "0.30.1", links="python", build=["pyo3-build-config"],
             features=["extension-module"])
    cross = findings(meta, context("linux-aarch64-gnu", machine(tmp_path)))["pyo3-ffi"]
    assert cross.tier == EXTERNAL and cross.fix is not None and "abi3-py39" in cross.fix
    native = findings(meta, context("linux-x86_64-gnu", machine(tmp_path,
                                                                programs=["python3"])))
    assert native["pyo3-ffi"].present


def test_system_deps_metadata_names_the_pkg_config_modules(tmp_path: Path) -> None:
    meta = FakeMetadata()
    meta.add("app", "0.1.0", member=True, deps=["glib-sys"])
    meta.add("glib-sys", "0.20.0", links="glib-2.0", build=["system-deps"],
             metadata={"system-deps": {"glib_2_0": {"name": "glib-2.0", "version": "2.56"}}})
    meta.add("system-deps", "7.0.0")
    here = machine(tmp_path, programs=["pkg-config"])
    found = findings(meta, context("linux-aarch64-gnu", here))["glib-sys"]
    assert found.tier == EXTERNAL and found.missing[0].what == "glib-2.0 for arm64 (glib-2.0.pc)"
    write_pc(tmp_path, "/usr/lib/aarch64-linux-gnu/pkgconfig", "glib-2.0")
    assert findings(meta, context("linux-aarch64-gnu", here))["glib-sys"].present


# --- the table of knowledge --------------------------------------------------------------

def test_syslibs_lookups() -> None:
    openssl = syslibs.by_crate("openssl-sys")
    assert openssl is not None and syslibs.by_pc_name("openssl.pc") is openssl
    assert syslibs.deb_package("openssl", "arm64") == "libssl-dev:arm64"
    assert syslibs.deb_package("zlib", "armhf") == "zlib1g-dev:armhf"
    assert syslibs.deb_package("nosuchlib", "arm64") is None
    assert syslibs.pre_build_line(openssl) == "apt-get install -y libssl-dev:$DEB_ARCH"
    ring = syslibs.by_links("ring_core_0_17_14_")
    assert ring is not None and ring.crate == "ring"
    with pytest.raises(ValueError):
        syslibs.pre_build_line(ring)
    for entry in syslibs.CRATES:
        assert entry.mode != "system" or entry.pc, entry.crate


# --- JSON, the table and --strict --------------------------------------------------------

def _project(tmp_path: Path) -> config.Project:
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "app"\nversion = "0.1.0"\n')
    return config.from_table(tmp_path, {"targets": ["linux-x86_64", "linux-aarch64-gnu"]},
                             "test")


def test_json_document(tmp_path: Path) -> None:
    reports = [audit.audit(graph(sample().json()), context(name, machine(tmp_path)))
               for name in ("linux-x86_64", "linux-aarch64-gnu")]
    document = json.loads(json.dumps(audit.to_json(_project(tmp_path), reports)))
    assert document["ready"] is False
    musl = document["targets"][0]
    assert (musl["name"], musl["triple"]) == ("linux-x86_64", "x86_64-unknown-linux-musl")
    assert musl["tiers"] == {"pure-rust": 7, "native": 2, "external": 2}
    assert (musl["ready"], musl["total"], musl["score"]) == (9, 11, 82)
    rows = {d["crate"]: d for d in musl["dependencies"]}
    assert set(rows["openssl-sys"]) == {"crate", "version", "tier", "side", "needs", "present",
                                        "ready", "missing", "pre_build", "fix", "note", "via"}
    assert rows["openssl-sys"]["tier"] == 3 and rows["openssl-sys"]["present"] is False
    assert rows["itoa"] == {"crate": "itoa", "version": "1.0.18", "tier": 1, "side": "target",
                            "needs": [], "present": True, "ready": True, "missing": [],
                            "pre_build": [], "fix": None, "note": None,
                            "via": ["app", "itoa"]}
    assert rows["serde_derive"]["side"] == "host"


def _fake_cargo(monkeypatch: pytest.MonkeyPatch, meta: FakeMetadata) -> None:
    def packages_for(project: config.Project, target: Any, *, dev: bool = False
                     ) -> list[Package]:
        return graph(meta.json(), dev=dev)

    monkeypatch.setattr(depgraph, "packages_for", packages_for)
    monkeypatch.setattr(presence, "c_toolchain",
                        lambda project, target: Need(what="C compiler", ok=True))


def _crossmatrix(tmp_path: Path, *args: str) -> int:
    from tooling.cli.main import program

    try:
        program.run(["crossmatrix", "--project", str(tmp_path), "doctor", *args])
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    return 0


def test_strict_exits_1_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    _project(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    _fake_cargo(monkeypatch, sample())
    assert _crossmatrix(tmp_path, "--target", "linux-x86_64") == 0
    out = capsys.readouterr().out
    assert "openssl-sys 0.9.105" in out and "enable openssl's `vendored` feature" in out
    assert _crossmatrix(tmp_path, "--target", "linux-x86_64", "--strict") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: doctor --strict: 2 dependencies")
    assert "openssl-sys on linux-x86_64" in err[0]


def test_strict_passes_and_json_prints_only_json(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _project(tmp_path)
    meta = FakeMetadata()
    meta.add("app", "0.1.0", member=True, deps=["itoa"])
    meta.add("itoa", "1.0.18")
    _fake_cargo(monkeypatch, meta)
    assert _crossmatrix(tmp_path, "--target", "linux-x86_64", "--json", "--strict") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["ready"] is True
    assert document["targets"][0]["score"] == 100


def test_the_host_tools_are_listed_with_who_needs_them(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    meta = sample()
    meta.add("app", "0.1.0", member=True, deps=["aws-lc-sys", "libz-ng-sys"],
             build=["prost-build"])
    meta.add("aws-lc-sys", "0.37.0", links="aws_lc_0_37_0", build=["cc", "cmake"])
    meta.add("libz-ng-sys", "1.1.16", links="z-ng", build=["cc", "cmake"])
    meta.add("cmake", "0.1.54")
    here = machine(tmp_path, programs=["protoc"])
    reports = [audit.audit(graph(meta.json()), context(name, here))
               for name in ("linux-x86_64", "windows-x86_64")]
    listed = {t["tool"]: t for t in audit.to_json(_project(tmp_path), reports)["host_tools"]}
    assert set(listed) == {"cmake", "nasm", "protoc"}  # aws-lc-sys 0.37 runs no cmake
    assert listed["cmake"]["crates"] == {"libz-ng-sys": ["linux-x86_64", "windows-x86_64"]}
    assert listed["nasm"]["crates"] == {"aws-lc-sys": ["windows-x86_64"]}
    assert listed["nasm"]["present"] is False
    assert "AWS_LC_SYS_PREBUILT_NASM" in listed["nasm"]["fix"]
    assert listed["protoc"]["present"] is True and listed["protoc"]["fix"] is None
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    _fake_cargo(monkeypatch, meta)
    assert _crossmatrix(tmp_path, "--target", "windows-x86_64") == 0
    out = capsys.readouterr().out
    assert "host tools (build scripts run them on this machine):" in out
    assert ("  nasm (assembler): aws-lc-sys on windows-x86_64 — MISSING: install Debian's nasm "
            "(`inv setup` does), or set AWS_LC_SYS_PREBUILT_NASM") in out
