"""``inv test``: the workspace's own ``cargo test``, compiled for a target and run on it.

Like ``cross test``: the same cargo call as :func:`tooling.compiling.invocation` (std
provider, sysroot rustflags, linker, ``CC``/``AR``/``CFLAGS``, ``--locked``, packages
and features), turned into ``cargo test --target <triple>`` with the target's runner in
``CARGO_TARGET_<T>_RUNNER``: nothing for the host, qemu-user for other Linux targets
(with ``RUST_TEST_THREADS=1`` unless set), a wine wrapper for Windows. macOS tests can
only be built here (``--no-run``).

Tests use cargo's ``test`` profile, not the project's build profile; std is provided
for that profile (unwinding, as the test harness needs).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from tooling.compile import hosttools
from tooling.errors import StepFailed, UsageError
from tooling.matrix.config import Project
from tooling.matrix.targets import Target
from tooling.plan import cargo_call
from tooling.platforms import platform_of
from tooling.steps import compiling, leftovers
from tooling.steps.each import each_target
from tooling.steps.state import Build
from tooling.util import console, memo, proc

#: cargo's profile for ``cargo test``; std is planned for it (panic=unwind)
TEST_PROFILE = "test"
_RESULT = re.compile(r"^test result: (?P<status>ok|FAILED)\. (?P<passed>\d+) passed; "
                     r"(?P<failed>\d+) failed; (?P<ignored>\d+) ignored", re.MULTILINE)
_FAILED_TEST = re.compile(r"^test (?P<name>\S+) \.\.\. FAILED$", re.MULTILINE)
_EXECUTABLE = re.compile(r"^\s*Executable .*\(([^)]+)\)\s*$", re.MULTILINE)
_CRASHED = re.compile(r"process didn't exit successfully: .*", re.MULTILINE)
#: cargo's line before it starts a test binary (a build failure comes before any)
_RUNNING = re.compile(r"^\s+(?:Running|Doc-tests) ", re.MULTILINE)
#: what ``compiling.invocation`` passes for ``cargo build`` that ``cargo test`` must not get


@dataclass(frozen=True)
class Counts:
    """What libtest's "test result:" lines add up to, over every test binary."""

    passed: int = 0
    failed: int = 0
    ignored: int = 0
    suites: int = 0  #: test binaries (and doctest runs) that reported a result
    failed_names: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return self.passed + self.failed


def parse_results(stdout: str) -> Counts:
    passed = failed = ignored = suites = 0
    for match in _RESULT.finditer(stdout):
        passed += int(match["passed"])
        failed += int(match["failed"])
        ignored += int(match["ignored"])
        suites += 1
    names = tuple(dict.fromkeys(m["name"] for m in _FAILED_TEST.finditer(stdout)))
    return Counts(passed, failed, ignored, suites, names)


@dataclass(frozen=True)
class CargoTest:
    """One target's ``cargo test``: the command, its environment, and how it runs."""

    argv: list[str]
    env: dict[str, str]
    runner: str  #: "native", "qemu-aarch64", "wine (x86_64) + ProcessPrng shim" …
    call: cargo_call.Invocation
    notes: list[str] = field(default_factory=list)  #: said before cargo starts


def split_args(text: str, where: str) -> list[str]:
    """Arguments for the test binaries, written as one shell-quoted string."""
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"cannot split the test arguments {where} ({text!r}): {exc}",
                         "quote like a shell does: --args '--nocapture --exact tests::one'"
                         ) from None


def cannot_run(target: Target) -> str | None:
    """Why ``target``'s tests cannot run on this machine at all (None: they can)."""
    return platform_of(target).cannot_run(target)


def runner_env(target: Target, cache_dir: Path,
               environ: dict[str, str] | None = None) -> tuple[dict[str, str], str, list[str]]:
    """``CARGO_TARGET_<T>_RUNNER`` (and ``RUST_TEST_THREADS`` under qemu) for ``target``,
    what runs the tests, and what to say about it."""
    environ = dict(os.environ) if environ is None else environ
    platform = platform_of(target)
    runner = platform.test_runner(target, cache_dir, environ)
    if runner is None:
        raise UsageError(f"{target.name}: its tests cannot run here "
                         f"({platform.cannot_run(target)})",
                         f"`inv test --target {target.name} --no-run` builds them without "
                         "running them")
    env = dict(runner.env)
    if runner.command is not None:
        env[f"CARGO_TARGET_{target.env_key}_RUNNER"] = runner.command
    return env, runner.describe, list(runner.notes)


def for_tests(project: Project) -> Project:
    """The project as ``cargo test`` builds it: with the test profile (std for it)."""
    return replace(project, profile=TEST_PROFILE)


def prepare(build: Build, *, no_run: bool = False, args: Sequence[str] = (),
            provide_std: bool = True) -> CargoTest:
    """Get ``cargo test`` for ``build.target`` ready to run: std provided, the wrappers it
    names written, the command made from the build's own cargo call."""
    target = build.target
    build = Build(for_tests(build.project), target)
    extra: dict[str, str] = {}
    described, notes = "none (--no-run)", list[str]()
    if not no_run:  # before std is provided: a target that cannot run stops here
        extra, described, notes = runner_env(target, build.project.cache_dir)
    call = compiling.invocation(build, provide_std=provide_std, dev=True)
    argv = call.test_argv(no_run=no_run, args=args)
    env = {**call.env, **extra, **_rustdoc_env(call)}
    return CargoTest(argv, env, described, call, notes)


