"""One nox session per target of the table: `nox -s build-linux-aarch64`; `nox -l` lists them.

Sessions run in this interpreter (no virtualenv is made or refreshed per run) and
call the same pipeline as `inv release`.
"""

from __future__ import annotations

from collections.abc import Callable

import nox

from tooling.targets import TABLE

nox.options.default_venv_backend = "none"
nox.options.error_on_missing_interpreters = True


def _build_session(name: str, triple: str) -> Callable[[nox.Session], None]:
    def build(session: nox.Session) -> None:
        from tooling import nox_support

        nox_support.release(session, name)

    build.__doc__ = f"compile, strip, verify, run and package {name} ({triple})"
    return build


for _target in TABLE:
    nox.session(name=f"build-{_target.name}", tags=["build", *_target.tags],
                venv_backend="none")(_build_session(_target.name, _target.triple))
