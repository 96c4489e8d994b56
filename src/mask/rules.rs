//! The masking rules file (`fixtures/masking.toml`): a transformer per column.
//!
//! ```toml
//! [users.email]
//! transform = "email"          # keep_domain = true keeps the original domain
//!
//! [users.first_name]
//! transform = "fake"           # generator = "first_name", locale = "de_de"
//!
//! [users.ssn]
//! transform = "partial"
//! keep_last = 4
//!
//! [orders.total]
//! transform = "noise"
//! relative = 0.1               # or absolute = 5, or days = 30 for dates
//!
//! [users.full_name]
//! transform = "template"
//! template = "{first_name} {last_name}"
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use crate::migrations::{display_path, read_text};
use crate::seed::overrides::GENERATORS;
use crate::seed::values::Locale;
use crate::{Error, Result};

/// Transformer names, for messages.
pub const TRANSFORMS: &[&str] = &[
    "keep", "null", "constant", "redact", "partial", "hash", "fake", "noise", "shuffle", "email",
    "template", "scrub",
];

/// What to do with one column's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Transform {
    /// Copied as it is.
    Keep,
    Null,
    Constant(String),
    /// Letters become `x`, digits `0`; other characters and the length stay.
    Redact,
    /// Like `Redact`, but the last `keep_last` characters stay.
    Partial {
        keep_last: usize,
    },
    /// Keyed, type- and length-preserving: letters stay letters, digits digits.
    Hash,
    /// A realistic value of the column's kind, chosen by the keyed hash of the original.
    Fake {
        generator: Option<String>,
        locale: Locale,
    },
    /// Numbers moved by up to `relative` (share) or `absolute`; dates by up to `days`.
    Noise {
        relative: Option<f64>,
        absolute: Option<f64>,
        days: Option<i64>,
    },
    /// The column's values, permuted among its rows.
    Shuffle,
    /// A synthetic mailbox; the original domain stays with `keep_domain`.
    Email {
        keep_domain: bool,
    },
    /// Other (masked) columns of the row: `"{first_name} {last_name}"`.
    Template(String),
    /// Free text with the emails, phone and card numbers, IBANs, IPs, IDs and secrets inside
    /// replaced; the rest stays.
    Scrub,
}

impl Transform {
    /// The transformer's name and parameters, as the report shows them.
    pub fn describe(&self) -> String {
        match self {
            Transform::Keep => "keep".into(),
            Transform::Null => "null".into(),
            Transform::Constant(v) => format!("constant {v:?}"),
            Transform::Redact => "redact".into(),
            Transform::Partial { keep_last } => format!("partial (last {keep_last})"),
            Transform::Hash => "hash".into(),
            Transform::Fake { generator, locale } => {
                let mut s = "fake".to_string();
                if let Some(g) = generator {
                    s.push_str(&format!(" {g}"));
                }
                if *locale != Locale::En {
                    s.push_str(&format!(" ({locale:?})"));
                }
                s
            }
            Transform::Noise {
                relative,
                absolute,
                days,
            } => match (relative, absolute, days) {
                (Some(r), _, _) => format!("noise ±{:.0}%", r * 100.0),
                (_, Some(a), _) => format!("noise ±{a}"),
                (_, _, Some(d)) => format!("noise ±{d} days"),
                _ => "noise".into(),
            },
            Transform::Shuffle => "shuffle".into(),
            Transform::Email { keep_domain } => {
                if *keep_domain {
                    "email (domain kept)".into()
                } else {
                    "email".into()
                }
            }
            Transform::Template(t) => format!("template {t:?}"),
            Transform::Scrub => "scrub".into(),
        }
    }

    /// The HMAC domain: the same transformer with the same parameters gives the same output
    /// for the same input in every table, so masked keys and emails still join.
    pub fn domain(&self) -> String {
        format!("{self:?}")
    }
}

/// A rule and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub transform: Transform,
    pub line: usize,
}

