// Records the target triple, so `--version` proves under emulation that the right binary ran.
fn main() {
    let target = std::env::var("TARGET").expect("cargo sets TARGET for build scripts");
    println!("cargo:rustc-env=LOG_SHIPPER_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
