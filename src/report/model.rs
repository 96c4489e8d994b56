//! The one report model every output format renders (docs/report.md, version 1).

use serde::Serialize;
use serde_json::{Map, Value};

use super::{FindingKind, Severity};

/// Which step of the roundtrip a finding belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Up,
    Down,
    Reup,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
            Direction::Reup => "reup",
        }
    }
}

/// One problem found. Findings are data: they never abort a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    pub migration: Option<String>,
    pub migration_name: Option<String>,
    pub direction: Option<Direction>,
    pub object: Option<String>,
    pub table: Option<String>,
    pub column: Option<String>,
    /// The constraint a change inside a table is about (`schema_drift`), unqualified.
    pub constraint: Option<String>,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub check: Option<String>,
    /// A `lint` finding's rule (`renaming-column`, …; `report::rules`), also in
    /// `details.rule`; absent for other findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub details: Option<Map<String, Value>>,
    /// The statement at fault, quoted: its first lines as written at `file:line`.
    pub statement: Option<String>,
    /// What to do about it, said for this kind and cause (filled by [`Report::finish`]).
    pub help: Option<String>,
    /// The line to copy to accept it: a `-- driftless:allow` comment for the migration's
    /// file, or a `driftless.toml` rule for a finding of no migration; `null` once allowed and
    /// in the reports of commands that read no allows (`drift`, `mask`).
    pub allow: Option<String>,
    /// The command that prints the kind's page: `driftless explain data_loss`.
    pub explain: String,
    /// The same page on the web.
    pub help_url: String,
}

impl Finding {
    /// The detail `key`, if the finding has it.
    pub fn get_detail(&self, key: &str) -> Option<&Value> {
        self.details.as_ref().and_then(|d| d.get(key))
    }

    /// A finding of `kind` at its default severity; fill the rest with the builder methods.
    pub fn new(kind: FindingKind, message: impl Into<String>) -> Finding {
        Finding {
            kind,
            severity: kind.default_severity(),
            migration: None,
            migration_name: None,
            direction: None,
            object: None,
            table: None,
            column: None,
            constraint: None,
            message: message.into(),
            file: None,
            line: None,
            check: None,
            rule: None,
            details: None,
            statement: None,
            help: None,
            allow: None,
            explain: kind.explain_command(),
            help_url: kind.help_url(),
        }
    }

    pub fn migration(mut self, version: &str, name: &str) -> Self {
        self.migration = Some(version.to_string());
        self.migration_name = Some(name.to_string());
        self
    }

    pub fn direction(mut self, direction: Direction) -> Self {
        self.direction = Some(direction);
        self
    }

    /// Sets `object` and the unqualified `table` / `column` it names.
    pub fn object(
        mut self,
        object: impl Into<String>,
        table: Option<&str>,
        column: Option<&str>,
    ) -> Self {
        self.object = Some(object.into());
        self.table = table.map(str::to_string);
        self.column = column.map(str::to_string);
        self
    }

    /// Sets `constraint`: the constraint of `table` a finding is about.
    pub fn constraint(mut self, name: Option<&str>) -> Self {
        self.constraint = name.map(str::to_string);
        self
    }

    pub fn at(mut self, file: &std::path::Path, line: Option<usize>) -> Self {
        self.file = Some(file.display().to_string());
        self.line = line;
        self
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn check(mut self, name: &str) -> Self {
        self.check = Some(name.to_string());
        self
    }

    /// Quotes the statement at fault (its first lines).
    pub fn statement(mut self, sql: &str) -> Self {
        self.statement = Some(super::quote(sql));
        self
    }

    /// A `lint` finding of `rule` (a name of `report::rules`) at the rule's default severity,
    /// with the rule's page as `explain` and its fix in `details.fix`.
    pub fn lint_rule(rule: &super::rules::LintRule, message: impl Into<String>) -> Finding {
        let mut f = Finding::new(FindingKind::Lint, message)
            .severity(rule.severity)
            .detail("rule", rule.name)
            .detail("fix", rule.fix);
        f.rule = Some(rule.name.to_string());
        f.explain = format!("driftless explain {}", rule.name);
        f.help_url = format!(
            "{}/blob/main/docs/kinds.md#{}",
            env!("CARGO_PKG_REPOSITORY"),
            rule.name
        );
        f
    }

    /// The default severity of this finding: its rule's, else its kind's.
    pub fn default_severity(&self) -> Severity {
        self.rule
            .as_deref()
            .and_then(super::rules::find)
            .map_or(self.kind.default_severity(), |r| r.severity)
    }

    /// Adds one entry to `details`.
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details
            .get_or_insert_with(Map::new)
            .insert(key.to_string(), value.into());
        self
    }
}

