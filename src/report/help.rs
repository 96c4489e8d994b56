//! What to do about a finding: the `help:` line, chosen by kind and by cause (the statement
//! quoted, the server's error code, the details a finding carries), and the line that accepts
//! it. A reviewer should read the fix, not a restatement of the problem.

use serde_json::Value;

use super::{Direction, Finding, FindingKind};
use crate::migrations::MigrationFormat;

/// The statement's words in upper case with single spaces, for matching causes.
fn words(f: &Finding) -> String {
    let sql = f
        .statement
        .as_deref()
        .or_else(|| f.get_detail("statement").and_then(Value::as_str))
        .unwrap_or_default();
    sql.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase()
}

fn detail_str<'f>(f: &'f Finding, key: &str) -> Option<&'f str> {
    f.get_detail(key).and_then(Value::as_str)
}

fn has(f: &Finding, key: &str) -> bool {
    f.get_detail(key).is_some_and(|v| !v.is_null())
}

/// The lint rules whose fix takes a statement out of the runner's transaction.
const OUT_OF_THE_RUNNERS_TRANSACTION: [&str; 4] = [
    "adding-index-non-concurrently",
    "dropping-index-non-concurrently",
    "reindex-non-concurrently",
    "concurrently-in-transaction",
];

/// `help` of `f` in the words of the project's own migration tool: a lint rule that tells the
/// user to leave the runner's transaction says how `format`'s runner is told (goose's
/// `NO TRANSACTION`, dbmate's `transaction:false`, …) instead of sqlx's way or a list of tools.
pub fn in_the_tools_words(help: String, f: &Finding, format: Option<MigrationFormat>) -> String {
    const RUNNERS: &str = "the runner's transaction";
    let (Some(format), Some(rule)) = (format, f.rule.as_deref()) else {
        return help;
    };
    if !OUT_OF_THE_RUNNERS_TRANSACTION.contains(&rule) || help.contains(format.name()) {
        return help;
    }
    let Some(at) = help.find(RUNNERS) else {
        return help;
    };
    let opt_out = format.transactions().opt_out;
    format!(
        "{} ({}: {opt_out})",
        &help[..at + RUNNERS.len()],
        format.name()
    )
}

/// The `help:` line of `f` in a report of `command`.
pub fn help(f: &Finding, command: &str) -> String {
    let sql = words(f);
    match f.kind {
        FindingKind::DataLoss => data_loss(f, &sql),
        FindingKind::SchemaDrift => schema_drift(f, command),
        FindingKind::ReupFailure => "make the down undo everything the up creates (drop the type, \
             table or index it leaves), or let the up tolerate it with IF NOT EXISTS"
            .into(),
        FindingKind::Irreversible if has(f, "up_only") => "write a .down.sql beside each \
             .up.sql that undoes it, so rollbacks can be checked"
            .into(),
        FindingKind::Irreversible => "write the down: the statements that undo the up in reverse \
             order; if the change truly cannot be undone, accept it with the allow line"
            .into(),
        FindingKind::SeedConflict if has(f, "unseeded") => "give the column a default, or its \
             values in the seed overrides (--overrides, `values`), so driftless can fill the \
             table and check what the migrations do to its data"
            .into(),
        FindingKind::SeedConflict => {
            "describe the real values with a seed override (--overrides) so the seeded rows look \
             like production's, or make the statement hold for any rows"
                .into()
        }
        FindingKind::MigrationError => migration_error(f, &sql),
        FindingKind::InvariantViolation => "change the migration so the data it leaves passes \
             the check (backfill, narrower WHERE), or update the check if the rule itself \
             changed"
            .into(),
        FindingKind::DestructiveChange => destructive(f, &sql),
        FindingKind::Lint => lint(f),
        FindingKind::UnmaskedPii => match detail_str(f, "suggested") {
            Some(t) => format!(
                "add a masking rule for the column (suggested transformer: {t}), or a rule \
                 that keeps it if it is not personal"
            ),
            None => "add a masking rule for the column, or a rule that keeps it if it is not \
                     personal"
                .into(),
        },
        FindingKind::PendingMigration => {
            "nothing to fix: it runs on the next deploy; read its statements in the timeline".into()
        }
        FindingKind::LockRisk if has(f, "lock_timeout_ms") && has(f, "queues_behind_reads") => {
            "the lock_timeout bounds the wait: have the deploy retry the migration when it times \
             out, or run it when no long query reads the table"
                .into()
        }
        FindingKind::LockRisk if has(f, "queues_behind_reads") && sql.starts_with("DROP INDEX") => {
            "use DROP INDEX CONCURRENTLY (outside a transaction: `-- driftless:no-transaction`), \
             which does not lock the table against reads and writes"
                .into()
        }
        FindingKind::LockRisk if has(f, "queues_behind_reads") && !sql.starts_with("REINDEX") => {
            "set a lock_timeout before the statement (SET lock_timeout = '2s') so that it gives up \
             instead of queueing every query on the table behind a long read, and retry the deploy"
                .into()
        }
        FindingKind::LockRisk => lock_risk(&sql),
        FindingKind::SequenceCollision => "move the sequence past the values in use where the \
             step creates or resets it (PostgreSQL: SELECT setval(seq, max(id)) FROM the table; \
             identity: ALTER TABLE … ALTER id RESTART WITH max + 1; MariaDB: ALTER SEQUENCE … \
             RESTART WITH max + 1)"
            .into(),
        FindingKind::SessionSetting => "put the setting back at the end of the up (SET \
             FOREIGN_KEY_CHECKS = 1, RESET search_path, …) so later migrations run as they \
             will in production"
            .into(),
    }
}

