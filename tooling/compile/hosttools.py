"""Programs build scripts run on the build machine — cmake, nasm, libclang, perl, make, go,
protoc —, which crates run them for which targets, how to tell one is here, and what a
build script prints when it is not.

Read from the build scripts: cmake-rs runs ``$CMAKE`` or ``cmake``; clang-sys (bindgen)
loads libclang from ``LIBCLANG_PATH``, ``llvm-config --prefix``, ``LD_LIBRARY_PATH`` and
``/usr/lib*/*/*`` & co.; nasm-rs runs ``nasm``; openssl-src runs ``$OPENSSL_SRC_PERL``,
``$PERL`` or ``perl``, then ``make``; aws-lc-sys assembles Windows x86 and x86-64 with NASM
(x86-64: unless ``AWS_LC_SYS_PREBUILT_NASM`` lets it link its prebuilt objects); rav1e's
``asm`` feature assembles x86-64 only; boring-sys builds BoringSSL with cmake unless
``BORING_BSSL_PATH`` names a built one.

Which crates a target's build runs: Cargo.lock lists every package of every platform and
feature, without saying which dependency is a build-dependency, so it only says whether
to look closer (and what ``inv setup`` installs: one package too many costs nothing).
Then ``cargo metadata --filter-platform <triple>`` says which packages the target's build
compiles and which dependencies are build-dependencies (``dep_kinds``), and the plan
decides from that. protoc keeps its own check (:func:`tooling.compile.buildenv.protoc_env`,
which also sets ``PROTOC``); it is here for ``inv doctor`` and the build-output hints.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tooling.compile import linkers
from tooling.errors import CrossmatrixError, ToolMissing
from tooling.matrix import workspace
from tooling.matrix.config import Project
from tooling.matrix.targets import Target
from tooling.std.compiler import default_compiler
from tooling.util import memo, proc, versions


@dataclass(frozen=True, kw_only=True)
class HostTool:
    """A program (or library) build scripts use on the build machine."""

    name: str
    what: str  #: as messages name it
    programs: tuple[str, ...] = ()  #: looked up on PATH
    #: variables naming it (CMAKE=/usr/bin/cmake; LIBCLANG_PATH: its folder): when one is
    #: set the build script uses that one and nothing else
    env: tuple[str, ...] = ()
    debs: tuple[str, ...]  #: Debian's packages that provide it
    fix: str  #: the one line that makes it present
    #: what build scripts print when it is missing (regular expressions)
    failures: tuple[str, ...] = ()
    provided_by: tuple[str, ...] = ()  #: crates that bring their own copy

    @property
    def deb(self) -> str:
        return self.debs[0]


#: crates whose code runs protoc (prost-build ≥ 0.11 and the generators built on it)
PROTOC_RUNNERS = ("prost-build", "tonic-build", "tonic-prost-build", "protobuf-codegen",
                  "grpcio-compiler", "protoc-rust")

TOOLS: tuple[HostTool, ...] = (
    HostTool(name="protoc", what="protoc (protobuf compiler)", programs=("protoc",),
             env=("PROTOC",), debs=("protobuf-compiler",),
             fix="install Debian's protobuf-compiler (`inv setup` does), or set "
                 "PROTOC=/path/to/protoc",
             failures=(r"Could not find `protoc`", r"protoc failed", r"failed to invoke protoc"),
             provided_by=("protobuf-src", "protoc-bin-vendored")),
    HostTool(name="cmake", what="cmake", programs=("cmake",), env=("CMAKE",), debs=("cmake",),
             fix="install Debian's cmake (`inv setup` does), or set CMAKE=/path/to/cmake",
             failures=(r"is `cmake` not installed\?", r"Missing dependency: cmake\b")),
    HostTool(name="nasm", what="nasm (assembler)", programs=("nasm",), debs=("nasm",),
             fix="install Debian's nasm (`inv setup` does)",
             failures=(r"NASM command not found", r"Missing dependency: nasm\b",
                       r"Unable to run nasm", r"NASM build failed",
                       r"No CMAKE_ASM_NASM_COMPILER could be found",
                       r"is `nasm` not installed\?")),
    HostTool(name="libclang", what="libclang (bindgen)", env=("LIBCLANG_PATH",),
             debs=("libclang-dev",),
             fix="install Debian's libclang-dev (`inv setup` does), or set LIBCLANG_PATH to "
                 "the folder with libclang.so",
             failures=(r"Unable to find libclang",
                       r"couldn't find any valid shared libraries matching: \['libclang")),
    HostTool(name="go", what="go", programs=("go",), debs=("golang-go",),
             fix="install Debian's golang-go (`inv setup` does)",
             failures=(r"Could (?:not|NOT) find Go\b", r"Missing dependency: go\b",
                       r"is `go` not installed\?")),
    HostTool(name="perl", what="perl", programs=("perl",), env=("OPENSSL_SRC_PERL", "PERL"),
             debs=("perl",), fix="install Debian's perl",
             failures=(r"Command 'perl' not found", r"is `perl` not installed\?")),
    HostTool(name="make", what="make", programs=("make",), debs=("make",),
             fix="install Debian's make",
             failures=(r"Command 'make' not found", r"is `make` not installed\?",
                       r"CMake was unable to find a build program corresponding to "
                       r"\"Unix Makefiles\"")),
    HostTool(name="pkg-config", what="pkg-config", programs=("pkg-config",),
             env=("PKG_CONFIG",), debs=("pkg-config",), fix="install Debian's pkg-config"),
)

#: tools beyond a C toolchain (perl and make, which OpenSSL's build runs, are not counted:
#: Debian's build-essential has them)
EXTERNAL_TOOLS = ("protoc", "cmake", "libclang", "nasm", "go")


@functools.cache
def _by_name() -> dict[str, HostTool]:
    return {t.name: t for t in TOOLS}


def tool(name: str) -> HostTool:
    return _by_name()[name]


# --- who needs what ----------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Use:
    """When a build script runs a tool: the crate's own (``crate``), or that of every crate
    with the build-dependency ``build_dep`` (whose code runs it: the ``cmake`` crate runs
    cmake). With both: the crate's own, when it has that build-dependency (an optional
    one: a feature turned it on). A crate with rules of its own for a tool gets none of the
    build-dependency rules for it (aws-lc-sys build-depends on cmake, using it only
    off its main targets)."""

    tool: str
    why: str  #: what its build script does with it
    crate: str | None = None
    build_dep: str | None = None
    #: versions (of ``crate``, else of ``build_dep``) from ``since`` and before ``before``
    since: tuple[int, ...] = ()
    before: tuple[int, ...] | None = None
    os: tuple[str, ...] = ()  #: the target's OS, one of its tags (none: every one)
    arch: tuple[str, ...] = ()  #: cargo's target_arch (none: every one)
    except_triples: frozenset[str] = frozenset()
    features: tuple[str, ...] = ()  #: only with one of these features of the crate on
    unless_features: tuple[str, ...] = ()
    unless_env: tuple[str, ...] = ()  #: one of these set makes the tool unnecessary
    unless_flag: tuple[str, ...] = ()  #: … set to a true value (1, yes, on, true)
    #: the other way out, for the fix; ``{where}`` is the target's table
    instead: str = ""


#: aws-lc-sys < 0.36: the targets its cc builder handles, and those with pregenerated
#: bindings (https://aws.github.io/aws-lc-rs/requirements/, aws-lc-rs#992)
_AWS_LC_CC = frozenset({
    "x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl", "i686-unknown-linux-gnu", "x86_64-apple-darwin",
    "aarch64-apple-darwin"})
_AWS_LC_BINDINGS = _AWS_LC_CC | {"x86_64-pc-windows-gnu"}
_BORING_PREBUILT = ("BORING_BSSL_PATH", "BORING_BSSL_FIPS_PATH")
_BORING_INSTEAD = "set BORING_BSSL_PATH to a BoringSSL built before (env of {where})"

USES: tuple[Use, ...] = (
    # the crates' own build scripts
    Use(tool="cmake", crate="aws-lc-sys", before=(0, 36), except_triples=_AWS_LC_CC,
        why="builds AWS-LC with cmake off its main targets before aws-lc-sys 0.36"),
    Use(tool="libclang", crate="aws-lc-sys", before=(0, 36), except_triples=_AWS_LC_BINDINGS,
        why="generates its bindings with bindgen where none come pregenerated"),
    Use(tool="libclang", crate="aws-lc-sys", build_dep="bindgen",
        why="generates its bindings with bindgen, its `bindgen` feature being on"),
    Use(tool="nasm", crate="aws-lc-sys", os=("windows",), arch=("x86_64",),
        unless_flag=("AWS_LC_SYS_PREBUILT_NASM",), unless_features=("prebuilt-nasm",),
        why="assembles AWS-LC's Windows x86-64 assembly with nasm",
        instead='set AWS_LC_SYS_PREBUILT_NASM = "1" in env of {where} (links aws-lc-sys\' '
                'prebuilt NASM objects)'),
    Use(tool="nasm", crate="aws-lc-sys", os=("windows",), arch=("x86",),
        why="assembles AWS-LC's Windows x86 assembly with nasm"),
    Use(tool="go", crate="aws-lc-fips-sys", why="builds AWS-LC's FIPS module, which needs go"),
    Use(tool="nasm", crate="aws-lc-fips-sys", os=("windows",), arch=("x86", "x86_64"),
        why="assembles AWS-LC's Windows assembly with nasm"),
    Use(tool="nasm", crate="rav1e", build_dep="nasm-rs", arch=("x86_64",),
        why="assembles its x86-64 assembly with nasm, its `asm` feature being on",
        instead="turn off rav1e's `asm` feature (default-features = false)"),
    Use(tool="cmake", crate="boring-sys", unless_env=_BORING_PREBUILT,
        why="builds BoringSSL with cmake", instead=_BORING_INSTEAD),
    Use(tool="go", crate="boring-sys", before=(4, 19), unless_env=_BORING_PREBUILT,
        why="builds BoringSSL, whose build needed go before boring-sys 4.19",
        instead=_BORING_INSTEAD),
    Use(tool="go", crate="boring-sys", features=("fips",), unless_env=_BORING_PREBUILT,
        why="builds BoringSSL's FIPS module, which needs go", instead=_BORING_INSTEAD),
    Use(tool="cmake", crate="libz-sys", build_dep="cmake", unless_features=("stock-zlib",),
        why="builds zlib-ng with cmake, its `zlib-ng` feature being on",
        instead="turn off libz-sys' `zlib-ng` feature"),
    # what a build-dependency's code runs
    Use(tool="cmake", build_dep="cmake", why="runs cmake through the cmake crate"),
    Use(tool="cmake", build_dep="prost-build", since=(0, 10), before=(0, 11),
        why="runs prost-build 0.10, which builds protoc with cmake"),
    Use(tool="libclang", build_dep="bindgen", why="runs bindgen, which loads libclang"),
    Use(tool="nasm", build_dep="nasm-rs", arch=("x86", "x86_64"),
        why="assembles with nasm through nasm-rs"),
    Use(tool="perl", build_dep="openssl-src",
        why="builds OpenSSL with openssl-src, whose Configure is a perl script"),
    Use(tool="make", build_dep="openssl-src",
        why="builds OpenSSL with openssl-src, which runs make"),
    Use(tool="protoc", build_dep="prost-build", since=(0, 11), why="runs prost-build"),
    *(Use(tool="protoc", build_dep=name, why=f"runs {name}")
      for name in PROTOC_RUNNERS if name != "prost-build"),
)


#: Build scripts that compile C++ for the target, so need its C++ compiler (zig's c++
#: always comes with zig; Debian's g++-<triplet> is a package of its own): the crate's own
#: (cxx compiles its cxx.cc, link-cplusplus links the C++ runtime, the C++ libraries'
#: -sys crates), or what a build-dependency's code does (cxx-build, cpp_build). Crates
#: that run cmake (:data:`USES`) count too: see :func:`cxx_uses`.
CXX_USES: tuple[Use, ...] = (
    Use(tool="c++", crate="cxx", why="compiles cxx's C++ runtime (cxx.cc)"),
    Use(tool="c++", crate="link-cplusplus", why="links the C++ standard library"),
    Use(tool="c++", crate="librocksdb-sys", why="compiles RocksDB (C++)"),
    Use(tool="c++", crate="libduckdb-sys", features=("bundled",), why="compiles DuckDB (C++)"),
    Use(tool="c++", crate="esaxx-rs", why="compiles esaxx (C++)"),
    Use(tool="c++", crate="snmalloc-sys", why="compiles snmalloc (C++)"),
    Use(tool="c++", crate="grpcio-sys", why="compiles gRPC core (C++) with cmake"),
    Use(tool="c++", crate="protobuf-src", why="compiles protoc (C++) with cmake"),
    Use(tool="c++", build_dep="cxx-build", why="compiles C++ through cxx-build"),
    Use(tool="c++", build_dep="cpp_build", why="compiles C++ through cpp_build"),
)

#: crates whose CMake projects name C as their only language (zlib-ng, AWS-LC)
C_ONLY_CMAKE = frozenset({"libz-ng-sys", "libz-sys", "aws-lc-sys"})
_BY_CMAKE = Use(tool="c++", build_dep="cmake",
                why="runs cmake, and CMake's project() checks for a C++ compiler unless it "
                    "names its languages")


@dataclass(frozen=True, kw_only=True)
class Crate:
    """A package whose build script runs in the build."""

    name: str
    version: str
    #: its enabled features; None: not known (read from Cargo.lock): every one counts as on
    features: frozenset[str] | None = None
    #: (name, version) of its build-dependencies; from Cargo.lock: of every dependency
    build_deps: tuple[tuple[str, str], ...] = ()
    #: its build script's source, where cargo metadata said (None: a crates.io package is
    #: looked for where cargo unpacks it)
    build_script: str | None = None


def _in_range(use: Use, version: str) -> bool:
    parsed = versions.parse(version)
    return parsed >= use.since and (use.before is None or parsed < use.before)


def _target_value(environ: Mapping[str, str], name: str, target: Target) -> str:
    """The variable as build scripts read it for the target: ``NAME_<triple>`` (either
    spelling) first, then ``NAME``."""
    for key in (f"{name}_{target.triple}", f"{name}_{target.cc_key}", name):
        if environ.get(key):
            return environ[key]
    return ""


def _true(value: str) -> bool:
    """aws-lc-sys' reading of a switch: 1, yes, on, true (and other digits, y…, t…)."""
    value = value.strip().lower()
    return bool(value) and not value.startswith(("0", "n", "off", "f")) and (
        value[0].isdigit() or value.startswith(("y", "on", "t")))


