"""tooling.platforms: one module per OS of the target table, each what the Platform Protocol
declares, chosen by platform_of; what each one links, strips, runs, names and installs;
and no per-OS branch left outside matrix/ and platforms/."""

from __future__ import annotations

import ast
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from tooling.errors import StepFailed, ToolMissing, UsageError
from tooling.matrix import targets
from tooling.matrix.host import Host
from tooling.matrix.targets import TABLE, arch_row, by_name, resolve
from tooling.platforms import PLATFORMS, base, linux, macos, platform_of, runner, strip, windows
from tooling.platforms.base import Platform
from tooling.pymod import modules
from tooling.release import containers
from tooling.util import proc

TOOLING = Path(__file__).resolve().parents[2] / "tooling"
X86_64_GLIBC_HOST = Host(arch=arch_row("x86_64"), machine="EM_X86_64", elf_class=64, libc="gnu",
                         glibc="2.36")

#: the target table a hint names
WHERE = "[package.metadata.crossmatrix.target.t]"

# --- the dispatch ------------------------------------------------------------------------


def test_every_os_of_the_table_has_its_platform_module() -> None:
    assert set(PLATFORMS) == set(typing.get_args(targets.Os))
    assert {t.os for t in TABLE} <= set(PLATFORMS)
    for os_name, module in PLATFORMS.items():
        assert module.name == os_name


@pytest.mark.parametrize("module", list(PLATFORMS.values()), ids=lambda m: m.name)
def test_each_module_provides_every_member_of_the_protocol(module: Platform) -> None:
    assert isinstance(module, Platform)
    members = {name for name in vars(Platform) if not name.startswith("_")}
    assert len(members) > 25
    methods = {name for name in members if not isinstance(vars(Platform)[name], property)}
    for name in members:
        assert name in vars(module), f"{module.name} lacks {name}"
    for name in methods:
        assert callable(getattr(module, name)), f"{module.name}.{name} is not a function"


def test_platform_of_is_the_row_os_including_ad_hoc_triples() -> None:
    for target in TABLE:
        assert platform_of(target) is PLATFORMS[target.os]
    (adhoc,) = resolve("riscv64gc-unknown-linux-musl")
    assert platform_of(adhoc) is linux


def test_the_format_each_platform_names_is_a_parser_verify_has() -> None:
    assert {m.binary_format for m in PLATFORMS.values()} == set(typing.get_args(
        base.BinaryFormat))
    assert [platform_of(by_name()[n]).binary_format
            for n in ("linux-armv7", "windows-x86", "macos-x86_64")] == ["elf", "pe", "macho"]


# --- Windows -----------------------------------------------------------------------------


def test_windows_names_its_files_and_links_with_mingw() -> None:
    win64, win32 = by_name()["windows-x86_64"], by_name()["windows-x86"]
    assert (windows.exe_suffix, windows.archive_suffix) == (".exe", ".zip")
    assert modules.file_name("build_core", win64) == "build_core.pyd"
    assert modules.file_name("build_core", by_name()["linux-x86_64-gnu"]) == "build_core.so"
    assert windows.zig_target(win32) == "x86-windows-gnu"
    gcc = windows.gcc_link(win32)
    assert (gcc.gcc, gcc.ar) == ("i686-w64-mingw32-gcc", "i686-w64-mingw32-ar")
    assert gcc.packages == ("gcc-mingw-w64-i686-win32",)
    assert windows.strip_tools(win64).programs[0] == "x86_64-w64-mingw32-strip"
    assert windows.rustflags(win64) == ()
    assert windows.cargo_runner(win64) == []  # never a qemu runner for a .exe


def test_windows_installs_wine_and_only_32_bit_wants_wine32() -> None:
    win64 = windows.debian_packages(by_name()["windows-x86_64"], "gcc")
    assert win64 == base.Packages(packages=("gcc-mingw-w64-x86-64-win32", "wine", "wine64"))
    win32 = windows.debian_packages(by_name()["windows-x86"], "zig")
    assert win32.optional == ("wine32:i386",) and win32.optional_arches == ("i386",)


def _apt_only(program: str, path: str | None = None) -> str | None:
    """An apt host (setup installs what is missing: see test_no_apt.py for hosts without)
    with nothing else on PATH."""
    return f"/usr/bin/{program}" if program in ("apt-get", "dpkg-query", "sudo") else None


def test_a_missing_wine_is_a_tool_error_not_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proc, "which", _apt_only)
    target = by_name()["windows-x86_64"]
    assert windows.cannot_run(target) is None  # installing wine fixes it
    with pytest.raises(ToolMissing, match="wine is not installed"):
        windows.test_runner(target, Path("/nonexistent"), {})
    assert windows.run_program(target) == "wine"


