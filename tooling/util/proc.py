"""The one helper through which every subprocess runs.

It takes an argv list (never a shell string), logs the command and the part of
the environment it *adds or changes* compared with the parent process, and
returns captured output so a failing step can show the tail of the real error.

Every child is bounded and reaped. It runs with the bound of its kind
(:mod:`tooling.util.timeouts`); on timeout, and when this process is interrupted (Ctrl-C:
KeyboardInterrupt) or terminated (SIGTERM: :class:`Terminated`, raised by the entry
points' handler), the child and every process under it — rustc under cargo, qemu or wine
under cargo test — get SIGTERM, a short grace, then SIGKILL, and the child is reaped
before the exception goes on. Children stay in this process's group: a SIGKILL of the
whole group (a cancelled CI job) takes them too, as the terminal's Ctrl-C reaches them.
(A group of their own would let them outlive a killed crossmatrix: seen, the killed
runs' cargo builds went on under the next run.) Their standard input is /dev/null. A
child that exits on its own is not touched further: a daemon it started in a session of
its own (wineserver) lives on.
"""

from __future__ import annotations

import contextvars
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tooling.errors import StepFailed, Terminated, ToolMissing
from tooling.util import console, timeouts
from tooling.util.timeouts import Kind

#: Set to False (tests) to stop showing commands on the terminal (the target log still
#: gets them; how many are shown is the verbosity, :mod:`tooling.util.console`).
ECHO = True
#: lines of a captured stream written into the target log, at most (its start and end)
LOGGED_LINES = 200
#: lines of a long command's stderr kept for its error report: the last ones, and of the
#: lines before them cargo's own ``error…`` lines, which name what failed (a build script's
#: output, printed after them, can be longer than the tail)
KEPT_LINES = 400
KEPT_ERRORS = 50
#: seconds a child's process group has between SIGTERM and SIGKILL
GRACE = 5.0
#: the same while this process is itself being terminated: whoever sent the SIGTERM (a
#: crossmatrix ending ``cargo test``, and with it the wine runner) follows with SIGKILL
#: after a grace of its own, and this process must have reaped its child by then
TERMINATED_GRACE = 2.0
#: how long, at most, to wait for SIGKILLed processes to be gone (only while they are not)
KILLED_GRACE = 5.0


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


#: what a child's standard stream is: inherited (None), a pipe, /dev/null, or a file
Stream = int | IO[str] | None


class _Children:
    """The children that run now, from every thread: targets built side by side
    (``--jobs``) start theirs in worker threads, and a Ctrl-C or SIGTERM reaches only the
    main thread, which ends them all (:func:`end_all`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: set[subprocess.Popen[str]] = set()
        self.stopping: BaseException | None = None

    def add(self, child: subprocess.Popen[str]) -> None:
        with self.lock:
            self.running.add(child)

    def discard(self, child: subprocess.Popen[str]) -> None:
        with self.lock:
            self.running.discard(child)


_CHILDREN = _Children()


def end_all(exc: BaseException) -> None:
    """``exc`` (Ctrl-C, SIGTERM) stops everything: each running child's group is ended,
    and from now on no thread starts another (each gets ``exc`` raised instead)."""
    with _CHILDREN.lock:
        _CHILDREN.stopping = exc
        children = list(_CHILDREN.running)
    ends = [threading.Thread(target=end_group, args=(child, _grace(exc)), daemon=True)
            for child in children]
    for end in ends:
        end.start()
    for end in ends:
        end.join()


def resume() -> None:
    """After :func:`end_all`'s threads are done: children may be started again."""
    with _CHILDREN.lock:
        _CHILDREN.stopping = None


def _raise_if_stopping() -> None:
    """In a thread whose children :func:`end_all` ended: the reason, raised anew."""
    stopping = _CHILDREN.stopping
    if stopping is not None:
        raise type(stopping)(*stopping.args)


def _start(args: list[str], hint: str | None, *, env: Mapping[str, str] | None,
           cwd: Path | None, stdin: Stream, stdout: Stream,
           stderr: Stream) -> subprocess.Popen[str]:
    _raise_if_stopping()
    try:
        child = subprocess.Popen(args, text=True, errors="replace",
                                 env=dict(env) if env is not None else None, cwd=cwd,
                                 stdin=stdin, stdout=stdout, stderr=stderr)
    except FileNotFoundError as exc:
        raise ToolMissing(f"{args[0]} not found", hint) from exc
    _CHILDREN.add(child)
    return child


