//! An up that failed on a database holding rows: was it the data? The tables the failing
//! statement touches are emptied (with the tables that point at them) and the up is tried
//! again — all of it when it ran in a transaction (rolled back), else from the failing
//! statement on. If it passes now, the run goes on from there with a finding that says what
//! happened; if emptying those tables is not enough, every table with rows is emptied and it is
//! tried once more. Only when that fails too is it a `migration_error` that stops the run.
//!
//! Two causes are told apart. A NOT NULL column added without a default, or NOT NULL set on a
//! column holding NULLs, fails on any populated table: production has rows, so it is an error.
//! Anything else failed on driftless's synthetic values (a unique index over repeated lorem
//! words, a cast of lorem text to jsonb, a foreign key to nowhere): a `seed_conflict` warning
//! with the values, so the user can add a seed override; it does not fail the gate.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{finding, step};
use crate::Result;
use crate::data::DataFingerprint;
use crate::engine::{Applied, Engine};
use crate::migrations::{Migration, Script, Statement};
use crate::report::{Direction, Finding, FindingKind, masking};
use crate::schema::SchemaSnapshot;

/// Values sampled per column involved, for the finding.
const SAMPLE: usize = 3;

/// What the retry came to.
pub enum Recovery {
    /// The up passed after emptying `emptied`: the finding, the state it ran from (schema and
    /// data after emptying, per-row hashes captured), and how long the retry took.
    Passed {
        finding: Finding,
        s0: SchemaSnapshot,
        d0: DataFingerprint,
        /// Qualified names of the tables emptied.
        emptied: Vec<String>,
        ms: u64,
    },
    /// It fails on empty tables too: the `migration_error` that stops the run.
    Failed(Finding),
}

/// The data an up judged after a retry is compared with: the tables emptied as they were
/// after emptying, every other table as it was before the up (outside a transaction the
/// statements before the failing one already ran when the emptied state was taken).
pub fn baseline(
    before: &DataFingerprint,
    emptied_state: &DataFingerprint,
    emptied: &[String],
) -> DataFingerprint {
    let mut out = emptied_state.clone();
    for (name, table) in &mut out.tables {
        if !emptied.contains(name)
            && let Some(was) = before.tables.get(name)
        {
            *table = was.clone();
        }
    }
    out
}

/// Tables whose rows the up itself wrote (more rows after than before, or created with rows):
/// real data, which a later failure must not be blamed on the seed for.
pub fn written(before: &DataFingerprint, after: &DataFingerprint) -> Vec<String> {
    after
        .tables
        .iter()
        .filter(|(name, t)| t.rows > before.tables.get(*name).map_or(0, |b| b.rows))
        .map(|(name, _)| name.clone())
        .collect()
}

/// Whether any table (or collection) of `data` holds rows.
pub fn has_rows(data: &DataFingerprint) -> bool {
    data.tables.values().any(|t| t.rows > 0)
}

/// Tries `m`'s up again after `failure` (on the state `s0` / `d0`), as the module says. Tables
/// in `real` hold rows earlier migrations wrote, not driftless's: they are never emptied, and a
/// failure on them is the migration's.
pub async fn retry(
    engine: &mut dyn Engine,
    m: &Migration,
    (s0, d0): (&SchemaSnapshot, &DataFingerprint),
    real: &BTreeSet<String>,
    failure: Applied,
    format: crate::migrations::MigrationFormat,
) -> Result<Recovery> {
    let mut first = failure_at(&m.up, &failure);
    let statement = first
        .map(|i| m.up.statements[i].sql.clone())
        .unwrap_or_default();
    let synthetic = |tables: Vec<String>| -> Vec<String> {
        tables.into_iter().filter(|t| !real.contains(t)).collect()
    };
    let target = synthetic(target_table(&statement, s0, d0));
    let touched = synthetic(touched_tables(&statement, s0, d0));
    let mut tried: Vec<Vec<String>> = Vec::new();
    let mut last = failure.clone();
    for tables in [target, touched, synthetic(with_rows(s0, d0))] {
        if tables.is_empty() || tried.contains(&tables) {
            continue;
        }
        let sample = sample_values(engine, s0, &tables, &statement).await;
        let emptied = closure(s0, &tables);
        clear(engine, s0, &emptied).await?;
        let now_s0 = engine.schema().await?;
        let now_d0 = engine.fingerprint_before(&now_s0, true).await?;
        let atomic = crate::migrations::atomic(&m.up, engine.spec().transactions);
        let applied = engine.apply(&remaining(&m.up, first, atomic)).await?;
        tried.push(tables);
        if let Applied::Done { ms } = applied {
            let f = passed(m, &failure, &statement, &emptied, sample);
            return Ok(Recovery::Passed {
                finding: f,
                s0: now_s0,
                d0: now_d0,
                emptied,
                ms,
            });
        }
        // Outside a transaction, what ran before the new failure stays applied: the next try
        // starts there.
        if !atomic {
            let offset = first.unwrap_or(0);
            let again = remaining(&m.up, first, atomic);
            first = failure_at(&again, &applied).map(|i| i + offset);
        }
        last = applied;
    }
    let f = step::failed(engine, m, step::Step::Up, &m.up, last, s0, format).await?;
    let f = if tried.is_empty() {
        f
    } else {
        f.detail("retried_on_empty_tables", true)
    };
    Ok(Recovery::Failed(f))
}

