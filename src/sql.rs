//! SQL dialects and quoting: the one place identifiers and string literals are quoted, and
//! the statements that bulk-load rows (`COPY`, `LOAD DATA`).
//!
//! It knows the two SQL dialects driftless writes (PostgreSQL and MySQL/MariaDB), the byte
//! formats rows travel in and the schema model's tables; nothing about servers.

use std::fmt::Write as _;

use crate::schema::{Column, ColumnKind, Table};

/// Whose SQL to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    MySql,
}

/// A byte format for rows on their way into a database or a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// PostgreSQL `COPY … FROM STDIN` text format: tab-separated, `\N` for NULL.
    PgCopy,
    /// CSV (RFC 4180). PostgreSQL reads an unquoted empty field as NULL; for MySQL every value
    /// is quoted and NULL is a bare `NULL` (`LOAD DATA … OPTIONALLY ENCLOSED BY '"'`).
    Csv(Dialect),
    /// Multi-row `INSERT` statements.
    Sql(Dialect),
    /// One JSON object per row.
    Jsonl,
}

/// An identifier, always quoted: `"name"` (PostgreSQL) or `` `name` `` (MySQL).
pub fn ident(dialect: Dialect, name: &str) -> String {
    match dialect {
        Dialect::Postgres => format!("\"{}\"", name.replace('"', "\"\"")),
        Dialect::MySql => format!("`{}`", name.replace('`', "``")),
    }
}

/// `schema.name`, both parts quoted.
pub fn qualified(dialect: Dialect, schema: &str, name: &str) -> String {
    format!("{}.{}", ident(dialect, schema), ident(dialect, name))
}

/// An identifier the way PostgreSQL prints it: bare when it needs no quotes.
pub fn ident_if_needed(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        ident(Dialect::Postgres, name)
    }
}

/// A string literal: `'it''s'`. Backslashes are not escaped: PostgreSQL sessions use standard
/// strings, and driftless's MySQL sessions set `NO_BACKSLASH_ESCAPES` where it writes literals.
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A table in statements that load files or rows: `schema.table` for PostgreSQL; for MySQL the
/// bare name, since files load into whatever database the user connects to.
pub fn table_ref(dialect: Dialect, table: &Table) -> String {
    match dialect {
        Dialect::Postgres => qualified(dialect, &table.schema, &table.name),
        Dialect::MySql => ident(dialect, &table.name),
    }
}

/// `a, b, c`, quoted.
pub fn column_list<S: AsRef<str>>(dialect: Dialect, names: impl IntoIterator<Item = S>) -> String {
    names
        .into_iter()
        .map(|n| ident(dialect, n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `COPY t (cols) FROM STDIN` (text format).
pub fn pg_copy_from_stdin(table: &Table, columns: &[Column]) -> String {
    format!(
        "COPY {} ({}) FROM STDIN",
        table_ref(Dialect::Postgres, table),
        column_list(Dialect::Postgres, columns.iter().map(|c| c.name.as_str()))
    )
}

/// psql's `\copy` of a CSV file with a header.
pub fn psql_copy_csv(table: &Table, columns: &[Column], path: &str) -> String {
    format!(
        "\\copy {} ({}) FROM {} WITH (FORMAT csv, HEADER true)",
        table_ref(Dialect::Postgres, table),
        column_list(Dialect::Postgres, columns.iter().map(|c| c.name.as_str())),
        literal(path)
    )
}

/// `LOAD DATA [LOCAL] INFILE` of a MySQL CSV file (as [`Encoding::Csv`] writes it: bytes in
/// hex, bits as `0101`). Lines end in `\n`, the default, which also needs no escape (the session
/// may have `NO_BACKSLASH_ESCAPES`).
pub fn mysql_load_data(
    table: &Table,
    columns: &[Column],
    path: &str,
    local: bool,
    header: bool,
) -> String {
    let dialect = Dialect::MySql;
    let mut targets = Vec::new();
    let mut sets = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        let name = ident(dialect, &c.name);
        match c.kind {
            ColumnKind::Bytes { .. } => {
                targets.push(format!("@v{i}"));
                sets.push(format!("{name} = UNHEX(@v{i})"));
            }
            ColumnKind::Bit { .. } => {
                targets.push(format!("@v{i}"));
                sets.push(format!("{name} = CAST(CONV(@v{i}, 2, 10) AS UNSIGNED)"));
            }
            _ => targets.push(name),
        }
    }
    let mut sql = format!(
        "LOAD DATA {}INFILE {} INTO TABLE {} CHARACTER SET utf8mb4 \
         FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY ''{} ({})",
        if local { "LOCAL " } else { "" },
        literal(path),
        table_ref(dialect, table),
        if header { " IGNORE 1 LINES" } else { "" },
        targets.join(", ")
    );
    if !sets.is_empty() {
        let _ = write!(sql, " SET {}", sets.join(", "));
    }
    sql
}

/// The helpers with the dialect fixed, for code that only ever writes PostgreSQL.
pub mod pg {
    pub use super::{ident_if_needed, literal};

    pub fn ident(name: &str) -> String {
        super::ident(super::Dialect::Postgres, name)
    }

    /// `"schema"."table"`.
    pub fn table_ref(table: &crate::schema::Table) -> String {
        super::qualified(super::Dialect::Postgres, &table.schema, &table.name)
    }
}

/// The helpers with the dialect fixed, for code that only ever writes MySQL / MariaDB.
pub mod mysql {
    pub use super::literal;

    pub fn ident(name: &str) -> String {
        super::ident(super::Dialect::MySql, name)
    }

    /// `` `database`.`table` ``.
    pub fn table_ref(table: &crate::schema::Table) -> String {
        super::qualified(super::Dialect::MySql, &table.schema, &table.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_double_their_own_kind() {
        assert_eq!(ident(Dialect::Postgres, "a\"b"), "\"a\"\"b\"");
        assert_eq!(ident(Dialect::MySql, "a`b"), "`a``b`");
        assert_eq!(
            qualified(Dialect::Postgres, "public", "T"),
            "\"public\".\"T\""
        );
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(ident_if_needed("users_2"), "users_2");
        assert_eq!(ident_if_needed("Users"), "\"Users\"");
        assert_eq!(ident_if_needed("2x"), "\"2x\"");
    }
}
