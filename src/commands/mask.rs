//! `driftless mask`: copy a database with keyed, consistent masking of personal data.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Instant, SystemTime};

use super::Signals;
use crate::cli::MaskArgs;
use crate::config::Config;
use crate::engine::{self, Capability, Engine, EngineSpec, RowStore, SqlCopy, StartOptions};
use crate::mask::detect::Evidence;
use crate::mask::key::MaskKey;
use crate::mask::rules::Rules;
use crate::mask::subset;
use crate::mask::{self, MaskPlan, transform};
use crate::migrations::display_path;
use crate::report::Observer;
use crate::report::{self, Finding, FindingKind, Format, HumanText, Report, Severity, TableCopy};
use crate::sandbox::redact_url;
use crate::schema::SchemaSnapshot;
use crate::sql::Dialect;
use crate::{Error, ExitCode, Result};

pub async fn run(args: MaskArgs, signals: &mut Signals) -> Result<ExitCode> {
    let started = Instant::now();
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let config = Config::load(args.common.config.as_deref())?;
    // A MongoDB source may be a mongodump archive instead of a URL.
    let url = args.from.contains("://").then_some(args.from.as_str());
    let mut spec = super::resolve_engine(args.common.engine.clone(), &config, url)?;
    if url.is_none() && !spec.can(Capability::Documents) {
        spec = super::resolve_engine(args.common.engine.clone(), &config, Some(&args.from))?;
    }
    let (key, rules) = inputs(spec, &args)?;
    let server = super::server_options(&args.server, &config, spec, args.common.quiet);
    if spec.can(Capability::Documents) {
        let mut progress = report::Progress::new(args.common.quiet);
        let outcome = signals
            .guard(super::mask_documents::run(
                spec,
                &args,
                &rules,
                key.as_ref(),
                server,
                &mut progress,
            ))
            .await;
        progress.finish();
        return finish(outcome?, spec, &args, &config, started, started_at);
    }
    let source_options = StartOptions {
        url: Some(args.from.clone()),
        bin_dir: server.bin_dir.clone(),
        in_place: true,
        read_only: true,
        hidden_tables: server.hidden_tables.clone(),
        ..StartOptions::default()
    };
    let mut progress = report::Progress::new(args.common.quiet);
    progress.status("connecting to the source…");
    let mut source = signals.guard((spec.start)(&source_options)).await?;
    let outcome = signals
        .guard(with_source(
            spec,
            source.as_mut(),
            &args,
            &rules,
            key.as_ref(),
            server,
            &mut progress,
        ))
        .await;
    progress.finish();
    let _ = source.teardown(false).await;
    finish(outcome?, spec, &args, &config, started, started_at)
}

/// Prints `--detect`'s rules, or writes the report of the copy.
fn finish(
    outcome: Outcome,
    spec: &EngineSpec,
    args: &MaskArgs,
    config: &Config,
    started: Instant,
    started_at: String,
) -> Result<ExitCode> {
    let done = match outcome {
        Outcome::Detected(text) => {
            print!("{text}");
            return Ok(ExitCode::Pass);
        }
        Outcome::Done(done) => done,
    };
    let mut report = Report::new("mask", spec.name, started_at);
    report.server_version = Some(done.server_version);
    report.tables = done.tables;
    report.findings = done.findings;
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.finish(args.report.fail_on(config), 0);
    let format = args.report.format.unwrap_or(Format::Human);
    let human = HumanText::Mask {
        target: &done.target,
    };
    super::write_report(
        &report,
        format,
        human,
        args.report.output.as_deref(),
        super::Presentation::of(&args.common),
    )?;
    Ok(super::exit_code(&report))
}

/// Everything that can be wrong with the input, found before connecting: the engine, the
/// target, the key and the rules file.
fn inputs(spec: &EngineSpec, args: &MaskArgs) -> Result<(Option<MaskKey>, Rules)> {
    spec.require(Capability::Mask, "mask")?;
    if let Some(to) = &args.to
        && !spec
            .url_schemes
            .iter()
            .any(|s| to.starts_with(&format!("{s}://")))
    {
        return Err(Error::input(format!(
            "--to must be a {} URL like --from",
            spec.name
        )));
    }
    let key = if args.detect {
        None
    } else {
        Some(MaskKey::load(args.key_file.as_deref(), args.ephemeral_key)?)
    };
    let rules = match &args.rules {
        Some(path) => Rules::load(path)?,
        None => Rules::default(),
    };
    if !args.detect && args.to.is_none() && args.out.is_none() {
        return Err(Error::input(
            "say where the masked copy goes: --to URL (an empty database) or --out FILE (a dump)",
        ));
    }
    if let Some(out) = &args.out
        && out.exists()
    {
        return Err(Error::input(format!(
            "--out {} already exists; driftless will not overwrite it",
            display_path(out).display()
        )));
    }
    Ok((key, rules))
}

