//! fleet-report: prints a one-line report; `--version` names the compiled target.

const TARGET: &str = env!("FLEET_REPORT_TARGET");

fn main() {
    let arg = std::env::args().nth(1);
    match arg.as_deref() {
        Some("--version") | Some("-V") => {
            println!("fleet-report {} ({TARGET})", env!("CARGO_PKG_VERSION"))
        }
        _ => {
            let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
            println!("fleet-report: target={TARGET} arch={} threads={threads}", std::env::consts::ARCH);
        }
    }
}