def _running() -> dict[int, int]:
    """pid → parent pid of every process that runs (zombies left out), from /proc."""
    found: dict[int, int] = {}
    try:
        entries = list(os.scandir("/proc"))
    except OSError:
        return found
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            with open(os.path.join(entry.path, "stat"), encoding="ascii",
                      errors="replace") as stat:
                # pid (comm) state ppid …; comm may hold spaces and parentheses
                state, ppid = stat.read().rpartition(")")[2].split()[:2]
        except (OSError, ValueError):
            continue  # gone meanwhile
        if state != "Z":
            found[int(entry.name)] = int(ppid)
    return found


def _tree(pid: int, known: Iterable[int] = ()) -> set[int]:
    """``pid``, every process under it, and those of ``known`` that still run (a
    grandchild whose parent went is reparented out of the tree, but was seen in it)."""
    running = _running()
    children: dict[int, list[int]] = {}
    for child, parent in running.items():
        children.setdefault(parent, []).append(child)
    found, todo = set(), [pid, *known]
    while todo:
        current = todo.pop()
        if current in found or (current not in running and current != pid):
            continue
        found.add(current)
        todo += children.get(current, [])
    return found


def _signal(pids: set[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass  # gone already
        except PermissionError:
            pass  # one that became another user (sudo's command)


def end_group(child: subprocess.Popen[str], grace: float = GRACE) -> None:
    """End ``child`` and every process under it: SIGTERM (and SIGCONT, for one stopped by
    the terminal), up to ``grace`` seconds for all to go, SIGKILL to those left; ``child``
    is reaped. A second Ctrl-C meanwhile cuts the grace short."""
    seen = _tree(child.pid)
    gone = False
    try:
        _signal(seen, signal.SIGTERM)
        _signal(seen, signal.SIGCONT)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            seen |= _tree(child.pid, seen)
            if child.poll() is not None and not (seen & set(_running())):
                gone = True
                break
            time.sleep(0.02)
    finally:
        if not gone:
            killed = _tree(child.pid, seen)
            _signal(killed, signal.SIGKILL)
            child.wait()
            # SIGKILL lands when the kernel next schedules each one (later on a loaded
            # machine, or one in disk sleep): gone before we return, within KILLED_GRACE
            deadline = time.monotonic() + KILLED_GRACE
            while killed & set(_running()) and time.monotonic() < deadline:
                time.sleep(0.01)
        else:
            child.wait()


def _grace(exc: BaseException) -> float:
    return TERMINATED_GRACE if isinstance(exc, Terminated) else GRACE


def _close(*pipes: IO[str] | None) -> None:
    for pipe in pipes:
        if pipe is not None:
            pipe.close()


def _timed_out(command: str, bound: Kind, seconds: float) -> StepFailed:
    return StepFailed(f"{command} timed out after {timeouts.describe(seconds)} "
                      f"(the bound {timeouts.setting(bound)})", timeouts.hint(bound, seconds))


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    bound: Kind,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
    capture: bool = True,
    input_text: str | None = None,
    what: str | None = None,
    hint: str | None = None,
    echo: bool | None = None,
    output: Path | None = None,
) -> Result:
    """Run ``argv``; raise :class:`StepFailed` on a non-zero exit when ``check``, and when it
    outlives the in-force timeout of its kind, ``bound`` (whatever ``check`` says).

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
    console.command(describe(args, env, cwd), show=echo if echo is not None else ECHO)
    seconds = timeouts.current().of(bound)
    piped = capture and output is None
    sink = None if output is None else output.open("w")
    try:
        child = _start(
            args, hint,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL if input_text is None else subprocess.PIPE,
            stdout=subprocess.PIPE if piped else sink,
            stderr=subprocess.PIPE if piped else sink,
        )
        try:
            stdout, stderr = child.communicate(input_text, timeout=seconds)
        except subprocess.TimeoutExpired:
            end_group(child)
            _close(child.stdin, child.stdout, child.stderr)
            raise _timed_out(what or shlex.join(args), bound, seconds) from None
        except BaseException as exc:  # Ctrl-C, SIGTERM: end the child before going on
            end_group(child, _grace(exc))
            _close(child.stdin, child.stdout, child.stderr)
            raise
        finally:
            _CHILDREN.discard(child)
    finally:
        if sink is not None:
            sink.close()
    _raise_if_stopping()
    written = "" if output is None else output.read_text(errors="replace")
    result = Result(tuple(args), child.returncode, stdout or "", stderr or written)
    _log_output(result)
    if check and not result.ok:
        tail = result.tail()
        if tail:
            console.info(tail)
        command = what or shlex.join(args)
        raise StepFailed(f"{command} failed with exit code {child.returncode}", hint)
    return result


def _log_output(result: Result) -> None:
    """A captured command's output and exit code, into the target log (when one is open);
    a long stream by its start and end."""
    if console.log_path() is None:
        return
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        lines = text.rstrip("\n").splitlines()
        if not lines:
            continue
        if len(lines) > LOGGED_LINES:
            half = LOGGED_LINES // 2
            lines = [*lines[:half], f"[… {len(lines) - LOGGED_LINES} lines …]", *lines[-half:]]
        console.output("".join(f"  {name}| {line}\n" for line in lines))
    if not result.ok:
        console.output(f"  exit code {result.returncode}")


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
    bound: Kind,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    what: str | None = None,
    hint: str | None = None,
    check: bool = True,
    quiet_stderr: bool = False,
    tee_stdout: bool = False,
) -> Result:
    """Run a long command (cargo): stderr goes to the target log as it comes, to the
    terminal too at -vv or where no target log is open, and is kept for the error report;
    stdout is captured whole (cargo's JSON messages), and with ``tee_stdout`` also written
    to this process's stdout as it comes (``cargo test``). Bounded and ended like
    :func:`run`: the timeout covers the child and its output's end."""
    args = [os.fspath(a) for a in argv]
    if which(args[0], path=(env or os.environ).get("PATH")) is None and os.path.sep not in args[0]:
        raise ToolMissing(f"{args[0]} not found on PATH", hint)
    console.command(describe(args, env, cwd), show=ECHO)
    shown = not quiet_stderr and console.shows_output()
    seconds = timeouts.current().of(bound)
    deadline = time.monotonic() + seconds
    kept: deque[str] = deque(maxlen=KEPT_LINES)
    earlier: list[str] = []  # cargo's error lines that fell out of ``kept``
    lines: list[str] = []
    child = _start(args, hint, env=env, cwd=cwd,
                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def pump_stderr() -> None:
        assert child.stderr is not None
        for line in child.stderr:
            if len(kept) == KEPT_LINES and kept[0].startswith("error") and (
                    len(earlier) < KEPT_ERRORS):
                earlier.append(kept[0])
            kept.append(line)
            console.output(line)
            if shown:
                sys.stderr.write(line)
                sys.stderr.flush()

    def pump_stdout() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line)
            if tee_stdout:
                sys.stdout.write(line)
                sys.stdout.flush()

    # in this thread's context: the output goes to the log of the target it builds
    pumps = [threading.Thread(target=contextvars.copy_context().run, args=(pump,), daemon=True)
             for pump in (pump_stderr, pump_stdout)]
    for pump in pumps:
        pump.start()
    try:
        returncode = _wait(child, seconds)
        for pump in pumps:  # the output ends when the last process holding it does
            pump.join(timeout=max(0.0, deadline - time.monotonic()))
        if any(pump.is_alive() for pump in pumps):
            raise subprocess.TimeoutExpired(args, seconds)
    except subprocess.TimeoutExpired:
        end_group(child)
        _join(pumps)
        raise _timed_out(what or shlex.join(args), bound, seconds) from None
    except BaseException as exc:  # Ctrl-C, SIGTERM: end the child before going on
        end_group(child, _grace(exc))
        _join(pumps)
        raise
    finally:
        _CHILDREN.discard(child)
    _raise_if_stopping()
    _close(child.stdout, child.stderr)
    result = Result(tuple(args), returncode, "".join(lines), "".join(earlier) + "".join(kept))
    if returncode != 0:
        console.output(f"  exit code {returncode}")
    if check and not result.ok:
        raise StepFailed(f"{what or shlex.join(args)} failed with exit code {returncode}", hint)
    return result


def _wait(child: subprocess.Popen[str], seconds: float) -> int:
    """``child.wait(timeout=seconds)``, woken the moment the child exits: Popen's own wait
    with a timeout polls, sleeping up to 50 ms between looks (a warm no-op build of one
    target is ~0.1 s of cargo); a pidfd says at once."""
    try:
        pidfd = os.pidfd_open(child.pid)
    except (AttributeError, OSError):  # not Linux ≥ 5.3, or the child is reaped already
        return child.wait(timeout=seconds)
    try:
        ready, _, _ = select.select([pidfd], [], [], seconds)
    finally:
        os.close(pidfd)
    if not ready:
        raise subprocess.TimeoutExpired(child.args, seconds)
    return child.wait()


def _join(pumps: Sequence[threading.Thread]) -> None:
    """The output threads, once the group is gone (not waiting on a pipe a process outside
    the group still holds: they are daemon threads)."""
    for pump in pumps:
        pump.join(timeout=1.0)
