"""The ``crossmatrix`` console script: the invoke tasks, for any cargo workspace (``--project``)."""

from __future__ import annotations

import os
import sys
from typing import Any

from invoke.exceptions import Exit, ParseError
from invoke.parser.argument import Argument
from invoke.program import Program

from tooling import __version__
from tooling.cli.tasks import ns
from tooling.util import console


class CrossmatrixProgram(Program):
    def core_args(self) -> list[Any]:
        args: list[Any] = super().core_args()
        return [*args,
                Argument(names=("project",), kind=str,
                         help="the cargo workspace to build (default: the current folder)"),
                Argument(names=("verbose", "v"), kind=int, default=0, incrementable=True,
                         help="-v: each command with the environment it adds; -vv: "
                              "everything (the same as CROSSMATRIX_VERBOSE=1 or 2)")]

    # invoke reports a bad flag or task name as a ParseError with exit code 1; here bad
    # input exits 2 like every other usage error, with a hint on where to look.
    def parse_core(self, argv: list[str] | None) -> None:
        try:
            super().parse_core(argv)
        except ParseError as exc:
            raise Exit(_usage(exc, "`crossmatrix --help` lists the options"), code=2) from None
        if self.args["verbose"].value:  # for this process and every child (nox, cargo)
            console.set_verbosity(self.args["verbose"].value)

    def parse_tasks(self) -> None:
        try:
            super().parse_tasks()
        except ParseError as exc:
            raise Exit(_usage(exc, "`crossmatrix --list` lists the tasks, "
                                   "`crossmatrix TASK --help` their options"), code=2) from None
        # invoke takes a list flag without its value as an empty list, which would mean
        # "the whole matrix": a `--target` with nothing after it is a mistake, not that
        tokens = list(self.argv)
        for index, token in enumerate(tokens):
            if token in ("--target", "-t") and (
                    index + 1 == len(tokens) or tokens[index + 1].startswith("-")):
                raise Exit(f"error: {token} needs a value\n  hint: a target name, triple, "
                           "glob or tag:NAME; `crossmatrix targets` lists them", code=2)

    def update_config(self, merge: bool = True) -> None:
        super().update_config(merge=False)
        project = self.args["project"].value
        if project:
            self.config.load_overrides({"crossmatrix": {"project": project}}, merge=False)
        if merge:
            self.config.merge()


def _usage(exc: ParseError, hint: str) -> str:
    return f"error: {' '.join(str(exc).split())}\n  hint: {hint}"


program = CrossmatrixProgram(name="crossmatrix", binary="crossmatrix", version=__version__,
                             namespace=ns)


def main() -> None:
    try:
        program.run()
    except BrokenPipeError:  # `crossmatrix --help | head`: the reader left; so do we
        # stdout is gone: point it at nothing so the interpreter's own flush stays quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)  # as a shell reports a program ended by SIGPIPE (128 + 13)
