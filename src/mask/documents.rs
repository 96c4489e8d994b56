//! Masking documents (MongoDB): the rules file's sections name a collection and a field path
//! (`[users.email]`, `[users."profile.phone"]`, `[orders."*.address"]`); arrays are
//! transparent as in MongoDB's dot notation (`users.emails` masks every element), `*` stands
//! for any one field name, and a rule on a sub-document masks every value inside it. Values
//! go through the same keyed transformers as SQL columns, by their BSON type, so the same
//! value comes out the same wherever the same transformer meets it. A value that a masked
//! `_id` holds is masked the same way where another document refers to it (an ObjectId
//! anywhere; a string or number in a field named like a reference: `user_id`, `authorIds`), so
//! joins across collections still match.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, DateTime, Document};

use super::detect::{self, Dictionary, Evidence, PiiKind};
use super::key::MaskKey;
use super::rules::{Rules, Transform};
use super::transform::{ColumnMask, Uniqueness};
use crate::schema::{Column, ColumnKind, Repertoire};
use crate::seed::ColumnRules;
use crate::seed::values::Hint;
use crate::{Error, Result};

/// One rule: a collection and a field path (`*` any one field).
#[derive(Debug, Clone, PartialEq)]
pub struct PathRule {
    pub collection: String,
    pub path: Vec<String>,
    pub transform: Transform,
    pub line: usize,
}

impl PathRule {
    /// `profile.email` — as the report and messages show it.
    pub fn shown(&self) -> String {
        self.path.join(".")
    }

    fn matches(&self, path: &[&str]) -> bool {
        self.path.len() == path.len() && self.path.iter().zip(path).all(|(r, p)| r == "*" || r == p)
    }
}

/// The rules of `rules` for documents: each section's table and column joined, split at the
/// longest collection name it starts with (`db.` in front is allowed).
pub fn path_rules(rules: &Rules, collections: &[String]) -> Result<Vec<PathRule>> {
    let mut out = Vec::new();
    for (table, columns) in &rules.tables {
        for (column, rule) in columns {
            let full = format!("{table}.{column}");
            let full = full.strip_prefix("db.").unwrap_or(&full);
            let collection = collections
                .iter()
                .filter(|c| full.starts_with(&format!("{c}.")))
                .max_by_key(|c| c.len());
            let error = |message: String| match &rules.path {
                Some(path) => Error::InputAt {
                    path: path.clone(),
                    line: rule.line,
                    message,
                },
                None => Error::input(message),
            };
            let Some(collection) = collection else {
                return Err(error(format!(
                    "no collection for the rule [{full}] in the source database"
                )));
            };
            if matches!(rule.transform, Transform::Template(_) | Transform::Shuffle) {
                return Err(error(format!(
                    "[{full}]: `{}` is for table columns; documents take the other transformers",
                    rule.transform.describe()
                )));
            }
            let path: Vec<String> = full[collection.len() + 1..]
                .split('.')
                .map(str::to_string)
                .collect();
            if path.iter().any(String::is_empty) {
                return Err(error(format!("[{full}]: an empty part in the field path")));
            }
            out.push(PathRule {
                collection: collection.clone(),
                path,
                transform: rule.transform.clone(),
                line: rule.line,
            });
        }
    }
    Ok(out)
}

/// What a value is, for the transformer: the column kind it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Shape {
    Text,
    Int32,
    Int64,
    Double,
}

impl Shape {
    fn kind(self) -> ColumnKind {
        match self {
            Shape::Text => ColumnKind::Text {
                max_len: None,
                repertoire: Repertoire::Full,
            },
            Shape::Int32 => ColumnKind::Int {
                bytes: 4,
                unsigned: false,
            },
            Shape::Int64 => ColumnKind::Int {
                bytes: 8,
                unsigned: false,
            },
            Shape::Double => ColumnKind::Float,
        }
    }
}

