//! `driftless lint`: static rules over the migrations' ups, no server needed.
//!
//! The rules (names, severities, pages) are the registry `report::rules`; this module finds
//! them. Statements are read as tokens (`tokens.rs`) with just enough structure for DDL, so a
//! statement the SQL parser would refuse is still linted. What a rule knows beyond one
//! statement comes from the migration around it: tables it created (no lock hazard on a table
//! nobody else uses yet), the lock_timeout it set, whether its runner wraps it in one
//! transaction (`migrations::runs_in_transaction`), and from earlier migrations the validated
//! `CHECK (col IS NOT NULL)` constraints that make `SET NOT NULL` cheap.
//!
//! `evidence.rs` attaches what a `dry-run` observed to the findings of the statements it ran.

mod evidence;
mod tokens;

pub use evidence::attach_evidence;

use std::collections::{BTreeMap, BTreeSet};

use crate::migrations::{Migration, Script, ServerTransactions, Statement};
use crate::report::Finding;
use crate::report::rules::{self, LintRule};
use crate::sql::Dialect;
use tokens::{Tok, Toks};

/// How to lint.
#[derive(Debug, Clone)]
pub struct Options {
    pub dialect: Dialect,
    /// What the engine's server does with a script's transactions.
    pub transactions: ServerTransactions,
    /// The statements the runner runs on its session first (`[postgres] session`): a
    /// lock_timeout there counts for every migration.
    pub session: Vec<String>,
    /// Leave out the rules `check`'s roundtrip already reports from running the migration
    /// (a BEGIN left open, a nested BEGIN, a statement its runner's transaction refuses).
    pub in_check: bool,
}

/// The findings of every migration's up, in migration and line order.
pub fn lint(migrations: &[Migration], options: &Options) -> Vec<Finding> {
    let mut state = History::default();
    let mut findings = Vec::new();
    for m in migrations.iter().filter(|m| m.unsupported.is_none()) {
        findings.extend(Linter::new(m, &m.up, options, &mut state).run());
    }
    findings
}

/// What earlier migrations left that later rules need.
#[derive(Default)]
struct History {
    /// `CHECK (col IS NOT NULL)` constraints by name: (table, column), and whether validated.
    not_null_checks: BTreeMap<String, (String, String, bool)>,
}

impl History {
    fn proven_not_null(&self, table: &str, column: &str) -> bool {
        self.not_null_checks
            .values()
            .any(|(t, c, valid)| *valid && t == table && c == column)
    }
}

/// Fixed lists the rules read.
const VOLATILE: &[&str] = &[
    "RANDOM",
    "GEN_RANDOM_UUID",
    "UUID_GENERATE_V1",
    "UUID_GENERATE_V1MC",
    "UUID_GENERATE_V4",
    "UUIDV7",
    "UUID_GENERATE_V7",
    "CLOCK_TIMESTAMP",
    "TIMEOFDAY",
    "NEXTVAL",
    "STATEMENT_TIMESTAMP",
    "SETSEED",
];
const SERIALS: &[&str] = &[
    "SERIAL",
    "SERIAL4",
    "SMALLSERIAL",
    "SERIAL2",
    "BIGSERIAL",
    "SERIAL8",
];
const SMALL_INTS: &[&str] = &["INT", "INTEGER", "INT4", "SMALLINT", "INT2"];
/// Words that end a column's type in a column definition.
const COLUMN_CLAUSES: &[&str] = &[
    "NOT",
    "NULL",
    "DEFAULT",
    "PRIMARY",
    "REFERENCES",
    "UNIQUE",
    "CHECK",
    "CONSTRAINT",
    "GENERATED",
    "COLLATE",
    "COMPRESSION",
    "STORAGE",
    "AUTO_INCREMENT",
    "COMMENT",
];
/// Words that start a table constraint instead of a column.
const CONSTRAINT_STARTS: &[&str] = &[
    "CONSTRAINT",
    "PRIMARY",
    "UNIQUE",
    "CHECK",
    "FOREIGN",
    "EXCLUDE",
    "LIKE",
];

struct Linter<'a> {
    m: &'a Migration,
    script: &'a Script,
    options: &'a Options,
    history: &'a mut History,
    /// Tables this migration created: nobody else uses them yet.
    created: BTreeSet<String>,
    timeout_set: bool,
    lock_reported: bool,
    /// The script runs in one transaction (the runner's, or its own BEGIN … COMMIT).
    atomic: bool,
    /// The runner's transaction holds the whole script and the runner's record of it: after
    /// any failure the migration runs again from a clean state.
    rerun_safe: bool,
    /// Constraints this migration added NOT VALID (name → line).
    not_valid: BTreeMap<String, usize>,
    /// A BEGIN of the script's own is open at the statement being read.
    own_open: bool,
    findings: Vec<Finding>,
}

