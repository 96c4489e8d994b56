//! Rows as bytes: PostgreSQL COPY text, CSV, INSERT statements or JSON Lines, in the SQL
//! dialect of the target engine; and the SQL that loads them and finishes the job (foreign
//! keys of a cycle, sequences).

use std::fmt::Write as _;

use super::generate::Row;
use super::plan::{ColumnPlan, FkPlan, TablePlan};
use crate::schema::{ColumnKind, Table};
use crate::sql::{column_list, literal};
pub use crate::sql::{ident, table_ref};

pub use crate::sql::{Dialect, Encoding};

/// Rows per INSERT statement.
const INSERT_ROWS: usize = 500;

/// How a column's generated text is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Text,
    Number,
    Bool,
    Json,
    /// `\x0a0b` (PostgreSQL bytea hex).
    Bytes,
    /// `0101`.
    Bits,
}

fn form(kind: &ColumnKind) -> Form {
    match kind {
        ColumnKind::Int { .. } | ColumnKind::Decimal { .. } | ColumnKind::Float => Form::Number,
        ColumnKind::Bool => Form::Bool,
        ColumnKind::Json => Form::Json,
        ColumnKind::Bytes { .. } => Form::Bytes,
        ColumnKind::Bit { .. } => Form::Bits,
        _ => Form::Text,
    }
}

/// Encodes rows of one table into one format.
#[derive(Debug, Clone)]
pub struct Encoder {
    encoding: Encoding,
    forms: Vec<Form>,
    names: Vec<String>,
    /// `INSERT INTO t (cols) VALUES` for SQL.
    insert_head: String,
}

impl Encoder {
    pub fn new(encoding: Encoding, plan: &TablePlan) -> Encoder {
        let forms = plan.columns.iter().map(|c| form(&c.column.kind)).collect();
        let names = plan.column_names();
        let insert_head = match encoding {
            Encoding::Sql(dialect) => {
                let explicit = plan.columns.iter().any(|c| c.column.server_filled);
                format!(
                    "INSERT INTO {} ({}){} VALUES\n",
                    table_ref(dialect, &plan.table),
                    column_list(dialect, &names),
                    if explicit && dialect == Dialect::Postgres {
                        " OVERRIDING SYSTEM VALUE"
                    } else {
                        ""
                    }
                )
            }
            _ => String::new(),
        };
        Encoder {
            encoding,
            forms,
            names,
            insert_head,
        }
    }

    /// A CSV header line (empty for other formats).
    pub fn header(&self) -> Vec<u8> {
        match self.encoding {
            Encoding::Csv(_) => {
                let mut out = String::new();
                for (i, name) in self.names.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    csv_quoted(&mut out, name);
                }
                out.push('\n');
                out.into_bytes()
            }
            _ => Vec::new(),
        }
    }

    /// Appends `rows` to `out`.
    pub fn encode(&self, rows: &[Row], out: &mut Vec<u8>) {
        let mut text = String::from_utf8(std::mem::take(out)).unwrap_or_default();
        text.reserve(rows.len() * 64);
        match self.encoding {
            Encoding::PgCopy => {
                for row in rows {
                    for (i, value) in row.iter().enumerate() {
                        if i > 0 {
                            text.push('\t');
                        }
                        match value {
                            None => text.push_str("\\N"),
                            Some(v) => copy_escaped(&mut text, v),
                        }
                    }
                    text.push('\n');
                }
            }
            Encoding::Csv(dialect) => {
                for row in rows {
                    for (i, (value, form)) in row.iter().zip(&self.forms).enumerate() {
                        if i > 0 {
                            text.push(',');
                        }
                        match (value, dialect) {
                            (None, Dialect::Postgres) => {}
                            (None, Dialect::MySql) => text.push_str("NULL"),
                            (Some(v), Dialect::Postgres) => csv_field(&mut text, v),
                            (Some(v), Dialect::MySql) => {
                                csv_quoted(&mut text, &mysql_value(v, *form));
                            }
                        }
                    }
                    text.push('\n');
                }
            }
            Encoding::Sql(dialect) => {
                for batch in rows.chunks(INSERT_ROWS) {
                    text.push_str(&self.insert_head);
                    for (r, row) in batch.iter().enumerate() {
                        text.push_str(if r == 0 { "(" } else { ",\n(" });
                        for (i, (value, form)) in row.iter().zip(&self.forms).enumerate() {
                            if i > 0 {
                                text.push_str(", ");
                            }
                            sql_value(&mut text, dialect, value.as_deref(), *form);
                        }
                        text.push(')');
                    }
                    text.push_str(";\n");
                }
            }
            Encoding::Jsonl => {
                for row in rows {
                    text.push('{');
                    for (i, ((value, form), name)) in
                        row.iter().zip(&self.forms).zip(&self.names).enumerate()
                    {
                        if i > 0 {
                            text.push_str(", ");
                        }
                        json_string(&mut text, name);
                        text.push_str(": ");
                        json_value(&mut text, value.as_deref(), *form);
                    }
                    text.push_str("}\n");
                }
            }
        }
        *out = text.into_bytes();
    }
}

