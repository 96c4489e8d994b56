//! Reading the MySQL / MariaDB catalog (`information_schema`) into a [`SchemaSnapshot`].
//!
//! In MySQL the column order is part of the schema (`SELECT *`, `INSERT` without a column list,
//! `AFTER` clauses), so table text lists columns in table order and a moved column is ordinary
//! drift. Index names are unique per table only, so indexes, keys, checks and triggers are part
//! of their table's text. The tracking tables of the migration tool in use
//! (`StartOptions::hidden_tables`) are left out.

use std::collections::BTreeMap;
use std::fmt::Write;

use sqlx::Row;
use sqlx::mysql::{MySqlConnection, MySqlRow};

use crate::Result;
use crate::error::Context;
use crate::schema::frozen::creation_time;
use crate::schema::{
    Column, ColumnKind, ForeignKey, PartitionBound, Partitioning, Repertoire, SchemaObject,
    SchemaSnapshot, Table,
};
use crate::sql::mysql::literal;

/// Reads the schema of the current database.
pub async fn snapshot(conn: &mut MySqlConnection, hidden: &[String]) -> Result<SchemaSnapshot> {
    let database: String = sqlx::query_scalar("SELECT CAST(DATABASE() AS CHAR)")
        .fetch_one(&mut *conn)
        .await
        .context(|| "cannot read the current database".into())?;
    let mut tables = read_tables(conn, &database, hidden).await?;
    read_columns(conn, &mut tables).await?;
    read_indexes(conn, &mut tables).await?;
    read_foreign_keys(conn, &mut tables).await?;
    read_checks(conn, &mut tables).await?;
    read_triggers(conn, &mut tables).await?;
    read_partitions(conn, &mut tables).await?;
    let mut snapshot = SchemaSnapshot {
        ordered_columns: true,
        ..Default::default()
    };
    read_views(conn, &database, &mut snapshot).await?;
    read_routines(conn, &database, &mut snapshot).await?;
    read_events(conn, &database, &mut snapshot).await?;
    for (_, build) in tables {
        let qualified = build.table.qualified();
        snapshot.objects.insert(
            format!("5 table {qualified}"),
            SchemaObject {
                kind: build.kind.clone(),
                reference: qualified.clone(),
                table: Some(build.table.name.clone()),
                text: build.render(),
            },
        );
        if build.kind == "table" {
            snapshot.tables.insert(qualified, build.table);
        }
    }
    Ok(snapshot)
}

fn text(row: &MySqlRow, i: usize) -> Result<String> {
    Ok(opt(row, i)?.unwrap_or_default())
}

fn opt(row: &MySqlRow, i: usize) -> Result<Option<String>> {
    row.try_get::<Option<String>, _>(i)
        .context(|| format!("unexpected catalog value in column {i}"))
}

struct TableBuild {
    kind: String,
    table: Table,
    header: Vec<String>,
    /// In table order.
    columns: Vec<String>,
    members: Vec<String>,
}

impl TableBuild {
    fn render(&self) -> String {
        let mut out = format!("{} {}\n", self.kind, self.table.qualified());
        for line in self.header.iter().chain(&self.columns) {
            let _ = writeln!(out, "  {line}");
        }
        let mut members = self.members.clone();
        members.sort();
        for line in members {
            let _ = writeln!(out, "  {line}");
        }
        out
    }
}

