"""Classify one package for one target: (1) pure Rust, (2) C code the target's configured
C toolchain compiles, (3) a system library or a tool beyond it (protoc, cmake, nasm …);
each need checked on this machine, each problem with its fix."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from tooling.compile import hosttools, syslibs
from tooling.doctor.depgraph import Package
from tooling.doctor.presence import Machine, Need, pkgconfig_dirs, tool_need
from tooling.matrix.config import PYPROJECT_TABLE
from tooling.matrix.targets import Target
from tooling.platforms import platform_of

PURE, NATIVE, EXTERNAL = 1, 2, 3
TIER_NAMES = {PURE: "pure-rust", NATIVE: "native", EXTERNAL: "external"}


@dataclass(frozen=True, kw_only=True)
class Finding:
    crate: str
    version: str
    tier: int
    side: str = "target"
    needs: tuple[Need, ...] = ()
    note: str | None = None
    via: tuple[str, ...] = ()

    @property
    def present(self) -> bool:
        return all(n.ok for n in self.needs)

    @property
    def ready(self) -> bool:
        return all(n.ok or n.pre_build for n in self.needs)

    @property
    def missing(self) -> list[Need]:
        return [n for n in self.needs if not (n.ok or n.pre_build)]

    @property
    def fix(self) -> str | None:
        fixes = dict.fromkeys(n.fix for n in self.missing if n.fix)
        return "; ".join(fixes) or None


@dataclass(frozen=True, kw_only=True)
class Context:
    """One target, as the classification sees it."""

    target: Target
    machine: Machine
    c_toolchain: Need  #: the target's configured C compiler
    host_cc: Need  #: the build machine's own C compiler (build scripts, proc macros)
    host: Target | None = None  #: the build machine's gnu target (None: not a table row)
    pre_build: tuple[str, ...] = ()
    crates: frozenset[str] = frozenset()  #: every crate of the graph (protobuf-src, …)
    config_table: str = PYPROJECT_TABLE  #: where the project's settings are, for the fixes

    @property
    def where(self) -> str:
        """The target's settings table: where a fix's pre-build line or variable goes."""
        return f"[{self.config_table}.target.{self.target.name}]"

    def for_side(self, side: str) -> Target:
        return self.host if side == "host" and self.host is not None else self.target


def classify(package: Package, ctx: Context) -> Finding:
    entry = syslibs.by_crate(package.name) or (
        syslibs.by_links(package.links) if package.links else None)
    if entry is not None:
        return _known(package, entry, ctx)
    return _generic(package, ctx)


def _finding(package: Package, tier: int, needs: Iterable[Need] = (),
             note: str | None = None) -> Finding:
    return Finding(crate=package.name, version=package.version, tier=tier, side=package.side,
                   needs=tuple(needs), note=note, via=package.via)


def _compiler(package: Package, ctx: Context) -> Need:
    return ctx.host_cc if package.side == "host" else ctx.c_toolchain


def _library(package: Package, ctx: Context, *, library: str, pcs: Sequence[str],
             deb: str | None, dir_env: Sequence[str] = (), vendor: str | None = None,
             alternative: str | None = None, pre_build_line: str | None = None) -> list[Need]:
    """A system library for the package's side: its .pc for the target, or a folder
    named by a variable (OPENSSL_DIR); Debian's packages only serve gnu targets."""
    target = ctx.for_side(package.side)
    machine = ctx.machine
    gnu = platform_of(target).debian_libraries(target)
    pc = pcs[0] if pcs else None
    what = (f"{library} for {target.arch.deb_arch}" + (f" ({pc}.pc)" if pc else "") if gnu
            else f"{library} built for {target.name}")
    variables = [v for d in dir_env for v in (f"{target.env_key}_{d}", d)]
    ok = any(machine.named_file(v) for v in variables) or any(
        (folder / f"{name}.pc").is_file()
        for folder in pkgconfig_dirs(target, machine, ctx.host) for name in pcs)
    where = ctx.where
    fixes = [f for f in (vendor, alternative) if f]
    on_pre_build = False
    if gnu and package.side == "target":
        if deb:
            on_pre_build = any(deb in command for command in ctx.pre_build)
            line = pre_build_line or f"apt-get install -y {deb}:$DEB_ARCH"
            fixes.append(f"add pre-build = [\"{line}\"] to {where}")
        else:
            fixes.append(f"install the Debian package with {pc or 'the library'}.pc as "
                         f"<package>:{target.arch.deb_arch} (`apt-file search {pc}.pc`)")
    elif gnu:
        fixes.append(f"install Debian's {deb}" if deb else
                     f"install the Debian package with {pc}.pc (`apt-file search {pc}.pc`)")
    elif not fixes:
        fixes.append(f"no bundled copy: Debian's {library} is a glibc library and cannot be "
                     f"linked into a {target.libc} binary; build {library} for {target.name} "
                     + (f"and set {dir_env[0]} in env of {where}" if dir_env else "yourself")
                     + f", or leave {package.name} out of this target")
    needs = [Need(what=what, ok=ok, fix=", or ".join(fixes), pre_build=on_pre_build)]
    if gnu and not ok:
        needs.append(tool_need("pkg-config", machine))
    return needs


