// Records the target triple this binary is compiled for, so `--version`
// proves under emulation that the right binary ran.
fn main() {
    let target = std::env::var("TARGET").expect("cargo sets TARGET for build scripts");
    println!("cargo:rustc-env=EDGE_AGENT_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
