//! Order-independent fingerprints of collections, keyed by `_id`, and the drill-down to the
//! documents and field paths that changed.
//!
//! MongoDB's aggregation language has no hash operator (FerretDB neither), so documents are
//! streamed raw (no decoding into maps) and hashed here: per top-level field, the sum of
//! hash(_id, BSON type, value bytes). An int32 that became a double, or a field under a new
//! name, changes the sums.

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hasher};

use mongodb::Database;
use mongodb::bson::{Bson, RawBsonRef, RawDocument, RawDocumentBuf, doc};

use crate::Result;
use crate::data::{
    ColumnFingerprint, ColumnRowDiff, DataFingerprint, EXAMPLE_CHARS, EXAMPLES, MissingRow,
    RowDiff, Survival, TableFingerprint, ValueChange,
};
use crate::error::Context;
use crate::schema::{SchemaSnapshot, Table};

const SAMPLE_KEYS: usize = 5;

/// Documents of one collection as they were before an up, by `_id` bytes.
pub type Captured = HashMap<Vec<u8>, RawDocumentBuf>;

/// Feeds a value's type and bytes into `h`.
fn hash_value(h: &mut DefaultHasher, value: &RawBsonRef<'_>) {
    h.write_u8(super::schema::type_name(value).as_bytes()[0]);
    h.write(super::schema::type_name(value).as_bytes());
    match value {
        RawBsonRef::Double(d) => h.write_u64(d.to_bits()),
        RawBsonRef::String(s) | RawBsonRef::Symbol(s) | RawBsonRef::JavaScriptCode(s) => {
            h.write(s.as_bytes())
        }
        RawBsonRef::Document(d) => h.write(d.as_bytes()),
        RawBsonRef::Array(a) => h.write(a.as_bytes()),
        RawBsonRef::Binary(b) => {
            h.write_u8(u8::from(b.subtype));
            h.write(b.bytes);
        }
        RawBsonRef::ObjectId(o) => h.write(&o.bytes()),
        RawBsonRef::Boolean(b) => h.write_u8(*b as u8),
        RawBsonRef::DateTime(t) => h.write_i64(t.timestamp_millis()),
        RawBsonRef::Int32(i) => h.write_i32(*i),
        RawBsonRef::Int64(i) => h.write_i64(*i),
        RawBsonRef::Timestamp(t) => {
            h.write_u32(t.time);
            h.write_u32(t.increment);
        }
        RawBsonRef::Decimal128(d) => h.write(&d.bytes()),
        RawBsonRef::RegularExpression(r) => {
            h.write(r.pattern.as_bytes());
            h.write(r.options.as_bytes());
        }
        other => h.write(format!("{other:?}").as_bytes()),
    }
}

/// The `_id` of a document as bytes (type + value), the key of captures.
fn id_bytes(doc: &RawDocument) -> Vec<u8> {
    let mut out = Vec::new();
    if let Ok(Some(id)) = doc.get("_id") {
        out.extend_from_slice(super::schema::type_name(&id).as_bytes());
        out.push(0);
        match id {
            RawBsonRef::ObjectId(o) => out.extend_from_slice(&o.bytes()),
            RawBsonRef::String(s) => out.extend_from_slice(s.as_bytes()),
            RawBsonRef::Int32(i) => out.extend_from_slice(&i.to_le_bytes()),
            RawBsonRef::Int64(i) => out.extend_from_slice(&i.to_le_bytes()),
            other => out.extend_from_slice(format!("{other:?}").as_bytes()),
        }
    }
    out
}

/// `_id=…` for samples.
fn id_text(doc: &RawDocument) -> String {
    match doc.get("_id") {
        Ok(Some(RawBsonRef::ObjectId(o))) => format!("_id={o}"),
        Ok(Some(RawBsonRef::String(s))) => format!("_id={s}"),
        Ok(Some(other)) => match Bson::try_from(other.to_raw_bson()) {
            Ok(b) => format!("_id={}", b.into_relaxed_extjson()),
            Err(_) => "_id=?".into(),
        },
        _ => "_id=?".into(),
    }
}

