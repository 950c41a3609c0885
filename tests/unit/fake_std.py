"""A Debian compiler as a folder with std's source beside it, the answers the std cache key
asks the tools for, and a cargo that "builds" std by writing rlibs: for unit tests of the
build-std cache without running rustc or cargo."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tooling.std import sysroot
from tooling.std.compiler import Compiler
from tooling.util import proc
from tooling.util.proc import Result

FACTS = {"cargo -vV": "cargo 1.96.0 (30a34c682 2026-05-25)\nrelease: 1.96.0\n",
         "source version": "rust-web-src 1.96.0+dfsg1-1~deb12u2; Cargo.lock sha256 00",
         "target spec sha256": "11"}
#: what the fake cargo leaves in target/<triple>/release/deps
RLIBS = ("libcore-1.rlib", "libstd-1.rlib", "libtest-1.rlib", "libcrossmatrix_sysroot-1.rlib")


def compiler(root: Path, **changes: Any) -> Compiler:
    library = root / "lib" / "rustlib" / "src" / "rust" / "library"
    (library / "std").mkdir(parents=True, exist_ok=True)
    (library / "std" / "Cargo.toml").write_text("[package]\n")
    (library / "vendor").mkdir(exist_ok=True)
    made = Compiler(kind="debian", rustc=root / "bin" / "rustc", cargo=root / "bin" / "cargo",
                    release="1.96.0", commit_hash="ac68faa20c58cbccd01ee7208bf3b6e93a7d7f96",
                    host="x86_64-unknown-linux-gnu", sysroot=root,
                    verbose_version="rustc 1.96.0 (ac68faa20 2026-05-25)\n"
                                    "commit-hash: ac68faa20c58cbccd01ee7208bf3b6e93a7d7f96\n"
                                    "release: 1.96.0\nLLVM version: 22.1.8\n")
    return replace(made, **changes)


def answer_probes(monkeypatch: pytest.MonkeyPatch, **changes: str) -> None:
    """The tools' answers for the key (cargo -vV, the source's version, the target spec)."""
    facts = {**FACTS, **changes}
    monkeypatch.setattr(sysroot, "toolchain_facts", lambda compiler, triple, library: facts)


class FakeCargo:
    """Stands in for ``proc.stream``: notes each std build and leaves its rlibs."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], dict[str, str], Path]] = []

    def __call__(self, argv: list[str], *, env: dict[str, str], cwd: Path,
                 **_: object) -> Result:
        self.calls.append((list(argv), dict(env), Path(cwd)))
        triple = argv[argv.index("--target") + 1]
        deps = Path(env["CARGO_TARGET_DIR"]) / triple / "release" / "deps"
        deps.mkdir(parents=True)
        for name in RLIBS:
            (deps / name).write_bytes(name.encode() * 64)
        return Result(tuple(argv), 0, "", "")

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeCargo:
        monkeypatch.setattr(proc, "stream", self)
        return self
