"""The std cache: std built once from source per recipe, and checked on every use.

An entry is a folder ``<cache>/sysroots/<triple>-<release>-<key>/`` laid out like a
real sysroot (``lib/rustlib/<triple>/lib/*.rlib``) so any later build of any crate or
project uses it with ``--sysroot``.

The key covers everything that changes the std built (:func:`key_inputs`): the whole
``rustc -vV`` (a compiler without a commit hash is refused), cargo's ``-vV``, the
source's package version and ``Cargo.lock``, the target's spec, and the recipe: the
manifest (profile and panic strategy), the cargo config, cargo's arguments and the
variables crossmatrix sets. The build sees nothing else: only :data:`PASSED_ENV` of
this process's environment, a CARGO_HOME of its own, and a work folder with no cargo
config in or above it (outside the cache when the cache is inside a project).

The entry is staged apart and renamed into place whole, with ``crossmatrix-sysroot.json``
inside: the key, its inputs, and the size and sha256 of every file. An entry is used
only when its files are exactly those (:func:`problem`); otherwise it is built again,
said in one line. A file lock per entry makes a second process wait for the first
one's build instead of building it too.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tooling.errors import StepFailed
from tooling.std.compiler import cargo_version
from tooling.util import atomic, console, memo, proc

if TYPE_CHECKING:
    from tooling.matrix.targets import Target
    from tooling.std.compiler import Compiler

MARKER = "crossmatrix-sysroot.json"
#: What ``-Zbuild-std`` builds: std plus both panic runtimes, so one entry
#: serves panic=unwind and panic=abort profiles, and libtest (with its getopts,
#: vendored in rust-web-src), which ``cargo test`` (``inv test``) links into test binaries.
BUILD_STD = "std,panic_abort,test"
#: What it builds for a target without std (bare metal, rustc's target-spec "std": false):
#: core and alloc, with compiler_builtins' memcpy & co. (no C library brings them there)
BUILD_CORE = "core,alloc"
CORE_FEATURES = ("compiler-builtins-mem",)
#: Bump when the way entries are built or sealed changes, so old entries are not reused.
LAYOUT_VERSION = 3
#: Like the std rustup ships: with LLVM bitcode beside the object code, so a profile
#: with `lto = true` can use the cached std too.
STD_RUSTFLAGS = ("-Cembed-bitcode=yes",)
#: The only variables of this process the std build sees (none of them changes the
#: rlibs: PATH finds the host's `cc` for build scripts that run on the host). Every
#: CARGO_*, RUST*, CC*, CFLAGS*, MACOSX_DEPLOYMENT_TARGET… is dropped; what the build
#: needs crossmatrix sets itself (:func:`_build_vars`), and that is in the key.
PASSED_ENV = ("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TERM")
#: Where std is built when both the cache and the temporary folder are inside projects.
LAST_RESORT = Path("/var/tmp")
#: Where dpkg notes installs: the source's package version is asked again when it changes.
DPKG_STATUS = Path("/var/lib/dpkg/status")

_MANIFEST = """\
[package]
name = "crossmatrix-sysroot"
version = "0.0.0"
edition = "2021"

[lib]
path = "lib.rs"

