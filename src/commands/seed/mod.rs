//! `driftless seed`: constraint-aware synthetic data into a database or files.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

mod documents;

use super::Signals;
use crate::cli::SeedArgs;
use crate::config::Config;
use crate::engine::{Capability, Engine, StartOptions};
use crate::migrations::{self, display_path};
use crate::report::Observer;
use crate::report::Progress;
use crate::report::plural;
use crate::schema::SchemaSnapshot;
use crate::seed::future;
use crate::seed::plan::{self, PlanRequest, SeedPlan, Source};
use crate::seed::run::{self, FileFormat, RunOptions, Written};
use crate::seed::{Overrides, SeedStyle};
use crate::{Error, ExitCode, Result};

const DEFAULT_ROWS: usize = 1000;
const DEFAULT_SEED: u64 = 42;

/// Where the rows go.
enum Target {
    /// The database of `--url`, in place.
    Url,
    /// The disposable database, kept running (`--keep`).
    Kept,
    Files {
        format: FileFormat,
        /// `None`: stdout.
        path: Option<PathBuf>,
    },
    /// Nothing: `--explain`.
    Explain,
}

pub async fn run(args: SeedArgs, signals: &mut Signals) -> Result<ExitCode> {
    let started = Instant::now();
    let config = Config::load(args.common.config.as_deref())?;
    let spec = super::resolve_engine(args.common.engine.clone(), &config, args.url.as_deref())?;
    let documents = spec.can(Capability::Documents);
    let overrides = if documents {
        Overrides::default()
    } else {
        load_overrides(&args.overrides)?
    };
    let target = target(&args)?;
    let rows = args.rows.clone().unwrap_or_default();
    let seed = args.seed.or(config.seed).unwrap_or(DEFAULT_SEED);

    let read = read_migrations(&args, &config, spec)?;
    let format = read.as_ref().map(|(format, _)| *format);
    let migrations = read.map(|(_, list)| list);

    let mut start = StartOptions {
        url: args.url.clone(),
        // A server started to be kept must not die with driftless.
        keep: matches!(target, Target::Kept),
        in_place: args.url.is_some(),
        ..super::server_options(&args.server, &config, spec, args.common.quiet)
    };
    if let Some(format) = format {
        start.hidden_tables = super::tool_tables(format);
    }
    if documents {
        let job = documents::Job {
            args: &args,
            spec,
            target: &target,
            migrations: migrations.as_deref(),
            rows: &rows,
            seed,
            start: &start,
        };
        return documents::seed(job, signals).await;
    }
    let mut progress = Progress::new(args.common.quiet);
    progress.status(&format!("starting {}…", spec.name));
    let mut engine = signals.guard((spec.start)(&start)).await?;
    let outcome = signals
        .guard(seed_with(
            engine.as_mut(),
            Job {
                migrations: migrations.as_deref().zip(format),
                target: &target,
                rows: &rows,
                seed,
                overrides: &overrides,
                atomic: args.atomic,
            },
            &mut progress,
        ))
        .await;
    progress.finish();
    let interrupted = matches!(outcome, Err(Error::Interrupted(_)));
    let keep = matches!(target, Target::Kept) && outcome.is_ok() && !interrupted;
    let kept = engine.teardown(keep).await;
    let outcome = outcome?;
    if let Some(note) = kept? {
        eprintln!("{note}");
    }
    match outcome {
        Outcome::Explained(text) => print!("{text}"),
        Outcome::Written(written, skipped) => {
            if !args.common.quiet {
                eprint!(
                    "{}",
                    summary(&written, &skipped, started.elapsed().as_secs_f64())
                );
            }
        }
    }
    Ok(ExitCode::Pass)
}