/// The index of the statement that failed (the last one starting at or before its line).
fn failure_at(script: &Script, failure: &Applied) -> Option<usize> {
    let Applied::Failed { line, .. } = failure else {
        return None;
    };
    script
        .statements
        .iter()
        .rposition(|s| s.line <= *line)
        .or((!script.statements.is_empty()).then_some(0))
}

/// What to apply again: the whole script when it ran in a transaction (rolled back), else
/// the failing statement and those after it (the ones before it stay applied).
fn remaining(script: &Script, first: Option<usize>, atomic: bool) -> Script {
    let mut again = script.clone();
    if !atomic && let Some(first) = first {
        again.statements = script.statements[first..].to_vec();
    }
    again
}

/// The identifiers of a statement, lower-cased (quotes and schema prefixes fall away).
fn words(sql: &str) -> BTreeSet<String> {
    sql.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The table the statement writes or changes (`INSERT INTO t`, `UPDATE t`, `DELETE FROM t`,
/// `ALTER TABLE t`, `CREATE INDEX … ON t`), if it has rows: emptying it alone is the smallest
/// change that can let the statement pass.
fn target_table(sql: &str, s0: &SchemaSnapshot, d0: &DataFingerprint) -> Vec<String> {
    // A quoted, qualified name (`"billing"."invoices"`, `` `shop`.`orders` ``) stays one
    // token: split at the quotes, its schema would be taken for the table.
    let tokens: Vec<String> = sql
        .split(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '"' | '`')))
        .map(|w| w.replace(['"', '`'], ""))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect();
    let index =
        tokens.first().is_some_and(|t| t == "create") && tokens.iter().any(|t| t == "index");
    let skip = ["only", "if", "exists", "not", "concurrently"];
    let mut named = None;
    for (i, token) in tokens.iter().enumerate() {
        let before = |n: usize| i.checked_sub(n).map(|j| tokens[j].as_str());
        let opens = matches!(token.as_str(), "into" | "update")
            || (token == "from" && before(1) == Some("delete"))
            || (token == "table" && before(1) == Some("alter"))
            || (token == "on" && index);
        if opens {
            named = tokens[i + 1..]
                .iter()
                .find(|t| !skip.contains(&t.as_str()))
                .cloned();
            break;
        }
    }
    let Some(name) = named else {
        return Vec::new();
    };
    let (schema, plain) = match name.rsplit_once('.') {
        Some((schema, table)) => (Some(schema.to_string()), table.to_string()),
        None => (None, name.clone()),
    };
    with_rows(s0, d0)
        .into_iter()
        .filter(|q| {
            s0.tables.get(q).is_some_and(|t| {
                t.name.to_lowercase() == plain
                    && schema
                        .as_ref()
                        .is_none_or(|s| t.schema.to_lowercase() == *s)
            })
        })
        .collect()
}

/// Qualified names of the tables with rows that the statement names.
fn touched_tables(sql: &str, s0: &SchemaSnapshot, d0: &DataFingerprint) -> Vec<String> {
    let words = words(sql);
    with_rows(s0, d0)
        .into_iter()
        .filter(|name| {
            s0.tables
                .get(name)
                .is_some_and(|t| words.contains(&t.name.to_lowercase()))
        })
        .collect()
}