def _for_target(use: Use, target: Target) -> bool:
    if (use.os and not set(use.os) & set(target.tags)) or target.triple in use.except_triples:
        return False
    return not use.arch or target.arch.target_arch in use.arch


def _applies(use: Use, version: str, crate: Crate, target: Target,
             environ: Mapping[str, str]) -> bool:
    if not (_in_range(use, version) and _for_target(use, target)):
        return False
    if crate.features is not None:
        if use.features and not crate.features & set(use.features):
            return False
        if crate.features & set(use.unless_features):
            return False
    if any(_target_value(environ, name, target) for name in use.unless_env):
        return False
    return not any(_true(_target_value(environ, name, target)) for name in use.unless_flag)


def uses(crate: Crate, target: Target, environ: Mapping[str, str],
         rules: Sequence[Use] = USES) -> list[Use]:
    """The rules by which ``crate``'s build script needs a tool when building for
    ``target``: its own first, then its build-dependencies' (in their order); ``rules``:
    :data:`USES` (host tools) or :data:`CXX_USES` (the target's C++ compiler)."""
    found: list[Use] = []
    own = [u for u in rules if u.crate == crate.name]
    deps = dict(crate.build_deps)
    for use in own:
        if use.build_dep is not None:
            if use.build_dep in deps and _applies(use, crate.version, crate, target, environ):
                found.append(use)
        elif _applies(use, crate.version, crate, target, environ):
            found.append(use)
    covered = {u.tool for u in own}
    for name, version in crate.build_deps:
        found += [u for u in rules if u.crate is None and u.build_dep == name
                  and u.tool not in covered and _applies(u, version, crate, target, environ)]
    return found


