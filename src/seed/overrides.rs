//! Seed overrides: `fixtures/seed.toml` (or `--overrides FILE`), per table and column.
//!
//! ```toml
//! [users]                    # a table (qualified `public.users` works too)
//! rows = 1000
//!
//! locale = "de_de"          # names, addresses, phones of every column
//!
//! [users.email]              # a column of it
//! generator = "email"        # see `GENERATORS`
//! null_ratio = 0.0
//!
//! [orders.status]
//! values = ["new", "paid", "shipped"]
//! weights = [5, 3, 2]
//!
//! [orders.user_id]           # a foreign key column: how many orders each user has
//! per_parent = "0..20"
//! mean = 3
//!
//! [orders.amount]
//! min = 5
//! max = 500
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use super::values::Locale;
use crate::migrations::{display_path, read_text};
use crate::{Error, Result};

/// Generator names an override may choose.
pub const GENERATORS: &[&str] = &[
    "email",
    "first_name",
    "last_name",
    "name",
    "username",
    "phone",
    "city",
    "country",
    "country_code",
    "street",
    "zip",
    "state",
    "company",
    "url",
    "ip",
    "slug",
    "status",
    "currency",
    "title",
    "text",
    "words",
    "iban",
    "card",
    "uuid",
    "code",
    "price",
    "quantity",
    "age",
    "year",
    "rating",
    "percent",
    "int",
    "decimal",
    "date",
    "timestamp",
];

/// What an override says about one column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnOverride {
    pub generator: Option<String>,
    pub values: Option<Vec<String>>,
    pub weights: Option<Vec<f64>>,
    pub null_ratio: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Foreign keys: children per parent, `"0..20"`.
    pub per_parent: Option<(usize, usize)>,
    pub mean: Option<f64>,
    /// Foreign keys: popularity skew of parents (0 = uniform; 1 = Zipf-like).
    pub skew: Option<f64>,
    /// Language of names, addresses, phones and companies (`de_de`, `fr_fr`, ...).
    pub locale: Option<Locale>,
}

/// What an override says about one table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableOverride {
    pub rows: Option<usize>,
    /// The locale of every column of the table (a column's own wins).
    pub locale: Option<Locale>,
    pub columns: BTreeMap<String, ColumnOverride>,
}

/// All overrides, by table name as written (qualified or not).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub tables: BTreeMap<String, TableOverride>,
}

impl Overrides {
    /// Reads and merges override files; later files win.
    pub fn load(paths: &[&Path]) -> Result<Overrides> {
        let mut all = Overrides::default();
        for path in paths {
            let text = read_text(path)?;
            let parsed = Overrides::parse(&text).map_err(|(line, message)| Error::InputAt {
                path: display_path(path),
                line,
                message,
            })?;
            for (table, o) in parsed.tables {
                let entry = all.tables.entry(table).or_default();
                if o.rows.is_some() {
                    entry.rows = o.rows;
                }
                if o.locale.is_some() {
                    entry.locale = o.locale;
                }
                entry.columns.extend(o.columns);
            }
        }
        Ok(all)
    }

    /// Parses one file; errors carry a 1-based line.
    pub fn parse(text: &str) -> std::result::Result<Overrides, (usize, String)> {
        let doc: toml::Table =
            toml::from_str(text).map_err(|e| crate::config::toml_error(text, &e))?;
        let line_of = |needle: &str| {
            text.lines()
                .position(|l| l.contains(needle))
                .map_or(1, |i| i + 1)
        };
        let mut overrides = Overrides::default();
        for (table, value) in doc {
            let toml::Value::Table(entries) = value else {
                return Err((
                    line_of(&table),
                    format!("`{table}` must be a table: [{table}]"),
                ));
            };
            let mut o = TableOverride::default();
            for (key, value) in entries {
                match (key.as_str(), value) {
                    ("rows", toml::Value::Integer(n)) if n >= 0 => o.rows = Some(n as usize),
                    ("rows", _) => {
                        return Err((line_of("rows"), "`rows` must be a whole number".into()));
                    }
                    ("locale", value) => {
                        let parsed = locale(&self::text(&value))
                            .map_err(|m| (line_of("locale"), format!("{table}: {m}")))?;
                        o.locale = Some(parsed);
                    }
                    (column, toml::Value::Table(fields)) => {
                        let c = column_override(&fields)
                            .map_err(|m| (line_of(column), format!("{table}.{column}: {m}")))?;
                        o.columns.insert(column.to_string(), c);
                    }
                    (other, _) => {
                        return Err((
                            line_of(other),
                            format!(
                                "{table}: unknown option `{other}` (a table takes `rows`, `locale` and [{table}.<column>] sections)"
                            ),
                        ));
                    }
                }
            }
            overrides.tables.insert(table, o);
        }
        Ok(overrides)
    }

