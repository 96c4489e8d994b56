//! Which existing tables a deploy may write: the tables `dry-run` has to hash before and after.
//!
//! Hashing a production snapshot is the expensive part of a dry-run (two full scans of every
//! table), and most deploys only change the schema: an index, a column, a constraint. Those
//! statements cannot add, remove or change a row of an existing table, so their tables need no
//! data comparison. The analysis is a whitelist: a statement it does not recognise, any data
//! statement (`INSERT`, `UPDATE`, `DO`, `SELECT f()`, ...), a call of a function it does not
//! know to be free of side effects, or a `CASCADE` that may reach further makes it answer
//! [`Writes::All`], and every table is hashed as before. Statements that do change the values
//! of a named table (`DROP COLUMN`, `ALTER COLUMN ... TYPE`, `DROP TABLE`, `RENAME`) name it.

use std::collections::BTreeSet;

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnOption, Expr, ObjectName, ObjectType,
    Statement, TableConstraint,
};
use sqlparser::dialect::{MySqlDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::schema::{SchemaSnapshot, Table};
use crate::sql::Dialect;

/// What the pending statements may write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writes {
    /// Anything: the reason, for `--debug`.
    All(String),
    /// Only these tables (lower-cased `(schema, name)`; no schema when unqualified).
    Tables(BTreeSet<(Option<String>, String)>),
}

impl Writes {
    /// Whether `table`'s rows or values may change.
    pub fn covers(&self, table: &Table) -> bool {
        self.covers_name(&table.schema, &table.name)
    }

    fn covers_name(&self, table_schema: &str, table: &str) -> bool {
        match self {
            Writes::All(_) => true,
            Writes::Tables(names) => names.iter().any(|(schema, name)| {
                name.eq_ignore_ascii_case(table)
                    && schema
                        .as_ref()
                        .is_none_or(|s| s.eq_ignore_ascii_case(table_schema))
            }),
        }
    }

    /// Also anything, when the snapshot holds objects that act on their own when the schema
    /// changes (PostgreSQL event triggers): `reason` names them.
    pub fn unless(self, reason: Option<String>) -> Writes {
        match (self, reason) {
            (Writes::Tables(_), Some(reason)) => Writes::All(reason),
            (w, _) => w,
        }
    }
}

/// Analyses the statements of the pending migrations, in order.
pub fn analyse<'a>(statements: impl IntoIterator<Item = &'a str>, dialect: Dialect) -> Writes {
    let mut names = BTreeSet::new();
    for sql in statements {
        let parsed = match dialect {
            Dialect::Postgres => Parser::parse_sql(&PostgreSqlDialect {}, sql),
            Dialect::MySql => Parser::parse_sql(&MySqlDialect {}, sql),
        };
        let Ok(parsed) = parsed else {
            return Writes::All(format!("cannot parse `{}`", first_line(sql)));
        };
        for statement in &parsed {
            if let Err(why) = statement_writes(statement, dialect, &mut names) {
                return Writes::All(format!("{why}: `{}`", first_line(sql)));
            }
        }
    }
    Writes::Tables(names)
}

fn first_line(sql: &str) -> &str {
    sql.trim().lines().next().unwrap_or("")
}

fn name_of(name: &ObjectName) -> Option<(Option<String>, String)> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| p.as_ident().map(|i| i.value.to_lowercase()))
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [table] => Some((None, table.clone())),
        [.., schema, table] => Some((Some(schema.clone()), table.clone())),
        [] => None,
    }
}

type Names = BTreeSet<(Option<String>, String)>;

