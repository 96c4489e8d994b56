//! Reading a database driftless must not change (the source of `mask`): a repeatable-read,
//! read-only snapshot, rows through `COPY … TO STDOUT`, the schema through `pg_dump` sharing
//! that snapshot, and `pg_dump -Fc` of a finished copy.

use std::path::Path;
use std::process::Command;

use futures_util::TryStreamExt;
use sqlx::postgres::PgConnection;

use crate::engine::ReadQuery;
use crate::error::Context;
use crate::sandbox::run_tool;
use crate::schema::Table;
use crate::sql::pg::{ident, table_ref};
use crate::{Error, Result};

/// Rows sent per batch.
const BATCH: usize = 4096;

/// Starts the snapshot and exports it for pg_dump.
pub async fn begin_snapshot(conn: &mut PgConnection) -> Result<String> {
    sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *conn)
        .await
        .context(|| "cannot start a read-only snapshot".into())?;
    sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut *conn)
        .await
        .context(|| "cannot export the snapshot".into())
}

/// `COPY (SELECT …) TO STDOUT`, parsed into rows.
pub async fn read_rows(
    conn: &mut PgConnection,
    table: &Table,
    columns: &[String],
    query: &ReadQuery,
    rows: tokio::sync::mpsc::Sender<Vec<Vec<Option<String>>>>,
) -> Result<u64> {
    let list: Vec<String> = columns.iter().map(|c| ident(c)).collect();
    let mut select = format!("SELECT {} FROM {}", list.join(", "), table_ref(table));
    if let Some(filter) = &query.filter {
        select.push_str(&format!(" WHERE {filter}"));
    }
    if !query.order.is_empty() {
        let order: Vec<String> = query.order.iter().map(|c| ident(c)).collect();
        select.push_str(&format!(" ORDER BY {}", order.join(", ")));
    }
    if let Some(limit) = query.limit {
        select.push_str(&format!(" LIMIT {limit}"));
    }
    let what = || format!("cannot read {}", table.qualified());
    let mut stream = conn
        .copy_out_raw(&format!("COPY ({select}) TO STDOUT"))
        .await
        .context(what)?;
    let mut pending: Vec<u8> = Vec::new();
    let mut batch = Vec::with_capacity(BATCH);
    let mut count = 0u64;
    let mut open = true;
    while let Some(bytes) = stream.try_next().await.context(what)? {
        if !open {
            // The reader is gone; drain so the connection stays usable.
            continue;
        }
        pending.extend_from_slice(&bytes);
        let mut start = 0;
        while let Some(end) = pending[start..].iter().position(|b| *b == b'\n') {
            batch.push(parse_line(&pending[start..start + end]));
            start += end + 1;
            if batch.len() == BATCH {
                count += batch.len() as u64;
                if rows.send(std::mem::take(&mut batch)).await.is_err() {
                    open = false;
                    break;
                }
            }
        }
        pending.drain(..start);
    }
    if open && !batch.is_empty() {
        count += batch.len() as u64;
        let _ = rows.send(batch).await;
    }
    Ok(count)
}

/// One line of COPY text format: tab-separated, `\N` is NULL, backslash escapes.
pub fn parse_line(line: &[u8]) -> Vec<Option<String>> {
    line.split(|b| *b == b'\t')
        .map(|field| {
            if field == b"\\N" {
                return None;
            }
            if !field.contains(&b'\\') {
                return Some(String::from_utf8_lossy(field).into_owned());
            }
            let mut out = Vec::with_capacity(field.len());
            let mut i = 0;
            while i < field.len() {
                let b = field[i];
                if b != b'\\' || i + 1 == field.len() {
                    out.push(b);
                    i += 1;
                    continue;
                }
                let next = field[i + 1];
                i += 2;
                match next {
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'v' => out.push(11),
                    b'0'..=b'7' => {
                        let mut value = u32::from(next - b'0');
                        let mut taken = 0;
                        while taken < 2 && i < field.len() && (b'0'..=b'7').contains(&field[i]) {
                            value = value * 8 + u32::from(field[i] - b'0');
                            i += 1;
                            taken += 1;
                        }
                        out.push(value as u8);
                    }
                    b'x' if i < field.len() && field[i].is_ascii_hexdigit() => {
                        let mut value = 0u32;
                        let mut taken = 0;
                        while taken < 2 && i < field.len() && field[i].is_ascii_hexdigit() {
                            value = value * 16 + (field[i] as char).to_digit(16).unwrap_or(0);
                            i += 1;
                            taken += 1;
                        }
                        out.push(value as u8);
                    }
                    other => out.push(other),
                }
            }
            Some(String::from_utf8_lossy(&out).into_owned())
        })
        .collect()
}

/// `pg_dump --schema-only`, pre-data and post-data, plus the sequences' positions. psql
/// meta-commands (`\restrict`) are dropped: the statements go through the wire protocol.
pub async fn schema_ddl(
    pg_dump: &Path,
    url: &str,
    snapshot: Option<&str>,
    conn: &mut PgConnection,
) -> Result<(String, String)> {
    let section = |name: &str| -> Result<Command> {
        let mut command = super::sandbox::tool_command(pg_dump, url)?;
        command.args([
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            "--section",
            name,
        ]);
        if let Some(id) = snapshot {
            command.arg(format!("--snapshot={id}"));
        }
        Ok(command)
    };
    let pre = run_tool(section("pre-data")?, "pg_dump").await?;
    let post = run_tool(section("post-data")?, "pg_dump").await?;
    let clean = |bytes: Vec<u8>| -> String {
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter(|l| !l.starts_with('\\'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let sequences: Vec<String> = sqlx::query_scalar(
        "SELECT format('SELECT pg_catalog.setval(%L, %s, true);', quote_ident(schemaname) || '.' || quote_ident(sequencename), last_value)
         FROM pg_catalog.pg_sequences WHERE last_value IS NOT NULL
           AND schemaname NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_all(&mut *conn)
    .await
    .context(|| "cannot read sequence positions".into())?;
    let mut post = clean(post);
    post.push('\n');
    post.push_str(&sequences.join("\n"));
    Ok((clean(pre), post))
}

/// `pg_dump -Fc` of the database into `path`.
pub async fn dump(pg_dump: &Path, url: &str, path: &Path) -> Result<()> {
    let mut command = super::sandbox::tool_command(pg_dump, url)?;
    command
        .args(["--format=custom", "--no-owner", "--no-privileges"])
        .arg(format!("--file={}", path.display()));
    run_tool(command, "pg_dump").await.map(|_| ())
}

/// The `pg_dump` next to the server binaries, or an error saying it is missing.
pub fn pg_dump(bin_dir: Option<&Path>) -> Result<std::path::PathBuf> {
    let bins = super::find_binaries(bin_dir)?;
    let tool = bins.tool("pg_dump");
    if tool.is_file() {
        Ok(tool)
    } else {
        Err(Error::infra(format!(
            "pg_dump is missing in {}",
            bins.bin_dir.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_lines_unescape() {
        assert_eq!(
            parse_line(b"1\t\\N\ta\\tb\\\\c\\nd\t\\\\x0a0b\t\\101"),
            vec![
                Some("1".into()),
                None,
                Some("a\tb\\c\nd".into()),
                Some("\\x0a0b".into()),
                Some("A".into())
            ]
        );
    }
}