async fn read_tables(
    conn: &mut MySqlConnection,
    database: &str,
    hidden: &[String],
) -> Result<BTreeMap<String, TableBuild>> {
    let rows = sqlx::query(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(TABLE_TYPE AS CHAR), CAST(ENGINE AS CHAR),
                CAST(TABLE_COLLATION AS CHAR), CAST(CREATE_OPTIONS AS CHAR), CAST(TABLE_COMMENT AS CHAR)
         FROM information_schema.TABLES
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE IN ('BASE TABLE', 'SEQUENCE', 'SYSTEM VERSIONED')",
    )
    .fetch_all(&mut *conn)
    .await
    .context(|| "cannot read tables".into())?;
    let mut tables = BTreeMap::new();
    for row in rows {
        let name = text(&row, 0)?;
        if hidden.iter().any(|h| h.eq_ignore_ascii_case(&name)) {
            continue;
        }
        let table_type = text(&row, 1)?;
        let mut header = vec![format!(
            "engine {} collation {}",
            text(&row, 2)?,
            text(&row, 3)?
        )];
        // Partitioning is read separately; the rest are table options.
        let raw_options = text(&row, 4)?;
        let options: Vec<&str> = raw_options
            .split_whitespace()
            .filter(|o| *o != "partitioned")
            .collect();
        if !options.is_empty() {
            header.push(format!("options {}", options.join(" ")));
        }
        if let Some(comment) = opt(&row, 5)?.filter(|c| !c.is_empty()) {
            header.push(format!("comment {}", literal(&comment)));
        }
        let kind = match table_type.as_str() {
            "SEQUENCE" => "sequence",
            _ => "table",
        };
        tables.insert(
            name.clone(),
            TableBuild {
                kind: kind.into(),
                table: Table {
                    schema: database.to_string(),
                    name,
                    columns: Vec::new(),
                    primary_key: Vec::new(),
                    unique_keys: Vec::new(),
                    foreign_keys: Vec::new(),
                    checks: Vec::new(),
                    holds_rows: kind == "table",
                    seed_directly: kind == "table",
                    partitioning: None,
                },
                header,
                columns: Vec::new(),
                members: Vec::new(),
            },
        );
    }
    Ok(tables)
}

async fn read_columns(
    conn: &mut MySqlConnection,
    tables: &mut BTreeMap<String, TableBuild>,
) -> Result<()> {
    let rows = sqlx::query(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR),
                CAST(IS_NULLABLE AS CHAR), CAST(COLUMN_DEFAULT AS CHAR), CAST(CHARACTER_SET_NAME AS CHAR),
                CAST(COLLATION_NAME AS CHAR), CAST(EXTRA AS CHAR), CAST(GENERATION_EXPRESSION AS CHAR),
                CAST(COLUMN_COMMENT AS CHAR), CAST(DATA_TYPE AS CHAR), CAST(CHARACTER_MAXIMUM_LENGTH AS CHAR),
                CAST(CHARACTER_OCTET_LENGTH AS CHAR), CAST(NUMERIC_PRECISION AS CHAR),
                CAST(NUMERIC_SCALE AS CHAR), CAST(DATETIME_PRECISION AS CHAR)
         FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = DATABASE()
         ORDER BY TABLE_NAME, ORDINAL_POSITION",
    )
    .fetch_all(&mut *conn)
    .await
    .context(|| "cannot read columns".into())?;
    for row in rows {
        let Some(build) = tables.get_mut(&text(&row, 0)?) else {
            continue;
        };
        let name = text(&row, 1)?;
        let column_type = text(&row, 2)?;
        let nullable = text(&row, 3)? == "YES";
        // MariaDB spells "no default" as NULL and a NULL default as the string "NULL".
        let default = opt(&row, 4)?.filter(|d| d != "NULL");
        let charset = opt(&row, 5)?;
        let collation = opt(&row, 6)?;
        let extra = text(&row, 7)?.to_ascii_lowercase();
        let generation = opt(&row, 8)?.filter(|g| !g.is_empty());
        let comment = opt(&row, 9)?.filter(|c| !c.is_empty());
        let number =
            |i: usize| -> Result<Option<u64>> { Ok(opt(&row, i)?.and_then(|v| v.parse().ok())) };
        let mut line = format!("column `{name}` {column_type}");
        if let (Some(cs), Some(co)) = (&charset, &collation) {
            let _ = write!(line, " character set {cs} collate {co}");
        }
        line.push_str(if nullable { " null" } else { " not null" });
        if let Some(d) = &default {
            let _ = write!(line, " default {d}");
        }
        if !extra.is_empty() {
            let _ = write!(line, " {extra}");
        }
        if let Some(g) = &generation {
            let _ = write!(line, " as ({g})");
        }
        if let Some(c) = &comment {
            let _ = write!(line, " comment {}", literal(c));
        }
        build.columns.push(line);
        let kind = column_kind(
            &text(&row, 10)?,
            &column_type,
            charset.as_deref(),
            number(11)?,
            number(12)?,
            number(13)?,
            number(14)?,
            number(15)?,
        );
        let data_type = match &charset {
            Some(cs) => format!("{column_type} character set {cs}"),
            None => column_type.clone(),
        };
        build.table.columns.push(Column {
            name,
            data_type,
            kind,
            nullable,
            has_default: default.is_some(),
            // A default calling a sequence (`nextval(`db`.`seq`)`) numbers rows as
            // AUTO_INCREMENT does: seeding leaves it to the server, so the sequence moves.
            server_filled: extra.contains("auto_increment")
                || extra.contains("generated")
                || default.as_deref().is_some_and(|d| d.contains("nextval(")),
            generated: extra.contains("generated"),
            auto_updated: extra.contains("on update"),
        });
    }
    Ok(())
}

