//! Documents from a `$jsonSchema` (types, required fields, enums, bounds, lengths, nested
//! objects and arrays), else from a generic shape. Values reuse the SQL seeder's generators
//! (names, emails, cities by field name), so documents look like production's. Deterministic
//! per `--seed`.

use fake::rand::rngs::StdRng;
use fake::rand::{RngExt, SeedableRng};
use mongodb::bson::{Bson, DateTime, Document, oid::ObjectId};

use crate::schema::{Column, ColumnKind, Repertoire};
use crate::seed::values::{self, Hint, Request};
use crate::seed::{ColumnRules, stable_hash};

/// `count` documents for a collection shaped by `schema` (a `$jsonSchema`), or generic ones,
/// generated as they are consumed (memory stays flat in `count`).
pub fn documents(
    collection: &str,
    schema: Option<&Document>,
    count: usize,
    seed: u64,
) -> impl Iterator<Item = Document> + Send + use<> {
    let schema = schema.cloned().unwrap_or_else(generic_schema);
    let mut rng = StdRng::seed_from_u64(seed ^ stable_hash(collection.as_bytes()));
    (0..count).map(move |row| {
        let doc = object(&schema, row, &mut rng, 0);
        if !doc.contains_key("_id") {
            let mut bytes = [0u8; 12];
            rng.fill(&mut bytes[..]);
            // `_id` first, as the server would put it.
            let mut ordered = Document::new();
            ordered.insert("_id", ObjectId::from_bytes(bytes));
            ordered.extend(doc);
            return ordered;
        }
        doc
    })
}

/// The shape of collections without a validator: a little of everything a real collection has.
fn generic_schema() -> Document {
    mongodb::bson::doc! {
        "bsonType": "object",
        "required": ["name", "email", "age", "active", "created_at"],
        "properties": {
            "name": {"bsonType": "string"},
            "email": {"bsonType": "string"},
            "age": {"bsonType": "int", "minimum": 18, "maximum": 90},
            "active": {"bsonType": "bool"},
            "created_at": {"bsonType": "date"},
            "tags": {"bsonType": "array", "items": {"bsonType": "string", "enum": ["new", "vip", "trial", "churned"]}},
            "address": {"bsonType": "object", "required": ["city"], "properties": {
                "city": {"bsonType": "string"}, "zip": {"bsonType": "string"}}},
        }
    }
}

fn object(schema: &Document, row: usize, rng: &mut StdRng, depth: usize) -> Document {
    let mut doc = Document::new();
    let required: Vec<&str> = schema
        .get_array("required")
        .map(|r| r.iter().filter_map(Bson::as_str).collect())
        .unwrap_or_default();
    let Ok(properties) = schema.get_document("properties") else {
        return doc;
    };
    for (name, property) in properties {
        let Some(property) = property.as_document() else {
            continue;
        };
        if !required.contains(&name.as_str()) && rng.random_range(0..100) >= 85 {
            continue;
        }
        doc.insert(name.clone(), value(name, property, row, rng, depth));
    }
    doc
}

