"""Compile: provide std, pick the linker, run one ``cargo build`` for the target.

Linker, ``CC_<t>``, ``AR_<t>`` and rustflags go into the child cargo's environment
(and ``--config``), never into the user's files. Artifact paths come from cargo's
JSON messages. Cargo decides what is fresh; this step always asks it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path

from tooling.compile import buildenv, hosttools, linkers, messages, nostd, syslibs
from tooling.errors import StepFailed, ToolMissing
from tooling.matrix import workspace
from tooling.matrix.config import PYPROJECT_TABLE
from tooling.matrix.targets import Target
from tooling.plan import cargo_call
from tooling.plan.cargo_call import Invocation
from tooling.platforms import platform_of
from tooling.records.steps import Compiled, CompiledArtifact
from tooling.std import providers
from tooling.steps.state import Build
from tooling.util import atomic, console, digests, proc


def install_std(build: Build) -> providers.StdPlan:
    plan = providers.ensure(build.project, build.target)
    console.step(build.target.name, f"std: {plan.describe()} — {plan.reason}")
    console.step(build.target.name, f"compiler: {plan.compiler.describe()}"
                 + (f" — {plan.compiler_reason}" if plan.compiler_reason else ""))
    return plan


# --- compile -----------------------------------------------------------------------------



_ZIG_REJECTS = re.compile(
    r"(?:unsupported linker arg|unknown argument|unsupported option)[:\s]+'?([^'\s]+)'?")
#: cargo's words when a build with --locked would have to change Cargo.lock
_STALE_LOCK = "because --locked was passed to prevent this"
_PKG_CONFIG_CROSS = "pkg-config has not been configured to support cross-compilation"
_PKG_CONFIG_MISSING = re.compile(r"The system library `([\w.+-]+)` required by crate")


#: a library the linker cannot find: GNU ld, lld, zig
_LINK_MISSING = re.compile(r"cannot find -l([\w.+-]+)|unable to find library -l([\w.+-]+)"
                           r"|unable to find (?:dynamic )?system library '([\w.+-]+)'")


def _missing_library(name: str, target: Target, where: str) -> str:
    """What to do about a C library that is not there for ``target``: its -dev package for
    the target's Debian architecture through a ``pre-build`` line, or the vendored feature."""
    entry = syslibs.by_links(name) or syslibs.by_pc_name(name)
    carrier = next((c for c in entry.carriers if c[0] == entry.crate),
                   entry.carriers[0]) if entry and entry.carriers else None
    vendored = (f"enable {carrier[0]}'s `{carrier[1]}` feature" if carrier
                else "use the crate's vendored/bundled feature")
    if not platform_of(target).debian_libraries(target):
        return (f"the C library {name} is not available for {target.triple} (Debian's "
                f"libraries are for Linux gnu targets): {vendored}")
    package = f"{entry.deb}:{target.arch.deb_arch}" if entry and entry.deb else None
    if package is None:
        return (f"the C library {name} is not installed for {target.triple}: install the "
                f"Debian package with lib{name}.so / {name}.pc as <package>:"
                f"{target.arch.deb_arch} (a pre-build line in {where}), or {vendored}")
    line = f"apt-get install -y {entry.deb}:$DEB_ARCH" if entry else ""
    return (f"the C library {name} is not installed for {target.triple}: install {package} "
            f"(pre-build = [\"{line}\"] in {where}), or {vendored}")