/// Outcome of one migration in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MigrationStatus {
    Ok,
    Finding,
    Error,
    Skipped,
    /// The run was stopped (Ctrl-C, SIGTERM) while this migration ran.
    Interrupted,
}

/// Where a stopped run was: the report's `interrupted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interruption {
    /// `SIGINT` or `SIGTERM`.
    pub signal: String,
    pub migration: Option<String>,
    pub migration_name: Option<String>,
    /// The step in progress: `seed`, `up`, `checks`, `down`, `reup`.
    pub step: Option<String>,
    /// The statement that was running, if one was.
    pub statement: Option<RunningStatement>,
}

/// A statement that was running when the run was stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunningStatement {
    pub file: String,
    pub line: usize,
    /// Its first line.
    pub sql: String,
    /// How long it had been running.
    pub running_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MigrationResult {
    pub version: String,
    pub name: String,
    pub up_ms: Option<u64>,
    pub down_ms: Option<u64>,
    pub reup_ms: Option<u64>,
    pub rows_seeded: Option<u64>,
    pub status: MigrationStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
}

impl Status {
    /// The word every format uses for it: `pass` or `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    pub migrations: usize,
    pub checks_run: usize,
}

/// The report of one command run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub version: u32,
    pub tool: String,
    pub command: String,
    pub engine: String,
    pub server_version: Option<String>,
    /// Server settings that shape the results (MySQL: `sql_mode`); left out when empty.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub server_settings: std::collections::BTreeMap<String, String>,
    pub status: Status,
    /// The migration tool layout that was read (`sqlx`, `flyway`, ...), where migrations were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration_format: Option<String>,
    pub started_at: String,
    pub duration_ms: u64,
    pub seed: Option<u64>,
    pub migrations: Vec<MigrationResult>,
    /// `mask`: what was copied, per table.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<TableCopy>,
    /// `dry-run`: the deploy, migration by migration and statement by statement.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<TimelineEntry>,
    /// `dry-run`: how the deploy changed the data, per table whose data changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data_changes: Vec<DataChange>,
    pub findings: Vec<Finding>,
    pub summary: Summary,
    /// `check`: where the time went, in ms per phase (seed, apply, schema, fingerprint, diff,
    /// checks, drill_down).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub phases_ms: std::collections::BTreeMap<String, u64>,
    /// The run was stopped before it finished: where it was. Everything above is what it
    /// had finished by then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<Interruption>,
}

/// What one statement of a traced apply did (`dry-run`'s timeline).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StatementTrace {
    /// 1-based line in the file.
    pub line: usize,
    /// The whole statement, as written (trimmed).
    pub sql: String,
    pub ms: u64,
    /// Rows the statement affected, where the server says.
    pub rows: Option<u64>,
    /// The strongest table lock the statement took (PostgreSQL's lock mode names), and on what.
    pub lock: Option<String>,
    pub lock_on: Option<String>,
    /// What that lock blocks for other sessions: `reads and writes`, `writes`, or nothing.
    pub blocks: Option<String>,
    /// How long the lock was held: to the end of the statement, or of its transaction.
    pub held_ms: u64,
    /// Tables whose storage was rewritten (a new relfilenode, a rebuilt InnoDB table).
    pub rewrote: Vec<String>,
    /// Every lock the statement took itself (not those its transaction held from an earlier
    /// statement), one per table or index, the most blocking first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locks: Vec<TableLock>,
    /// How long the statement would have waited for a lock before giving up: the session's
    /// `lock_timeout`, where one was set (PostgreSQL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_timeout_ms: Option<u64>,
}

/// One lock a statement took: on a table, or on an index of a table (`REINDEX` takes ACCESS
/// EXCLUSIVE on the index and only SHARE on its table, and every query planned on the table
/// must lock all its indexes).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TableLock {
    /// Qualified name of the table or index.
    pub relation: String,
    /// For an index: its table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_of: Option<String>,
    /// The lock's name (PostgreSQL's mode, `metadata lock EXCLUSIVE` on MySQL).
    pub lock: String,
    /// What it blocks for other sessions' reads and writes of the table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocks: Option<String>,
}

impl TableLock {
    /// The table whose reads or writes the lock blocks.
    pub fn table(&self) -> &str {
        self.index_of.as_deref().unwrap_or(&self.relation)
    }

    /// `AccessExclusiveLock on index public.t_pkey of public.t, blocks reads and writes`.
    pub fn describe(&self) -> String {
        let on = match &self.index_of {
            Some(table) => format!("index {} of {table}", self.relation),
            None => self.relation.clone(),
        };
        let blocking = self
            .blocks
            .as_deref()
            .map(|b| format!(", blocks {b}"))
            .unwrap_or_default();
        format!("{} on {on}{blocking}", self.lock)
    }
}

impl StatementTrace {
    /// The statement as a timeline shows it: all of it, trimmed of blank edges.
    pub fn full(sql: &str) -> String {
        sql.trim().to_string()
    }

