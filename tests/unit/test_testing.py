"""`inv test`: the cargo test command and environment derived from the build's, the runner
per target, RUST_TEST_THREADS under qemu, libtest's result lines, and what cannot run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tooling.cli import wine_runner
from tooling.compile import linkers
from tooling.errors import SomeTargetsFailed, StepFailed, ToolMissing, UsageError
from tooling.matrix import config
from tooling.matrix.targets import Target, by_name
from tooling.plan import cargo_call
from tooling.platforms import platform_of, windows
from tooling.std import compiler, providers
from tooling.steps import cargo_test
from tooling.steps.state import Build
from tooling.util import proc, timeouts
from tooling.util.timeouts import Timeouts

COMPILER = compiler.Compiler(
    kind="debian", rustc=Path("/usr/bin/rustc"), cargo=Path("/usr/bin/cargo"),
    release="1.96.0", commit_hash="0" * 40, host="x86_64-unknown-linux-gnu",
    sysroot=Path("/usr"), verbose_version="rustc 1.96.0 (test)\n")

PASSING = """\
running 2 tests
test tests::sums ... ok
test tests::runs_as_the_target ... ok

test result: ok. 2 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.04s

running 1 test
test sums_across_threads ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
"""
FAILING = """\
running 3 tests
test tests::broken_on_purpose ... FAILED
test tests::panics_unwind - should panic ... ok
test tests::threads_add_up ... ok

failures:

---- tests::broken_on_purpose stdout ----
assertion `left == right` failed: 1 + 2 is not 4

failures:
    tests::broken_on_purpose

test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.05s