def _known_failure(stderr: str, target: Target, where: str | None = None) -> str | None:
    """The fix for failures users of cross builds meet again and again; ``where`` is the
    target's settings table (default: the one in pyproject.toml)."""
    where = where or f"[{PYPROJECT_TABLE}.target.{target.name}]"
    tools = hosttools.recognise(stderr, target)  # cmake, nasm, libclang, protoc … missing
    if tools:
        return tools
    if _STALE_LOCK in stderr:
        return ("Cargo.lock does not match the manifests (crossmatrix builds --locked, so a "
                "release uses the versions the lock file names): run `cargo update "
                "--workspace` (with --offline when offline) and commit Cargo.lock")
    # a build script that goes on without pkg-config (libz-sys builds its own zlib) says
    # so too: a C error after it is the cause
    if _PKG_CONFIG_CROSS in stderr and not _first_c_error(stderr):
        if not platform_of(target).debian_libraries(target):
            return (f"pkg-config refuses to cross-compile for {target.triple}, and Debian's "
                    "libraries are for Linux gnu targets: use the crate's vendored feature, or "
                    "point PKG_CONFIG_SYSROOT_DIR and PKG_CONFIG_PATH at a sysroot of the "
                    f"target (the env of {where})")
        lib = f"/usr/lib/{target.arch.gnu_prefix}/pkgconfig"
        return ("pkg-config refuses to cross-compile: set PKG_CONFIG_ALLOW_CROSS = \"1\", "
                f"PKG_CONFIG_SYSROOT_DIR = \"/\" and PKG_CONFIG_LIBDIR = \"{lib}\" in the "
                f"env of {where} (with libfoo-dev:{target.arch.deb_arch} installed), or use "
                "the crate's vendored feature")
    missing = _PKG_CONFIG_MISSING.search(stderr)
    if missing:
        return _missing_library(missing[1], target, where)
    unlinked = _LINK_MISSING.search(stderr)
    if unlinked:
        return _missing_library(next(g for g in unlinked.groups() if g), target, where)
    rejected = _ZIG_REJECTS.search(stderr)
    if rejected and "zig" in stderr:
        return (f"zig's linker rejects {rejected[1]}: drop it from the rustflags or link "
                f"args for {target.name}, or link with gcc (linker = \"gcc\" in {where})")
    glibc = re.search(r"version `GLIBC_(\d+\.\d+)' not found", stderr)
    if glibc:
        return (f"something needs glibc {glibc[1]}, newer than the target's: set a floor "
                f"(--target {target.name}.2.17) so everything links against the old one")
    return None


#: rustc's own words when a build script names a static library it cannot find
_STATIC_MISSING = re.compile(r"could not find native static library `([\w.+-]+)`")


def _misnamed_static(build: Build, stderr: str) -> str | None:
    """A build script that made its static library under another platform's name (jemalloc's
    configure writes ``jemalloc.lib`` on MinGW; rustc looks for ``libjemalloc.a`` on a
    gnu target): found in the build scripts' output folders of this target."""
    missing = _STATIC_MISSING.search(stderr)
    if missing is None:
        return None
    name = missing[1]
    builds = build.workspace.target_dir / build.target.triple
    wanted = {f"{name}.lib", f"{name}.a", f"lib{name}.lib"}  # not lib<name>.a, rustc's own
    made = sorted({p.name for p in builds.glob("*/build/*/out/**/*")
                   if p.name in wanted and p.is_file()})
    if not made:
        return None
    return (f"a build script made {', '.join(made)} but rustc looks for lib{name}.a on "
            f"{build.target.triple} (the crate names its library for another platform: its "
            "bug); keep that dependency off this target (a [target.'cfg(...)'] table), or "
            "use a release of the crate that fixes it")


#: a C++ compiler that is not there: cc-rs, CMake
_CXX_MISSING = re.compile(r'failed to find tool "([^"]+)"|CMAKE_CXX_COMPILER:\s+(\S+)\s+is not a '
                          r"full path and was not found|No CMAKE_CXX_COMPILER could be found")


def _missing_cxx(stderr: str, target: Target, link: linkers.LinkerPlan,
                 where: str) -> str | None:
    """The fix for the target's C++ compiler missing after all (a crate no rule knows)."""
    # cc-rs only warns when it cannot find the C++ compiler to detect its family (the cmake
    # crate asks it for every project, C-only too): the build fails for another reason
    said = "\n".join(line for line in stderr.splitlines()
                     if "Compiler family detection failed" not in line)
    found = _CXX_MISSING.search(said)
    if not found or link.cxx is None or link.cxx_present():
        return None
    named = found[1] or found[2]
    if named and Path(named).name != Path(link.cxx).name:
        return None
    installs = f" (installs {' '.join(link.cxx_packages)})" if link.cxx_packages else ""
    return (f"a build script compiles C++ and {link.cxx} is not installed: run `inv setup "
            f"--target {target.name}`{installs}, or set CXX_{target.cc_key} in the env of "
            f"{where}")


#: a C, C++ or assembler error as gcc and clang print it, in a build script's output
_C_ERROR = re.compile(r"^\s*(?:cargo:warning=)?(\S+?\.(?:c|cc|cpp|cxx|h|hh|hpp|hxx|inc|S|s))"
                      r":(\d+)(?::\d+)?: (?:fatal )?error: (.+)$", re.M)
#: an error "text" that is another location: make -j interleaved two compilers' lines
_INTERLEAVED = re.compile(r"\d+:\d+: ")


#: GNU ld naming what a crate's native library lacks: the library's archive (its rlib,
#: ``lib<crate>-<hash>.rlib(obj.o)``) and the symbol, demangled
_UNDEFINED_IN = re.compile(r"lib(\w+?)-[0-9a-f]+\.rlib\([^)]*\):[^\n]*?undefined reference to "
                           r"[`']([A-Za-z_][\w:~]*)")