/// A field name that refers to another document: `user_id`, `userId`, `author_ids`, `ref`.
fn names_a_reference(field: &str) -> bool {
    let lower = field.to_ascii_lowercase();
    lower == "_id"
        || lower.ends_with("_id")
        || lower.ends_with("_ids")
        || lower.ends_with("_ref")
        || field.ends_with("Id")
        || field.ends_with("Ids")
        || field.ends_with("ID")
        || lower == "ref"
}

/// An `_id` (or reference) as a key of the followed values.
fn id_key(value: &Bson) -> Option<String> {
    match value {
        Bson::ObjectId(o) => Some(format!("o{}", o.to_hex())),
        Bson::String(s) => Some(format!("s{s}")),
        Bson::Int32(n) => Some(format!("i{n}")),
        Bson::Int64(n) => Some(format!("i{n}")),
        _ => None,
    }
}

/// Masks documents collection by collection with the rules; keeps what the report shows.
pub struct DocumentMasker<'a> {
    key: &'a MaskKey,
    rules: Vec<PathRule>,
    /// Masks by (rule, leaf field name, shape).
    masks: HashMap<(usize, String, Shape), ColumnMask>,
    /// Original `_id`s of collections whose `_id` is masked, with that rule.
    ids: HashMap<String, usize>,
    /// Known values of masked fields, for `scrub`.
    dictionary: Option<Arc<Dictionary>>,
    /// Masked `_id`s stay unique.
    uniqueness: Uniqueness,
    /// Values masked per (collection, rule path).
    pub masked: BTreeMap<(String, String), u64>,
    /// Values masked as references to a masked `_id`, per (collection, field path).
    pub followed: BTreeMap<(String, String), u64>,
}