# --- macOS -------------------------------------------------------------------------------


def test_macos_is_verified_not_run_and_says_why() -> None:
    mac = by_name()["macos-aarch64"]
    reason = macos.cannot_run(mac)
    assert reason == "no macOS here: nothing runs Mach-O programs on Linux"
    assert macos.test_runner(mac, Path("/nonexistent"), {}) is None
    assert (macos.describe_runner(mac), macos.run_program(mac)) == ("none", None)
    assert runner.NOT_RUN == "verified structurally, not run"


def test_macos_links_with_zig_for_a_minimum_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MACOSX_DEPLOYMENT_TARGET", "12.1")
    mac = by_name()["macos-x86_64"]
    zig = macos.zig_link(mac)
    assert zig.target == "x86_64-macos.12.1-none"
    assert zig.env == {"MACOSX_DEPLOYMENT_TARGET": "12.1"}
    assert macos.build_settings(mac) == {"macos": "12.1"}
    with pytest.raises(UsageError, match="linker 'gcc' cannot link macos-x86_64"):
        macos.gcc_link(mac)
    monkeypatch.setenv("MACOSX_DEPLOYMENT_TARGET", "12")
    with pytest.raises(UsageError):
        macos.build_settings(mac)


def test_macos_strips_a_library_of_its_locals_only() -> None:
    tools = macos.strip_tools(by_name()["macos-aarch64"])
    assert tools.programs[0] == "llvm-strip" and tools.package == "llvm"
    assert tools.library_flag == "-x"
    assert linux.strip_tools(by_name()["linux-aarch64"]).library_flag == "--strip-all"


def test_macos_link_hint_names_the_missing_framework(monkeypatch: pytest.MonkeyPatch) -> None:
    mac = by_name()["macos-aarch64"]
    stderr = 'error: unable to find framework "CoreFoundation"'
    monkeypatch.delenv("SDKROOT", raising=False)
    assert "CoreFoundation is an Apple framework" in (macos.link_hint(mac, stderr, WHERE) or "")
    monkeypatch.setenv("SDKROOT", "/sdk")
    assert macos.link_hint(mac, stderr, WHERE) == ("CoreFoundation is not in SDKROOT=/sdk: point "
                                            "SDKROOT at a full macOS SDK")
    assert linux.link_hint(by_name()["linux-aarch64"], stderr, WHERE) is None
    assert macos.link_hint(mac, "error: something else", WHERE) is None


def test_macos_hint_names_a_header_zig_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    """jemalloc's configure-built C includes sys/syscall.h, which Apple's SDK has and zig's
    macOS headers do not (seen in the corpus)."""
    mac = by_name()["macos-x86_64"]
    stderr = ("include/jemalloc/internal/jemalloc_internal_decls.h:23:12: fatal error: "
              "'sys/syscall.h' file not found\n1 error generated.\n")
    monkeypatch.delenv("SDKROOT", raising=False)
    hint = macos.link_hint(mac, stderr, WHERE) or ""
    assert hint.startswith("sys/syscall.h is not among zig's macOS headers")
    assert "set SDKROOT" in hint
    monkeypatch.setenv("SDKROOT", "/sdk")
    assert (macos.link_hint(mac, stderr, WHERE) or "").startswith(
        "sys/syscall.h is not in SDKROOT=/sdk")
    assert linux.link_hint(by_name()["linux-aarch64"], stderr, WHERE) is None


def test_no_strip_names_the_platforms_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proc, "which", _apt_only)
    with pytest.raises(ToolMissing) as caught:
        strip.find_strip(by_name()["macos-x86_64"])
    assert "llvm-strip-19" in caught.value.message
    assert "(installs llvm)" in (caught.value.hint or "")
    with pytest.raises(ToolMissing) as caught:
        strip.find_strip(by_name()["windows-x86"])
    assert "(installs binutils-mingw-w64-i686)" in (caught.value.hint or "")


# --- Linux -------------------------------------------------------------------------------


def test_musl_needs_zigs_crt_and_builds_no_cdylib() -> None:
    musl, gnu = by_name()["linux-aarch64"], by_name()["linux-aarch64-gnu"]
    assert linux.zig_link(musl).rustflags == ("-C", "link-self-contained=no")
    assert linux.zig_link(gnu).rustflags == ()
    assert linux.cdylib_unsupported(musl, []) == ("musl targets link statically "
                                                  "(crt-static); no shared libraries")
    assert linux.cdylib_unsupported(musl, ["-C", "target-feature=-crt-static"]) is None
    assert linux.cdylib_unsupported(gnu, []) is None
    assert linux.python_mismatch(musl) == "a musl module; this Python is glibc's"


