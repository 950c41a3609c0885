// Compiles the C half of this crate with the target's C compiler: crossmatrix
// points `CC_<triple>`/`AR_<triple>` at zig cc or the cross gcc.
fn main() {
    cc::Build::new().file("src/crc32.c").warnings(true).compile("sensorcrc");
    let target = std::env::var("TARGET").expect("cargo sets TARGET for build scripts");
    println!("cargo:rustc-env=SENSOR_CRC_TARGET={target}");
    println!("cargo:rerun-if-changed=src/crc32.c");
    println!("cargo:rerun-if-changed=build.rs");
}
