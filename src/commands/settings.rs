//! `driftless config`: the effective settings and where each came from (a flag, a line of
//! `driftless.toml`, or the default), so a user can see why driftless did what it did.

use std::fmt::Write as _;

use crate::cli::{CommonArgs, MigrationArgs};
use crate::config::Config;
use crate::{ExitCode, Result};

/// One setting: its key as `driftless.toml` spells it, its value as TOML, and its source.
struct Setting {
    key: String,
    value: String,
    source: String,
}

/// Prints the effective settings as TOML with the source of each as a comment.
pub fn run(common: &CommonArgs, migrations: &MigrationArgs) -> Result<ExitCode> {
    let config = Config::load(common.config.as_deref())?;
    let engine = super::resolve_engine(common.engine.clone(), &config, None)?;
    print!("{}", render(&config, common, migrations, engine.name));
    Ok(ExitCode::Pass)
}

fn render(
    config: &Config,
    common: &CommonArgs,
    migrations: &MigrationArgs,
    engine: &str,
) -> String {
    let mut text = match &config.source {
        Some((path, _)) => format!(
            "# from {}\n",
            crate::migrations::display_path(path).display()
        ),
        None => "# no driftless.toml in this folder or a parent: defaults and flags only\n".into(),
    };
    let settings = settings(config, common, migrations, engine);
    let width = settings
        .iter()
        .map(|s| s.key.len() + s.value.len() + 3)
        .max()
        .unwrap_or(0);
    let mut table = None;
    for s in settings {
        let (section, key) = match s.key.split_once('.') {
            Some((section, key)) => (Some(section.to_string()), key.to_string()),
            None => (None, s.key.clone()),
        };
        if section != table {
            let _ = writeln!(text, "\n[{}]", section.as_deref().unwrap_or_default());
            table = section;
        }
        let line = format!("{key} = {}", s.value);
        let _ = writeln!(text, "{line:<width$}  # {}", s.source);
    }
    if !config.allow.is_empty() {
        let rules = crate::report::plural(config.allow.len(), "[[allow]] rule");
        let _ = writeln!(text, "\n# and {rules} in {}", file_name(config));
    }
    text
}

fn settings(
    config: &Config,
    common: &CommonArgs,
    migrations: &MigrationArgs,
    engine: &str,
) -> Vec<Setting> {
    let from = |table: Option<&str>, key: &str, fallback: &str| match config.line_of(table, key) {
        Some(line) => format!("{}:{line}", file_name(config)),
        None => fallback.to_string(),
    };
    let quoted = |s: &str| format!("{s:?}");
    let mut out = vec![
        Setting {
            key: "engine".into(),
            value: quoted(engine),
            source: if common.engine.is_some() {
                "--engine".into()
            } else {
                from(None, "engine", "default")
            },
        },
        Setting {
            key: "migrations".into(),
            value: quoted(
                &super::migrations_dir(migrations.dir.as_deref(), config)
                    .display()
                    .to_string(),
            ),
            source: if migrations.dir.is_some() {
                "--migrations".into()
            } else {
                from(None, "migrations", "default")
            },
        },
    ];
    let format = migrations.format.or(config.migration_format);
    out.push(Setting {
        key: "migration_format".into(),
        value: quoted(&format.map_or("detected".to_string(), |f| format!("{f:?}").to_lowercase())),
        source: if migrations.format.is_some() {
            "--migration-format".into()
        } else {
            from(
                None,
                "migration_format",
                "default: detected from the folder",
            )
        },
    });
    out.extend(file_settings(config, &from));
    out
}