/// All rules: table (as written: plain or qualified) → column → rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rules {
    pub tables: BTreeMap<String, BTreeMap<String, Rule>>,
    /// The file they came from, for messages.
    pub path: Option<std::path::PathBuf>,
}

impl Rules {
    pub fn load(path: &Path) -> Result<Rules> {
        let text = read_text(path)?;
        let mut rules = Rules::parse(&text).map_err(|(line, message)| Error::InputAt {
            path: display_path(path),
            line,
            message,
        })?;
        rules.path = Some(display_path(path));
        Ok(rules)
    }

    pub fn parse(text: &str) -> std::result::Result<Rules, (usize, String)> {
        let doc: toml::Table =
            toml::from_str(text).map_err(|e| crate::config::toml_error(text, &e))?;
        // The line of the section `[table.column]` (as written: bare or quoted parts).
        let line_of = |table: &str, column: &str| {
            let wanted = format!("{table}.{column}");
            text.lines()
                .position(|l| {
                    let l = l.trim();
                    l.starts_with('[')
                        && l[1..]
                            .split(']')
                            .next()
                            .is_some_and(|h| h.replace(['"', '\'', ' '], "") == wanted)
                })
                .map_or(1, |i| i + 1)
        };
        let mut rules = Rules::default();
        // A section with `transform` is a rule; its header's last part is the column (or, for
        // documents, the rest of the field path), what comes before it the table:
        // `[users.email]`, `[public.users.email]`, `[users."profile.email"]`.
        let mut found: Vec<(Vec<String>, toml::Table)> = Vec::new();
        let mut pending: Vec<(Vec<String>, toml::Value)> =
            doc.into_iter().map(|(k, v)| (vec![k], v)).collect();
        while let Some((path, value)) = pending.pop() {
            let shown = path.join(".");
            let toml::Value::Table(fields) = value else {
                let line = if path.len() >= 2 {
                    line_of(&path[..path.len() - 1].join("."), &path[path.len() - 1])
                } else {
                    1
                };
                return Err((
                    line,
                    format!("`{shown}` must be a section of a column: [<table>.<column>]"),
                ));
            };
            if fields.contains_key("transform") || fields.values().any(|v| !v.is_table()) {
                if path.len() < 2 {
                    return Err((1, format!("[{shown}] names no column: [{shown}.<column>]")));
                }
                found.push((path, fields));
                continue;
            }
            if fields.is_empty() {
                return Err((1, format!("[{shown}] has no `transform`")));
            }
            for (k, v) in fields {
                let mut deeper = path.clone();
                deeper.push(k);
                pending.push((deeper, v));
            }
        }
        for (path, fields) in found {
            let (column, table) = path.split_last().expect("two parts or more");
            let table = table.join(".");
            let line = line_of(&table, column);
            let transform =
                transform(&fields).map_err(|m| (line, format!("{table}.{column}: {m}")))?;
            rules
                .tables
                .entry(table)
                .or_default()
                .insert(column.clone(), Rule { transform, line });
        }
        Ok(rules)
    }

    /// The rule of `schema.table.column`, looked up by qualified, then plain table name.
    pub fn get(&self, schema: &str, table: &str, column: &str) -> Option<&Rule> {
        self.tables
            .get(&format!("{schema}.{table}"))
            .or_else(|| self.tables.get(table))
            .and_then(|t| t.get(column))
    }
}

fn text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

fn number(fields: &toml::Table, key: &str) -> std::result::Result<Option<f64>, String> {
    match fields.get(key) {
        None => Ok(None),
        Some(toml::Value::Integer(n)) => Ok(Some(*n as f64)),
        Some(toml::Value::Float(f)) => Ok(Some(*f)),
        Some(other) => Err(format!("`{key}` must be a number, got {}", text(other))),
    }
}

