//! Where each sequence stands (its own `last_value` and `is_called`) and the highest value in use in each column it
//! fills: columns it is owned by (serial, identity) and columns whose default calls it
//! (`pg_depend` from the default's `pg_attrdef`).

use sqlx::Row;
use sqlx::postgres::PgConnection;

use crate::Result;
use crate::data::{SequencePosition, SequenceUser};
use crate::error::Context;
use crate::schema::SchemaSnapshot;
use crate::sql::pg::{ident, table_ref};

/// Every sequence that fills an integer column of a table in `schema`.
pub async fn positions(
    conn: &mut PgConnection,
    schema: &SchemaSnapshot,
) -> Result<Vec<SequencePosition>> {
    let rows = sqlx::query(
        "WITH users AS (
            SELECT d.objid AS seq, d.refobjid AS rel, d.refobjsubid AS att
            FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
            WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
              AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
            UNION
            SELECT d.refobjid, ad.adrelid, ad.adnum
            FROM pg_depend d JOIN pg_attrdef ad ON ad.oid = d.objid
            JOIN pg_class s ON s.oid = d.refobjid AND s.relkind = 'S'
            WHERE d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass)
         SELECT sn.nspname::text || '.' || s.relname::text, sn.nspname::text,
                ps.seqincrement::text, tn.nspname::text, t.relname::text, a.attname::text,
                s.relname::text
         FROM users u
         JOIN pg_class s ON s.oid = u.seq JOIN pg_namespace sn ON sn.oid = s.relnamespace
         JOIN pg_sequence ps ON ps.seqrelid = s.oid
         JOIN pg_class t ON t.oid = u.rel JOIN pg_namespace tn ON tn.oid = t.relnamespace
         JOIN pg_attribute a ON a.attrelid = u.rel AND a.attnum = u.att AND NOT a.attisdropped
         JOIN pg_type ty ON ty.oid = a.atttypid
         WHERE (CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.oid END)
               IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype)
         ORDER BY 1, 4, 5, 6",
    )
    .fetch_all(&mut *conn)
    .await
    .context(|| "cannot read sequence positions".into())?;
    let mut out: Vec<SequencePosition> = Vec::new();
    for row in rows {
        let get = |i: usize| -> Result<String> {
            row.try_get::<String, _>(i)
                .context(|| format!("unexpected sequence value in column {i}"))
        };
        let (sequence, increment) = (get(0)?, get(2)?);
        let (schema_name, table, column) = (get(3)?, get(4)?, get(5)?);
        let Some(table) = schema.tables.get(&format!("{schema_name}.{table}")) else {
            continue;
        };
        let Ok(increment) = increment.parse::<i128>() else {
            continue;
        };
        let next = match out.last() {
            Some(last) if last.sequence == sequence => last.next,
            _ => match next_value(conn, (&get(1)?, &get(6)?), increment).await? {
                Some(next) => next,
                None => continue,
            },
        };
        // The highest value in use, or the lowest for a descending sequence; partitions and
        // inheritance children are read through their parent too.
        let extreme = if increment >= 0 { "max" } else { "min" };
        let sql = format!(
            "SELECT {extreme}({})::text FROM {}",
            ident(&column),
            table_ref(table)
        );
        let value: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut *conn)
            .await
            .context(|| format!("cannot read the values of {}.{column}", table.qualified()))?;
        let user = SequenceUser {
            table: table.qualified(),
            column,
            extreme: value.and_then(|v| v.parse::<i128>().ok()),
        };
        match out.last_mut() {
            Some(last) if last.sequence == sequence => last.users.push(user),
            _ => out.push(SequencePosition {
                sequence,
                next,
                increment,
                users: vec![user],
            }),
        }
    }
    Ok(out)
}

/// The value `nextval` hands out next: `last_value` plus the increment once it was called,
/// `last_value` itself after `setval(…, false)` or `RESTART` (where `pg_sequences` says NULL).
async fn next_value(
    conn: &mut PgConnection,
    (schema, name): (&str, &str),
    increment: i128,
) -> Result<Option<i128>> {
    let sql = format!(
        "SELECT last_value::text, is_called FROM {}.{}",
        ident(schema),
        ident(name)
    );
    let (last, called): (String, bool) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_one(&mut *conn)
        .await
        .context(|| format!("cannot read the position of sequence {schema}.{name}"))?;
    Ok(last
        .parse::<i128>()
        .ok()
        .map(|last| if called { last + increment } else { last }))
}
