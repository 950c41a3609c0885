//! sqlite-probe: stores sensor readings in SQLite and reads them back.
//!
//! SQLite is C (rusqlite's `bundled` feature compiles the amalgamation in
//! libsqlite3-sys's build script), so every row printed here went through C code
//! compiled for the target by the compiler crossmatrix chose (zig cc or a cross gcc).

use rusqlite::{params, Connection, Result};

const TARGET: &str = env!("SQLITE_PROBE_TARGET");

/// A database holding the readings table.
pub fn open(path: &str) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS readings (
             id INTEGER PRIMARY KEY,
             sensor TEXT NOT NULL,
             value REAL NOT NULL
         );",
    )?;
    Ok(conn)
}

pub fn record(conn: &Connection, sensor: &str, value: f64) -> Result<i64> {
    conn.execute("INSERT INTO readings (sensor, value) VALUES (?1, ?2)", params![sensor, value])?;
    Ok(conn.last_insert_rowid())
}

/// (sensor, count, average) per sensor, computed by SQLite.
pub fn summary(conn: &Connection) -> Result<Vec<(String, i64, f64)>> {
    let mut stmt = conn.prepare(
        "SELECT sensor, COUNT(*), AVG(value) FROM readings GROUP BY sensor ORDER BY sensor",
    )?;
    let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    rows.collect()
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let conn = open(args.iter().find(|a| !a.starts_with("--")).map_or(":memory:", |s| s))?;
    if args.iter().any(|a| a == "--version") {
        // a real round trip through SQLite's C code, not just its version string
        record(&conn, "battery-temp", 21.5)?;
        record(&conn, "battery-temp", 22.5)?;
        let (sensor, count, avg) = summary(&conn)?.remove(0);
        println!(
            "sqlite-probe {} ({TARGET}; SQLite {}): {sensor} n={count} avg={avg:.1}",
            env!("CARGO_PKG_VERSION"),
            rusqlite::version()
        );
        return Ok(());
    }
    for pair in args.iter().filter(|a| a.contains('=')) {
        let (sensor, value) = pair.split_once('=').expect("checked above");
        let value: f64 = value.parse().unwrap_or(f64::NAN);
        record(&conn, sensor, value)?;
    }
    for (sensor, count, avg) in summary(&conn)? {
        println!("{sensor}\t{count}\t{avg:.3}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_and_averages_readings() {
        let conn = open(":memory:").unwrap();
        record(&conn, "cell-voltage", 3.25).unwrap();
        record(&conn, "cell-voltage", 3.35).unwrap();
        record(&conn, "soc", 80.0).unwrap();
        let rows = summary(&conn).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0, "cell-voltage");
        assert_eq!(rows[0].1, 2);
        assert!((rows[0].2 - 3.3).abs() < 1e-9);
        assert_eq!(rows[1], ("soc".to_string(), 1, 80.0));
    }

    #[test]
    fn sqlite_is_the_bundled_one() {
        // the bundled amalgamation, not a system library: 3.x and thread-safe
        assert!(rusqlite::version().starts_with("3."));
        let conn = Connection::open_in_memory().unwrap();
        let doubled: i64 = conn.query_row("SELECT 21 * 2", [], |r| r.get(0)).unwrap();
        assert_eq!(doubled, 42);
    }

    #[test]
    fn persists_to_a_file() {
        let path = std::env::temp_dir().join(format!("sqlite-probe-{}.db", std::process::id()));
        let path_str = path.to_str().unwrap();
        {
            let conn = open(path_str).unwrap();
            record(&conn, "grid-freq", 50.01).unwrap();
        }
        let conn = open(path_str).unwrap();
        assert_eq!(summary(&conn).unwrap()[0].1, 1);
        drop(conn);
        std::fs::remove_file(path).unwrap();
    }
}