/// Fingerprints one collection in one pass; with `capture`, keeps its documents.
pub async fn collection(
    db: &Database,
    name: &str,
    capture: bool,
) -> Result<(TableFingerprint, Option<Captured>)> {
    let mut cursor = db
        .collection::<RawDocumentBuf>(name)
        .find(doc! {})
        .batch_size(10_000)
        .await
        .context(|| format!("cannot read {name}"))?;
    let mut rows = 0i64;
    let mut columns: HashMap<String, (i64, u64)> = HashMap::new();
    let mut captured = capture.then(Captured::new);
    while cursor
        .advance()
        .await
        .context(|| format!("cannot read {name}"))?
    {
        let doc = cursor.current();
        rows += 1;
        let id = id_bytes(doc);
        for (key, value) in doc.iter().flatten() {
            let mut h = DefaultHasher::new();
            h.write(&id);
            hash_value(&mut h, &value);
            match columns.get_mut(key) {
                Some(slot) => {
                    slot.0 += 1;
                    slot.1 = slot.1.wrapping_add(h.finish());
                }
                None => {
                    columns.insert(key.to_string(), (1, h.finish()));
                }
            }
        }
        if let Some(captured) = captured.as_mut() {
            captured.insert(id, doc.to_raw_document_buf());
        }
    }
    let fingerprint = TableFingerprint {
        rows,
        row_sum: None,
        columns: columns
            .into_iter()
            .map(|(k, (n, sum))| {
                (
                    k,
                    ColumnFingerprint {
                        non_null: Some(n),
                        sum: format!("{sum:016x}"),
                    },
                )
            })
            .collect(),
    };
    Ok((fingerprint, captured))
}

pub async fn all(
    db: &Database,
    schema: &SchemaSnapshot,
    capture: bool,
    captured: &mut HashMap<String, Captured>,
) -> Result<DataFingerprint> {
    let mut out = DataFingerprint::default();
    for table in schema.data_tables() {
        let (fp, docs) = collection(db, &table.name, capture).await?;
        if let Some(docs) = docs {
            captured.insert(table.qualified(), docs);
        }
        out.tables.insert(table.qualified(), fp);
    }
    Ok(out)
}

/// Compares the documents of `now` with those captured for `before`, down to field paths.
pub async fn row_diff(db: &Database, captured: &Captured, now: &Table) -> Result<RowDiff> {
    let mut cursor = db
        .collection::<RawDocumentBuf>(&now.name)
        .find(doc! {})
        .await
        .context(|| format!("cannot read {}", now.name))?;
    let mut diff = RowDiff {
        keyed: true,
        rows_before: captured.len() as i64,
        ..RowDiff::default()
    };
    let mut seen = std::collections::HashSet::new();
    while cursor
        .advance()
        .await
        .context(|| format!("cannot read {}", now.name))?
    {
        let doc = cursor.current();
        diff.rows_after += 1;
        let id = id_bytes(doc);
        let Some(old) = captured.get(&id) else {
            diff.rows_added += 1;
            continue;
        };
        seen.insert(id);
        let mut changed = Vec::new();
        compare_docs(old, doc, "", &mut changed);
        for path in changed {
            let entry: &mut ColumnRowDiff = diff.columns.entry(path.clone()).or_default();
            entry.changed += 1;
            if entry.sample.len() < SAMPLE_KEYS {
                entry.sample.push(id_text(doc));
            }
            if entry.examples.len() < EXAMPLES {
                entry.examples.push(ValueChange {
                    key: id_text(doc),
                    before: value_at(old, &path),
                    after: value_at(doc, &path),
                });
            }
        }
    }
    let mut missing: Vec<&RawDocumentBuf> = captured
        .iter()
        .filter(|(id, _)| !seen.contains(*id))
        .map(|(_, doc)| doc)
        .collect();
    diff.rows_missing = missing.len() as i64;
    missing.sort_by_cached_key(|doc| id_text(doc));
    diff.missing_sample = missing
        .iter()
        .take(SAMPLE_KEYS)
        .map(|d| id_text(d))
        .collect();
    diff.missing_rows = first_documents(missing);
    Ok(diff)
}

/// The first [`EXAMPLES`] of `docs` (sorted by `_id` text) as rows: key and top-level fields
/// (`_id` among them, as a SQL row shows its key columns).
fn first_documents(docs: Vec<&RawDocumentBuf>) -> Vec<MissingRow> {
    docs.iter()
        .take(EXAMPLES)
        .map(|doc| MissingRow {
            key: id_text(doc),
            values: doc
                .iter()
                .flatten()
                .map(|(field, value)| (field.to_string(), shown(value)))
                .collect(),
        })
        .collect()
}

/// The first captured documents by `_id`, as they were.
pub fn captured_rows(captured: &Captured) -> Vec<MissingRow> {
    let mut docs: Vec<&RawDocumentBuf> = captured.values().collect();
    docs.sort_by_cached_key(|doc| id_text(doc));
    first_documents(docs)
}

