//! How each tool's runner wraps a migration in a transaction, so that driftless runs every
//! script the way production will: a statement its runner would refuse (`CREATE INDEX
//! CONCURRENTLY` inside the runner's transaction) fails here too, with the tool's own way out
//! in the finding. The readers parse each tool's opt-out (sqlx's first line, diesel's
//! `metadata.toml`, …) into `Script::transactional`; [`follow_runner`] then applies what the
//! tool does with the rest (golang-migrate and sqitch never wrap; outside a transaction some
//! runners send the whole file as one request). [`shape`] reads the transaction control a
//! script writes itself: one it leaves open, one it opens inside the runner's.

use super::{Migration, MigrationFormat, Script};

/// What a server does with the transactions of a script, known per engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerTransactions {
    /// A request of several statements runs as one implicit transaction (PostgreSQL's simple
    /// query protocol); MySQL commits each statement of a multi-statement request.
    pub one_request_is_one: bool,
    /// The statements the splitter marks `needs_autocommit` commit what came before them
    /// (MySQL's DDL) instead of failing inside a transaction (PostgreSQL).
    pub flagged_statements_commit: bool,
}

/// How a runner sends a script it does not wrap in a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outside {
    /// The whole file in one request (sqlx, golang-migrate, diesel, dbmate).
    OneRequest,
    /// Statement by statement, each committed on its own (goose, Flyway and Liquibase over
    /// JDBC, sqitch through psql, popx).
    EachStatement,
}

/// A tool's transaction rule, as its runner has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionRule {
    /// Whether the runner wraps a migration in a transaction unless told otherwise.
    pub wraps_by_default: bool,
    /// How it runs a migration it does not wrap.
    pub outside: Outside,
    /// The sentence a finding starts its advice with: what the runner does.
    pub runner_does: &'static str,
    /// How a migration opts out of the runner's transaction.
    pub opt_out: &'static str,
}

impl MigrationFormat {
    /// The transaction rule of this tool's runner (checked against each tool's source and
    /// documentation: sqlx `starts_with("-- no-transaction")`, golang-migrate's PostgreSQL
    /// driver executing the file as one multi-statement request, diesel's
    /// `run_in_transaction`, dbmate's `transaction:false`, goose's `NO TRANSACTION`, Flyway's
    /// per-statement `canExecuteInTransaction` with `mixed`, Liquibase's `runInTransaction`,
    /// sqitch's `psql` without `--single-transaction`, popx's `.autocommit.` files).
    pub fn transactions(self) -> TransactionRule {
        use MigrationFormat as F;
        let (wraps_by_default, outside, runner_does, opt_out) = match self {
            F::Sqlx => (
                true,
                Outside::OneRequest,
                "sqlx runs every migration in a transaction",
                "add `-- no-transaction` as the very first line of the file",
            ),
            F::GolangMigrate => (
                false,
                Outside::OneRequest,
                "golang-migrate sends the whole file as one request, which PostgreSQL runs as \
                 one transaction",
                "move the statement into a migration file of its own",
            ),
            // How popx sends an `.autocommit.` file was not verified from its source; Ory's
            // own migrations add an enum value and use it in one such file, so statement by
            // statement is taken.
            F::Popx | F::Dotted => (
                true,
                Outside::EachStatement,
                "popx runs every migration in a transaction",
                "name the file `<version>_<name>[.<database>].autocommit.up.sql`",
            ),
            F::Diesel => (
                true,
                Outside::OneRequest,
                "diesel runs every migration in a transaction",
                "add `run_in_transaction = false` to the migration's metadata.toml",
            ),
            F::Dbmate => (
                true,
                Outside::OneRequest,
                "dbmate runs every migration in a transaction",
                "write `-- migrate:up transaction:false` (or `-- migrate:down \
                 transaction:false`)",
            ),
            F::Goose => (
                true,
                Outside::EachStatement,
                "goose runs every migration in a transaction",
                "add `-- +goose NO TRANSACTION` to the file",
            ),
            F::Flyway => (
                true,
                Outside::EachStatement,
                "Flyway runs a migration in a transaction unless all its statements cannot run \
                 in one",
                "put the statement in a migration of its own, set `executeInTransaction=false` \
                 in `<script>.sql.conf`, or `flyway.mixed=true`",
            ),
            F::Liquibase => (
                true,
                Outside::EachStatement,
                "Liquibase runs every changeSet in a transaction",
                "add `runInTransaction:false` to the changeSet",
            ),
            F::Sqitch => (
                false,
                Outside::EachStatement,
                "sqitch runs the script through psql, statement by statement, in the \
                 transaction the script opens",
                "move the statement out of the script's BEGIN … COMMIT",
            ),
        };
        TransactionRule {
            wraps_by_default,
            outside,
            runner_does,
            opt_out,
        }
    }
}