    /// Every lock the statement took, in words: one per table or index; the strongest alone
    /// when the engine names only that one.
    pub fn lock_text(&self) -> Option<String> {
        if !self.locks.is_empty() {
            let all: Vec<String> = self.locks.iter().map(TableLock::describe).collect();
            return Some(all.join("; "));
        }
        let (lock, on) = (self.lock.as_ref()?, self.lock_on.as_ref()?);
        let blocking = self
            .blocks
            .as_deref()
            .map(|b| format!(", blocks {b}"))
            .unwrap_or_default();
        Some(format!("{lock} on {on}{blocking}"))
    }

    /// A statement's first line, at most 100 characters, as the timeline shows it.
    pub fn headline(sql: &str) -> String {
        let first = sql.trim().lines().next().unwrap_or("").trim();
        if first.chars().count() > 100 {
            format!("{}…", first.chars().take(99).collect::<String>())
        } else {
            first.to_string()
        }
    }
}

/// One migration of a `dry-run` deploy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    pub migration: String,
    pub migration_name: String,
    pub file: String,
    pub ms: u64,
    pub statements: Vec<StatementTrace>,
}

/// How a `dry-run` deploy changed one table's data. Counts the row-level comparison could
/// not measure (a table without a primary key compares as a multiset) are left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DataChange {
    /// Qualified name.
    pub table: String,
    /// `null` for a table the deploy creates.
    pub rows_before: Option<i64>,
    /// `null` for a table the deploy drops.
    pub rows_after: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_added: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_removed: Option<i64>,
    /// With `--row-diff`: per column on both sides, in how many rows present before and after
    /// its value changed (columns without changes left out).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub values_changed: std::collections::BTreeMap<String, i64>,
    /// Without `--row-diff`: columns on both sides whose values differ as a whole (rows added
    /// or removed count too).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub columns_differ: Vec<String>,
    /// Columns the deploy dropped, with the values they held.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub columns_dropped: std::collections::BTreeMap<String, i64>,
    /// Columns that came back under a new name with the same values: old name → new name.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub columns_renamed: std::collections::BTreeMap<String, String>,
    /// The table came back under this name with every row and value (a rename): nothing was
    /// dropped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed_to: Option<String>,
}

/// One table copied by `mask`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableCopy {
    /// Qualified name.
    pub table: String,
    pub rows: u64,
    pub ms: u64,
    /// Transformer per column, for the masked ones (the others are kept as they are).
    pub columns: std::collections::BTreeMap<String, String>,
}

impl Report {
    /// An empty report of `command` on `engine`, started at `started_at` (RFC 3339), passing
    /// until findings say otherwise; the command fills in what it has and calls
    /// [`Report::finish`].
    pub fn new(command: &str, engine: &str, started_at: String) -> Report {
        Report {
            version: 1,
            tool: tool_name(),
            command: command.to_string(),
            engine: engine.to_string(),
            server_version: None,
            server_settings: std::collections::BTreeMap::new(),
            status: Status::Pass,
            migration_format: None,
            started_at,
            duration_ms: 0,
            seed: None,
            migrations: Vec::new(),
            tables: Vec::new(),
            timeline: Vec::new(),
            data_changes: Vec::new(),
            findings: Vec::new(),
            summary: Summary::default(),
            phases_ms: std::collections::BTreeMap::new(),
            interrupted: None,
        }
    }

    /// Puts the findings in the order every format shows them (errors, then warnings, then
    /// info; otherwise as found), gives each its help and allow lines, and fills `status` and
    /// `summary`: `fail` when any finding is at or above `fail_on`.
    pub fn finish(&mut self, fail_on: Severity, checks_run: usize) {
        self.findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let format = self.migration_format.as_deref().and_then(|name| {
            crate::migrations::MigrationFormat::ALL
                .into_iter()
                .find(|f| f.name() == name)
        });
        for f in &mut self.findings {
            let help = super::help::help(f, &self.command);
            f.help = Some(super::help::in_the_tools_words(help, f, format));
            f.allow = super::help::allow_line(f, &self.command);
        }
        let count = |s: Severity| self.findings.iter().filter(|f| f.severity == s).count();
        self.summary = Summary {
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            infos: count(Severity::Info),
            migrations: self.migrations.len(),
            checks_run,
        };
        // A run that was stopped checked only part of what it was asked to: never a pass.
        let failed =
            self.interrupted.is_some() || self.findings.iter().any(|f| f.severity >= fail_on);
        self.status = if failed { Status::Fail } else { Status::Pass };
    }
}

/// `driftless <version>` as reported in `tool`.
pub fn tool_name() -> String {
    format!("driftless {}", env!("CARGO_PKG_VERSION"))
}