pub(super) enum Outcome {
    /// `--detect`: the suggested rules file.
    Detected(String),
    Done(Done),
}

pub(super) struct Done {
    pub server_version: String,
    pub tables: Vec<TableCopy>,
    pub findings: Vec<Finding>,
    /// Where the copy went, for the human summary.
    pub target: String,
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
    let schema = source.schema().await?;
    let dialect = engine::rows_for(source, "mask")?.dialect();
    let copier = engine::copier_for(source, "mask")?;
    let snapshot = copier.begin_snapshot().await?;
    progress.status("sampling for personal data…");
    let evidence = mask::detect_all(copier, &schema).await?;
    if args.detect {
        return Ok(Outcome::Detected(suggest(
            &schema, &evidence, rules, &args.from,
        )));
    }
    let key = key.expect("a key outside --detect");
    let order: Vec<String> =
        crate::seed::plan::fill_order(&schema, &mask::copied_tables(&schema), true)?
            .into_iter()
            .map(|(name, _)| name)
            .collect();
    let filters = subset::filters(dialect, &schema, &order, &args.subset)?;
    let mut plan = mask::plan(&schema, rules, &filters)?;
    let severity = if args.strict {
        Severity::Error
    } else {
        Severity::Warning
    };
    let mut findings = Vec::new();
    if !args.strict && !args.allow_unmasked {
        // A column that looks personal is never copied as it is: without a rule of the
        // user's, the rule `--detect` suggests applies.
        // Foreign key columns follow their parent (or stay as it does): a rule of their own
        // would break the key.
        let in_key = |table: &str, column: &str| {
            schema.tables.get(table).is_some_and(|t| {
                t.foreign_keys
                    .iter()
                    .any(|fk| fk.columns.iter().any(|c| c == column))
            })
        };
        let missing: BTreeMap<(String, String), Evidence> = mask::unmasked(&plan, rules, &evidence)
            .into_iter()
            .filter(|((t, c), _)| !in_key(t, c))
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect();
        if !missing.is_empty() {
            let text = suggest(&schema, &missing, rules, &args.from);
            let detected = Rules::parse(&text).map_err(|(_, m)| Error::input(m))?;
            let mut merged = rules.clone();
            for (table, columns) in detected.tables {
                for (column, rule) in columns {
                    let how = rule.transform.describe();
                    let entry = merged.tables.entry(table.clone()).or_default();
                    if entry.contains_key(&column) {
                        continue;
                    }
                    entry.insert(column.clone(), rule);
                    let Some(((qualified, _), e)) = missing.iter().find(|((t, c), _)| {
                        *c == column
                            && (*t == table || t.rsplit('.').next() == Some(table.as_str()))
                    }) else {
                        continue;
                    };
                    let mut finding = unmasked_finding(qualified, &column, e, Severity::Info);
                    finding.message = format!(
                        "{qualified}.{column} looks like {} and has no masking rule: masked with `{how}` (the detected rule; --allow-unmasked copies it as it is)",
                        e.kind
                    );
                    findings.push(finding);
                }
            }
            plan = mask::plan(&schema, &merged, &filters)?;
        }
    }
    findings.extend(
        mask::unmasked(&plan, rules, &evidence)
            .into_iter()
            .map(|((table, column), evidence)| unmasked_finding(table, column, evidence, severity)),
    );
    if args.strict && !findings.is_empty() {
        return Ok(Outcome::Done(Done {
            server_version,
            tables: Vec::new(),
            findings,
            target: "nothing (--strict: unmasked personal data)".into(),
        }));
    }
    let copy = Copy {
        schema: &schema,
        plan: &plan,
        key,
        snapshot: snapshot.as_deref(),
    };
    let (tables, drift) = into_target(spec, copier, &copy, args, server, progress).await?;
    findings.extend(drift);
    Ok(Outcome::Done(Done {
        server_version,
        tables,
        findings,
        target: target_names(args),
    }))
}

/// What is copied: the source's schema, the mask plan, the key, the source's snapshot.
struct Copy<'a> {
    schema: &'a SchemaSnapshot,
    plan: &'a MaskPlan,
    key: &'a MaskKey,
    snapshot: Option<&'a str>,
}

