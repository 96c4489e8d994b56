//! Restoring `mongodump` output without `mongorestore` (which cannot be installed everywhere):
//! an `--archive` file (gzipped or not) or a dump directory (`<db>/<collection>.bson` with
//! `.metadata.json`, gzipped or not) goes into the disposable database through the driver.
//!
//! The archive format (mongo-tools' `common/archive/spec.md`): a magic number, a header
//! document, one metadata document per collection, a terminator (`0xFFFFFFFF`), then segments:
//! a namespace header document, the collection's documents, a terminator; a namespace's last
//! header has `EOF: true`. Collections are created with their options first, documents are
//! inserted as raw BSON in batches, indexes are built last (cheaper than maintaining them).
//! A dump holds one database: the disposable database takes its collections.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use mongodb::Database;
use mongodb::bson::{Bson, Document, RawDocumentBuf, doc};

use crate::error::mongo_message;
use crate::migrations::display_path;
use crate::{Error, Result};

/// `0x8199e26d`, little-endian.
const MAGIC: [u8; 4] = [0x6d, 0xe2, 0x99, 0x81];
const GZIP: [u8; 2] = [0x1f, 0x8b];
/// Documents per `insert` command.
const BATCH: usize = 1000;
/// Databases of the server itself, never restored into the disposable one.
const SYSTEM: [&str; 3] = ["admin", "config", "local"];

/// One collection of the dump: its metadata (`options`, `indexes`, `type`) as mongodump wrote it.
#[derive(Debug, Default)]
struct Collection {
    options: Document,
    indexes: Vec<Document>,
    view: bool,
}

/// What was restored, for `--debug`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Restored {
    pub database: String,
    pub collections: usize,
    pub documents: u64,
    /// Options or indexes the server refused (FerretDB lacks some), each with its reason.
    pub skipped: Vec<String>,
}

fn broken(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::infra(format!(
        "cannot restore {}: {why}",
        display_path(path).display()
    ))
}

/// Opens `path`, through gzip when it starts with gzip's magic bytes.
fn open(path: &Path) -> Result<Box<dyn Read + Send>> {
    let mut file = std::fs::File::open(path).map_err(|e| broken(path, e))?;
    let mut head = [0u8; 2];
    let gz = file.read_exact(&mut head).is_ok() && head == GZIP;
    let file = std::fs::File::open(path).map_err(|e| broken(path, e))?;
    Ok(if gz {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(
            BufReader::new(file),
        )))
    } else {
        Box::new(BufReader::new(file))
    })
}

/// The next BSON document, `None` at a terminator or (with `eof_ok`) at the end of input.
fn next(input: &mut dyn Read, path: &Path, eof_ok: bool) -> Result<Option<RawDocumentBuf>> {
    let mut length = [0u8; 4];
    let mut read = 0;
    while read < 4 {
        match input.read(&mut length[read..]) {
            Ok(0) if read == 0 && eof_ok => return Ok(None),
            Ok(0) => return Err(broken(path, "the file is truncated")),
            Ok(n) => read += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(broken(path, e)),
        }
    }
    if length == [0xFF; 4] {
        return Ok(None);
    }
    let size = i32::from_le_bytes(length);
    if !(5..=64 * 1024 * 1024).contains(&size) {
        return Err(broken(path, format!("a document of {size} bytes")));
    }
    let mut bytes = vec![0u8; size as usize];
    bytes[..4].copy_from_slice(&length);
    input
        .read_exact(&mut bytes[4..])
        .map_err(|_| broken(path, "the file is truncated"))?;
    RawDocumentBuf::from_bytes(bytes)
        .map(Some)
        .map_err(|e| broken(path, format!("a malformed BSON document: {e}")))
}

/// Parses a collection's metadata (canonical Extended JSON, as in `.metadata.json`).
fn metadata(text: &str, path: &Path) -> Result<Collection> {
    let value: Document = serde_json::from_str(text)
        .map_err(|e| broken(path, format!("unreadable collection metadata: {e}")))?;
    let options = value.get_document("options").cloned().unwrap_or_default();
    let indexes = value
        .get_array("indexes")
        .map(|list| {
            list.iter()
                .filter_map(|i| i.as_document().cloned())
                .collect()
        })
        .unwrap_or_default();
    let view = value.get_str("type").is_ok_and(|t| t == "view") || options.contains_key("viewOn");
    Ok(Collection {
        options,
        indexes,
        view,
    })
}

/// Restores `path` into `db`.
pub async fn restore(db: &Database, path: &Path) -> Result<Restored> {
    if path.is_dir() {
        restore_directory(db, path).await
    } else {
        restore_archive(db, path).await
    }
}

