"""macOS code that links an Apple framework: without a macOS SDK the build fails with one
line saying to set SDKROOT; with SDKROOT pointing at an SDK (here a minimal one holding a
text stub of CoreFoundation, the same .tbd format Xcode's SDKs use) it links, and verify
accepts the framework because it lives under /System."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.helpers import crossmatrix

pytestmark = pytest.mark.integration

TBD = """\
--- !tapi-tbd
tbd-version:     4
targets:         [ x86_64-macos, arm64-macos ]
install-name:    '/System/Library/Frameworks/CoreFoundation.framework/Versions/A/CoreFoundation'
current-version: 1.0
exports:
  - targets:         [ x86_64-macos, arm64-macos ]
    symbols:         [ _CFAbsoluteTimeGetCurrent ]
...
"""
MAIN = """\
#[link(name = "CoreFoundation", kind = "framework")]
extern "C" {
    fn CFAbsoluteTimeGetCurrent() -> f64;
}
fn main() {
    let now = unsafe { CFAbsoluteTimeGetCurrent() };
    println!("uses-cf {now} (aarch64-apple-darwin)");
}
"""


def _project(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "Cargo.toml").write_text(
        '[package]\nname = "uses-cf"\nversion = "0.1.0"\nedition = "2021"\n')
    (root / "src" / "main.rs").write_text(MAIN)
    (root / "pyproject.toml").write_text(
        '[tool.crossmatrix]\noffline = true\ntargets = ["macos-aarch64"]\n'
        'std-provider = "build-std"\n')
    return root


def test_framework_without_sdk_fails_with_one_line_naming_sdkroot(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    result = crossmatrix(project, "release", env={"SDKROOT": ""})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    hint = [line for line in result.stderr.splitlines() if "hint:" in line]
    assert hint and "CoreFoundation" in hint[-1] and "set SDKROOT" in hint[-1], hint
    assert not (project / "dist" / "macos-aarch64").exists()


def test_framework_with_sdkroot_links_and_verifies(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    sdk = tmp_path / "MacOSX.sdk"
    framework = sdk / "System" / "Library" / "Frameworks" / "CoreFoundation.framework"
    framework.mkdir(parents=True)
    (framework / "CoreFoundation.tbd").write_text(TBD)
    (sdk / "usr" / "lib").mkdir(parents=True)
    result = crossmatrix(project, "release", env={"SDKROOT": str(sdk)})
    assert result.returncode == 0, result.stderr[-3000:]
    info = json.loads((project / "dist" / "macos-aarch64" / "build_info.json").read_text())
    (artifact,) = info["artifacts"]
    assert artifact["needed"] == [
        "/System/Library/Frameworks/CoreFoundation.framework/Versions/A/CoreFoundation",
        "/usr/lib/libSystem.B.dylib"]
    assert artifact["signature"] == "valid"
    assert artifact["run"]["ran"] is False
