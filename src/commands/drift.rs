//! `driftless drift`: the schema of a live database (read only) against the schema its applied
//! migrations produce in a disposable database; every difference is `schema_drift`.

use std::time::{Instant, SystemTime};

use super::Signals;
use crate::cli::DriftArgs;
use crate::config::Config;
use crate::engine::{EngineSpec, StartOptions};
use crate::migrations::{Migration, MigrationFormat, tracking};
use crate::report::{self, DriftFacts, Finding, FindingKind, Format, HumanText, Report, Severity};
use crate::sandbox::redact_url;
use crate::schema::{Change, SchemaDiff, SchemaSnapshot, diff};
use crate::{Error, ExitCode, Result};

/// `*` and `?` wildcards.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The schema without the objects `--ignore` names (by key, like `table public.audit_*`, or by
/// reference, like `public.audit_*`), and with MySQL database names taken out.
fn filtered(schema: &SchemaSnapshot, ignore: &[String]) -> SchemaSnapshot {
    let mut out = schema.clone();
    out.objects.retain(|key, object| {
        !ignore.iter().any(|p| {
            glob(p, key)
                || glob(p, &object.reference)
                || object.table.as_deref().is_some_and(|t| glob(p, t))
        })
    });
    out.without_database_names()
}

/// What migrations decide, without what the data decides: MongoDB's inferred document shapes
/// (and the field lists they give collections) differ between a live database and an empty one.
fn structural(mut schema: SchemaSnapshot) -> SchemaSnapshot {
    schema.objects.retain(|key, _| !key.starts_with("shape "));
    if schema.objects.values().any(|o| o.kind == "collection") {
        schema.tables.clear();
    }
    schema
}

pub async fn run(args: DriftArgs, signals: &mut Signals) -> Result<ExitCode> {
    let started = Instant::now();
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let config = Config::load(args.common.config.as_deref())?;
    let spec = super::resolve_engine(args.common.engine.clone(), &config, Some(&args.url))?;
    let dir = super::migrations_dir(args.migrations.dir.as_deref(), &config);
    let (format, list) = super::read_migrations(
        &dir,
        args.migrations.format.or(config.migration_format),
        spec,
        "pass --migrations DIR",
    )?;
    let server = StartOptions {
        hidden_tables: crate::history::history_tables(format),
        ..super::server_options(&args.server, &config, spec, args.common.quiet)
    };
    let mut progress = report::Progress::new(args.common.quiet);
    progress.status("reading the live schema…");
    let live = read_live(spec, &args.url, &server, format, &list, signals).await?;
    progress.status("applying the migrations to a disposable database…");
    let expected = expected_schema(spec, &server, format, &list, &live.applied, signals).await;
    progress.finish();
    let expected = expected?;

    let changes = diff(
        &structural(filtered(&expected, &args.ignore)),
        &structural(filtered(&live.schema, &args.ignore)),
        ("migrations", "live"),
    );
    let mut report = Report::new("drift", spec.name, started_at);
    report.server_version = Some(live.server_version);
    report.migration_format = Some(format.name().into());
    report.findings = drift_findings(&changes);
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.finish(args.report.fail_on(&config), 0);
    let facts = DriftFacts {
        url: redact_url(&args.url),
        compared: live.applied.len(),
        tracking_table: live.tracking_table.map(str::to_string),
    };
    let format = args.report.format.unwrap_or(Format::Human);
    let human = HumanText::Drift(&facts);
    super::write_report(
        &report,
        format,
        human,
        args.report.output.as_deref(),
        super::Presentation::of(&args.common),
    )?;
    Ok(super::exit_code(&report))
}

/// What the live database says: its schema, its server, and which migrations it has.
struct Live {
    schema: SchemaSnapshot,
    server_version: String,
    /// Indexes of the migrations it has applied (all of them without a tracking table).
    applied: Vec<usize>,
    tracking_table: Option<&'static str>,
}