/// Applies the runner's rule to every script the readers made: a tool that never wraps
/// (golang-migrate, sqitch) runs none in a transaction, and a script outside one is sent as
/// the runner sends it.
pub fn follow_runner(format: MigrationFormat, migrations: &mut [Migration]) {
    let rule = format.transactions();
    for m in migrations {
        let scripts = std::iter::once(&mut m.up)
            .chain(m.down.as_mut())
            .chain(m.verify.as_mut());
        for script in scripts {
            script.transactional &= rule.wraps_by_default;
            script.whole = !script.transactional && rule.outside == Outside::OneRequest;
        }
    }
}

/// The transaction control a script writes itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    /// Lines of `BEGIN`s that open a transaction inside one already open (the runner's, or
    /// the script's own).
    pub nested: Vec<usize>,
    /// Line of the `BEGIN` whose transaction is still open when the script ends.
    pub unclosed: Option<usize>,
}

/// Reads the transaction control of `script`: what it opens inside the runner's transaction
/// and what it leaves open.
pub fn shape(script: &Script) -> Shape {
    let mut found = Shape::default();
    let mut open: Option<usize> = None;
    for s in script.statements.iter().filter(|s| s.transaction_control) {
        let word = first_word(&s.sql);
        if matches!(word.as_str(), "begin" | "start") {
            if open.is_some() || script.transactional {
                found.nested.push(s.line);
            }
            open.get_or_insert(s.line);
        } else if matches!(word.as_str(), "commit" | "end" | "rollback" | "abort") {
            open = None;
        }
    }
    // Inside the runner's transaction an unclosed BEGIN is only a nested one: the runner's
    // COMMIT ends it.
    found.unclosed = open.filter(|_| !script.transactional);
    found
}

fn first_word(sql: &str) -> String {
    sql.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("--") && !l.starts_with('#'))
        .unwrap_or_default()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// How `script` actually runs on a server that behaves as `server` says: in a transaction
/// (the runner's, or the one request PostgreSQL makes of a whole file), or not.
pub fn runs_in_transaction(script: &Script, server: ServerTransactions) -> bool {
    script.transactional
        || (server.one_request_is_one
            && script.whole
            && script.statements.len() > 1
            && !script.statements.iter().any(|s| s.transaction_control))
}

/// Whether a failure of `script` leaves nothing of it behind: it ran in one transaction that
/// no statement of its own ended early.
pub fn atomic(script: &Script, server: ServerTransactions) -> bool {
    runs_in_transaction(script, server)
        && !script.statements.iter().any(|s| {
            s.transaction_control || (server.flagged_statements_commit && s.needs_autocommit)
        })
}

/// Server errors of a statement that cannot run in a transaction: PostgreSQL's
/// `active_sql_transaction` (`CREATE INDEX CONCURRENTLY`, `VACUUM`, `ALTER TYPE … ADD VALUE`
/// before 12) and `unsafe_new_enum_value_usage` (an enum value used in the transaction that
/// added it).
pub fn refused_in_transaction(code: &str) -> bool {
    matches!(code, "25001" | "55P04")
}