fn repertoire(charset: Option<&str>) -> Repertoire {
    match charset.unwrap_or("binary") {
        "utf8mb4" | "utf16" | "utf16le" | "utf32" | "gb18030" => Repertoire::Full,
        "utf8" | "utf8mb3" | "ucs2" => Repertoire::Bmp,
        "latin1" | "latin2" | "latin5" | "latin7" | "cp1250" | "cp1251" | "cp1252" => {
            Repertoire::Latin1
        }
        _ => Repertoire::Ascii,
    }
}

/// The labels of `enum('a','b')` / `set('a','b')`.
fn labels(column_type: &str) -> Vec<String> {
    let Some(inner) = column_type.find('(').and_then(|open| {
        column_type
            .rfind(')')
            .map(|close| &column_type[open + 1..close])
    }) else {
        return Vec::new();
    };
    let mut labels = Vec::new();
    let mut current = String::new();
    let mut chars = inner.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('\'', false) => quoted = true,
            ('\'', true) if chars.peek() == Some(&'\'') => {
                current.push('\'');
                chars.next();
            }
            ('\'', true) => {
                quoted = false;
                labels.push(std::mem::take(&mut current));
            }
            (c, true) => current.push(c),
            _ => {}
        }
    }
    labels
}

#[allow(clippy::too_many_arguments)]
fn column_kind(
    data_type: &str,
    column_type: &str,
    charset: Option<&str>,
    max_chars: Option<u64>,
    max_bytes: Option<u64>,
    precision: Option<u64>,
    scale: Option<u64>,
    fraction: Option<u64>,
) -> ColumnKind {
    let unsigned = column_type.contains("unsigned");
    let int = |bytes| ColumnKind::Int { bytes, unsigned };
    let chars = |n: Option<u64>| n.map(|n| n.min(u64::from(u32::MAX)) as u32);
    match data_type.to_ascii_lowercase().as_str() {
        "tinyint" => int(1),
        "smallint" => int(2),
        "mediumint" => int(3),
        "int" | "integer" => int(4),
        "bigint" => int(8),
        "decimal" | "numeric" => ColumnKind::Decimal {
            precision: precision.map(|p| p as u32),
            scale: scale.unwrap_or(0) as u32,
        },
        "float" | "double" | "real" => ColumnKind::Float,
        "bit" => ColumnKind::Bit {
            len: precision.unwrap_or(1) as u32,
        },
        "char" => ColumnKind::Char {
            len: chars(max_chars).unwrap_or(1),
            repertoire: repertoire(charset),
        },
        "varchar" => ColumnKind::Text {
            max_len: chars(max_chars),
            repertoire: repertoire(charset),
        },
        // TEXT limits are in bytes; four bytes per character keeps any text within them.
        "tinytext" | "text" | "mediumtext" | "longtext" => ColumnKind::Text {
            max_len: chars(max_bytes.map(|b| b / 4)),
            repertoire: repertoire(charset),
        },
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
            ColumnKind::Bytes {
                max_len: chars(max_bytes),
            }
        }
        "date" => ColumnKind::Date,
        "datetime" | "timestamp" => ColumnKind::Timestamp {
            tz: false,
            fraction: Some(fraction.unwrap_or(0) as u32),
        },
        "time" => ColumnKind::Time,
        "year" => ColumnKind::Year,
        "enum" => ColumnKind::Enum(labels(column_type)),
        "set" => ColumnKind::Set(labels(column_type)),
        "json" => ColumnKind::Json,
        "uuid" => ColumnKind::Uuid,
        "inet4" | "inet6" => ColumnKind::Inet,
        other => ColumnKind::Other(other.to_string()),
    }
}