[profile.release]
opt-level = 3
debug = false
debug-assertions = false
overflow-checks = false
lto = false
panic = "{panic}"
"""


def source_dir(compiler: Compiler) -> Path | None:
    """std's source (Debian's rust-web-src) for this compiler, if installed with the
    crates std depends on vendored beside it (so std builds offline)."""
    library = compiler.sysroot / "lib" / "rustlib" / "src" / "rust" / "library"
    ok = (library / "std" / "Cargo.toml").is_file() and (library / "vendor").is_dir()
    return library if ok else None


# --- the key -------------------------------------------------------------------------------

def source_version(library: Path) -> str:
    """The source's Debian package and version (when dpkg owns it) and its Cargo.lock's
    sha256; remembered while those files and dpkg's status are unchanged."""
    def probe() -> tuple[str, list[Path]]:
        owner = ""
        if proc.which("dpkg-query"):
            found = proc.run(["dpkg-query", "-S", str((library / "std" / "Cargo.toml").resolve())],
                             bound="tool", check=False, echo=False)
            owner = found.stdout.split(": ", 1)[0].strip() if found.ok else ""
        package = "not from a Debian package"
        if owner:
            res = proc.run(["dpkg-query", "-W", "-f=${Version}", owner], bound="tool",
                           check=False, echo=False)
            package = f"{owner} {res.stdout.strip()}" if res.ok else owner
        lock = library / "Cargo.lock"
        locked = atomic.sha256_file(lock) if lock.is_file() else "none"
        return f"{package}; Cargo.lock sha256 {locked}", []

    files = [library / "Cargo.lock", library / "std" / "Cargo.toml", DPKG_STATUS]
    value: str = memo.remember("std-source", [str(library)], files, probe)
    return value


def target_spec(compiler: Compiler, triple: str) -> str:
    """The sha256 of rustc's spec of ``triple`` (``--print target-spec-json``)."""
    def probe() -> tuple[str, list[Path]]:
        res = proc.run([str(compiler.rustc), "--print", "target-spec-json", "-Zunstable-options",
                        "--target", triple], bound="tool",
                       env=_scrubbed({"RUSTC_BOOTSTRAP": "1"}),
                       echo=False, what=f"{compiler.rustc} --print target-spec-json {triple}",
                       hint=f"{compiler.version_line} does not know {triple}")
        return hashlib.sha256(res.stdout.encode()).hexdigest(), []

    value: str = memo.remember("target-spec", [str(compiler.rustc), triple], [compiler.rustc],
                               probe)
    return value


def toolchain_facts(compiler: Compiler, triple: str, library: Path) -> dict[str, str]:
    """What the key needs the tools to say (each remembered while its files are unchanged)."""
    return {"cargo -vV": cargo_version(compiler), "source version": source_version(library),
            "target spec sha256": target_spec(compiler, triple)}


def _manifest(panic: str) -> str:
    return _MANIFEST.format(panic=panic)


def _cargo_config(library: Path) -> str:
    """The build's own CARGO_HOME config: std's dependencies from the source package."""
    return ('[source.crates-io]\nreplace-with = "rust-std-vendor"\n\n'
            f'[source.rust-std-vendor]\ndirectory = "{library / "vendor"}"\n')


def crates_for(target: Target) -> str:
    """``-Zbuild-std``'s crates for ``target``: core and alloc where it has no std."""
    return BUILD_CORE if target.freestanding else BUILD_STD


def _cargo_args(triple: str, features: tuple[str, ...], crates: str = BUILD_STD) -> list[str]:
    args = ["build", "--release", f"-Zbuild-std={crates}", "--target", triple, "--offline"]
    if crates == BUILD_CORE:
        features = tuple(dict.fromkeys((*features, *CORE_FEATURES)))
    if features:
        args.append(f"-Zbuild-std-features={','.join(sorted(features))}")
    return args


def _build_vars(compiler: Compiler, triple: str, std_rustflags: tuple[str, ...]
                ) -> dict[str, str]:
    """The variables crossmatrix gives the std build (besides its folders)."""
    env_key = triple.upper().replace("-", "_").replace(".", "_")
    return {**compiler.env(), "RUSTC_BOOTSTRAP": "1",
            f"CARGO_TARGET_{env_key}_RUSTFLAGS": " ".join([*STD_RUSTFLAGS, *std_rustflags])}


def _scrubbed(add: dict[str, str]) -> dict[str, str]:
    """:data:`PASSED_ENV` of this process's environment, plus ``add``: nothing else."""
    return {**{k: os.environ[k] for k in PASSED_ENV if k in os.environ}, **add}


