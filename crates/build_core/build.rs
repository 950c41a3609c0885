// The link arguments an extension module needs (on macOS: leave Python's symbols to the
// interpreter that loads the module, `-undefined dynamic_lookup`), and the target triple.
fn main() {
    pyo3_build_config::add_extension_module_link_args();
    let target = std::env::var("TARGET").expect("cargo sets TARGET for build scripts");
    println!("cargo:rustc-env=BUILD_CORE_TARGET={target}");
    if target.contains("apple") {
        // the dylib's own name, instead of the build folder's absolute path (which differs
        // per checkout and says nothing to the Python that loads the module): as maturin does
        println!("cargo:rustc-cdylib-link-arg=-Wl,-install_name,@rpath/build_core.so");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
