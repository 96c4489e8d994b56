//! What CHECK constraints say about one column, as far as seeding can use it.
//!
//! Parsed with `sqlparser`: conjunctions (`AND`) of comparisons with constants (`price > 0`,
//! `0 <= qty`), `BETWEEN`, `IN (...)`, `= ANY (ARRAY[...])`, and `length(col)` /
//! `char_length(col)` bounds. Anything else is ignored; rows that still violate a constraint
//! are rejected by the server and counted as skipped.

use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, InTarget, UnaryOperator,
    Value,
};
use sqlparser::dialect::{MySqlDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;

use crate::schema::Table;

/// Bounds and allowed values for one column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnRules {
    /// Lower bound and whether it is inclusive.
    pub min: Option<(f64, bool)>,
    pub max: Option<(f64, bool)>,
    /// The value must be one of these.
    pub allowed: Option<Vec<String>>,
    pub min_len: Option<usize>,
    pub max_len: Option<usize>,
}

/// The rules the CHECK constraints of `table` put on `column`.
pub fn rules_for(table: &Table, column: &str) -> ColumnRules {
    let mut rules = ColumnRules::default();
    for check in &table.checks {
        let Some(expr) = parse_check(check) else {
            continue;
        };
        let mut conjuncts = Vec::new();
        flatten_and(&expr, &mut conjuncts);
        for c in conjuncts {
            apply(c, column, &mut rules);
        }
    }
    rules
}

fn parse_check(definition: &str) -> Option<Expr> {
    let body = definition.trim();
    let body = body.strip_suffix("NOT VALID").unwrap_or(body).trim();
    let body = body.strip_prefix("CHECK").unwrap_or(body).trim();
    // PostgreSQL prints casts (`0::numeric`), MySQL backticks (`\`price\` > 0`).
    let parse = |dialect: &dyn sqlparser::dialect::Dialect| {
        Parser::new(dialect)
            .try_with_sql(body)
            .ok()?
            .parse_expr()
            .ok()
    };
    parse(&PostgreSqlDialect {}).or_else(|| parse(&MySqlDialect {}))
}

fn flatten_and<'e>(expr: &'e Expr, out: &mut Vec<&'e Expr>) {
    match expr {
        Expr::Nested(inner) => flatten_and(inner, out),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            flatten_and(left, out);
            flatten_and(right, out);
        }
        other => out.push(other),
    }
}

/// Strips parentheses and casts: `((price)::numeric)` → `price`.
fn bare(expr: &Expr) -> &Expr {
    match expr {
        Expr::Nested(inner) => bare(inner),
        Expr::Cast { expr, .. } => bare(expr),
        other => other,
    }
}

fn is_column(expr: &Expr, column: &str) -> bool {
    match bare(expr) {
        Expr::Identifier(ident) => ident.value == column,
        Expr::CompoundIdentifier(parts) => parts.last().is_some_and(|p| p.value == column),
        _ => false,
    }
}

/// `length(col)` or `char_length(col)` of `column`.
fn is_length_of(expr: &Expr, column: &str) -> bool {
    let Expr::Function(f) = bare(expr) else {
        return false;
    };
    let name = f.name.to_string().to_ascii_lowercase();
    if !matches!(name.as_str(), "length" | "char_length" | "character_length") {
        return false;
    }
    let FunctionArguments::List(list) = &f.args else {
        return false;
    };
    matches!(list.args.as_slice(), [FunctionArg::Unnamed(FunctionArgExpr::Expr(e))] if is_column(e, column))
}

fn number(expr: &Expr) -> Option<f64> {
    match bare(expr) {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().ok(),
            Value::SingleQuotedString(s) => s.parse().ok(),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => number(expr).map(|n| -n),
        _ => None,
    }
}

fn constant_text(expr: &Expr) -> Option<String> {
    match bare(expr) {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => Some(s.clone()),
            Value::Number(n, _) => Some(n.clone()),
            Value::Boolean(b) => Some(b.to_string()),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => constant_text(expr).map(|s| format!("-{s}")),
        _ => None,
    }
}

fn flip(op: &BinaryOperator) -> Option<BinaryOperator> {
    Some(match op {
        BinaryOperator::Gt => BinaryOperator::Lt,
        BinaryOperator::GtEq => BinaryOperator::LtEq,
        BinaryOperator::Lt => BinaryOperator::Gt,
        BinaryOperator::LtEq => BinaryOperator::GtEq,
        BinaryOperator::Eq => BinaryOperator::Eq,
        BinaryOperator::NotEq => BinaryOperator::NotEq,
        _ => return None,
    })
}

fn tighten_min(current: &mut Option<(f64, bool)>, value: f64, inclusive: bool) {
    if current.is_none_or(|(v, _)| value > v) {
        *current = Some((value, inclusive));
    }
}