def _rustdoc_env(call: cargo_call.Invocation) -> dict[str, str]:
    """cargo builds and runs doctests for the target too (since 1.89), with ``RUSTDOC`` (by
    default the first ``rustdoc`` on PATH: maybe another compiler's, whose std it cannot
    read): the rustdoc beside the build's rustc, with the build's sysroot and link flags."""
    env = {}
    rustdoc = call.compiler.rustc.with_name("rustdoc")
    if "RUSTDOC" not in os.environ and rustdoc.is_file():
        env["RUSTDOC"] = str(rustdoc)
    if call.flags:
        env.update(_rustdocflags(call.flags))
    return env


def _rustdocflags(flags: Sequence[str]) -> dict[str, str]:
    user = os.environ.get("CARGO_ENCODED_RUSTDOCFLAGS")
    if user is None and os.environ.get("RUSTDOCFLAGS"):
        user = "\x1f".join(os.environ["RUSTDOCFLAGS"].split())
    merged = [f for f in (user or "").split("\x1f") if f] + list(flags)
    return {"CARGO_ENCODED_RUSTDOCFLAGS": "\x1f".join(merged)}


@dataclass(frozen=True)
class Outcome:
    target: Target
    runner: str
    counts: Counts
    no_run: bool = False
    executables: int = 0

    def summary(self) -> str:
        if self.no_run:
            return f"{self.executables} test binaries built, not run"
        c = self.counts
        text = f"{c.passed} passed"
        if c.ignored:
            text += f", {c.ignored} ignored"
        return f"{text} ({c.suites} suites under {self.runner})"


def run_tests(build: Build, *, no_run: bool = False, args: Sequence[str] = ()) -> Outcome:
    """``cargo test`` for one target; failing tests raise :class:`StepFailed`."""
    target = build.target
    test = prepare(build, no_run=no_run, args=args)
    call = test.call
    console.progress(target.name, f"test with {call.compiler.describe()}, linker "
                                  f"{call.link.describe()}, runner {test.runner}")
    for note in test.notes:
        console.progress(target.name, note)
    res = proc.stream(test.argv, bound="test", env=test.env, cwd=build.project.workspace,
                      what="cargo test", check=False, tee_stdout=True)
    counts = parse_results(res.stdout)
    if res.ok:
        executables = len(_EXECUTABLE.findall(res.stderr))
        outcome = Outcome(target, test.runner, counts, no_run, executables)
        console.progress(target.name, f"tests: {outcome.summary()}")
        return outcome
    if counts.failed:
        named = ", ".join(counts.failed_names[:3])
        more = f" and {len(counts.failed_names) - 3} more" if len(counts.failed_names) > 3 else ""
        raise StepFailed(
            f"{target.name}: {counts.failed} of {counts.total} tests failed under "
            f"{test.runner}" + (f" ({named}{more})" if named else ""),
            f"cargo test's output is above; one alone: inv test --target {target.name} "
            f"--args '{counts.failed_names[0] if counts.failed_names else 'NAME'} --nocapture'")
    crashed = _CRASHED.search(res.stderr)
    if crashed and "`rustdoc " in crashed[0]:
        raise StepFailed(f"{target.name}: the doctests failed to build or run under "
                         f"{test.runner}", "rustdoc's own error is above")
    if crashed and (counts.suites or _RUNNING.search(res.stderr)):
        raise StepFailed(f"{target.name}: a test binary did not finish under {test.runner}: "
                         f"{crashed[0].strip()}",
                         "cargo test's output is above (a crash or a signal, not a failed "
                         "assertion)")
    hint = compiling._diagnose(build, call.link)(res.stderr)
    raise StepFailed(f"{target.name}: cargo test failed (exit {res.returncode}) before "
                     "running the tests", hint)


def run_matrix(project: Project, targets: Sequence[Target], *, no_run: bool = False,
               args: Sequence[str] = ()) -> list[Outcome]:
    """Each target in turn; one failing does not stop the others; a summary at the end.

    Targets whose tests cannot run here (macOS; 32-bit Windows without wine32) are
    skipped with their reason unless ``no_run``; a selection of only such targets is
    refused."""
    skipped = {} if no_run else {t.name: r for t in targets if (r := cannot_run(t))}
    if skipped and len(skipped) == len(targets):
        first = targets[0]
        raise UsageError(f"{first.name}: its tests cannot run here ({skipped[first.name]})",
                         f"`inv test --target {first.name} --no-run` builds them without "
                         "running them")
    runnable = [t for t in targets if t.name not in skipped]
    with memo.read_only():  # cmake, nasm, libclang … missing: said before anything runs
        hosttools.check(for_tests(project), runnable, dev=True)
    leftovers.at_start(project)  # of processes killed before: a few folders to look into
    for name, reason in skipped.items():
        console.warn(f"{name}: tests skipped: {reason} (--no-run builds them)")
    done = each_target(runnable, lambda target: run_tests(Build(project, target),
                                                          no_run=no_run, args=args))
    outcomes = [outcome for _, outcome in done.done]
    if len(targets) > 1:
        _print_summary(outcomes, done.failed, skipped)
    done.raise_if_failed(len(targets), "tests failed for {failed} of {total} targets",
                         "re-run one with `inv test --target NAME`; cargo test's output is above")
    return outcomes


def _print_summary(outcomes: Sequence[Outcome], failures: Sequence[tuple[Target, Exception]],
                   skipped: dict[str, str]) -> None:
    console.info("test summary:")
    for outcome in outcomes:
        console.info(f"  ok       {outcome.target.name}: {outcome.summary()}")
    for target, error in failures:
        message = getattr(error, "message", str(error))
        console.info(f"  FAILED   {target.name}: {message.removeprefix(target.name + ': ')}")
    for name, reason in skipped.items():
        console.info(f"  skipped  {name}: {reason}")