/// Adds the tables `statement` writes to `names`; an error says why it may write anything.
fn statement_writes(
    statement: &Statement,
    dialect: Dialect,
    names: &mut Names,
) -> Result<(), &'static str> {
    let mut name = |n: &ObjectName| -> Result<(), &'static str> {
        names.insert(name_of(n).ok_or("an unusual table name")?);
        Ok(())
    };
    match statement {
        Statement::CreateIndex(index) => {
            for column in &index.columns {
                harmless(&column.column.expr, dialect)?;
            }
            if let Some(predicate) = &index.predicate {
                harmless(predicate, dialect)?;
            }
            Ok(())
        }
        Statement::CreateTable(create) => {
            if create.query.is_some() || create.clone.is_some() {
                return Err("a table filled from a query");
            }
            for column in &create.columns {
                column_options(&column.options, dialect)?;
            }
            // `IF NOT EXISTS` on an existing table changes nothing; a new table is new.
            Ok(())
        }
        Statement::AlterTable(alter) => {
            for op in &alter.operations {
                if alter_writes(op, dialect)? {
                    name(&alter.name)?;
                }
            }
            Ok(())
        }
        Statement::Drop {
            object_type,
            names: dropped,
            cascade,
            ..
        } => match object_type {
            ObjectType::Table => dropped.iter().try_for_each(name),
            ObjectType::Index
            | ObjectType::View
            | ObjectType::MaterializedView
            | ObjectType::Sequence
                if !cascade =>
            {
                Ok(())
            }
            _ => Err("a DROP that may reach tables"),
        },
        Statement::RenameTable(renames) => renames.iter().try_for_each(|r| name(&r.old_name)),
        Statement::CreateView(_)
        | Statement::CreateSequence { .. }
        | Statement::CreateSchema { .. }
        | Statement::CreateFunction(_)
        | Statement::CreateTrigger(_)
        | Statement::CreateType { .. }
        | Statement::CreateDomain(_)
        | Statement::CreateRole(_)
        | Statement::CreatePolicy(_)
        | Statement::AlterIndex { .. }
        | Statement::AlterView(_)
        | Statement::Comment { .. }
        | Statement::Grant(_)
        | Statement::Revoke(_)
        | Statement::Set(_)
        | Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Analyze(_) => Ok(()),
        _ => Err("a statement that may write data"),
    }
}

/// Whether an `ALTER TABLE` operation may change the rows or values of its table; an error
/// when it may change other tables too.
fn alter_writes(op: &AlterTableOperation, dialect: Dialect) -> Result<bool, &'static str> {
    use AlterTableOperation as Op;
    Ok(match op {
        // A new column leaves the existing ones as they are; its default is evaluated now.
        Op::AddColumn { column_def, .. } => {
            column_options(&column_def.options, dialect)?;
            false
        }
        Op::AddConstraint { constraint, .. } => {
            if let TableConstraint::Check(check) = constraint {
                harmless(&check.expr, dialect)?;
            }
            false
        }
        Op::AlterColumn {
            op:
                AlterColumnOperation::SetNotNull
                | AlterColumnOperation::DropNotNull
                | AlterColumnOperation::SetDefault { .. }
                | AlterColumnOperation::DropDefault
                | AlterColumnOperation::AddGenerated { .. },
            ..
        } => false,
        Op::DropConstraint { drop_behavior, .. } => {
            if matches!(drop_behavior, Some(sqlparser::ast::DropBehavior::Cascade)) {
                return Err("a DROP ... CASCADE");
            }
            false
        }
        Op::DropIndex { .. }
        | Op::DropPrimaryKey { .. }
        | Op::DropForeignKey { .. }
        | Op::RenameConstraint { .. }
        | Op::ValidateConstraint { .. }
        | Op::EnableTrigger { .. }
        | Op::DisableTrigger { .. }
        | Op::EnableRowLevelSecurity
        | Op::DisableRowLevelSecurity
        | Op::OwnerTo { .. }
        | Op::Algorithm { .. }
        | Op::Lock { .. }
        | Op::AutoIncrement { .. }
        | Op::SetOptionsParens { .. }
        | Op::ResetOptions { .. }
        | Op::ReplicaIdentity { .. } => false,
        // Column drops, type changes, renames: the table's values change (or move).
        _ => true,
    })
}