def cxx_uses(crate: Crate, target: Target, environ: Mapping[str, str]) -> list[Use]:
    """The rules by which ``crate``'s build script compiles C++ for ``target``: its own or
    its build-dependencies' (:data:`CXX_USES`), else running cmake for it (:data:`USES`)
    unless its project is C only."""
    found = uses(crate, target, environ, CXX_USES)
    if not found and (_script_compiles_cxx(Path(crate.build_script)) if crate.build_script
                      else cc_compiles_cxx(crate.name, crate.version)):
        found.append(Use(tool="c++", crate=crate.name,
                         why="its build script compiles C++ (cc's .cpp(true))"))
    if not found and crate.name not in C_ONLY_CMAKE and any(
            u.tool == "cmake" for u in uses(crate, target, environ)):
        found.append(_BY_CMAKE)
    return found


#: cc-rs told to compile C++ (``cc::Build::new().cpp(true)``) in a build script's source
_CC_CPP = re.compile(rb"\.cpp\(\s*true\s*\)")


def cc_compiles_cxx(name: str, version: str) -> bool:
    """Whether the build script of crates.io's ``name`` ``version``, as cargo unpacked it
    here (``cargo fetch`` does), tells cc-rs to compile C++: a crate no rule names
    (unrar-ng-sys). False when it is not unpacked."""
    return any(_package_compiles_cxx(root)
               for root in workspace.registry_sources(f"{name}-{version}"))