impl<'a> DocumentMasker<'a> {
    pub fn new(key: &'a MaskKey, rules: Vec<PathRule>) -> DocumentMasker<'a> {
        DocumentMasker {
            key,
            rules,
            masks: HashMap::new(),
            ids: HashMap::new(),
            uniqueness: Uniqueness::default(),
            dictionary: None,
            masked: BTreeMap::new(),
            followed: BTreeMap::new(),
        }
    }

    pub fn rules(&self) -> &[PathRule] {
        &self.rules
    }

    /// Whether `collection` has its `_id` masked (its ids are read first with [`Self::add_ids`]).
    pub fn masks_ids(&self, collection: &str) -> bool {
        self.id_rule(collection).is_some()
    }

    fn id_rule(&self, collection: &str) -> Option<usize> {
        self.rules
            .iter()
            .position(|r| r.collection == collection && r.path == ["_id"])
    }

    /// Notes the `_id`s of `collection` (whose `_id` is masked), so that references follow.
    pub fn add_ids(&mut self, collection: &str, documents: &[Document]) {
        let Some(rule) = self.id_rule(collection) else {
            return;
        };
        let path = ["_id".to_string()];
        for d in documents {
            let Some(id) = d.get("_id") else { continue };
            if let Some(k) = id_key(id) {
                self.ids.insert(k, rule);
                // Claimed now, in the source's order, so that the copy and every reference
                // get the same resolved value.
                self.leaf(rule, "_id", &path, id);
            }
        }
    }

    /// Whether any rule scrubs free text (then known values are collected first).
    pub fn scrubs(&self) -> bool {
        self.rules.iter().any(|r| r.transform == Transform::Scrub)
    }

    /// Adds the masked strings of `documents` (fields of rules that are not `scrub`) to the
    /// dictionary of `scrub`.
    pub fn learn(&mut self, collection: &str, documents: &[Document], into: &mut Dictionary) {
        for d in documents {
            let mut copy = d.clone();
            let mut pairs = Vec::new();
            self.walk_document(collection, &mut copy, &mut Vec::new(), None, &mut pairs);
            for (original, masked) in pairs {
                into.add(&original, &masked);
            }
        }
    }

    /// From now on `scrub` replaces the dictionary's values.
    pub fn set_dictionary(&mut self, dictionary: Dictionary) {
        self.dictionary = Some(Arc::new(dictionary));
        self.masks.clear();
    }

    /// Masks one document of `collection` in place.
    pub fn mask(&mut self, collection: &str, document: &mut Document) {
        let mut pairs = Vec::new();
        self.walk_document(collection, document, &mut Vec::new(), None, &mut pairs);
    }

    fn walk_document(
        &mut self,
        collection: &str,
        document: &mut Document,
        path: &mut Vec<String>,
        under: Option<usize>,
        pairs: &mut Vec<(String, String)>,
    ) {
        for (field, value) in document.iter_mut() {
            path.push(field.clone());
            self.walk_value(collection, value, path, under, pairs);
            path.pop();
        }
    }

    fn walk_value(
        &mut self,
        collection: &str,
        value: &mut Bson,
        path: &mut Vec<String>,
        under: Option<usize>,
        pairs: &mut Vec<(String, String)>,
    ) {
        let rule = under.or_else(|| {
            let parts: Vec<&str> = path.iter().map(String::as_str).collect();
            self.rules
                .iter()
                .position(|r| r.collection == collection && r.matches(&parts))
        });
        match value {
            Bson::Document(d) => self.walk_document(collection, d, path, rule, pairs),
            Bson::Array(items) => {
                for item in items {
                    self.walk_value(collection, item, path, rule, pairs);
                }
            }
            _ => {
                let leaf = path.last().cloned().unwrap_or_default();
                let shown = path.join(".");
                if let Some(rule) = rule {
                    let masked = self.leaf(rule, &leaf, path, value);
                    if let (Bson::String(from), Bson::String(to)) = (&*value, &masked)
                        && self.rules[rule].transform != Transform::Scrub
                    {
                        pairs.push((from.clone(), to.clone()));
                    }
                    let key = (collection.to_string(), self.rules[rule].shown());
                    *self.masked.entry(key).or_default() += 1;
                    *value = masked;
                    return;
                }
                let follows = match value {
                    Bson::ObjectId(_) => true,
                    Bson::String(_) | Bson::Int32(_) | Bson::Int64(_) => {
                        names_a_reference(&leaf) || names_a_reference(&shown)
                    }
                    _ => false,
                };
                if !follows || self.ids.is_empty() {
                    return;
                }
                if let Some(rule) = id_key(value).and_then(|k| self.ids.get(&k).copied()) {
                    let masked = self.leaf(rule, "_id", path, value);
                    *self
                        .followed
                        .entry((collection.to_string(), shown))
                        .or_default() += 1;
                    *value = masked;
                }
            }
        }
    }

    /// The column mask of `rule` for a value of `shape` in a field called `leaf`.
    fn column_mask(&mut self, rule: usize, leaf: &str, parent: &str, shape: Shape) -> &ColumnMask {
        let transform = &self.rules[rule].transform;
        let dictionary = self.dictionary.clone();
        self.masks
            .entry((rule, leaf.to_string(), shape))
            .or_insert_with(|| {
                let column = Column {
                    name: leaf.to_string(),
                    data_type: format!("{shape:?}").to_lowercase(),
                    kind: shape.kind(),
                    nullable: true,
                    has_default: false,
                    server_filled: false,
                    generated: false,
                    auto_updated: false,
                };
                // What does not fit the value's type is hashed: never copied as it is.
                let transform = if super::transform::validate(&column, transform).is_ok() {
                    transform.clone()
                } else {
                    Transform::Hash
                };
                let mut rules = ColumnRules::default();
                if let Transform::Fake { locale, .. } = &transform {
                    rules.locale = *locale;
                }
                ColumnMask {
                    domain: transform.domain(),
                    hint: Hint::for_column(parent, leaf),
                    transform,
                    rules,
                    column,
                    unique: false,
                    max_len: None,
                    dictionary,
                }
            })
    }

    /// The masked value of one leaf.
    fn leaf(&mut self, rule: usize, leaf: &str, path: &[String], value: &Bson) -> Bson {
        let transform = self.rules[rule].transform.clone();
        match (&transform, value) {
            (Transform::Keep, v) => return v.clone(),
            (Transform::Null, _) => return Bson::Null,
            (Transform::Constant(c), _) => return Bson::String(c.clone()),
            _ => {}
        }
        let parent = path
            .len()
            .checked_sub(2)
            .map_or(self.rules[rule].collection.as_str(), |i| path[i].as_str())
            .to_string();
        let key = self.key;
        // An `_id` keeps its uniqueness (a collision takes the next keyed alternative), and a
        // reference to it gets the same answer.
        let ids = self.rules[rule].path == ["_id"];
        let claim = ids && path.len() == 1;
        let mut text = |shape: Shape, original: &str| -> Option<String> {
            let mask = self.column_mask(rule, leaf, &parent, shape);
            if !ids {
                return mask.apply(key, original, 0);
            }
            let mask = mask.clone();
            self.uniqueness
                .apply(&mask, key, original, claim)
                .unwrap_or_else(|_| mask.apply(key, original, 0))
        };
        match value {
            Bson::String(s) => text(Shape::Text, s).map_or(Bson::Null, Bson::String),
            Bson::Int32(n) => text(Shape::Int32, &n.to_string())
                .and_then(|t| t.parse::<i32>().ok())
                .map_or(Bson::Null, Bson::Int32),
            Bson::Int64(n) => text(Shape::Int64, &n.to_string())
                .and_then(|t| t.parse::<i64>().ok())
                .map_or(Bson::Null, Bson::Int64),
            Bson::Double(x) => text(Shape::Double, &x.to_string())
                .and_then(|t| t.parse::<f64>().ok())
                .map_or(Bson::Null, Bson::Double),
            Bson::ObjectId(o) => {
                let digest = key.digest(&transform.domain(), &o.bytes());
                let mut bytes = [0u8; 12];
                bytes.copy_from_slice(&digest[..12]);
                Bson::ObjectId(ObjectId::from_bytes(bytes))
            }
            Bson::DateTime(at) => {
                // Moved by whole days (at most the rule's `days`, else five years), never 0.
                let most = match transform {
                    Transform::Noise { days: Some(d), .. } => d.max(1),
                    _ => 1825,
                };
                let n = key.number(&transform.domain(), &at.timestamp_millis().to_le_bytes());
                let days = 1 + (n >> 1) as i64 % most;
                let days = if n & 1 == 0 { days } else { -days };
                Bson::DateTime(DateTime::from_millis(
                    at.timestamp_millis().saturating_add(days * 86_400_000),
                ))
            }
            Bson::Boolean(_) | Bson::Null | Bson::Undefined | Bson::MinKey | Bson::MaxKey => {
                value.clone()
            }
            // Binary data, regular expressions, code, decimals, timestamps: nothing of them
            // is kept.
            _ => Bson::Null,
        }
    }
}

/// One sampled field: its path, leaf name, parent (collection or sub-document) and values.
#[derive(Debug, Default)]
struct Field {
    strings: Vec<String>,
    dates: usize,
    numbers: usize,
    ids: usize,
}

fn sample_fields(
    document: &Document,
    path: &mut Vec<String>,
    fields: &mut BTreeMap<Vec<String>, Field>,
) {
    for (name, value) in document {
        path.push(name.clone());
        sample_value(value, path, fields);
        path.pop();
    }
}

fn sample_value(value: &Bson, path: &mut Vec<String>, fields: &mut BTreeMap<Vec<String>, Field>) {
    match value {
        Bson::Document(d) => sample_fields(d, path, fields),
        Bson::Array(items) => items.iter().for_each(|i| sample_value(i, path, fields)),
        Bson::String(s) => fields
            .entry(path.clone())
            .or_default()
            .strings
            .push(s.clone()),
        Bson::DateTime(_) => fields.entry(path.clone()).or_default().dates += 1,
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) => {
            fields.entry(path.clone()).or_default().numbers += 1;
        }
        Bson::ObjectId(_) => fields.entry(path.clone()).or_default().ids += 1,
        _ => {}
    }
}

