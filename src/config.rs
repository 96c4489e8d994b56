//! `driftless.toml`: project defaults, severity remaps and suppressions.
//!
//! ```toml
//! engine = "postgres"
//! migrations = "db/migrations"      # relative to this file
//! migration_format = "flyway"       # default: detected from the folder
//! checks = "db/checks"
//! rows = 200
//! seed = 42
//! fail_on = "error"                 # or "warning"
//! sql_mode = "STRICT_TRANS_TABLES"  # MySQL: sql_mode of the migration session
//! statement_timeout = "5m"          # a statement running longer is cancelled (a finding)
//! lock_timeout = "10s"              # a statement waiting longer for a lock is cancelled
//! lint = false                      # check: skip the static rules (driftless lint runs them)
//!
//! [postgres]
//! version = "17"                    # run on PostgreSQL 17 (fetched once when not installed)
//! session = ["SET lock_timeout = '5s'"]  # what the migration tool's runner sets first
//!
//! [mysql]
//! session = ["SET FOREIGN_KEY_CHECKS = 0"]
//!
//! [severity]                        # remap the default severity of a finding kind or lint rule
//! destructive_change = "error"
//! prefer-text = "warning"
//!
//! [[allow]]                         # turn matching findings into `info`, showing the reason
//! kind = "schema_drift"
//! migration = "20240101000003"      # optional
//! table = "users"                   # optional
//! column = "email"                  # optional, as are object and constraint
//! column_order = true               # optional: only the column-order part of drift
//! reason = "column order does not matter to us"
//! ```
//!
//! Command-line flags win over the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::migrations::{display_path, read_text};
use crate::report::{FindingKind, Format, Severity};
use crate::{Error, Result};

/// The file looked for in the working directory when `--config` is not given.
pub const DEFAULT_FILE: &str = "driftless.toml";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub engine: Option<String>,
    pub migrations: Option<PathBuf>,
    pub migration_format: Option<crate::migrations::MigrationFormat>,
    pub checks: Option<PathBuf>,
    pub rows: Option<usize>,
    pub seed: Option<u64>,
    pub fail_on: Option<Severity>,
    pub format: Option<Format>,
    /// Server binaries directory (`pg_bin` and `mysql_bin` are accepted too).
    #[serde(alias = "pg_bin", alias = "mysql_bin")]
    pub bin_dir: Option<PathBuf>,
    /// MySQL: the `sql_mode` of the migration session (default: the server's).
    pub sql_mode: Option<String>,
    /// `statement_timeout = "5m"`: as `--statement-timeout`.
    pub statement_timeout: Option<String>,
    /// `lock_timeout = "10s"`: as `--lock-timeout`.
    pub lock_timeout: Option<String>,
    /// `migration_role = "app"`: as `--migration-role`.
    pub migration_role: Option<String>,
    /// `lint = false`: `check` does not run the static rules first (as `--no-lint`).
    pub lint: Option<bool>,
    /// `[postgres]`: settings of the PostgreSQL engine.
    #[serde(default)]
    pub postgres: PostgresConfig,
    /// `[mysql]`: settings of the MySQL / MariaDB engine.
    #[serde(default)]
    pub mysql: MysqlConfig,
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
    #[serde(default)]
    pub allow: Vec<AllowRule>,
    /// The directory relative paths in the file are resolved against.
    #[serde(skip)]
    pub dir: PathBuf,
    /// The file this came from, and its text (`driftless config` names the line of each key).
    #[serde(skip)]
    pub source: Option<(PathBuf, String)>,
}

/// The `[postgres]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// The PostgreSQL version to run on (`"17"`, `"17.5"`), as `--pg-version`.
    pub version: Option<String>,
    /// Statements the migration tool's runner runs on its session before every migration.
    #[serde(default)]
    pub session: Vec<String>,
}

/// The `[mysql]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MysqlConfig {
    /// Statements the migration tool's runner runs on its session before every migration.
    #[serde(default)]
    pub session: Vec<String>,
}

/// `driftless.toml` in the working directory or the nearest parent that has one, as a path
/// relative to the working directory when it is below it.
fn nearest() -> Option<PathBuf> {
    if Path::new(DEFAULT_FILE).is_file() {
        return Some(PathBuf::from(DEFAULT_FILE));
    }
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .skip(1)
        .map(|dir| dir.join(DEFAULT_FILE))
        .find(|path| path.is_file())
}

/// A suppression from the config file.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AllowRule {
    pub kind: String,
    pub migration: Option<String>,
    pub table: Option<String>,
    /// The finding's `object`, `column` and `constraint` fields, each matched exactly.
    pub object: Option<String>,
    pub column: Option<String>,
    pub constraint: Option<String>,
    pub column_order: Option<bool>,
    pub reason: String,
}

