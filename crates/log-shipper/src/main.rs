//! log-shipper: compresses log lines with zlib before they leave the board.
//!
//! zlib is a C library: on Linux gnu targets the system's (`libz.so.1`, found through
//! pkg-config in Debian's multiarch folders), elsewhere built from source and linked in.

use std::ffi::CStr;
use std::os::raw::c_ulong;

const TARGET: &str = env!("LOG_SHIPPER_TARGET");

/// The version of the zlib this program runs with (the C library's own answer).
pub fn zlib_version() -> String {
    // SAFETY: zlibVersion returns a pointer to a static NUL-terminated string.
    unsafe { CStr::from_ptr(libz_sys::zlibVersion()) }.to_string_lossy().into_owned()
}

pub fn compress(data: &[u8]) -> Vec<u8> {
    // SAFETY: compressBound is a pure function of the length.
    let mut len = unsafe { libz_sys::compressBound(data.len() as c_ulong) };
    let mut out = vec![0u8; len as usize];
    // SAFETY: `out` has room for `len` bytes; zlib writes at most that and updates `len`.
    let rc = unsafe {
        libz_sys::compress2(out.as_mut_ptr(), &mut len, data.as_ptr(), data.len() as c_ulong, 9)
    };
    assert_eq!(rc, libz_sys::Z_OK, "compress2 failed");
    out.truncate(len as usize);
    out
}

pub fn decompress(data: &[u8], original_len: usize) -> Option<Vec<u8>> {
    let mut len = original_len as c_ulong;
    let mut out = vec![0u8; original_len];
    // SAFETY: `out` has room for `len` bytes; zlib reads `data.len()` bytes from `data`.
    let rc = unsafe {
        libz_sys::uncompress(out.as_mut_ptr(), &mut len, data.as_ptr(), data.len() as c_ulong)
    };
    (rc == libz_sys::Z_OK && len as usize == original_len).then_some(out)
}

fn sample_log() -> Vec<u8> {
    (0..200)
        .map(|i| format!("2026-11-22T10:{:02}:00Z inverter-3 power_w={} ok\n", i % 60, 4000 + i))
        .collect::<String>()
        .into_bytes()
}

fn main() {
    let log = sample_log();
    let packed = compress(&log);
    let unpacked = decompress(&packed, log.len()).expect("zlib round trip");
    assert_eq!(unpacked, log);
    println!(
        "log-shipper {} ({TARGET}; zlib {}): {} bytes of log -> {} compressed",
        env!("CARGO_PKG_VERSION"),
        zlib_version(),
        log.len(),
        packed.len()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_shrinks_repetitive_logs() {
        let log = sample_log();
        let packed = compress(&log);
        assert!(packed.len() * 5 < log.len(), "{} -> {}", log.len(), packed.len());
        assert_eq!(decompress(&packed, log.len()).unwrap(), log);
    }

    #[test]
    fn output_is_a_zlib_stream() {
        let packed = compress(b"hello board");
        // RFC 1950 header: CM=8 (deflate), and the header as a big-endian u16 is a multiple of 31
        assert_eq!(packed[0] & 0x0f, 8);
        assert_eq!(u16::from_be_bytes([packed[0], packed[1]]) % 31, 0);
    }

    #[test]
    fn corrupt_input_is_refused() {
        let mut packed = compress(b"some log line");
        let last = packed.len() - 1;
        packed[last] ^= 0xff; // break the Adler-32 checksum
        assert!(decompress(&packed, 13).is_none());
    }

    #[test]
    fn zlib_is_version_1() {
        assert!(zlib_version().starts_with("1."), "{}", zlib_version());
    }
}