/// Judges every field path of a collection's sampled documents: by its name (its parent's
/// name telling whose `name` it is) and by its string values. Keys: field paths.
pub fn detect(collection: &str, documents: &[Document]) -> BTreeMap<String, Evidence> {
    let mut fields = BTreeMap::new();
    for d in documents {
        sample_fields(d, &mut Vec::new(), &mut fields);
    }
    let mut found = BTreeMap::new();
    for (path, field) in &fields {
        let leaf = path.last().map(String::as_str).unwrap_or_default();
        if leaf == "_id" && path.len() == 1 {
            continue;
        }
        let parent = path
            .len()
            .checked_sub(2)
            .map_or(collection, |i| path[i].as_str());
        let kind = if field.dates > field.strings.len() {
            ColumnKind::Timestamp {
                tz: true,
                fraction: Some(3),
            }
        } else if field.numbers > field.strings.len() {
            ColumnKind::Int {
                bytes: 8,
                unsigned: false,
            }
        } else if field.ids > field.strings.len() {
            ColumnKind::Uuid
        } else {
            Shape::Text.kind()
        };
        let column = Column {
            name: leaf.to_string(),
            data_type: String::new(),
            kind,
            nullable: true,
            has_default: false,
            server_filled: false,
            generated: false,
            auto_updated: false,
        };
        let samples: Vec<&str> = field.strings.iter().map(String::as_str).collect();
        if let Some(evidence) = detect::detect(parent, &column, &samples) {
            found.insert(path.join("."), evidence);
        }
    }
    found
}