impl Config {
    /// Reads `explicit`, or the nearest `driftless.toml` in this folder or a parent (as
    /// `.squawk.toml` and `ruff.toml` are found), or returns the defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Config> {
        let path = match explicit {
            Some(path) => {
                if !path.is_file() {
                    return Err(Error::input(format!(
                        "config file {} does not exist",
                        display_path(path).display()
                    )));
                }
                path.to_path_buf()
            }
            None => match nearest() {
                Some(path) => path,
                None => return Ok(Config::default()),
            },
        };
        let text = read_text(&path)?;
        let mut config = Config::parse(&text).map_err(|(line, message)| Error::InputAt {
            path: display_path(&path),
            line,
            message,
        })?;
        config.dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        config.source = Some((path, text));
        Ok(config)
    }

    /// `[postgres] version`, checked when the file was read.
    pub fn pg_version(&self) -> Option<crate::sandbox::WantedVersion> {
        self.postgres
            .version
            .as_deref()
            .and_then(|v| v.parse().ok())
    }

    /// The runner's session statements for `engine` (`[postgres]` or `[mysql]` `session`).
    pub fn session(&self, engine: &str) -> &[String] {
        match engine {
            "postgres" => &self.postgres.session,
            "mysql" => &self.mysql.session,
            _ => &[],
        }
    }

    /// Parses and validates the text of a config file; errors carry a 1-based line.
    pub fn parse(text: &str) -> std::result::Result<Config, (usize, String)> {
        let config: Config = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        let line_of = |needle: &str| {
            text.lines()
                .position(|l| l.contains(needle))
                .map(|i| i + 1)
                .unwrap_or(1)
        };
        let known = |name: &str| {
            FindingKind::parse(name).is_some() || crate::report::rules::find(name).is_some()
        };
        for kind in config.severity.keys() {
            if !known(kind) {
                return Err((line_of(kind), unknown_kind(kind)));
            }
        }
        if let Some(version) = &config.postgres.version
            && let Err(message) = version.parse::<crate::sandbox::WantedVersion>()
        {
            return Err((line_of("version"), format!("[postgres] version: {message}")));
        }
        for (key, value) in [
            ("statement_timeout", &config.statement_timeout),
            ("lock_timeout", &config.lock_timeout),
        ] {
            if let Some(text) = value
                && text.trim().parse::<f64>().is_err()
                && humantime::parse_duration(text.trim()).is_err()
            {
                let message = format!("{key}: `{text}` is not a duration like 30s or 5m");
                return Err((line_of(key), message));
            }
        }
        for rule in &config.allow {
            if !known(&rule.kind) {
                return Err((line_of(&rule.kind), unknown_kind(&rule.kind)));
            }
        }
        Ok(config)
    }

    /// The 1-based line of the file where `key` is set in `table` (`None`: the top level), for
    /// saying where a setting came from.
    pub fn line_of(&self, table: Option<&str>, key: &str) -> Option<usize> {
        let (_, text) = self.source.as_ref()?;
        let mut current: Option<String> = None;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if let Some(header) = line.strip_prefix('[') {
                current = Some(
                    header
                        .trim_matches(|c| c == '[' || c == ']')
                        .trim()
                        .to_string(),
                );
                continue;
            }
            let Some((name, _)) = line.split_once('=') else {
                continue;
            };
            if current.as_deref() == table && name.trim().trim_matches('"') == key {
                return Some(i + 1);
            }
        }
        None
    }

    /// `path` from the file, resolved against the file's directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.dir.join(path)
        }
    }
}

fn unknown_kind(kind: &str) -> String {
    let known: Vec<&str> = FindingKind::ALL.iter().map(|k| k.id()).collect();
    format!(
        "unknown finding kind or lint rule `{kind}`; known kinds: {} (lint rules: \
         `driftless explain`)",
        known.join(", ")
    )
}

/// A TOML error as (1-based line, message).
pub fn toml_error(text: &str, e: &toml::de::Error) -> (usize, String) {
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
        .unwrap_or(1);
    (line, e.message().trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_file() {
        let config = Config::parse(
            "engine = \"postgres\"\nrows = 50\nfail_on = \"warning\"\n\
             [severity]\ndestructive_change = \"error\"\n\
             [[allow]]\nkind = \"schema_drift\"\ncolumn_order = true\nreason = \"fine\"\n",
        )
        .unwrap();
        assert_eq!(config.rows, Some(50));
        assert_eq!(config.fail_on, Some(Severity::Warning));
        assert_eq!(config.severity["destructive_change"], Severity::Error);
        assert_eq!(config.allow[0].column_order, Some(true));
    }

    #[test]
    fn the_line_of_a_key_is_found_in_its_table() {
        let text = "rows = 5\n[postgres]\nversion = \"17\"\n[mysql]\nsession = []\n";
        let mut config = Config::parse(text).unwrap();
        config.source = Some((PathBuf::from("driftless.toml"), text.to_string()));
        assert_eq!(config.line_of(None, "rows"), Some(1));
        assert_eq!(config.line_of(Some("postgres"), "version"), Some(3));
        assert_eq!(config.line_of(Some("postgres"), "session"), None);
        assert_eq!(config.line_of(Some("mysql"), "session"), Some(5));
        assert_eq!(config.line_of(None, "version"), None);
    }

    #[test]
    fn errors_name_the_line() {
        let (line, message) = Config::parse("rows = 5\nbogus = 1\n").unwrap_err();
        assert_eq!(line, 2);
        assert!(message.contains("bogus"), "{message}");
        let (line, message) = Config::parse("[severity]\n\ndata_lost = \"info\"\n").unwrap_err();
        assert_eq!(line, 3);
        assert!(message.contains("unknown finding kind"));
    }
}
