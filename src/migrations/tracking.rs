//! What a migration tool's tracking table says, and how it matches the migrations of a folder:
//! pure data and file work. Reading the table from a database is `crate::history`.

use std::cmp::Ordering;

use sha2::{Digest, Sha384};

use super::Migration;
use super::version::{compare_versions, diesel_version};

/// One migration the tracking table says was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedRecord {
    pub version: String,
    /// The tool's checksum of the file when it ran (sqlx: SHA-384 hex; Flyway: CRC32).
    pub checksum: Option<String>,
    pub success: bool,
}

/// What a tracking table says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracking {
    /// The table read.
    pub table: &'static str,
    /// The tool it belongs to.
    pub tool: &'static str,
    pub applied: Vec<AppliedRecord>,
    /// golang-migrate: the version left dirty by a migration that failed halfway.
    pub dirty: Option<String>,
    /// golang-migrate keeps only the current version: everything up to it is applied.
    pub up_to: Option<String>,
}

/// The state of each local migration against the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    pub tracking: Option<Tracking>,
    /// Indexes into the migration list.
    pub applied: Vec<usize>,
    pub pending: Vec<usize>,
    /// Applied migrations whose file changed since (index, the file).
    pub modified: Vec<(usize, String)>,
    /// Versions the database has applied that are not in the folder.
    pub unknown: Vec<String>,
}

/// sqlx's checksum of a migration: SHA-384 of the file, hex.
pub fn sqlx_checksum(text: &[u8]) -> String {
    Sha384::digest(text)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Flyway's checksum: CRC32 over the lines without their line endings (and without a BOM),
/// as a signed 32-bit number.
pub fn flyway_checksum(text: &str) -> String {
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    let mut digest = crc.digest();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for line in text.lines() {
        digest.update(line.trim_end_matches('\r').as_bytes());
    }
    (digest.finalize() as i32).to_string()
}

/// Matches the local migrations with what the database says.
pub fn history(tracking: Option<Tracking>, migrations: &[Migration]) -> History {
    let mut history = History {
        tracking: None,
        applied: Vec::new(),
        pending: Vec::new(),
        modified: Vec::new(),
        unknown: Vec::new(),
    };
    let Some(tracking) = tracking else {
        // No tracking table: nothing is known to be applied.
        history.pending = (0..migrations.len()).collect();
        return history;
    };
    // Versions compare as the tool writes them (sqlx stores `20240101000001` as a number,
    // diesel the folder's version without its dashes).
    let diesel = tracking.tool == "diesel";
    let same = |a: &str, b: &str| {
        let (a, b) = if diesel {
            (diesel_version(a), diesel_version(b))
        } else {
            (a.to_string(), b.to_string())
        };
        compare_versions(a.trim_start_matches('0'), b.trim_start_matches('0')) == Ordering::Equal
    };
    for (i, m) in migrations.iter().enumerate() {
        let record = tracking
            .applied
            .iter()
            .find(|r| r.success && same(&r.version, &m.version));
        let applied = record.is_some()
            || tracking.up_to.as_deref().is_some_and(|up_to| {
                compare_versions(&m.version, up_to) != Ordering::Greater
                    && tracking
                        .dirty
                        .as_deref()
                        .is_none_or(|d| !same(d, &m.version))
            });
        if !applied {
            if !m.repeatable {
                history.pending.push(i);
            }
            continue;
        }
        history.applied.push(i);
        if let Some(expected) = record.and_then(|r| r.checksum.clone()) {
            let Ok(bytes) = std::fs::read(&m.up.path) else {
                continue;
            };
            let actual = match tracking.tool {
                "sqlx" => sqlx_checksum(&bytes),
                "flyway" => flyway_checksum(&String::from_utf8_lossy(&bytes)),
                _ => continue,
            };
            if actual != expected {
                history
                    .modified
                    .push((i, super::display_path(&m.up.path).display().to_string()));
            }
        }
    }
    for record in tracking.applied.iter().filter(|r| r.success) {
        if !migrations.iter().any(|m| same(&m.version, &record.version)) {
            history.unknown.push(record.version.clone());
        }
    }
    history.tracking = Some(tracking);
    history
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diesel_records_match_folders_of_either_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let migrations: Vec<Migration> = ["2017-08-31-230457", "2024-01-01-120000-0001"]
            .iter()
            .map(|v| Migration::new(*v, "m", super::super::Script::empty(dir.path().join(v))))
            .collect();
        let tracking = Tracking {
            table: "__diesel_schema_migrations",
            tool: "diesel",
            applied: ["20170831230457", "202401011200000001"]
                .iter()
                .map(|v| AppliedRecord {
                    version: v.to_string(),
                    checksum: None,
                    success: true,
                })
                .collect(),
            dirty: None,
            up_to: None,
        };
        let h = history(Some(tracking), &migrations);
        assert_eq!(h.applied, [0, 1]);
        assert!(h.unknown.is_empty() && h.pending.is_empty());
    }

    #[test]
    fn checksums_match_the_tools() {
        // sqlx: SHA-384 of the file.
        assert!(sqlx_checksum(b"SELECT 1;\n").starts_with("24454095"));
        // Flyway: line endings and a BOM do not count.
        assert_eq!(flyway_checksum("a\r\nb\n"), flyway_checksum("\u{feff}a\nb"));
    }
}