@functools.cache
def _package_compiles_cxx(root: Path) -> bool:
    try:
        build = tomllib.loads((root / "Cargo.toml").read_text()).get("package", {}).get(
            "build", "build.rs")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    if build is False:
        return False
    return _script_compiles_cxx(root / (build if isinstance(build, str) else "build.rs"))


@functools.cache
def _script_compiles_cxx(script: Path) -> bool:
    """Whether a build script's source tells cc-rs ``.cpp(true)``; a build script in a
    folder of its own (build/main.rs) may keep its cc calls in the files beside it."""
    own_folder = not (script.parent / "Cargo.toml").is_file()
    files = [script, *(sorted(script.parent.glob("*.rs")) if own_folder else ())]
    for file in files:
        try:
            if _CC_CPP.search(file.read_bytes()):
                return True
        except OSError:
            continue
    return False


def tools_for_build_dep(name: str, version: str) -> tuple[str, ...]:
    """The tools a crate needs because it has ``name`` ``version`` as a build-dependency."""
    return tuple(dict.fromkeys(u.tool for u in USES if u.crate is None and u.build_dep == name
                               and _in_range(u, version)))


# --- is it here --------------------------------------------------------------------------

#: clang-sys' names of libclang (libclang-cpp is LLVM's C++ library, not the C API)
_LIBCLANG_FILES = ("libclang.so", "libclang-*.so", "libclang.so.*", "libclang-*.so.*")
#: and the folders it searches on Linux after LIBCLANG_PATH, llvm-config and the paths
_LIBCLANG_DIRS = ("usr/local/llvm*/lib*", "usr/local/lib*/*/*", "usr/local/lib*/*",
                  "usr/local/lib*", "usr/lib*/*/*", "usr/lib*/*", "usr/lib*")


