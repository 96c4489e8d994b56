//! Reading one statement of an up for what it demands of existing columns, walking backwards:
//! [`Demands::before`] turns the demands after a statement into the demands before it.

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnOption, CreateIndex, DataType, Expr,
    FunctionArg, FunctionArgExpr, FunctionArguments, Ident, IndexColumn, ObjectName,
    RenameTableNameKind, Statement, TableConstraint, Value,
};
use sqlparser::dialect::{MySqlDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::{Cast, Demands, FutureKey};
use crate::schema::ColumnKind;
use crate::sql::Dialect;

/// The statements of one piece of SQL; none (and a debug line) when sqlparser cannot read it.
pub(super) fn parse(sql: &str, dialect: Dialect) -> Vec<Statement> {
    let parsed = match dialect {
        Dialect::Postgres => Parser::parse_sql(&PostgreSqlDialect {}, sql),
        Dialect::MySql => Parser::parse_sql(&MySqlDialect {}, sql),
    };
    parsed.unwrap_or_else(|e| {
        let first = sql.trim().lines().next().unwrap_or("");
        crate::debug!("seeding ahead: skipping `{first}` (sqlparser: {e})");
        Vec::new()
    })
}

/// A name as the engine sees it: PostgreSQL folds unquoted names to lower case; MySQL compares
/// column names without case (and table names are kept in lower case here for the same reason).
fn fold(ident: &Ident, dialect: Dialect) -> String {
    fold_word(&ident.value, ident.quote_style, dialect)
}

fn fold_word(value: &str, quote: Option<char>, dialect: Dialect) -> String {
    match (dialect, quote) {
        (Dialect::Postgres, Some(_)) => value.to_string(),
        _ => value.to_lowercase(),
    }
}

impl Demands {
    fn name(&self, ident: &Ident) -> String {
        fold(ident, self.dialect)
    }

    /// The bare table name of `name` (its last part).
    fn table_name(&self, name: &ObjectName) -> Option<String> {
        name.0
            .last()
            .and_then(|p| p.as_ident())
            .map(|i| self.name(i))
    }

    /// What was demanded before `statement` ran, given what is demanded after it.
    pub(super) fn before(&mut self, statement: &Statement) {
        match statement {
            Statement::CreateTable(create) => {
                if let Some(table) = self.table_name(&create.name) {
                    self.created(&table);
                }
            }
            Statement::CreateIndex(index) if index.unique => self.unique_index(index),
            Statement::AlterTable(alter) => {
                let Some(table) = self.table_name(&alter.name) else {
                    return;
                };
                // A rename applies to the whole statement: undo it first, then the other
                // operations, last to first, on the old name.
                for op in &alter.operations {
                    if let AlterTableOperation::RenameTable { table_name } = op {
                        let (RenameTableNameKind::To(new) | RenameTableNameKind::As(new)) =
                            table_name;
                        if let Some(new) = self.table_name(new) {
                            self.rename_table(&table, &new);
                        }
                    }
                }
                for op in alter.operations.iter().rev() {
                    self.alter(&table, op);
                }
            }
            Statement::RenameTable(renames) => {
                for r in renames.iter().rev() {
                    if let (Some(old), Some(new)) =
                        (self.table_name(&r.old_name), self.table_name(&r.new_name))
                    {
                        self.rename_table(&old, &new);
                    }
                }
            }
            _ => {}
        }
    }

    fn unique_index(&mut self, index: &CreateIndex) {
        let Some(table) = self.table_name(&index.table_name) else {
            return;
        };
        self.unique_columns(&table, &index.columns);
        let name = index.name.as_ref().and_then(|n| self.table_name(n));
        if name.is_some_and(|n| self.promoted.get(&n) == Some(&true)) {
            // A later PRIMARY KEY USING INDEX sets its columns NOT NULL.
            let columns: Vec<String> = index
                .columns
                .iter()
                .filter_map(|c| self.key_part(&c.column.expr).map(|(c, _)| c))
                .collect();
            self.entry(&table).not_null.extend(columns);
        }
    }

    /// A unique key over `columns`: the columns it names (a subset that is unique makes the
    /// whole key unique, so expressions over several columns are left out), with MySQL prefix
    /// lengths.
    fn unique_columns(&mut self, table: &str, columns: &[IndexColumn]) {
        let parts: Vec<(String, Option<usize>)> = columns
            .iter()
            .filter_map(|c| self.key_part(&c.column.expr))
            .collect();
        let t = self.entry(table);
        for (column, prefix) in &parts {
            if let Some(n) = prefix {
                let slot = t.prefixes.entry(column.clone()).or_insert(*n);
                *slot = (*slot).min(*n);
            }
        }
        t.add_unique(parts.into_iter().map(|(c, _)| c).collect());
    }

    /// The column of one part of a key: a column, `name(10)` (a MySQL prefix), or an
    /// expression of exactly one column (`lower(email)`, `(code::text)`).
    fn key_part(&self, expr: &Expr) -> Option<(String, Option<usize>)> {
        match expr {
            Expr::Identifier(i) => Some((self.name(i), None)),
            Expr::CompoundIdentifier(parts) => parts.last().map(|i| (self.name(i), None)),
            Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => self.key_part(inner),
            Expr::Function(f) => {
                let args = function_args(&f.args);
                if let ([arg], Dialect::MySql) = (args.as_slice(), self.dialect)
                    && let Some(n) = number(arg)
                {
                    let column = f.name.0.last()?.as_ident()?;
                    return Some((self.name(column), Some(n)));
                }
                let mut columns = args.iter().filter_map(|a| self.key_part(a));
                match (columns.next(), columns.next()) {
                    (Some((column, _)), None) => Some((column, None)),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn alter(&mut self, table: &str, op: &AlterTableOperation) {
        use AlterTableOperation as Op;
        match op {
            Op::AddConstraint {
                constraint,
                not_valid,
            } => {
                let validated = constraint_name(constraint)
                    .is_some_and(|n| self.validated.contains(&self.name(n)));
                if !not_valid || validated {
                    self.constraint(table, constraint);
                }
            }
            Op::ValidateConstraint { name } => {
                let name = self.name(name);
                self.validated.insert(name);
            }
            Op::AddColumn { column_def, .. } => {
                let column = self.name(&column_def.name);
                self.column_added(table, &column);
            }
            Op::RenameColumn {
                old_column_name,
                new_column_name,
            } => {
                let (old, new) = (self.name(old_column_name), self.name(new_column_name));
                self.rename_column(table, &old, &new);
            }
            Op::ChangeColumn {
                old_name,
                new_name,
                data_type,
                options,
                ..
            } => {
                let (old, new) = (self.name(old_name), self.name(new_name));
                self.redefined(table, &new, data_type, options);
                self.rename_column(table, &old, &new);
            }
            Op::ModifyColumn {
                col_name,
                data_type,
                options,
                ..
            } => {
                let column = self.name(col_name);
                self.redefined(table, &column, data_type, options);
            }
            Op::AlterColumn { column_name, op } => self.alter_column(table, column_name, op),
            _ => {}
        }
    }

    fn alter_column(&mut self, table: &str, column: &Ident, op: &AlterColumnOperation) {
        let column = self.name(column);
        match op {
            AlterColumnOperation::SetNotNull => {
                self.entry(table).not_null.insert(column);
            }
            AlterColumnOperation::SetDataType {
                data_type, using, ..
            } => {
                // `USING x::numeric` into `numeric(12,2)`: the column's type says more.
                let target = match using {
                    None => Some(data_type),
                    Some(using) => self.cast_in(using, &column).map(|t| {
                        t.filter(|t| base(t) != base(data_type))
                            .unwrap_or(data_type)
                    }),
                };
                if let Some(cast) = target.and_then(|t| cast_of(t, self.dialect)) {
                    self.entry(table).casts.insert(column, cast);
                }
            }
            _ => {}
        }
    }

    /// MySQL `MODIFY` / `CHANGE`: a new type (a cast of the old values) and column options.
    fn redefined(
        &mut self,
        table: &str,
        column: &str,
        data_type: &DataType,
        options: &[ColumnOption],
    ) {
        let dialect = self.dialect;
        let t = self.entry(table);
        // A text type again keeps whatever cast comes later.
        if let Some(cast) = cast_of(data_type, dialect) {
            t.casts.insert(column.to_string(), cast);
        }
        for option in options {
            match option {
                ColumnOption::NotNull => {
                    t.not_null.insert(column.to_string());
                }
                ColumnOption::Unique(_) => t.add_unique(vec![column.to_string()]),
                ColumnOption::PrimaryKey(_) => {
                    t.add_unique(vec![column.to_string()]);
                    t.not_null.insert(column.to_string());
                }
                _ => {}
            }
        }
    }

    /// The type the values of `column` are cast to first in a `USING` expression: `Some(None)`
    /// when the expression is the column itself (the column's new type applies), `None` when
    /// it is anything else (the expression decides what text it accepts).
    fn cast_in<'e>(&self, using: &'e Expr, column: &str) -> Option<Option<&'e DataType>> {
        match using {
            Expr::Identifier(i) => (self.name(i) == column).then_some(None),
            Expr::CompoundIdentifier(parts) => parts
                .last()
                .filter(|i| self.name(i) == column)
                .map(|_| None),
            Expr::Nested(inner) => self.cast_in(inner, column),
            Expr::Cast {
                expr, data_type, ..
            } => match self.cast_in(expr, column)? {
                // Casting to text first keeps the text as it is.
                None if cast_of(data_type, self.dialect).is_none() => Some(None),
                None => Some(Some(data_type)),
                inner => Some(inner),
            },
            // Trimming or NULLIF-ing the text does not change what it must look like.
            Expr::Function(f) if is_text_cleanup(&f.name) => {
                let args = function_args(&f.args);
                self.cast_in(args.first()?, column)
            }
            Expr::Trim { expr, .. } => self.cast_in(expr, column),
            _ => None,
        }
    }

    fn constraint(&mut self, table: &str, constraint: &TableConstraint) {
        match constraint {
            TableConstraint::Unique(u) => self.unique_columns(table, &u.columns),
            TableConstraint::PrimaryKey(pk) => {
                self.unique_columns(table, &pk.columns);
                let columns: Vec<String> = pk
                    .columns
                    .iter()
                    .filter_map(|c| self.key_part(&c.column.expr).map(|(c, _)| c))
                    .collect();
                self.entry(table).not_null.extend(columns);
            }
            TableConstraint::ForeignKey(fk) => {
                let Some(parent) = self.table_name(&fk.foreign_table) else {
                    return;
                };
                let key = FutureKey {
                    name: fk.name.as_ref().map(|n| self.name(n)),
                    columns: fk.columns.iter().map(|c| self.name(c)).collect(),
                    parent,
                    parent_columns: fk.referred_columns.iter().map(|c| self.name(c)).collect(),
                };
                self.entry(table).foreign_keys.insert(0, key);
            }
            TableConstraint::PrimaryKeyUsingIndex(promoted) => {
                let index = self.name(&promoted.index_name);
                self.promoted.insert(index, true);
            }
            TableConstraint::UniqueUsingIndex(promoted) => {
                let index = self.name(&promoted.index_name);
                self.promoted.entry(index).or_insert(false);
            }
            TableConstraint::Check(check) if check.enforced != Some(false) => {
                let definition = format!("CHECK ({})", check.expr);
                self.entry(table).checks.insert(0, definition);
            }
            _ => {}
        }
    }
}

fn constraint_name(constraint: &TableConstraint) -> Option<&Ident> {
    match constraint {
        TableConstraint::Check(c) => c.name.as_ref(),
        TableConstraint::ForeignKey(f) => f.name.as_ref(),
        _ => None,
    }
}

fn function_args(args: &FunctionArguments) -> Vec<&Expr> {
    let FunctionArguments::List(list) = args else {
        return Vec::new();
    };
    list.args
        .iter()
        .filter_map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect()
}

fn number(expr: &Expr) -> Option<usize> {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

fn is_text_cleanup(name: &ObjectName) -> bool {
    let name = name.to_string().to_lowercase();
    matches!(
        name.as_str(),
        "nullif" | "trim" | "btrim" | "ltrim" | "rtrim" | "lower" | "upper"
    )
}

/// What the text of a column must look like to be cast to `data_type`; `None` for text types
/// and types seeding has no particular demand for.
pub(super) fn cast_of(data_type: &DataType, dialect: Dialect) -> Option<Cast> {
    let written = data_type.to_string();
    let lower = written.to_lowercase();
    let (base, args) = match lower.split_once('(') {
        Some((head, rest)) => {
            let (inside, tail) = rest.split_once(')').unwrap_or((rest, ""));
            let args: Vec<u32> = inside
                .split(',')
                .filter_map(|a| a.trim().parse().ok())
                .collect();
            (format!("{} {}", head.trim(), tail.trim()), args)
        }
        None => (lower.clone(), Vec::new()),
    };
    let unsigned = base.contains("unsigned");
    let base = base.replace("unsigned", "");
    let base = base.split_whitespace().collect::<Vec<_>>().join(" ");
    let mysql = dialect == Dialect::MySql;
    let int = |bytes| ColumnKind::Int { bytes, unsigned };
    let (kind, allowed) = match base.as_str() {
        "json" | "jsonb" => (ColumnKind::Json, None),
        "tinyint" | "bool" | "boolean" if mysql && (base != "tinyint" || args == [1]) => {
            (int(1), Some(vec!["0".to_string(), "1".to_string()]))
        }
        "bool" | "boolean" => (ColumnKind::Bool, None),
        "tinyint" => (int(1), None),
        "smallint" | "int2" => (int(2), None),
        "mediumint" => (int(3), None),
        "int" | "integer" | "int4" | "serial" => (int(4), None),
        "bigint" | "int8" | "bigserial" => (int(8), None),
        "numeric" | "decimal" | "dec" => {
            let precision = args.first().copied();
            let scale = args.get(1).copied().unwrap_or(0);
            (ColumnKind::Decimal { precision, scale }, None)
        }
        "real" | "float" | "float4" | "float8" | "double" | "double precision" => {
            (ColumnKind::Float, None)
        }
        "uuid" => (ColumnKind::Uuid, None),
        "date" => (ColumnKind::Date, None),
        "timestamptz" | "timestamp with time zone" if !mysql => timestamp(true, &args, dialect),
        "timestamp" | "timestamp without time zone" | "datetime" => {
            timestamp(false, &args, dialect)
        }
        _ => return None,
    };
    Some(Cast {
        kind,
        allowed,
        type_name: written,
    })
}

/// A type's name without its modifiers: `numeric(12,2)` → `numeric`.
fn base(data_type: &DataType) -> String {
    let text = data_type.to_string().to_lowercase();
    text.split('(')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// MySQL rejects an offset in DATETIME text and prints as many fraction digits as the type
/// keeps. PostgreSQL prints a fraction without its trailing zeros: whole seconds are the text
/// it prints back exactly, so a down to text keeps what was seeded.
fn timestamp(tz: bool, args: &[u32], dialect: Dialect) -> (ColumnKind, Option<Vec<String>>) {
    let fraction = match dialect {
        Dialect::MySql => Some(args.first().copied().unwrap_or(0)),
        Dialect::Postgres => Some(0),
    };
    (ColumnKind::Timestamp { tz, fraction }, None)
}

/// `check` with the column `new` called `old` again: its identifier tokens are replaced, the
/// rest of the text kept as it is.
pub(super) fn rename_in_check(check: &str, old: &str, new: &str, dialect: Dialect) -> String {
    let tokens = match dialect {
        Dialect::Postgres => Tokenizer::new(&PostgreSqlDialect {}, check).tokenize(),
        Dialect::MySql => Tokenizer::new(&MySqlDialect {}, check).tokenize(),
    };
    let Ok(tokens) = tokens else {
        return check.to_string();
    };
    tokens
        .into_iter()
        .map(|token| match token {
            Token::Word(w) if fold_word(&w.value, w.quote_style, dialect) == new => {
                crate::sql::ident(dialect, old)
            }
            other => other.to_string(),
        })
        .collect()
}
