"""The one helper through which every subprocess runs.

It takes an argv list (never a shell string), logs the command and the part of
the environment it *adds or changes* compared with the parent process, and
returns captured output so a failing step can show the tail of the real error.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tooling.errors import StepFailed, ToolMissing
from tooling.util import console

#: Set to False (tests, --quiet) to stop echoing commands.
ECHO = True


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 25) -> str:
        text = (self.stderr or self.stdout).rstrip()
        return "\n".join(text.splitlines()[-lines:])


def env_delta(env: Mapping[str, str] | None) -> dict[str, str]:
    """The variables of ``env`` that differ from this process's environment."""
    if env is None:
        return {}
    return {k: v for k, v in sorted(env.items()) if os.environ.get(k) != v}


def which(program: str, path: str | None = None) -> str | None:
    return shutil.which(program, path=path)


def describe(argv: Sequence[str], env: Mapping[str, str] | None, cwd: Path | None) -> str:
    parts = [f"{k}={shlex.quote(v)}" for k, v in env_delta(env).items()]
    parts.append(shlex.join(argv))
    text = " ".join(parts)
    if cwd is not None:
        text = f"(cd {shlex.quote(str(cwd))} && {text})"
    return text


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
    capture: bool = True,
    timeout: float | None = None,
    input_text: str | None = None,
    what: str | None = None,
    hint: str | None = None,
    echo: bool | None = None,
    output: Path | None = None,
) -> Result:
    """Run ``argv``; raise :class:`StepFailed` on a non-zero exit when ``check``.

    ``env`` is the complete child environment (build it with :func:`child_env`).
    ``capture=False`` streams output to the terminal (long builds), in which
    case the error report carries no tail. ``output``: stdout and stderr go to that
    file (read back into the result) instead of pipes, for a command that leaves
    daemons behind holding its output: waiting on a pipe would wait for them.
    """
    args = [os.fspath(a) for a in argv]
    exe = which(args[0], path=(env or os.environ).get("PATH"))
    if exe is None and os.path.sep not in args[0]:
        raise ToolMissing(f"{args[0]} not found on PATH", hint)
    if echo if echo is not None else ECHO:
        console.command(describe(args, env, cwd))
    sink = None if output is None else output.open("w")
    try:
        proc = subprocess.run(
            args,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            text=True,
            capture_output=capture and sink is None,
            stdin=subprocess.DEVNULL if sink is not None and input_text is None else None,
            stdout=sink,
            stderr=sink,
            timeout=timeout,
            input=input_text,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ToolMissing(f"{args[0]} not found", hint) from exc
    except subprocess.TimeoutExpired as exc:
        raise StepFailed(f"{what or args[0]} timed out after {timeout:.0f}s", hint) from exc
    finally:
        if sink is not None:
            sink.close()
    written = "" if output is None else output.read_text(errors="replace")
    result = Result(tuple(args), proc.returncode, proc.stdout or "", proc.stderr or written)
    if check and not result.ok:
        tail = result.tail()
        if tail:
            console.info(tail)
        command = what or shlex.join(args)
        raise StepFailed(f"{command} failed with exit code {proc.returncode}", hint)
    return result


def child_env(add: Mapping[str, str] | None = None, remove: Sequence[str] = ()) -> dict[str, str]:
    """This process's environment, plus ``add``, minus ``remove``."""
    env = dict(os.environ)
    for key in remove:
        env.pop(key, None)
    env.update(add or {})
    return env


def stream(
    argv: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    what: str | None = None,
    hint: str | None = None,
    check: bool = True,
    quiet_stderr: bool = False,
    tee_stdout: bool = False,
) -> Result:
    """Run a long command (cargo): stderr goes to the terminal as it comes and is kept
    for the error report; stdout is captured whole (cargo's JSON messages), and with
    ``tee_stdout`` also written to this process's stdout as it comes (``cargo test``)."""
    args = [os.fspath(a) for a in argv]
    if which(args[0], path=(env or os.environ).get("PATH")) is None and os.path.sep not in args[0]:
        raise ToolMissing(f"{args[0]} not found on PATH", hint)
    if ECHO:
        console.command(describe(args, env, cwd))
    kept: deque[str] = deque(maxlen=400)
    try:
        child = subprocess.Popen(args, env=dict(env) if env is not None else None, cwd=cwd,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except FileNotFoundError as exc:
        raise ToolMissing(f"{args[0]} not found", hint) from exc

    def pump() -> None:
        assert child.stderr is not None
        for line in child.stderr:
            kept.append(line)
            if not quiet_stderr:
                sys.stderr.write(line)
                sys.stderr.flush()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    assert child.stdout is not None
    if tee_stdout:
        lines = []
        for line in child.stdout:
            lines.append(line)
            sys.stdout.write(line)
            sys.stdout.flush()
        stdout = "".join(lines)
    else:
        stdout = child.stdout.read()
    returncode = child.wait()
    reader.join()
    result = Result(tuple(args), returncode, stdout, "".join(kept))
    if check and not result.ok:
        raise StepFailed(f"{what or shlex.join(args)} failed with exit code {returncode}", hint)
    return result