def _is_libclang(name: str) -> bool:
    return "-cpp." not in name and any(fnmatch.fnmatchcase(name, p) for p in _LIBCLANG_FILES)


def _libclang_in(folder: Path) -> bool:
    try:
        return any(_is_libclang(f.name) for f in folder.glob("libclang*"))
    except OSError:
        return False


def libclang_present(environ: Mapping[str, str], root: Path = Path("/")) -> bool:
    """Whether bindgen finds libclang here, searched the way clang-sys does: only in
    ``LIBCLANG_PATH`` (a folder, or the file) when it is set; else under ``llvm-config
    --prefix`` (bin, lib, lib64), in ``LD_LIBRARY_PATH`` and ``LIBRARY_PATH``, and in
    ``/usr/lib*/*/*`` & co. (Debian's ``/usr/lib/llvm-*/lib``). ``root``: where ``/`` is."""
    given = environ.get("LIBCLANG_PATH")
    if given:
        path = Path(given)
        return (path.is_file() and _is_libclang(path.name)) or _libclang_in(path)
    folders = [Path(d) for v in ("LD_LIBRARY_PATH", "LIBRARY_PATH")
               for d in environ.get(v, "").split(os.pathsep) if d]
    if any(_libclang_in(f) for f in folders):
        return True
    for pattern in _LIBCLANG_DIRS:
        if any(_is_libclang(f.name) for f in root.glob(f"{pattern}/libclang*")):
            return True
    llvm_config = proc.which(environ.get("LLVM_CONFIG_PATH") or "llvm-config",
                             path=environ.get("PATH"))
    if llvm_config is None:
        return False
    res = proc.run([llvm_config, "--prefix"], bound="tool", echo=False, check=False)
    prefix = res.stdout.strip().splitlines()[0] if res.ok and res.stdout.strip() else ""
    return bool(prefix) and any(_libclang_in(Path(prefix) / d) for d in ("bin", "lib", "lib64"))


def _program(value: str, environ: Mapping[str, str]) -> bool:
    """A variable's program as a build script runs it: a path, or a name on PATH."""
    if os.sep in value:
        return Path(value).exists()
    return proc.which(value, path=environ.get("PATH")) is not None


def present(host_tool: HostTool, environ: Mapping[str, str], *, root: Path = Path("/"),
            crates: Iterable[str] = ()) -> bool:
    """Whether build scripts find the tool here: a crate of the graph brings it, a variable
    names it (then that one, and nothing else, is used), or it is on PATH."""
    if set(crates) & set(host_tool.provided_by):
        return True
    if host_tool.name == "libclang":
        return libclang_present(environ, root)
    for variable in host_tool.env:
        if environ.get(variable):
            return _program(environ[variable], environ)
    return any(proc.which(p, path=environ.get("PATH")) for p in host_tool.programs)


# --- the workspace's graph ---------------------------------------------------------------

def lock_crates(workspace: Path) -> tuple[Crate, ...]:
    """Every package of the workspace's Cargo.lock, each dependency counted as a
    build-dependency, features unknown (none when there is no lock file)."""
    lock = workspace / "Cargo.lock"
    try:
        st = lock.stat()
    except OSError:
        return ()
    return _with_members_scripts(_lock_crates(lock, st.st_mtime_ns, st.st_size), workspace)


