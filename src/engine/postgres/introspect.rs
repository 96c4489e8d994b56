//! Reading the PostgreSQL catalog into a [`SchemaSnapshot`].
//!
//! All queries run in one repeatable-read transaction with `search_path = pg_catalog`, so
//! `pg_get_*def` output qualifies every user object the same way each time. Objects that
//! belong to extensions, to driftless (temp schemas) or to the migration tool in use (the
//! tracking tables `StartOptions::hidden_tables` names, sqitch's schema) are left out.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use sqlx::Row;
use sqlx::postgres::{PgConnection, PgRow};

use crate::Result;
use crate::error::Context;
use crate::schema::{
    Column, ColumnKind, ForeignKey, PartitionBound, Partitioning, Repertoire, SchemaObject,
    SchemaSnapshot, Table,
};
use crate::sql::pg::{ident_if_needed, literal};

/// `n` is a pg_namespace alias; keeps user schemas only.
const USER_SCHEMA: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'sqitch') \
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'";

fn not_extension_member(catalog: &str, oid: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = '{catalog}'::regclass \
         AND dep.objid = {oid} AND dep.deptype = 'e')"
    )
}

fn q(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}

/// Reads the whole schema.
pub async fn snapshot(conn: &mut PgConnection, hidden: &[String]) -> Result<SchemaSnapshot> {
    sqlx::raw_sql(
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL search_path = pg_catalog",
    )
    .execute(&mut *conn)
    .await
    .context(|| "cannot start catalog snapshot".into())?;
    let result = read_all(conn, hidden).await;
    let _ = sqlx::raw_sql("COMMIT").execute(&mut *conn).await;
    result
}

async fn read_all(conn: &mut PgConnection, hidden: &[String]) -> Result<SchemaSnapshot> {
    let mut snapshot = SchemaSnapshot::default();
    let types = read_types(conn, &mut snapshot).await?;
    read_schemas(conn, &mut snapshot).await?;
    read_extensions(conn, &mut snapshot).await?;
    read_collations(conn, &mut snapshot).await?;
    let mut tables = read_tables(conn, &types, hidden).await?;
    read_constraints(conn, &mut tables).await?;
    read_indexes(conn, &mut tables, &mut snapshot).await?;
    read_triggers_policies_rules(conn, &mut tables).await?;
    read_views(conn, &mut snapshot).await?;
    read_sequences(conn, &mut snapshot, hidden).await?;
    read_functions(conn, &mut snapshot).await?;
    read_database_objects(conn, &mut snapshot).await?;
    for (_, t) in tables {
        snapshot.objects.insert(
            format!("5 table {}", t.table.qualified()),
            SchemaObject {
                kind: "table".into(),
                reference: t.table.qualified(),
                table: Some(t.table.name.clone()),
                text: t.render(),
            },
        );
        snapshot.tables.insert(t.table.qualified(), t.table);
    }
    for object in snapshot.objects.values_mut() {
        object.text = crate::schema::frozen::frozen_times(&object.text);
    }
    Ok(snapshot)
}

/// A table being assembled: the model plus lines of canonical text.
struct TableBuild {
    table: Table,
    header: Vec<String>,
    columns: Vec<(String, String)>,
    members: Vec<String>,
}

