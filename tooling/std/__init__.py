"""Where std comes from: the compiler, the std providers (rustup, Debian, build-std) and the
sysroot cache.
"""