/// Where the copy went, for the human summary.
pub(super) fn target_names(args: &MaskArgs) -> String {
    let mut place = Vec::new();
    if let Some(to) = &args.to {
        place.push(redact_url(to));
    }
    if let Some(out) = &args.out {
        place.push(display_path(out).display().to_string());
    }
    place.join(" and ")
}

/// Starts the target (the given empty database, or a disposable one that is dumped), fills
/// it, and tears it down.
async fn into_target(
    spec: &'static EngineSpec,
    source: &mut dyn SqlCopy,
    copy: &Copy<'_>,
    args: &MaskArgs,
    server: StartOptions,
    progress: &mut report::Progress,
) -> Result<(Vec<TableCopy>, Vec<Finding>)> {
    let target_options = match &args.to {
        Some(url) => StartOptions {
            url: Some(url.clone()),
            in_place: true,
            bin_dir: server.bin_dir,
            hidden_tables: server.hidden_tables,
            ..StartOptions::default()
        },
        None => StartOptions {
            sql_mode: None,
            ..server
        },
    };
    progress.status(&format!("starting the target {}…", spec.name));
    let mut target = (spec.start)(&target_options).await?;
    let result = fill_target(source, target.as_mut(), copy, args, progress).await;
    let torn = target.teardown(false).await;
    let filled = result?;
    torn?;
    Ok(filled)
}

/// The target must be empty: mask never writes over tables.
async fn ensure_empty(target: &mut dyn Engine) -> Result<()> {
    let existing = target.schema().await?;
    if existing.tables.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = existing.tables.keys().take(5).map(|s| s.as_str()).collect();
    Err(Error::input(format!(
        "the --to database is not empty (it has {} tables: {}…); mask writes into an empty database",
        existing.tables.len(),
        names.join(", ")
    )))
}

async fn fill_target(
    source: &mut dyn SqlCopy,
    target: &mut dyn Engine,
    copy: &Copy<'_>,
    args: &MaskArgs,
    progress: &mut report::Progress,
) -> Result<(Vec<TableCopy>, Vec<Finding>)> {
    ensure_empty(target).await?;
    let (pre, post) = source.schema_ddl(copy.snapshot).await?;
    let split = target.spec().split;
    let rows = engine::rows_for(target, "mask")?;
    // PostgreSQL: all of it in one transaction, so that a failure leaves the target as empty
    // as it was. MySQL commits DDL at once: what was created is dropped again instead.
    let transactional = rows.dialect() == Dialect::Postgres;
    if transactional {
        rows.execute("BEGIN").await?;
    }
    let filled = async {
        run_script(rows, split, &pre, "the schema (before rows)").await?;
        let mut report = |table: &str, count: u64| {
            progress.seeding(table, count, count.max(1));
        };
        let tables = mask::copy(source, &mut *rows, copy.plan, copy.key, &mut report).await?;
        let after = "the schema (after rows: indexes, constraints, triggers)";
        run_script(rows, split, &post, after).await?;
        Ok::<_, Error>(tables)
    }
    .await;
    let tables = match filled {
        Ok(tables) if transactional => rows.execute("COMMIT").await.map(|()| tables)?,
        Ok(tables) => tables,
        Err(e) if transactional => {
            let _ = rows.execute("ROLLBACK").await;
            return Err(e);
        }
        Err(e) => {
            drop_created(rows, copy.schema).await;
            return Err(e);
        }
    };
    let findings = compare_copy(copy.schema, &target.schema().await?);
    if let Some(out) = &args.out {
        progress.status("writing the dump…");
        // Written beside the target and renamed when whole: an interrupted dump leaves nothing.
        let pending = crate::output::Pending::new(out)?;
        engine::copier_for(target, "mask")?
            .dump(pending.path())
            .await?;
        pending.commit()?;
    }
    Ok((tables, findings))
}

/// The copy's schema must be the source's: a `schema_drift` finding when it is not.
fn compare_copy(source: &SchemaSnapshot, copied: &SchemaSnapshot) -> Vec<Finding> {
    let drift = crate::schema::diff(
        &source.without_database_names(),
        &copied.without_database_names(),
        ("source", "masked copy"),
    );
    // One finding per object that differs, naming it.
    let objects = drift.objects.iter().map(|o| {
        (
            o.reference.clone(),
            o.table.clone(),
            format!(
                "the masked copy's {} {} differs from the source's",
                o.kind,
                crate::schema::shown(&o.reference)
            ),
            o.diff.clone(),
        )
    });
    let orders = drift.column_order.iter().map(|o| {
        (
            format!("{}.{}", o.schema, o.table),
            Some(o.table.clone()),
            format!(
                "the masked copy's table {}.{} has its columns in another order",
                o.schema, o.table
            ),
            String::new(),
        )
    });
    objects
        .chain(orders)
        .map(|(object, table, message, diff)| {
            Finding::new(FindingKind::SchemaDrift, message)
                .object(object, table.as_deref(), None)
                .detail("diff", diff)
        })
        .collect()
}

