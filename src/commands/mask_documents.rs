//! `driftless mask` on an engine of documents (MongoDB): the source is a `--from` URL or a
//! `mongodump` archive (restored into a disposable server first); every collection is read,
//! its documents masked by field path (`mask::documents`) and written to `--to` (an empty
//! database) or a disposable one dumped to `--out` as a `mongodump` archive.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use mongodb::bson::Document;
use tokio::sync::mpsc;

use super::mask::{Done, Outcome, unmasked_finding};
use crate::cli::MaskArgs;
use crate::engine::{CollectionDef, DocumentStore, Engine, EngineSpec, StartOptions};
use crate::mask::detect::{Dictionary, Evidence, PiiKind};
use crate::mask::documents::{self, DocumentMasker, PathRule};
use crate::mask::key::MaskKey;
use crate::mask::rules::{Rule, Rules};
use crate::mask::{self, SAMPLE_ROWS};
use crate::report::{self, Finding, FindingKind, Severity, TableCopy};
use crate::sandbox::redact_url;
use crate::{Error, Result};

/// Starts the source (a URL, or an archive restored into a disposable server), masks, and
/// tears everything down.
pub async fn run(
    spec: &'static EngineSpec,
    args: &MaskArgs,
    rules: &Rules,
    key: Option<&MaskKey>,
    server: StartOptions,
    progress: &mut report::Progress,
) -> Result<Outcome> {
    if let Some(subset) = args.subset.first() {
        return Err(Error::input(format!(
            "--subset {subset:?}: subsets follow foreign keys of SQL tables; {} has none",
            spec.display
        )));
    }
    let archive = !args.from.contains("://");
    let source_options = if archive {
        let path = Path::new(&args.from);
        if !path.exists() {
            return Err(Error::input(format!(
                "--from {}: no such file; give a {} URL or a mongodump archive",
                args.from, spec.url_schemes[0]
            )));
        }
        StartOptions {
            hidden_tables: server.hidden_tables.clone(),
            ..server.clone()
        }
    } else {
        StartOptions {
            url: Some(args.from.clone()),
            bin_dir: server.bin_dir.clone(),
            in_place: true,
            read_only: true,
            hidden_tables: server.hidden_tables.clone(),
            ..StartOptions::default()
        }
    };
    progress.status("connecting to the source…");
    let mut source = (spec.start)(&source_options).await?;
    let outcome = async {
        if archive {
            progress.status("restoring the archive…");
            source.restore(Path::new(&args.from)).await?;
        }
        with_source(spec, source.as_mut(), args, rules, key, server, progress).await
    }
    .await;
    let _ = source.teardown(false).await;
    outcome
}

fn store(engine: &mut dyn Engine) -> Result<&mut dyn DocumentStore> {
    let spec = engine.spec();
    engine
        .documents()
        .ok_or_else(|| spec.unsupported(crate::engine::Capability::Documents, "mask"))
}

/// Every document of `collection`, read in batches.
async fn read_all(
    source: &mut dyn DocumentStore,
    collection: &str,
    limit: Option<usize>,
) -> Result<Vec<Document>> {
    mask::gathered(|tx| source.read_documents(collection, limit, tx)).await
}

/// Reads `collection` whole, batch by batch, handing each to `f`.
async fn each_batch(
    source: &mut dyn DocumentStore,
    collection: &str,
    mut f: impl FnMut(&[Document]),
) -> Result<()> {
    let (tx, mut rx) = mpsc::channel::<Vec<Document>>(2);
    let consume = async {
        while let Some(batch) = rx.recv().await {
            f(&batch);
        }
    };
    let (read, ()) = tokio::join!(source.read_documents(collection, None, tx), consume);
    read.map(|_| ())
}

type FieldEvidence = BTreeMap<(String, String), Evidence>;

/// Samples every collection and judges every field path.
async fn detect_all(
    source: &mut dyn DocumentStore,
    collections: &[String],
) -> Result<FieldEvidence> {
    let mut samples = Vec::new();
    let mut found = FieldEvidence::new();
    for name in collections {
        let documents = read_all(source, name, Some(SAMPLE_ROWS)).await?;
        for (path, e) in documents::detect(name, &documents) {
            found.insert((name.clone(), path), e);
        }
        samples.push((name.clone(), documents));
    }
    let mut kinds: BTreeMap<String, PiiKind> = BTreeMap::new();
    for (name, documents) in &samples {
        let own: BTreeMap<String, Evidence> = found
            .iter()
            .filter(|((c, _), _)| c == name)
            .map(|((_, p), e)| (p.clone(), e.clone()))
            .collect();
        documents::known_values(documents, &own, &mut kinds);
    }
    let known = mask::known_dictionary(&kinds);
    for (name, documents) in &samples {
        let mut own: BTreeMap<String, Evidence> = found
            .iter()
            .filter(|((c, _), _)| c == name)
            .map(|((_, p), e)| (p.clone(), e.clone()))
            .collect();
        documents::detect_mentions(documents, &known, &kinds, &mut own);
        for (path, e) in own {
            found.entry((name.clone(), path)).or_insert(e);
        }
    }
    Ok(found)
}

