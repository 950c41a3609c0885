"""Plan, then execute: what each target's build will be — compiler, std provider, linker and
C toolchain, environment, rustflags, the cargo calls, the steps and what each needs, what is
missing and its fix — as frozen data. Planning runs no build step and writes nothing."""