/// Drops what a failed MySQL copy created in the (previously empty) target.
async fn drop_created(target: &mut dyn RowStore, schema: &SchemaSnapshot) {
    let _ = target.execute("SET FOREIGN_KEY_CHECKS = 0").await;
    for object in schema.objects.values() {
        let what = match object.kind.as_str() {
            "table" => "TABLE",
            "view" => "VIEW",
            _ => continue,
        };
        let name = object
            .reference
            .rsplit('.')
            .next()
            .unwrap_or(&object.reference);
        let _ = target
            .execute(&format!(
                "DROP {what} IF EXISTS {}",
                crate::sql::mysql::ident(name)
            ))
            .await;
    }
}

/// Runs a DDL script statement by statement with the engine's splitter.
async fn run_script(
    target: &mut dyn RowStore,
    split: crate::migrations::Splitter,
    script: &str,
    what: &str,
) -> Result<()> {
    let statements =
        split(script).map_err(|e| Error::infra(format!("cannot split {what}: {e}")))?;
    for statement in statements {
        target
            .execute(&statement.sql)
            .await
            .map_err(|e| Error::infra(format!("cannot create {what}: {e}")))?;
    }
    Ok(())
}

pub(super) fn unmasked_finding(
    table: &str,
    column: &str,
    evidence: &Evidence,
    severity: Severity,
) -> Finding {
    let plain = table.rsplit('.').next().unwrap_or(table);
    Finding::new(
        FindingKind::UnmaskedPii,
        format!(
            "{table}.{column} looks like {} ({}) and has no masking rule",
            evidence.kind,
            evidence.describe().split_once(": ").map_or("", |(_, w)| w)
        ),
    )
    .severity(severity)
    .object(format!("{table}.{column}"), Some(plain), Some(column))
    .detail("pii", evidence.kind.to_string())
    .detail("suggested", mask::suggestion(evidence.kind).0)
}

/// `--detect`: a rules file for the columns that look personal, with the evidence.
fn suggest(
    schema: &SchemaSnapshot,
    evidence: &BTreeMap<(String, String), Evidence>,
    existing: &Rules,
    from: &str,
) -> String {
    let mut out = format!(
        "# Masking rules suggested by `driftless mask --detect` for {}\n\
         # from column names and up to {} sampled rows per table. Review them: columns not\n\
         # listed are copied as they are, and foreign keys follow their parent's rule.\n",
        redact_url(from),
        mask::SAMPLE_ROWS
    );
    let following = |table: &str, column: &str| {
        schema.tables.get(table).is_some_and(|t| {
            t.foreign_keys.iter().any(|fk| {
                fk.columns
                    .iter()
                    .position(|c| c == column)
                    .is_some_and(|i| {
                        evidence.contains_key(&(fk.ref_table.clone(), fk.ref_columns[i].clone()))
                    })
            })
        })
    };
    let mut written = 0;
    for ((table, column), e) in evidence {
        let Some(t) = schema.tables.get(table) else {
            continue;
        };
        if following(table, column) {
            continue;
        }
        let Some(c) = t.column(column) else { continue };
        let (mut name, mut lines) = mask::suggestion(e.kind);
        // What fits the column's type.
        let fits = |lines: &str| {
            Rules::parse(&format!("[t.c]\n{lines}\n"))
                .ok()
                .and_then(|r| r.get("", "t", "c").map(|r| r.transform.clone()))
                .is_some_and(|tr| transform::validate(c, &tr).is_ok())
        };
        if !fits(lines) {
            (name, lines) = if fits("transform = \"hash\"") {
                ("hash", "transform = \"hash\"")
            } else if c.nullable {
                ("null", "transform = \"null\"")
            } else {
                ("keep", "transform = \"keep\"")
            };
        }
        let header = if t.schema == "public" || schema.ordered_columns {
            format!("[{}.{column}]", t.name)
        } else {
            format!("[{}.{}.{column}]", t.schema, t.name)
        };
        let covered = existing
            .get(&t.schema, &t.name, column)
            .map(|r| format!("  (your rules: {})", r.transform.describe()))
            .unwrap_or_default();
        let _ = write!(out, "\n# {}{covered}\n{header}\n{lines}\n", e.describe());
        let _ = name;
        written += 1;
    }
    if written == 0 {
        out.push_str("\n# No column looks personal.\n");
    }
    out
}