fn data_loss(f: &Finding, sql: &str) -> String {
    if has(f, "auto_updated") {
        "the column is ON UPDATE CURRENT_TIMESTAMP: name it in the UPDATEs of the up and the \
         down (SET …, col = col) to keep its values, or accept the new times with the allow line"
            .into()
    } else if sql.contains("DROP COLUMN") || sql.contains("DROP TABLE") {
        "keep what the up replaces (the old column or table) until the next release and drop \
         it in a later migration, so the down can restore it from there"
            .into()
    } else if has(f, "rows_missing") && f.get_detail("rows_missing") != Some(&Value::from(0)) {
        "the down removes rows it did not add: restrict its DELETE to the rows the up created, \
         or keep a copy of the rows the up changes"
            .into()
    } else if has(f, "values_lost") || sql.contains(" TYPE ") {
        "cast back to a type that holds every value, or keep the original values in a column \
         until the next release"
            .into()
    } else {
        "write a down that restores the values the up rewrote (keep the originals in a column \
         until the next release), or accept the loss with the allow line"
            .into()
    }
}

fn schema_drift(f: &Finding, command: &str) -> String {
    if has(f, "column_order") && command == "drift" {
        return "the live table's columns are in another order: harmless unless code uses \
                SELECT * or positional INSERT; rebuild the table in the migrations' order if it \
                does"
            .into();
    }
    if has(f, "column_order") {
        return "the down recreates the column at the end of the table: accept the new order, \
                or have the down rebuild the table in the original order"
            .into();
    }
    if has(f, "extension_kept") {
        return "keeping the extension is usually on purpose (other objects may use it): accept \
                it with the allow line, or add DROP EXTENSION to the down"
            .into();
    }
    match (command, f.direction) {
        ("drift", _) => "write a migration for the change made by hand on the live database, or \
                         undo it there"
            .into(),
        ("mask", _) => "the copy's schema lost what the diff shows: check that the target \
                        server supports it (extensions, versions) and copy again"
            .into(),
        (_, Some(Direction::Reup)) => "make the up create the same thing every time it runs on \
             the schema its down leaves (the diff shows what differs)"
            .into(),
        _ => "add to the down the statement that undoes each line of the diff (DROP INDEX, DROP \
              TYPE, the constraint it must re-add, …)"
            .into(),
    }
}

