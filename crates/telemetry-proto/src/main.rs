//! telemetry-proto: encodes a batch of readings as protobuf and decodes it again.
//! The types come from proto/telemetry.proto, generated at build time by prost-build.

use prost::Message;

pub mod telemetry {
    include!(concat!(env!("OUT_DIR"), "/telemetry.rs"));
}

use telemetry::{Batch, Reading};

const TARGET: &str = env!("TELEMETRY_PROTO_TARGET");

pub fn sample_batch() -> Batch {
    Batch {
        site: "site-7".into(),
        readings: vec![
            Reading { sensor: "soc".into(), value: 81.5, at_ms: 1_700_000_000_000, tags: vec![] },
            Reading {
                sensor: "cell-voltage".into(),
                value: 3.31,
                at_ms: 1_700_000_000_500,
                tags: vec!["rack-2".into()],
            },
        ],
    }
}

pub fn round_trip(batch: &Batch) -> Result<(usize, Batch), prost::DecodeError> {
    let bytes = batch.encode_to_vec();
    Ok((bytes.len(), Batch::decode(bytes.as_slice())?))
}

fn main() {
    let batch = sample_batch();
    let (size, decoded) = round_trip(&batch).expect("our own encoding decodes");
    assert_eq!(decoded, batch);
    if std::env::args().any(|a| a == "--version") {
        println!(
            "telemetry-proto {} ({TARGET}; {} readings round-tripped in {size} bytes)",
            env!("CARGO_PKG_VERSION"),
            decoded.readings.len()
        );
        return;
    }
    for r in &decoded.readings {
        println!("{}\t{}\t{}", r.sensor, r.value, r.at_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_round_trips() {
        let batch = sample_batch();
        let (_, decoded) = round_trip(&batch).unwrap();
        assert_eq!(decoded, batch);
    }

    #[test]
    fn wire_format_is_protobuf() {
        // field 1 (sensor), wire type 2: tag 0x0a, length 3, "soc"
        let r = Reading { sensor: "soc".into(), ..Default::default() };
        assert_eq!(r.encode_to_vec(), vec![0x0a, 3, b's', b'o', b'c']);
        // field 3 (at_ms), varint: 300 = 0xac 0x02 (little-endian base-128, the same everywhere)
        let r = Reading { at_ms: 300, ..Default::default() };
        assert_eq!(r.encode_to_vec(), vec![0x18, 0xac, 0x02]);
    }

    #[test]
    fn doubles_are_little_endian_on_the_wire() {
        let r = Reading { value: 1.0, ..Default::default() };
        assert_eq!(r.encode_to_vec(), [vec![0x11], 1.0f64.to_le_bytes().to_vec()].concat());
    }
}