    /// The override of `table` (looked up by qualified, then plain name).
    pub fn table(&self, schema: &str, name: &str) -> Option<&TableOverride> {
        self.tables
            .get(&format!("{schema}.{name}"))
            .or_else(|| self.tables.get(name))
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

fn number(value: &toml::Value) -> std::result::Result<f64, String> {
    match value {
        toml::Value::Integer(n) => Ok(*n as f64),
        toml::Value::Float(f) => Ok(*f),
        _ => Err(format!("expected a number, got {}", text(value))),
    }
}

fn locale(name: &str) -> std::result::Result<Locale, String> {
    Locale::parse(name).ok_or_else(|| {
        format!(
            "unknown locale `{name}`; known: {}",
            Locale::NAMES.join(", ")
        )
    })
}

fn column_override(fields: &toml::Table) -> std::result::Result<ColumnOverride, String> {
    let mut c = ColumnOverride::default();
    for (key, value) in fields {
        match key.as_str() {
            "generator" => {
                let name = text(value);
                if !GENERATORS.contains(&name.as_str()) {
                    return Err(format!(
                        "unknown generator `{name}`; known: {}",
                        GENERATORS.join(", ")
                    ));
                }
                c.generator = Some(name);
            }
            "values" => {
                let list = value.as_array().ok_or("`values` must be a list")?;
                if list.is_empty() {
                    return Err("`values` is empty".into());
                }
                c.values = Some(list.iter().map(text).collect());
            }
            "weights" => {
                let list = value.as_array().ok_or("`weights` must be a list")?;
                let weights: std::result::Result<Vec<f64>, String> =
                    list.iter().map(number).collect();
                let weights = weights?;
                if weights.iter().any(|w| *w < 0.0) || weights.iter().sum::<f64>() <= 0.0 {
                    return Err("`weights` must be non-negative and not all zero".into());
                }
                c.weights = Some(weights);
            }
            "null_ratio" => {
                let r = number(value)?;
                if !(0.0..=1.0).contains(&r) {
                    return Err("`null_ratio` must be between 0 and 1".into());
                }
                c.null_ratio = Some(r);
            }
            "min" => c.min = Some(number(value)?),
            "max" => c.max = Some(number(value)?),
            "mean" => c.mean = Some(number(value)?),
            "locale" => c.locale = Some(locale(&text(value))?),
            "skew" => c.skew = Some(number(value)?),
            "per_parent" => {
                let spec = text(value);
                let (lo, hi) = spec
                    .split_once("..")
                    .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)))
                    .filter(|(a, b): &(usize, usize)| a <= b)
                    .ok_or_else(|| {
                        format!("`per_parent` must look like \"0..20\", got `{spec}`")
                    })?;
                c.per_parent = Some((lo, hi));
            }
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    if let (Some(values), Some(weights)) = (&c.values, &c.weights)
        && values.len() != weights.len()
    {
        return Err(format!(
            "{} values but {} weights",
            values.len(),
            weights.len()
        ));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tables_columns_and_options() {
        let o = Overrides::parse(
            "[users]\nrows = 10\n[users.email]\ngenerator = \"email\"\nnull_ratio = 0\n\
             [orders.status]\nvalues = [\"a\", \"b\"]\nweights = [3, 1]\n\
             [orders.user_id]\nper_parent = \"0..20\"\nmean = 3\n",
        )
        .unwrap();
        let users = o.table("public", "users").unwrap();
        assert_eq!(users.rows, Some(10));
        assert_eq!(users.columns["email"].generator.as_deref(), Some("email"));
        let orders = o.table("public", "orders").unwrap();
        assert_eq!(orders.columns["status"].weights, Some(vec![3.0, 1.0]));
        assert_eq!(orders.columns["user_id"].per_parent, Some((0, 20)));
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        let (line, message) =
            Overrides::parse("[users]\n\n[users.email]\ngenerator = \"emial\"\n").unwrap_err();
        assert_eq!(line, 3);
        assert!(message.contains("unknown generator `emial`"), "{message}");
        let (_, message) =
            Overrides::parse("[t.c]\nvalues = [\"a\"]\nweights = [1, 2]\n").unwrap_err();
        assert!(message.contains("1 values but 2 weights"));
    }
}