def _carrier(entry: syslibs.NativeCrate, package: Package,
             os_features: tuple[str, ...]) -> tuple[str, str]:
    """The crate and feature that vendor ``entry``, nearest the workspace on the path;
    ``os_features``: those that vendor it on the target's OS only."""
    carriers = entry.carriers or tuple((entry.crate, f) for f in entry.vendor_features[:1])
    if os_features and not entry.carriers:
        carriers = ((entry.crate, os_features[0]),)
    for name in package.via:
        for crate, feature in carriers:
            if crate == name:
                return crate, feature
    return carriers[-1]


def _vendor_fix(entry: syslibs.NativeCrate, package: Package,
                os_features: tuple[str, ...]) -> str | None:
    if not (entry.carriers or entry.vendor_features):
        return None
    crate, feature = _carrier(entry, package, os_features)
    source = syslibs.by_crate(entry.vendor_source) if entry.vendor_source else None
    tools = (*entry.build_tools, *(source.build_tools if source else ()))
    needs = f"; needs {' and '.join(tools)}" if tools else ""
    return (f"enable {crate}'s `{feature}` feature (compiles {entry.library} with the "
            f"target's C toolchain{needs})")


def _alternative(entry: syslibs.NativeCrate, package: Package) -> str | None:
    return next((text for crate, text in entry.alternatives
                 if crate == "*" or crate in package.via), None)


def _known(package: Package, entry: syslibs.NativeCrate, ctx: Context) -> Finding:
    features = package.features
    target = ctx.for_side(package.side)
    os_features = entry.vendor_features_on(target.os)
    if entry.mode == "source":  # compiled by the crate that uses it, which counts its tools
        return _finding(package, PURE, note=entry.fallback)
    if entry.mode == "python":
        return _python(package, entry, ctx)
    vendoring = sorted(features & {*entry.vendor_features, *os_features})
    tools = [t for fn in entry.feature_needs if fn.feature in features
             and not (fn.unless and fn.unless in features) for t in fn.tools]
    found = _host_tools(package, ctx)
    tools += [u.tool for u in found]
    builds = entry.mode == "fallback" or (
        entry.mode == "builds" and not features & set(entry.system_features))
    needs: list[Need] = []
    note = None
    if vendoring or builds:
        needs.append(_compiler(package, ctx))
        source = syslibs.by_crate(entry.vendor_source) if entry.vendor_source and vendoring \
            else None
        tools += [*entry.build_tools, *(source.build_tools if source else ())]
        if vendoring:
            note = f"compiles its bundled {entry.library} (`{vendoring[0]}`)"
        elif entry.mode == "fallback":
            note = _fallback_note(package, entry, ctx)
    else:
        needs += _library(
            package, ctx, library=entry.library, pcs=[entry.pc] if entry.pc else [],
            deb=entry.deb, dir_env=entry.dir_env,
            vendor=_vendor_fix(entry, package, os_features),
            alternative=_alternative(entry, package),
            pre_build_line=syslibs.pre_build_line(entry) if entry.deb else None)
    # a tool beyond the C toolchain can also be avoided by the crate's alternative (said once)
    alternative = _alternative(entry, package) if vendoring or builds else None
    for name in dict.fromkeys(tools):
        need = _tool_need(name, found, ctx, target)
        if alternative and not need.ok and name in hosttools.EXTERNAL_TOOLS:
            need, alternative = replace(need, fix=f"{need.fix}, or {alternative}"), None
        needs.append(need)
    external = not (vendoring or builds) or bool(set(tools) & set(hosttools.EXTERNAL_TOOLS))
    return _finding(package, EXTERNAL if external else NATIVE, needs, note)


def _host_tools(package: Package, ctx: Context) -> list[hosttools.Use]:
    """The rules by which the package's build script runs a host tool (hosttools.USES)."""
    crate = hosttools.Crate(name=package.name, version=package.version,
                            features=package.features, build_deps=package.build_deps)
    return hosttools.uses(crate, ctx.for_side(package.side), ctx.machine.env)


def _tool_need(name: str, found: Sequence[hosttools.Use], ctx: Context, target: Target) -> Need:
    rules = [u for u in found if u.tool == name]
    return tool_need(name, ctx.machine, ctx.crates,
                     fix=hosttools.fix_for(hosttools.tool(name), rules, target))