impl<'a> Linter<'a> {
    fn new(
        m: &'a Migration,
        script: &'a Script,
        options: &'a Options,
        history: &'a mut History,
    ) -> Linter<'a> {
        let timeout_set = options
            .session
            .iter()
            .any(|s| sets_timeout(s, options.dialect));
        let atomic = crate::migrations::atomic(script, options.transactions)
            || script.statements.len() <= 1
            || own_transaction(script);
        Linter {
            m,
            script,
            options,
            history,
            created: BTreeSet::new(),
            timeout_set,
            lock_reported: false,
            atomic,
            // A script that is one BEGIN … COMMIT of its own (sqitch's way) rolls back whole.
            rerun_safe: (script.transactional
                && crate::migrations::atomic(script, options.transactions))
                || own_transaction(script),
            not_valid: BTreeMap::new(),
            own_open: false,
            findings: Vec::new(),
        }
    }

    fn run(mut self) -> Vec<Finding> {
        if self.options.dialect == Dialect::Postgres && !self.options.in_check {
            let shape = crate::migrations::shape(self.script);
            for line in shape.nested {
                self.push(
                    "nested-transaction",
                    line,
                    "this BEGIN opens a transaction inside one already open: it does not nest, and the COMMIT that follows ends the outer one early".into(),
                    None,
                    None,
                );
            }
            if let Some(line) = shape.unclosed {
                self.push(
                    "transaction-left-open",
                    line,
                    "this BEGIN is never committed: the runner does not commit what the script leaves open".into(),
                    None,
                    None,
                );
            }
        }
        for s in &self.script.statements {
            if s.transaction_control {
                let word = s.sql.trim_start().to_ascii_uppercase();
                self.own_open = word.starts_with("BEGIN") || word.starts_with("START");
                continue;
            }
            let Some(tokens) = tokens::tokens(&s.sql, self.options.dialect) else {
                continue;
            };
            let t = Toks(tokens);
            self.identifiers(s, &t);
            match self.options.dialect {
                Dialect::Postgres => self.postgres(s, &t),
                Dialect::MySql => self.mysql(s, &t),
            }
        }
        self.findings
    }

    fn push(
        &mut self,
        rule: &str,
        line: usize,
        message: String,
        table: Option<&str>,
        column: Option<&str>,
    ) {
        let Some(rule) = rules::find(rule) else {
            return;
        };
        let mut f = Finding::lint_rule(rule, message)
            .migration(&self.m.version, &self.m.name)
            .at(&self.script.path, Some(line));
        if let Some(table) = table {
            let object = match column {
                Some(c) => format!("{table}.{c}"),
                None => table.to_string(),
            };
            f = f.object(object, Some(table), column);
        }
        self.findings.push(f);
    }

    /// Names the constraint of the finding just pushed, when the statement names it: one
    /// ALTER may add several, and `[[allow]]` rules match on `constraint`.
    fn name_constraint(&mut self, name: &str) {
        if let (false, Some(f)) = (name.is_empty(), self.findings.last_mut()) {
            f.constraint = Some(name.to_string());
        }
    }

    fn existing(&self, table: &str) -> bool {
        !self.created.contains(table)
    }

    /// `require-lock-timeout`, once per migration: `what` takes a lock that queues.
    fn locks(&mut self, s: &Statement, table: &str, what: &str) {
        if self.timeout_set || self.lock_reported || !self.existing(table) {
            return;
        }
        self.lock_reported = true;
        let on = if table.is_empty() { "its table" } else { table };
        self.push(
            "require-lock-timeout",
            s.line,
            format!(
                "{what} on {on} with no lock_timeout set before it: while it waits for the lock, every query on {on} waits behind it"
            ),
            (!table.is_empty()).then_some(table),
            None,
        );
    }

    /// `not-rerunnable`: `what` fails when the migration runs again after a partial failure.
    fn rerun(&mut self, s: &Statement, guarded: bool, what: &str) {
        if self.rerun_safe || guarded {
            return;
        }
        self.push(
            "not-rerunnable",
            s.line,
            format!(
                "{what}: the runner does not run this migration in one transaction with its record of it, so after a failure (a later statement's, or the runner's before it records the migration) running it again fails here"
            ),
            None,
            None,
        );
    }

    fn identifiers(&mut self, s: &Statement, t: &Toks) {
        let ddl = matches!(t.kw(0), "CREATE" | "ALTER");
        if !ddl {
            return;
        }
        let (limit, unit) = match self.options.dialect {
            Dialect::Postgres => (63, "bytes"),
            Dialect::MySql => (64, "characters"),
        };
        let long = t.0.iter().find_map(|tok| match tok {
            Tok::Word { text, .. } => {
                let size = match self.options.dialect {
                    Dialect::Postgres => text.len(),
                    Dialect::MySql => text.chars().count(),
                };
                (size > limit).then(|| (text.clone(), size))
            }
            _ => None,
        });
        if let Some((name, size)) = long {
            let kept: String = match self.options.dialect {
                Dialect::Postgres => {
                    let mut end = limit;
                    while !name.is_char_boundary(end) {
                        end -= 1;
                    }
                    name[..end].to_string()
                }
                Dialect::MySql => name.chars().take(limit).collect(),
            };
            let what = match self.options.dialect {
                Dialect::Postgres => format!("PostgreSQL keeps only `{kept}`"),
                Dialect::MySql => "MySQL refuses it".to_string(),
            };
            self.push(
                "identifier-too-long",
                s.line,
                format!("`{name}` is {size} {unit}, over the limit of {limit}: {what}"),
                None,
                None,
            );
        }
    }

    fn mysql(&mut self, s: &Statement, t: &Toks) {
        if t.at(0, &["DROP", "DATABASE"]) || t.at(0, &["DROP", "SCHEMA"]) {
            self.push(
                "dropping-database",
                s.line,
                "the migration drops a whole database".into(),
                None,
                None,
            );
        } else if t.at(0, &["CREATE", "TABLE"]) || t.at(0, &["CREATE", "TEMPORARY", "TABLE"]) {
            let i = if t.kw(1) == "TEMPORARY" { 3 } else { 2 };
            let i = t.skip(i, &["IF", "NOT", "EXISTS"]);
            if let Some((table, _)) = t.name(i) {
                self.created.insert(table);
            }
        } else if t.at(0, &["RENAME", "TABLE"]) {
            if let Some((table, _)) = t.name(2)
                && self.existing(&table)
            {
                self.push(
                    "renaming-table",
                    s.line,
                    format!("renames table {table}: the previous release's queries still name it"),
                    Some(&table),
                    None,
                );
            }
        } else if t.at(0, &["DROP", "TABLE"]) || t.at(0, &["DROP", "TEMPORARY", "TABLE"]) {
            self.drop_tables(s, t);
        } else if t.at(0, &["ALTER", "TABLE"]) {
            let i = t.skip(t.skip(2, &["ONLINE"]), &["IGNORE"]);
            let Some((table, after)) = t.name(i) else {
                return;
            };
            if !self.existing(&table) {
                return;
            }
            for (a, b) in t.split_commas(after, t.len()) {
                if t.at(a, &["RENAME", "COLUMN"]) {
                    let column = t.ident(a + 2).unwrap_or_default().to_string();
                    self.renamed_column(s, &table, &column);
                } else if t.at(a, &["CHANGE"]) {
                    let c = t.skip(a + 1, &["COLUMN"]);
                    if let (Some(old), Some(new)) = (t.ident(c), t.ident(c + 1))
                        && old != new
                    {
                        let old = old.to_string();
                        self.renamed_column(s, &table, &old);
                    }
                } else if t.at(a, &["RENAME"]) && b > a + 1 {
                    self.renamed_table(s, &table);
                } else if t.at(a, &["DROP"])
                    && !t.contains(a, b, &["INDEX"])
                    && !t.contains(a, b, &["KEY"])
                    && !t.contains(a, b, &["CONSTRAINT"])
                    && !t.contains(a, b, &["FOREIGN"])
                    && !t.contains(a, b, &["PRIMARY"])
                    && !t.contains(a, b, &["CHECK"])
                    && !t.contains(a, b, &["DEFAULT"])
                {
                    let c = t.skip(a + 1, &["COLUMN"]);
                    if let Some(column) = t.ident(c) {
                        let column = column.to_string();
                        self.dropped_column(s, &table, &column);
                    }
                }
            }
        }
    }

    fn renamed_column(&mut self, s: &Statement, table: &str, column: &str) {
        self.push(
            "renaming-column",
            s.line,
            format!("renames {table}.{column}: the previous release's queries still name the old column and fail until the new code is everywhere"),
            Some(table),
            Some(column),
        );
    }

    fn renamed_table(&mut self, s: &Statement, table: &str) {
        self.push(
            "renaming-table",
            s.line,
            format!("renames table {table}: the previous release's queries still name it and fail from the moment this commits"),
            Some(table),
            None,
        );
    }

    fn dropped_column(&mut self, s: &Statement, table: &str, column: &str) {
        self.push(
            "dropping-column",
            s.line,
            format!("drops {table}.{column}: the previous release may still read or write it"),
            Some(table),
            Some(column),
        );
    }

    fn drop_tables(&mut self, s: &Statement, t: &Toks) {
        let start = t.find(0, t.len(), &["TABLE"]).map_or(2, |i| i + 1);
        let guarded = t.at(start, &["IF", "EXISTS"]);
        let from = t.skip(start, &["IF", "EXISTS"]);
        let mut locked = None;
        for (a, _) in t.split_commas(from, t.len()) {
            let Some((table, _)) = t.name(a) else {
                continue;
            };
            if self.existing(&table) {
                self.push(
                    "dropping-table",
                    s.line,
                    format!("drops table {table}: the previous release may still use it, and its rows are gone for a rollback"),
                    Some(&table),
                    None,
                );
                locked.get_or_insert(table.clone());
            }
            self.created.remove(&table);
        }
        if self.options.dialect == Dialect::Postgres {
            if let Some(table) = locked {
                self.locks(s, &table, "DROP TABLE takes an ACCESS EXCLUSIVE lock");
            }
            self.rerun(s, guarded, "DROP TABLE without IF EXISTS");
        }
    }

    fn postgres(&mut self, s: &Statement, t: &Toks) {
        match t.kw(0) {
            "SET" if sets_timeout(&s.sql, Dialect::Postgres) => self.timeout_set = true,
            "CREATE" => self.create(s, t),
            "ALTER" if t.kw(1) == "TABLE" => self.alter_table(s, t),
            "ALTER" if t.kw(1) == "DOMAIN" && t.find(2, t.len(), &["ADD"]).is_some() => {
                self.push(
                    "domain-constraint",
                    s.line,
                    "adds a constraint to a domain: every column of that domain is checked under lock".into(),
                    None,
                    None,
                );
            }
            "DROP" => self.drop(s, t),
            "REINDEX" if !t.contains(1, t.len(), &["CONCURRENTLY"]) => {
                self.push(
                    "reindex-non-concurrently",
                    s.line,
                    "REINDEX without CONCURRENTLY blocks writes to the table and reads through the index until the rebuild ends".into(),
                    None,
                    None,
                );
                let table = reindexed(t).unwrap_or_default();
                self.locks(s, &table, "REINDEX locks the table and its indexes");
            }
            "TRUNCATE" => {
                let from = t.skip(1, &["TABLE"]);
                let table = t.name(t.skip(from, &["ONLY"])).map(|(n, _)| n);
                if t.find(1, t.len(), &["CASCADE"]).is_some() {
                    self.push(
                        "truncating-cascade",
                        s.line,
                        "TRUNCATE ... CASCADE also empties every table that references these, and theirs in turn".into(),
                        table.as_deref(),
                        None,
                    );
                }
                if let Some(table) = table {
                    self.locks(s, &table, "TRUNCATE takes an ACCESS EXCLUSIVE lock");
                }
            }
            "LOCK" => {
                let from = t.skip(t.skip(1, &["TABLE"]), &["ONLY"]);
                if let Some((table, _)) = t.name(from) {
                    self.locks(s, &table, "LOCK TABLE");
                }
            }
            "CLUSTER" | "VACUUM" if t.kw(0) == "CLUSTER" || t.contains(1, t.len(), &["FULL"]) => {
                let table = (1..t.len())
                    .rev()
                    .find_map(|i| t.ident(i))
                    .unwrap_or_default()
                    .to_string();
                self.locks(
                    s,
                    &table,
                    "rewriting a table (CLUSTER / VACUUM FULL) takes an ACCESS EXCLUSIVE lock",
                );
            }
            "REFRESH" if !t.contains(1, t.len(), &["CONCURRENTLY"]) => {
                let from = t.skip(1, &["MATERIALIZED", "VIEW"]);
                if let Some((view, _)) = t.name(from) {
                    self.locks(
                        s,
                        &view,
                        "REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks reads of the view",
                    );
                }
            }
            _ => {}
        }
        if s.needs_autocommit
            && !self.options.in_check
            && (self.own_open
                || crate::migrations::runs_in_transaction(self.script, self.options.transactions))
        {
            let how = if self.own_open {
                "the script's own BEGIN is open here"
            } else if self.script.transactional {
                "the migration's runner wraps the file in one"
            } else {
                "the runner sends the file as one request, which PostgreSQL runs as one"
            };
            self.push(
                "concurrently-in-transaction",
                s.line,
                format!("this statement cannot run inside a transaction block, and {how}: the deploy fails here"),
                None,
                None,
            );
        }
    }

    fn create(&mut self, s: &Statement, t: &Toks) {
        let mut i = 1;
        i = t.skip(i, &["OR", "REPLACE"]);
        i = t.skip(i, &["UNIQUE"]);
        for word in ["GLOBAL", "LOCAL", "TEMPORARY", "TEMP", "UNLOGGED"] {
            i = t.skip(i, &[word]);
        }
        match t.kw(i) {
            "TABLE" => self.create_table(s, t, i + 1),
            "INDEX" => self.create_index(s, t, i + 1),
            "DOMAIN" if t.find(i, t.len(), &["CHECK"]).is_some() => {
                self.push(
                    "domain-constraint",
                    s.line,
                    "a domain with a CHECK: adding or changing it later checks every column of the domain under lock".into(),
                    None,
                    None,
                );
            }
            "SEQUENCE" | "SCHEMA" | "EXTENSION" => {
                let guarded = t.at(i + 1, &["IF", "NOT", "EXISTS"]);
                let what = format!("CREATE {} without IF NOT EXISTS", t.kw(i));
                self.rerun(s, guarded, &what);
            }
            _ => {}
        }
    }

    fn create_table(&mut self, s: &Statement, t: &Toks, at: usize) {
        let guarded = t.at(at, &["IF", "NOT", "EXISTS"]);
        let from = t.skip(at, &["IF", "NOT", "EXISTS"]);
        let Some((table, after)) = t.name(from) else {
            return;
        };
        self.rerun(
            s,
            guarded,
            &format!("CREATE TABLE {table} without IF NOT EXISTS"),
        );
        self.created.insert(table.clone());
        if t.sym(after) != "(" {
            return;
        }
        let Some(close) = t.closing(after) else {
            return;
        };
        let elements = t.split_commas(after + 1, close);
        // Columns named in a table-level PRIMARY KEY / FOREIGN KEY are keys too.
        let mut keys = BTreeSet::new();
        for &(a, b) in &elements {
            if CONSTRAINT_STARTS.contains(&t.kw(a)) {
                for seq in [&["PRIMARY", "KEY"][..], &["FOREIGN", "KEY"][..]] {
                    if let Some(k) = t.find(a, b, seq)
                        && t.sym(k + 2) == "("
                        && let Some(end) = t.closing(k + 2)
                    {
                        keys.extend((k + 3..end).filter_map(|j| t.ident(j).map(str::to_string)));
                    }
                }
            }
        }
        for &(a, b) in &elements {
            if CONSTRAINT_STARTS.contains(&t.kw(a)) {
                continue;
            }
            self.column(s, t, &table, a, b, &keys);
        }
    }

    /// A column definition `a..b` (name first): the design rules.
    fn column(
        &mut self,
        s: &Statement,
        t: &Toks,
        table: &str,
        a: usize,
        b: usize,
        keys: &BTreeSet<String>,
    ) -> Option<String> {
        let column = t.ident(a)?.to_string();
        let ty = a + 1;
        let type_end = (ty..b)
            .find(|&j| COLUMN_CLAUSES.contains(&t.kw(j)))
            .unwrap_or(b);
        let key = column == "id"
            || column.ends_with("_id")
            || keys.contains(&column)
            || t.find(type_end, b, &["PRIMARY", "KEY"]).is_some()
            || t.find(type_end, b, &["REFERENCES"]).is_some();
        self.column_type(s, t, table, &column, ty, type_end, key);
        Some(column)
    }

    /// The design rules on the type at `ty..type_end` of `table.column`.
    #[allow(clippy::too_many_arguments)]
    fn column_type(
        &mut self,
        s: &Statement,
        t: &Toks,
        table: &str,
        column: &str,
        ty: usize,
        type_end: usize,
        key: bool,
    ) {
        let first = t.kw(ty).to_string();
        let with_length = t.sym(ty + 1) == "(" || t.sym(ty + 2) == "(";
        if key
            && matches!(
                first.as_str(),
                "SERIAL" | "SERIAL4" | "SMALLSERIAL" | "SERIAL2"
            )
        {
            self.push(
                "prefer-bigint",
                s.line,
                format!(
                    "key column {table}.{column} is {}: a key of 32 bits or less runs out",
                    first.to_lowercase()
                ),
                Some(table),
                Some(column),
            );
        }
        let (rule, message) = if SERIALS.contains(&first.as_str()) {
            (
                "prefer-identity",
                format!(
                    "{table}.{column} is {}: prefer bigint GENERATED ALWAYS AS IDENTITY",
                    first.to_lowercase()
                ),
            )
        } else if SMALL_INTS.contains(&first.as_str()) && key {
            (
                "prefer-bigint",
                format!(
                    "key column {table}.{column} is {}: a 32-bit key runs out at about 2.1 billion",
                    first.to_lowercase()
                ),
            )
        } else if (first == "VARCHAR" || t.at(ty, &["CHARACTER", "VARYING"])) && with_length {
            (
                "prefer-text",
                format!(
                    "{table}.{column} is varchar with a length: prefer text with a CHECK on its length"
                ),
            )
        } else if (first == "CHAR"
            || first == "BPCHAR"
            || first == "NCHAR"
            || (first == "CHARACTER" && t.kw(ty + 1) != "VARYING"))
            && t.kw(ty + 1) != "VARYING"
        {
            (
                "avoid-char",
                format!("{table}.{column} is char(n): values are padded with spaces; prefer text"),
            )
        } else if first == "TIMESTAMP" && !t.contains(ty, type_end, &["WITH", "TIME", "ZONE"]) {
            (
                "prefer-timestamptz",
                format!("{table}.{column} is timestamp without time zone: prefer timestamptz"),
            )
        } else {
            return;
        };
        self.push(rule, s.line, message, Some(table), Some(column));
    }

    fn create_index(&mut self, s: &Statement, t: &Toks, at: usize) {
        let concurrently = t.at(at, &["CONCURRENTLY"]);
        let from = t.skip(at, &["CONCURRENTLY"]);
        let guarded = t.at(from, &["IF", "NOT", "EXISTS"]);
        let Some(on) = t.find(from, t.len(), &["ON"]) else {
            return;
        };
        let Some((table, _)) = t.name(t.skip(on + 1, &["ONLY"])) else {
            return;
        };
        if !concurrently && self.existing(&table) {
            self.push(
                "adding-index-non-concurrently",
                s.line,
                format!("builds an index on {table} without CONCURRENTLY: writes to {table} wait for the whole build"),
                Some(&table),
                None,
            );
            self.locks(s, &table, "CREATE INDEX takes a SHARE lock");
        }
        // A CONCURRENTLY build that fails leaves an invalid index behind, even alone.
        if concurrently && !guarded {
            self.push(
                "not-rerunnable",
                s.line,
                "CREATE INDEX CONCURRENTLY without IF NOT EXISTS: a build that fails leaves an invalid index of that name behind, and running the migration again fails here".into(),
                Some(&table),
                None,
            );
        } else {
            self.rerun(s, guarded, "CREATE INDEX without IF NOT EXISTS");
        }
    }

    fn drop(&mut self, s: &Statement, t: &Toks) {
        match t.kw(1) {
            "DATABASE" => self.push(
                "dropping-database",
                s.line,
                "the migration drops a whole database".into(),
                None,
                None,
            ),
            "TABLE" => self.drop_tables(s, t),
            "INDEX" => {
                let concurrently = t.at(2, &["CONCURRENTLY"]);
                let from = t.skip(2, &["CONCURRENTLY"]);
                let guarded = t.at(from, &["IF", "EXISTS"]);
                if !concurrently {
                    let index = t
                        .name(t.skip(from, &["IF", "EXISTS"]))
                        .map(|(n, _)| n)
                        .unwrap_or_default();
                    self.push(
                        "dropping-index-non-concurrently",
                        s.line,
                        format!("drops index {index} without CONCURRENTLY: it takes an ACCESS EXCLUSIVE lock on its table, blocking reads too"),
                        None,
                        None,
                    );
                    self.locks(s, "", "DROP INDEX takes an ACCESS EXCLUSIVE lock");
                }
                self.rerun(s, guarded, "DROP INDEX without IF EXISTS");
            }
            "SEQUENCE" | "SCHEMA" | "VIEW" | "TYPE" | "EXTENSION" | "FUNCTION" | "DOMAIN" => {
                let guarded = t.at(2, &["IF", "EXISTS"]);
                let what = format!("DROP {} without IF EXISTS", t.kw(1));
                self.rerun(s, guarded, &what);
            }
            _ => {}
        }
    }

    fn alter_table(&mut self, s: &Statement, t: &Toks) {
        let mut i = t.skip(2, &["IF", "EXISTS"]);
        i = t.skip(i, &["ONLY"]);
        let Some((table, after)) = t.name(i) else {
            return;
        };
        let existing = self.existing(&table);
        let mut locking = false;
        for (a, b) in t.split_commas(after, t.len()) {
            locking |= !t.at(a, &["VALIDATE"]);
            if t.at(a, &["ADD"]) {
                let c = t.skip(a + 1, &["COLUMN"]);
                if t.kw(a + 1) != "COLUMN" && CONSTRAINT_STARTS.contains(&t.kw(c)) {
                    self.add_constraint(s, t, &table, c, b, existing);
                } else {
                    self.add_column(s, t, &table, c, b, existing);
                }
            } else if t.at(a, &["VALIDATE", "CONSTRAINT"]) {
                let name = t.ident(a + 2).unwrap_or_default().to_string();
                if let Some(entry) = self.history.not_null_checks.get_mut(&name) {
                    entry.2 = true;
                }
                if self.atomic
                    && let Some(added) = self.not_valid.get(&name)
                {
                    let added = *added;
                    self.push(
                        "adding-constraint-without-not-valid",
                        s.line,
                        format!("validates {name} in the same transaction that added it NOT VALID (line {added}): the lock of the ADD is still held for the whole scan"),
                        Some(&table),
                        None,
                    );
                }
            } else if t.at(a, &["ALTER"]) {
                let c = t.skip(a + 1, &["COLUMN"]);
                let column = t.ident(c).unwrap_or_default().to_string();
                let action = c + 1;
                if !existing {
                    continue;
                }
                if t.at(action, &["TYPE"]) || t.at(action, &["SET", "DATA", "TYPE"]) {
                    let ty = t.skip(t.skip(action, &["SET", "DATA"]), &["TYPE"]);
                    let end = t
                        .find(ty, b, &["USING"])
                        .or(t.find(ty, b, &["COLLATE"]))
                        .unwrap_or(b);
                    let key = column == "id" || column.ends_with("_id");
                    self.column_type(s, t, &table, &column, ty, end, key);
                    self.push(
                        "changing-column-type",
                        s.line,
                        format!("changes the type of {table}.{column}: most type changes rewrite the table and its indexes under an ACCESS EXCLUSIVE lock"),
                        Some(&table),
                        Some(&column),
                    );
                } else if t.at(action, &["SET", "NOT", "NULL"]) {
                    if !self.history.proven_not_null(&table, &column) {
                        self.push(
                            "setting-not-null",
                            s.line,
                            format!("SET NOT NULL on {table}.{column} scans the whole table under an ACCESS EXCLUSIVE lock: no validated CHECK ({column} IS NOT NULL) comes before it"),
                            Some(&table),
                            Some(&column),
                        );
                    }
                } else if t.at(action, &["DROP", "NOT", "NULL"]) {
                    self.push(
                        "dropping-not-null",
                        s.line,
                        format!("{table}.{column} may now be NULL: the previous release's code assumes it never is"),
                        Some(&table),
                        Some(&column),
                    );
                }
            } else if t.at(a, &["DROP", "CONSTRAINT"]) {
                let guarded = t.at(a + 2, &["IF", "EXISTS"]);
                self.rerun(s, guarded, "DROP CONSTRAINT without IF EXISTS");
            } else if t.at(a, &["DROP"]) {
                let guarded = t.at(t.skip(a + 1, &["COLUMN"]), &["IF", "EXISTS"]);
                let c = t.skip(t.skip(a + 1, &["COLUMN"]), &["IF", "EXISTS"]);
                let column = t.ident(c).unwrap_or_default().to_string();
                if existing {
                    self.dropped_column(s, &table, &column);
                }
                self.rerun(
                    s,
                    guarded,
                    &format!("DROP COLUMN {column} without IF EXISTS"),
                );
            } else if t.at(a, &["RENAME"]) && existing {
                if t.at(a + 1, &["TO"]) {
                    self.renamed_table(s, &table);
                } else if !t.at(a + 1, &["CONSTRAINT"]) {
                    let c = t.skip(a + 1, &["COLUMN"]);
                    let column = t.ident(c).unwrap_or_default().to_string();
                    self.renamed_column(s, &table, &column);
                }
            }
        }
        if locking && existing {
            self.locks(s, &table, "ALTER TABLE takes an ACCESS EXCLUSIVE lock");
        }
    }

    fn add_column(
        &mut self,
        s: &Statement,
        t: &Toks,
        table: &str,
        c: usize,
        b: usize,
        existing: bool,
    ) {
        let guarded = t.at(c, &["IF", "NOT", "EXISTS"]);
        let c = t.skip(c, &["IF", "NOT", "EXISTS"]);
        let Some(column) = self.column(s, t, table, c, b, &BTreeSet::new()) else {
            return;
        };
        self.rerun(
            s,
            guarded,
            &format!("ADD COLUMN {column} without IF NOT EXISTS"),
        );
        if !existing {
            return;
        }
        let default = t.find(c, b, &["DEFAULT"]);
        let volatile = default.is_some_and(|d| (d + 1..b).any(|j| VOLATILE.contains(&t.kw(j))));
        let serial = SERIALS.contains(&t.kw(c + 1));
        let stored = t.find(c, b, &["GENERATED"]).is_some() && t.find(c, b, &["STORED"]).is_some();
        if volatile || serial || stored {
            let why = if stored {
                "a stored generated column is computed for every row"
            } else {
                "a volatile default is computed for every existing row"
            };
            self.push(
                "adding-column-volatile-default",
                s.line,
                format!("adds {table}.{column}: {why}, so the table is rewritten under an ACCESS EXCLUSIVE lock"),
                Some(table),
                Some(&column),
            );
        }
        let identity = t.find(c, b, &["GENERATED"]).is_some();
        if t.find(c, b, &["NOT", "NULL"]).is_some() && default.is_none() && !identity && !serial {
            self.push(
                "adding-required-column",
                s.line,
                format!("adds {table}.{column} NOT NULL without a DEFAULT: it fails on a table with rows, and the previous release's INSERTs fail too"),
                Some(table),
                Some(&column),
            );
        }
        if t.find(c, b, &["PRIMARY", "KEY"]).is_some() || t.find(c, b, &["UNIQUE"]).is_some() {
            self.push(
                "adding-unique-constraint",
                s.line,
                format!(
                    "adds {table}.{column} with a unique index built under an ACCESS EXCLUSIVE lock"
                ),
                Some(table),
                Some(&column),
            );
        }
        if t.find(c, b, &["REFERENCES"]).is_some() {
            self.push(
                "adding-constraint-without-not-valid",
                s.line,
                format!("adds {table}.{column} with a foreign key, which scans {table} while both tables are locked against writes; add the key NOT VALID and VALIDATE it later"),
                Some(table),
                Some(&column),
            );
        }
    }

    fn add_constraint(
        &mut self,
        s: &Statement,
        t: &Toks,
        table: &str,
        c: usize,
        b: usize,
        existing: bool,
    ) {
        let (name, kind) = if t.at(c, &["CONSTRAINT"]) {
            (t.ident(c + 1).unwrap_or_default().to_string(), c + 2)
        } else {
            (String::new(), c)
        };
        let not_valid = t.find(kind, b, &["NOT", "VALID"]).is_some();
        match t.kw(kind) {
            "CHECK" | "FOREIGN" => {
                if t.kw(kind) == "CHECK"
                    && let Some(column) = not_null_check(t, kind, b)
                {
                    self.history
                        .not_null_checks
                        .insert(name.clone(), (table.to_string(), column, !not_valid));
                }
                if not_valid {
                    self.not_valid.insert(name, s.line);
                } else if existing {
                    let what = if t.kw(kind) == "CHECK" {
                        "CHECK"
                    } else {
                        "foreign key"
                    };
                    self.push(
                        "adding-constraint-without-not-valid",
                        s.line,
                        format!("adds {} to {table} without NOT VALID: every existing row is checked while {table} is locked against writes", named(what, &name)),
                        Some(table),
                        None,
                    );
                    self.name_constraint(&name);
                }
            }
            "UNIQUE" | "PRIMARY" if existing && t.find(kind, b, &["USING", "INDEX"]).is_none() => {
                let what = if t.kw(kind) == "UNIQUE" {
                    "UNIQUE constraint"
                } else {
                    "PRIMARY KEY constraint"
                };
                self.push(
                    "adding-unique-constraint",
                    s.line,
                    format!("adds {} to {table}: its index is built under an ACCESS EXCLUSIVE lock, blocking reads and writes", named(what, &name)),
                    Some(table),
                    None,
                );
                self.name_constraint(&name);
            }
            _ => {}
        }
    }
}