/// A rules-file section header for a field path: `[users.email]`, `[users."profile.email"]`.
fn header(collection: &str, path: &str) -> String {
    let bare = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    let quote = |s: &str| {
        if bare(s) {
            s.to_string()
        } else {
            format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
        }
    };
    format!("[{}.{}]", quote(collection), quote(path))
}

/// `--detect`: a rules file for the fields that look personal, with the evidence.
fn suggest(evidence: &FieldEvidence, from: &str) -> String {
    let mut out = format!(
        "# Masking rules suggested by `driftless mask --detect` for {}\n\
         # from field names and up to {} sampled documents per collection. Review them: fields\n\
         # not listed are copied as they are (references to a masked `_id` follow it).\n",
        redact_url(from),
        SAMPLE_ROWS
    );
    for ((collection, path), e) in evidence {
        let _ = write!(
            out,
            "\n# {}\n{}\n{}\n",
            e.describe(),
            header(collection, path),
            documents::suggestion(e.kind)
        );
    }
    if evidence.is_empty() {
        out.push_str("\n# No field looks personal.\n");
    }
    out
}

async fn with_source(
    spec: &'static EngineSpec,
    source: &mut dyn Engine,
    args: &MaskArgs,
    rules: &Rules,
    key: Option<&MaskKey>,
    server: StartOptions,
    progress: &mut report::Progress,
) -> Result<Outcome> {
    let server_version = source.server_version().to_string();
    let docs = store(source)?;
    let defs = docs.definitions().await?;
    let collections: Vec<String> = defs
        .iter()
        .filter(|d| !d.view)
        .map(|d| d.name.clone())
        .collect();
    progress.status("sampling for personal data…");
    let evidence = detect_all(docs, &collections).await?;
    if args.detect {
        return Ok(Outcome::Detected(suggest(&evidence, &args.from)));
    }
    let key = key.expect("a key outside --detect");
    let mut path_rules = documents::path_rules(rules, &collections)?;
    let mut uncovered: Vec<((String, String), Evidence)> = Vec::new();
    for collection in &collections {
        let own: BTreeMap<String, Evidence> = evidence
            .iter()
            .filter(|((c, _), _)| c == collection)
            .map(|((_, p), e)| (p.clone(), e.clone()))
            .collect();
        for (path, e) in documents::uncovered(&path_rules, collection, &own) {
            uncovered.push(((collection.clone(), path.clone()), e.clone()));
        }
    }
    let mut findings = Vec::new();
    if args.strict && !uncovered.is_empty() {
        findings.extend(
            uncovered
                .iter()
                .map(|((c, p), e)| unmasked_finding(&format!("db.{c}"), p, e, Severity::Error)),
        );
        return Ok(Outcome::Done(Done {
            server_version,
            tables: Vec::new(),
            findings,
            target: "nothing (--strict: unmasked personal data)".into(),
        }));
    }
    for ((collection, path), e) in &uncovered {
        if args.allow_unmasked {
            findings.push(unmasked_finding(
                &format!("db.{collection}"),
                path,
                e,
                Severity::Warning,
            ));
            continue;
        }
        // Never copied as it is: the detected rule applies.
        let lines = documents::suggestion(e.kind);
        let parsed =
            Rules::parse(&format!("[c.f]\n{lines}\n")).map_err(|(_, m)| Error::input(m))?;
        let Some(Rule { transform, .. }) = parsed.get("", "c", "f").cloned() else {
            continue;
        };
        findings.push(
            Finding::new(
                FindingKind::UnmaskedPii,
                format!(
                    "db.{collection}.{path} looks like {} and has no masking rule: masked with `{}` (the detected rule; --allow-unmasked copies it as it is)",
                    e.kind,
                    transform.describe()
                ),
            )
            .severity(Severity::Info)
            .object(
                format!("db.{collection}.{path}"),
                Some(collection.as_str()),
                Some(path.as_str()),
            )
            .detail("pii", e.kind.to_string())
            .detail("suggested", mask::suggestion(e.kind).0),
        );
        path_rules.push(PathRule {
            collection: collection.clone(),
            path: path.split('.').map(str::to_string).collect(),
            transform,
            line: 0,
        });
    }
    let target_options = match &args.to {
        Some(url) => StartOptions {
            url: Some(url.clone()),
            in_place: true,
            bin_dir: server.bin_dir,
            hidden_tables: server.hidden_tables,
            ..StartOptions::default()
        },
        None => server,
    };
    progress.status(&format!("starting the target {}…", spec.name));
    let mut target = (spec.start)(&target_options).await?;
    let masker = DocumentMasker::new(key, path_rules);
    let result = fill(source, target.as_mut(), &defs, masker, args, progress).await;
    let torn = target.teardown(false).await;
    let tables = result?;
    torn?;
    Ok(Outcome::Done(Done {
        server_version,
        tables,
        findings,
        target: super::mask::target_names(args),
    }))
}