running 1 test
test sums_across_threads ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
"""


@pytest.fixture
def panics() -> list[str]:
    """The panic strategy of each std planned (the profile std is provided for)."""
    return []


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            panics: list[str]) -> config.Project:
    """A one-crate workspace, std planned as a cached sysroot without building anything."""
    workspace = tmp_path / "ws"
    (workspace / "src").mkdir(parents=True)
    (workspace / "Cargo.toml").write_text(
        '[package]\nname = "probe"\nversion = "0.1.0"\nedition = "2021"\n\n'
        "[features]\nextra = []\n\n[profile.release]\npanic = \"abort\"\n")
    (workspace / "src" / "main.rs").write_text("fn main() {}\n")
    (workspace / "Cargo.lock").write_text("version = 4\n")
    monkeypatch.setenv("CROSSMATRIX_CACHE_DIR", str(tmp_path / "cache"))
    for key in ("RUST_TEST_THREADS", "RUSTDOC", "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS",
                "RUSTDOCFLAGS", "CARGO_ENCODED_RUSTDOCFLAGS"):
        monkeypatch.delenv(key, raising=False)
    def plan(project: config.Project, target: Target) -> providers.StdPlan:
        panics.append(providers._panic(project))
        return providers.StdPlan(provider="build-std", compiler=COMPILER,
                                 sysroot=tmp_path / "cache" / "sysroots" / target.triple,
                                 reason="test")

    monkeypatch.setattr(providers, "plan", plan)
    monkeypatch.setattr(providers, "ensure", plan)
    return config.from_table(tmp_path, {"workspace": "ws", "features": ["extra"],
                                        "offline": True}, "test")


def _qemu_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    real = proc.which
    monkeypatch.setattr(proc, "which", lambda program, path=None: (
        f"/usr/bin/{program}" if program.startswith("qemu-") else real(program, path)))


def test_cargo_test_keeps_the_builds_target_config_and_selection(
        project: config.Project, monkeypatch: pytest.MonkeyPatch, panics: list[str]) -> None:
    _qemu_installed(monkeypatch)
    target = by_name()["linux-aarch64"]
    run = cargo_test.prepare(Build(project, target), args=["--nocapture", "tests::one"])
    argv = run.argv
    assert argv[:4] == ["/usr/bin/cargo", "test", "--target", target.triple]
    for build_only in ("--bins", "--release", "--profile", "--lib",
                       "--message-format=json-render-diagnostics"):
        assert build_only not in argv
    config_value = argv[argv.index("--config") + 1]
    assert config_value.startswith(f"target.{target.triple}.rustflags=")
    assert "--sysroot" in config_value and "link-self-contained=no" in config_value
    kept = ("--workspace", "--features", "extra", "--locked", "--no-fail-fast")
    assert [a for a in argv if a in kept] == list(kept)
    assert argv[-3:] == ["--", "--nocapture", "tests::one"]
    # the std is planned for cargo's test profile (unwinding), not release's panic=abort
    assert panics == ["unwind"]


def test_runner_env_under_qemu_with_one_test_thread(
        project: config.Project, monkeypatch: pytest.MonkeyPatch) -> None:
    _qemu_installed(monkeypatch)
    musl = cargo_test.prepare(Build(project, by_name()["linux-aarch64"]))
    assert musl.env["CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUNNER"] == "qemu-aarch64"
    assert musl.env["CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER"].endswith(
        musl.call.link.linker)
    assert musl.env["RUST_TEST_THREADS"] == "1"
    assert musl.runner == "qemu-aarch64"
    assert any("RUST_TEST_THREADS=1" in note for note in musl.notes)
    rustdoc = COMPILER.rustc.with_name("rustdoc")  # not another toolchain's from PATH
    assert musl.env.get("RUSTDOC") == (str(rustdoc) if rustdoc.is_file() else None)
    # rustdoc builds cross doctests: it gets the same sysroot and link flags
    doc_flags = musl.env["CARGO_ENCODED_RUSTDOCFLAGS"].split("\x1f")
    assert "--sysroot" in doc_flags and "link-self-contained=no" in doc_flags
    gnu = cargo_test.prepare(Build(project, by_name()["linux-aarch64-gnu"]))
    # the cross sysroot's loader, and its libc (not a multiarch libc6:arm64 of another build)
    expected = ("qemu-aarch64 -L /usr/aarch64-linux-gnu "
                "-E LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib")
    assert gnu.env["CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER"] == expected
    assert gnu.runner == expected


def test_the_users_test_threads_are_kept(project: config.Project,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _qemu_installed(monkeypatch)
    monkeypatch.setenv("RUST_TEST_THREADS", "4")
    run = cargo_test.prepare(Build(project, by_name()["linux-armv7"]))
    assert run.env["RUST_TEST_THREADS"] == "4"
    assert "RUST_TEST_THREADS" not in proc.env_delta(run.env)
    assert run.notes == ["RUST_TEST_THREADS=4 (yours) under qemu"]


def test_the_host_runs_its_tests_natively(project: config.Project) -> None:
    host = by_name()["linux-x86_64-gnu"]
    run = cargo_test.prepare(Build(project, host))
    assert run.runner == "native"
    delta = proc.env_delta(run.env)
    assert "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER" not in delta
    assert "RUST_TEST_THREADS" not in delta
    assert run.notes == []


def test_missing_qemu_is_a_tool_error(project: config.Project,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    real = proc.which
    monkeypatch.setattr(proc, "which", lambda program, path=None: (
        None if program.startswith("qemu-") else real(program, path)))
    with pytest.raises(ToolMissing) as caught:
        cargo_test.prepare(Build(project, by_name()["linux-riscv64-gnu"]))
    assert caught.value.message.startswith("qemu-riscv64 is not installed")
    assert "inv setup --target linux-riscv64-gnu" in (caught.value.hint or "")


def test_windows_tests_run_through_a_content_addressed_wine_wrapper(
        project: config.Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(windows, "wine_program", lambda target: "/usr/bin/wine")
    target = by_name()["windows-x86_64"]
    run = cargo_test.prepare(Build(project, target))
    wrapper = Path(run.env["CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER"])
    assert wrapper.parent == project.cache_dir / "wrappers"
    assert wrapper.name.startswith("wine-test-x86_64-pc-windows-gnu-")
    assert os.access(wrapper, os.X_OK)
    body = wrapper.read_text()
    assert "-m tooling.cli.wine_runner x86_64-pc-windows-gnu" in body
    assert body.rstrip().endswith('"$@"')
    assert run.runner.startswith("wine (x86_64)")
    assert "RUST_TEST_THREADS" not in proc.env_delta(run.env)
    assert windows.wine_wrapper(target, project.cache_dir) == wrapper  # the same content


def test_macos_tests_are_refused_unless_only_built(project: config.Project) -> None:
    mac = by_name()["macos-aarch64"]
    with pytest.raises(UsageError) as caught:
        cargo_test.prepare(Build(project, mac))
    assert caught.value.message == ("macos-aarch64: its tests cannot run here (no macOS here: "
                                    "nothing runs Mach-O programs on Linux)")
    assert "--no-run" in (caught.value.hint or "")
    with pytest.raises(UsageError):
        cargo_test.run_matrix(project, [mac, by_name()["macos-x86_64"]])
    built = cargo_test.prepare(Build(project, mac), no_run=True, args=["ignored"])
    assert built.argv[-1] == "--no-run" and "--" not in built.argv
    assert "CARGO_TARGET_AARCH64_APPLE_DARWIN_RUNNER" not in proc.env_delta(built.env)


def test_in_a_matrix_targets_that_cannot_run_are_skipped_and_said(
        project: config.Project, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    ran: list[str] = []

    def fake(build: Build, *, no_run: bool = False, args: object = ()) -> cargo_test.Outcome:
        ran.append(build.target.name)
        return cargo_test.Outcome(build.target, "qemu-aarch64", cargo_test.Counts(3, 0, 0, 1))

    monkeypatch.setattr(cargo_test, "run_tests", fake)
    cargo_test.run_matrix(project, [by_name()["linux-aarch64"], by_name()["macos-aarch64"]])
    assert ran == ["linux-aarch64"]
    err = capsys.readouterr().err
    assert "macos-aarch64: tests skipped: no macOS here" in err
    assert "ok       linux-aarch64: 3 passed (1 suites under qemu-aarch64)" in err
    assert "skipped  macos-aarch64" in err


def test_parse_results_adds_up_every_binary() -> None:
    ok = cargo_test.parse_results(PASSING)
    assert (ok.passed, ok.failed, ok.ignored, ok.suites) == (3, 0, 1, 2)
    bad = cargo_test.parse_results(FAILING)
    assert (bad.passed, bad.failed, bad.total, bad.suites) == (3, 1, 4, 2)
    assert bad.failed_names == ("tests::broken_on_purpose",)
    assert cargo_test.parse_results("error[E0463]: can't find crate for `test`\n").suites == 0


def _fake_cargo(monkeypatch: pytest.MonkeyPatch, returncode: int, stdout: str,
                stderr: str = "") -> None:
    _qemu_installed(monkeypatch)

    def stream(argv: list[str], **kwargs: object) -> proc.Result:
        assert kwargs["tee_stdout"] is True
        return proc.Result(tuple(argv), returncode, stdout, stderr)

    monkeypatch.setattr(proc, "stream", stream)


def test_failing_tests_are_one_line_naming_the_target_and_the_count(
        project: config.Project, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_cargo(monkeypatch, 101, FAILING, "     Running unittests src/lib.rs (x)\n"
                "error: 1 target failed:\n    `-p probe --lib`\n")
    with pytest.raises(StepFailed) as caught:
        cargo_test.run_tests(Build(project, by_name()["linux-aarch64"]))
    assert caught.value.message == (
        "linux-aarch64: 1 of 4 tests failed under qemu-aarch64 (tests::broken_on_purpose)")
    assert "\n" not in caught.value.message
    assert "--args 'tests::broken_on_purpose --nocapture'" in (caught.value.hint or "")


def test_passing_tests_give_an_outcome(project: config.Project,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_cargo(monkeypatch, 0, PASSING)
    outcome = cargo_test.run_tests(Build(project, by_name()["linux-armv7"]))
    assert outcome.summary() == "3 passed, 1 ignored (2 suites under qemu-arm)"


def test_a_crashed_test_binary_and_a_build_failure_are_told_apart(
        project: config.Project, monkeypatch: pytest.MonkeyPatch) -> None:
    target = by_name()["linux-aarch64"]
    _fake_cargo(monkeypatch, 101, "running 2 tests\n", "     Running unittests src/lib.rs (x)\n"
                "error: test failed, to rerun pass `--lib`\n\nCaused by:\n  process didn't "
                "exit successfully: `qemu-aarch64 x` (signal: 11, SIGSEGV: invalid memory "
                "reference)\n")
    with pytest.raises(StepFailed) as crashed:
        cargo_test.run_tests(Build(project, target))
    assert crashed.value.message.startswith(
        "linux-aarch64: a test binary did not finish under qemu-aarch64: process didn't exit")
    _fake_cargo(monkeypatch, 101, "", "error[E0463]: can't find crate for `std`\n")
    with pytest.raises(StepFailed) as broken:
        cargo_test.run_tests(Build(project, target))
    assert broken.value.message == ("linux-aarch64: cargo test failed (exit 101) before "
                                    "running the tests")
    assert "inv install-targets --target linux-aarch64" in (broken.value.hint or "")


def test_a_failing_target_does_not_stop_the_others(project: config.Project,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    def fake(build: Build, *, no_run: bool = False, args: object = ()) -> cargo_test.Outcome:
        if build.target.name == "linux-armv7":
            raise StepFailed("linux-armv7: 1 of 4 tests failed under qemu-arm")
        return cargo_test.Outcome(build.target, "native", cargo_test.Counts(4, 0, 0, 2))

    monkeypatch.setattr(cargo_test, "run_tests", fake)
    chosen = [by_name()[n] for n in ("linux-armv7", "linux-x86_64-gnu")]
    with pytest.raises(SomeTargetsFailed) as caught:
        cargo_test.run_matrix(project, chosen)
    assert caught.value.message == "tests failed for 1 of 2 targets: linux-armv7"
    err = capsys.readouterr().err
    assert "FAILED   linux-armv7: 1 of 4 tests failed under qemu-arm" in err
    assert "ok       linux-x86_64-gnu: 4 passed (2 suites under native)" in err


def test_unsplittable_args_are_bad_input() -> None:
    assert cargo_test.split_args("--nocapture 'tests::a b'", "--args") == ["--nocapture",
                                                                        "tests::a b"]
    with pytest.raises(UsageError):
        cargo_test.split_args("'unclosed", "--args")


def test_wine_runner_entry_point_rejects_bad_calls() -> None:
    assert wine_runner.main(["nope"]) == 2
    assert wine_runner.main(["sparc-unknown-none", "/tmp", "x.exe"]) == 2


def test_cannot_run_follows_the_platform() -> None:
    mac = by_name()["macos-x86_64"]
    assert cargo_test.cannot_run(mac) == platform_of(mac).cannot_run(mac)
    assert cargo_test.cannot_run(by_name()["linux-armv7"]) is None


def test_cargo_test_is_made_from_the_build_calls_parts(tmp_path: Path) -> None:
    """Not by deleting flags from the build's argv: the same target, --config, packages,
    features and --locked; none of the build's profile, message format, --bins, --lib."""
    link = linkers.LinkerPlan(kind="gcc", linker="gcc", cc="gcc", ar="ar")
    build = ["/x/cargo", "build", "--target", "t", "--message-format=json-render-diagnostics",
             "--config", "target.t.rustflags=[\"--bins\"]", "--profile", "min-size",
             "-p", "a", "-p", "b", "--bins", "--lib", "--features", "x,y", "--locked"]
    call = cargo_call.Invocation(
        build, {}, COMPILER, None, link, [],
        config_args=("--config", "target.t.rustflags=[\"--bins\"]"),
        selection=("-p", "a", "-p", "b"), tail=("--features", "x,y", "--locked"))
    assert call.test_argv(no_run=True, args=["ignored"]) == [
        str(COMPILER.cargo), "test", "--target", "t", "--config",
        "target.t.rustflags=[\"--bins\"]", "-p", "a", "-p", "b", "--features", "x,y",
        "--locked", "--no-run"]
    assert call.test_argv(no_run=False, args=["--nocapture"])[-3:] == [
        "--no-fail-fast", "--", "--nocapture"]


