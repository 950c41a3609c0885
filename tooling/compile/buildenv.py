"""What build scripts need besides a C compiler: pkg-config pointed at the target's
libraries, protoc for prost-build & co., and the project's own ``pre-build`` commands.

Everything goes into the child cargo's environment with the target in the variable's
name (``PKG_CONFIG_LIBDIR_aarch64_unknown_linux_gnu``), so build scripts that run for
the host (proc macros, build scripts' own dependencies) still see the host's libraries.
"""

from __future__ import annotations

import functools
import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

from tooling.compile import hosttools
from tooling.errors import StepFailed, ToolMissing, UsageError
from tooling.matrix.targets import Target
from tooling.platforms import platform_of
from tooling.util import console, digests, proc


def multiarch_libdir(target: Target) -> Path:
    """Where Debian's ``<package>:<arch>`` puts the target's libraries."""
    return Path("/usr/lib") / target.arch.gnu_prefix


def pkg_config_env(target: Target, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """pkg-config for a cross build to a Linux gnu target: the multiarch ``.pc`` files
    (``libfoo-dev:<arch>``, installed by a ``pre-build`` line), and cross builds allowed.

    Not for musl (Debian's libraries are glibc's and shared: a crate must vendor its C
    library there, and pkg-config refusing is what makes most of them do so), Windows or
    macOS; not for the host's own gnu target. Variables the user set win."""
    environ = os.environ if environ is None else environ
    if not platform_of(target).debian_libraries(target) or target.runs_natively():
        return {}
    libdir = multiarch_libdir(target)
    wanted = {
        "PKG_CONFIG_ALLOW_CROSS": "1",
        "PKG_CONFIG_LIBDIR": f"{libdir}/pkgconfig:/usr/share/pkgconfig",
        "PKG_CONFIG_SYSROOT_DIR": "/",
    }
    env = {}
    for name, value in wanted.items():
        if any(k in environ for k in (f"{name}_{target.triple}", f"{name}_{target.cc_key}",
                                       f"TARGET_{name}")):
            continue
        env[f"{name}_{target.cc_key}"] = value
    return env


def protoc_users(workspace: Path) -> list[str]:
    """Packages of the workspace's Cargo.lock that depend on a protoc-running crate."""
    lock = workspace / "Cargo.lock"
    try:
        st = lock.stat()
    except OSError:
        return []
    return list(_protoc_users(lock, st.st_mtime_ns, st.st_size))


@functools.cache
def _protoc_users(lock: Path, mtime_ns: int, size: int) -> tuple[str, ...]:
    """The answer for one version of the lock file (a build asks twice: preflight, plan)."""
    try:
        packages = tomllib.loads(lock.read_text()).get("package", [])
    except (OSError, tomllib.TOMLDecodeError):
        return ()
    runners = set(hosttools.PROTOC_RUNNERS)  # crates whose code runs protoc
    users = []
    for package in packages:
        deps = {str(d).split(" ", 1)[0] for d in package.get("dependencies", [])}
        if deps & runners and package["name"] not in runners:
            users.append(str(package["name"]))
    return tuple(sorted(set(users)))


def protoc_env(workspace: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``PROTOC`` for build scripts that run protoc: the user's, else the one on PATH.
    Without one, stop before building with what to install (prost-build would fail
    deep inside cargo's output with "Could not find `protoc`")."""
    environ = os.environ if environ is None else environ
    users = protoc_users(workspace)
    if not users:
        return {}
    given = environ.get("PROTOC")
    if given:
        path = Path(given)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise UsageError(f"PROTOC={given!r} is not an executable file",
                             "point PROTOC at protoc (Debian: /usr/bin/protoc), or unset it")
        return {"PROTOC": str(path)}
    found = proc.which("protoc", path=environ.get("PATH"))
    if found is None:
        raise ToolMissing(
            f"{', '.join(users)} needs protoc (its build script runs prost-build), and none "
            "is installed",
            "install Debian's protobuf-compiler (`inv setup` does), or set PROTOC=/path/to/protoc")
    return {"PROTOC": found}


def pre_build_vars(target: Target) -> dict[str, str]:
    """The variables ``pre-build`` commands can use."""
    return {
        "DEB_ARCH": target.arch.deb_arch or "",
        "CROSSMATRIX_TARGET": target.name,
        "TARGET_TRIPLE": target.triple,
        "GNU_PREFIX": target.arch.gnu_prefix,
        "MULTIARCH_LIBDIR": str(multiarch_libdir(target)),
    }


def run_pre_build(commands: Sequence[str], target: Target, project_root: Path,
                  done: str | None, *, where: str | None = None) -> str | None:
    """Run the target's ``pre-build`` commands (like Cross.toml's, each by ``sh -c``, with
    ``$DEB_ARCH`` & co. set), once per change of the commands. Returns the digest to
    record, or None when there are none; ``done`` is the digest recorded last time;
    ``where`` the table the commands are from, for the hint."""
    if not commands:
        return None
    variables = pre_build_vars(target)
    key = digests.digest(list(commands), variables)
    if key == done:
        console.step(target.name, f"pre-build: {len(commands)} command(s) unchanged since "
                                  "they last succeeded; skipped")
        return key
    env = proc.child_env(variables)
    for command in commands:
        console.step(target.name, f"pre-build: {command}")
        res = proc.run(["sh", "-c", command], bound="pre-build", env=env, cwd=project_root,
                       check=False, capture=False, what=f"pre-build command {command!r}")
        if not res.ok:
            raise StepFailed(
                f"{target.name}: pre-build command failed (exit {res.returncode}): {command}",
                f"fix it in {where or f'[tool.crossmatrix.target.{target.name}]'} "
                "pre-build; its output "
                "is above")
    return key
