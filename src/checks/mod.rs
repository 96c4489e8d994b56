//! Invariant checks: `checks/*.sql`, one query each that returns the violating rows.
//!
//! An empty result passes. Optional header comments before the query:
//!
//! ```sql
//! -- severity: warning          (default: error)
//! -- after: 20240101000003      (run only after migrations with this version or later)
//! -- engine: postgres           (run only on this engine)
//! -- description: every order has a customer
//! select o.id from orders o left join customers c on c.id = o.customer_id where c.id is null;
//! ```

use std::path::{Path, PathBuf};

use crate::migrations::{Splitter, compare_versions, display_path, read_text};
use crate::report::Severity;
use crate::{Error, Result};

/// One check query and its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The file stem, used as the check's name in findings.
    pub name: String,
    pub path: PathBuf,
    /// The query without its trailing semicolon.
    pub sql: String,
    /// 1-based line where the query starts.
    pub line: usize,
    pub severity: Severity,
    pub after: Option<String>,
    pub engine: Option<String>,
    pub description: Option<String>,
}

impl Check {
    /// Whether the check runs after the up of `version` on `engine`.
    pub fn applies(&self, version: &str, engine: &str) -> bool {
        self.engine.as_deref().is_none_or(|e| e == engine)
            && self
                .after
                .as_deref()
                .is_none_or(|after| compare_versions(version, after).is_ge())
    }
}

/// The files an engine's checks are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckFormat {
    /// `*.sql`: one query (split with the engine's splitter) returning the violating rows.
    Sql,
    /// `*.mongo.json`: a collection and an aggregation pipeline returning the violating
    /// documents.
    Pipeline,
}

impl CheckFormat {
    fn extension(self) -> &'static str {
        match self {
            CheckFormat::Sql => ".sql",
            CheckFormat::Pipeline => ".mongo.json",
        }
    }
}

/// Loads the checks of `dir` written in `format`, sorted by file name; SQL checks are split
/// with `split`. A missing dir is an error only when the user named it (`required`).
pub fn load_checks(
    dir: &Path,
    required: bool,
    format: CheckFormat,
    split: Splitter,
) -> Result<Vec<Check>> {
    if !dir.exists() {
        if required {
            return Err(Error::input(format!(
                "checks directory {} does not exist",
                display_path(dir).display()
            )));
        }
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            name.ends_with(format.extension()) && p.is_file()
        })
        .collect();
    paths.sort();
    match format {
        CheckFormat::Pipeline => paths.iter().map(|p| parse_pipeline_check(p)).collect(),
        CheckFormat::Sql => paths.iter().map(|p| parse_check(p, split)).collect(),
    }
}

/// A pipeline check: `{"collection": …, "pipeline": […]}` returning the violating documents,
/// with optional `severity`, `after`, `description`. Only loaded for an engine whose checks
/// are pipelines, so it needs no `engine` of its own.
fn parse_pipeline_check(path: &Path) -> Result<Check> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        collection: String,
        pipeline: Vec<serde_json::Map<String, serde_json::Value>>,
        severity: Option<String>,
        after: Option<serde_json::Value>,
        description: Option<String>,
    }
    let text = read_text(path)?;
    let shown = display_path(path);
    let at = |line: usize, message: String| Error::InputAt {
        path: shown.clone(),
        line,
        message,
    };
    let file: File = serde_json::from_str(&text).map_err(|e| {
        at(
            e.line().max(1),
            format!("a MongoDB check is {{\"collection\": …, \"pipeline\": […]}}: {e}"),
        )
    })?;
    let severity = match file.severity.as_deref() {
        None => Severity::Error,
        Some(s) => Severity::parse(s).ok_or_else(|| {
            at(
                1,
                format!("unknown severity `{s}`; use error, warning or info"),
            )
        })?,
    };
    let name = path
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .trim_end_matches(".mongo.json")
                .to_string()
        })
        .unwrap_or_default();
    Ok(Check {
        name,
        path: shown.clone(),
        sql: serde_json::json!({"collection": file.collection, "pipeline": file.pipeline})
            .to_string(),
        line: 1,
        severity,
        after: file.after.map(|a| match a {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        }),
        engine: None,
        description: file.description,
    })
}