def _with_members_scripts(crates: tuple[Crate, ...], root: Path) -> tuple[Crate, ...]:
    """The lock file's packages, the workspace members' with their build scripts (the lock
    file says nothing of where a path package is; ``cargo metadata --no-deps`` does)."""
    try:
        scripts = dict(workspace.metadata(root).build_scripts)
    except (CrossmatrixError, OSError, ValueError, KeyError):
        return crates
    return tuple(replace(c, build_script=str(scripts[c.name])) if c.name in scripts and
                 c.build_script is None else c for c in crates)


@functools.cache
def _lock_crates(lock: Path, mtime_ns: int, size: int) -> tuple[Crate, ...]:
    """The answer for one version of the lock file (a build asks more than once)."""
    try:
        packages = tomllib.loads(lock.read_text()).get("package", [])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ()
    by_name: dict[str, str] = {}
    for package in packages:
        by_name.setdefault(str(package.get("name")), str(package.get("version", "0")))
    crates = []
    for package in packages:
        deps = []
        for entry in package.get("dependencies", []):
            name, _, rest = str(entry).partition(" ")
            deps.append((name, rest.split(" ", 1)[0] if rest else by_name.get(name, "0")))
        crates.append(Crate(name=str(package.get("name")), version=str(package.get("version", "0")),
                            build_deps=tuple(deps)))
    return tuple(crates)


def graph_crates(metadata: Mapping[str, Any], packages: Sequence[str] = (), *,
                 dev: bool = False) -> list[Crate]:
    """The packages ``cargo metadata`` says the build compiles: those reached from the
    workspace members (``packages``: only these members) by normal and build dependencies
    (and the members' dev-dependencies with ``dev``), each with its build-dependencies."""
    by_id = {p["id"]: p for p in metadata.get("packages", [])}
    nodes = {n["id"]: n for n in (metadata.get("resolve") or {}).get("nodes", [])}
    members = [m for m in metadata.get("workspace_members", [])
               if m in by_id and (not packages or by_id[m]["name"] in packages)]
    seen: set[str] = set()
    queue = list(members)
    while queue:
        pid = queue.pop()
        if pid in seen or pid not in by_id:
            continue
        seen.add(pid)
        for dep in nodes.get(pid, {}).get("deps", []):
            kinds = {k.get("kind") for k in dep.get("dep_kinds") or [{"kind": None}]}
            if not (dev and pid in members):
                kinds.discard("dev")
            if kinds:
                queue.append(dep["pkg"])
    crates = []
    for pid in sorted(seen, key=lambda p: (by_id[p]["name"], by_id[p]["version"])):
        node = nodes.get(pid, {})
        build = sorted((by_id[d["pkg"]]["name"], by_id[d["pkg"]]["version"])
                       for d in node.get("deps", []) if d["pkg"] in by_id
                       and any(k.get("kind") == "build" for k in d.get("dep_kinds") or []))
        script = next((t.get("src_path") for t in by_id[pid].get("targets", [])
                       if "custom-build" in t.get("kind", [])), None)
        crates.append(Crate(name=by_id[pid]["name"], version=by_id[pid]["version"],
                            features=frozenset(node.get("features", [])),
                            build_deps=tuple(build), build_script=script))
    return crates


def _as_json(crates: Sequence[Crate]) -> list[Any]:
    return [[c.name, c.version, sorted(c.features or ()), [list(d) for d in c.build_deps],
             c.build_script] for c in crates]


def _from_json(rows: Sequence[Any]) -> list[Crate]:
    return [Crate(name=r[0], version=r[1], features=frozenset(r[2]),
                  build_deps=tuple((d[0], d[1]) for d in r[3]),
                  build_script=r[4] if len(r) > 4 else None) for r in rows]


def target_crates(project: Project, target: Target, *, dev: bool = False) -> list[Crate] | None:
    """The crates the target's build compiles, from ``cargo metadata`` (remembered while
    the manifests and the lock file stay as they are); None when cargo cannot say (no
    cargo, crates not fetched while offline, a lock file that needs updating)."""
    compiler = default_compiler(project.workspace)
    if compiler is None:
        return None
    features = ["--features", ",".join(project.features)] if project.features else []
    argv = [str(compiler.cargo), "metadata", "--format-version", "1", "--locked",
            "--filter-platform", target.triple, *features]
    env = proc.child_env(compiler.env())

    def ask() -> tuple[dict[str, Any], list[Path]]:
        res = proc.run([*argv, "--offline"], bound="tool", cwd=project.workspace, env=env,
                       echo=False, check=False)
        if not res.ok and not project.offline:  # the crates may not be here yet
            res = proc.run(argv, bound="fetch", cwd=project.workspace, env=env, echo=False,
                           what="cargo metadata")
        if not res.ok:
            raise CrossmatrixError(f"cargo metadata failed: {res.tail(1)}")
        metadata = json.loads(res.stdout)
        manifests = [Path(p["manifest_path"]) for p in metadata.get("packages", [])
                     if p.get("source") is None]
        return ({"build": _as_json(graph_crates(metadata, project.packages)),
                 "test": _as_json(graph_crates(metadata, project.packages, dev=True))},
                manifests)

    files = [project.workspace / "Cargo.toml", project.workspace / "Cargo.lock",
             *memo.ancestors_files(project.workspace, (".cargo/config.toml", ".cargo/config"))]
    try:
        found = memo.remember("host-tools", [str(project.workspace), str(compiler.cargo),
                                             target.triple, *features, "-p",
                                             *project.packages], files, ask)
    except (CrossmatrixError, ValueError, KeyError):
        return None
    return _from_json(found["test" if dev else "build"])