def key_inputs(compiler: Compiler, triple: str, std_rustflags: tuple[str, ...] = (),
               features: tuple[str, ...] = (), panic: str = "unwind",
               crates: str = BUILD_STD) -> dict[str, Any]:
    """Everything that changes the std an entry holds, as written into its marker."""
    if compiler.commit_hash in ("", "unknown"):
        raise StepFailed(
            f"{compiler.rustc} reports no commit hash ({compiler.version_line}): std built "
            "with it could not be told apart from another build's in the cache",
            "build std with Debian's rustc-web (`inv setup`), or use a rustup toolchain")
    library = source_dir(compiler)
    if library is None:
        raise StepFailed(f"no std source for {compiler.version_line}",
                         "install Debian's rust-web-src (`inv setup`)")
    return {
        "layout": LAYOUT_VERSION,
        "rustc": str(compiler.rustc),
        "rustc -vV": compiler.verbose_version,
        "commit-hash": compiler.commit_hash,
        "cargo": str(compiler.cargo),
        "source": str(library),
        **toolchain_facts(compiler, triple, library),
        "triple": triple,
        "cargo args": _cargo_args(triple, features, crates),
        "env": _build_vars(compiler, triple, std_rustflags),
        "manifest": _manifest(panic),
        "cargo config": _cargo_config(library),
    }