fn parse_check(path: &Path, split: Splitter) -> Result<Check> {
    let text = read_text(path)?;
    let shown = display_path(path);
    let at = |line: usize, message: String| Error::InputAt {
        path: shown.clone(),
        line,
        message,
    };
    let mut check = Check {
        name: path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        path: shown.clone(),
        sql: String::new(),
        line: 1,
        severity: Severity::Error,
        after: None,
        engine: None,
        description: None,
    };
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let Some(comment) = line.strip_prefix("--") else {
            if line.is_empty() {
                continue;
            }
            break;
        };
        let Some((key, value)) = comment.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "severity" => {
                check.severity = Severity::parse(value).ok_or_else(|| {
                    at(
                        index + 1,
                        format!("unknown severity `{value}`; use error, warning or info"),
                    )
                })?;
            }
            "after" => {
                if value.is_empty() || value.contains(char::is_whitespace) {
                    return Err(at(
                        index + 1,
                        format!("`after:` needs a migration version, got `{value}`"),
                    ));
                }
                check.after = Some(value.to_string());
            }
            "engine" => check.engine = Some(value.to_string()),
            "description" => check.description = Some(value.to_string()),
            _ => {}
        }
    }
    let statements = split(&text).map_err(|e| at(e.line, e.message))?;
    match statements.as_slice() {
        [one] if !is_query(&one.sql) => Err(at(
            one.line,
            "a check is a query that returns the violating rows (SELECT, WITH, VALUES or \
             TABLE); this statement would change the database"
                .into(),
        )),
        [one] => {
            check.sql = one.sql.clone();
            check.line = one.line;
            Ok(check)
        }
        [] => Err(at(1, "check file has no query".into())),
        [_, second, ..] => Err(at(
            second.line,
            "check file must hold exactly one query (it returns the violating rows)".into(),
        )),
    }
}

/// Whether `sql` reads (its first word, comments aside, starts a query).
fn is_query(sql: &str) -> bool {
    let first = crate::migrations::first_code_line(sql)
        .trim_start_matches('(')
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    matches!(first.as_str(), "select" | "with" | "values" | "table")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(
        text: &str,
    ) -> std::result::Result<Vec<crate::migrations::Statement>, crate::migrations::SplitError> {
        (crate::engine::splitter("postgres").unwrap())(text)
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_headers_and_query() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "orphans.sql",
            "-- severity: warning\n-- after: 0003\n\nselect 1 where false;\n",
        );
        let c = parse_check(&p, split).unwrap();
        assert_eq!(c.name, "orphans");
        assert_eq!(c.severity, Severity::Warning);
        assert_eq!(c.after.as_deref(), Some("0003"));
        assert_eq!(c.sql, "select 1 where false");
        assert_eq!(c.line, 4);
        assert!(!c.applies("2", "postgres"));
        assert!(c.applies("3", "postgres"));
        assert!(c.applies("10", "postgres"));
    }

    #[test]
    fn rejects_two_queries_and_bad_severity() {
        let dir = tempfile::tempdir().unwrap();
        let two = write(dir.path(), "two.sql", "select 1;\nselect 2;\n");
        assert!(matches!(
            parse_check(&two, split),
            Err(Error::InputAt { line: 2, .. })
        ));
        let bad = write(dir.path(), "bad.sql", "-- severity: fatal\nselect 1;\n");
        assert!(matches!(
            parse_check(&bad, split),
            Err(Error::InputAt { line: 1, .. })
        ));
    }

    #[test]
    fn missing_dir_is_fine_unless_required() {
        let missing = Path::new("/nonexistent/driftless/checks");
        assert!(
            load_checks(missing, false, CheckFormat::Sql, split)
                .unwrap()
                .is_empty()
        );
        assert!(load_checks(missing, true, CheckFormat::Pipeline, split).is_err());
    }
}
