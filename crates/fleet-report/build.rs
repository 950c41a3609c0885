fn main() {
    let target = std::env::var("TARGET").expect("cargo sets TARGET for build scripts");
    println!("cargo:rustc-env=FLEET_REPORT_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