# --- what is missing ---------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class MissingTool:
    """A tool the build needs for one target, not here."""

    tool: HostTool
    crates: tuple[str, ...]
    why: str  #: what the first crate's build script does with it
    fix: str

    @property
    def what(self) -> str:
        return f"{self.tool.what} for {', '.join(self.crates)}"

    def message(self, targets: Sequence[str]) -> str:
        one = len(self.crates) == 1
        return (f"{_and(self.crates)} {'needs' if one else 'need'} {self.tool.what} to build "
                f"for {_and(targets)} ({'its build script' if one else 'a build script'} "
                f"{self.why}), and none is installed")


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def fix_for(host_tool: HostTool, found: Sequence[Use], target: Target) -> str:
    """The tool's fix, then the other ways out the rules that need it give."""
    where = f"[tool.crossmatrix.target.{target.name}]"
    ways = [host_tool.fix, *dict.fromkeys(u.instead.format(where=where)
                                          for u in found if u.instead)]
    return ", or ".join(ways)


def missing(crates: Iterable[Crate], target: Target, environ: Mapping[str, str], *,
            root: Path = Path("/"), skip: Iterable[str] = ("protoc",)) -> list[MissingTool]:
    """The tools ``crates`` need for ``target`` that are not here, one entry per tool with
    the crates needing it; ``skip``: tools checked elsewhere (protoc: buildenv)."""
    crates = list(crates)
    names = {c.name for c in crates}
    needed: dict[str, list[tuple[str, Use]]] = {}
    for crate in crates:
        for use in uses(crate, target, environ):
            if use.tool not in skip:
                needed.setdefault(use.tool, []).append((crate.name, use))
    result = []
    for name, found in needed.items():
        host_tool = tool(name)
        if present(host_tool, environ, root=root, crates=names):
            continue
        result.append(MissingTool(tool=host_tool,
                                  crates=tuple(dict.fromkeys(c for c, _ in found)),
                                  why=found[0][1].why,
                                  fix=fix_for(host_tool, [u for _, u in found], target)))
    return result


def check(project: Project, targets: Sequence[Target], *, dev: bool = False) -> None:
    """Stop before cargo runs when a build script would not find a program it runs here:
    one line naming the crate, the tool, the targets, and the fix (ToolMissing: exit 3)."""
    found: dict[tuple[str, tuple[str, ...]], tuple[MissingTool, list[str]]] = {}
    for target in targets:
        for gap in missing_for(project, target, dev=dev):
            found.setdefault((gap.tool.name, gap.crates), (gap, []))[1].append(target.name)
    if not found:
        return
    (gap, names), *others = found.values()
    also = "".join(f"; also {other.what}" for other, _ in others[:3])
    more = f" and {len(others) - 3} more" if len(others) > 3 else ""
    raise ToolMissing(gap.message(names) + also + more, gap.fix)


def environment(project: Project, target: Target) -> dict[str, str]:
    """What the target's build scripts see: this process's environment and the target's
    ``env`` settings."""
    return {**os.environ, **project.settings_for(target).env}


# --- the target's C++ compiler -----------------------------------------------------------

def cxx_compiler(project: Project, target: Target) -> HostTool | None:
    """The target's C++ compiler as a tool to look for, when one must be installed: gcc's
    g++ (zig brings its own c++; a linker the user names is theirs). None: nothing to check."""
    link = linkers.for_project(project, target)
    if link.kind != "gcc" or link.cxx is None:
        return None
    variable = f"CXX_{target.cc_key}"
    where = project.table("target", target.name)
    installs = f" (installs {' '.join(link.cxx_packages)})" if link.cxx_packages else ""
    return HostTool(name=f"c++ {target.triple}", what=f"a C++ compiler ({link.cxx})",
                    programs=(link.cxx,), env=(f"CXX_{target.triple}",),
                    debs=link.cxx_packages,
                    fix=f"run `inv setup --target {target.name}`{installs}, or set "
                        f"{variable} in the env of {where}")


