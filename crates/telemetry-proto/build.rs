// Generates the message types from proto/telemetry.proto with prost-build, which runs
// protoc on the build machine: crossmatrix finds it and sets PROTOC (or says what to install).
fn main() -> std::io::Result<()> {
    let target = std::env::var("TARGET").expect("cargo sets TARGET for build scripts");
    println!("cargo:rustc-env=TELEMETRY_PROTO_TARGET={target}");
    println!("cargo:rerun-if-changed=proto/telemetry.proto");
    println!("cargo:rerun-if-changed=build.rs");
    prost_build::compile_protos(&["proto/telemetry.proto"], &["proto"])
}
