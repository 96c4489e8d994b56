//! `driftless seed` on an engine of documents (MongoDB): every empty collection gets
//! documents shaped by its `$jsonSchema` validator, else by the `--overrides` TOML shapes (the
//! format of `check --fixtures`), else generically; into the `--url` database, a kept
//! disposable one, or Extended JSON lines for mongoimport (`--format jsonl --out DIR`).

use std::io::Write as _;
use std::time::Instant;

use super::{DEFAULT_ROWS, Signals, Target, apply_all};
use crate::cli::{RowCounts, SeedArgs};
use crate::engine::{self, DocumentStore, EngineSpec, Shapes, StartOptions};
use crate::migrations::Migration;
use crate::report::Progress;
use crate::schema::SchemaSnapshot;
use crate::seed::documents;
use crate::seed::run::{FileFormat, Staging};
use crate::{Error, ExitCode, Result};

/// What to seed, and where.
pub(super) struct Job<'a> {
    pub args: &'a SeedArgs,
    pub spec: &'static EngineSpec,
    pub target: &'a Target,
    pub migrations: Option<&'a [Migration]>,
    pub rows: &'a RowCounts,
    pub seed: u64,
    pub start: &'a StartOptions,
}

/// What happened: the explanation, or (documents written, documents the server rejected).
enum Done {
    Explained(String),
    Seeded(u64, u64),
}

pub(super) async fn seed(job: Job<'_>, signals: &mut Signals) -> Result<ExitCode> {
    let started = Instant::now();
    let staging = staging(&job)?;
    let mut shapes = Shapes::new();
    for path in &job.args.overrides {
        shapes.extend(documents::load_shapes(path)?);
    }
    let mut progress = Progress::new(job.args.common.quiet);
    progress.status(&format!("starting {}…", job.spec.name));
    let mut engine = signals.guard((job.spec.start)(job.start)).await?;
    let outcome = signals
        .guard(async {
            apply_all(
                engine.as_mut(),
                job.migrations.unwrap_or_default(),
                &mut progress,
            )
            .await?;
            let schema = engine.schema().await?;
            let store = engine::documents_for(engine.as_mut(), "seed")?;
            fill(store, &schema, &job, &shapes, staging).await
        })
        .await;
    progress.finish();
    let interrupted = matches!(outcome, Err(Error::Interrupted(_)));
    let keep = matches!(job.target, Target::Kept) && outcome.is_ok() && !interrupted;
    let kept = engine.teardown(keep).await;
    let outcome = outcome?;
    if let Some(note) = kept? {
        eprintln!("{note}");
    }
    match outcome {
        Done::Explained(text) => print!("{text}"),
        Done::Seeded(inserted, rejected) if !job.args.common.quiet => {
            let refused = if rejected > 0 {
                format!(" ({rejected} rejected by the server)")
            } else {
                String::new()
            };
            let seconds = started.elapsed().as_secs_f64();
            eprintln!("seeded {inserted} documents{refused} in {seconds:.1} s");
        }
        Done::Seeded(..) => {}
    }
    Ok(ExitCode::Pass)
}

/// Where files go (`--format jsonl --out DIR`), checked before anything starts.
fn staging(job: &Job<'_>) -> Result<Option<Staging>> {
    if job.args.atomic {
        return Err(Error::input(
            "--atomic: MongoDB seeding inserts per collection, without a transaction",
        ));
    }
    match job.target {
        Target::Files {
            format: FileFormat::Jsonl,
            path: Some(dir),
        } => Ok(Some(Staging::new(dir, false)?)),
        Target::Files { .. } => Err(Error::input(
            "MongoDB documents are written as --format jsonl --out DIR (Extended JSON, one \
             file per collection, for mongoimport), or into a database with --url / --keep",
        )),
        _ => Ok(None),
    }
}

async fn fill(
    store: &mut dyn DocumentStore,
    schema: &SchemaSnapshot,
    job: &Job<'_>,
    shapes: &Shapes,
    staging: Option<Staging>,
) -> Result<Done> {
    if matches!(job.target, Target::Explain) {
        return Ok(Done::Explained(
            documents::explain(store, schema, shapes).await?,
        ));
    }
    let rows = job.rows;
    let count = |name: String| {
        rows.tables
            .get(&name)
            .or_else(|| rows.tables.get(&format!("db.{name}")))
            .copied()
            .or(rows.default)
            .unwrap_or(DEFAULT_ROWS)
    };
    if let Some(staging) = staging {
        let total = write_files(store, schema, &count, job.seed, shapes, staging).await?;
        return Ok(Done::Seeded(total, 0));
    }
    let (inserted, rejected) =
        documents::seed_collections(store, schema, &count, job.seed, shapes).await?;
    Ok(Done::Seeded(inserted, rejected))
}

/// One `<collection>.jsonl` per collection in the staging dir, published together.
async fn write_files(
    store: &mut dyn DocumentStore,
    schema: &SchemaSnapshot,
    count: &(dyn Fn(String) -> usize + Sync),
    seed: u64,
    shapes: &Shapes,
    staging: Staging,
) -> Result<u64> {
    let mut files: Vec<String> = Vec::new();
    let mut current: Option<(String, std::io::BufWriter<std::fs::File>)> = None;
    let mut total = 0u64;
    let fail = |file: &str, e: std::io::Error| Error::infra(format!("cannot write {file}: {e}"));
    let mut sink = |collection: String, line: Option<String>| -> Result<()> {
        match line {
            None => {
                if let Some((file, mut out)) = current.take() {
                    out.flush().map_err(|e| fail(&file, e))?;
                }
                let file = format!("{collection}.jsonl");
                current = Some((file.clone(), staging.create(&file)?));
                files.push(file);
            }
            Some(line) => {
                if let Some((file, out)) = current.as_mut() {
                    writeln!(out, "{line}").map_err(|e| fail(file, e))?;
                    total += 1;
                }
            }
        }
        Ok(())
    };
    documents::generate(store, schema, count, seed, shapes, &mut sink).await?;
    if let Some((file, mut out)) = current.take() {
        out.flush().map_err(|e| fail(&file, e))?;
    }
    staging.commit(&files)?;
    Ok(total)
}
