"""How long each kind of child process may run before crossmatrix ends it (and everything it
started): the ``timeouts`` settings (``[tool.crossmatrix.timeouts]``, or the same table in
Cargo.toml's metadata), their defaults, and the ones in force.

Every :func:`tooling.util.proc.run` and :func:`~tooling.util.proc.stream` names the kind of
its command; the bound is the in-force value for that kind. The entry points (``crossmatrix``,
``inv``, the nox sessions) put the loaded project's values in force with :func:`use`; code
that loads no project runs with the defaults.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

from tooling.errors import ConfigError

Kind = Literal["build", "test", "run", "pre-build", "fetch", "tool"]
KINDS: tuple[Kind, ...] = get_args(Kind)

#: what each kind bounds (for the README and the error hints)
WHAT: dict[Kind, str] = {
    "build": "cargo build, and std built from source",
    "test": "cargo test: building the tests and running them (under qemu or wine)",
    "run": "one smoke run of a built binary, or one import of a built Python module",
    "pre-build": "each pre-build command",
    "fetch": "downloads and installs: apt-get, cargo fetch, rustup target add",
    "tool": "every other program: rustc -vV, rustup which, cargo metadata, strip, file …",
}


@dataclass(frozen=True)
class Timeouts:
    """Seconds per kind; the defaults are generous: a bound stops a hung child, it does not
    hurry a slow one."""

    build: float = 2 * 3600
    test: float = 2 * 3600
    run: float = 5 * 60
    pre_build: float = 3600
    fetch: float = 3600
    tool: float = 10 * 60
    #: the table they are set in, for the errors (not a bound: equal bounds are equal)
    table: str = field(default="[tool.crossmatrix.timeouts]", compare=False)

    def of(self, kind: Kind) -> float:
        seconds: float = getattr(self, kind.replace("-", "_"))
        return seconds

    def with_(self, values: dict[Kind, float]) -> Timeouts:
        bounds: dict[str, Any] = {kind.replace("-", "_"): v for kind, v in values.items()}
        return replace(self, **bounds)


_UNITS = {"s": 1, "m": 60, "h": 3600}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smh]?)")
#: more than a week is a mistake, not a bound
_MOST = 7 * 24 * 3600


def parse(value: object, name: str) -> float:
    """Seconds from a setting: a positive number of seconds, or a string like ``"90s"``,
    ``"30m"``, ``"2h"``. ``name`` says where the value came from, for the error."""
    seconds: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.fullmatch(value.strip())):
        seconds = float(match[1]) * _UNITS[match[2] or "s"]
    if seconds is None or not math.isfinite(seconds) or seconds <= 0 or seconds > _MOST:
        raise ConfigError(f"{name} = {value!r} is not a timeout",
                          'give seconds (a positive number) or a duration like "90s", "30m", '
                          '"2h" (at most a week)')
    return seconds


def describe(seconds: float) -> str:
    """``7200`` → ``2h``, ``300`` → ``5m``, ``90`` → ``90s``."""
    for unit in ("h", "m"):
        count = seconds / _UNITS[unit]
        if count >= 1 and count == int(count):
            return f"{int(count)}{unit}"
    return f"{seconds:g}s"


def setting(kind: Kind) -> str:
    """How the error names the setting that bounds ``kind``."""
    return f"{_current.table} {kind}"


def env_name(kind: Kind) -> str:
    return f"CROSSMATRIX_TIMEOUT_{kind.replace('-', '_').upper()}"


def hint(kind: Kind, seconds: float) -> str:
    longer = describe(seconds * 2)
    return (f"if it was only slow, allow more: {kind} = \"{longer}\" in "
            f"{_current.table} (or {env_name(kind)}={longer}); it bounds {WHAT[kind]}")


_current = Timeouts()


def current() -> Timeouts:
    """The bounds in force in this process."""
    return _current


def use(timeouts: Timeouts) -> None:
    """Put ``timeouts`` in force for every child this process starts from now on."""
    global _current
    _current = timeouts


def from_env(base: Timeouts, environ: Mapping[str, str]) -> Timeouts:
    """``base`` with the ``CROSSMATRIX_TIMEOUT_<KIND>`` variables of ``environ`` applied."""
    return base.with_({kind: parse(environ[env_name(kind)], env_name(kind))
                       for kind in KINDS if env_name(kind) in environ})