fn column_options(
    options: &[sqlparser::ast::ColumnOptionDef],
    dialect: Dialect,
) -> Result<(), &'static str> {
    for option in options {
        match &option.option {
            ColumnOption::Default(e) | ColumnOption::OnUpdate(e) => harmless(e, dialect)?,
            ColumnOption::Check(check) => harmless(&check.expr, dialect)?,
            ColumnOption::Generated {
                generation_expr: Some(e),
                ..
            } => harmless(e, dialect)?,
            _ => {}
        }
    }
    Ok(())
}

/// Functions that read nothing but their arguments (or the clock, or a sequence): evaluating
/// them cannot write a table. Type names are here too: `numeric(12,2)` looks like a call.
const HARMLESS: &[&str] = &[
    // functions
    "abs",
    "btrim",
    "ceil",
    "ceiling",
    "char_length",
    "coalesce",
    "concat",
    "concat_ws",
    "clock_timestamp",
    "curdate",
    "current_date",
    "current_time",
    "current_timestamp",
    "curtime",
    "date",
    "date_part",
    "date_trunc",
    "extract",
    "floor",
    "format",
    "gen_random_uuid",
    "greatest",
    "if",
    "ifnull",
    "jsonb_build_object",
    "json_build_object",
    "json_object",
    "least",
    "left",
    "length",
    "localtimestamp",
    "lower",
    "lpad",
    "ltrim",
    "md5",
    "mod",
    "now",
    "nextval",
    "nullif",
    "position",
    "random",
    "regexp_replace",
    "replace",
    "right",
    "round",
    "rpad",
    "rtrim",
    "sha2",
    "split_part",
    "statement_timestamp",
    "strpos",
    "substr",
    "substring",
    "sysdate",
    "to_char",
    "to_date",
    "to_timestamp",
    "transaction_timestamp",
    "trim",
    "trunc",
    "upper",
    "utc_timestamp",
    "unix_timestamp",
    "uuid",
    "uuid_generate_v4",
    // types and keywords that take parentheses
    "all",
    "and",
    "any",
    "array",
    "as",
    "between",
    "bit",
    "cast",
    "char",
    "character",
    "decimal",
    "distinct",
    "else",
    "exists",
    "float",
    "in",
    "int",
    "interval",
    "is",
    "not",
    "numeric",
    "or",
    "precision",
    "row",
    "some",
    "then",
    "time",
    "timestamp",
    "timestamptz",
    "varbit",
    "varchar",
    "varying",
    "when",
    "with",
    "without",
];

/// `expr` calls only functions that cannot write (a word before `(` is a call or a type).
fn harmless(expr: &Expr, dialect: Dialect) -> Result<(), &'static str> {
    let text = expr.to_string();
    let tokens = match dialect {
        Dialect::Postgres => Tokenizer::new(&PostgreSqlDialect {}, &text).tokenize(),
        Dialect::MySql => Tokenizer::new(&MySqlDialect {}, &text).tokenize(),
    }
    .map_err(|_| "an expression it cannot read")?;
    let tokens: Vec<&Token> = tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    for pair in tokens.windows(2) {
        if let (Token::Word(w), Token::LParen) = (pair[0], pair[1])
            && !HARMLESS.contains(&w.value.to_lowercase().as_str())
        {
            return Err("a call of a function that may write");
        }
        if matches!(pair[0], Token::Word(w) if w.value.eq_ignore_ascii_case("select")) {
            return Err("a subquery");
        }
    }
    Ok(())
}

/// Why the snapshot's own objects may write when the schema changes, if they may: PostgreSQL
/// event triggers run on DDL. (Ordinary triggers and cascading keys act on data statements,
/// which [`analyse`] already answers with [`Writes::All`].)
pub fn event_triggers(count: i64) -> Option<String> {
    (count > 0).then(|| format!("the snapshot has {count} event triggers, which run on DDL"))
}