/// The BSON types a schema node allows (`bsonType`, else JSON Schema's `type`).
fn types(schema: &Document) -> Vec<String> {
    let read = |key: &str| match schema.get(key) {
        Some(Bson::String(s)) => vec![s.clone()],
        Some(Bson::Array(a)) => a
            .iter()
            .filter_map(Bson::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    let mut out = read("bsonType");
    if out.is_empty() {
        out = read("type")
            .into_iter()
            .map(|t| match t.as_str() {
                "integer" => "int".to_string(),
                "boolean" => "bool".to_string(),
                "number" => "double".to_string(),
                _ => t,
            })
            .collect();
    }
    out
}

fn value(name: &str, schema: &Document, row: usize, rng: &mut StdRng, depth: usize) -> Bson {
    if let Ok(allowed) = schema.get_array("enum")
        && !allowed.is_empty()
    {
        return allowed[rng.random_range(0..allowed.len())].clone();
    }
    let allowed = types(schema);
    let non_null: Vec<&String> = allowed.iter().filter(|t| *t != "null").collect();
    if non_null.is_empty() && !allowed.is_empty() {
        return Bson::Null;
    }
    if allowed.iter().any(|t| t == "null") && rng.random_range(0..100) < 10 {
        return Bson::Null;
    }
    let kind = non_null
        .get(rng.random_range(0..non_null.len().max(1)))
        .map(|s| s.as_str())
        .unwrap_or(if schema.contains_key("properties") {
            "object"
        } else {
            "string"
        });
    let number = |key: &str| {
        schema.get(key).and_then(|b| match b {
            Bson::Int32(i) => Some(f64::from(*i)),
            Bson::Int64(i) => Some(*i as f64),
            Bson::Double(d) => Some(*d),
            _ => None,
        })
    };
    let (min, max) = (number("minimum"), number("maximum"));
    match kind {
        "int" | "long" => {
            let lo = min.map_or(0, |m| m.ceil() as i64);
            let hi = max.map_or(lo.max(0) + 1000, |m| m.floor() as i64).max(lo);
            let v = rng.random_range(lo..=hi);
            if kind == "int" {
                Bson::Int32(v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
            } else {
                Bson::Int64(v)
            }
        }
        "double" | "decimal" | "number" => {
            let lo = min.unwrap_or(0.0);
            let hi = max.unwrap_or(lo + 1000.0).max(lo);
            Bson::Double(((lo + rng.random::<f64>() * (hi - lo)) * 100.0).round() / 100.0)
        }
        "bool" => Bson::Boolean(rng.random()),
        "date" => Bson::DateTime(DateTime::from_millis(
            1_577_836_800_000 + rng.random_range(0..157_680_000_000i64),
        )),
        "objectId" => {
            let mut bytes = [0u8; 12];
            rng.fill(&mut bytes[..]);
            Bson::ObjectId(ObjectId::from_bytes(bytes))
        }
        "object" if depth < 4 => Bson::Document(object(schema, row, rng, depth + 1)),
        "array" if depth < 4 => {
            let lo = number("minItems").map_or(0, |n| n as usize);
            let hi = number("maxItems").map_or(lo.max(3), |n| n as usize).max(lo);
            let items = schema.get_document("items").cloned().unwrap_or_default();
            let n = rng.random_range(lo..=hi);
            Bson::Array(
                (0..n)
                    .map(|_| value(name, &items, row, rng, depth + 1))
                    .collect(),
            )
        }
        _ => Bson::String(text(name, schema, row, rng)),
    }
}

fn text(name: &str, schema: &Document, row: usize, rng: &mut StdRng) -> String {
    let len = |key: &str| {
        schema.get(key).and_then(|b| match b {
            Bson::Int32(i) => Some(*i as usize),
            Bson::Int64(i) => Some(*i as usize),
            Bson::Double(d) => Some(*d as usize),
            _ => None,
        })
    };
    let (min_len, max_len) = (len("minLength"), len("maxLength"));
    let column = Column {
        name: name.to_string(),
        data_type: "string".into(),
        kind: ColumnKind::Text {
            max_len: max_len.map(|m| m as u32),
            repertoire: Repertoire::Full,
        },
        nullable: false,
        has_default: false,
        server_filled: false,
        generated: false,
        auto_updated: false,
    };
    let rules = ColumnRules {
        min_len,
        max_len,
        ..ColumnRules::default()
    };
    let unique = Hint::of(name) == Hint::Email;
    values::value(
        &Request {
            column: &column,
            hint: Hint::of(name),
            rules: &rules,
            row,
            unique,
            edge: false,
        },
        rng,
    )
    .unwrap_or_else(|| format!("{name}-{row}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_follow_the_schema_and_the_seed() {
        let schema = mongodb::bson::doc! {
            "bsonType": "object",
            "required": ["email", "score", "kind", "address"],
            "properties": {
                "email": {"bsonType": "string"},
                "score": {"bsonType": "int", "minimum": 5, "maximum": 9},
                "kind": {"enum": ["a", "b"]},
                "address": {"bsonType": "object", "required": ["city"],
                            "properties": {"city": {"bsonType": "string", "maxLength": 12}}},
                "tags": {"bsonType": "array", "minItems": 1, "maxItems": 2,
                         "items": {"bsonType": "string"}},
            }
        };
        let docs: Vec<Document> = documents("users", Some(&schema), 300, 7).collect();
        assert_eq!(docs.len(), 300);
        for doc in &docs {
            assert!(matches!(doc.get("_id"), Some(Bson::ObjectId(_))));
            assert!(doc.get_str("email").unwrap().contains('@'));
            assert!((5..=9).contains(&doc.get_i32("score").unwrap()));
            assert!(["a", "b"].contains(&doc.get_str("kind").unwrap()));
            let city = doc
                .get_document("address")
                .unwrap()
                .get_str("city")
                .unwrap();
            assert!(city.chars().count() <= 12, "{city}");
            if let Ok(tags) = doc.get_array("tags") {
                assert!((1..=2).contains(&tags.len()));
            }
        }
        let emails: std::collections::HashSet<&str> =
            docs.iter().map(|d| d.get_str("email").unwrap()).collect();
        assert_eq!(emails.len(), 300, "emails are unique");
        let again: Vec<Document> = documents("users", Some(&schema), 300, 7).collect();
        assert_eq!(docs, again, "same seed, same documents");
        let other: Vec<Document> = documents("users", Some(&schema), 300, 8).collect();
        assert_ne!(docs, other);
    }
}