fn copy_escaped(out: &mut String, value: &str) {
    if !value
        .bytes()
        .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        out.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// A PostgreSQL CSV field: quoted when it must be (an empty string is `""`, unlike NULL).
fn csv_field(out: &mut String, value: &str) {
    if value.is_empty() || value.contains([',', '"', '\n', '\r']) || value.starts_with('\\') {
        csv_quoted(out, value);
    } else {
        out.push_str(value);
    }
}

fn csv_quoted(out: &mut String, value: &str) {
    out.push('"');
    push_doubling(out, value, '"');
    out.push('"');
}

/// Appends `value` with every `quote` doubled, without an allocation when there is none.
fn push_doubling(out: &mut String, value: &str, quote: char) {
    if !value.contains(quote) {
        out.push_str(value);
        return;
    }
    for c in value.chars() {
        out.push(c);
        if c == quote {
            out.push(c);
        }
    }
}

/// MySQL has no bytea hex or boolean words: bytes become hex digits (`UNHEX` on load) and
/// booleans 1 / 0.
fn mysql_value(value: &str, form: Form) -> String {
    match form {
        Form::Bytes => value.strip_prefix("\\x").unwrap_or(value).to_string(),
        Form::Bool => (if value == "true" { "1" } else { "0" }).to_string(),
        _ => value.to_string(),
    }
}

fn sql_value(out: &mut String, dialect: Dialect, value: Option<&str>, form: Form) {
    let Some(value) = value else {
        out.push_str("NULL");
        return;
    };
    match (dialect, form) {
        (Dialect::MySql, Form::Bytes) => {
            let _ = write!(out, "X'{}'", value.strip_prefix("\\x").unwrap_or(value));
        }
        (Dialect::MySql, Form::Bits) => {
            let _ = write!(out, "b'{value}'");
        }
        (Dialect::MySql, Form::Bool) => out.push_str(if value == "true" { "1" } else { "0" }),
        _ => {
            out.push('\'');
            push_doubling(out, value, '\'');
            out.push('\'');
        }
    }
}

fn json_string(out: &mut String, value: &str) {
    out.push('"');
    if !value
        .chars()
        .any(|c| c == '"' || c == '\\' || (c as u32) < 0x20)
    {
        out.push_str(value);
        out.push('"');
        return;
    }
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_value(out: &mut String, value: Option<&str>, form: Form) {
    match (value, form) {
        (None, _) => out.push_str("null"),
        (Some(v), Form::Number) if v.parse::<f64>().is_ok_and(f64::is_finite) => {
            out.push_str(v);
        }
        (Some(v), Form::Bool) => out.push_str(if v == "true" { "true" } else { "false" }),
        (Some(v), Form::Json) if serde_json::from_str::<serde_json::Value>(v).is_ok() => {
            out.push_str(v);
        }
        (Some(v), _) => json_string(out, v),
    }
}

/// SQL that gives the foreign key `fk` of a cycle (or of a reference to its own table) its
/// values once every table has rows: rows take parents in a fixed, scattered order,
/// `null_percent` of them stay NULL. A reference to the table itself takes earlier rows only
/// (see [`ParentPick`]); a key whose other columns are already set takes parents that agree
/// with them.
pub fn deferred_fk_update(
    dialect: Dialect,
    plan: &TablePlan,
    fk: &FkPlan,
    parent: &Table,
    null_percent: u32,
) -> Option<String> {
    if fk.set_later.is_empty() {
        return None;
    }
    let own = fk.parent == plan.qualified();
    if own || fk.set_later.len() < fk.columns.len() {
        return ParentPick::new(plan, fk, parent, null_percent).sql(dialect);
    }
    let parent_ref = table_ref(dialect, parent);
    let keys = column_list(dialect, &fk.parent_columns);
    let not_null: Vec<String> = fk
        .parent_columns
        .iter()
        .map(|c| format!("{} IS NOT NULL", ident(dialect, c)))
        .collect();
    let pick = if fk.one_to_one {
        "p.i = n.j".to_string()
    } else {
        "p.i = (n.j * 7919) % k.n".to_string()
    };
    let keep_null = if fk.nullable && null_percent > 0 && !fk.one_to_one {
        format!("(n.j * 37 + 11) % 100 >= {null_percent}")
    } else {
        String::new()
    };
    let parts = FkUpdate {
        child: table_ref(dialect, &plan.table),
        parents: format!(
            "SELECT {keys}, row_number() OVER (ORDER BY {keys}) - 1 AS i FROM {parent_ref} WHERE {}",
            not_null.join(" AND ")
        ),
        count: format!(
            "SELECT COUNT(*) AS n FROM {parent_ref} WHERE {}",
            not_null.join(" AND ")
        ),
        pick,
        keep_null,
    };
    match dialect {
        Dialect::Postgres => Some(parts.postgres(fk)),
        // MySQL has no row address: the child needs a primary key.
        Dialect::MySql if plan.table.primary_key.is_empty() => None,
        Dialect::MySql => Some(parts.mysql(fk, &plan.table.primary_key)),
    }
}

/// The pieces of a deferred foreign-key update: the child, its numbered parents, their count,
/// which parent a row takes, and which rows keep NULL.
struct FkUpdate {
    child: String,
    parents: String,
    count: String,
    pick: String,
    keep_null: String,
}

impl FkUpdate {
    fn postgres(&self, fk: &FkPlan) -> String {
        let d = Dialect::Postgres;
        let sets: Vec<String> = fk
            .columns
            .iter()
            .zip(&fk.parent_columns)
            .map(|(c, p)| format!("{} = p.{}", ident(d, c), ident(d, p)))
            .collect();
        let keep_null = match self.keep_null.as_str() {
            "" => String::new(),
            condition => format!(" AND {condition}"),
        };
        format!(
            "UPDATE {child} AS c SET {} FROM \
             (SELECT ctid AS t, row_number() OVER (ORDER BY ctid) - 1 AS j FROM {child}) AS n, \
             ({}) AS p, ({}) AS k \
             WHERE c.ctid = n.t AND {}{keep_null}",
            sets.join(", "),
            self.parents,
            self.count,
            self.pick,
            child = self.child,
        )
    }

    fn mysql(&self, fk: &FkPlan, primary_key: &[String]) -> String {
        let d = Dialect::MySql;
        let pk = column_list(d, primary_key);
        let join: Vec<String> = primary_key
            .iter()
            .map(|c| format!("c.{0} = n.{0}", ident(d, c)))
            .collect();
        let sets: Vec<String> = fk
            .columns
            .iter()
            .zip(&fk.parent_columns)
            .map(|(c, p)| format!("c.{} = p.{}", ident(d, c), ident(d, p)))
            .collect();
        let keep_null = match self.keep_null.as_str() {
            "" => String::new(),
            condition => format!(" WHERE {condition}"),
        };
        format!(
            "UPDATE {child} AS c \
             JOIN (SELECT {pk}, row_number() OVER (ORDER BY {pk}) - 1 AS j FROM {child}) AS n ON {} \
             JOIN ({}) AS k \
             JOIN ({}) AS p ON {} \
             SET {}{keep_null}",
            join.join(" AND "),
            self.count,
            self.parents,
            self.pick,
            sets.join(", "),
            child = self.child,
        )
    }
}

/// A deferred key that is more than "any parent will do": a reference to its own table, where
/// rows are numbered by their key and take a parent numbered lower (so every chain ends at a
/// root: a NULL, or with NOT NULL the first row, which points at itself), or a key with
/// columns the row already has (`matched`), where the parent must agree with them (parents
/// are numbered within each group of agreeing rows).
struct ParentPick<'a> {
    plan: &'a TablePlan,
    fk: &'a FkPlan,
    parent: &'a Table,
    /// Positions of the key's columns the update matches (the others it sets).
    matched: Vec<usize>,
    forest: bool,
    /// Rows that keep NULL, in percent (roots, for a forest).
    keep_null: u32,
}

impl<'a> ParentPick<'a> {
    fn new(plan: &'a TablePlan, fk: &'a FkPlan, parent: &'a Table, null_percent: u32) -> Self {
        let matched: Vec<usize> = (0..fk.columns.len())
            .filter(|p| !fk.set_later.contains(p))
            .collect();
        // Numbering rows as children and as parents the same way needs the matched columns to
        // be the same ones on both sides.
        let forest = fk.parent == plan.qualified()
            && matched
                .iter()
                .all(|p| fk.columns[*p] == fk.parent_columns[*p]);
        let mut pick = ParentPick {
            plan,
            fk,
            parent,
            matched,
            forest,
            keep_null: 0,
        };
        if pick.nullable() && !fk.one_to_one {
            pick.keep_null = null_percent;
        }
        pick
    }

    /// Whether every column the update sets may stay NULL.
    fn nullable(&self) -> bool {
        self.fk.set_later.iter().all(|p| {
            self.plan
                .columns
                .iter()
                .any(|c| c.column.name == self.fk.columns[*p] && c.column.nullable)
        })
    }

    /// `OVER (PARTITION BY … ORDER BY …)` with the parent's matched columns as partition.
    fn window(&self, d: Dialect, order: &str) -> String {
        let partition: Vec<&str> = self
            .matched
            .iter()
            .map(|p| self.fk.parent_columns[*p].as_str())
            .collect();
        if partition.is_empty() {
            format!("OVER ({order})")
        } else {
            format!("OVER (PARTITION BY {} {order})", column_list(d, partition))
        }
    }

    /// `k1 IS NOT NULL AND …` over the referenced key.
    fn keys_present(&self, d: Dialect) -> String {
        let all: Vec<String> = self
            .fk
            .parent_columns
            .iter()
            .map(|c| format!("{} IS NOT NULL", ident(d, c)))
            .collect();
        all.join(" AND ")
    }

    /// The parents, numbered within their group (`i`), with the group's size (`k`).
    fn parents(&self, d: Dialect) -> String {
        let keys = column_list(d, &self.fk.parent_columns);
        format!(
            "SELECT {keys}, row_number() {} - 1 AS i, COUNT(*) {} AS k FROM {} WHERE {}",
            self.window(d, &format!("ORDER BY {keys}")),
            self.window(d, ""),
            table_ref(d, self.parent),
            self.keys_present(d)
        )
    }

    /// The rows to update, numbered (`j`), with `row` their address (`ctid` or the primary
    /// key): in a forest by their own key, as parents are; otherwise in storage order.
    fn children(&self, d: Dialect, row: &str, order: &str) -> String {
        let child = table_ref(d, &self.plan.table);
        if !self.forest {
            return format!(
                "SELECT {row}, row_number() OVER (ORDER BY {order}) - 1 AS j FROM {child}"
            );
        }
        let keys = column_list(d, &self.fk.parent_columns);
        format!(
            "SELECT {row}, row_number() {} - 1 AS j FROM {child} WHERE {}",
            self.window(d, &format!("ORDER BY {keys}")),
            self.keys_present(d)
        )
    }

    /// Which parent row `j` takes: a scattered one of its group, or in a forest a lower
    /// number (row 0 stays a root, or points at itself when NULL is not allowed).
    fn pick(&self) -> String {
        // Each parent once when the key is unique: a chain.
        let lower = if self.fk.one_to_one {
            "n.j - 1"
        } else {
            "((n.j * 7919) % 10007) % n.j"
        };
        // CASE, not AND: SQL does not promise to test `n.j > 0` before dividing by it.
        match (self.forest, self.nullable()) {
            (false, _) => "p.i = (n.j * 7919) % p.k".to_string(),
            (true, true) => format!("p.i = CASE WHEN n.j > 0 THEN {lower} END"),
            (true, false) => format!("p.i = CASE WHEN n.j > 0 THEN {lower} ELSE 0 END"),
        }
    }

    /// The conditions of the update besides the row address.
    fn conditions(&self, d: Dialect) -> String {
        let mut all = vec![self.pick()];
        for p in &self.matched {
            all.push(format!(
                "p.{} = c.{}",
                ident(d, &self.fk.parent_columns[*p]),
                ident(d, &self.fk.columns[*p])
            ));
        }
        if self.keep_null > 0 {
            all.push(format!("(n.j * 37 + 11) % 100 >= {}", self.keep_null));
        }
        all.join(" AND ")
    }

    fn sets(&self, d: Dialect, prefix: &str) -> String {
        let sets: Vec<String> = self
            .fk
            .set_later
            .iter()
            .map(|p| {
                format!(
                    "{prefix}{} = p.{}",
                    ident(d, &self.fk.columns[*p]),
                    ident(d, &self.fk.parent_columns[*p])
                )
            })
            .collect();
        sets.join(", ")
    }

    fn sql(&self, d: Dialect) -> Option<String> {
        let child = table_ref(d, &self.plan.table);
        let conditions = self.conditions(d);
        let parents = self.parents(d);
        match d {
            Dialect::Postgres => Some(format!(
                "UPDATE {child} AS c SET {} FROM ({}) AS n, ({parents}) AS p \
                 WHERE c.ctid = n.t AND {conditions}",
                self.sets(d, ""),
                self.children(d, "ctid AS t", "ctid"),
            )),
            // MySQL has no row address: the child needs a primary key.
            Dialect::MySql if self.plan.table.primary_key.is_empty() => None,
            Dialect::MySql => {
                let pk = &self.plan.table.primary_key;
                let join: Vec<String> = pk
                    .iter()
                    .map(|c| format!("c.{0} = n.{0}", ident(d, c)))
                    .collect();
                let pk = column_list(d, pk);
                Some(format!(
                    "UPDATE {child} AS c JOIN ({}) AS n ON {} JOIN ({parents}) AS p \
                     ON {conditions} SET {}",
                    self.children(d, &pk, &pk),
                    join.join(" AND "),
                    self.sets(d, "c."),
                ))
            }
        }
    }
}

/// Moves the sequences behind explicitly written key columns past the written values
/// (PostgreSQL; MySQL's AUTO_INCREMENT follows by itself).
pub fn sequence_resets(dialect: Dialect, plan: &TablePlan) -> Vec<String> {
    if dialect != Dialect::Postgres {
        return Vec::new();
    }
    plan.columns
        .iter()
        .filter(|c| c.column.server_filled && matches!(c.column.kind, ColumnKind::Int { .. }))
        .map(|c: &ColumnPlan| {
            let table = table_ref(dialect, &plan.table);
            let column = ident(dialect, &c.column.name);
            format!(
                "SELECT setval(pg_get_serial_sequence({}, {}), max({column})) FROM {table} HAVING max({column}) IS NOT NULL",
                literal(&table),
                literal(&c.column.name)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_escaped_for_each_format() {
        let mut out = String::new();
        copy_escaped(&mut out, "a\tb\\c\n");
        assert_eq!(out, "a\\tb\\\\c\\n");
        let mut out = String::new();
        csv_field(&mut out, "x,\"y\"");
        csv_field(&mut out, "");
        assert_eq!(out, "\"x,\"\"y\"\"\"\"\"");
        let mut out = String::new();
        json_value(&mut out, Some("1.50"), Form::Number);
        json_value(&mut out, Some("{\"a\": 1}"), Form::Json);
        json_value(&mut out, Some("tab\there"), Form::Text);
        assert_eq!(out, "1.50{\"a\": 1}\"tab\\there\"");
        let mut out = String::new();
        sql_value(&mut out, Dialect::MySql, Some("\\x0a"), Form::Bytes);
        sql_value(&mut out, Dialect::Postgres, Some("it's"), Form::Text);
        assert_eq!(out, "X'0a''it''s'");
    }
}