def test_linux_gcc_is_the_hosts_for_its_own_glibc_and_debians_cross_else() -> None:
    cross = linux.gcc_link(by_name()["linux-riscv64-gnu"])
    assert cross.gcc == "riscv64-linux-gnu-gcc" and cross.ar == "riscv64-linux-gnu-ar"
    assert cross.packages == ("gcc-riscv64-linux-gnu", "libc6-dev-riscv64-cross")
    assert (cross.gxx, cross.gxx_packages) == ("riscv64-linux-gnu-g++", ("g++-riscv64-linux-gnu",))
    assert cross.ranlib == "riscv64-linux-gnu-ranlib"
    assert cross.sysroot == "/usr/riscv64-linux-gnu"
    host = next(t for t in TABLE if t.os == "linux" and t.libc == "gnu" and t.runs_natively())
    assert linux.gcc_link(host) == base.GccLink(gcc="gcc", ar="ar", packages=("gcc",),
                                                gxx="g++", gxx_packages=("g++",),
                                                ranlib="ranlib")


def test_only_glibc_targets_use_debians_libraries_and_cross_glibc() -> None:
    assert [t.name for t in TABLE if platform_of(t).debian_libraries(t)] == [
        "linux-x86_64-gnu", "linux-aarch64-gnu", "linux-riscv64-gnu"]
    musl = linux.debian_packages(by_name()["linux-armv7"], "zig")
    assert musl.packages == ("qemu-user", "binutils-arm-linux-gnueabihf")
    assert musl.arches == ()
    gnu = linux.debian_packages(by_name()["linux-aarch64-gnu"], "gcc")
    assert gnu.arches == ("arm64",)
    assert "libc6-dev-arm64-cross" in gnu.packages
    assert "libstd-rust-web-dev:arm64" in gnu.std  # one std provider of several


def test_a_dynamic_cross_binary_runs_with_the_cross_sysroot() -> None:
    gnu = by_name()["linux-riscv64-gnu"]
    assert linux.prefix(gnu) == ["qemu-riscv64", "-L", "/usr/riscv64-linux-gnu",
                                 "-E", "LD_LIBRARY_PATH=/usr/riscv64-linux-gnu/lib"]
    assert linux.prefix(by_name()["linux-armv7"]) == ["qemu-arm"]
    assert linux.cargo_runner(gnu) == linux.prefix(gnu)


def test_deploy_fits_by_arch_then_libc() -> None:
    musl, gnu = by_name()["linux-x86_64"], by_name()["linux-x86_64-gnu"]
    assert linux.fits_host(musl, X86_64_GLIBC_HOST, None)[0]
    assert linux.fits_host(gnu, X86_64_GLIBC_HOST, "2.34") == (True, "glibc 2.36 ≥ 2.34")
    assert linux.fits_host(gnu, X86_64_GLIBC_HOST, "2.39") == (
        False, "needs glibc 2.39, this machine has 2.36")
    assert not linux.fits_host(by_name()["linux-aarch64"], X86_64_GLIBC_HOST, None)[0]
    assert windows.fits_host(by_name()["windows-x86_64"], X86_64_GLIBC_HOST, None) == (
        False, "a windows build; deploy installs on Linux")
    floored = resolve("linux-x86_64-gnu.2.17")[0]
    ranked = sorted([musl, gnu, floored], key=lambda t: linux.preference(t, X86_64_GLIBC_HOST))
    assert [t.name for t in ranked] == ["linux-x86_64-gnu.2.17", "linux-x86_64-gnu",
                                        "linux-x86_64"]
    assert linux.preference(musl, None) < linux.preference(gnu, None)  # static first


# --- data rows the platforms read ----------------------------------------------------------


def test_arch_rows_carry_docker_and_multiarch_names() -> None:
    assert [containers._arch(by_name()[n]) for n in
            ("linux-x86_64", "linux-aarch64", "linux-armv7")] == ["amd64", "arm64", "arm"]
    assert arch_row("i686").multiarch == "i386-linux-gnu"  # not its gnu_prefix
    assert [t.name for t in TABLE if platform_of(t).scratch_image(t)] == [
        "linux-x86_64", "linux-aarch64", "linux-armv7"]
    assert [t.name for t in TABLE if t.needs_rtstartup] == ["windows-x86_64", "windows-x86"]
    assert by_name()["linux-aarch64-gnu"].glibc_loader == "/lib/ld-linux-aarch64.so.1"
    assert by_name()["linux-aarch64"].glibc_loader is None


