//! The schema of a MongoDB database as driftless compares it: collections and views with their
//! options, indexes, and the inferred document shape of every collection (each field path with
//! its BSON types and how many documents have it).

use std::collections::{BTreeMap, BTreeSet};

use futures_util::TryStreamExt;
use mongodb::Database;
use mongodb::bson::{Bson, Document, RawBsonRef, RawDocument, RawDocumentBuf, doc};

use crate::Result;
use crate::error::Context;
use crate::schema::{Column, ColumnKind, SchemaObject, SchemaSnapshot, Table};

/// The schema name tables of this engine carry: findings read `db.users`, as in the shell.
pub const SCHEMA: &str = "db";

/// One collection or view as `listCollections` describes it.
#[derive(Debug, Clone)]
pub struct CollectionInfo {
    pub name: String,
    /// `collection`, `view` or `timeseries`.
    pub kind: String,
    pub options: Document,
}

pub async fn collections(db: &Database) -> Result<Vec<CollectionInfo>> {
    let cursor = db
        .run_cursor_command(doc! {"listCollections": 1})
        .await
        .context(|| "cannot list collections".to_string())?;
    let docs: Vec<Document> = cursor
        .try_collect()
        .await
        .context(|| "cannot list collections".to_string())?;
    let mut out: Vec<CollectionInfo> = docs
        .into_iter()
        .filter_map(|d| {
            let name = d.get_str("name").ok()?.to_string();
            // Server collections are not the user's.
            if name.starts_with("system.") {
                return None;
            }
            Some(CollectionInfo {
                name,
                kind: d.get_str("type").unwrap_or("collection").to_string(),
                options: d.get_document("options").cloned().unwrap_or_default(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Introspects collections, indexes and shapes (shapes from at most `sample` documents each);
/// also returns the shapes of non-empty collections as `$jsonSchema`s, for seeding them
/// should they be empty later.
pub async fn snapshot(
    db: &Database,
    sample: usize,
    hidden: &[String],
) -> Result<(SchemaSnapshot, Vec<(String, serde_json::Value)>)> {
    let mut snapshot = SchemaSnapshot::default();
    let mut seen = Vec::new();
    let mut infos = collections(db).await?;
    // The migration tool's history (golang-migrate's `schema_migrations`), like the SQL
    // engines' tracking tables.
    infos.retain(|info| !hidden.iter().any(|h| h.eq_ignore_ascii_case(&info.name)));
    for info in infos {
        let qualified = format!("{SCHEMA}.{}", info.name);
        let is_view = info.kind == "view";
        snapshot.objects.insert(
            format!(
                "{} {qualified}",
                if is_view { "view" } else { "collection" }
            ),
            SchemaObject {
                kind: if is_view { "view" } else { "collection" }.into(),
                reference: qualified.clone(),
                table: Some(info.name.clone()),
                text: collection_text(&info, &qualified),
            },
        );
        if is_view {
            continue;
        }
        for index in indexes(db, &info.name).await? {
            let name = index.get_str("name").unwrap_or("?").to_string();
            if name == "_id_" {
                continue;
            }
            snapshot.objects.insert(
                format!("index {qualified}.{name}"),
                SchemaObject {
                    kind: "index".into(),
                    reference: format!("{qualified}.{name}"),
                    table: Some(info.name.clone()),
                    text: index_text(&index, &qualified),
                },
            );
        }
        let shape = shape(db, &info.name, sample).await?;
        snapshot.objects.insert(
            format!("shape {qualified}"),
            SchemaObject {
                kind: "document shape of".into(),
                reference: qualified.clone(),
                table: Some(info.name.clone()),
                text: shape.text(&qualified),
            },
        );
        snapshot.tables.insert(qualified, shape.table(&info.name));
        if shape.documents > 0 {
            seen.push((info.name.clone(), shape.json_schema()));
        }
    }
    Ok((snapshot, seen))
}

pub async fn indexes(db: &Database, collection: &str) -> Result<Vec<Document>> {
    let cursor = db
        .run_cursor_command(doc! {"listIndexes": collection})
        .await
        .context(|| format!("cannot list the indexes of {collection}"))?;
    let mut list: Vec<Document> = cursor
        .try_collect()
        .await
        .context(|| format!("cannot list the indexes of {collection}"))?;
    list.sort_by(|a, b| a.get_str("name").ok().cmp(&b.get_str("name").ok()));
    Ok(list)
}

fn collection_text(info: &CollectionInfo, qualified: &str) -> String {
    let mut out = format!(
        "{} {qualified}\n",
        if info.kind == "view" {
            "view"
        } else {
            "collection"
        }
    );
    if info.kind == "timeseries" {
        out.push_str("  time-series\n");
    }
    let mut keys: Vec<&String> = info.options.keys().collect();
    keys.sort();
    for key in keys {
        // Identity and defaults every server fills in differently.
        if matches!(key.as_str(), "uuid" | "idIndex") {
            continue;
        }
        out.push_str(&format!(
            "  {key}: {}\n",
            canonical(&info.options[key.as_str()])
        ));
    }
    out
}

fn index_text(index: &Document, qualified: &str) -> String {
    let name = index.get_str("name").unwrap_or("?");
    let keys = index
        .get_document("key")
        .map(|k| {
            k.iter()
                .map(|(field, order)| format!("{field}: {}", canonical(order)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let mut out = format!("index {name} on {qualified} ({keys})");
    for flag in ["unique", "sparse", "hidden"] {
        if index.get_bool(flag).unwrap_or(false) {
            out.push(' ');
            out.push_str(flag);
        }
    }
    let mut rest: Vec<(&String, &Bson)> = index
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "v" | "key" | "name" | "ns" | "unique" | "sparse" | "hidden"
            )
        })
        .collect();
    rest.sort_by(|a, b| a.0.cmp(b.0));
    for (key, value) in rest {
        let key = match key.as_str() {
            "expireAfterSeconds" => "ttl_seconds",
            "partialFilterExpression" => "partial",
            other => other,
        };
        out.push_str(&format!(" {key}={}", canonical(value)));
    }
    out.push('\n');
    out
}

/// Relaxed Extended JSON with object keys sorted: equal for equal meaning wherever key order
/// does not matter (validators, options). Numbers keep their type apart (`1` vs `1.0`).
pub fn canonical(value: &Bson) -> String {
    fn sort(value: serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let sorted: BTreeMap<String, serde_json::Value> =
                    map.into_iter().map(|(k, v)| (k, sort(v))).collect();
                serde_json::Value::Object(sorted.into_iter().collect())
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.into_iter().map(sort).collect())
            }
            other => other,
        }
    }
    match value {
        Bson::Double(d) if d.fract() == 0.0 && d.is_finite() => format!("{d:.1}"),
        other => sort(other.clone().into_relaxed_extjson()).to_string(),
    }
}

/// BSON type names as `$type` and `bsonType` spell them.
pub fn type_name(value: &RawBsonRef<'_>) -> &'static str {
    match value {
        RawBsonRef::Double(_) => "double",
        RawBsonRef::String(_) => "string",
        RawBsonRef::Document(_) => "object",
        RawBsonRef::Array(_) => "array",
        RawBsonRef::Binary(_) => "binData",
        RawBsonRef::Undefined => "undefined",
        RawBsonRef::ObjectId(_) => "objectId",
        RawBsonRef::Boolean(_) => "bool",
        RawBsonRef::DateTime(_) => "date",
        RawBsonRef::Null => "null",
        RawBsonRef::RegularExpression(_) => "regex",
        RawBsonRef::DbPointer(_) => "dbPointer",
        RawBsonRef::JavaScriptCode(_) => "javascript",
        RawBsonRef::Symbol(_) => "symbol",
        RawBsonRef::JavaScriptCodeWithScope(_) => "javascriptWithScope",
        RawBsonRef::Int32(_) => "int",
        RawBsonRef::Timestamp(_) => "timestamp",
        RawBsonRef::Int64(_) => "long",
        RawBsonRef::Decimal128(_) => "decimal",
        RawBsonRef::MaxKey => "maxKey",
        RawBsonRef::MinKey => "minKey",
    }
}

/// Field paths of a collection's documents: types seen and documents having the path.
#[derive(Debug, Default)]
pub struct Shape {
    pub documents: u64,
    pub paths: BTreeMap<String, (BTreeSet<&'static str>, u64)>,
    /// Top-level fields in the order first seen.
    pub top: Vec<String>,
}

impl Shape {
    pub fn add(&mut self, doc: &RawDocument) {
        self.documents += 1;
        let mut seen = BTreeSet::new();
        self.walk(doc, "", &mut seen, true);
    }

    fn walk(&mut self, doc: &RawDocument, prefix: &str, seen: &mut BTreeSet<String>, top: bool) {
        for (key, value) in doc.iter().flatten() {
            let path = if prefix.is_empty() {
                key.to_string()
            } else {
                format!("{prefix}.{key}")
            };
            if top && !self.paths.contains_key(&path) {
                self.top.push(path.clone());
            }
            self.record(&path, &value, seen);
        }
    }

    fn record(&mut self, path: &str, value: &RawBsonRef<'_>, seen: &mut BTreeSet<String>) {
        let entry = self.paths.entry(path.to_string()).or_default();
        entry.0.insert(type_name(value));
        if seen.insert(path.to_string()) {
            entry.1 += 1;
        }
        match value {
            RawBsonRef::Document(inner) => self.walk(inner, path, seen, false),
            RawBsonRef::Array(items) => {
                let element = format!("{path}[]");
                for item in items.into_iter().flatten() {
                    self.record(&element, &item, seen);
                }
            }
            _ => {}
        }
    }

    /// The shape as a `$jsonSchema` (types per path, fields every document has required), the
    /// way seeding reads validators. `_id` is left to seeding (fresh ObjectIds).
    pub fn json_schema(&self) -> serde_json::Value {
        use serde_json::{Map, Value, json};
        fn node<'a>(root: &'a mut Value, segments: &[&str]) -> &'a mut Value {
            let mut at = root;
            for segment in segments {
                let (name, array) = match segment.strip_suffix("[]") {
                    Some(name) => (name, true),
                    None => (*segment, false),
                };
                let object = at.as_object_mut().expect("schema nodes are objects");
                let properties = object
                    .entry("properties")
                    .or_insert_with(|| Value::Object(Map::new()));
                at = properties
                    .as_object_mut()
                    .expect("properties is an object")
                    .entry(name.to_string())
                    .or_insert_with(|| json!({}));
                if array {
                    at = at
                        .as_object_mut()
                        .expect("schema nodes are objects")
                        .entry("items")
                        .or_insert_with(|| json!({}));
                }
            }
            at
        }
        let mut root = json!({"bsonType": "object"});
        for (path, (types, count)) in &self.paths {
            if path == "_id" || path.starts_with("_id.") || path.starts_with("_id[]") {
                continue;
            }
            let segments: Vec<&str> = path.split('.').collect();
            let types: Vec<&str> = types.iter().copied().collect();
            let leaf = node(&mut root, &segments);
            leaf["bsonType"] = if types.len() == 1 {
                json!(types[0])
            } else {
                json!(types)
            };
            // Required where every document (or every parent that has it) has the field.
            let parent_count = match path.rsplit_once('.') {
                Some((parent, _)) => self.paths.get(parent).map_or(0, |p| p.1),
                None => self.documents,
            };
            let last = *segments.last().unwrap_or(&"");
            if *count == parent_count && !last.ends_with("[]") {
                let parent = node(&mut root, &segments[..segments.len() - 1]);
                let required = parent
                    .as_object_mut()
                    .expect("schema nodes are objects")
                    .entry("required")
                    .or_insert_with(|| json!([]));
                if let Some(list) = required.as_array_mut() {
                    list.push(json!(last));
                }
            }
        }
        root
    }

    /// `shape db.users` lines: `  email: string (100%)`.
    pub fn text(&self, qualified: &str) -> String {
        let mut out = format!("document shape of {qualified}\n");
        for (path, (types, count)) in &self.paths {
            let types: Vec<&str> = types.iter().copied().collect();
            let share = if self.documents == 0 {
                0
            } else {
                ((*count as f64 / self.documents as f64) * 100.0).round() as u64
            };
            out.push_str(&format!("  {path}: {} ({share}%)\n", types.join("|")));
        }
        out
    }

    /// The collection as a table: top-level fields as columns (`_id` first, then by name,
    /// since documents keep no fixed field order).
    pub fn table(&self, collection: &str) -> Table {
        let mut names: Vec<&String> = self.top.iter().collect();
        names.sort_by_key(|n| (n.as_str() != "_id", n.to_string()));
        let columns = names
            .into_iter()
            .map(|name| {
                let (types, count) = &self.paths[name];
                let types: Vec<&str> = types.iter().copied().collect();
                Column {
                    name: name.clone(),
                    data_type: types.join("|"),
                    kind: ColumnKind::Other(types.join("|")),
                    nullable: *count < self.documents || types.contains(&"null"),
                    has_default: false,
                    server_filled: name == "_id",
                    generated: false,
                    auto_updated: false,
                }
            })
            .collect();
        Table {
            schema: SCHEMA.into(),
            name: collection.into(),
            columns,
            primary_key: vec!["_id".into()],
            unique_keys: Vec::new(),
            foreign_keys: Vec::new(),
            checks: Vec::new(),
            holds_rows: true,
            seed_directly: true,
            partitioning: None,
        }
    }
}

pub async fn shape(db: &Database, collection: &str, sample: usize) -> Result<Shape> {
    let mut cursor = db
        .collection::<RawDocumentBuf>(collection)
        .find(doc! {})
        .limit(sample as i64)
        .await
        .context(|| format!("cannot read {collection}"))?;
    let mut shape = Shape::default();
    while cursor
        .advance()
        .await
        .context(|| format!("cannot read {collection}"))?
    {
        shape.add(cursor.current());
    }
    Ok(shape)
}