fn transform(fields: &toml::Table) -> std::result::Result<Transform, String> {
    let name = fields
        .get("transform")
        .map(text)
        .ok_or_else(|| format!("no `transform`; one of: {}", TRANSFORMS.join(", ")))?;
    check_options(&name, fields)?;
    Ok(match name.as_str() {
        "keep" => Transform::Keep,
        "null" => Transform::Null,
        "constant" => Transform::Constant(
            fields
                .get("value")
                .map(text)
                .ok_or("`constant` needs `value`")?,
        ),
        "redact" => Transform::Redact,
        "partial" => Transform::Partial {
            keep_last: number(fields, "keep_last")?.unwrap_or(4.0).max(0.0) as usize,
        },
        "hash" => Transform::Hash,
        "fake" => fake(fields)?,
        "noise" => noise(fields)?,
        "shuffle" => Transform::Shuffle,
        "email" => Transform::Email {
            keep_domain: matches!(fields.get("keep_domain"), Some(toml::Value::Boolean(true))),
        },
        "template" => Transform::Template(
            fields
                .get("template")
                .map(text)
                .ok_or("`template` needs `template = \"{column} …\"`")?,
        ),
        "scrub" => Transform::Scrub,
        other => {
            return Err(format!(
                "unknown transform `{other}`; one of: {}",
                TRANSFORMS.join(", ")
            ));
        }
    })
}

/// Refuses options the transformer `name` does not have.
fn check_options(name: &str, fields: &toml::Table) -> std::result::Result<(), String> {
    let allowed: &[&str] = match name {
        "constant" => &["value"],
        "partial" => &["keep_last"],
        "fake" => &["generator", "locale"],
        "noise" => &["relative", "absolute", "days"],
        "email" => &["keep_domain"],
        "template" => &["template"],
        _ => &[],
    };
    match fields
        .keys()
        .find(|k| *k != "transform" && !allowed.contains(&k.as_str()))
    {
        Some(key) => Err(format!("`{key}` is not an option of `{name}`")),
        None => Ok(()),
    }
}

fn fake(fields: &toml::Table) -> std::result::Result<Transform, String> {
    let generator = fields.get("generator").map(text);
    if let Some(g) = &generator
        && !GENERATORS.contains(&g.as_str())
    {
        return Err(format!(
            "unknown generator `{g}`; known: {}",
            GENERATORS.join(", ")
        ));
    }
    let locale = match fields.get("locale").map(text) {
        Some(l) => Locale::parse(&l)
            .ok_or_else(|| format!("unknown locale `{l}`; known: {}", Locale::NAMES.join(", ")))?,
        None => Locale::En,
    };
    Ok(Transform::Fake { generator, locale })
}

fn noise(fields: &toml::Table) -> std::result::Result<Transform, String> {
    let relative = number(fields, "relative")?;
    let absolute = number(fields, "absolute")?;
    let days = number(fields, "days")?.map(|d| d as i64);
    if relative.is_none() && absolute.is_none() && days.is_none() {
        return Err("`noise` needs `relative`, `absolute` or `days`".into());
    }
    Ok(Transform::Noise {
        relative,
        absolute,
        days,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rules_and_points_at_mistakes() {
        let rules = Rules::parse(
            "[users.email]\ntransform = \"email\"\n\n[users.ssn]\ntransform = \"partial\"\nkeep_last = 2\n\
             [public.orders.total]\ntransform = \"noise\"\nrelative = 0.1\n",
        )
        .unwrap();
        assert_eq!(
            rules.get("public", "users", "ssn").unwrap().transform,
            Transform::Partial { keep_last: 2 }
        );
        assert_eq!(rules.get("public", "users", "ssn").unwrap().line, 4);
        assert!(matches!(
            rules.get("public", "orders", "total").unwrap().transform,
            Transform::Noise {
                relative: Some(_),
                ..
            }
        ));
        let (line, message) = Rules::parse(
            "[users.email]\ntransform = \"email\"\n\n[users.name]\ntransform = \"fak\"\n",
        )
        .unwrap_err();
        assert_eq!(line, 4);
        assert!(message.contains("unknown transform `fak`"), "{message}");
        let (_, message) =
            Rules::parse("[t.c]\ntransform = \"hash\"\nkeep_last = 3\n").unwrap_err();
        assert!(message.contains("`keep_last` is not an option of `hash`"));
    }
}
