//! Where a database is in its migration history, read from the migration tool's own tracking
//! table: sqlx, golang-migrate, dbmate / Rails, goose, Flyway, diesel, sqitch and Liquibase.

use std::cmp::Ordering;

use sha2::{Digest, Sha384};

use super::version::compare_versions;
use super::{Migration, MigrationFormat};
use crate::Result;
use crate::engine::Engine;
use crate::seed::encode::Dialect;

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

fn exists_sql(dialect: Dialect, table: &str) -> String {
    let (schema, name) = table.split_once('.').unwrap_or(("", table));
    match dialect {
        Dialect::Postgres => format!(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = '{name}'{}",
            if schema.is_empty() {
                String::new()
            } else {
                format!(" AND table_schema = '{schema}'")
            }
        ),
        Dialect::MySql => format!(
            "SELECT CAST(count(*) AS CHAR) FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name = '{name}'"
        ),
    }
}

async fn exists(engine: &mut dyn Engine, table: &str) -> Result<bool> {
    let rows = engine
        .query_rows(&exists_sql(engine.dialect(), table))
        .await?;
    Ok(rows
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .is_some_and(|n| n != "0"))
}

async fn has_column(engine: &mut dyn Engine, table: &str, column: &str) -> Result<bool> {
    let sql = match engine.dialect() {
        Dialect::Postgres => format!(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = '{table}' AND column_name = '{column}'"
        ),
        Dialect::MySql => format!(
            "SELECT CAST(count(*) AS CHAR) FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = '{table}' AND column_name = '{column}'"
        ),
    };
    let rows = engine.query_rows(&sql).await?;
    Ok(rows
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .is_some_and(|n| n != "0"))
}

/// `x` as text in the engine's SQL.
fn text(dialect: Dialect, expr: &str) -> String {
    match dialect {
        Dialect::Postgres => format!("({expr})::text"),
        Dialect::MySql => format!("CAST({expr} AS CHAR)"),
    }
}

/// The versions a one-column query lists, each applied: the tables of tools that keep a row
/// per applied migration and nothing to check it against (dbmate, diesel, sqitch, Liquibase).
async fn listed(engine: &mut dyn Engine, sql: &str) -> Result<Vec<AppliedRecord>> {
    Ok(engine
        .query_rows(sql)
        .await?
        .into_iter()
        .filter_map(|row| row.into_iter().next().flatten())
        .map(|version| AppliedRecord {
            version,
            checksum: None,
            success: true,
        })
        .collect())
}

fn truthy(value: Option<&str>) -> bool {
    matches!(value, Some("t" | "true" | "1"))
}