/// The migrations that build the schema (none with `--url`), read before anything starts so
/// that bad input fails fast.
fn read_migrations(
    args: &SeedArgs,
    config: &Config,
    spec: &crate::engine::EngineSpec,
) -> Result<Option<(migrations::MigrationFormat, Vec<migrations::Migration>)>> {
    if args.url.is_some() {
        if args.migrations.dir.is_some() {
            return Err(Error::input(
                "--migrations and --url exclude each other: the schema comes from the migrations \
                 (into a disposable database) or from the --url database",
            ));
        }
        return Ok(None);
    }
    let dir = super::migrations_dir(args.migrations.dir.as_deref(), config);
    super::read_migrations(
        &dir,
        args.migrations.format.or(config.migration_format),
        spec,
        "pass --migrations DIR, or --url to seed a live database",
    )
    .map(Some)
}

enum Outcome {
    Explained(String),
    /// What was written, and the tables left alone because they have rows.
    Written(Written, BTreeSet<String>),
}

/// The overrides files: each `--overrides` is a TOML file or a directory of them (read in name
/// order; later files win).
fn load_overrides(paths: &[PathBuf]) -> Result<Overrides> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| {
                    Error::input(format!("cannot read {}: {e}", display_path(path).display()))
                })?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(Error::input(format!(
                "overrides file {} does not exist",
                display_path(path).display()
            )));
        }
    }
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    Overrides::load(&refs)
}

fn target(args: &SeedArgs) -> Result<Target> {
    if args.explain {
        return Ok(Target::Explain);
    }
    if let Some(out) = &args.out {
        let format = args.format.unwrap_or_else(|| {
            if out
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("sql"))
                || out == Path::new("-")
            {
                FileFormat::Sql
            } else {
                FileFormat::Csv
            }
        });
        let path = (out != Path::new("-")).then(|| out.clone());
        if path.is_none() && format != FileFormat::Sql {
            return Err(Error::input(format!(
                "--out - (stdout) takes --format sql; --format {} writes one file per table",
                format.name()
            )));
        }
        if args.atomic {
            return Err(Error::input(
                "--atomic is for loading into a database; files are written all-or-nothing anyway",
            ));
        }
        return Ok(Target::Files { format, path });
    }
    if let Some(format) = args.format {
        if format != FileFormat::Sql {
            return Err(Error::input(format!(
                "--format {} writes one file per table: give a directory with --out",
                format.name()
            )));
        }
        return Ok(Target::Files { format, path: None });
    }
    if args.url.is_some() {
        return Ok(Target::Url);
    }
    if args.keep {
        return Ok(Target::Kept);
    }
    Err(Error::input(
        "say where the rows go: --out PATH for files, --url URL for a database, or --keep to \
         leave the seeded disposable database running (--explain shows the plan only)",
    ))
}

/// What to seed, once the engine runs.
struct Job<'a> {
    migrations: Option<(&'a [migrations::Migration], migrations::MigrationFormat)>,
    target: &'a Target,
    rows: &'a crate::cli::RowCounts,
    seed: u64,
    overrides: &'a Overrides,
    atomic: bool,
}