impl TableBuild {
    fn render(&self) -> String {
        let mut out = format!("table {}\n", self.table.qualified());
        for line in &self.header {
            let _ = writeln!(out, "  {line}");
        }
        let mut columns = self.columns.clone();
        columns.sort();
        for (_, line) in columns {
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

fn text(row: &PgRow, i: usize) -> Result<String> {
    row.try_get::<String, _>(i)
        .context(|| format!("unexpected catalog value in column {i}"))
}

fn opt(row: &PgRow, i: usize) -> Result<Option<String>> {
    row.try_get::<Option<String>, _>(i)
        .context(|| format!("unexpected catalog value in column {i}"))
}

fn comment_line(comment: Option<String>) -> Option<String> {
    comment.map(|c| format!("comment {}", literal(&c)))
}

/// What seeding needs to know about a type, by oid.
struct TypeInfo {
    name: String,
    labels: Vec<String>,
}

async fn read_types(
    conn: &mut PgConnection,
    snapshot: &mut SchemaSnapshot,
) -> Result<HashMap<u32, TypeInfo>> {
    let mut types = HashMap::new();
    let sql = format!(
        "SELECT t.oid::int8, n.nspname::text, t.typname::text, t.typtype::text,
                format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault,
                obj_description(t.oid, 'pg_type'),
                (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid),
                (SELECT array_agg(pg_get_constraintdef(c.oid, true) ORDER BY c.conname) FROM pg_constraint c WHERE c.contypid = t.oid),
                (SELECT array_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum)
                   FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped),
                (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid)
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
         WHERE {USER_SCHEMA} AND t.typtype IN ('e', 'd', 'c', 'r')
           AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
           AND {}",
        not_extension_member("pg_type", "t.oid")
    );
    let rows = sqlx::query(q(sql))
        .fetch_all(&mut *conn)
        .await
        .context(|| "cannot read types".into())?;
    for row in rows {
        let oid: i64 = row.try_get(0).context(|| "type oid".into())?;
        let (schema, name) = (text(&row, 1)?, text(&row, 2)?);
        let labels: Vec<String> = row
            .try_get::<Option<Vec<String>>, _>(8)
            .context(|| "enum labels".into())?
            .unwrap_or_default();
        let qualified = format!("{schema}.{name}");
        let mut out = type_text(&row, &qualified, &labels)?;
        if let Some(c) = comment_line(opt(&row, 7)?) {
            let _ = writeln!(out, "  {c}");
        }
        snapshot.objects.insert(
            format!("3 type {qualified}"),
            SchemaObject {
                kind: "type".into(),
                reference: format!("type:{qualified}"),
                table: None,
                text: out,
            },
        );
        types.insert(
            oid as u32,
            TypeInfo {
                name: qualified,
                labels,
            },
        );
    }
    Ok(types)
}

/// The canonical text of one user type of [`read_types`]: an enum's labels, a domain's base,
/// default and checks, a composite's attributes, a range's subtype.
fn type_text(row: &PgRow, qualified: &str, labels: &[String]) -> Result<String> {
    let mut out = String::new();
    match text(row, 3)?.as_str() {
        "e" => {
            let quoted: Vec<String> = labels.iter().map(|l| literal(l)).collect();
            let _ = writeln!(out, "type {qualified} enum ({})", quoted.join(", "));
        }
        "d" => {
            let _ = write!(out, "type {qualified} domain over {}", text(row, 4)?);
            if row.try_get::<bool, _>(5).unwrap_or(false) {
                out.push_str(" not null");
            }
            if let Some(default) = opt(row, 6)? {
                let _ = write!(out, " default {default}");
            }
            out.push('\n');
            let checks: Vec<String> = row
                .try_get::<Option<Vec<String>>, _>(9)
                .context(|| "domain constraints".into())?
                .unwrap_or_default();
            for c in checks {
                let _ = writeln!(out, "  {c}");
            }
        }
        "c" => {
            let attrs: Vec<String> = row
                .try_get::<Option<Vec<String>>, _>(10)
                .context(|| "composite attributes".into())?
                .unwrap_or_default();
            let _ = writeln!(out, "type {qualified} composite ({})", attrs.join(", "));
        }
        _ => {
            let subtype = opt(row, 11)?.unwrap_or_default();
            let _ = writeln!(out, "type {qualified} range of {subtype}");
        }
    }
    Ok(out)
}

async fn read_schemas(conn: &mut PgConnection, snapshot: &mut SchemaSnapshot) -> Result<()> {
    let sql = format!(
        "SELECT n.nspname::text, obj_description(n.oid, 'pg_namespace'), n.nspacl::text
         FROM pg_namespace n WHERE {USER_SCHEMA} AND {}",
        not_extension_member("pg_namespace", "n.oid")
    );
    let rows = sqlx::query(q(sql))
        .fetch_all(&mut *conn)
        .await
        .context(|| "cannot read schemas".into())?;
    for row in rows {
        let name = text(&row, 0)?;
        let mut out = format!("schema {name}\n");
        if let Some(c) = comment_line(opt(&row, 1)?) {
            let _ = writeln!(out, "  {c}");
        }
        if let Some(acl) = opt(&row, 2)? {
            let _ = writeln!(out, "  acl {acl}");
        }
        snapshot.objects.insert(
            format!("1 schema {name}"),
            SchemaObject {
                kind: "schema".into(),
                reference: name.clone(),
                table: None,
                text: out,
            },
        );
    }
    Ok(())
}

async fn read_extensions(conn: &mut PgConnection, snapshot: &mut SchemaSnapshot) -> Result<()> {
    let rows = sqlx::query(
        "SELECT e.extname::text, e.extversion, n.nspname::text
         FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace",
    )
    .fetch_all(&mut *conn)
    .await
    .context(|| "cannot read extensions".into())?;
    for row in rows {
        let name = text(&row, 0)?;
        snapshot.objects.insert(
            format!("2 extension {name}"),
            SchemaObject {
                kind: "extension".into(),
                reference: format!("extension:{name}"),
                table: None,
                text: format!(
                    "extension {name} version {} in schema {}\n",
                    text(&row, 1)?,
                    text(&row, 2)?
                ),
            },
        );
    }
    Ok(())
}

/// User collations (`pg_collation`): provider, locale (libc's collate and ctype, ICU's locale
/// and rules), whether they are deterministic, and the provider's version. Read through
/// `to_jsonb` because the columns moved between versions (`colliculocale` in 15 and 16,
/// `colllocale` from 17, `collicurules` from 16).
async fn read_collations(conn: &mut PgConnection, snapshot: &mut SchemaSnapshot) -> Result<()> {
    let sql = format!(
        "SELECT n.nspname::text, c.collname::text, to_jsonb(c)::text,
                pg_encoding_to_char(c.collencoding), obj_description(c.oid, 'pg_collation')
         FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace
         WHERE {USER_SCHEMA} AND {}",
        not_extension_member("pg_collation", "c.oid")
    );
    let rows = sqlx::query(q(sql))
        .fetch_all(&mut *conn)
        .await
        .context(|| "cannot read collations".into())?;
    for row in rows {
        let (schema, name) = (text(&row, 0)?, text(&row, 1)?);
        // Text PostgreSQL wrote as JSON: it parses; a failure would leave the fields empty.
        let fields: serde_json::Value = serde_json::from_str(&text(&row, 2)?).unwrap_or_default();
        let qualified = format!("{schema}.{name}");
        let mut out = collation_text(&qualified, &fields, opt(&row, 3)?.as_deref());
        if let Some(c) = comment_line(opt(&row, 4)?) {
            let _ = writeln!(out, "  {c}");
        }
        snapshot.objects.insert(
            format!("3 collation {qualified}"),
            SchemaObject {
                kind: "collation".into(),
                reference: format!("collation:{qualified}"),
                table: None,
                text: out,
            },
        );
    }
    Ok(())
}

/// The canonical text of one collation from its `pg_collation` row as JSON.
fn collation_text(qualified: &str, row: &serde_json::Value, encoding: Option<&str>) -> String {
    let field = |key: &str| {
        row.get(key)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let provider = match field("collprovider") {
        Some("i") => "icu",
        Some("c") => "libc",
        Some("b") => "builtin",
        Some("d") => "default",
        _ => "unknown",
    };
    let mut out = format!("collation {qualified} provider {provider}");
    let locale = field("colllocale").or(field("colliculocale"));
    if let Some(locale) = locale {
        let _ = write!(out, " locale {}", literal(locale));
    }
    if let Some(collate) = field("collcollate") {
        let _ = write!(out, " lc_collate {}", literal(collate));
    }
    if let Some(ctype) = field("collctype") {
        let _ = write!(out, " lc_ctype {}", literal(ctype));
    }
    if let Some(rules) = field("collicurules") {
        let _ = write!(out, " rules {}", literal(rules));
    }
    let deterministic = row
        .get("collisdeterministic")
        .and_then(|v| v.as_bool())
        .unwrap_or(true);
    let _ = write!(out, " deterministic {deterministic}");
    if let Some(encoding) = encoding.filter(|e| !e.is_empty()) {
        let _ = write!(out, " encoding {encoding}");
    }
    if let Some(version) = field("collversion") {
        let _ = write!(out, " version {}", literal(version));
    }
    out.push('\n');
    out
}

/// A condition true for relations whose name `column` is not one of `hidden` (the tracking
/// tables of the migration tool in use).
fn not_hidden(column: &str, hidden: &[String]) -> String {
    if hidden.is_empty() {
        return "true".into();
    }
    let names: Vec<String> = hidden.iter().map(|t| crate::sql::literal(t)).collect();
    format!("{column}::text NOT IN ({})", names.join(", "))
}

async fn read_tables(
    conn: &mut PgConnection,
    types: &HashMap<u32, TypeInfo>,
    hidden: &[String],
) -> Result<BTreeMap<u32, TableBuild>> {
    let sql = format!(
        "SELECT c.oid::int8, n.nspname::text, c.relname::text, c.relkind::text, c.relpersistence::text,
                c.relispartition, c.relrowsecurity, c.relforcerowsecurity,
                CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
                CASE WHEN c.relispartition THEN
                  (SELECT pn.nspname || '.' || p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                     JOIN pg_namespace pn ON pn.oid = p.relnamespace WHERE i.inhrelid = c.oid)
                  || ' ' || pg_get_expr(c.relpartbound, c.oid) END,
                CASE WHEN NOT c.relispartition THEN
                  (SELECT string_agg(pn.nspname || '.' || p.relname, ', ' ORDER BY i.inhseqno) FROM pg_inherits i
                     JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace
                    WHERE i.inhrelid = c.oid) END,
                array_to_string(c.reloptions, ', '), obj_description(c.oid, 'pg_class'), c.relacl::text,
                CASE c.relreplident WHEN 'n' THEN 'nothing' WHEN 'f' THEN 'full'
                  WHEN 'i' THEN 'using index ' || (SELECT quote_ident(ic.relname) FROM pg_index i
                    JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid AND i.indisreplident) END,
                (SELECT am.amname::text FROM pg_am am WHERE am.oid = c.relam AND am.amname <> 'heap'),
                (SELECT ts.spcname::text FROM pg_tablespace ts WHERE ts.oid = c.reltablespace)
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p', 'f') AND {USER_SCHEMA} AND {}
           AND {}",
        not_extension_member("pg_class", "c.oid"),
        not_hidden("c.relname", hidden)
    );
    let rows = sqlx::query(q(sql))
        .fetch_all(&mut *conn)
        .await
        .context(|| "cannot read tables".into())?;
    let mut tables = BTreeMap::new();
    let mut partitions = Partitions::default();
    for row in rows {
        let oid: i64 = row.try_get(0).context(|| "table oid".into())?;
        tables.insert(oid as u32, table_build(&row, &mut partitions)?);
    }
    for build in tables.values_mut() {
        build.table.partitioning = partitions.of(&build.table.qualified());
    }
    read_columns(conn, &mut tables, types).await?;
    Ok(tables)
}

/// Partition keys and bounds as [`table_build`] meets them, joined up once all tables are read.
#[derive(Default)]
struct Partitions {
    /// Partitioned table → its `pg_get_partkeydef`.
    keys: BTreeMap<String, String>,
    /// (parent, bound) of each partition.
    bounds: Vec<(String, String)>,
}

impl Partitions {
    /// How the partitioned table `name` routes rows, where seeding can follow it.
    fn of(&self, name: &str) -> Option<Partitioning> {
        let column = self.keys.get(name).and_then(|k| partition_column(k))?;
        Some(Partitioning {
            column,
            bounds: self
                .bounds
                .iter()
                .filter(|(parent, _)| parent == name)
                .map(|(_, bound)| partition_bound(bound))
                .collect(),
        })
    }
}

/// One row of [`read_tables`]: the table's model and the header lines of its text.
fn table_build(row: &PgRow, partitions: &mut Partitions) -> Result<TableBuild> {
    let (schema, name, relkind) = (text(row, 1)?, text(row, 2)?, text(row, 3)?);
    let is_partition: bool = row.try_get(5).context(|| "relispartition".into())?;
    let kind = match (relkind.as_str(), text(row, 4)?.as_str()) {
        ("p", _) => "partitioned table",
        ("f", _) => "foreign table",
        (_, "u") => "unlogged table",
        _ => "table",
    };
    let mut header = vec![format!("kind {kind}")];
    if let Some(key) = opt(row, 8)? {
        header.push(format!("partition by {key}"));
        partitions.keys.insert(format!("{schema}.{name}"), key);
    }
    if let Some(parent) = opt(row, 9)? {
        header.push(format!("partition of {parent}"));
        if let Some((parent, bound)) = parent.split_once(' ') {
            partitions
                .bounds
                .push((parent.to_string(), bound.to_string()));
        }
    }
    if let Some(parents) = opt(row, 10)? {
        header.push(format!("inherits {parents}"));
    }
    if let Some(options) = opt(row, 11)?.filter(|o| !o.is_empty()) {
        header.push(format!("with ({options})"));
    }
    let rls: bool = row.try_get(6).context(|| "relrowsecurity".into())?;
    let forced: bool = row.try_get(7).context(|| "relforcerowsecurity".into())?;
    if rls || forced {
        header.push(format!(
            "row level security{}{}",
            if rls { " enabled" } else { "" },
            if forced { " forced" } else { "" }
        ));
    }
    header.extend(comment_line(opt(row, 12)?));
    if let Some(acl) = opt(row, 13)? {
        header.push(format!("acl {acl}"));
    }
    if let Some(identity) = opt(row, 14)? {
        header.push(format!("replica identity {identity}"));
    }
    if let Some(method) = opt(row, 15)? {
        header.push(format!("using {method}"));
    }
    if let Some(space) = opt(row, 16)? {
        header.push(format!("tablespace {space}"));
    }
    Ok(TableBuild {
        table: Table {
            schema,
            name,
            columns: Vec::new(),
            primary_key: Vec::new(),
            unique_keys: Vec::new(),
            foreign_keys: Vec::new(),
            checks: Vec::new(),
            holds_rows: relkind == "r",
            seed_directly: relkind != "f" && !is_partition,
            partitioning: None,
        },
        header,
        columns: Vec::new(),
        members: Vec::new(),
    })
}

/// One row of [`read_columns`]: the column's model and its line of the table's text.
fn column_of(
    row: &PgRow,
    base_types: &HashMap<u32, BaseType>,
    types: &HashMap<u32, TypeInfo>,
) -> Result<(Column, String)> {
    let name = text(row, 1)?;
    let data_type = text(row, 2)?;
    let not_null: bool = row.try_get(3).context(|| "attnotnull".into())?;
    let default = opt(row, 4)?;
    let identity = text(row, 5)?;
    let generated = text(row, 6)?;
    let mut line = format!("column {} {data_type}", ident_if_needed(&name));
    if let Some(collation) = opt(row, 7)? {
        let _ = write!(line, " collate {collation}");
    }
    if not_null {
        line.push_str(" not null");
    }
    match identity.as_str() {
        "a" => line.push_str(" generated always as identity"),
        "d" => line.push_str(" generated by default as identity"),
        _ => {}
    }
    if let Some(default) = &default {
        if generated == "s" {
            let _ = write!(line, " generated always as ({default}) stored");
        } else {
            let _ = write!(line, " default {default}");
        }
    }
    // An inherited column says from how many parents, and whether the table also defines
    // it itself (then it survives the parent dropping it, and NO INHERIT keeps it either way).
    let parents: i32 = row.try_get(13).context(|| "attinhcount".into())?;
    let local: bool = row.try_get(14).context(|| "attislocal".into())?;
    if parents > 0 {
        let _ = write!(line, " inherited from {parents}");
        if local {
            line.push_str(" and local");
        }
    }
    // Column-level settings a migration can make: privileges, statistics target, storage,
    // compression.
    if let Some(acl) = opt(row, 15)? {
        let _ = write!(line, " acl {acl}");
    }
    if let Some(target) = opt(row, 16)? {
        let _ = write!(line, " statistics {target}");
    }
    if let Some(storage) = opt(row, 17)? {
        let storage = match storage.as_str() {
            "p" => "plain",
            "e" => "external",
            "m" => "main",
            _ => "extended",
        };
        let _ = write!(line, " storage {storage}");
    }
    if let Some(compression) = opt(row, 18)? {
        let method = if compression == "l" { "lz4" } else { "pglz" };
        let _ = write!(line, " compression {method}");
    }
    if let Some(c) = comment_line(opt(row, 8)?) {
        let _ = write!(line, " {c}");
    }
    let base: i64 = row.try_get(9).context(|| "base type".into())?;
    let typmod: i32 = row.try_get(10).context(|| "typmod".into())?;
    let domain_not_null: bool = row.try_get(11).context(|| "typnotnull".into())?;
    let serial = default
        .as_deref()
        .is_some_and(|d| d.starts_with("nextval("));
    let column = Column {
        kind: column_kind(base as u32, typmod, base_types, types),
        name,
        data_type,
        nullable: !not_null && !domain_not_null,
        has_default: default.is_some() && generated != "s",
        server_filled: !identity.is_empty() || generated == "s" || serial,
        generated: generated == "s",
        auto_updated: false,
    };
    Ok((column, line))
}

/// The column of a single-column `RANGE (created_at)` / `LIST (region)` key; `None` for hash
/// partitioning (every value fits), expressions and several columns.
fn partition_column(key: &str) -> Option<String> {
    let (method, rest) = key.split_once(' ')?;
    if method.eq_ignore_ascii_case("hash") {
        return None;
    }
    let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?.trim();
    let plain = inner.chars().all(|c| c.is_alphanumeric() || c == '_');
    plain.then(|| inner.to_string()).or_else(|| {
        let quoted = inner.strip_prefix('"')?.strip_suffix('"')?;
        (!quoted.contains('"')).then(|| quoted.to_string())
    })
}

/// One partition's `pg_get_expr(relpartbound)`: `FOR VALUES FROM ('a') TO ('b')`,
/// `FOR VALUES IN ('x', 'y')`, `DEFAULT`.
fn partition_bound(text: &str) -> PartitionBound {
    fn literals(list: &str) -> Vec<String> {
        list.split(", ")
            .map(|v| {
                let v = v.trim();
                let v = v.split("::").next().unwrap_or(v);
                v.strip_prefix('\'')
                    .and_then(|v| v.strip_suffix('\''))
                    .map(|v| v.replace("''", "'"))
                    .unwrap_or_else(|| v.to_string())
            })
            .collect()
    }
    let inside = |t: &str| -> Option<String> {
        let t = t.trim();
        Some(t.strip_prefix('(')?.strip_suffix(')')?.to_string())
    };
    if let Some(range) = text.strip_prefix("FOR VALUES FROM ") {
        let Some((from, to)) = range.split_once(" TO ") else {
            return PartitionBound::Any;
        };
        let bound = |t: &str| {
            let list = literals(&inside(t).unwrap_or_default());
            match list.as_slice() {
                [one] if one == "MINVALUE" || one == "MAXVALUE" => None,
                [one] => Some(one.clone()),
                _ => None,
            }
        };
        return PartitionBound::Range {
            from: bound(from),
            to: bound(to),
        };
    }
    if let Some(list) = text.strip_prefix("FOR VALUES IN ") {
        return PartitionBound::List(literals(&inside(list).unwrap_or_default()));
    }
    PartitionBound::Any
}

fn oid_list(tables: &BTreeMap<u32, TableBuild>) -> String {
    if tables.is_empty() {
        return "NULL".into();
    }
    tables
        .keys()
        .map(|o| o.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

async fn read_columns(
    conn: &mut PgConnection,
    tables: &mut BTreeMap<u32, TableBuild>,
    types: &HashMap<u32, TypeInfo>,
) -> Result<()> {
    let sql = format!(
        "SELECT a.attrelid::int8, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text,
                CASE WHEN a.attcollation <> t.typcollation THEN co.collname::text END,
                col_description(a.attrelid, a.attnum),
                -- the type seeding should generate: domains resolved to their base, arrays to elements
                CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END::int8 AS base,
                CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS typmod,
                t.typnotnull,
                -- a domain's CHECKs bind its columns too (seeding reads them as the table's)
                CASE WHEN t.typtype = 'd' THEN (SELECT array_agg(pg_get_constraintdef(c.oid) ORDER BY c.conname)
                  FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c') END,
                -- inheritance (partitions aside: theirs follows from PARTITION OF / ATTACH)
                CASE WHEN NOT (SELECT r.relispartition FROM pg_class r WHERE r.oid = a.attrelid)
                     THEN a.attinhcount ELSE 0 END,
                a.attislocal,
                a.attacl::text,
                CASE WHEN a.attstattarget >= 0 THEN a.attstattarget::text END,
                CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage::text END,
                nullif(a.attcompression::text, '')
         FROM pg_attribute a
         JOIN pg_type t ON t.oid = a.atttypid
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         LEFT JOIN pg_collation co ON co.oid = a.attcollation
         WHERE a.attrelid IN ({}) AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY a.attrelid, a.attnum",
        oid_list(tables)
    );
    let rows = sqlx::query(q(sql))
        .fetch_all(&mut *conn)
        .await
        .context(|| "cannot read columns".into())?;
    let bases: Vec<i64> = rows
        .iter()
        .filter_map(|r| r.try_get::<i64, _>(9).ok())
        .collect();
    let base_types = read_base_types(conn, &bases).await?;
    for row in rows {
        let oid: i64 = row.try_get(0).context(|| "column table oid".into())?;
        let Some(build) = tables.get_mut(&(oid as u32)) else {
            continue;
        };
        let (column, line) = column_of(&row, &base_types, types)?;
        let domain_checks: Option<Vec<String>> =
            row.try_get(12).context(|| "domain checks".into())?;
        for check in domain_checks.unwrap_or_default() {
            build.table.checks.push(replace_value_keyword(
                &check,
                &ident_if_needed(&column.name),
            ));
        }
        build.columns.push((column.name.clone(), line));
        build.table.columns.push(column);
    }
    Ok(())
}

/// A domain CHECK with `VALUE` (outside quotes) replaced by the column.
fn replace_value_keyword(check: &str, column: &str) -> String {
    let mut out = String::with_capacity(check.len());
    let mut quoted = false;
    let chars: Vec<char> = check.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            quoted = !quoted;
        }
        let word_start = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        let is_value = !quoted
            && word_start
            && chars[i..].iter().take(5).collect::<String>() == "VALUE"
            && chars
                .get(i + 5)
                .is_none_or(|n| !(n.is_alphanumeric() || *n == '_'));
        if is_value {
            out.push_str(column);
            i += 5;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// typname and element type of each base type oid.
struct BaseType {
    name: String,
    element: Option<u32>,
}

async fn read_base_types(conn: &mut PgConnection, oids: &[i64]) -> Result<HashMap<u32, BaseType>> {
    let mut all: Vec<i64> = oids.to_vec();
    all.sort_unstable();
    all.dedup();
    let rows = sqlx::query(
        "SELECT t.oid::int8, t.typname::text, nullif(t.typelem, 0)::int8, t.typcategory::text
         FROM pg_type t WHERE t.oid = ANY($1)
         UNION ALL
         SELECT e.oid::int8, e.typname::text, NULL, e.typcategory::text
         FROM pg_type t JOIN pg_type e ON e.oid = t.typelem WHERE t.oid = ANY($1) AND t.typcategory = 'A'",
    )
    .bind(&all)
    .fetch_all(&mut *conn)
    .await
    .context(|| "cannot read column types".into())?;
    let mut map = HashMap::new();
    for row in rows {
        let oid: i64 = row.try_get(0).context(|| "type oid".into())?;
        let category = text(&row, 3)?;
        let element: Option<i64> = row.try_get(2).context(|| "typelem".into())?;
        map.insert(
            oid as u32,
            BaseType {
                name: text(&row, 1)?,
                element: element.filter(|_| category == "A").map(|e| e as u32),
            },
        );
    }
    Ok(map)
}

fn column_kind(
    oid: u32,
    typmod: i32,
    base: &HashMap<u32, BaseType>,
    types: &HashMap<u32, TypeInfo>,
) -> ColumnKind {
    if let Some(info) = types.get(&oid)
        && !info.labels.is_empty()
    {
        return ColumnKind::Enum(info.labels.clone());
    }
    let Some(t) = base.get(&oid) else {
        return ColumnKind::Other(types.get(&oid).map(|i| i.name.clone()).unwrap_or_default());
    };
    if let Some(element) = t.element {
        return ColumnKind::Array(Box::new(column_kind(element, typmod, base, types)));
    }
    let length = (typmod >= 4).then(|| (typmod - 4) as u32);
    match t.name.as_str() {
        "int2" => ColumnKind::Int {
            bytes: 2,
            unsigned: false,
        },
        "int4" => ColumnKind::Int {
            bytes: 4,
            unsigned: false,
        },
        "int8" => ColumnKind::Int {
            bytes: 8,
            unsigned: false,
        },
        "numeric" => match length {
            Some(m) => ColumnKind::Decimal {
                precision: Some((m >> 16) & 0xffff),
                scale: m & 0x7ff,
            },
            None => ColumnKind::Decimal {
                precision: None,
                scale: 2,
            },
        },
        "float4" | "float8" => ColumnKind::Float,
        "bool" => ColumnKind::Bool,
        "text" | "varchar" | "citext" | "name" => ColumnKind::Text {
            max_len: length,
            repertoire: Repertoire::Full,
        },
        "bpchar" => ColumnKind::Char {
            len: length.unwrap_or(1),
            repertoire: Repertoire::Full,
        },
        "date" => ColumnKind::Date,
        "time" | "timetz" => ColumnKind::Time,
        "timestamp" => ColumnKind::Timestamp {
            tz: false,
            fraction: (typmod >= 0).then_some(typmod as u32),
        },
        "timestamptz" => ColumnKind::Timestamp {
            tz: true,
            fraction: (typmod >= 0).then_some(typmod as u32),
        },
        "interval" => ColumnKind::Interval,
        "uuid" => ColumnKind::Uuid,
        "json" | "jsonb" => ColumnKind::Json,
        "bytea" => ColumnKind::Bytes { max_len: None },
        "bit" | "varbit" => ColumnKind::Bit {
            len: typmod.max(1) as u32,
        },
        "inet" | "cidr" => ColumnKind::Inet,
        "macaddr" | "macaddr8" => ColumnKind::MacAddr,
        "money" => ColumnKind::Money,
        other => ColumnKind::Other(other.to_string()),
    }
}

async fn read_constraints(
    conn: &mut PgConnection,
    tables: &mut BTreeMap<u32, TableBuild>,
) -> Result<()> {
    let sql = format!(
        "SELECT con.conrelid::int8, con.conname::text, con.contype::text, pg_get_constraintdef(con.oid, true),
                ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i),
                fn.nspname || '.' || f.relname,
                ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                      JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i),
                obj_description(con.oid, 'pg_constraint'), con.condeferrable
         FROM pg_constraint con
         LEFT JOIN pg_class f ON f.oid = con.confrelid
         LEFT JOIN pg_namespace fn ON fn.oid = f.relnamespace
         WHERE con.conrelid IN ({}) AND con.conparentid = 0",
        oid_list(tables)
    );
    let rows = sqlx::query(q(sql))
        .fetch_all(&mut *conn)
        .await
        .context(|| "cannot read constraints".into())?;
    for row in rows {
        let oid: i64 = row.try_get(0).context(|| "constraint table".into())?;
        let Some(build) = tables.get_mut(&(oid as u32)) else {
            continue;
        };
        let (name, kind, definition) = (text(&row, 1)?, text(&row, 2)?, text(&row, 3)?);
        let columns: Vec<String> = row.try_get(4).context(|| "conkey".into())?;
        let mut line = format!("constraint {} {definition}", ident_if_needed(&name));
        if let Some(c) = comment_line(opt(&row, 7)?) {
            let _ = write!(line, " {c}");
        }
        build.members.push(line);
        match kind.as_str() {
            "p" => build.table.primary_key = columns,
            "u" => build.table.unique_keys.push(columns),
            "c" => build.table.checks.push(definition),
            "f" => build.table.foreign_keys.push(ForeignKey {
                name,
                columns,
                ref_table: opt(&row, 5)?.unwrap_or_default(),
                ref_columns: row.try_get(6).context(|| "confkey".into())?,
                deferrable: row.try_get(8).context(|| "condeferrable".into())?,
            }),
            _ => {}
        }
    }
    Ok(())
}

async fn read_indexes(
    conn: &mut PgConnection,
    tables: &mut BTreeMap<u32, TableBuild>,
    snapshot: &mut SchemaSnapshot,
) -> Result<()> {
    // Indexes of tables and materialized views; those backing constraints are part of the
    // constraint, and partition indexes are clones of their parent's.
    let sql = format!(
        "SELECT i.indrelid::int8, n.nspname::text, ic.relname::text, tc.relname::text,
                pg_get_indexdef(i.indexrelid), i.indisunique,
                i.indexprs IS NULL AND i.indpred IS NULL,
                ARRAY(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
                      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o),
                obj_description(ic.oid, 'pg_class')
         FROM pg_index i
         JOIN pg_class ic ON ic.oid = i.indexrelid
         JOIN pg_class tc ON tc.oid = i.indrelid
         JOIN pg_namespace n ON n.oid = ic.relnamespace
         WHERE {USER_SCHEMA} AND tc.relkind IN ('r', 'p', 'm') AND NOT ic.relispartition
           AND (i.indrelid IN ({}) OR tc.relkind = 'm')
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))",
        oid_list(tables)
    );
    let rows = sqlx::query(q(sql))
        .fetch_all(&mut *conn)
        .await
        .context(|| "cannot read indexes".into())?;
    for row in rows {
        let table_oid: i64 = row.try_get(0).context(|| "index table".into())?;
        let (schema, name, table, definition) = (
            text(&row, 1)?,
            text(&row, 2)?,
            text(&row, 3)?,
            text(&row, 4)?,
        );
        let unique: bool = row.try_get(5).context(|| "indisunique".into())?;
        let plain: bool = row.try_get(6).context(|| "index plain".into())?;
        if unique
            && plain
            && let Some(build) = tables.get_mut(&(table_oid as u32))
        {
            let columns: Vec<String> = row.try_get(7).context(|| "indkey".into())?;
            build.table.unique_keys.push(columns);
        }
        let mut out = format!("index {schema}.{name}\n  {definition}\n");
        if let Some(c) = comment_line(opt(&row, 8)?) {
            let _ = writeln!(out, "  {c}");
        }
        snapshot.objects.insert(
            format!("6 index {schema}.{name}"),
            SchemaObject {
                kind: "index".into(),
                reference: format!("{schema}.{name}"),
                table: Some(table),
                text: out,
            },
        );
    }
    Ok(())
}

async fn read_triggers_policies_rules(
    conn: &mut PgConnection,
    tables: &mut BTreeMap<u32, TableBuild>,
) -> Result<()> {
    let sql = format!(
        "SELECT t.tgrelid::int8, 'trigger ' || quote_ident(t.tgname) || ' ' || pg_get_triggerdef(t.oid, true)
                || CASE t.tgenabled WHEN 'D' THEN ' (disabled)' WHEN 'R' THEN ' (replica)' WHEN 'A' THEN ' (always)' ELSE '' END
         FROM pg_trigger t WHERE t.tgrelid IN ({oids}) AND NOT t.tgisinternal AND t.tgparentid = 0
         UNION ALL
         SELECT p.polrelid::int8, 'policy ' || quote_ident(p.polname) || ' ' ||
                CASE WHEN p.polpermissive THEN 'permissive' ELSE 'restrictive' END ||
                ' for ' || CASE p.polcmd WHEN 'r' THEN 'select' WHEN 'a' THEN 'insert' WHEN 'w' THEN 'update'
                                         WHEN 'd' THEN 'delete' ELSE 'all' END ||
                ' to ' || (SELECT string_agg(CASE WHEN r = 0 THEN 'public' ELSE r::regrole::text END, ', ' ORDER BY 1)
                           FROM unnest(p.polroles) r) ||
                coalesce(' using (' || pg_get_expr(p.polqual, p.polrelid) || ')', '') ||
                coalesce(' with check (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')', '')
         FROM pg_policy p WHERE p.polrelid IN ({oids})
         UNION ALL
         SELECT r.ev_class::int8, 'rule ' || quote_ident(r.rulename) || ' ' || pg_get_ruledef(r.oid, true)
         FROM pg_rewrite r WHERE r.ev_class IN ({oids}) AND r.rulename <> '_RETURN'
         UNION ALL
         SELECT s.stxrelid::int8, 'statistics ' || quote_ident(s.stxname) || ' ' || pg_get_statisticsobjdef(s.oid)
         FROM pg_statistic_ext s WHERE s.stxrelid IN ({oids})",
        oids = oid_list(tables)
    );
    let rows = sqlx::query(q(sql))
        .fetch_all(&mut *conn)
        .await
        .context(|| "cannot read triggers, policies and rules".into())?;
    for row in rows {
        let oid: i64 = row.try_get(0).context(|| "member table".into())?;
        if let Some(build) = tables.get_mut(&(oid as u32)) {
            build.members.push(text(&row, 1)?);
        }
    }
    Ok(())
}

async fn read_views(conn: &mut PgConnection, snapshot: &mut SchemaSnapshot) -> Result<()> {
    let sql = format!(
        "SELECT n.nspname::text, c.relname::text, c.relkind::text, pg_get_viewdef(c.oid, true),
                array_to_string(c.reloptions, ', '), obj_description(c.oid, 'pg_class'), c.relacl::text,
                (SELECT string_agg('trigger ' || quote_ident(t.tgname) || ' ' || pg_get_triggerdef(t.oid, true), E'\\n  ' ORDER BY t.tgname)
                   FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal)
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('v', 'm') AND {USER_SCHEMA} AND {}",
        not_extension_member("pg_class", "c.oid")
    );
    let rows = sqlx::query(q(sql))
        .fetch_all(&mut *conn)
        .await
        .context(|| "cannot read views".into())?;
    for row in rows {
        let (schema, name, kind) = (text(&row, 0)?, text(&row, 1)?, text(&row, 2)?);
        let label = if kind == "m" {
            "materialized view"
        } else {
            "view"
        };
        let mut out = format!("{label} {schema}.{name}\n");
        if let Some(options) = opt(&row, 4)?.filter(|o| !o.is_empty()) {
            let _ = writeln!(out, "  with ({options})");
        }
        for line in opt(&row, 3)?.unwrap_or_default().lines() {
            let _ = writeln!(out, "  {}", line.trim_end());
        }
        if let Some(c) = comment_line(opt(&row, 5)?) {
            let _ = writeln!(out, "  {c}");
        }
        if let Some(acl) = opt(&row, 6)? {
            let _ = writeln!(out, "  acl {acl}");
        }
        if let Some(triggers) = opt(&row, 7)? {
            let _ = writeln!(out, "  {triggers}");
        }
        snapshot.objects.insert(
            format!("7 view {schema}.{name}"),
            SchemaObject {
                kind: label.into(),
                reference: format!("{schema}.{name}"),
                table: None,
                text: out,
            },
        );
    }
    Ok(())
}

async fn read_sequences(
    conn: &mut PgConnection,
    snapshot: &mut SchemaSnapshot,
    hidden: &[String],
) -> Result<()> {
    // Identity sequences are part of their column; current values are data, not schema.
    let sql = format!(
        "SELECT n.nspname::text, c.relname::text, format_type(s.seqtypid, NULL),
                s.seqstart::text, s.seqincrement::text, s.seqmin::text, s.seqmax::text, s.seqcache::text, s.seqcycle,
                (SELECT tn.nspname || '.' || t.relname || '.' || a.attname
                   FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
                   JOIN pg_namespace tn ON tn.oid = t.relnamespace
                   JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'a'
                    AND d.refclassid = 'pg_class'::regclass LIMIT 1),
                obj_description(c.oid, 'pg_class'), c.relacl::text
         FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE {USER_SCHEMA} AND {}
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                           AND d.objid = c.oid AND d.deptype = 'i')
           AND NOT EXISTS (SELECT 1 FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
                           WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                             AND d.deptype = 'a' AND NOT ({}))",
        not_extension_member("pg_class", "c.oid"),
        not_hidden("t.relname", hidden)
    );
    let rows = sqlx::query(q(sql))
        .fetch_all(&mut *conn)
        .await
        .context(|| "cannot read sequences".into())?;
    for row in rows {
        let (schema, name) = (text(&row, 0)?, text(&row, 1)?);
        let cycle: bool = row.try_get(8).context(|| "seqcycle".into())?;
        let mut out = format!(
            "sequence {schema}.{name} as {} start {} increment {} min {} max {} cache {}{}\n",
            text(&row, 2)?,
            text(&row, 3)?,
            text(&row, 4)?,
            text(&row, 5)?,
            text(&row, 6)?,
            text(&row, 7)?,
            if cycle { " cycle" } else { "" }
        );
        if let Some(owner) = opt(&row, 9)? {
            let _ = writeln!(out, "  owned by {owner}");
        }
        if let Some(c) = comment_line(opt(&row, 10)?) {
            let _ = writeln!(out, "  {c}");
        }
        if let Some(acl) = opt(&row, 11)? {
            let _ = writeln!(out, "  acl {acl}");
        }
        snapshot.objects.insert(
            format!("4 sequence {schema}.{name}"),
            SchemaObject {
                kind: "sequence".into(),
                reference: format!("{schema}.{name}"),
                table: None,
                text: out,
            },
        );
    }
    Ok(())
}

/// Objects of the database as a whole: publications (with their tables), event triggers and
/// default privileges, each one object; `(kind, name, text)` rows.
async fn read_database_objects(
    conn: &mut PgConnection,
    snapshot: &mut SchemaSnapshot,
) -> Result<()> {
    let sql = format!(
        "SELECT 'publication', p.pubname::text,
                'publication ' || quote_ident(p.pubname) || CASE WHEN p.puballtables THEN ' for all tables' ELSE '' END
                || ' publish' || CASE WHEN p.pubinsert THEN ' insert' ELSE '' END || CASE WHEN p.pubupdate THEN ' update' ELSE '' END
                || CASE WHEN p.pubdelete THEN ' delete' ELSE '' END || CASE WHEN p.pubtruncate THEN ' truncate' ELSE '' END
                || CASE WHEN p.pubviaroot THEN ' via root' ELSE '' END
                || coalesce((SELECT string_agg(E'\n  table ' || pt.schemaname || '.' || pt.tablename, '' ORDER BY 1)
                             FROM pg_publication_tables pt WHERE pt.pubname = p.pubname AND NOT p.puballtables), '')
         FROM pg_publication p
         UNION ALL
         SELECT 'event trigger', e.evtname::text,
                'event trigger ' || quote_ident(e.evtname) || ' on ' || e.evtevent
                || coalesce(' when tag in (' || array_to_string(e.evttags, ', ') || ')', '')
                || ' execute ' || e.evtfoid::regproc::text
                || CASE e.evtenabled WHEN 'D' THEN ' (disabled)' WHEN 'R' THEN ' (replica)' WHEN 'A' THEN ' (always)' ELSE '' END
         FROM pg_event_trigger e WHERE {}
         UNION ALL
         SELECT 'default privileges', pg_get_userbyid(d.defaclrole) || coalesce(' in ' || n.nspname, '') || ' on '
                || CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions'
                                        WHEN 'T' THEN 'types' ELSE 'schemas' END,
                'default privileges for ' || pg_get_userbyid(d.defaclrole) || coalesce(' in schema ' || n.nspname, '')
                || ' on ' || CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions'
                                                  WHEN 'T' THEN 'types' ELSE 'schemas' END
                || ' ' || d.defaclacl::text
         FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace",
        not_extension_member("pg_event_trigger", "e.oid")
    );
    let rows = sqlx::query(q(sql))
        .fetch_all(&mut *conn)
        .await
        .context(|| "cannot read publications, event triggers and default privileges".into())?;
    for row in rows {
        let (kind, name, body) = (text(&row, 0)?, text(&row, 1)?, text(&row, 2)?);
        let reference = format!("{}:{name}", kind.replace(' ', "_"));
        snapshot.objects.insert(
            format!("9 {kind} {name}"),
            SchemaObject {
                kind,
                reference,
                table: None,
                text: format!("{body}\n"),
            },
        );
    }
    Ok(())
}

async fn read_functions(conn: &mut PgConnection, snapshot: &mut SchemaSnapshot) -> Result<()> {
    let sql = format!(
        "SELECT n.nspname::text, p.proname::text, pg_get_function_identity_arguments(p.oid), p.prokind::text,
                CASE WHEN p.prokind = 'a' THEN
                  (SELECT 'aggregate with state ' || format_type(a.aggtranstype, NULL) || ' step ' || a.aggtransfn::text
                          || coalesce(' final ' || nullif(a.aggfinalfn::oid, 0)::regproc::text, '')
                          || coalesce(' initial ' || a.agginitval, '')
                     FROM pg_aggregate a WHERE a.aggfnoid = p.oid)
                ELSE pg_get_functiondef(p.oid) END,
                obj_description(p.oid, 'pg_proc'), p.proacl::text
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE {USER_SCHEMA} AND {}",
        not_extension_member("pg_proc", "p.oid")
    );
    let rows = sqlx::query(q(sql))
        .fetch_all(&mut *conn)
        .await
        .context(|| "cannot read functions".into())?;
    for row in rows {
        let (schema, name, args, kind) = (
            text(&row, 0)?,
            text(&row, 1)?,
            text(&row, 2)?,
            text(&row, 3)?,
        );
        let label = match kind.as_str() {
            "p" => "procedure",
            "a" => "aggregate",
            _ => "function",
        };
        let signature = format!("{schema}.{name}({args})");
        let mut out = format!("{label} {signature}\n");
        for line in opt(&row, 4)?.unwrap_or_default().lines() {
            let _ = writeln!(out, "  {}", line.trim_end());
        }
        if let Some(c) = comment_line(opt(&row, 5)?) {
            let _ = writeln!(out, "  {c}");
        }
        if let Some(acl) = opt(&row, 6)? {
            let _ = writeln!(out, "  acl {acl}");
        }
        snapshot.objects.insert(
            format!("8 {label} {signature}"),
            SchemaObject {
                kind: label.into(),
                reference: signature,
                table: None,
                text: out,
            },
        );
    }
    Ok(())
}