def test_the_wine_runner_starts_without_a_runpy_warning() -> None:
    """``-m tooling.cli.wine_runner`` is not imported by the package, so ``-m`` runs it
    fresh."""
    res = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m",
                          "tooling.cli.wine_runner", "nope"], capture_output=True, text=True,
                         check=False, cwd=TOOLING.parent)
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("usage: python -m tooling.cli.wine_runner")


# --- no per-OS branch outside matrix/ and platforms/ -----------------------------------------

_ASKED = {"is_linux", "is_glibc", "is_static"}


def _branches(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr in _ASKED:
            found.append(f"{path.name}:{node.lineno} .{node.attr}")
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(s, ast.Attribute) and s.attr in ("os", "libc") for s in sides):
                found.append(f"{path.name}:{node.lineno} compares .os/.libc")
    return found


def test_no_module_outside_matrix_and_platforms_branches_on_the_os() -> None:
    paths = [p for p in TOOLING.rglob("*.py")
             if p.relative_to(TOOLING).parts[0] not in ("matrix", "platforms")]
    assert len(paths) > 40
    assert [b for p in paths for b in _branches(p)] == []


def _fake_wine(bin_dir: Path, log: Path) -> Path:
    """``wine wineboot`` makes a prefix (and fails if one is half there); ``wineserver``
    notes how it was called."""
    bin_dir.mkdir()
    wine = bin_dir / "wine"
    wine.write_text('#!/bin/sh\n[ "$1" = wineboot ] || exit 9\n'
                    '[ -e "$WINEPREFIX/drive_c" ] && [ ! -e "$WINEPREFIX/system.reg" ] && exit 5\n'
                    'mkdir -p "$WINEPREFIX/drive_c" && touch "$WINEPREFIX/system.reg"\n')
    server = bin_dir / "wineserver"
    server.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    for tool in (wine, server):
        tool.chmod(0o755)
    return wine


