"""What crossmatrix knows about crates that compile or link C code (``inv doctor`` reads
this table; the programs their build scripts run on the build machine are
:mod:`tooling.compile.hosttools`).

Each entry says what the build script really does, read from the crates' ``build.rs``:
``system`` crates link the system's library and fail without it unless a feature builds
their bundled copy; ``fallback`` crates link the system's library when they find it and
compile their bundled copy otherwise; ``builds`` crates always compile their own C code
(unless a feature asks for the system's). Debian's ``-dev`` packages are glibc builds, so
they serve Linux gnu targets only (installed as ``<package>:<deb-arch>``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from tooling.util import versions

#: system: links the system's library (fails without it unless vendored)
#: fallback: the system's library when found, else compiles its bundled copy
#: builds: compiles its own C code with the target's C toolchain
#: source: a Rust crate holding C sources another crate's build script compiles
#: python: pyo3-ffi (needs a Python interpreter, its version, or nothing: see doctor)
Mode = Literal["system", "fallback", "builds", "source", "python"]


@dataclass(frozen=True, kw_only=True)
class FeatureNeed:
    """Host tools a feature of the crate adds (``bindgen`` → libclang)."""

    feature: str
    tools: tuple[str, ...]
    unless: str | None = None  #: a feature that cancels it (libz-sys' stock-zlib)


@dataclass(frozen=True, kw_only=True)
class NativeCrate:
    crate: str
    library: str  #: the C library, as messages name it
    mode: Mode = "system"
    links: str | None = None  #: Cargo.toml's ``links``; ending in "_": a versioned prefix
    pc: str | None = None  #: pkg-config module (<pc>.pc)
    deb: str | None = None  #: Debian's -dev package (multiarch: <deb>:<arch>)
    #: features of this crate that compile its bundled copy
    vendor_features: tuple[str, ...] = ()
    #: features that do so on one OS only: (target OS, features)
    os_vendor_features: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: (crate, feature) pairs that turn vendoring on, from the crates users depend on
    #: down to the -sys crate itself: the fix names the first one on the dependency path
    carriers: tuple[tuple[str, str], ...] = ()
    vendor_source: str | None = None  #: the crate with the bundled sources (its tools count)
    build_tools: tuple[str, ...] = ()  #: host programs its C build needs besides a compiler
    system_features: tuple[str, ...] = ()  #: features making a ``builds`` crate use the system's
    feature_needs: tuple[FeatureNeed, ...] = ()
    dir_env: tuple[str, ...] = ()  #: variables naming a prebuilt copy for the target
    #: (crate on the dependency path, what to use instead); "*" matches any path
    alternatives: tuple[tuple[str, str], ...] = ()
    fallback: str = ""  #: what the build script does when the system library is missing

    def vendor_features_on(self, os: str) -> tuple[str, ...]:
        """The features that vendor it on targets of ``os`` only (``bundled-windows``)."""
        return dict(self.os_vendor_features).get(os, ())


_RUSTLS = ("*", "switch to rustls (no C library)")
_RUSTLS_REQWEST = ("reqwest", 'switch reqwest to rustls: default-features = false, '
                              'features = ["rustls-tls"]')

CRATES: tuple[NativeCrate, ...] = (
    NativeCrate(
        crate="openssl-sys", library="OpenSSL", links="openssl", pc="openssl",
        deb="libssl-dev", vendor_features=("vendored",),
        carriers=(("reqwest", "native-tls-vendored"), ("native-tls", "vendored"),
                  ("git2", "vendored-openssl"), ("ssh2", "vendored-openssl"),
                  ("curl", "static-ssl"), ("libgit2-sys", "vendored-openssl"),
                  ("openssl", "vendored"), ("openssl-sys", "vendored")),
        vendor_source="openssl-src", dir_env=("OPENSSL_DIR",),
        alternatives=(_RUSTLS_REQWEST, _RUSTLS),
        fallback="fails: \"Could not find directory of OpenSSL installation\"",
    ),
    NativeCrate(
        crate="openssl-src", library="OpenSSL's sources", mode="source",
        build_tools=("perl", "make"),
        fallback="none: its Configure (perl) and make build OpenSSL for openssl-sys",
    ),
    NativeCrate(
        # build.rs of libz-sys 1.1: pkg-config only supplies include paths; without
        # `static` it links the system's libz when the target's C compiler can link
        # `-lz`, and compiles its bundled zlib otherwise (always on windows-gnu).
        crate="libz-sys", library="zlib", mode="fallback", links="z", pc="zlib",
        deb="zlib1g-dev", vendor_features=("static",), carriers=(("libz-sys", "static"),),
        feature_needs=(FeatureNeed(feature="zlib-ng", tools=("cmake",), unless="stock-zlib"),),
        fallback="compiles its bundled zlib when the target's C compiler cannot link -lz",
    ),
    NativeCrate(
        crate="libsqlite3-sys", library="SQLite", links="sqlite3", pc="sqlite3",
        deb="libsqlite3-dev", vendor_features=("bundled", "bundled-sqlcipher"),
        os_vendor_features=(("windows", ("bundled-windows",)),),
        carriers=(("rusqlite", "bundled"), ("libsqlite3-sys", "bundled")),
        feature_needs=(FeatureNeed(feature="buildtime_bindgen", tools=("libclang",)),),
        dir_env=("SQLITE3_LIB_DIR",),
        fallback="links -lsqlite3 anyway: the link fails without the library",
    ),
    NativeCrate(
        crate="curl-sys", library="libcurl", mode="fallback", links="curl", pc="libcurl",
        deb="libcurl4-openssl-dev", vendor_features=("static-curl",),
        carriers=(("curl", "static-curl"), ("curl-sys", "static-curl")),
        fallback="compiles its bundled curl when pkg-config does not find libcurl",
    ),
    NativeCrate(
        crate="libgit2-sys", library="libgit2", mode="fallback", links="git2", pc="libgit2",
        deb="libgit2-dev", vendor_features=("vendored",),
        carriers=(("git2", "vendored-libgit2"), ("libgit2-sys", "vendored")),
        fallback="compiles its bundled libgit2 when pkg-config does not find a fitting one",
    ),
    NativeCrate(
        crate="libssh2-sys", library="libssh2", mode="builds", links="ssh2", pc="libssh2",
        deb="libssh2-1-dev",
        fallback="always compiles its bundled libssh2 (the system's only with "
                 "LIBSSH2_SYS_USE_PKG_CONFIG)",
    ),
    NativeCrate(
        crate="lzma-sys", library="liblzma", mode="fallback", links="lzma", pc="liblzma",
        deb="liblzma-dev", vendor_features=("static",),
        carriers=(("xz2", "static"), ("lzma-sys", "static")),
        fallback="compiles its bundled xz when pkg-config does not find liblzma",
    ),
    NativeCrate(
        crate="zstd-sys", library="zstd", mode="builds", links="zstd", pc="libzstd",
        deb="libzstd-dev", system_features=("pkg-config",),
        feature_needs=(FeatureNeed(feature="bindgen", tools=("libclang",)),),
        fallback="compiles its bundled zstd unless the `pkg-config` feature is on",
    ),
    NativeCrate(
        crate="bzip2-sys", library="libbz2", mode="fallback", links="bzip2", pc="bzip2",
        deb="libbz2-dev", vendor_features=("static",),
        carriers=(("bzip2", "static"), ("bzip2-sys", "static")),
        fallback="compiles its bundled bzip2 when pkg-config does not find it",
    ),
    NativeCrate(
        crate="libudev-sys", library="libudev", links="udev", pc="libudev", deb="libudev-dev",
        fallback="fails: there is no bundled copy",
    ),
    NativeCrate(
        crate="libdbus-sys", library="libdbus", links="dbus", pc="dbus-1", deb="libdbus-1-dev",
        vendor_features=("vendored",),
        carriers=(("dbus", "vendored"), ("libdbus-sys", "vendored")),
        fallback="fails without dbus-1.pc",
    ),
    NativeCrate(
        crate="alsa-sys", library="ALSA (libasound)", links="alsa", pc="alsa",
        deb="libasound2-dev", fallback="fails: there is no bundled copy",
    ),
    NativeCrate(
        crate="pq-sys", library="libpq", links="pq", pc="libpq", deb="libpq-dev",
        vendor_features=("bundled",), carriers=(("pq-sys", "bundled"),),
        dir_env=("PQ_LIB_DIR",),
        fallback="links -lpq anyway: the link fails without the library",
    ),
    NativeCrate(
        crate="libusb1-sys", library="libusb", mode="fallback", links="usb-1.0",
        pc="libusb-1.0", deb="libusb-1.0-0-dev", vendor_features=("vendored",),
        carriers=(("rusb", "vendored"), ("libusb1-sys", "vendored")),
        fallback="compiles its bundled libusb when pkg-config does not find it",
    ),
    NativeCrate(
        crate="ring", library="ring's C and assembly", mode="builds", links="ring_core_",
        fallback="always compiles its own code (pregenerated assembly, no perl needed)",
    ),
    NativeCrate(
        # aws-lc-sys < 0.36 builds with cc only on its main targets, with CMake elsewhere,
        # and runs bindgen for targets without pregenerated bindings; 0.36 needs only the
        # C compiler, and NASM for Windows x86 (the tools: hosttools.USES)
        crate="aws-lc-sys", library="AWS-LC", mode="builds", links="aws_lc_",
        alternatives=(("*", 'use rustls with the ring provider (rustls: default-features = '
                            'false, features = ["ring", "std", "tls12"]), or `cargo update -p '
                            'aws-lc-sys` to 0.36 or newer (only a C compiler needed)'),),
        fallback="compiles AWS-LC (older versions with CMake off the main targets)",
    ),
    NativeCrate(
        crate="tikv-jemalloc-sys", library="jemalloc", mode="builds", links="jemalloc",
        build_tools=("make",), fallback="always compiles jemalloc (configure and make)",
    ),
    NativeCrate(
        crate="pyo3-ffi", library="libpython", mode="python", links="python",
        pc="python3-embed", deb="libpython3-dev",
        fallback="needs a Python interpreter unless the abi3 features are on",
    ),
)


#: build-dependencies that compile C (or C++, or assembly) for the crate
C_BUILD_DEPS = ("cc", "cmake", "autotools", "nasm-rs")


@functools.cache
def _by_crate() -> dict[str, NativeCrate]:
    return {entry.crate: entry for entry in CRATES}


def by_crate(name: str) -> NativeCrate | None:
    return _by_crate().get(name)


def by_links(links: str) -> NativeCrate | None:
    """The entry whose ``links`` is this value (versioned ones by prefix: ring_core_0_17_8_)."""
    for entry in CRATES:
        if entry.links and (links == entry.links or (
                entry.links.endswith("_") and links.startswith(entry.links))):
            return entry
    return None


def by_pc_name(name: str) -> NativeCrate | None:
    name = name.removesuffix(".pc")
    return next((entry for entry in CRATES if entry.pc == name), None)


def deb_package(pc_name: str, deb_arch: str) -> str | None:
    """Debian's package with ``<pc_name>.pc`` for that architecture: ``libssl-dev:arm64``."""
    entry = by_pc_name(pc_name)
    if entry is None or entry.deb is None:
        return None
    return f"{entry.deb}:{deb_arch}"


def pre_build_line(entry: NativeCrate) -> str:
    """A ``pre-build`` command installing the entry's -dev package for the target's
    architecture (``$DEB_ARCH`` is set when pre-build commands run)."""
    if entry.deb is None:
        raise ValueError(f"{entry.crate} has no Debian package")
    return f"apt-get install -y {entry.deb}:$DEB_ARCH"


def older_than(version: str, than: tuple[int, ...]) -> bool:
    return versions.parse(version) < than