fn migration_error(f: &Finding, sql: &str) -> String {
    let code = match f.get_detail("code") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    // What the server said comes before what the statement looks like: an `ALTER TABLE …
    // MODIFY c … NOT NULL` refused because `c` does not exist needs no backfill.
    if let Some(help) = mysql_only(&code, sql) {
        help.into()
    } else if matches!(code.as_str(), "42P01" | "42703" | "1146" | "1054") {
        "the statement names something that does not exist at this point: check the order of \
         the migrations and the names"
            .into()
    } else if matches!(code.as_str(), "22001" | "22003" | "1406" | "1264") {
        "the new type cannot hold values the old one allows (too long, out of range): widen it, \
         or shorten those values in an UPDATE before the change"
            .into()
    } else if sql.contains("SET NOT NULL") || sql.contains("MODIFY") && sql.contains("NOT NULL") {
        "backfill the NULLs first (UPDATE … SET col = … WHERE col IS NULL), then SET NOT NULL"
            .into()
    } else if sql.contains("ADD COLUMN") && sql.contains("NOT NULL") && !sql.contains("DEFAULT") {
        "add a DEFAULT to the new NOT NULL column, or add it nullable, backfill it, then SET NOT \
         NULL"
            .into()
    } else if sql.contains("CONCURRENTLY") || code == "25001" {
        "run the statement outside a transaction: add `-- driftless:no-transaction` (and your \
         tool's own marker) to the file"
            .into()
    } else if matches!(code.as_str(), "23505" | "1062") {
        "remove or merge the duplicate values before adding the unique constraint or index".into()
    } else if matches!(code.as_str(), "42P07" | "42710" | "1050" | "1061") {
        "the object already exists: the down (or an earlier migration) leaves it behind; drop it \
         there, or use IF NOT EXISTS"
            .into()
    } else if matches!(code.as_str(), "23503" | "1452") {
        "delete or fix the rows that point nowhere before adding the foreign key".into()
    } else {
        "fix the statement quoted: the server's message says what it refused".into()
    }
}

/// Syntax of another server (mostly MySQL 8) that MariaDB refuses, told with MariaDB's
/// spelling: `code` is the server's error (a syntax error, an unknown collation, function or
/// parser) and `sql` the statement's words in upper case. `None` when the statement holds
/// none of them.
fn mysql_only(code: &str, sql: &str) -> Option<&'static str> {
    if !matches!(code, "1064" | "1273" | "1128" | "1305" | "1901") {
        return None;
    }
    let syntax = code == "1064";
    let help = if code == "1273" && sql.contains("_0900_") {
        "utf8mb4_0900_* collations are MySQL 8's and this MariaDB has none: use \
         utf8mb4_unicode_520_ci (or utf8mb4_uca1400_ai_ci on MariaDB 10.10+), or keep a \
         MariaDB copy of the migration"
    } else if syntax && sql.contains("->") {
        "MariaDB has no -> / ->> JSON operators (MySQL only): write JSON_EXTRACT(col, '$.path') \
         for ->, JSON_UNQUOTE(JSON_EXTRACT(col, '$.path')) for ->>"
    } else if code == "1128" && sql.contains("WITH PARSER NGRAM") {
        "MariaDB ships no ngram full-text parser (MySQL only): drop WITH PARSER ngram, or use \
         Mroonga for CJK text"
    } else if syntax && sql.contains("NOT ENFORCED") {
        "MariaDB has no NOT ENFORCED CHECK constraints (MySQL only): it enforces every CHECK; \
         drop the constraint or the NOT ENFORCED"
    } else if syntax && sql.contains(" INVISIBLE") && sql.contains("INDEX") {
        "MariaDB spells an invisible index IGNORED (10.6+): replace INVISIBLE with IGNORED"
    } else if syntax && sql.contains(" SRID ") {
        "MariaDB has no SRID column attribute (MySQL only): write REF_SYSTEM_ID=<srid> or drop \
         it"
    } else if sql.contains("ANY_VALUE(") {
        "MariaDB has no ANY_VALUE() (MySQL only): use MIN() or MAX()"
    } else if sql.contains("REGEXP_LIKE(") {
        "MariaDB has no REGEXP_LIKE() (MySQL only): write col REGEXP 'pattern'"
    } else if syntax && sql.starts_with("DROP INDEX") && !sql.contains(" ON ") {
        "MySQL and MariaDB drop an index of a table: DROP INDEX <index> ON <table> (the \
         PostgreSQL spelling without ON is refused)"
    } else if syntax && sql.contains("INDEX") && sql.contains("((") {
        "MariaDB has no functional index parts ((expr)) (MySQL only): index a generated column \
         that computes the expression"
    } else {
        return None;
    };
    Some(help)
}