def test_a_half_made_wine_prefix_is_made_again(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    wine = _fake_wine(tmp_path / "bin", calls)
    prefix = tmp_path / "wine" / "prefix"
    environment = {**proc.child_env(windows.env(prefix)),
                   "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin"}
    windows.start_server(str(wine), prefix, environment)  # first boot: the record is made
    assert (prefix / windows.BOOTED).is_file() and (prefix / "system.reg").is_file()
    (prefix / "drive_c" / "mine").write_text("kept\n")
    windows.start_server(str(wine), prefix, environment)  # a booted prefix is left alone
    assert (prefix / "drive_c" / "mine").is_file()
    assert "-k" not in calls.read_text().split()

    (prefix / windows.BOOTED).unlink()  # as a killed first boot leaves it
    (prefix / "system.reg").unlink()
    windows.start_server(str(wine), prefix, environment)
    assert (prefix / windows.BOOTED).is_file() and (prefix / "system.reg").is_file()
    assert not (prefix / "drive_c" / "mine").exists()
    assert calls.read_text().split().count("-k") == 1  # its server was stopped first


def test_a_failed_wine_boot_is_one_error_naming_the_prefix(tmp_path: Path) -> None:
    wine = tmp_path / "wine"
    wine.write_text("#!/bin/sh\necho 'wine: could not load kernel32.dll' >&2\nexit 1\n")
    wine.chmod(0o755)
    prefix = tmp_path / "prefix"
    with pytest.raises(StepFailed) as failed:
        windows.start_server(str(wine), prefix, {**proc.child_env(windows.env(prefix)),
                                                 "PATH": "/usr/bin:/bin"})
    assert str(prefix) in failed.value.message and "kernel32.dll" in failed.value.message
    assert not (prefix / windows.BOOTED).exists()


# --- the smoke test ----------------------------------------------------------------------

def _program(tmp_path: Path, body: str) -> Path:
    program = tmp_path / "demo"
    program.write_text(f"#!/bin/sh\n{body}\n")
    program.chmod(0o755)
    return program


def _native() -> targets.Target:
    target = by_name()["linux-x86_64"]
    if linux.prefix(target):
        pytest.skip("linux-x86_64 programs do not run natively here")
    return target


@pytest.mark.parametrize(("body", "line", "names"), [
    ("echo 'demo 1.0'", "demo 1.0", False),  # most real programs: passes all the same
    ("echo 'demo 1.0 (x86_64-unknown-linux-musl)'", "demo 1.0 (x86_64-unknown-linux-musl)",
     True),
    ("echo 'demo 1.0'; echo 'built for x86_64-unknown-linux-musl' >&2", "demo 1.0", True),
    ("echo 'usage: demo' >&2", "usage: demo", False),  # no stdout: stderr's first line
    ("true", "", False),
])
def test_the_smoke_test_passes_on_exit_0_and_says_if_the_triple_was_named(
        tmp_path: Path, body: str, line: str, names: bool) -> None:
    result = runner.smoke(_native(), _program(tmp_path, body), ("--version",), tmp_path)
    assert (result.line, result.names_triple, result.runner) == (line, names, "native")


def test_the_smoke_test_fails_on_another_exit_status(tmp_path: Path) -> None:
    with pytest.raises(StepFailed, match=r"demo exited with 2 under native: no such option"):
        runner.smoke(_native(), _program(tmp_path, "echo 'no such option' >&2; exit 2"),
                     ("--version",), tmp_path)


def test_the_triple_is_a_condition_only_where_it_is_required(tmp_path: Path) -> None:
    target = _native()
    program = _program(tmp_path, "echo 'demo 1.0'")
    result = runner.smoke(target, program, ("--version",), tmp_path)
    with pytest.raises(StepFailed) as failed:
        runner.require_triple(result, target, program, "the hint")
    assert failed.value.message == (
        "demo ran under native but did not print x86_64-unknown-linux-musl: demo 1.0")
    assert failed.value.hint == "the hint"
    named = runner.smoke(target, _program(tmp_path, "echo x86_64-unknown-linux-musl"),
                         ("--version",), tmp_path)
    runner.require_triple(named, target, program, "the hint")  # no error


def test_windows_hint_names_the_dll_of_functions_nothing_linked() -> None:
    """A build script that asks cfg!(windows) (the build machine) names no Windows
    libraries when it cross-compiles (unrar-ng-sys: powrprof, shell32, advapi32): the DLL
    that exports each undefined function, from MinGW-w64's module definitions, and the -l
    that links it; 32-bit x86's decorated names too."""
    x64, x86 = by_name()["windows-x86_64"], by_name()["windows-x86"]
    stderr = ("unrar.o: undefined reference to `__imp_CallNtPowerInformation'\n"
              "unrar.o: undefined reference to `__imp_SHGetFolderPathW'\n"
              "unrar.o: undefined reference to `_Z10IsWindows10v'\n")
    hint = windows.link_hint(x64, stderr, WHERE) or ""
    assert hint.startswith("Windows functions whose DLL nothing links for x86_64-pc-windows-gnu: "
                           "CallNtPowerInformation (powrprof.dll), SHGetFolderPathW "
                           "(shell32.dll); 1 other undefined symbol no Windows DLL exports"), hint
    assert hint.endswith(f'rustflags = ["-l", "powrprof", "-l", "shell32"] in {WHERE}')
    decorated = "undefined reference to `_imp__CallNtPowerInformation@20'\n"
    assert '"-l", "powrprof"' in (windows.link_hint(x86, decorated, WHERE) or "")
    assert windows.exporting(x86, "CallNtPowerInformation") == ("powrprof",)
    # a symbol of the crate's own, or no link error at all: no hint
    assert windows.link_hint(x64, "undefined reference to `_Z10IsWindows10v'\n", WHERE) is None
    assert windows.link_hint(x64, "error: something else", WHERE) is None


def test_windows_hint_names_a_header_included_in_another_case() -> None:
    """unrar-ng-sys includes <PowrProf.h>, as on Windows, whose file names ignore case;
    MinGW-w64 ships powrprof.h (seen in the corpus, with gcc's and clang's words)."""
    x64 = by_name()["windows-x86_64"]
    for said in ("os.hpp:54:10: fatal error: PowrProf.h: No such file or directory",
                 "os.hpp:54:10: fatal error: 'PowrProf.h' file not found"):
        hint = windows.link_hint(x64, said, WHERE) or ""
        assert hint.startswith("PowrProf.h is /"), hint
        assert "/powrprof.h here: a build script's C includes it as on Windows" in hint
        assert "CXXFLAGS_x86_64_pc_windows_gnu" in hint and WHERE in hint
    # a header that is not there in any case, or is there as named: not this
    assert windows.link_hint(x64, "fatal error: nothere.h: No such file or directory",
                             WHERE) is None
    assert windows.link_hint(x64, "fatal error: windows.h: No such file or directory",
                             WHERE) is None