async fn restore_archive(db: &Database, path: &Path) -> Result<Restored> {
    let mut input = open(path)?;
    let mut magic = [0u8; 4];
    input
        .read_exact(&mut magic)
        .map_err(|_| broken(path, "not a mongodump archive (too short)"))?;
    if magic != MAGIC {
        return Err(broken(
            path,
            "not a mongodump archive (no magic number); pass an `--archive` file or a dump directory",
        ));
    }
    next(&mut input, path, false)?.ok_or_else(|| broken(path, "the archive has no header"))?;
    let mut collections: BTreeMap<(String, String), Collection> = BTreeMap::new();
    while let Some(meta) = next(&mut input, path, false)? {
        let field = |name: &str| {
            meta.get_str(name)
                .map(str::to_string)
                .map_err(|_| broken(path, format!("collection metadata without `{name}`")))
        };
        let key = (field("db")?, field("collection")?);
        collections.insert(key, metadata(&field("metadata")?, path)?);
    }
    let database = only_database(collections.keys().map(|(d, _)| d.as_str()), path)?;
    let mut restored = Restored {
        database: database.clone(),
        ..Restored::default()
    };
    for ((d, name), c) in &collections {
        if *d == database {
            create(db, name, c, &mut restored).await?;
        }
    }
    let mut batches: BTreeMap<String, Vec<RawDocumentBuf>> = BTreeMap::new();
    while let Some(header) = next(&mut input, path, true)? {
        let (Ok(d), Ok(name)) = (header.get_str("db"), header.get_str("collection")) else {
            return Err(broken(path, "a namespace header without db and collection"));
        };
        let (d, name) = (d.to_string(), name.to_string());
        if header.get_bool("EOF").unwrap_or(false) {
            if next(&mut input, path, false)?.is_some() {
                return Err(broken(path, "no terminator after a namespace's end"));
            }
            if d == database
                && let Some(batch) = batches.remove(&name)
            {
                insert(db, &name, batch, &mut restored).await?;
            }
            continue;
        }
        while let Some(document) = next(&mut input, path, false)? {
            if d != database {
                continue;
            }
            let batch = batches.entry(name.clone()).or_default();
            batch.push(document);
            if batch.len() >= BATCH {
                let full = std::mem::take(batch);
                insert(db, &name, full, &mut restored).await?;
            }
        }
    }
    for (name, batch) in batches {
        insert(db, &name, batch, &mut restored).await?;
    }
    for ((d, name), c) in &collections {
        if *d == database {
            indexes(db, name, c, &mut restored).await?;
        }
    }
    Ok(restored)
}

