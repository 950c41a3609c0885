//! sensor-crc: CRC-32 of its arguments, computed by C code compiled through `cc`.

use std::ffi::{c_char, CStr};

const TARGET: &str = env!("SENSOR_CRC_TARGET");

extern "C" {
    fn sensor_crc32(data: *const u8, len: usize) -> u32;
    fn sensor_cc() -> *const c_char;
}

fn crc32(data: &[u8]) -> u32 {
    // SAFETY: the C function reads exactly `len` bytes from `data`.
    unsafe { sensor_crc32(data.as_ptr(), data.len()) }
}

fn c_compiler() -> String {
    // SAFETY: sensor_cc returns a pointer to a static NUL-terminated string.
    unsafe { CStr::from_ptr(sensor_cc()) }.to_string_lossy().into_owned()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--version") {
        println!("sensor-crc {} ({TARGET}; C by {})", env!("CARGO_PKG_VERSION"), c_compiler());
        return;
    }
    let frame = args.join(" ");
    println!("{:08x}", crc32(frame.as_bytes()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
