"""`crossmatrix test`: a workspace's own `cargo test`, compiled for the target and run on it
(qemu for foreign Linux targets, natively for the host), offline, with every std provider:
build-std for the musl targets, Debian's multiarch std for linux-aarch64-gnu, rustup (what it
already has) for the host. The std cache is the one the other integration tests share."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.integration.helpers import crossmatrix, providers

pytestmark = pytest.mark.integration

LIB = '''\
//! Tests that prove where they ran.

/// The target triple this crate was compiled for.
///
/// ```
/// assert_eq!(probe::TARGET.split('-').nth(2), Some(std::env::consts::OS));
/// ```
pub const TARGET: &str = env!("PROBE_TARGET");

/// The sum of `values`, added up on `threads` threads.
pub fn parallel_sum(values: &[u64], threads: usize) -> u64 {
    let chunk = values.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let parts: Vec<_> = values
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().sum::<u64>()))
            .collect();
        parts.into_iter().map(|part| part.join().unwrap()).sum()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_as_the_target() {
        let arch = match TARGET.split('-').next().unwrap() {
            "armv7" => "arm",
            other => other,
        };
        let compiled = if cfg!(target_arch = "aarch64") {
            "aarch64"
        } else if cfg!(target_arch = "arm") {
            "arm"
        } else if cfg!(target_arch = "x86_64") {
            "x86_64"
        } else {
            "other"
        };
        assert_eq!(compiled, arch);
        assert_eq!(std::env::consts::ARCH, arch);
        let bits = if arch == "arm" { 32 } else { 64 };
        assert_eq!(usize::BITS, bits);
        assert_eq!(std::mem::size_of::<*const u8>() * 8, bits as usize);
        println!("probe: ran as {arch}, {bits}-bit ({TARGET})");
    }

    #[test]
    fn threads_add_up() {
        let values: Vec<u64> = (1..=100_000).collect();
        assert_eq!(parallel_sum(&values, 8), 5_000_050_000);
        let (tx, rx) = std::sync::mpsc::channel();
        let workers: Vec<_> = (0..4u64)
            .map(|i| {
                let tx = tx.clone();
                std::thread::spawn(move || tx.send(i * i).unwrap())
            })
            .collect();
        drop(tx);
        workers.into_iter().for_each(|w| w.join().unwrap());
        assert_eq!(rx.iter().sum::<u64>(), 14);
    }

    #[test]
    #[should_panic(expected = "unwinds")]
    fn panics_unwind() {
        panic!("unwinds");
    }

    #[cfg(feature = "broken")]
    #[test]
    fn broken_on_purpose() {
        assert_eq!(parallel_sum(&[1, 2], 2), 4, "1 + 2 is not 4");
    }
}
'''

FILES = {
    "Cargo.toml": '[workspace]\nresolver = "2"\nmembers = ["probe"]\n',
    "probe/Cargo.toml": '[package]\nname = "probe"\nversion = "0.1.0"\nedition = "2021"\n\n'
                        "[features]\nbroken = []\n",
    "probe/build.rs": 'fn main() {\n    println!("cargo:rustc-env=PROBE_TARGET={}", '
                      'std::env::var("TARGET").unwrap());\n}\n',
    "probe/src/lib.rs": LIB,
    "probe/tests/together.rs": "#[test]\nfn sums_across_threads() {\n"
                               "    assert_eq!(probe::parallel_sum(&[1, 2, 3, 4, 5], 2), 15);\n}\n",
}
PROVIDERS = providers({"linux-aarch64": "build-std", "linux-armv7": "build-std",
                       "linux-aarch64-gnu": "debian"})
TESTS = ("tests::runs_as_the_target", "tests::threads_add_up",
         "tests::panics_unwind - should panic", "sums_across_threads")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cargo workspace, and a project for it (offline)."""
    root = tmp_path_factory.mktemp("probe")
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "pyproject.toml").write_text("[tool.crossmatrix]\noffline = true\n" + PROVIDERS)
    return root


@pytest.mark.parametrize(("name", "runner", "arch"), [
    ("linux-aarch64", "qemu-aarch64", "aarch64, 64-bit"),
    ("linux-armv7", "qemu-arm", "arm, 32-bit"),
    ("linux-aarch64-gnu", "qemu-aarch64 -L /usr/aarch64-linux-gnu", "aarch64, 64-bit"),
    ("linux-x86_64-gnu", "native", "x86_64, 64-bit"),
])
def test_cargo_test_runs_on_the_target(workspace: Path, name: str, runner: str,
                                       arch: str) -> None:
    result = crossmatrix(workspace, "test", "--target", name, "--args", "--show-output")
    assert result.returncode == 0, result.stderr[-3000:]
    for test in TESTS:
        assert f"test {test} ... ok" in result.stdout, result.stdout
    assert re.search(r"test probe/src/lib\.rs - TARGET \(line \d+\) \.\.\. ok", result.stdout)
    assert f"probe: ran as {arch}" in result.stdout  # --args reached the test binary
    assert f"{name} test with " in result.stderr
    assert f", runner {runner}" in result.stderr
    foreign = runner != "native"
    assert ("RUST_TEST_THREADS=1: one test thread under qemu" in result.stderr) == foreign
    assert f"{name} tests: 5 passed (3 suites under {runner}" in result.stderr


def test_a_failing_test_is_one_line_and_a_nonzero_exit(workspace: Path, tmp_path: Path) -> None:
    project = tmp_path / "broken"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        f'[tool.crossmatrix]\nworkspace = "{workspace}"\noffline = true\n'
        'features = ["broken"]\n' + PROVIDERS)
    result = crossmatrix(project, "test", "--target", "linux-aarch64")
    assert result.returncode == 1, result.stderr[-3000:]
    assert "test tests::broken_on_purpose ... FAILED" in result.stdout
    assert "test tests::threads_add_up ... ok" in result.stdout  # the others still ran
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: linux-")]
    assert errors == ["error: linux-aarch64: 1 of 6 tests failed under qemu-aarch64 "
                      "(tests::broken_on_purpose)"]
    assert "Traceback" not in result.stderr


def test_macos_tests_are_refused_unless_only_built(workspace: Path) -> None:
    result = crossmatrix(workspace, "test", "--target", "macos-aarch64")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: macos-aarch64: its tests cannot run here (no macOS here: nothing runs Mach-O "
        "programs on Linux)",
        "  hint: `inv test --target macos-aarch64 --no-run` builds them without running them"]