_C_SOURCES = ("*.c", "*.cc", "*.cpp", "*.cxx")


def _uncompiled_sources(build: Build, stderr: str) -> str | None:
    """Symbols a crate's C or C++ lacks at link time that are defined in its own source
    files which its build script did not compile for this target (unrar-ng-sys leaves out
    isnt.cpp and motw.cpp: its build.rs asks ``cfg!(windows)``, the build machine)."""
    found = list(dict.fromkeys(_UNDEFINED_IN.findall(stderr)))
    if not found:
        return None
    lib = found[0][0]
    crate = next((c for c in hosttools.lock_crates(build.project.workspace)
                  if c.name.replace("-", "_") == lib), None)
    if crate is None:
        return None
    roots = workspace.registry_sources(f"{crate.name}-{crate.version}")
    if not roots:
        return None
    built = {p.name.split("-", 1)[-1].rsplit(".", 1)[0]
             for p in (build.workspace.target_dir / build.target.triple).glob(
                 f"*/build/{crate.name}-*/out/**/*.o")}
    texts = {}  # the sources not compiled, each read once
    for source in (p for pattern in _C_SOURCES for p in roots[0].rglob(pattern)
                   if p.stem not in built):
        with contextlib.suppress(OSError):
            texts[source.relative_to(roots[0]).as_posix()] = source.read_text(errors="replace")
    where: dict[str, list[str]] = {}
    for _, symbol in found[:20]:
        defined = re.compile(rf"^[^;\n]*\b{re.escape(symbol)}\s*\([^;]*$", re.M)
        file = next((f for f, text in texts.items() if defined.search(text)), None)
        if file is not None:
            where.setdefault(file, []).append(symbol.split("::")[-1])
    if not where:
        return None
    said = "; ".join(f"{', '.join(dict.fromkeys(names))} in {file}"
                     for file, names in where.items())
    return (f"{crate.name}'s C/C++ calls functions defined in its own sources that its build "
            f"script did not compile for {build.target.triple} ({said}): its bug (a build "
            "script that asks cfg!(...), the build machine, instead of CARGO_CFG_TARGET_OS); "
            "a release of the crate that fixes it, or keep it off this target (a "
            "[target.'cfg(...)'] table)")


def _first_c_error(stderr: str) -> re.Match[str] | None:
    return next((e for e in _C_ERROR.finditer(stderr) if not _INTERLEAVED.match(e[3])), None)


def _c_does_not_compile(stderr: str, target: Target, link: linkers.LinkerPlan,
                        where: str) -> str | None:
    """A build script whose C did not compile for the target (its compiler was there and
    ran): the crate and the compiler's first error, and the other C compiler of the target
    where it has one (gcc and zig differ in their intrinsics and in what a configure check
    finds)."""
    crate = hosttools.BUILD_SCRIPT.search(stderr)
    error = _first_c_error(stderr)
    if crate is None or error is None:
        return None
    other = target.other_c_compiler(link.kind)
    instead = f'the other C compiler (linker = "{other}" in {where}), ' if other else ""
    return (f"the C code of {crate[1]} does not compile for {target.triple} with "
            f"{link.kind} ({Path(error[1]).name}:{error[2]}: error: {error[3].strip()}): a "
            f"defect of the crate's C or of its checks for this target; try {instead}a "
            f"release of the crate that fixes it (`cargo update -p {crate[1]}`), or keep it "
            "off this target (a [target.'cfg(...)'] table)")


def _diagnose(build: Build, link: linkers.LinkerPlan) -> Callable[[str], str]:
    target = build.target
    where = build.project.table("target", target.name)

    def hint(stderr: str) -> str:
        os_hint = platform_of(target).link_hint(target, stderr, where)
        if os_hint:
            return os_hint
        cxx = _missing_cxx(stderr, target, link, where)
        if cxx:
            return cxx
        missing_symbol = re.search(r"undefined symbol: ([A-Za-z_][A-Za-z0-9_@.]*)", stderr)
        if target.glibc and missing_symbol:
            return (f"{missing_symbol[1]} is not in glibc {target.glibc}: raise the floor "
                    f"(e.g. {target.triple}.2.28) or stop calling it")
        if "E0463" in stderr or "can't find crate for `core`" in stderr or (
                "can't find crate for `std`" in stderr):
            return (f"std for {target.triple} is missing: run `inv install-targets --target "
                    f"{target.name}` (after `inv setup`)")
        known = (_known_failure(stderr, target, where) or _misnamed_static(build, stderr)
                 or _uncompiled_sources(build, stderr))
        if known:
            return known
        if not link.present():
            if Path(link.linker).name == "musl-gcc":
                return ("musl-gcc is not installed: install Debian's musl-tools, or remove "
                        f"linker = \"musl-gcc\" from {where} "
                        "to link with zig (which brings musl itself)")
            if not link.packages:
                return (f"the linker {link.linker} is missing: install it, or change `linker` "
                        f"in {where}")
            return (f"the linker {link.linker} is missing: run `inv setup --target "
                    f"{target.name}` (installs {' '.join(link.packages)})")
        return _c_does_not_compile(stderr, target, link, where) or "cargo's own error is above"

    return hint