/// Masks every collection of `defs` from `source` into the empty `target`; `--out` dumps it.
async fn fill(
    source: &mut dyn Engine,
    target: &mut dyn Engine,
    defs: &[CollectionDef],
    masker: DocumentMasker<'_>,
    args: &MaskArgs,
    progress: &mut report::Progress,
) -> Result<Vec<TableCopy>> {
    let from = store(source)?;
    let to = store(target)?;
    let existing = to.definitions().await?;
    if !existing.is_empty() {
        let names: Vec<&str> = existing.iter().take(5).map(|d| d.name.as_str()).collect();
        return Err(Error::input(format!(
            "the --to database is not empty (it has {} collections: {}…); mask writes into an empty database",
            existing.len(),
            names.join(", ")
        )));
    }
    let mut created = Vec::new();
    let filled = copy_all(from, to, defs, masker, progress, &mut created).await;
    let filled = match filled {
        Ok(tables) => match &args.out {
            Some(out) => {
                progress.status("writing the archive…");
                to.dump(out).await.map(|()| tables)
            }
            None => Ok(tables),
        },
        Err(e) => Err(e),
    };
    if filled.is_err() {
        // What was created goes again: the target is as empty as it was.
        let _ = to.drop_collections(&created).await;
    }
    filled
}

/// Masks every collection into `to`, noting in `created` what it made.
async fn copy_all(
    from: &mut dyn DocumentStore,
    to: &mut dyn DocumentStore,
    defs: &[CollectionDef],
    mut masker: DocumentMasker<'_>,
    progress: &mut report::Progress,
    created: &mut Vec<String>,
) -> Result<Vec<TableCopy>> {
    // Ids first, so that references anywhere follow a masked `_id`; then, for `scrub`, the
    // values masked fields hold, to replace them inside free text.
    for def in defs.iter().filter(|d| !d.view) {
        if masker.masks_ids(&def.name) {
            let name = def.name.clone();
            each_batch(from, &def.name, |batch| masker.add_ids(&name, batch)).await?;
        }
    }
    if masker.scrubs() {
        progress.status("collecting the values masked fields hold…");
        let mut dictionary = Dictionary::default();
        for def in defs.iter().filter(|d| !d.view) {
            let name = def.name.clone();
            each_batch(from, &def.name, |batch| {
                masker.learn(&name, batch, &mut dictionary);
            })
            .await?;
        }
        masker.set_dictionary(dictionary);
    }
    let mut tables = Vec::new();
    for def in defs.iter().filter(|d| !d.view) {
        let started = Instant::now();
        progress.status(&format!("masking {}…", def.name));
        to.create(def, false).await?;
        created.push(def.name.clone());
        let (tx, mut rx) = mpsc::channel::<Vec<Document>>(2);
        let name = def.name.clone();
        let masker = &mut masker;
        let write = async {
            let mut rows = 0u64;
            while let Some(mut batch) = rx.recv().await {
                for document in &mut batch {
                    masker.mask(&name, document);
                }
                let size = batch.len() as u64;
                let (inserted, rejected) = to.insert_documents(&name, batch).await?;
                if rejected > 0 || inserted != size {
                    return Err(Error::infra(format!(
                        "the target refused {} masked documents of {name} (a unique index or a validator); nothing is complete",
                        size - inserted
                    )));
                }
                rows += inserted;
            }
            Ok::<u64, Error>(rows)
        };
        let (read, written) = tokio::join!(from.read_documents(&def.name, None, tx), write);
        read?;
        let rows = written?;
        to.create(def, true).await?;
        let mut columns = BTreeMap::new();
        for rule in masker.rules().iter().filter(|r| r.collection == def.name) {
            columns.insert(rule.shown(), rule.transform.describe());
        }
        for (collection, path) in masker.followed.keys() {
            if *collection == def.name && !columns.contains_key(path) {
                columns.insert(path.clone(), "follows a masked _id".to_string());
            }
        }
        tables.push(TableCopy {
            table: format!("db.{}", def.name),
            rows,
            ms: started.elapsed().as_millis() as u64,
            columns,
        });
    }
    for def in defs.iter().filter(|d| d.view) {
        to.create(def, false).await?;
        created.push(def.name.clone());
    }
    Ok(tables)
}