/// The advice of a failure the runner's transaction caused: what the runner does and how to
/// get out of it, for a script that ran as `script` says on `server`.
pub fn advice(
    format: MigrationFormat,
    script: &Script,
    server: ServerTransactions,
    code: &str,
) -> Option<(String, String)> {
    if !runs_in_transaction(script, server) {
        return None;
    }
    let rule = format.transactions();
    if code == "55P04" {
        // The value must be committed before it is used: no opt-out inside one file does it.
        return Some((
            "PostgreSQL refuses an enum value in the transaction that added it".to_string(),
            format!(
                "add the value in a migration of its own that runs outside a transaction \
                 ({}), before the migration that uses it",
                rule.opt_out
            ),
        ));
    }
    if script.transactional {
        let mut fix = rule.opt_out.to_string();
        if rule.outside == Outside::OneRequest && script.statements.len() > 1 {
            fix.push_str(
                ", and keep the statement alone in its file (outside a transaction the runner \
                 sends the whole file as one request, which PostgreSQL runs as one transaction)",
            );
        }
        return Some((rule.runner_does.to_string(), fix));
    }
    Some((
        format!(
            "{} sends the whole file as one request, which PostgreSQL runs as one transaction",
            format.name()
        ),
        "move the statement into a migration file of its own".to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::pg_split;
    use std::path::PathBuf;

    const PG: ServerTransactions = ServerTransactions {
        one_request_is_one: true,
        flagged_statements_commit: false,
    };

    fn script(text: &str, transactional: bool, whole: bool) -> Script {
        let mut s = Script::parse(PathBuf::from("x.sql"), text, pg_split).unwrap();
        s.transactional = transactional;
        s.whole = whole;
        s
    }

    #[test]
    fn an_unclosed_begin_matters_only_outside_the_runners_transaction() {
        let text = "CREATE TABLE a (id int);\nBEGIN;\nCREATE TABLE b (id int);\n";
        assert_eq!(shape(&script(text, false, false)).unclosed, Some(2));
        let wrapped = shape(&script(text, true, false));
        assert_eq!((wrapped.unclosed, wrapped.nested), (None, vec![2]));
        let closed = shape(&script("BEGIN;\nSELECT 1;\nCOMMIT;\n", false, false));
        assert_eq!(closed, Shape::default());
        let twice = shape(&script("BEGIN;\nBEGIN;\nCOMMIT;\n", false, false));
        assert_eq!((twice.nested, twice.unclosed), (vec![2], None));
    }

    #[test]
    fn one_request_of_several_statements_is_a_transaction_on_postgres_only() {
        let two = script("SELECT 1;\nSELECT 2;\n", false, true);
        assert!(runs_in_transaction(&two, PG));
        let mysql = ServerTransactions {
            one_request_is_one: false,
            flagged_statements_commit: true,
        };
        assert!(!runs_in_transaction(&two, mysql));
        assert!(!runs_in_transaction(
            &script("SELECT 1;\n", false, true),
            PG
        ));
        let own = script("BEGIN;\nSELECT 1;\nCOMMIT;\n", false, true);
        assert!(!runs_in_transaction(&own, PG));
    }

    #[test]
    fn advice_names_the_tools_opt_out() {
        let cic = script("CREATE INDEX CONCURRENTLY i ON t (a);\n", true, false);
        let (does, fix) = advice(MigrationFormat::Sqlx, &cic, PG, "25001").unwrap();
        assert!(does.contains("sqlx runs every migration in a transaction"));
        assert!(fix.contains("-- no-transaction"), "{fix}");
        let (_, fix) = advice(MigrationFormat::Diesel, &cic, PG, "25001").unwrap();
        assert!(fix.contains("run_in_transaction = false"), "{fix}");
        let whole = script("SELECT 1;\nVACUUM t;\n", false, true);
        let (does, fix) = advice(MigrationFormat::GolangMigrate, &whole, PG, "25001").unwrap();
        assert!(does.contains("one request") && fix.contains("of its own"));
        assert!(
            advice(
                MigrationFormat::Goose,
                &script("VACUUM t;", false, false),
                PG,
                "25001"
            )
            .is_none()
        );
    }

    #[test]
    fn tools_that_never_wrap_run_nothing_in_a_transaction() {
        let up = Script::parse(PathBuf::from("1.up.sql"), "SELECT 1;", pg_split).unwrap();
        let mut ms = vec![Migration::new("1", "a", up)];
        follow_runner(MigrationFormat::GolangMigrate, &mut ms);
        assert!(!ms[0].up.transactional && ms[0].up.whole);
        let up = Script::parse(PathBuf::from("1.up.sql"), "SELECT 1;", pg_split).unwrap();
        let mut ms = vec![Migration::new("1", "a", up)];
        follow_runner(MigrationFormat::Sqitch, &mut ms);
        assert!(!ms[0].up.transactional && !ms[0].up.whole);
        let up = Script::parse(PathBuf::from("1.up.sql"), "SELECT 1;", pg_split).unwrap();
        let mut ms = vec![Migration::new("1", "a", up)];
        follow_runner(MigrationFormat::Sqlx, &mut ms);
        assert!(ms[0].up.transactional && !ms[0].up.whole);
    }
}
