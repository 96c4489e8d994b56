//! Seeding collections of documents (MongoDB): which shape each empty collection's documents
//! take (its `$jsonSchema` validator, else a shape from `--fixtures` / `--overrides` TOML, else
//! what its documents looked like earlier in the run, else a generic shape), and the three ways
//! they are used: inserted (`check`, `seed`), written as Extended JSON lines (`seed --out`), or
//! explained (`seed --explain`). The engine only lists collections and inserts documents
//! ([`DocumentStore`]).

mod generate;

pub use generate::documents;

use mongodb::bson::{Bson, Document};

use crate::engine::{Collection, DocumentStore, Shapes};
use crate::schema::SchemaSnapshot;
use crate::{Error, Result};

/// Documents per insert while seeding.
const INSERT_BATCH: usize = 1000;

/// Where a collection's seed documents get their shape, and the shape.
fn shape_for(collection: &Collection, shapes: &Shapes) -> (&'static str, Option<Document>) {
    if let Some(validator) = &collection.validator {
        return ("its $jsonSchema validator", Some(validator.clone()));
    }
    let to_doc = |s: &serde_json::Value| mongodb::bson::to_document(s).ok();
    if let Some(shape) = shapes.get(&collection.name).and_then(to_doc) {
        return ("the shape given in TOML", Some(shape));
    }
    if let Some(shape) = collection.seen_shape.as_ref().and_then(to_doc) {
        return ("the shape of its earlier documents", Some(shape));
    }
    ("a generic shape (no validator, no shape given)", None)
}

/// Fills every empty collection of `schema` with `rows(collection)` documents; returns how
/// many went in and how many the server rejected.
pub async fn seed_collections(
    store: &mut dyn DocumentStore,
    schema: &SchemaSnapshot,
    rows: &(dyn Fn(String) -> usize + Sync),
    seed: u64,
    shapes: &Shapes,
) -> Result<(u64, u64)> {
    let (mut inserted, mut rejected) = (0u64, 0u64);
    for collection in store.collections(schema).await? {
        let count = rows(collection.name.clone());
        if !collection.empty || count == 0 {
            continue;
        }
        let (_, shape) = shape_for(&collection, shapes);
        let mut docs = documents(&collection.name, shape.as_ref(), count, seed);
        loop {
            let batch: Vec<Document> = docs.by_ref().take(INSERT_BATCH).collect();
            if batch.is_empty() {
                break;
            }
            let (done, refused) = store.insert_documents(&collection.name, batch).await?;
            inserted += done;
            rejected += refused;
        }
    }
    Ok((inserted, rejected))
}

/// The documents [`seed_collections`] would insert into every collection, handed to `sink` one
/// at a time as canonical Extended JSON (`seed --out`): `(collection, None)` starts a
/// collection, `(collection, Some(line))` is one document.
pub async fn generate(
    store: &mut dyn DocumentStore,
    schema: &SchemaSnapshot,
    rows: &(dyn Fn(String) -> usize + Sync),
    seed: u64,
    shapes: &Shapes,
    sink: &mut (dyn FnMut(String, Option<String>) -> Result<()> + Send),
) -> Result<()> {
    for collection in store.collections(schema).await? {
        let (_, shape) = shape_for(&collection, shapes);
        sink(collection.name.clone(), None)?;
        let count = rows(collection.name.clone());
        for doc in documents(&collection.name, shape.as_ref(), count, seed) {
            let line = Bson::Document(doc).into_canonical_extjson().to_string();
            sink(collection.name.clone(), Some(line))?;
        }
    }
    Ok(())
}

/// What [`seed_collections`] would generate, per collection, for `seed --explain`.
pub async fn explain(
    store: &mut dyn DocumentStore,
    schema: &SchemaSnapshot,
    shapes: &Shapes,
) -> Result<String> {
    let mut out = String::new();
    for collection in store.collections(schema).await? {
        let (from, shape) = shape_for(&collection, shapes);
        let shape = shape.map_or_else(
            || "(a generic user-like shape)".to_string(),
            |s| {
                serde_json::to_string_pretty(&Bson::Document(s).into_relaxed_extjson())
                    .unwrap_or_default()
            },
        );
        out.push_str(&format!(
            "db.{}: documents from {from}\n{shape}\n\n",
            collection.name
        ));
    }
    Ok(out)
}

/// Reads seed shapes: every `*.toml` in `dir`, each top-level table a collection written like
/// a `$jsonSchema` (`required`, `properties.<field>.bsonType`, `enum`, `minimum`, …).
pub fn load_shapes(dir: &std::path::Path) -> Result<Shapes> {
    let mut out = Shapes::new();
    let mut paths: Vec<std::path::PathBuf> = if dir.is_file() {
        vec![dir.to_path_buf()]
    } else {
        std::fs::read_dir(dir)
            .map_err(|source| Error::Read {
                path: dir.to_path_buf(),
                source,
            })?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect()
    };
    paths.sort();
    for path in paths {
        let text = crate::migrations::read_text(&path)?;
        let shown = crate::migrations::display_path(&path);
        let table: toml::Table = toml::from_str(&text).map_err(|e| Error::InputAt {
            path: shown.clone(),
            line: e
                .span()
                .map_or(1, |span| text[..span.start].matches('\n').count() + 1),
            message: e.message().to_string(),
        })?;
        for (collection, shape) in table {
            let value = serde_json::to_value(&shape)
                .map_err(|e| Error::input(format!("{}: {e}", shown.display())))?;
            if !value.is_object() {
                return Err(Error::input(format!(
                    "{}: `{collection}` must be a table (a collection's shape)",
                    shown.display()
                )));
            }
            out.insert(collection, value);
        }
    }
    Ok(out)
}