/// The dump's one user database (system databases are left out).
fn only_database<'a>(names: impl Iterator<Item = &'a str>, path: &Path) -> Result<String> {
    let names: BTreeSet<&str> = names.filter(|n| !SYSTEM.contains(n)).collect();
    match names.len() {
        0 => Err(broken(path, "the dump holds no user database")),
        1 => Ok(names.into_iter().next().unwrap_or_default().to_string()),
        _ => Err(broken(
            path,
            format!(
                "the dump holds several databases ({}); dump one with mongodump --db",
                names.into_iter().collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

/// The directory of a directory dump's database: `dir` itself when it holds `.bson` files,
/// else its one user database's subdirectory.
fn database_dir(dir: &Path) -> Result<(String, PathBuf)> {
    let entries = |d: &Path| -> Result<Vec<PathBuf>> {
        let mut out: Vec<PathBuf> = std::fs::read_dir(d)
            .map_err(|e| broken(d, e))?
            .flatten()
            .map(|e| e.path())
            .collect();
        out.sort();
        Ok(out)
    };
    let dumped = |p: &Path| {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        name.ends_with(".bson") || name.ends_with(".bson.gz")
    };
    let here = entries(dir)?;
    if here
        .iter()
        .any(|p| dumped(p) || stem(p, ".metadata.json").is_some())
    {
        let name = dir.file_name().unwrap_or_default().to_string_lossy();
        return Ok((name.into_owned(), dir.to_path_buf()));
    }
    let subdirs: Vec<&PathBuf> = here.iter().filter(|p| p.is_dir()).collect();
    let database = only_database(
        subdirs
            .iter()
            .filter_map(|p| p.file_name().and_then(|n| n.to_str())),
        dir,
    )?;
    Ok((database.clone(), dir.join(database)))
}

/// The collection name of `file` when it ends with `suffix` (or `suffix.gz`), unescaped.
fn stem(file: &Path, suffix: &str) -> Option<String> {
    let name = file.file_name()?.to_str()?;
    let base = name
        .strip_suffix(".gz")
        .unwrap_or(name)
        .strip_suffix(suffix)?;
    Some(unescape(base))
}

/// mongodump escapes characters that file names cannot hold as `%XX`.
fn unescape(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn restore_directory(db: &Database, dir: &Path) -> Result<Restored> {
    let (database, dir) = database_dir(dir)?;
    let mut restored = Restored {
        database,
        ..Restored::default()
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| broken(&dir, e))?
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut collections: BTreeMap<String, Collection> = BTreeMap::new();
    for file in &files {
        if let Some(name) = stem(file, ".metadata.json") {
            let mut text = String::new();
            open(file)?
                .read_to_string(&mut text)
                .map_err(|e| broken(file, e))?;
            collections.insert(name, metadata(&text, file)?);
        }
    }
    for file in &files {
        if let Some(name) = stem(file, ".bson") {
            collections.entry(name).or_default();
        }
    }
    collections.retain(|name, _| !name.starts_with("system."));
    for (name, c) in &collections {
        create(db, name, c, &mut restored).await?;
    }
    for file in &files {
        let Some(name) = stem(file, ".bson").filter(|n| collections.contains_key(n)) else {
            continue;
        };
        let mut input = open(file)?;
        let mut batch = Vec::new();
        while let Some(document) = next(&mut input, file, true)? {
            batch.push(document);
            if batch.len() >= BATCH {
                insert(db, &name, std::mem::take(&mut batch), &mut restored).await?;
            }
        }
        insert(db, &name, batch, &mut restored).await?;
    }
    for (name, c) in &collections {
        indexes(db, name, c, &mut restored).await?;
    }
    Ok(restored)
}

/// Creates a collection (or view) with its options; options the server refuses are noted and
/// the collection is created without them.
async fn create(db: &Database, name: &str, c: &Collection, restored: &mut Restored) -> Result<()> {
    restored.collections += 1;
    let mut command = doc! {"create": name};
    command.extend(c.options.clone());
    command.remove("uuid");
    if command.len() == 1 && !c.view {
        return run(db, command, name).await;
    }
    match db.run_command(command).await {
        Ok(_) => Ok(()),
        Err(e) if !c.view => {
            restored
                .skipped
                .push(format!("options of {name}: {}", mongo_message(&e)));
            run(db, doc! {"create": name}, name).await
        }
        Err(e) => {
            restored
                .skipped
                .push(format!("view {name}: {}", mongo_message(&e)));
            Ok(())
        }
    }
}

async fn run(db: &Database, command: Document, name: &str) -> Result<()> {
    db.run_command(command)
        .await
        .map(|_| ())
        .map_err(|e| Error::infra(format!("cannot create {name}: {}", mongo_message(&e))))
}

async fn insert(
    db: &Database,
    name: &str,
    batch: Vec<RawDocumentBuf>,
    restored: &mut Restored,
) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let size = batch.len() as u64;
    db.collection::<RawDocumentBuf>(name)
        .insert_many(batch)
        .await
        .map_err(|e| {
            Error::infra(format!(
                "cannot restore the documents of {name}: {}",
                mongo_message(&e)
            ))
        })?;
    restored.documents += size;
    Ok(())
}

/// `createIndexes` specs for a collection's indexes as a dump (or `listIndexes`) describes
/// them: every index but `_id`'s, without the version and namespace the server fills in.
pub(super) fn index_specs(indexes: &[Document]) -> Vec<Bson> {
    indexes
        .iter()
        .filter(|i| i.get_str("name").is_ok_and(|n| n != "_id_"))
        .map(|i| {
            let mut spec = i.clone();
            spec.remove("v");
            spec.remove("ns");
            Bson::Document(spec)
        })
        .collect()
}

/// Builds the collection's indexes but `_id`'s, as the dump describes them.
async fn indexes(db: &Database, name: &str, c: &Collection, restored: &mut Restored) -> Result<()> {
    if c.view {
        return Ok(());
    }
    let specs = index_specs(&c.indexes);
    if specs.is_empty() {
        return Ok(());
    }
    if let Err(e) = db
        .run_command(doc! {"createIndexes": name, "indexes": specs})
        .await
    {
        restored
            .skipped
            .push(format!("indexes of {name}: {}", mongo_message(&e)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_unescape_and_suffixes_strip() {
        assert_eq!(unescape("caf%C3%A9s"), "cafés");
        assert_eq!(unescape("a%2"), "a%2");
        assert_eq!(
            stem(Path::new("d/users.metadata.json.gz"), ".metadata.json"),
            Some("users".into())
        );
        assert_eq!(
            stem(Path::new("d/users.bson"), ".bson"),
            Some("users".into())
        );
        assert_eq!(stem(Path::new("d/users.metadata.json"), ".bson"), None);
    }

    #[test]
    fn metadata_reads_options_indexes_and_views() {
        let c = metadata(
            r#"{"indexes":[{"v":{"$numberInt":"2"},"key":{"_id":{"$numberInt":"1"}},"name":"_id_"},
                {"v":{"$numberInt":"2"},"key":{"f":{"$numberDouble":"1.0"}},"name":"f_1"}],
                "uuid":"0679db720f4944de90ae27472664e94a","collectionName":"foo",
                "options":{"capped":true,"size":{"$numberInt":"4096"}}}"#,
            Path::new("foo.metadata.json"),
        )
        .unwrap();
        assert_eq!(c.indexes.len(), 2);
        assert_eq!(c.options.get_bool("capped"), Ok(true));
        assert!(!c.view);
        let v = metadata(
            r#"{"options":{"viewOn":"foo","pipeline":[]},"indexes":[],"type":"view"}"#,
            Path::new("v.metadata.json"),
        )
        .unwrap();
        assert!(v.view);
    }

    #[test]
    fn one_user_database_is_chosen() {
        let p = Path::new("dump");
        assert_eq!(
            only_database(["admin", "shop", "config"].into_iter(), p).unwrap(),
            "shop"
        );
        assert!(only_database(["a", "b"].into_iter(), p).is_err());
        assert!(only_database(["admin"].into_iter(), p).is_err());
    }
}