/// Reads the live database (read-only sessions) and lets go of it.
async fn read_live(
    spec: &'static EngineSpec,
    url: &str,
    server: &StartOptions,
    format: MigrationFormat,
    list: &[Migration],
    signals: &mut Signals,
) -> Result<Live> {
    let options = StartOptions {
        url: Some(url.to_string()),
        in_place: true,
        read_only: true,
        bin_dir: server.bin_dir.clone(),
        hidden_tables: server.hidden_tables.clone(),
        ..StartOptions::default()
    };
    let mut live = signals.guard((spec.start)(&options)).await?;
    let read = signals
        .guard(async {
            let schema = live.schema().await?;
            let tracked = crate::history::read(live.as_mut(), format).await?;
            Ok::<_, Error>((schema, live.server_version().to_string(), tracked))
        })
        .await;
    let _ = live.teardown(false).await;
    let (schema, server_version, tracked) = read?;
    let tracking_table = tracked.as_ref().map(|t| t.table);
    let applied = match tracked {
        Some(_) => tracking::history(tracked, list).applied,
        None => (0..list.len()).collect(),
    };
    Ok(Live {
        schema,
        server_version,
        applied,
        tracking_table,
    })
}

/// The schema the applied migrations produce on a disposable database, with the tool's
/// tracking table in place first as its runner would have it.
async fn expected_schema(
    spec: &'static EngineSpec,
    server: &StartOptions,
    format: MigrationFormat,
    list: &[Migration],
    applied: &[usize],
    signals: &mut Signals,
) -> Result<SchemaSnapshot> {
    let mut scratch = signals.guard((spec.start)(server)).await?;
    let built = signals
        .guard(async {
            crate::history::create_tracking_table(scratch.as_mut(), format).await?;
            for m in applied.iter().map(|&i| &list[i]) {
                if m.unsupported.is_none() {
                    super::up_applied(m, scratch.apply(&m.up).await?, " on a fresh database")?;
                }
            }
            scratch.schema().await
        })
        .await;
    let _ = scratch.teardown(false).await;
    built
}

/// One `schema_drift` per object that differs, and a warning per table whose columns are in
/// another order.
fn drift_findings(changes: &SchemaDiff) -> Vec<Finding> {
    let mut findings = Vec::new();
    for change in &changes.objects {
        let object = change.reference.clone();
        let plain = object.rsplit('.').next().unwrap_or(&object).to_string();
        // A table names itself; other objects the table they belong to, if any.
        let table = change
            .table
            .as_deref()
            .or((change.kind.ends_with("table")).then_some(plain.as_str()));
        let base = |message: String, part: Option<&crate::schema::LineChange>| {
            Finding::new(FindingKind::SchemaDrift, message)
                .object(
                    object.clone(),
                    table,
                    part.and_then(|p| p.column.as_deref()),
                )
                .constraint(part.and_then(|p| p.constraint.as_deref()))
                .detail("diff", change.diff.clone())
        };
        let lines: Vec<(String, Option<&crate::schema::LineChange>)> = match change.change {
            Change::Removed => vec![("is missing in the live database".into(), None)],
            Change::Added => vec![("exists only in the live database".into(), None)],
            Change::Renamed => vec![(
                format!(
                    "is named {} in the live database",
                    crate::schema::shown(change.renamed_to.as_deref().unwrap_or_default())
                ),
                None,
            )],
            Change::Modified if change.changes.is_empty() => {
                vec![("differs from what the migrations produce".into(), None)]
            }
            Change::Modified => change
                .changes
                .iter()
                .map(|c| {
                    let what = format!("differs from what the migrations produce: {c}");
                    (what, Some(c))
                })
                .collect(),
        };
        for (what, column) in lines {
            findings.push(base(format!("{} {object} {what}", change.kind), column));
        }
    }
    for order in &changes.column_order {
        findings.push(
            Finding::new(
                FindingKind::SchemaDrift,
                format!(
                    "the columns of {} are in another order in the live database",
                    order.table
                ),
            )
            .object(
                format!("{}.{}", order.schema, order.table),
                Some(&order.table),
                None,
            )
            .severity(Severity::Warning)
            .detail("column_order", true),
        );
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match() {
        assert!(glob("public.audit_*", "public.audit_log"));
        assert!(glob("table public.*", "table public.users"));
        assert!(!glob("public.audit_*", "public.users"));
        assert!(glob("?ser*", "users"));
    }
}