async fn seed_with(
    engine: &mut dyn Engine,
    job: Job<'_>,
    progress: &mut Progress,
) -> Result<Outcome> {
    let Job {
        migrations,
        target,
        rows,
        seed,
        overrides,
        atomic,
    } = job;
    if let Some((list, format)) = migrations {
        crate::history::create_tracking_table(engine, format).await?;
        apply_all(engine, list, progress).await?;
    }
    let schema = engine.schema().await?;
    let store = crate::engine::rows_for(engine, "seed")?;
    let seedable: BTreeSet<String> = schema
        .tables
        .values()
        .filter(|t| t.seed_directly)
        .map(|t| t.qualified())
        .collect();
    for name in rows.tables.keys() {
        let known = seedable
            .iter()
            .any(|t| t == name || t.rsplit_once('.').is_some_and(|(_, plain)| plain == name));
        if !known {
            return Err(Error::input(format!(
                "--rows names table `{name}`, which the schema does not have (tables: {})",
                run::names(&seedable)
            )));
        }
    }
    // A database in place keeps the rows it has: only empty tables are filled.
    let (wanted, skipped) = match target {
        Target::Url | Target::Kept => {
            let empty: BTreeSet<String> = store.empty_tables(&schema).await?.into_iter().collect();
            let (wanted, skipped): (BTreeSet<String>, BTreeSet<String>) =
                seedable.iter().cloned().partition(|t| empty.contains(t));
            (wanted, skipped)
        }
        _ => (seedable.clone(), BTreeSet::new()),
    };
    let explicit_keys = matches!(target, Target::Files { .. } | Target::Explain);
    // Rows go in after every migration: no later one demands anything, but the plan must see
    // the unique indexes the schema holds beyond its tables' keys (partial, expressions).
    let demands = future::Demands::new(store.dialect());
    let request = PlanRequest {
        schema: &schema,
        tables: &wanted,
        rows: rows.default.unwrap_or(DEFAULT_ROWS),
        table_rows: &rows.tables,
        overrides,
        explicit_keys,
        demands: Some(&demands),
    };
    let plan = plan::plan(&request)?;
    room_for(&plan, target)?;
    let mut report = |table: &str, done: u64, total: u64| progress.seeding(table, done, total);
    let options = RunOptions {
        seed,
        style: SeedStyle::Realistic,
        schema: &schema,
        progress: &mut report,
    };
    let written = match target {
        Target::Explain => return Ok(Outcome::Explained(explain(&plan, &schema))),
        Target::Url | Target::Kept => run::to_database(store, &plan, options, atomic).await?,
        Target::Files { format, path } => {
            run::to_files(store.dialect(), &plan, options, *format, path.as_deref()).await?
        }
    };
    Ok(Outcome::Written(written, skipped))
}

/// Applies every up, in order; a failing statement is an input error at its file and line.
async fn apply_all(
    engine: &mut dyn Engine,
    list: &[migrations::Migration],
    progress: &mut Progress,
) -> Result<()> {
    for (index, m) in list.iter().enumerate() {
        progress.migration(index, list.len(), m);
        if let Some(reason) = &m.unsupported {
            eprintln!(
                "driftless: skipping migration {} {}: {reason}",
                m.version, m.name
            );
            continue;
        }
        super::up_applied(m, engine.apply(&m.up).await?, "")?;
    }
    Ok(())
}

/// `--explain`: per table and column, the generator and why; then the columns that look
/// personal.
/// Refuses, before the first row, a seed that cannot fit where it goes: the disposable server's
/// dir (tmpfs, usually) or the `--out` folder. The estimate is low on purpose (typical value
/// widths, no indexes), so a refusal is certain to be right; `--url` servers are the user's to
/// size.
fn room_for(plan: &SeedPlan, target: &Target) -> Result<()> {
    let place = match target {
        Target::Kept => crate::sandbox::base_dir(),
        Target::Files {
            path: Some(path), ..
        } => crate::output::folder_of(path).to_path_buf(),
        _ => return Ok(()),
    };
    let Some(free) = crate::sandbox::free_bytes(&place) else {
        return Ok(());
    };
    let needed = estimated_bytes(plan);
    if needed > free {
        let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
        return Err(Error::input(format!(
            "--rows asks for {} rows, at least {:.1} GiB, and {} has {:.1} GiB free; ask for fewer rows{}",
            plan.tables.iter().map(|t| t.rows as u64).sum::<u64>(),
            gib(needed),
            crate::migrations::display_path(&place).display(),
            gib(free),
            if matches!(target, Target::Kept) {
                " or set DRIFTLESS_TMPDIR to a larger disk"
            } else {
                " or write to a larger disk"
            }
        )));
    }
    Ok(())
}