async fn read_indexes(
    conn: &mut MySqlConnection,
    tables: &mut BTreeMap<String, TableBuild>,
) -> Result<()> {
    let rows = sqlx::query(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(INDEX_NAME AS CHAR), CAST(NON_UNIQUE AS CHAR),
                CAST(COLUMN_NAME AS CHAR), CAST(SUB_PART AS CHAR), CAST(INDEX_TYPE AS CHAR),
                CAST(COLLATION AS CHAR), CAST(INDEX_COMMENT AS CHAR)
         FROM information_schema.STATISTICS
         WHERE TABLE_SCHEMA = DATABASE()
         ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
    )
    .fetch_all(&mut *conn)
    .await
    .context(|| "cannot read indexes".into())?;
    // (table, index) → (unique, type, comment, [(column, rendered part)])
    type Index = (bool, String, String, Vec<(String, String)>);
    let mut indexes: BTreeMap<(String, String), Index> = BTreeMap::new();
    for row in rows {
        let key = (text(&row, 0)?, text(&row, 1)?);
        let column = text(&row, 3)?;
        let mut part = format!("`{column}`");
        if let Some(prefix) = opt(&row, 4)? {
            let _ = write!(part, "({prefix})");
        }
        if opt(&row, 6)?.as_deref() == Some("D") {
            part.push_str(" desc");
        }
        let entry = indexes
            .entry(key)
            .or_insert_with(|| (false, String::new(), String::new(), Vec::new()));
        entry.0 = text(&row, 2)? == "0";
        entry.1 = text(&row, 5)?;
        entry.2 = text(&row, 7)?;
        entry.3.push((column, part));
    }
    for ((table, name), (unique, kind, comment, parts)) in indexes {
        let Some(build) = tables.get_mut(&table) else {
            continue;
        };
        let columns: Vec<String> = parts.iter().map(|(c, _)| c.clone()).collect();
        let rendered: Vec<&str> = parts.iter().map(|(_, p)| p.as_str()).collect();
        let mut line = if name == "PRIMARY" {
            build.table.primary_key = columns.clone();
            format!("primary key {kind} ({})", rendered.join(", "))
        } else {
            format!(
                "{}index `{name}` {kind} ({})",
                if unique { "unique " } else { "" },
                rendered.join(", ")
            )
        };
        if !comment.is_empty() {
            let _ = write!(line, " comment {}", literal(&comment));
        }
        if unique {
            build.table.unique_keys.push(columns);
        }
        build.members.push(line);
    }
    Ok(())
}

async fn read_foreign_keys(
    conn: &mut MySqlConnection,
    tables: &mut BTreeMap<String, TableBuild>,
) -> Result<()> {
    let rows = sqlx::query(
        "SELECT CAST(k.TABLE_NAME AS CHAR), CAST(k.CONSTRAINT_NAME AS CHAR), CAST(k.COLUMN_NAME AS CHAR),
                CAST(k.REFERENCED_TABLE_SCHEMA AS CHAR), CAST(k.REFERENCED_TABLE_NAME AS CHAR),
                CAST(k.REFERENCED_COLUMN_NAME AS CHAR), CAST(r.UPDATE_RULE AS CHAR), CAST(r.DELETE_RULE AS CHAR)
         FROM information_schema.KEY_COLUMN_USAGE k
         JOIN information_schema.REFERENTIAL_CONSTRAINTS r
           ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
          AND r.TABLE_NAME = k.TABLE_NAME
         WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL
         ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
    )
    .fetch_all(&mut *conn)
    .await
    .context(|| "cannot read foreign keys".into())?;
    let mut keys: BTreeMap<(String, String), (ForeignKey, String)> = BTreeMap::new();
    for row in rows {
        let (table, name) = (text(&row, 0)?, text(&row, 1)?);
        let entry = keys.entry((table, name.clone())).or_insert_with(|| {
            (
                ForeignKey {
                    name,
                    columns: Vec::new(),
                    ref_table: String::new(),
                    ref_columns: Vec::new(),
                    deferrable: false,
                },
                String::new(),
            )
        });
        entry.0.columns.push(text(&row, 2)?);
        entry.0.ref_table = format!("{}.{}", text(&row, 3)?, text(&row, 4)?);
        entry.0.ref_columns.push(text(&row, 5)?);
        entry.1 = format!(
            "on update {} on delete {}",
            text(&row, 6)?.to_lowercase(),
            text(&row, 7)?.to_lowercase()
        );
    }
    for ((table, _), (fk, actions)) in keys {
        let Some(build) = tables.get_mut(&table) else {
            continue;
        };
        build.members.push(format!(
            "foreign key `{}` ({}) references {} ({}) {actions}",
            fk.name,
            fk.columns.join(", "),
            fk.ref_table,
            fk.ref_columns.join(", ")
        ));
        build.table.foreign_keys.push(fk);
    }
    Ok(())
}

