"""Two nox sessions per target of the table: `nox -s build-linux-aarch64` (the pipeline of
`inv release`) and `nox -s test-linux-aarch64` (its `cargo test` on the target, as `inv
test`); `nox -l` lists them, `nox -t test` runs every test session. The project's own named
rows (`[tool.crossmatrix.target.<name>] triple = "…"`) get sessions too: the project is the
first argument after `--`, else CROSSMATRIX_PROJECT or this folder (as the sessions read it).

Sessions run in this interpreter (no virtualenv is made or refreshed per run).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import nox

from tooling.errors import CrossmatrixError
from tooling.matrix import config
from tooling.matrix.targets import TABLE, Target

nox.options.default_venv_backend = "none"
nox.options.error_on_missing_interpreters = True


def _build_session(name: str, triple: str) -> Callable[[nox.Session], None]:
    def build(session: nox.Session) -> None:
        from tooling.cli import nox_support

        nox_support.release(session, name)

    build.__doc__ = f"compile, strip, verify, run and package {name} ({triple})"
    return build


def _test_session(name: str, triple: str) -> Callable[[nox.Session], None]:
    def test(session: nox.Session) -> None:
        from tooling.cli import nox_support

        nox_support.test(session, name)

    test.__doc__ = f"cargo test of the workspace, run on {name} ({triple})"
    return test


def _rows() -> tuple[Target, ...]:
    """The table, then the project's named rows (none when no project loads from here)."""
    after = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    path = after[0] if after and not after[0].startswith("-") else None
    try:
        return (*TABLE, *config.load(path).rows)
    except CrossmatrixError:
        return TABLE  # the session itself reports what is wrong with the project


_ROWS = _rows()
for _target in _ROWS:
    nox.session(name=f"build-{_target.name}", tags=["build", *_target.tags],
                venv_backend="none")(_build_session(_target.name, _target.triple))
for _target in _ROWS:
    nox.session(name=f"test-{_target.name}", tags=["test", *_target.tags],
                venv_backend="none")(_test_session(_target.name, _target.triple))
