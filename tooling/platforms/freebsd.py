"""FreeBSD: dynamic ELF programs against FreeBSD's libc, linked by zig, stripped by llvm-strip,
verified structurally (the FreeBSD brand and runtime linker) and not run here. What it shares
with the other BSD is :mod:`tooling.platforms.bsd`'s."""

from __future__ import annotations

from tooling.matrix.targets import Os
from tooling.platforms import bsd
from tooling.platforms.base import BinaryFormat, never_fits, no_preference, no_scratch_image

name: Os = "freebsd"
binary_format: BinaryFormat = "elf"
exe_suffix = ""
archive_suffix = ".tar.gz"
module_suffix = ".so"
links_python_dll = False

zig_target = bsd.zig_target
zig_link = bsd.zig_link
gcc_link = bsd.gcc_link
rustflags = bsd.rustflags
build_settings = bsd.build_settings
cdylib_unsupported = bsd.cdylib_unsupported
cmake_system = bsd.cmake_system
link_hint = bsd.link_hint
strip_tools = bsd.strip_tools

cannot_run = bsd.cannot_run
describe_runner = bsd.describe_runner
run_program = bsd.run_program
cargo_runner = bsd.cargo_runner
run = bsd.run
test_runner = bsd.test_runner
python_mismatch = bsd.python_mismatch

debian_libraries = bsd.debian_libraries
debian_packages = bsd.debian_packages
# deploy installs on Linux only
fits_host = never_fits
preference = no_preference
scratch_image = no_scratch_image