def _fallback_note(package: Package, entry: syslibs.NativeCrate, ctx: Context) -> str:
    """Which copy a ``fallback`` crate will use here: the system's when the target's -dev
    package is installed (or pre-build installs it), else its bundled one."""
    target = ctx.for_side(package.side)
    if not (platform_of(target).debian_libraries(target) and entry.deb and entry.pc):
        return f"compiles its bundled {entry.library}"
    deb = f"{entry.deb}:{target.arch.deb_arch}"
    if any((folder / f"{entry.pc}.pc").is_file()
           for folder in pkgconfig_dirs(target, ctx.machine, ctx.host)):
        return f"links the system's {entry.library} ({deb} is installed)"
    if package.side == "target" and any(entry.deb in c for c in ctx.pre_build):
        return f"links the system's {entry.library} ({deb} comes from pre-build)"
    return f"compiles its bundled {entry.library} ({deb} is not installed)"


def _python(package: Package, entry: syslibs.NativeCrate, ctx: Context) -> Finding:
    """pyo3-ffi (pyo3's build configuration, read from pyo3-build-config 0.30)."""
    env = ctx.machine.env
    if env.get("PYO3_CONFIG_FILE"):
        return _finding(package, PURE, note="PYO3_CONFIG_FILE describes the Python")
    features = package.features
    target = ctx.for_side(package.side)
    platform = platform_of(target)
    abi3 = any(f == "abi3" or f.startswith("abi3-") for f in features)
    extension = "extension-module" in features or "PYO3_BUILD_EXTENSION_MODULE" in env
    host = ctx.host
    # pyo3 cross-compiles when architecture or OS differ (x86_64 musl on x86_64 gnu: not)
    cross = host is None or (target.arch.rust, target.os) != (host.arch.rust, host.os)
    where = ctx.where
    needs: list[Need] = []
    if not extension and not platform.links_python_dll:  # embeds Python: links libpython
        embed = ("build an extension module (pyo3's `extension-module` feature)"
                 if not platform.debian_libraries(target) else None)
        needs += _library(package, ctx, library="libpython3", pcs=["python3-embed"],
                          deb=entry.deb, alternative=embed)
    if (platform.links_python_dll and syslibs.older_than(package.version, (0, 29))
            and "generate-import-lib" not in features and not env.get("PYO3_CROSS_LIB_DIR")):
        needs.append(Need(what="python3.dll import library", ok=False,
                          fix="enable pyo3's `generate-import-lib` feature"))
    if not abi3 and cross:
        needs.append(Need(
            what=f"the Python version of {target.name}",
            ok=any(env.get(v) for v in ("PYO3_CROSS_PYTHON_VERSION", "PYO3_CROSS_LIB_DIR")),
            fix=(f"enable pyo3's `abi3-py39` feature (builds without a Python), or set "
                 f"PYO3_CROSS_PYTHON_VERSION = \"3.11\" in env of {where}")))
    elif not abi3:
        needs.append(Need(what="python3 interpreter",
                          ok=ctx.machine.named_file("PYO3_PYTHON") or ctx.machine.which("python3"),
                          fix="install Debian's python3-dev, or enable pyo3's `abi3-py39` feature"))
    if not needs:
        return _finding(package, PURE, note="abi3 extension module: builds without Python")
    return _finding(package, EXTERNAL, needs)


def _pure_codegen(package: Package) -> bool:
    """A build script calling protobuf-codegen's ``.pure()`` parses .proto without protoc."""
    try:
        return package.build_script is not None and ".pure()" in package.build_script.read_text()
    except OSError:
        return False


def _generic(package: Package, ctx: Context) -> Finding:
    """A crate the table does not know: judged by its build-dependencies and ``links``."""
    names = {name for name, _ in package.build_deps}
    found = [u for u in _host_tools(package, ctx) if not (
        u.tool == "protoc" and u.build_dep == "protobuf-codegen" and _pure_codegen(package))]
    tools = [u.tool for u in found]
    c_code = bool(names & set(syslibs.C_BUILD_DEPS))
    pkg_config = bool(names & {"pkg-config", "system-deps"})
    needs: list[Need] = []
    note = None
    if c_code:
        needs.append(_compiler(package, ctx))
        if pkg_config:
            note = "may link a system library it finds with pkg-config"
    pcs = list(package.system_deps) or (
        [package.links, f"lib{package.links}"] if package.links else [])
    if pkg_config and (package.system_deps or not c_code):
        for pc in pcs or [""]:
            known = syslibs.by_pc_name(pc) if pc else None
            needs += _library(
                package, ctx, library=known.library if known else (pc or "a system library"),
                pcs=[pc] if pc else [], deb=known.deb if known else None,
                alternative=None if pc else "read its build.rs for a vendored/bundled feature")
    target = ctx.for_side(package.side)
    needs += [_tool_need(t, found, ctx, target) for t in dict.fromkeys(tools)]
    if not needs:
        return _finding(package, PURE)
    external = bool(tools) or (pkg_config and (package.system_deps or not c_code))
    return _finding(package, EXTERNAL if external else NATIVE, needs, note)
