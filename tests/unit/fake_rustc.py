"""A rustc that answers ``-V``, ``--print target-list``, ``--print cfg --target T`` (and, for
the triples given a spec, ``--print target-spec-json``) from a JSON file beside it, and notes
every call in a log: for unit tests of where targets' facts come from, without a real
compiler. Its answers have the shape of real rustc's."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from tooling.matrix import rustc_data

SCRIPT = """#!{python}
import json, sys
from pathlib import Path
here = Path(__file__)
data = json.loads(here.with_suffix(".json").read_text())
with open(here.with_suffix(".log"), "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
args = sys.argv[1:]
if args == ["-V"]:
    print(data["version"])
elif args == ["--print", "target-list"]:
    print("\\n".join(sorted(data["targets"])))
elif args[:4] == ["-Zunstable-options", "--print", "target-spec-json", "--target"] \\
        and args[4] in data.get("specs", {{}}):
    print(json.dumps(data["specs"][args[4]], indent=2))
elif args[:3] == ["--print", "cfg", "--target"] and args[3] in data["targets"] \\
        and args[3] not in data["refuse"] and isinstance(data["targets"][args[3]], str):
    print(data["targets"][args[3]], end="")  # recorded text of a real rustc
elif args[:3] == ["--print", "cfg", "--target"] and args[3] in data["targets"] \\
        and args[3] not in data["refuse"]:
    cfg = data["targets"][args[3]]
    if isinstance(cfg, str):  # a real rustc's output, recorded: said verbatim
        sys.stdout.write(cfg)
        sys.exit(0)
    for key, value in sorted(cfg.items()):
        if key == "target_feature":
            for feature in value:
                print(f'target_feature="{{feature}}"')
        else:
            print(f'{{key}}="{{value}}"')
    print("unix")
elif args[:5] == ["-Z", "unstable-options", "--print", "target-spec-json", "--target"] \\
        and args[5] in data.get("specs", {{}}):
    print(json.dumps(data["specs"][args[5]]))
else:
    print(f"error: unknown target triple '{{args[-1]}}'", file=sys.stderr)
    sys.exit(1)
"""


def cfg(arch: str, os: str = "linux", env: str = "gnu", abi: str = "", endian: str = "little",
        width: int = 64, features: tuple[str, ...] = ()) -> dict[str, object]:
    """The keys of ``rustc --print cfg`` crossmatrix reads."""
    return {"target_arch": arch, "target_os": os, "target_env": env, "target_abi": abi,
            "target_endian": endian, "target_pointer_width": str(width),
            "target_feature": list(features)}


class FakeRustc:
    def __init__(self, folder: Path, kind: str, version: str,
                 targets: Mapping[str, Mapping[str, object] | str], refuse: tuple[str, ...] = (),
                 specs: Mapping[str, Mapping[str, object]] | None = None) -> None:
        """``targets``: each triple's cfg keys, or the recorded text of a real rustc's
        ``--print cfg``; ``refuse``: triples its list names and its ``--print cfg`` then
        fails on; ``specs``: ``--print target-spec-json`` answers."""
        folder.mkdir(parents=True, exist_ok=True)
        self.kind = kind
        self.path = folder / "rustc"
        self.path.write_text(SCRIPT.format(python=sys.executable))
        self.path.chmod(0o755)
        self.path.with_suffix(".json").write_text(
            json.dumps({"version": version, "targets": dict(targets), "refuse": list(refuse),
                        "specs": dict(specs or {})}))

    @property
    def calls(self) -> list[str]:
        log = self.path.with_suffix(".log")
        return log.read_text().splitlines() if log.exists() else []

    def change(self) -> None:
        """A new rustc in the same place (rustup update): its binary's stat changes."""
        self.path.write_text(self.path.read_text() + "\n")
        stat = self.path.stat()
        os.utime(self.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))


def install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *fakes: FakeRustc) -> None:
    """These fakes are the rustcs crossmatrix asks, their answers remembered under tmp_path."""
    monkeypatch.setenv("CROSSMATRIX_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(rustc_data, "find_rustcs",
                        lambda: tuple(rustc_data.Rustc(f.kind, f.path) for f in fakes))
    rustc_data.forget()
