"""What each step of one target's build recorded, and whether it is still current.

``<target dir>/crossmatrix/<name>/state.json`` holds one record per step::

    {"compile": {"inputs": "…", "outputs": "…", "data": {…}, "settings": "…"}, "strip": {…}, …}

A step's ``inputs`` digest is made from the previous step's ``outputs`` (plus its own
settings); a record is *current* when its inputs still equal what the previous
current record put out. So a step can be skipped when its inputs did not change,
and a later step never trusts a record made from an older build. ``settings`` is the
digest of the step's own settings alone: when only some binaries changed, verify and run
take the others' results from the last record made under the same settings
(:meth:`Build.earlier`), each matched by its sha256.

The steps read and write their ``data`` as the typed records of
:mod:`tooling.records.steps` (:meth:`Build.save`, :meth:`Build.load`,
:meth:`Build.reusable`); one that does not read as its record is never trusted either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tooling.errors import BadRecord, StepFailed
from tooling.matrix import workspace
from tooling.matrix.config import Project
from tooling.matrix.targets import Target
from tooling.platforms import platform_of
from tooling.pymod import modules
from tooling.records.steps import StepRecord
from tooling.util import atomic
from tooling.util.digests import digest

STEPS = ("compile", "strip", "verify", "run", "package")
#: bumped when what verify checks changes, so a record made under the old rules is redone
#: (2: "stripped" ignores allocated .debug_gdb_scripts; Windows DLLs from MinGW's libraries;
#: 3: PE long section names looked up, a string table alone is stripped; ELF ABI of mips/ppc64;
#: 4: the BSDs' brand and loader, ARM64 PE's DLLs, wasm modules, bare metal's entry point;
#: 5: the DLLs windows-sys declares are system DLLs)
VERIFY_RULES = 5

S = TypeVar("S", bound=StepRecord)


@dataclass(frozen=True)
class Build:
    project: Project
    target: Target

    @property
    def workspace(self) -> workspace.Workspace:
        return workspace.metadata(self.project.workspace)

    @property
    def out(self) -> Path:
        """This target's (and profile's) records and stripped binaries."""
        profile = "" if self.project.profile == "release" else f"-{self.project.profile}"
        return self.workspace.target_dir / "crossmatrix" / f"{self.target.name}{profile}"

    @property
    def stage(self) -> Path:
        return self.out / "bin"

    @property
    def dist(self) -> Path:
        return self.project.dist / self.target.name

    def state(self) -> dict[str, Any]:
        path = self.out / "state.json"
        if not path.is_file():
            return {}
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except json.JSONDecodeError:
            return {}  # a damaged record is never trusted; the steps redo their work
        return data

    def record(self, step: str, data: Any, *, inputs: str, outputs: str) -> None:
        state = self.state()
        state[step] = {"inputs": inputs, "outputs": outputs, "data": data,
                       "settings": digest(self.settings_for(step))}
        self.out.mkdir(parents=True, exist_ok=True)
        atomic.write_json(self.out / "state.json", state)

    def current(self, step: str, state: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """``step``'s record if it was made from the current records of the steps before."""
        state = self.state() if state is None else state
        entry = state.get(step)
        if not isinstance(entry, dict) or "outputs" not in entry:
            return None
        if step in STEPS and STEPS.index(step) > 0:
            before = self.current(STEPS[STEPS.index(step) - 1], state)
            if before is None or entry.get("inputs") != self.inputs_for(step, before):
                return None
        return entry

    def inputs_for(self, step: str, before: dict[str, Any]) -> str:
        """What ``step`` consumes: the previous step's outputs and its own settings."""
        return digest(before["outputs"], self.settings_for(step))

    def settings_for(self, step: str) -> dict[str, Any]:
        """``step``'s own settings: what, beside the binaries, decides its result."""
        settings: dict[str, Any] = {}
        if step == "verify":
            settings = {"glibc": self.target.glibc, "rules": VERIFY_RULES,
                        "allowed": sorted(self.project.allowed_libraries(self.target)),
                        "python_modules": list(self.workspace.python_modules)}
            settings.update(platform_of(self.target).build_settings(self.target))
        elif step == "run":
            # where it runs is an input: a wine32 installed since, say, makes it run now,
            # and a Python root made by setup since makes a foreign module import
            python = modules.importer(self.target, self.project.cache_dir)
            settings = {"args": self.project.smoke_args,
                        "expect": self.project.smoke_expect_triple,
                        "runner": platform_of(self.target).describe_runner(self.target),
                        "cannot": platform_of(self.target).cannot_run(self.target),
                        "python": python[1] if python and self.workspace.python_modules
                        else None}
        elif step == "package":
            settings = {"name": self.project.name, "dist": str(self.dist)}
        return settings

    def require(self, step: str, needed: str) -> dict[str, Any]:
        """The data of ``step``'s current record, or a one-line error saying what to run."""
        entry = self.current(step)
        if entry is None:
            raise StepFailed(f"{self.target.name}: no current result of `{step}`",
                             f"run `inv {step} --target {self.target.name}` before `inv {needed}`")
        data: dict[str, Any] = entry["data"]
        return data

    def save(self, record: StepRecord, *, inputs: str) -> None:
        """Record a step's typed result, made from ``inputs``."""
        self.record(record.STEP, record.to_json(), inputs=inputs, outputs=record.outputs())

    def load(self, kind: type[S], needed: str) -> S:
        """``kind``'s current record, typed, or a one-line error saying what to run."""
        data = self.require(kind.STEP, needed)
        try:
            return self._read(kind, data)
        except BadRecord as bad:
            raise StepFailed(f"{self.target.name}: the record of `{kind.STEP}` is not one "
                             f"this crossmatrix reads ({bad.message})",
                             f"run `inv {kind.STEP} --target {self.target.name}` again"
                             ) from None

    def reusable(self, kind: type[S]) -> S | None:
        """``kind``'s record when its step already ran on exactly the inputs it would get
        now and the record reads (None: the step has to run)."""
        if not self.unchanged(kind.STEP):
            return None
        try:
            return self._read(kind, self.state()[kind.STEP]["data"])
        except BadRecord:
            return None

    def earlier(self, kind: type[S]) -> S | None:
        """``kind``'s last record even when it is no longer current (other binaries came
        since), if it was made under the settings the step has now and reads: a binary it
        holds with the same sha256 need not be checked or run again. None: no such record."""
        entry = self.state().get(kind.STEP)
        if not isinstance(entry, dict) or entry.get("settings") != digest(
                self.settings_for(kind.STEP)):
            return None
        try:
            return self._read(kind, entry.get("data"))
        except BadRecord:
            return None

    def _read(self, kind: type[S], data: Any) -> S:
        return kind.from_json(data, source=f"{self.out / 'state.json'} ({kind.STEP})")

    def unchanged(self, step: str) -> bool:
        """True when ``step`` already ran on exactly the inputs it would get now."""
        if STEPS.index(step) == 0:
            return False
        state = self.state()
        before = self.current(STEPS[STEPS.index(step) - 1], state)
        entry = state.get(step)
        return (before is not None and isinstance(entry, dict)
                and entry.get("inputs") == self.inputs_for(step, before))

    def next_inputs(self, step: str, needed: str) -> str:
        before = self.current(STEPS[STEPS.index(step) - 1])
        if before is None:
            previous = STEPS[STEPS.index(step) - 1]
            raise StepFailed(f"{self.target.name}: no current result of `{previous}`",
                             f"run `inv {previous} --target {self.target.name}` before "
                             f"`inv {needed}`")
        return self.inputs_for(step, before)