def _cxx_present(compiler: HostTool, target: Target, environ: Mapping[str, str],
                 settings_env: Mapping[str, str]) -> bool:
    """The C++ compiler build scripts get: the user's ``CXX_<triple>`` (the target's ``env``
    in either spelling, this environment's as given, which cc-rs reads first), else gcc's."""
    given = settings_env.get(f"CXX_{target.cc_key}") or environ.get(f"CXX_{target.triple}")
    if given:
        return _program(given.split()[0], environ)
    return any(proc.which(p, path=environ.get("PATH")) or Path(p).is_file()
               for p in compiler.programs)


def missing_cxx(project: Project, target: Target, crates: Iterable[Crate],
                environ: Mapping[str, str]) -> MissingTool | None:
    """The target's C++ compiler, when a crate of its build compiles C++ and it is not here."""
    compiler = cxx_compiler(project, target)
    if compiler is None:
        return None
    found = [(c.name, u) for c in crates for u in cxx_uses(c, target, environ)]
    if not found or _cxx_present(compiler, target, environ,
                                 project.settings_for(target).env):
        return None
    return MissingTool(tool=compiler, crates=tuple(dict.fromkeys(c for c, _ in found)),
                       why=found[0][1].why, fix=compiler.fix)


def _cxx_in_lock(crates: Iterable[Crate], target: Target, environ: Mapping[str, str]) -> bool:
    return any(cxx_uses(c, target, environ) for c in crates)


def missing_for(project: Project, target: Target, *, dev: bool = False) -> list[MissingTool]:
    """The tools the target's build needs and this machine lacks (protoc aside), and its
    C++ compiler when a build script compiles C++. Asks cargo only when the lock file has
    a crate that may need one."""
    environ = environment(project, target)
    locked = lock_crates(project.workspace)
    tools = any(u.tool != "protoc" for c in locked for u in uses(c, target, environ))
    cxx = _cxx_in_lock(locked, target, environ) and cxx_compiler(project, target) is not None
    if not (tools or cxx):
        return []
    crates = target_crates(project, target, dev=dev)
    if crates is None:
        return []
    gaps = missing(crates, target, environ) if tools else []
    gap = missing_cxx(project, target, crates, environ) if cxx else None
    return [*gaps, *([gap] if gap else [])]


def debian_packages(project: Project, targets: Sequence[Target]) -> list[str]:
    """The Debian packages of the tools the lock file's crates may need for ``targets``
    (protoc aside; none for a tool a variable already names)."""
    packages: list[str] = []
    crates = lock_crates(project.workspace)
    for target in targets:
        environ = environment(project, target)
        compiler = cxx_compiler(project, target) if _cxx_in_lock(crates, target, environ) \
            else None
        if compiler is not None:  # the lock file names every platform's crates: the target's
            built = target_crates(project, target)  # (iana-time-zone-haiku's C++ is Haiku's)
            if built is not None and not _cxx_in_lock(built, target, environ):
                compiler = None
        if compiler is not None and not project.settings_for(target).env.get(
                f"CXX_{target.cc_key}"):
            packages += compiler.debs  # Debian's g++-<triplet>, for C++ compiled by gcc
        for crate in crates:
            for use in uses(crate, target, environ):
                host_tool = tool(use.tool)
                if use.tool != "protoc" and not any(environ.get(v) for v in host_tool.env):
                    packages += host_tool.debs
    return list(dict.fromkeys(packages))


# --- cargo's output ----------------------------------------------------------------------

#: cargo naming the crate whose build script failed
BUILD_SCRIPT = re.compile(r"failed to run custom build command for `([\w.+-]+) v")


@functools.cache
def _failure(host_tool: HostTool) -> re.Pattern[str] | None:
    return re.compile("|".join(host_tool.failures)) if host_tool.failures else None


def recognise(output: str, target: Target) -> str | None:
    """The fix for a build script that failed for want of a host tool, from cargo's output
    (the crate named when cargo says whose build script it was)."""
    said = BUILD_SCRIPT.search(output)
    crate = said[1] if said else None
    found: list[tuple[HostTool, str]] = []
    for host_tool in TOOLS:
        pattern = _failure(host_tool)
        if pattern is not None and pattern.search(output):
            rules = [u for u in USES if u.tool == host_tool.name and u.crate == crate
                     and _for_target(u, target)]
            found.append((host_tool, fix_for(host_tool, rules, target)))
    if not found:
        return None
    who = f"{crate}'s build script" if crate else "a build script"
    return (f"{who} needs {_and([t.what for t, _ in found])} on this machine (it runs here, "
            "not on the target): " + "; ".join(fix for _, fix in found))
