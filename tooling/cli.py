"""The ``crossmatrix`` console script: the invoke tasks, for any cargo workspace (``--project``)."""

from __future__ import annotations

from typing import Any

from invoke.parser.argument import Argument
from invoke.program import Program

from tooling import __version__
from tooling.commands import ns


class CrossmatrixProgram(Program):
    def core_args(self) -> list[Any]:
        args: list[Any] = super().core_args()
        return [*args, Argument(names=("project",), kind=str,
                                help="the cargo workspace to build (default: the current folder)")]

    def update_config(self, merge: bool = True) -> None:
        super().update_config(merge=False)
        project = self.args["project"].value
        if project:
            self.config.load_overrides({"crossmatrix": {"project": project}}, merge=False)
        if merge:
            self.config.merge()


program = CrossmatrixProgram(name="crossmatrix", binary="crossmatrix", version=__version__,
                             namespace=ns)


def main() -> None:
    program.run()