/// Qualified names of every table with rows.
fn with_rows(s0: &SchemaSnapshot, d0: &DataFingerprint) -> Vec<String> {
    d0.tables
        .iter()
        .filter(|(name, t)| t.rows > 0 && s0.tables.contains_key(*name))
        .map(|(name, _)| name.clone())
        .collect()
}

/// `tables` and every table whose foreign keys point at one of them, transitively: emptying a
/// parent must not leave children pointing nowhere.
fn closure(s0: &SchemaSnapshot, tables: &[String]) -> Vec<String> {
    let mut all: BTreeSet<String> = tables.iter().cloned().collect();
    loop {
        let children: Vec<String> = s0
            .tables
            .values()
            .filter(|t| !all.contains(&t.qualified()))
            .filter(|t| t.foreign_keys.iter().any(|fk| all.contains(&fk.ref_table)))
            .map(|t| t.qualified())
            .collect();
        if children.is_empty() {
            return all.into_iter().collect();
        }
        all.extend(children);
    }
}

/// Empties `tables` through whichever capability the engine has.
async fn clear(engine: &mut dyn Engine, s0: &SchemaSnapshot, tables: &[String]) -> Result<()> {
    if let Some(documents) = engine.documents() {
        let names: Vec<String> = tables
            .iter()
            .filter_map(|t| s0.tables.get(t).map(|t| t.name.clone()))
            .collect();
        return documents.clear(&names).await;
    }
    let Some(rows) = engine.rows() else {
        return Ok(());
    };
    let tables: Vec<_> = tables
        .iter()
        .filter_map(|t| s0.tables.get(t).cloned())
        .collect();
    rows.clear(&tables).await
}

/// A few values of the columns the statement names in the tables it touches, as text
/// (personal-looking columns masked), before they are emptied.
async fn sample_values(
    engine: &mut dyn Engine,
    s0: &SchemaSnapshot,
    tables: &[String],
    sql: &str,
) -> Value {
    let words = words(sql);
    let Some(dialect) = engine.rows().map(|rows| rows.dialect()) else {
        return Value::Null;
    };
    let mut out = serde_json::Map::new();
    for table in tables.iter().filter_map(|t| s0.tables.get(t)) {
        for column in table
            .columns
            .iter()
            .filter(|c| words.contains(&c.name.to_lowercase()))
        {
            let query = sample_query(dialect, table, &column.name);
            let Ok(Some(rows)) = engine.query_rows(&query).await else {
                continue;
            };
            let values: Vec<Value> = rows
                .into_iter()
                .filter_map(|r| r.into_iter().next().flatten())
                .map(|v| match crate::pii::looks_personal(&column.name) {
                    true => Value::String(masking::mask_value(&v)),
                    false => Value::String(v),
                })
                .collect();
            out.insert(
                format!("{}.{}", table.name, column.name),
                Value::Array(values),
            );
        }
    }
    Value::Object(out)
}

fn sample_query(
    dialect: crate::sql::Dialect,
    table: &crate::schema::Table,
    column: &str,
) -> String {
    use crate::sql::{Dialect, ident, qualified};
    let c = ident(dialect, column);
    let t = qualified(dialect, &table.schema, &table.name);
    let text = match dialect {
        Dialect::Postgres => format!("{c}::text"),
        Dialect::MySql => format!("CAST({c} AS CHAR)"),
    };
    format!("SELECT {text} FROM {t} WHERE {c} IS NOT NULL LIMIT {SAMPLE}")
}

/// Whether the failure is one any populated table would see: a NOT NULL column added without
/// a default, or NOT NULL set on a column holding NULLs.
fn fails_on_any_rows(code: &str, statement: &Statement) -> bool {
    let sql = statement.sql.to_lowercase();
    let not_null = sql.contains("not null");
    let adds_column_without_default = sql.contains("add") && not_null && !sql.contains("default");
    let sets_not_null = sql.contains("set not null")
        || (sql.contains("modify") && not_null)
        || (sql.contains("change") && not_null);
    // PostgreSQL not_null_violation; MySQL/MariaDB: invalid use of NULL, column cannot be null,
    // data truncated (a NULL forced into NOT NULL in strict mode).
    let null_error = matches!(code, "23502" | "1138" | "1048" | "1263" | "1265");
    null_error && (adds_column_without_default || sets_not_null)
}