/// The settings only the file (or a default) gives, in the order of the file's reference.
fn file_settings(
    config: &Config,
    from: &dyn Fn(Option<&str>, &str, &str) -> String,
) -> Vec<Setting> {
    let quoted = |s: &str| format!("{s:?}");
    let list = |items: &[String]| {
        let items: Vec<String> = items.iter().map(|s| quoted(s)).collect();
        format!("[{}]", items.join(", "))
    };
    let path = |p: &Option<std::path::PathBuf>, default: &str| {
        p.as_deref().map_or(default.to_string(), |p| {
            config.resolve(p).display().to_string()
        })
    };
    let mut rows: Vec<(Option<&str>, &str, String, &str)> = vec![
        (
            None,
            "checks",
            quoted(&path(&config.checks, "checks")),
            "default: ./checks if it exists",
        ),
        (
            None,
            "rows",
            config.rows.map_or("200".into(), |n| n.to_string()),
            "default (check; seed: 1000)",
        ),
        (
            None,
            "seed",
            config.seed.unwrap_or(42).to_string(),
            "default",
        ),
        (
            None,
            "fail_on",
            quoted(
                config
                    .fail_on
                    .unwrap_or(crate::report::Severity::Error)
                    .as_str(),
            ),
            "default",
        ),
        (
            None,
            "format",
            quoted(config.format.map_or("human", |f| f.name())),
            "default",
        ),
        (
            None,
            "statement_timeout",
            quoted(config.statement_timeout.as_deref().unwrap_or("5m")),
            "default",
        ),
        (
            None,
            "lock_timeout",
            quoted(config.lock_timeout.as_deref().unwrap_or("server's")),
            "default: the server's",
        ),
        (
            None,
            "migration_role",
            quoted(config.migration_role.as_deref().unwrap_or("none")),
            "default: the server's superuser",
        ),
        (
            None,
            "lint",
            config.lint.unwrap_or(true).to_string(),
            "default",
        ),
        (
            None,
            "sql_mode",
            quoted(config.sql_mode.as_deref().unwrap_or("server's")),
            "default: the server's",
        ),
        (
            None,
            "bin_dir",
            quoted(&path(&config.bin_dir, "searched")),
            "default: PATH and the usual install locations",
        ),
        (
            Some("postgres"),
            "version",
            quoted(
                config
                    .postgres
                    .version
                    .as_deref()
                    .unwrap_or("newest installed"),
            ),
            "default",
        ),
        (
            Some("postgres"),
            "session",
            list(&config.postgres.session),
            "default: none",
        ),
        (
            Some("mysql"),
            "session",
            list(&config.mysql.session),
            "default: none",
        ),
    ];
    for (kind, severity) in &config.severity {
        rows.push((Some("severity"), kind, quoted(severity.as_str()), ""));
    }
    rows.into_iter()
        .map(|(table, key, value, fallback)| Setting {
            key: table.map_or(key.to_string(), |t| format!("{t}.{key}")),
            value,
            source: from(table, key, fallback),
        })
        .collect()
}

fn file_name(config: &Config) -> String {
    config
        .source
        .as_ref()
        .map(|(p, _)| crate::migrations::display_path(p).display().to_string())
        .unwrap_or_else(|| crate::config::DEFAULT_FILE.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_setting_names_its_source() {
        let text = "rows = 50\n[postgres]\nversion = \"17\"\n[severity]\nlock_risk = \"error\"\n";
        let mut config = Config::parse(text).unwrap();
        config.source = Some(("driftless.toml".into(), text.into()));
        let common = CommonArgs {
            engine: Some("pg".into()),
            ..CommonArgs::default()
        };
        let shown = render(&config, &common, &MigrationArgs::default(), "postgres");
        let line = |key: &str| {
            shown
                .lines()
                .find(|l| l.starts_with(&format!("{key} =")))
                .unwrap_or_else(|| panic!("no {key} in\n{shown}"))
                .to_string()
        };
        assert!(line("engine").ends_with("# --engine"), "{shown}");
        assert!(line("rows").contains("50") && line("rows").ends_with("# driftless.toml:1"));
        assert!(line("version").ends_with("# driftless.toml:3"), "{shown}");
        assert!(line("lock_risk").ends_with("# driftless.toml:5"), "{shown}");
        assert!(line("seed").ends_with("# default"), "{shown}");
        assert!(shown.contains("\n[postgres]\n"), "{shown}");
        let parsed: toml::Table = toml::from_str(&shown).expect("the output is TOML");
        assert_eq!(parsed["rows"].as_integer(), Some(50));
    }
}