def _digest(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def key(compiler: Compiler, triple: str, std_rustflags: tuple[str, ...] = (),
        features: tuple[str, ...] = (), panic: str = "unwind", crates: str = BUILD_STD) -> str:
    return _digest(key_inputs(compiler, triple, std_rustflags, features, panic, crates))


def entry_dir(cache_dir: Path, compiler: Compiler, triple: str,
              std_rustflags: tuple[str, ...] = (), features: tuple[str, ...] = (),
              panic: str = "unwind", crates: str = BUILD_STD) -> Path:
    digest = key(compiler, triple, std_rustflags, features, panic, crates)
    return cache_dir / "sysroots" / f"{triple}-{compiler.release}-{digest}"


# --- the check -----------------------------------------------------------------------------

def _files(folder: Path) -> dict[str, Path]:
    """Everything in ``folder`` but its marker and its folders, by path relative to it (a
    symlink or other non-regular file too: :func:`problem` refuses those)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path == folder / MARKER or (path.is_dir() and not path.is_symlink()):
            continue
        found[path.relative_to(folder).as_posix()] = path
    return found


def seal(folder: Path, inputs: dict[str, Any], **facts: Any) -> None:
    """Write ``folder``'s marker: the key of ``inputs``, the inputs, and every file's size
    and sha256 (the check before each use)."""
    files = {rel: {"size": path.stat().st_size, "sha256": atomic.sha256_file(path)}
             for rel, path in _files(folder).items()}
    atomic.write_json(folder / MARKER, {**facts, "layout": LAYOUT_VERSION,
                                        "key": _digest(inputs), "inputs": inputs,
                                        "files": files})


def _stamp_path(entry: Path) -> Path:
    """Where a successful hash check of ``entry`` is remembered (outside ``sysroots/``, so
    never carried along with the entry by a CI cache)."""
    return entry.parent.parent / "verified" / f"{entry.name}.json"


def _stats(entry: Path, files: dict[str, Path]) -> dict[str, list[int]]:
    """Identity of each file as the kernel keeps it: no tool can set a ctime back, so any
    write to a file after it was hashed shows here."""
    out = {}
    for rel, path in {MARKER: entry / MARKER, **files}.items():
        st = path.lstat()
        out[rel] = [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
    return out


def problem(entry: Path, *, thorough: bool = True) -> str | None:
    """Why ``entry`` cannot be used as it is, or None when it can: it has a marker of this
    layout, for the key its name ends with, listing exactly the files there with their
    sizes and (``thorough``) sha256. A hash check is remembered while every file keeps the
    inode, size, mtime and ctime it had."""
    try:
        marker = json.loads((entry / MARKER).read_text())
    except FileNotFoundError:
        return "it is not built" if not entry.exists() else "it has no marker"
    except (OSError, ValueError):
        return "its marker cannot be read"
    if (not isinstance(marker, dict) or marker.get("layout") != LAYOUT_VERSION
            or not isinstance(marker.get("files"), dict)):
        return "its marker is not one this crossmatrix writes"
    if not entry.name.endswith(f"-{marker.get('key')}"):
        return f"its marker is for key {marker.get('key')}, not the one in its name"
    listed: dict[str, Any] = marker["files"]
    present = _files(entry)
    for rel, path in present.items():
        if rel not in listed:
            return f"{rel} is not in its marker"
        if path.is_symlink() or not path.is_file():
            return f"{rel} is not a regular file"
        if not isinstance(listed[rel], dict) or path.stat().st_size != listed[rel].get("size"):
            return f"{rel} is not the size its marker lists"
    missing = sorted(set(listed) - set(present))
    if missing:
        return f"{missing[0]} is missing"
    if not thorough:
        return None
    stamp = _stamp_path(entry)
    try:
        stats = _stats(entry, present)
    except OSError:
        return "its files changed while they were checked"
    try:
        if json.loads(stamp.read_text()) == stats:
            return None
    except (OSError, ValueError):
        pass
    for rel, path in present.items():
        if atomic.sha256_file(path) != listed[rel].get("sha256"):
            return f"{rel} is not the file its marker lists (sha256 differs)"
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_json(stamp, stats)
    except OSError:
        pass  # a read-only cache only costs the hashing next time
    return None


def is_ready(entry: Path) -> bool:
    """The entry is there whole (marker, files, sizes): what planning shows; the hashes
    are checked before use (:func:`build`)."""
    return problem(entry, thorough=False) is None


# --- the build -----------------------------------------------------------------------------

def build(compiler: Compiler, target: Target, entry: Path, cache_dir: Path,
          std_rustflags: tuple[str, ...] = (), features: tuple[str, ...] = (),
          panic: str = "unwind") -> None:
    """Make ``entry`` a checked std for ``target``: used as it is when its files are the
    ones its marker lists, else built (again, said in one line) — by one process; another
    asking for it meanwhile waits for that build and uses it."""
    if problem(entry) is None:
        return
    from filelock import FileLock, Timeout

    locks = cache_dir / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(locks / f"{entry.name}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        console.info(f"  another crossmatrix is building std for {target.triple} "
                     f"({entry.name}); waiting for it")
        lock.acquire()
    try:
        why = problem(entry)
        if why is None:
            console.info(f"  std for {target.triple} is already in the cache: {entry}")
            return
        if why != "it is not built":
            console.warn(f"std cache entry {entry} cannot be used ({why}); building it again")
        _build_locked(compiler, target, entry, cache_dir, std_rustflags, features, panic)
    finally:
        lock.release()


def _rtstartup(compiler: Compiler, target: Target, library: Path, lib: Path,
               env: dict[str, str]) -> list[str]:
    """rustc links ``rsbegin.o``/``rsend.o`` around every windows-gnu image (unwind frame
    registration); rustup ships them, a std built from source has to make them."""
    if not target.needs_rtstartup:
        return []
    made = []
    for stem in ("rsbegin", "rsend"):
        source = library / "rtstartup" / f"{stem}.rs"
        if not source.is_file():
            raise StepFailed(f"{source} is missing; windows-gnu needs it",
                             "reinstall Debian's rust-web-src")
        proc.run([str(compiler.rustc), "--target", target.triple, "--emit=obj", "-O",
                  "-C", "panic=abort", "--crate-name", stem, "-o", str(lib / f"{stem}.o"),
                  str(source)], bound="tool", env=env,
                 what=f"compiling {stem}.o for {target.triple}")
        made.append(f"{stem}.o")
    return made


def cargo_configs(folder: Path) -> list[Path]:
    """The cargo config files a cargo started in ``folder`` reads from it and every folder
    above it (cargo also reads its CARGO_HOME's, which the std build has to itself)."""
    return [config for parent in (folder, *folder.parents)
            for config in (parent / ".cargo" / "config.toml", parent / ".cargo" / "config")
            if config.is_file()]


def work_base(cache_dir: Path) -> Path:
    """Where the std build's work folder goes: the cache's ``tmp/`` unless a cargo config
    is in or above it (a cache inside a project: the project's [build], [profile], [env]
    and [target] would change std), else the system's temporary folder."""
    found: list[Path] = []
    for base in (cache_dir / "tmp", Path(tempfile.gettempdir()), LAST_RESORT):
        if base == cache_dir / "tmp":
            base.mkdir(parents=True, exist_ok=True)
        elif not base.is_dir():
            continue
        configs = cargo_configs(base.resolve())
        if not configs:
            return base.resolve()
        found += [c for c in configs if c not in found]
    raise StepFailed(
        f"std cannot be built clear of cargo configs: {', '.join(map(str, found))} would "
        "change it", "set TMPDIR to a folder with no .cargo/config.toml in or above it")


def _build_locked(compiler: Compiler, target: Target, entry: Path, cache_dir: Path,
                  std_rustflags: tuple[str, ...] = (), features: tuple[str, ...] = (),
                  panic: str = "unwind") -> None:
    crates = crates_for(target)
    inputs = key_inputs(compiler, target.triple, std_rustflags, features, panic, crates)
    if entry.name != f"{target.triple}-{compiler.release}-{_digest(inputs)}":
        raise StepFailed(f"{entry} is not the std cache entry of this build ({_digest(inputs)})")
    library = Path(inputs["source"])
    base = work_base(cache_dir)
    atomic.clean_dead_leftovers(base / entry.name)
    work = atomic.pid_sibling(base / entry.name, "new")
    staging = atomic.pid_sibling(cache_dir / "tmp" / f"{entry.name}-sysroot", "new")
    atomic.clean_dead_leftovers(staging.with_name(f"{entry.name}-sysroot"))
    for folder in (work, staging):
        shutil.rmtree(folder, ignore_errors=True)
    try:
        crate, home = work / "crate", work / "cargo-home"
        crate.mkdir(parents=True)
        home.mkdir()
        (crate / "Cargo.toml").write_text(inputs["manifest"])
        (crate / "lib.rs").write_text("#![no_std]\n")
        (home / "config.toml").write_text(inputs["cargo config"])
        env = _scrubbed({**inputs["env"], "CARGO_HOME": str(home),
                         "CARGO_TARGET_DIR": str(work / "target")})
        console.info(f"  building std for {target.triple} from {library} in {work} "
                     f"(once; cached in {entry.parent})")
        started = time.monotonic()
        proc.stream([str(compiler.cargo), *inputs["cargo args"]], bound="build", env=env, cwd=crate,
                    what=f"building std for {target.triple}",
                    hint="the std build failed; its own error is above")
        deps = work / "target" / target.triple / "release" / "deps"
        lib = staging / "lib" / "rustlib" / target.triple / "lib"
        lib.mkdir(parents=True)
        copied = 0
        for rlib in sorted(deps.glob("*.rlib")):
            if rlib.name.startswith("libcrossmatrix_sysroot-"):
                continue
            shutil.copy2(rlib, lib / rlib.name)
            copied += 1
        for crate_name in ("core", "alloc") if crates == BUILD_CORE else ("std", "test"):
            if not any(lib.glob(f"lib{crate_name}-*.rlib")):
                raise StepFailed(f"the std build for {target.triple} produced no "
                                 f"lib{crate_name} rlib")
        startup = _rtstartup(compiler, target, library, lib, env)
        seconds = time.monotonic() - started
        seal(staging, inputs, triple=target.triple, compiler=compiler.version_line,
             rlibs=copied, startup_objects=startup, build_seconds=round(seconds, 1))
        entry.parent.mkdir(parents=True, exist_ok=True)
        atomic.replace_dir(staging, entry)  # an old, unusable entry goes whole
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
    console.info(f"  std for {target.triple}: {copied} rlibs in {seconds:.0f}s → {entry}")