async fn read_checks(
    conn: &mut MySqlConnection,
    tables: &mut BTreeMap<String, TableBuild>,
) -> Result<()> {
    let rows = sqlx::query(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(CONSTRAINT_NAME AS CHAR), CAST(CHECK_CLAUSE AS CHAR)
         FROM information_schema.CHECK_CONSTRAINTS
         WHERE CONSTRAINT_SCHEMA = DATABASE()",
    )
    .fetch_all(&mut *conn)
    .await
    .context(|| "cannot read check constraints".into())?;
    for row in rows {
        let Some(build) = tables.get_mut(&text(&row, 0)?) else {
            continue;
        };
        let (name, clause) = (text(&row, 1)?, text(&row, 2)?);
        // MariaDB stores JSON columns as LONGTEXT guarded by json_valid(): seed JSON there.
        let json_column = clause
            .strip_prefix("json_valid(`")
            .and_then(|rest| rest.strip_suffix("`)"));
        if let Some(column) = json_column
            && let Some(c) = build.table.columns.iter_mut().find(|c| c.name == column)
        {
            c.kind = ColumnKind::Json;
        }
        build.members.push(format!("check `{name}` ({clause})"));
        build.table.checks.push(clause);
    }
    Ok(())
}

async fn read_triggers(
    conn: &mut MySqlConnection,
    tables: &mut BTreeMap<String, TableBuild>,
) -> Result<()> {
    let rows = sqlx::query(
        "SELECT CAST(EVENT_OBJECT_TABLE AS CHAR), CAST(TRIGGER_NAME AS CHAR), CAST(ACTION_TIMING AS CHAR),
                CAST(EVENT_MANIPULATION AS CHAR), CAST(ACTION_STATEMENT AS CHAR)
         FROM information_schema.TRIGGERS
         WHERE TRIGGER_SCHEMA = DATABASE()",
    )
    .fetch_all(&mut *conn)
    .await
    .context(|| "cannot read triggers".into())?;
    for row in rows {
        let Some(build) = tables.get_mut(&text(&row, 0)?) else {
            continue;
        };
        build.members.push(format!(
            "trigger `{}` {} {} for each row {}",
            text(&row, 1)?,
            text(&row, 2)?.to_lowercase(),
            text(&row, 3)?.to_lowercase(),
            text(&row, 4)?
        ));
    }
    Ok(())
}

async fn read_partitions(
    conn: &mut MySqlConnection,
    tables: &mut BTreeMap<String, TableBuild>,
) -> Result<()> {
    let rows = sqlx::query(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(PARTITION_NAME AS CHAR), CAST(PARTITION_METHOD AS CHAR),
                CAST(PARTITION_EXPRESSION AS CHAR), CAST(PARTITION_DESCRIPTION AS CHAR)
         FROM information_schema.PARTITIONS
         WHERE TABLE_SCHEMA = DATABASE() AND PARTITION_NAME IS NOT NULL
         ORDER BY TABLE_NAME, PARTITION_ORDINAL_POSITION",
    )
    .fetch_all(&mut *conn)
    .await
    .context(|| "cannot read partitions".into())?;
    let mut previous: Option<(String, Option<String>)> = None;
    for row in rows {
        let table = text(&row, 0)?;
        let Some(build) = tables.get_mut(&table) else {
            continue;
        };
        let (method, expression) = (text(&row, 2)?, text(&row, 3)?);
        let description = opt(&row, 4)?.unwrap_or_default();
        build.header.push(format!(
            "partition `{}` by {} ({expression}) values {description}",
            text(&row, 1)?,
            method.to_lowercase(),
        ));
        // RANGE partitions list only their upper bound: the lower is the previous one's.
        let from = match &previous {
            Some((t, upper)) if *t == table => upper.clone(),
            _ => None,
        };
        let bound = match method.as_str() {
            "RANGE" | "RANGE COLUMNS" => {
                let to = (description != "MAXVALUE").then(|| unquote(&description));
                previous = Some((table.clone(), to.clone()));
                PartitionBound::Range { from, to }
            }
            "LIST" | "LIST COLUMNS" => {
                PartitionBound::List(description.split(',').map(|v| unquote(v.trim())).collect())
            }
            _ => PartitionBound::Any,
        };
        let column = expression.trim().trim_matches('`');
        if column.chars().all(|c| c.is_alphanumeric() || c == '_') {
            build
                .table
                .partitioning
                .get_or_insert_with(|| Partitioning {
                    column: column.to_string(),
                    bounds: Vec::new(),
                })
                .bounds
                .push(bound);
        }
    }
    Ok(())
}

