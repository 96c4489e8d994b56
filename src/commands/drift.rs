//! `driftless drift`: the schema of a live database (read only) against the schema its applied
//! migrations produce in a disposable database; every difference is `schema_drift`.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use super::Signals;
use crate::cli::DriftArgs;
use crate::config::Config;
use crate::engine::StartOptions;
use crate::migrations::tracking;

use crate::report::{
    self, DriftFacts, Finding, FindingKind, Format, HumanText, Report, Severity, Status,
};
use crate::sandbox::redact_url;
use crate::schema::{Change, SchemaSnapshot, diff};
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
    let config = Config::load(args.config.as_deref())?;
    let spec = super::resolve_engine(args.engine.clone(), &config, Some(&args.url))?;
    let dir = super::migrations_dir(args.migrations.as_deref(), &config);
    let (format, list) = super::read_migrations(
        &dir,
        args.migration_format.or(config.migration_format),
        spec,
        "pass --migrations DIR",
    )?;
    let server = super::server_options(&args.server, &config, args.quiet);
    let mut progress = report::Progress::new(args.quiet);
    progress.status("reading the live schema…");
    let live_options = StartOptions {
        url: Some(args.url.clone()),
        in_place: true,
        read_only: true,
        bin_dir: server.bin_dir.clone(),
        ..StartOptions::default()
    };
    // The live database: read its schema and where it is in its history, then let go of it.
    let (live_schema, server_version, applied_count) = {
        let mut live = signals.guard((spec.start)(&live_options)).await?;
        let read = signals
            .guard(async {
                let schema = live.schema().await?;
                let tracked = crate::history::read(live.as_mut(), format).await?;
                Ok::<_, Error>((schema, live.server_version().to_string(), tracked))
            })
            .await;
        let _ = live.teardown(false).await;
        let (schema, version, tracked) = read?;
        let history = tracking::history(tracked.clone(), &list);
        let count = if tracked.is_some() {
            history.applied.len()
        } else {
            list.len()
        };
        (
            schema,
            version,
            (count, history.applied, tracked.map(|t| t.table)),
        )
    };
    let (count, applied, tracking_table) = applied_count;

    progress.status("applying the migrations to a disposable database…");
    let start = server;
    let mut scratch = signals.guard((spec.start)(&start)).await?;
    let indexes: Vec<usize> = if tracking_table.is_some() {
        applied
    } else {
        (0..list.len()).collect()
    };
    let built = signals
        .guard(async {
            for &i in &indexes {
                let m = &list[i];
                if m.unsupported.is_some() {
                    continue;
                }
                super::up_applied(m, scratch.apply(&m.up).await?, " on a fresh database")?;
            }
            scratch.schema().await
        })
        .await;
    progress.finish();
    let _ = scratch.teardown(false).await;
    let expected = built?;

    let changes = diff(
        &structural(filtered(&expected, &args.ignore)),
        &structural(filtered(&live_schema, &args.ignore)),
        ("migrations", "live"),
    );
    let mut findings = Vec::new();
    for change in &changes.objects {
        let what = match change.change {
            Change::Removed => "is missing in the live database",
            Change::Added => "exists only in the live database",
            _ => "differs from what the migrations produce",
        };
        let object = change.reference.clone();
        let plain = object.rsplit('.').next().unwrap_or(&object).to_string();
        findings.push(
            Finding::new(
                FindingKind::SchemaDrift,
                format!("{} {object} {what}", change.kind),
            )
            .object(
                object.clone(),
                change.table.as_deref().or(Some(&plain)),
                None,
            )
            .detail("diff", change.diff.clone()),
        );
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
            .severity(Severity::Warning)
            .detail("column_order", true),
        );
    }
    let mut report = Report {
        version: 1,
        tool: report::tool_name(),
        command: "drift".into(),
        engine: spec.name.into(),
        server_version: Some(server_version),
        server_settings: BTreeMap::new(),
        status: Status::Pass,
        migration_format: Some(format.name().into()),
        started_at,
        duration_ms: started.elapsed().as_millis() as u64,
        seed: None,
        migrations: Vec::new(),
        tables: Vec::new(),
        timeline: Vec::new(),
        data_changes: Vec::new(),
        findings,
        summary: Default::default(),
    };
    let fail_on = args
        .fail_on
        .map(Severity::from)
        .or(config.fail_on)
        .unwrap_or(Severity::Error);
    report.finish(fail_on, 0);
    let facts = DriftFacts {
        url: redact_url(&args.url),
        compared: count,
        tracking_table: tracking_table.map(str::to_string),
    };
    let format = args.format.unwrap_or(Format::Human);
    let human = HumanText::Drift(&facts);
    super::write_report(&report, format, human, args.output.as_deref())?;
    Ok(super::exit_code(&report))
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
