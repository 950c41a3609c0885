//! edge-agent: the sample binary crossmatrix builds for every target.

use clap::{Parser, Subcommand};
use serde::Serialize;

const TARGET: &str = env!("EDGE_AGENT_TARGET");

#[derive(Parser)]
#[command(name = "edge-agent", version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("EDGE_AGENT_TARGET"), ")"))]
#[command(about = "Reports on and checks the device it runs on")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Print what this build is and where it runs, as JSON.
    Status,
    /// Sum the numbers given, as a stand-in for real work.
    Sum { values: Vec<i64> },
}

#[derive(Serialize)]
struct Status<'a> {
    agent: &'a str,
    version: &'a str,
    target: &'a str,
    arch: &'a str,
    os: &'a str,
    pointer_width: usize,
    endian: &'a str,
}

fn status() -> Status<'static> {
    Status {
        agent: "edge-agent",
        version: env!("CARGO_PKG_VERSION"),
        target: TARGET,
        arch: std::env::consts::ARCH,
        os: std::env::consts::OS,
        pointer_width: std::mem::size_of::<usize>() * 8,
        endian: if cfg!(target_endian = "little") { "little" } else { "big" },
    }
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Sum { values }) => println!("{}", sum(&values)),
        Some(Command::Status) | None => {
            println!("{}", serde_json::to_string_pretty(&status()).expect("status serialises"));
        }
    }
}

fn sum(values: &[i64]) -> i64 {
    values.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums() {
        assert_eq!(sum(&[1, 2, 39]), 42);
    }

    #[test]
    fn status_names_the_compiled_target() {
        let json = serde_json::to_value(status()).unwrap();
        assert_eq!(json["target"], TARGET);
        assert_eq!(json["pointer_width"], usize::BITS as u64);
    }
}