fn destructive(f: &Finding, sql: &str) -> String {
    let message = f.message.to_ascii_lowercase();
    if has(f, "type_before") || sql.contains(" TYPE ") {
        "add a column of the new type, backfill it, switch the code to it and drop the old \
         column in a later release"
            .into()
    } else if sql.contains("DROP COLUMN") || message.contains("column") {
        "keep the column until the next release: stop using it in this release's code and drop \
         it in a later migration"
            .into()
    } else if message.contains(" field ") {
        // MongoDB's words: a field of a collection's documents.
        "keep the field until the next release: stop using it in this release's code and unset \
         it in a later migration"
            .into()
    } else if message.contains(" collection ") {
        "keep the collection (or rename it aside) until the next release, then drop it in a \
         later migration"
            .into()
    } else if sql.contains("DROP TABLE") || message.contains("drops") {
        "keep the table (or rename it aside) until the next release, then drop it in a later \
         migration"
            .into()
    } else if sql.starts_with("DELETE") || sql.starts_with("TRUNCATE") {
        "check that the WHERE clause selects only the rows meant to go, and keep a copy of them \
         until the change is confirmed"
            .into()
    } else {
        "confirm the loss is intended; if it is, accept it with the allow line".into()
    }
}

fn lint(f: &Finding) -> String {
    match detail_str(f, "rule") {
        Some("modified_migration") => "never edit an applied migration: revert the edit and \
             write a new migration with the change"
            .into(),
        Some("unknown_migration") => "the database has a migration the folder lacks: restore \
             its file, or deploy from the branch that has it"
            .into(),
        Some("unsupported_migration") => "driftless cannot run this migration (it is code, not \
             SQL); check it by hand"
            .into(),
        _ => match detail_str(f, "fix") {
            Some(fix) => fix.to_string(),
            None => "fix the migration file as the message says".into(),
        },
    }
}

fn lock_risk(sql: &str) -> String {
    if sql.starts_with("REINDEX") {
        "use REINDEX … CONCURRENTLY (PostgreSQL 12+, outside a transaction: \
         `-- driftless:no-transaction`): plain REINDEX locks the index ACCESS EXCLUSIVE, and every \
         query planned on the table waits for it"
            .into()
    } else if sql.starts_with("CREATE INDEX") || sql.starts_with("CREATE UNIQUE INDEX") {
        "use CREATE INDEX CONCURRENTLY (outside a transaction: `-- driftless:no-transaction`) so \
         writes go on while it builds"
            .into()
    } else if sql.contains("SET NOT NULL") {
        "add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in a second statement, then SET NOT \
         NULL, which then skips the scan"
            .into()
    } else if sql.contains("FOREIGN KEY") || sql.contains("ADD CONSTRAINT") {
        "add the constraint NOT VALID, then VALIDATE CONSTRAINT in a second statement, which \
         does not block writes"
            .into()
    } else if sql.contains(" TYPE ") {
        "add a column of the new type, backfill it in batches and swap, instead of rewriting \
         the table under a lock"
            .into()
    } else {
        "set a lock_timeout, split the statement into batches, or run it when traffic is low".into()
    }
}

/// The line that accepts `f` in a report of `command`: the comment for its migration's file,
/// or a `driftless.toml` rule; `None` once it is allowed, and for the commands that read no
/// allows (`drift`, `mask`).
pub fn allow_line(f: &Finding, command: &str) -> Option<String> {
    if has(f, "allowed") || !matches!(command, "check" | "dry-run" | "lint") {
        return None;
    }
    let kind = f.rule.as_deref().unwrap_or(f.kind.id());
    let file = f.file.as_deref().unwrap_or_default();
    Some(match &f.migration {
        // A JSON migration (MongoDB) holds no comment, and a Liquibase XML or YAML changelog's
        // own comments are not its SQL: the rule goes in driftless.toml, for this migration.
        Some(m)
            if [".json", ".xml", ".yaml", ".yml"]
                .iter()
                .any(|e| file.ends_with(e)) =>
        {
            format!("[[allow]]\nkind = \"{kind}\"\nmigration = \"{m}\"\nreason = \"<reason>\"")
        }
        Some(_) => format!("-- driftless:allow {kind} <reason>"),
        None => format!("[[allow]]\nkind = \"{kind}\"\nreason = \"<reason>\""),
    })
}

#[cfg(test)]
mod lock_help_tests {
    use super::*;