/// The least the plan's rows take: a typical width per value plus a row header.
fn estimated_bytes(plan: &SeedPlan) -> u64 {
    use crate::schema::ColumnKind as K;
    let width = |kind: &K| -> u64 {
        match kind {
            K::Int { bytes, .. } => u64::from(*bytes).max(1),
            K::Bool => 1,
            K::Float | K::Date | K::Time | K::Timestamp { .. } | K::Money => 8,
            K::Uuid | K::Interval | K::Decimal { .. } => 16,
            K::Text { max_len, .. } | K::Bytes { max_len } => {
                u64::from(max_len.unwrap_or(16).min(16))
            }
            K::Char { len, .. } => u64::from(*len),
            _ => 8,
        }
    };
    plan.tables
        .iter()
        .map(|t| {
            let row: u64 = 24 + t.table.columns.iter().map(|c| width(&c.kind)).sum::<u64>();
            row.saturating_mul(t.rows as u64)
        })
        .fold(0u64, u64::saturating_add)
}

fn explain(plan: &SeedPlan, schema: &SchemaSnapshot) -> String {
    let mut out = String::new();
    let mut personal = Vec::new();
    for table in &plan.tables {
        let rows = if let Some(fk) = table
            .fks
            .iter()
            .find(|f| f.per_parent.is_some() && f.reads_parent_keys())
        {
            let (lo, hi) = fk.per_parent.unwrap_or_default();
            let mean = fk.mean.map(|m| format!(", mean {m}")).unwrap_or_default();
            format!("{lo}..{hi} rows per {} row{mean}", fk.parent)
        } else {
            format!("{} rows", table.rows)
        };
        let _ = writeln!(out, "{} ({rows})", table.qualified());
        let width = table
            .table
            .columns
            .iter()
            .map(|c| c.name.chars().count())
            .max()
            .unwrap_or(0);
        for column in &table.table.columns {
            let line = match table.columns.iter().find(|p| p.column.name == column.name) {
                Some(p) => {
                    let mut how = p.reason.clone();
                    if p.unique && !matches!(p.source, Source::Key { .. }) {
                        how.push_str("; unique");
                    }
                    if p.null_ratio > 0.0 {
                        let _ = write!(how, "; {:.0}% NULL", p.null_ratio * 100.0);
                    }
                    if p.personal {
                        how.push_str("; looks personal: synthetic values only");
                        personal.push(format!("{}.{}", table.qualified(), column.name));
                    }
                    how
                }
                None if column.server_filled => {
                    "left to the server (identity, serial or generated)".into()
                }
                None if column.has_default => {
                    "left to its default (no generator for its type)".into()
                }
                None => "NULL (no generator for its type)".into(),
            };
            let _ = writeln!(out, "  {:width$}  {line}", column.name);
        }
        out.push('\n');
    }
    let skipped: Vec<&String> = schema
        .tables
        .values()
        .filter(|t| !t.seed_directly)
        .map(|t| &t.name)
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(
            out,
            "not filled directly (partitions get rows through their parent): {}\n",
            skipped
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if personal.is_empty() {
        out.push_str("No column looks personal.\n");
    } else {
        let _ = writeln!(
            out,
            "Columns that look personal ({}), all filled by synthetic generators, never copied from a database:\n  {}",
            personal.len(),
            personal.join("\n  ")
        );
    }
    out
}

fn summary(written: &Written, skipped: &BTreeSet<String>, seconds: f64) -> String {
    let mut out = String::new();
    let rows = written.rows();
    let _ = writeln!(
        out,
        "driftless: seeded {} with {} in {seconds:.1}s ({:.0} rows/s)",
        plural(written.tables.len(), "table"),
        plural(rows, "row"),
        rows as f64 / seconds.max(1e-9)
    );
    let per_table: BTreeMap<&str, u64> = written
        .tables
        .iter()
        .map(|(t, n)| (t.as_str(), *n))
        .collect();
    for (table, n) in per_table {
        let _ = writeln!(out, "  {table}: {}", plural(n, "row"));
    }
    if !written.files.is_empty() {
        let _ = writeln!(out, "files:");
        for file in &written.files {
            let _ = writeln!(out, "  {}", display_path(file).display());
        }
    }
    if !skipped.is_empty() {
        let _ = writeln!(
            out,
            "left alone (they already have rows): {}",
            run::names(skipped)
        );
    }
    out
}