def invocation(build: Build, *, provide_std: bool = True, dev: bool = False) -> Invocation:
    """Check the host tools, provide std (unless told not to: then the std there is now),
    derive the cargo call from the plan, and write what it needs (the linker wrappers);
    ``dev``: for ``cargo test`` (dev-dependencies' build scripts run too)."""
    project, target = build.project, build.target
    nostd.check(project, target)  # a crate that needs std, for a target without one
    hosttools.check(project, [target], dev=dev)  # cmake, nasm, libclang … before cargo
    missing = None
    try:
        std = install_std(build) if provide_std else providers.plan(project, target)
    except providers.RustVersionUnmet:
        raise  # cargo would only fail with "rustc … is not supported"
    except ToolMissing as exc:
        if provide_std:  # every provider the settings allow was tried: cargo would only
            raise  # fail with "can't find crate for `core`" (E0463)
        std, missing = None, exc
    call = cargo_call.derive(project, target, std, std_missing=missing)
    for note in call.notes:
        if note.startswith(f"{target.name}: "):
            console.warn(note)
        elif provide_std:
            console.step(target.name, note)
    call.materialize()
    return call


def pre_build(build: Build) -> None:
    """The project's ``pre-build`` commands for this target, when they changed."""
    done = build.state().get("pre-build", {}).get("data")
    own = build.project.settings_for(build.target).pre_build is not None
    key = buildenv.run_pre_build(build.project.pre_build_for(build.target), build.target,
                                 build.project.root, done, where=build.project.table(
                                     *(("target", build.target.name) if own else ())))
    if key is not None and key != done:
        build.record("pre-build", key, inputs=key, outputs=key)


def compile_target(build: Build) -> list[messages.Artifact]:
    project, target = build.project, build.target
    pre_build(build)
    call = invocation(build)
    argv, env, compiler, plan, link, flags = (call.argv, call.env, call.compiler, call.plan,
                                              call.link, call.flags)
    console.step(target.name, f"compile with {compiler.describe()}, linker {link.describe()}")
    diagnose = _diagnose(build, link)
    res = proc.stream(argv, bound="build", env=env, cwd=project.workspace, what="cargo build",
                      check=False)
    artifacts, success = messages.parse_messages(res.stdout, build.workspace.cdylibs)
    if not res.ok or not success:
        if not console.shows_output():  # cargo's output went only to the log
            console.recap(messages.error_lines(res.stderr))
        raise StepFailed(f"{target.name}: cargo build failed (exit {res.returncode})",
                         diagnose(res.stderr))
    if plan is None:
        raise StepFailed(f"{target.name}: built without a known std provider")
    if not artifacts:
        raise StepFailed(f"{target.name}: cargo built no executables",
                         f"set `packages` in {project.table()} to crates that have binaries")
    record = Compiled(
        artifacts=tuple(CompiledArtifact(package=a.package, name=a.path.name, path=str(a.path),
                                         kind=a.kind, target_name=a.name,
                                         sha256=atomic.sha256_file(a.path)) for a in artifacts),
        compiler=compiler.version_line,
        compiler_kind=compiler.kind,
        compiler_commit=compiler.commit_hash,
        std_provider=plan.provider,
        std_reason=plan.reason,
        sysroot=plan.sysroot.name if plan.sysroot else None,
        linker=link.kind,
        linker_program=Path(link.linker).name,
        profile=project.profile,
        rustflags=tuple(f if not f.startswith("/") else Path(f).name for f in flags),
    )
    build.save(record, inputs=digests.digest(argv))
    compiled, units = messages.compiled_units(res.stdout)
    more = f" and {len(compiled) - 6} more" if len(compiled) > 6 else ""
    shown = ", ".join(compiled[:6]) + more
    console.step(target.name, f"cargo compiled {len(compiled)} of {units} units"
                 + (f": {shown}" if compiled else " (all fresh)"))
    for artifact in artifacts:
        console.step(target.name, f"built {artifact.name}: {artifact.path}")
    return artifacts