    #[test]
    fn mongo_findings_speak_of_fields_and_collections_and_accept_in_the_toml() {
        let field = Finding::new(
            FindingKind::DestructiveChange,
            "up drops field db.users.phone holding 200 values",
        );
        assert!(help(&field, "check").starts_with("keep the field"));
        let collection = Finding::new(
            FindingKind::DestructiveChange,
            "up drops collection db.users holding 200 documents",
        );
        assert!(help(&collection, "check").starts_with("keep the collection"));
        let table = Finding::new(
            FindingKind::DestructiveChange,
            "up drops table public.users holding 200 rows",
        )
        .statement("DROP TABLE users");
        assert!(help(&table, "check").starts_with("keep the table"));
        let mut json = Finding::new(FindingKind::DataLoss, "lost");
        json.migration = Some("2".into());
        json.file = Some("migrations/2_drop_phone.down.json".into());
        assert_eq!(
            allow_line(&json, "check").unwrap(),
            "[[allow]]\nkind = \"data_loss\"\nmigration = \"2\"\nreason = \"<reason>\""
        );
        json.file = Some("migrations/2_drop_phone.down.sql".into());
        assert_eq!(
            allow_line(&json, "check").unwrap(),
            "-- driftless:allow data_loss <reason>"
        );
    }

    fn risk(sql: &str, queues: bool, lock_timeout: Option<u64>) -> String {
        let mut f = Finding::new(FindingKind::LockRisk, "m").statement(sql);
        if queues {
            f = f
                .detail("queues_behind_reads", true)
                .detail("lock_timeout_ms", lock_timeout);
        }
        help(&f, "dry-run")
    }

    #[test]
    fn a_brief_exclusive_lock_is_told_how_to_stop_queueing() {
        assert!(risk("REINDEX TABLE t", true, None).contains("REINDEX … CONCURRENTLY"));
        assert!(risk("DROP INDEX t_a", true, None).contains("DROP INDEX CONCURRENTLY"));
        assert!(risk("ALTER TABLE t ADD COLUMN c int", true, None).contains("SET lock_timeout"));
        assert!(
            risk("ALTER TABLE t ADD COLUMN c int", true, Some(2000)).contains("bounds the wait")
        );
        assert!(risk("CREATE INDEX i ON t (a)", false, None).contains("CONCURRENTLY"));
    }
}

#[cfg(test)]
mod migration_error_help_tests {
    use super::*;

    fn error_help(code: &str, sql: &str) -> String {
        let f = Finding::new(FindingKind::MigrationError, "m")
            .statement(sql)
            .detail("code", code);
        help(&f, "check")
    }

    #[test]
    fn a_column_that_does_not_exist_is_not_told_to_backfill() {
        let h = error_help(
            "1054",
            "ALTER TABLE crates MODIFY `lid` varchar(9) NOT NULL",
        );
        assert!(h.contains("does not exist"), "{h}");
        assert!(
            error_help("1138", "ALTER TABLE crates MODIFY lid varchar(9) NOT NULL")
                .contains("backfill")
        );
        // Too long for the narrower type: not a NULL to backfill either.
        let h = error_help("1406", "ALTER TABLE crates MODIFY lid varchar(9) NOT NULL");
        assert!(h.contains("widen"), "{h}");
        assert!(!h.contains("backfill"), "{h}");
    }

    #[test]
    fn mysql_only_syntax_is_named_with_mariadb_spelling() {
        let cases = [
            (
                "1064",
                "ALTER TABLE c ADD k int AS (doc ->> '$.k')",
                "JSON_UNQUOTE",
            ),
            (
                "1064",
                "ALTER TABLE c ADD k int AS (doc->'$.k')",
                "JSON_EXTRACT",
            ),
            (
                "1273",
                "CREATE TABLE c (a int) COLLATE=utf8mb4_0900_ai_ci",
                "utf8mb4_0900",
            ),
            (
                "1128",
                "CREATE FULLTEXT INDEX f ON c (a) WITH PARSER ngram",
                "ngram",
            ),
            (
                "1064",
                "ALTER TABLE c ADD CHECK (a > 0) NOT ENFORCED",
                "NOT ENFORCED",
            ),
            ("1064", "CREATE INDEX i ON c (a) INVISIBLE", "IGNORED"),
            (
                "1064",
                "ALTER TABLE c ADD p point SRID 4326",
                "REF_SYSTEM_ID",
            ),
            (
                "1305",
                "UPDATE c SET a = (SELECT ANY_VALUE(b) FROM d)",
                "MIN()",
            ),
            (
                "1064",
                "CREATE INDEX i ON c ((lower(a)))",
                "generated column",
            ),
            ("1064", "DROP INDEX  c_a", "DROP INDEX <index> ON <table>"),
        ];
        for (code, sql, expected) in cases {
            let h = error_help(code, sql);
            assert!(h.contains(expected), "{sql}: {h}");
        }
        // A syntax error of another kind keeps the general advice.
        assert!(error_help("1064", "CREAT TABLE c (a int)").contains("server's message"));
    }
}