/// `'2024-01-01'` → `2024-01-01`; numbers stay as they are.
fn unquote(value: &str) -> String {
    value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .unwrap_or(value)
        .to_string()
}

/// Removes the `db`. qualifications the server adds inside stored definitions.
fn unqualify(definition: &str, database: &str) -> String {
    definition.replace(&format!("`{database}`."), "")
}

async fn read_views(
    conn: &mut MySqlConnection,
    database: &str,
    snapshot: &mut SchemaSnapshot,
) -> Result<()> {
    let rows = sqlx::query(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(VIEW_DEFINITION AS CHAR), CAST(CHECK_OPTION AS CHAR),
                CAST(SECURITY_TYPE AS CHAR)
         FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()",
    )
    .fetch_all(&mut *conn)
    .await
    .context(|| "cannot read views".into())?;
    for row in rows {
        let name = text(&row, 0)?;
        let qualified = format!("{database}.{name}");
        snapshot.objects.insert(
            format!("7 view {qualified}"),
            SchemaObject {
                kind: "view".into(),
                reference: qualified.clone(),
                table: None,
                text: format!(
                    "view {qualified}\n  {}\n  check option {} security {}\n",
                    unqualify(&text(&row, 1)?, database),
                    text(&row, 2)?.to_lowercase(),
                    text(&row, 3)?.to_lowercase()
                ),
            },
        );
    }
    Ok(())
}

async fn read_routines(
    conn: &mut MySqlConnection,
    database: &str,
    snapshot: &mut SchemaSnapshot,
) -> Result<()> {
    let params = sqlx::query(
        "SELECT CAST(SPECIFIC_NAME AS CHAR), CAST(ROUTINE_TYPE AS CHAR), CAST(PARAMETER_MODE AS CHAR),
                CAST(PARAMETER_NAME AS CHAR), CAST(DTD_IDENTIFIER AS CHAR)
         FROM information_schema.PARAMETERS
         WHERE SPECIFIC_SCHEMA = DATABASE() AND ORDINAL_POSITION > 0
         ORDER BY SPECIFIC_NAME, ORDINAL_POSITION",
    )
    .fetch_all(&mut *conn)
    .await
    .context(|| "cannot read routine parameters".into())?;
    let mut signatures: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for row in params {
        let mode = opt(&row, 2)?
            .map(|m| format!("{} ", m.to_lowercase()))
            .unwrap_or_default();
        signatures
            .entry((text(&row, 0)?, text(&row, 1)?))
            .or_default()
            .push(format!("{mode}`{}` {}", text(&row, 3)?, text(&row, 4)?));
    }
    let rows = sqlx::query(
        "SELECT CAST(ROUTINE_NAME AS CHAR), CAST(ROUTINE_TYPE AS CHAR), CAST(DTD_IDENTIFIER AS CHAR),
                CAST(ROUTINE_DEFINITION AS CHAR), CAST(IS_DETERMINISTIC AS CHAR), CAST(SQL_DATA_ACCESS AS CHAR),
                CAST(SECURITY_TYPE AS CHAR), CAST(ROUTINE_COMMENT AS CHAR)
         FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()",
    )
    .fetch_all(&mut *conn)
    .await
    .context(|| "cannot read routines".into())?;
    for row in rows {
        let (name, kind) = (text(&row, 0)?, text(&row, 1)?.to_lowercase());
        let args = signatures
            .get(&(name.clone(), kind.to_uppercase()))
            .map(|a| a.join(", "))
            .unwrap_or_default();
        let qualified = format!("{database}.{name}");
        let mut out = format!("{kind} {qualified}({args})");
        if let Some(returns) = opt(&row, 2)?.filter(|r| !r.is_empty()) {
            let _ = write!(out, " returns {returns}");
        }
        let _ = writeln!(
            out,
            "\n  deterministic {} data access {} security {}",
            text(&row, 4)?.to_lowercase(),
            text(&row, 5)?.to_lowercase(),
            text(&row, 6)?.to_lowercase()
        );
        for line in unqualify(&text(&row, 3)?, database).lines() {
            let _ = writeln!(out, "  {}", line.trim_end());
        }
        if let Some(c) = opt(&row, 7)?.filter(|c| !c.is_empty()) {
            let _ = writeln!(out, "  comment {}", literal(&c));
        }
        snapshot.objects.insert(
            format!("8 {kind} {qualified}"),
            SchemaObject {
                kind,
                reference: format!("{qualified}({args})"),
                table: None,
                text: out,
            },
        );
    }
    Ok(())
}