def test_nox_session_takes_a_project_then_test_args(monkeypatch: pytest.MonkeyPatch) -> None:
    from tooling.cli import nox_support

    loaded: list[str | None] = []
    ran: list[tuple[list[str], tuple[str, ...]]] = []

    class FakeProject:
        timeouts = Timeouts(test=1234)

        def select(self, specs: list[str]) -> list[str]:
            return specs

    class Session:
        def __init__(self, *posargs: str) -> None:
            self.posargs = list(posargs)

        def error(self, text: str) -> None:
            raise AssertionError(text)

    def load(path: str | None) -> FakeProject:
        loaded.append(path)
        return FakeProject()

    def run_matrix(project: FakeProject, targets: list[str], *, args: list[str]) -> None:
        ran.append((targets, tuple(args)))

    monkeypatch.setattr(nox_support, "load", load)
    monkeypatch.setattr(cargo_test, "run_matrix", run_matrix)
    monkeypatch.setattr(timeouts, "_current", timeouts.current())  # put back afterwards
    nox_support.test(Session("/some/project", "--show-output"), "linux-aarch64")
    assert timeouts.current().test == 1234  # the project's bounds are in force
    nox_support.test(Session("--show-output"), "linux-armv7")
    assert loaded == ["/some/project", None]
    assert ran == [(["linux-aarch64"], ("--show-output",)), (["linux-armv7"], ("--show-output",))]