/// Sampled string values of the fields already found personal (not free text), to find free
/// text that mentions them.
pub fn known_values(
    documents: &[Document],
    evidence: &BTreeMap<String, Evidence>,
    into: &mut BTreeMap<String, PiiKind>,
) {
    let mut fields = BTreeMap::new();
    for d in documents {
        sample_fields(d, &mut Vec::new(), &mut fields);
    }
    for (path, field) in fields {
        let Some(e) = evidence.get(&path.join(".")) else {
            continue;
        };
        if !super::names_people(e.kind) {
            continue;
        }
        for s in field.strings {
            into.entry(s).or_insert(e.kind);
        }
    }
}

/// Fields of text not found personal so far whose sampled values mention values of personal
/// fields (names, emails, ids), as free text.
pub fn detect_mentions(
    documents: &[Document],
    known: &Dictionary,
    kinds: &BTreeMap<String, PiiKind>,
    evidence: &mut BTreeMap<String, Evidence>,
) {
    let mut fields = BTreeMap::new();
    for d in documents {
        sample_fields(d, &mut Vec::new(), &mut fields);
    }
    for (path, field) in fields {
        let shown = path.join(".");
        if evidence.contains_key(&shown) || field.strings.is_empty() {
            continue;
        }
        let samples: Vec<&str> = field.strings.iter().map(String::as_str).collect();
        if let Some(e) = super::mentions(&samples, known, kinds) {
            evidence.insert(shown, e);
        }
    }
}

/// The rule file lines a kind of field gets when detected, for documents (by BSON type the
/// masker adapts: text transformers on numbers hash them).
pub fn suggestion(kind: PiiKind) -> &'static str {
    super::suggestion(kind).1
}

/// Which of `fields` (paths found personal) no rule of `collection` covers.
pub fn uncovered<'b>(
    rules: &[PathRule],
    collection: &str,
    evidence: &'b BTreeMap<String, Evidence>,
) -> Vec<(&'b String, &'b Evidence)> {
    evidence
        .iter()
        .filter(|(path, _)| {
            let parts: Vec<&str> = path.split('.').collect();
            // A rule on the path or on a sub-document above it covers it.
            !(1..=parts.len()).any(|n| {
                rules
                    .iter()
                    .any(|r| r.collection == collection && r.matches(&parts[..n]))
            })
        })
        .collect()
}