async fn read_events(
    conn: &mut MySqlConnection,
    database: &str,
    snapshot: &mut SchemaSnapshot,
) -> Result<()> {
    let rows = sqlx::query(
        "SELECT CAST(EVENT_NAME AS CHAR), CAST(EVENT_DEFINITION AS CHAR), CAST(EVENT_TYPE AS CHAR),
                CAST(EXECUTE_AT AS CHAR), CAST(INTERVAL_VALUE AS CHAR), CAST(INTERVAL_FIELD AS CHAR),
                CAST(STARTS AS CHAR), CAST(ENDS AS CHAR), CAST(STATUS AS CHAR), CAST(ON_COMPLETION AS CHAR)
         FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()",
    )
    .fetch_all(&mut *conn)
    .await
    .context(|| "cannot read events".into())?;
    for row in rows {
        let name = text(&row, 0)?;
        let qualified = format!("{database}.{name}");
        // An event without STARTS starts when it is created: that moment is not schema.
        let time = |i: usize| -> Result<String> {
            Ok(opt(&row, i)?
                .map(|t| creation_time(&t).map(str::to_string).unwrap_or(t))
                .unwrap_or_else(|| "-".into()))
        };
        let text = format!(
            "event {qualified}\n  {} at {} every {} {} starts {} ends {} {} {}\n  {}\n",
            text(&row, 2)?.to_lowercase(),
            time(3)?,
            opt(&row, 4)?.unwrap_or_default(),
            opt(&row, 5)?.unwrap_or_default().to_lowercase(),
            time(6)?,
            time(7)?,
            text(&row, 8)?.to_lowercase(),
            text(&row, 9)?.to_lowercase(),
            unqualify(&text(&row, 1)?, database)
        );
        snapshot.objects.insert(
            format!("9 event {qualified}"),
            SchemaObject {
                kind: "event".into(),
                reference: qualified,
                table: None,
                text,
            },
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_and_set_labels_are_parsed() {
        assert_eq!(labels("enum('a','b c','it''s')"), vec!["a", "b c", "it's"]);
        assert_eq!(labels("set('x')"), vec!["x"]);
        assert!(labels("int(11)").is_empty());
    }

    #[test]
    fn kinds_follow_information_schema() {
        let k = column_kind(
            "int",
            "int(10) unsigned",
            None,
            None,
            None,
            Some(10),
            Some(0),
            None,
        );
        assert_eq!(
            k,
            ColumnKind::Int {
                bytes: 4,
                unsigned: true
            }
        );
        let k = column_kind(
            "varchar",
            "varchar(50)",
            Some("latin1"),
            Some(50),
            Some(50),
            None,
            None,
            None,
        );
        assert_eq!(
            k,
            ColumnKind::Text {
                max_len: Some(50),
                repertoire: Repertoire::Latin1
            }
        );
        let k = column_kind(
            "datetime",
            "datetime(6)",
            None,
            None,
            None,
            None,
            None,
            Some(6),
        );
        assert_eq!(
            k,
            ColumnKind::Timestamp {
                tz: false,
                fraction: Some(6)
            }
        );
    }
}
