//! Where each `AUTO_INCREMENT` counter (`information_schema.TABLES.AUTO_INCREMENT`) and each
//! MariaDB `SEQUENCE` filling a column's default (`nextval(`db`.`seq`)`) stands, with the highest
//! value in use in the columns they fill.
//!
//! InnoDB never sets a counter below `max(column) + 1` (`ALTER TABLE … AUTO_INCREMENT = 1`
//! lands past the highest id, as on MyISAM and Aria, and the counter persists across restarts
//! since MariaDB 10.2.4); on MariaDB 10.11 an `UPDATE` that moves ids past it moves it too. A sequence's position is its
//! `next_not_cached_value`: the value the next call hands out once its cache is used up (or
//! after a restart), which is where a sequence dropped and created again starts.

use sqlx::mysql::MySqlConnection;

use super::copy::query_rows;
use crate::Result;
use crate::data::{SequencePosition, SequenceUser};
use crate::schema::SchemaSnapshot;
use crate::sql::mysql::{ident, table_ref};

/// Counters and sequences filling integer columns of `schema`'s tables.
pub async fn positions(
    conn: &mut MySqlConnection,
    schema: &SchemaSnapshot,
) -> Result<Vec<SequencePosition>> {
    let mut out = Vec::new();
    let counters = query_rows(
        conn,
        "SELECT CAST(t.TABLE_SCHEMA AS CHAR), CAST(t.TABLE_NAME AS CHAR), CAST(c.COLUMN_NAME AS CHAR),
                CAST(t.AUTO_INCREMENT AS CHAR), CAST(@@auto_increment_increment AS CHAR)
         FROM information_schema.TABLES t
         JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = t.TABLE_SCHEMA
              AND c.TABLE_NAME = t.TABLE_NAME AND c.EXTRA LIKE '%auto_increment%'
         WHERE t.TABLE_SCHEMA = DATABASE() AND t.AUTO_INCREMENT IS NOT NULL
         ORDER BY 1, 2",
    )
    .await?;
    for row in counters {
        let [
            Some(db),
            Some(table),
            Some(column),
            Some(next),
            Some(increment),
        ] = &row[..]
        else {
            continue;
        };
        let qualified = format!("{db}.{table}");
        let (Ok(next), Ok(increment)) = (next.parse::<i128>(), increment.parse::<i128>()) else {
            continue;
        };
        if let Some(user) = user(conn, schema, &qualified, column, increment).await? {
            out.push(SequencePosition {
                sequence: format!("auto_increment:{qualified}"),
                next,
                increment,
                users: vec![user],
            });
        }
    }
    let defaults = query_rows(
        conn,
        "SELECT CAST(TABLE_SCHEMA AS CHAR), CAST(TABLE_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR),
                CAST(COLUMN_DEFAULT AS CHAR)
         FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_DEFAULT LIKE '%nextval(%'
           AND DATA_TYPE IN ('tinyint', 'smallint', 'mediumint', 'int', 'bigint', 'decimal')
         ORDER BY 1, 2, 3",
    )
    .await?;
    for row in defaults {
        let [Some(db), Some(table), Some(column), Some(default)] = &row[..] else {
            continue;
        };
        let Some((seq_db, seq)) = called_sequence(default, db) else {
            continue;
        };
        let sequence = format!("{seq_db}.{seq}");
        let at = query_rows(
            conn,
            &format!(
                "SELECT CAST(next_not_cached_value AS CHAR), CAST(increment AS CHAR) FROM {}.{}",
                ident(&seq_db),
                ident(&seq)
            ),
        )
        .await?;
        let Some([Some(next), Some(increment)]) = at.first().map(|r| &r[..]) else {
            continue;
        };
        let (Ok(next), Ok(increment)) = (next.parse::<i128>(), increment.parse::<i128>()) else {
            continue;
        };
        let qualified = format!("{db}.{table}");
        let Some(user) = user(conn, schema, &qualified, column, increment).await? else {
            continue;
        };
        match out
            .iter_mut()
            .find(|p: &&mut SequencePosition| p.sequence == sequence)
        {
            Some(position) => position.users.push(user),
            None => out.push(SequencePosition {
                sequence,
                next,
                increment,
                users: vec![user],
            }),
        }
    }
    Ok(out)
}

/// The highest (lowest, for a descending sequence) value in `table.column`, when the table is
/// one of `schema`'s.
async fn user(
    conn: &mut MySqlConnection,
    schema: &SchemaSnapshot,
    qualified: &str,
    column: &str,
    increment: i128,
) -> Result<Option<SequenceUser>> {
    let Some(table) = schema.tables.get(qualified) else {
        return Ok(None);
    };
    let extreme = if increment >= 0 { "MAX" } else { "MIN" };
    let sql = format!(
        "SELECT CAST({extreme}({}) AS CHAR) FROM {}",
        ident(column),
        table_ref(table)
    );
    let rows = query_rows(conn, &sql).await?;
    let value = rows.first().and_then(|r| r.first().cloned().flatten());
    Ok(Some(SequenceUser {
        table: qualified.to_string(),
        column: column.to_string(),
        extreme: value.and_then(|v| v.parse::<i128>().ok()),
    }))
}

/// The sequence a default calls: `nextval(`shop`.`ids`)` → (`shop`, `ids`); an unqualified
/// name is in `db`.
fn called_sequence(default: &str, db: &str) -> Option<(String, String)> {
    let start = default.find("nextval(")? + "nextval(".len();
    let inner = &default[start..];
    let inner = &inner[..inner.find(')')?];
    let parts: Vec<String> = inner
        .split('.')
        .map(|p| p.trim().trim_matches('`').replace("``", "`"))
        .collect();
    match parts.as_slice() {
        [name] => Some((db.to_string(), name.clone())),
        [schema, name] => Some((schema.clone(), name.clone())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_a_default_calls() {
        assert_eq!(
            called_sequence("nextval(`shop`.`ids`)", "x"),
            Some(("shop".into(), "ids".into()))
        );
        assert_eq!(
            called_sequence("nextval(`ids`)", "x"),
            Some(("x".into(), "ids".into()))
        );
        assert_eq!(called_sequence("0", "x"), None);
    }
}