/// Whether the failure is a value the column's old type allows that the new one cannot hold
/// (a string too long, a number out of range): production rows can hold such values, so it
/// is the migration's, not the seed's. (The seed writes edge values on purpose for these.)
fn narrows(code: &str) -> bool {
    matches!(code, "22001" | "22003" | "1406" | "1264")
}

/// The finding of an up that passed only after emptying `emptied`.
fn passed(
    m: &Migration,
    failure: &Applied,
    statement: &str,
    emptied: &[String],
    sample: Value,
) -> Finding {
    let Applied::Failed {
        line,
        code,
        message,
        ..
    } = failure
    else {
        unreachable!("a retry follows a failure");
    };
    let head = crate::report::StatementTrace::headline(statement);
    let stmt = Statement {
        sql: statement.to_string(),
        line: *line,
        needs_autocommit: false,
        transaction_control: false,
    };
    let tables = emptied.join(", ");
    let (kind, text) = if fails_on_any_rows(code, &stmt) {
        (
            FindingKind::MigrationError,
            format!(
                "up fails on any table with rows: `{head}` ({code}: {message}); production has \
                 rows, so give the column a default or backfill before NOT NULL (it passed here \
                 only after driftless emptied {tables})"
            ),
        )
    } else if narrows(code) {
        (
            FindingKind::MigrationError,
            format!(
                "up fails on values the column's type allows today: `{head}` ({code}: \
                 {message}); production rows can hold them, so widen the new type or clean the \
                 data first (it passed here only after driftless emptied {tables})"
            ),
        )
    } else {
        (
            FindingKind::SeedConflict,
            format!(
                "up failed on driftless's synthetic rows, not on the migration: `{head}` \
                 ({code}: {message}); it passed after emptying {tables}. If production data can \
                 look like these rows, it fails there too; otherwise describe the values with a \
                 seed override"
            ),
        )
    };
    finding(kind, m, text)
        .direction(Direction::Up)
        .at(&m.up.path, Some(*line))
        .detail("code", code.clone())
        .detail("server_message", message.clone())
        .detail("statement", head)
        .detail("tables_emptied", emptied.to_vec())
        .detail("sample", sample)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(sql: &str) -> Statement {
        Statement {
            sql: sql.into(),
            line: 1,
            needs_autocommit: false,
            transaction_control: false,
        }
    }

    #[test]
    fn not_null_failures_fail_on_any_rows_and_others_are_the_seed() {
        let add = statement("ALTER TABLE users ADD COLUMN plan text NOT NULL");
        assert!(fails_on_any_rows("23502", &add));
        let set = statement("ALTER TABLE users ALTER COLUMN email SET NOT NULL");
        assert!(fails_on_any_rows("23502", &set));
        let modify = statement("ALTER TABLE users MODIFY email varchar(100) NOT NULL");
        assert!(fails_on_any_rows("1138", &modify));
        let with_default = statement("ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'x'");
        assert!(!fails_on_any_rows("23505", &with_default));
        let unique = statement("CREATE UNIQUE INDEX users_name ON users (name)");
        assert!(!fails_on_any_rows("23505", &unique));
    }

    #[test]
    fn a_non_transactional_retry_starts_at_the_failing_statement() {
        let mut script = Script::empty("m.sql".into());
        script.statements = vec![
            statement("CREATE TABLE a (x int)"),
            Statement {
                line: 2,
                ..statement("CREATE UNIQUE INDEX ON b (y)")
            },
            Statement {
                line: 3,
                ..statement("ALTER TABLE b ADD z int")
            },
        ];
        let failed = Applied::Failed {
            ms: 0,
            line: 2,
            code: "23505".into(),
            message: "dup".into(),
        };
        let first = failure_at(&script, &failed);
        assert_eq!(first, Some(1));
        assert_eq!(
            remaining(&script, first, true).statements.len(),
            3,
            "transactional: all"
        );
        script.transactional = false;
        assert_eq!(remaining(&script, first, false).statements.len(), 2);
    }
}
