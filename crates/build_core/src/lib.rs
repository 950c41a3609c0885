//! build_core: the native half of a Python tool, shipped as one abi3 module per platform.

use pyo3::prelude::*;

/// The Rust target triple this module was compiled for.
#[pyfunction]
fn target() -> &'static str {
    env!("BUILD_CORE_TARGET")
}

/// CRC-32 (IEEE) of `data`, the checksum the build step stamps on firmware images.
#[pyfunction]
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// (count, mean, min, max) of a list of readings; ValueError when it is empty.
#[pyfunction]
fn summarize(values: Vec<f64>) -> PyResult<(usize, f64, f64, f64)> {
    if values.is_empty() {
        return Err(pyo3::exceptions::PyValueError::new_err("summarize() needs at least one value"));
    }
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Ok((n, mean, min, max))
}

#[pymodule]
fn build_core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(target, m)?)?;
    m.add_function(wrap_pyfunction!(crc32, m)?)?;
    m.add_function(wrap_pyfunction!(summarize, m)?)?;
    Ok(())
}