/// Reads the tracking table that fits `format` (the first that exists).
pub async fn read(engine: &mut dyn Engine, format: MigrationFormat) -> Result<Option<Tracking>> {
    if let Some(own) = engine.read_tracking().await? {
        return Ok(own);
    }
    let d = engine.dialect();
    let candidates: &[&str] = match format {
        MigrationFormat::Sqlx => &["_sqlx_migrations", "schema_migrations"],
        MigrationFormat::Dbmate => &["schema_migrations"],
        MigrationFormat::Goose => &["goose_db_version"],
        MigrationFormat::Flyway => &["flyway_schema_history"],
        MigrationFormat::Diesel => &["__diesel_schema_migrations"],
        MigrationFormat::Sqitch => &["sqitch.changes"],
        MigrationFormat::Liquibase => &["databasechangelog"],
    };
    for &table in candidates {
        if !exists(engine, table).await? {
            continue;
        }
        let mut tracking = Tracking {
            table,
            tool: "",
            applied: Vec::new(),
            dirty: None,
            up_to: None,
        };
        let record = |version: Option<String>, checksum: Option<String>, success: bool| {
            version.map(|version| AppliedRecord {
                version,
                checksum,
                success,
            })
        };
        match table {
            "_sqlx_migrations" => {
                tracking.tool = "sqlx";
                let checksum = match d {
                    Dialect::Postgres => "encode(checksum, 'hex')".to_string(),
                    Dialect::MySql => "LOWER(HEX(checksum))".to_string(),
                };
                let sql = format!(
                    "SELECT {}, {checksum}, {} FROM _sqlx_migrations ORDER BY version",
                    text(d, "version"),
                    text(d, "success")
                );
                for row in engine.query_rows(&sql).await? {
                    let mut row = row.into_iter();
                    let (v, c, s) = (
                        row.next().flatten(),
                        row.next().flatten(),
                        row.next().flatten(),
                    );
                    tracking.applied.extend(record(v, c, truthy(s.as_deref())));
                }
            }
            "schema_migrations" if has_column(engine, "schema_migrations", "dirty").await? => {
                tracking.tool = "golang-migrate";
                let sql = format!(
                    "SELECT {}, {} FROM schema_migrations",
                    text(d, "version"),
                    text(d, "dirty")
                );
                if let Some(row) = engine.query_rows(&sql).await?.into_iter().next() {
                    let mut row = row.into_iter();
                    let (v, dirty) = (row.next().flatten(), row.next().flatten());
                    if truthy(dirty.as_deref()) {
                        tracking.dirty = v.clone();
                    }
                    tracking.up_to = v;
                }
            }
            "schema_migrations" => {
                tracking.tool = "dbmate";
                let sql = format!("SELECT {} FROM schema_migrations", text(d, "version"));
                tracking.applied = listed(engine, &sql).await?;
            }
            "goose_db_version" => {
                tracking.tool = "goose";
                let sql = format!(
                    "SELECT {}, {} FROM goose_db_version ORDER BY id",
                    text(d, "version_id"),
                    text(d, "is_applied")
                );
                // The latest row of a version says whether it is applied now.
                let mut state: Vec<(String, bool)> = Vec::new();
                for row in engine.query_rows(&sql).await? {
                    let mut row = row.into_iter();
                    let (Some(v), applied) = (
                        row.next().flatten(),
                        truthy(row.next().flatten().as_deref()),
                    ) else {
                        continue;
                    };
                    state.retain(|(x, _)| *x != v);
                    state.push((v, applied));
                }
                for (v, applied) in state {
                    if applied && v != "0" {
                        tracking.applied.extend(record(Some(v), None, true));
                    }
                }
            }
            "flyway_schema_history" => {
                tracking.tool = "flyway";
                let sql = format!(
                    "SELECT version, {}, {} FROM flyway_schema_history WHERE version IS NOT NULL ORDER BY installed_rank",
                    text(d, "checksum"),
                    text(d, "success")
                );
                for row in engine.query_rows(&sql).await? {
                    let mut row = row.into_iter();
                    let (v, c, s) = (
                        row.next().flatten(),
                        row.next().flatten(),
                        row.next().flatten(),
                    );
                    tracking.applied.extend(record(v, c, truthy(s.as_deref())));
                }
            }
            "__diesel_schema_migrations" => {
                tracking.tool = "diesel";
                let sql = format!(
                    "SELECT {} FROM __diesel_schema_migrations",
                    text(d, "version")
                );
                tracking.applied = listed(engine, &sql).await?;
            }
            "sqitch.changes" => {
                tracking.tool = "sqitch";
                tracking.applied = listed(engine, "SELECT change FROM sqitch.changes").await?;
            }
            "databasechangelog" => {
                tracking.tool = "liquibase";
                tracking.applied = listed(engine, "SELECT id FROM databasechangelog").await?;
            }
            _ => continue,
        }
        return Ok(Some(tracking));
    }
    Ok(None)
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
    // Versions compare as the tool writes them (sqlx stores `20240101000001` as a number).
    let same = |a: &str, b: &str| {
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
    fn checksums_match_the_tools() {
        // sqlx: SHA-384 of the file.
        assert!(sqlx_checksum(b"SELECT 1;\n").starts_with("24454095"));
        // Flyway: line endings and a BOM do not count.
        assert_eq!(flyway_checksum("a\r\nb\n"), flyway_checksum("\u{feff}a\nb"));
    }
}
