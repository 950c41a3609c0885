"""The error hierarchy: each error is one line of what went wrong plus one line of what to do.

Library code raises these; the entry points (the console script, the invoke
tasks, the nox sessions) turn them into a message and an exit code. Nothing
below those boundaries prints a traceback or calls ``sys.exit``.
"""

from __future__ import annotations


class CrossmatrixError(Exception):
    """Base class. ``exit_code`` tells the entry point what to return."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        text = f"error: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class UsageError(CrossmatrixError):
    """Bad input from the user: a target name, an option, a config value."""

    exit_code = 2


class ConfigError(UsageError):
    """A malformed ``[tool.crossmatrix]`` table or ``.cargo/config.toml``."""


class ToolMissing(CrossmatrixError):
    """A program or package the step needs is not installed."""

    exit_code = 3


class StepFailed(CrossmatrixError):
    """A step ran and failed (cargo, strip, a verify check, a smoke test)."""

    exit_code = 1


class SomeTargetsFailed(CrossmatrixError):
    """A matrix ran and at least one target failed; the others completed."""

    exit_code = 4


class BadRecord(StepFailed):
    """A record file (``build_info.json``, ``release.json``, a step record) that is not one
    this crossmatrix writes: unreadable, another schema version, or a malformed field."""


class Terminated(BaseException):
    """This process was sent SIGTERM. The entry points' handler raises it where the main
    thread is, so every ``finally`` runs (locks released, temporary folders removed) and a
    running child's process group is ended. Not an ``Exception``: nothing that handles a
    failed step catches it, the matrix stops."""

    exit_code = 128 + 15  # what a shell reports for a program SIGTERM ended
