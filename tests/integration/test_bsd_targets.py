"""FreeBSD, NetBSD and Windows on ARM through the console script: a small std program (threads,
a file, stdout) released for x86_64-unknown-freebsd, x86_64-unknown-netbsd and
aarch64-pc-windows-gnullvm, std from
rustup (added when missing), linked by zig, stripped, verified structurally (the FreeBSD
brand and runtime linker; an ARM64 PE importing only Windows' own DLLs), recorded "verified
structurally, not run" with the reason, and packaged."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import Run, crossmatrix

pytestmark = pytest.mark.integration

FREEBSD = "x86_64-unknown-freebsd"
NETBSD = "x86_64-unknown-netbsd"
WOA = "aarch64-pc-windows-gnullvm"

MAIN = """use std::io::Write;

fn main() {
    let worker = std::thread::spawn(|| std::env::consts::OS.len());
    let path = std::env::temp_dir().join("bsd-hello.txt");
    std::fs::File::create(&path).and_then(|mut f| f.write_all(b"hello")).unwrap();
    let read = std::fs::read_to_string(&path).unwrap();
    println!("{read} from {} on {}", std::env::consts::ARCH, std::env::consts::OS);
    std::process::exit(if worker.join().unwrap() > 0 { 0 } else { 1 });
}
"""


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    if shutil.which("rustup") is None:
        pytest.skip("needs rustup (its std for both targets)")
    crate = tmp_path_factory.mktemp("bsd") / "bsd-hello"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(
        '[package]\nname = "bsd-hello"\nversion = "0.1.0"\nedition = "2021"\n\n'
        f'[package.metadata.crossmatrix]\ntargets = ["{FREEBSD}", "{NETBSD}", "{WOA}"]\n'
        'dist = "out"\n')
    (crate / "src" / "main.rs").write_text(MAIN)
    return crate, crossmatrix(crate, "release", timeout=1800)


def _info(crate: Path, triple: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((crate / "out" / triple / "build_info.json").read_text())
    return found


def _verified(crate: Path, triple: str) -> dict[str, Any]:
    state = json.loads((crate / "target" / "crossmatrix" / triple / "state.json").read_text())
    found: dict[str, Any] = state["verify"]["data"][
        "bsd-hello" + (".exe" if "windows" in triple else "")]
    return found


def test_both_release_with_rustups_std_and_zig(released: tuple[Path, Run]) -> None:
    crate, result = released
    assert result.returncode == 0, result.stderr[-3000:]
    for triple in (FREEBSD, NETBSD, WOA):
        info = _info(crate, triple)
        assert (info["std_provider"], info["linker"], info["ran"]) == ("rustup", "zig", False)
        assert info["triple"] == triple and info["linkage"] == "dynamic"
        assert (crate / "out" / triple / info["archive"]["file"]).is_file()
    assert _info(crate, FREEBSD)["os"] == "freebsd" and _info(crate, FREEBSD)["libc"] == "bsd"
    assert _info(crate, NETBSD)["os"] == "netbsd" and _info(crate, NETBSD)["libc"] == "bsd"
    assert _info(crate, WOA)["os"] == "windows"
    assert _info(crate, WOA)["archive"]["file"].endswith(".zip")


def test_freebsd_is_verified_by_its_brand_and_loader(released: tuple[Path, Run]) -> None:
    crate, result = released
    assert result.returncode == 0, result.stderr[-3000:]
    verified = _verified(crate, FREEBSD)
    checks = verified["checks"]
    assert verified["ok"] and all(c["ok"] for c in checks.values()), checks
    assert set(checks) == {"machine", "class", "endian", "osabi", "linkage", "stripped"}
    assert checks["machine"]["actual"] == "EM_X86_64"
    assert checks["osabi"]["actual"].startswith("FreeBSD ")
    assert "ABI tag note" in checks["osabi"]["actual"]
    assert verified["interpreter"] == "/libexec/ld-elf.so.1"
    assert "libc.so.7" in verified["needed"] and verified["highest_glibc"] is None
    # readelf agrees on the program in the archive's staging folder
    [artifact] = _info(crate, FREEBSD)["artifacts"]
    staged = crate / "target" / "crossmatrix" / FREEBSD / "bin" / "bsd-hello"
    said = subprocess.run(["readelf", "-h", "-l", "-n", "-W", str(staged)], check=True,
                          capture_output=True, text=True).stdout
    assert "[Requesting program interpreter: /libexec/ld-elf.so.1]" in said
    assert "FreeBSD" in said and "Advanced Micro Devices X86-64" in said
    assert artifact["stripped"] is True and artifact["machine"] == "EM_X86_64"


def test_netbsd_is_verified_by_its_ident_note_and_loader(released: tuple[Path, Run]) -> None:
    crate, result = released
    assert result.returncode == 0, result.stderr[-3000:]
    verified = _verified(crate, NETBSD)
    checks = verified["checks"]
    assert verified["ok"] and all(c["ok"] for c in checks.values()), checks
    assert checks["osabi"]["actual"].startswith("NetBSD ")
    assert "ident note" in checks["osabi"]["actual"]
    assert verified["interpreter"] in ("/libexec/ld.elf_so", "/usr/libexec/ld.elf_so")
    assert "libc.so.12" in verified["needed"]
    staged = crate / "target" / "crossmatrix" / NETBSD / "bin" / "bsd-hello"
    said = subprocess.run(["readelf", "-n", "-l", "-W", str(staged)], check=True,
                          capture_output=True, text=True).stdout
    assert ".note.netbsd.ident" in said and "NetBSD" in said
    assert f"[Requesting program interpreter: {verified['interpreter']}]" in said


def test_windows_on_arm_is_an_arm64_pe_of_system_dlls(released: tuple[Path, Run]) -> None:
    crate, result = released
    assert result.returncode == 0, result.stderr[-3000:]
    verified = _verified(crate, WOA)
    checks = verified["checks"]
    assert verified["ok"] and all(c["ok"] for c in checks.values()), checks
    assert checks["machine"]["actual"] == "IMAGE_FILE_MACHINE_ARM64"
    assert checks["class"]["actual"] == "PE32+"
    assert "kernel32.dll" in checks["dlls"]["actual"]
    assert "hand list" not in checks["dlls"]["expected"]  # zig's module definitions


def test_neither_ran_and_the_records_say_why(released: tuple[Path, Run]) -> None:
    crate, result = released
    assert result.returncode == 0, result.stderr[-3000:]
    said = {triple: _info(crate, triple)["artifacts"][0]["run"]
            for triple in (FREEBSD, NETBSD, WOA)}
    assert said[FREEBSD]["output"] == ("verified structurally, not run (no FreeBSD emulator "
                                       "here: nothing on Linux runs FreeBSD programs)")
    assert said[NETBSD]["output"] == ("verified structurally, not run (no NetBSD emulator "
                                      "here: nothing on Linux runs NetBSD programs)")
    assert said[WOA]["output"].startswith(
        "verified structurally, not run (no aarch64 Windows here: wine on this ")
    assert all(run["ran"] is False and run["runner"] is None for run in said.values())
    assert f"{FREEBSD}: verified structurally, not run: no FreeBSD emulator" in result.stderr