fn tighten_max(current: &mut Option<(f64, bool)>, value: f64, inclusive: bool) {
    if current.is_none_or(|(v, _)| value < v) {
        *current = Some((value, inclusive));
    }
}

fn apply(expr: &Expr, column: &str, rules: &mut ColumnRules) {
    match bare(expr) {
        Expr::BinaryOp { left, op, right } => {
            let (subject, op, other) = if is_column(left, column) || is_length_of(left, column) {
                (left.as_ref(), op.clone(), right.as_ref())
            } else if is_column(right, column) || is_length_of(right, column) {
                match flip(op) {
                    Some(op) => (right.as_ref(), op, left.as_ref()),
                    None => return,
                }
            } else {
                return;
            };
            if is_length_of(subject, column) {
                let Some(n) = number(other) else { return };
                let n = n.max(0.0) as usize;
                match op {
                    BinaryOperator::Gt => rules.min_len = Some(n + 1),
                    BinaryOperator::GtEq => rules.min_len = Some(n),
                    BinaryOperator::Lt => rules.max_len = Some(n.saturating_sub(1)),
                    BinaryOperator::LtEq => rules.max_len = Some(n),
                    _ => {}
                }
                return;
            }
            if let Some(n) = number(other) {
                match op {
                    BinaryOperator::Gt => tighten_min(&mut rules.min, n, false),
                    BinaryOperator::GtEq => tighten_min(&mut rules.min, n, true),
                    BinaryOperator::Lt => tighten_max(&mut rules.max, n, false),
                    BinaryOperator::LtEq => tighten_max(&mut rules.max, n, true),
                    BinaryOperator::Eq => {
                        rules.allowed = constant_text(other).map(|v| vec![v]);
                    }
                    _ => {}
                }
            } else if let (BinaryOperator::NotEq, Some(text)) = (&op, constant_text(other))
                && text.is_empty()
            {
                rules.min_len = Some(rules.min_len.unwrap_or(0).max(1));
            } else if let (BinaryOperator::Eq, Some(text)) = (&op, constant_text(other)) {
                rules.allowed = Some(vec![text]);
            }
        }
        Expr::Between {
            expr,
            negated: false,
            low,
            high,
        } if is_column(expr, column) => {
            if let (Some(lo), Some(hi)) = (number(low), number(high)) {
                tighten_min(&mut rules.min, lo, true);
                tighten_max(&mut rules.max, hi, true);
            }
        }
        Expr::In {
            expr,
            target: InTarget::List(list),
            negated: false,
            ..
        } if is_column(expr, column) => {
            let values: Option<Vec<String>> = list.iter().map(constant_text).collect();
            rules.allowed = values;
        }
        Expr::AnyOp {
            left,
            compare_op: BinaryOperator::Eq,
            right,
            ..
        } if is_column(left, column) => {
            if let Expr::Array(array) = bare(right) {
                let values: Option<Vec<String>> = array.elem.iter().map(constant_text).collect();
                rules.allowed = values;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(checks: &[&str]) -> Table {
        Table {
            schema: "public".into(),
            name: "t".into(),
            columns: vec![],
            primary_key: vec![],
            unique_keys: vec![],
            foreign_keys: vec![],
            checks: checks.iter().map(|s| s.to_string()).collect(),
            holds_rows: true,
            seed_directly: true,
        }
    }

    #[test]
    fn reads_postgres_check_definitions() {
        let t = table(&[
            "CHECK (price > 0::numeric)",
            "CHECK (quantity >= 1 AND quantity <= 20)",
            "CHECK (status = ANY (ARRAY['new'::text, 'paid'::text, 'shipped'::text]))",
            "CHECK (length(code) <= 8 AND code <> ''::text)",
            "CHECK (rating BETWEEN 1 AND 5) NOT VALID",
            "CHECK (kind IN ('a', 'b'))",
            "CHECK (0 < discount)",
            "`weight` between 1 and 99",
        ]);
        assert_eq!(rules_for(&t, "weight").max, Some((99.0, true)));
        assert_eq!(rules_for(&t, "price").min, Some((0.0, false)));
        let q = rules_for(&t, "quantity");
        assert_eq!((q.min, q.max), (Some((1.0, true)), Some((20.0, true))));
        assert_eq!(
            rules_for(&t, "status").allowed,
            Some(vec!["new".into(), "paid".into(), "shipped".into()])
        );
        let code = rules_for(&t, "code");
        assert_eq!((code.min_len, code.max_len), (Some(1), Some(8)));
        assert_eq!(rules_for(&t, "rating").max, Some((5.0, true)));
        assert_eq!(
            rules_for(&t, "kind").allowed,
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(rules_for(&t, "discount").min, Some((0.0, false)));
        assert_eq!(rules_for(&t, "other"), ColumnRules::default());
    }
}