/// A value as relaxed extended JSON (a string stays a string, a number a number), text cut
/// to [`EXAMPLE_CHARS`] characters (a long document or array becomes its cut JSON text);
/// null is `None`, like a missing field.
fn shown(value: RawBsonRef<'_>) -> Option<serde_json::Value> {
    let json = match Bson::try_from(value.to_raw_bson()) {
        Ok(Bson::Null) => return None,
        Ok(b) => b.into_relaxed_extjson(),
        Err(_) => serde_json::Value::String(format!("{value:?}")),
    };
    let cut = |text: &str| serde_json::Value::String(text.chars().take(EXAMPLE_CHARS).collect());
    Some(match json {
        serde_json::Value::String(s) => cut(&s),
        other if other.to_string().chars().count() > EXAMPLE_CHARS => cut(&other.to_string()),
        other => other,
    })
}

/// The value at a dotted field path (`address.city`), `None` when there is none.
fn value_at(doc: &RawDocument, path: &str) -> Option<serde_json::Value> {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    match (doc.get(head).ok().flatten()?, rest) {
        (RawBsonRef::Document(inner), Some(rest)) => value_at(inner, rest),
        (_, Some(_)) => None,
        (value, None) => shown(value),
    }
}

/// Field paths whose values differ; descends into documents present on both sides.
fn compare_docs(old: &RawDocument, new: &RawDocument, prefix: &str, out: &mut Vec<String>) {
    let old_fields: BTreeMap<&str, RawBsonRef<'_>> = old.iter().flatten().collect();
    let new_fields: BTreeMap<&str, RawBsonRef<'_>> = new.iter().flatten().collect();
    let path = |key: &str| {
        if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        }
    };
    for (key, a) in &old_fields {
        match new_fields.get(key) {
            Some(RawBsonRef::Document(b)) => {
                if let RawBsonRef::Document(a) = a {
                    compare_docs(a, b, &path(key), out);
                } else {
                    out.push(path(key));
                }
            }
            Some(b) if same(a, b) => {}
            _ => out.push(path(key)),
        }
    }
    for key in new_fields.keys() {
        if !old_fields.contains_key(key) {
            out.push(path(key));
        }
    }
}

fn same(a: &RawBsonRef<'_>, b: &RawBsonRef<'_>) -> bool {
    let mut ha = DefaultHasher::new();
    hash_value(&mut ha, a);
    let mut hb = DefaultHasher::new();
    hash_value(&mut hb, b);
    ha.finish() == hb.finish()
}

/// After the up changed the BSON type of a field: how many captured values come back
/// unchanged when the new values are converted back to the old type.
pub async fn survival(
    db: &Database,
    captured: &Captured,
    before: &Table,
    now: &Table,
    field: &str,
) -> Result<Survival> {
    if before.column(field).is_none() {
        return Ok(Survival::Unknown);
    }
    let mut cursor = db
        .collection::<RawDocumentBuf>(&now.name)
        .find(doc! {})
        .await
        .context(|| format!("cannot read {}", now.name))?;
    let mut lost = 0i64;
    while cursor
        .advance()
        .await
        .context(|| format!("cannot read {}", now.name))?
    {
        let doc = cursor.current();
        let Some(old_doc) = captured.get(&id_bytes(doc)) else {
            continue;
        };
        let Ok(Some(old)) = old_doc.get(field) else {
            continue;
        };
        let new = doc.get(field).ok().flatten();
        if new.as_ref().is_some_and(|v| same(&old, v)) {
            continue;
        }
        let back = new.and_then(|v| convert_back(&v, super::schema::type_name(&old)));
        if back
            .as_ref()
            .is_none_or(|b| !same(&old, &b.as_raw_bson_ref()))
        {
            lost += 1;
        }
    }
    Ok(if lost == 0 {
        Survival::Kept
    } else {
        Survival::Lost(lost)
    })
}

/// `value` converted to the single BSON type `to` (`string`, `int`, `long`, `double`, `bool`),
/// the way `$convert` would; `None` when it cannot be.
fn convert_back(value: &RawBsonRef<'_>, to: &str) -> Option<mongodb::bson::RawBson> {
    use mongodb::bson::RawBson;
    let text = match value {
        RawBsonRef::String(s) => s.to_string(),
        RawBsonRef::Int32(i) => i.to_string(),
        RawBsonRef::Int64(i) => i.to_string(),
        RawBsonRef::Double(d) => d.to_string(),
        RawBsonRef::Boolean(b) => b.to_string(),
        RawBsonRef::Null => return (to == "null").then_some(RawBson::Null),
        _ => return None,
    };
    Some(match to {
        "string" => RawBson::String(text),
        "int" => RawBson::Int32(text.parse().ok()?),
        "long" => RawBson::Int64(text.parse().ok()?),
        "double" => RawBson::Double(text.parse().ok()?),
        "bool" => RawBson::Boolean(text.parse().ok()?),
        _ => return None,
    })
}