/// `CHECK (col IS NOT NULL)`: the column.
fn not_null_check(t: &Toks, check: usize, end: usize) -> Option<String> {
    let open = check + 1;
    if t.sym(open) != "(" {
        return None;
    }
    let column = t.ident(open + 1)?.to_string();
    (t.at(open + 2, &["IS", "NOT", "NULL"]) && t.sym(open + 5) == ")" && open + 5 < end)
        .then_some(column)
}

/// The table a REINDEX TABLE names (an index's table is not known without the catalog).
fn reindexed(t: &Toks) -> Option<String> {
    let at = t.find(1, t.len(), &["TABLE"])?;
    let from = t.skip(at + 1, &["CONCURRENTLY"]);
    t.name(from).map(|(n, _)| n)
}

/// `SET [SESSION | LOCAL] lock_timeout | statement_timeout ...` to something other than 0.
fn sets_timeout(sql: &str, dialect: Dialect) -> bool {
    let Some(tokens) = tokens::tokens(sql, dialect) else {
        return false;
    };
    let t = Toks(tokens);
    if t.kw(0) != "SET" {
        return false;
    }
    let i = t.skip(t.skip(1, &["SESSION"]), &["LOCAL"]);
    let setting = t.ident(i).unwrap_or_default();
    if !matches!(setting, "lock_timeout" | "statement_timeout") {
        return false;
    }
    let value = i + 1 + usize::from(t.sym(i + 1) == "=" || t.kw(i + 1) == "TO");
    let disabled = match t.0.get(value) {
        Some(Tok::Str(s)) => s.trim() == "0",
        Some(Tok::Sym(s)) => s == "0",
        Some(Tok::Word { up, .. }) => up == "DEFAULT",
        None => true,
    };
    !disabled
}

/// The script opens a transaction with its first statement and commits it with its last.
fn own_transaction(script: &Script) -> bool {
    let first = script
        .statements
        .first()
        .map(|s| s.sql.trim().to_ascii_uppercase());
    let last = script
        .statements
        .last()
        .map(|s| s.sql.trim().to_ascii_uppercase());
    matches!(first.as_deref(), Some(f) if f.starts_with("BEGIN") || f.starts_with("START TRANSACTION"))
        && matches!(last.as_deref(), Some(l) if l.starts_with("COMMIT") || l.starts_with("END"))
}

/// The rule registry entry of a finding's rule, for callers that judge findings.
pub fn rule_of(f: &Finding) -> Option<&'static LintRule> {
    f.rule.as_deref().and_then(rules::find)
}

/// `foreign key fk_x` for a constraint the statement names, `a foreign key` otherwise.
fn named(what: &str, name: &str) -> String {
    if name.is_empty() {
        format!("a {what}")
    } else {
        format!("{what} {name}")
    }
}