/// The snapshot with only the tables `keep` answers true for (and every non-table object).
pub fn only_tables(schema: &SchemaSnapshot, keep: impl Fn(&Table) -> bool) -> SchemaSnapshot {
    let mut out = schema.clone();
    out.tables.retain(|_, t| keep(t));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(statements: &[&str]) -> Writes {
        analyse(statements.iter().copied(), Dialect::Postgres)
    }

    fn tables(names: &[(Option<&str>, &str)]) -> Writes {
        Writes::Tables(
            names
                .iter()
                .map(|(s, n)| (s.map(str::to_string), n.to_string()))
                .collect(),
        )
    }

    #[test]
    fn schema_only_statements_write_nothing() {
        assert_eq!(
            pg(&[
                "ALTER TABLE t ADD COLUMN note text",
                "ALTER TABLE t ADD COLUMN seen timestamptz NOT NULL DEFAULT now()",
                "CREATE INDEX CONCURRENTLY t_amount_idx ON t (amount) WHERE amount > 0",
                "CREATE UNIQUE INDEX t_email ON public.t (lower(email))",
                "ALTER TABLE t ADD CONSTRAINT positive CHECK (amount >= 0) NOT VALID",
                "ALTER TABLE t VALIDATE CONSTRAINT positive",
                "ALTER TABLE t ALTER COLUMN note SET DEFAULT 'x'",
                "ALTER TABLE t ALTER COLUMN amount SET NOT NULL",
                "CREATE TABLE u (id bigint PRIMARY KEY, t_id bigint REFERENCES t (id))",
                "COMMENT ON TABLE t IS 'orders'",
                "SET lock_timeout = '2s'",
                "DROP INDEX t_amount_idx",
            ]),
            tables(&[])
        );
    }

    #[test]
    fn value_changing_ddl_names_its_table() {
        assert_eq!(
            pg(&[
                "ALTER TABLE shop.orders DROP COLUMN note",
                "ALTER TABLE users ALTER COLUMN age TYPE smallint",
                "DROP TABLE legacy",
                "ALTER TABLE \"Mixed\" RENAME TO mixed",
            ]),
            tables(&[
                (Some("shop"), "orders"),
                (None, "users"),
                (None, "legacy"),
                (None, "mixed"),
            ])
        );
    }

    #[test]
    fn data_statements_and_unknown_functions_may_write_anything() {
        for sql in [
            "UPDATE t SET note = 'x'",
            "INSERT INTO t VALUES (1)",
            "DELETE FROM t",
            "TRUNCATE t",
            "SELECT backfill()",
            "DO $$ BEGIN PERFORM 1; END $$",
            "ALTER TABLE t ADD COLUMN n int DEFAULT audit_and_count()",
            "CREATE INDEX i ON t (my_func(amount))",
            "ALTER TABLE t ADD CONSTRAINT c CHECK (validate(amount))",
            "CREATE TABLE copy AS SELECT * FROM t",
            "DROP TYPE mood CASCADE",
            "this is not sql",
        ] {
            assert!(
                matches!(pg(&[sql]), Writes::All(_)),
                "{sql} may write anything"
            );
        }
    }

    #[test]
    fn mysql_alter_options_write_nothing() {
        assert_eq!(
            analyse(
                [
                    "ALTER TABLE t ADD COLUMN note varchar(20) NULL AFTER id, ALGORITHM=INSTANT",
                    "ALTER TABLE t ADD INDEX t_note (note)",
                ],
                Dialect::MySql
            ),
            tables(&[])
        );
        assert_eq!(
            analyse(
                ["ALTER TABLE t MODIFY COLUMN note varchar(5)"],
                Dialect::MySql
            ),
            tables(&[(None, "t")])
        );
    }

    #[test]
    fn covers_matches_qualified_and_bare_names() {
        assert!(tables(&[(None, "orders")]).covers_name("public", "Orders"));
        assert!(tables(&[(Some("public"), "orders")]).covers_name("public", "Orders"));
        assert!(!tables(&[(Some("other"), "orders")]).covers_name("public", "Orders"));
        assert!(Writes::All("x".into()).covers_name("public", "Orders"));
        assert!(matches!(
            tables(&[]).unless(event_triggers(1)),
            Writes::All(_)
        ));
    }
}
