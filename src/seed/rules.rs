//! What CHECK constraints say about one column, as far as seeding can use it.
//!
//! Parsed with `sqlparser`: conjunctions (`AND`) of comparisons with constants (`price > 0`,
//! `0 <= qty`), comparisons between columns (`ends_at > starts_at`), `BETWEEN`, `IN (...)`,
//! `= ANY (ARRAY[...])`, disjunctions of equalities (`a = 'x' OR a = 'y'`), `col IS NULL OR
//! …`, `length(col)` / `char_length(col)` bounds, and `LIKE 'prefix%'` / `~ '^prefix'`.
//! Anything else is ignored: in `check` the server rejects the row and it is counted as
//! skipped; `seed` reports the rejection.

use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, InTarget, UnaryOperator,
    Value,
};
use sqlparser::dialect::{MySqlDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;

use crate::schema::Table;

/// A character class of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharClass {
    Digit,
    Upper,
    Lower,
    Alpha,
    UpperDigit,
    Alnum,
}

impl CharClass {
    pub fn chars(self) -> &'static [u8] {
        match self {
            CharClass::Digit => b"0123456789",
            CharClass::Upper => b"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            CharClass::Lower => b"abcdefghijklmnopqrstuvwxyz",
            CharClass::Alpha => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            CharClass::UpperDigit => b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            CharClass::Alnum => b"0123456789abcdefghijklmnopqrstuvwxyz",
        }
    }
}

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
    /// The value must be greater than (`true`: or equal to) that of another column.
    pub after: Option<(String, bool)>,
    /// Text values must start with this (`LIKE 'SKU-%'`, `~ '^SKU-'`)...
    pub prefix: Option<String>,
    /// ...then continue with these characters (`[0-9]{4}`, `_`), each class a number of times
    /// in a range...
    pub tail: Vec<(CharClass, usize, usize)>,
    /// ...and end there (`$`, or a LIKE pattern without a trailing `%`).
    pub closed: bool,
    /// The value must fall in one of these half-open ranges (existing partitions), on the
    /// column's number line: the value itself for numbers, seconds since 1970-01-01 for dates
    /// and timestamps. Empty: no such restriction.
    pub pieces: Vec<(f64, f64)>,
    /// The language of people's names, addresses and the like (from overrides).
    pub locale: super::values::Locale,
    /// The CHECK constraints these rules come from, for messages.
    pub sources: Vec<String>,
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
        let before = rules.clone();
        for c in conjuncts {
            apply(c, column, &mut rules);
        }
        if rules != before {
            rules.sources.push(check.clone());
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

fn column_name(expr: &Expr) -> Option<String> {
    match bare(expr) {
        Expr::Identifier(ident) => Some(ident.value.clone()),
        Expr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.clone()),
        _ => None,
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

/// Equality disjunctions `a = 'x' OR a = 'y'` → the values; `None` if it is anything else.
fn or_values(expr: &Expr, column: &str, out: &mut Vec<String>) -> bool {
    match bare(expr) {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Or,
            right,
        } => or_values(left, column, out) && or_values(right, column, out),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } if is_column(left, column) => constant_text(right).map(|v| out.push(v)).is_some(),
        _ => false,
    }
}

/// A `LIKE` pattern (`'SKU-%'`, `'AB__'`) or an anchored regex (`'^SKU-[0-9]{4}$'`) as a
/// literal prefix, character classes and whether the value ends there. `None` when there is
/// no literal start to go by.
type Pattern = (String, Vec<(CharClass, usize, usize)>, bool);

fn like_pattern(pattern: &str) -> Option<Pattern> {
    let prefix: String = pattern
        .chars()
        .take_while(|c| !['%', '_', '\\'].contains(c))
        .collect();
    let rest = &pattern[prefix.len()..];
    if prefix.is_empty() {
        return None;
    }
    if rest.is_empty() {
        return Some((prefix, Vec::new(), true));
    }
    if rest.chars().all(|c| c == '_') {
        let n = rest.len();
        return Some((prefix, vec![(CharClass::UpperDigit, n, n)], true));
    }
    Some((prefix, Vec::new(), false))
}

fn regex_pattern(pattern: &str) -> Option<Pattern> {
    let body = pattern.strip_prefix('^')?;
    let stop = ['.', '[', '(', '*', '+', '?', '{', '|', '\\', '$'];
    let mut prefix: String = body.chars().take_while(|c| !stop.contains(c)).collect();
    let mut rest = &body[prefix.len()..];
    // A quantifier right after the literal applies to its last character: leave that one out.
    if rest.starts_with(['*', '+', '?', '{']) {
        prefix.pop();
    }
    if prefix.is_empty() {
        return None;
    }
    let classes: &[(&str, CharClass)] = &[
        ("[0-9]", CharClass::Digit),
        ("\\d", CharClass::Digit),
        ("[A-Z]", CharClass::Upper),
        ("[a-z]", CharClass::Lower),
        ("[A-Za-z]", CharClass::Alpha),
        ("[a-zA-Z]", CharClass::Alpha),
        ("[A-Z0-9]", CharClass::UpperDigit),
        ("[0-9A-Z]", CharClass::UpperDigit),
        ("[a-z0-9]", CharClass::Alnum),
        ("[0-9a-z]", CharClass::Alnum),
        (".", CharClass::Alnum),
    ];
    let mut tail = Vec::new();
    loop {
        if rest.is_empty() {
            return Some((prefix, tail, false));
        }
        if rest == "$" {
            return Some((prefix, tail, true));
        }
        let Some((token, class)) = classes.iter().find(|(t, _)| rest.starts_with(t)) else {
            return Some((prefix, tail, false));
        };
        rest = &rest[token.len()..];
        let (min, max, used) = quantifier(rest);
        rest = &rest[used..];
        tail.push((*class, min, max));
    }
}

/// `{n}`, `{n,m}`, `{n,}`, `+`, `*`, `?` or nothing: (min, max, bytes used).
fn quantifier(text: &str) -> (usize, usize, usize) {
    const MANY: usize = 8;
    match text.chars().next() {
        Some('+') => (1, MANY, 1),
        Some('*') => (0, MANY, 1),
        Some('?') => (0, 1, 1),
        Some('{') => {
            let Some(end) = text.find('}') else {
                return (1, 1, 0);
            };
            let inner = &text[1..end];
            let (lo, hi) = match inner.split_once(',') {
                Some((lo, hi)) => (
                    lo.trim().parse().ok(),
                    hi.trim().parse().ok().or(Some(MANY.max(1))),
                ),
                None => (inner.trim().parse().ok(), inner.trim().parse().ok()),
            };
            match (lo, hi) {
                (Some(lo), Some(hi)) if lo <= hi => (lo, hi, end + 1),
                _ => (1, 1, 0),
            }
        }
        _ => (1, 1, 0),
    }
}

/// Prefix and tail of `pattern` (a constant), parsed with `parse`, when it has the shape.
fn apply_pattern(rules: &mut ColumnRules, pattern: &Expr, parse: fn(&str) -> Option<Pattern>) {
    if let Some((prefix, tail, closed)) = constant_text(pattern).and_then(|p| parse(&p)) {
        rules.prefix = Some(prefix);
        rules.tail = tail;
        rules.closed = closed;
    }
}

/// What one conjunct of a CHECK says about `column`.
fn apply(expr: &Expr, column: &str, rules: &mut ColumnRules) {
    match bare(expr) {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Or,
            right,
        } => apply_or(expr, left, right, column, rules),
        Expr::Like {
            negated: false,
            expr,
            pattern,
            ..
        } if is_column(expr, column) => apply_pattern(rules, pattern, like_pattern),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::PGLikeMatch,
            right,
        } if is_column(left, column) => apply_pattern(rules, right, like_pattern),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::PGRegexMatch,
            right,
        } if is_column(left, column) => apply_pattern(rules, right, regex_pattern),
        Expr::RLike {
            negated: false,
            expr,
            pattern,
            ..
        } if is_column(expr, column) => apply_pattern(rules, pattern, regex_pattern),
        Expr::BinaryOp { left, op, right }
            if column_name(left).is_some()
                && column_name(right).is_some()
                && (is_column(left, column) || is_column(right, column)) =>
        {
            apply_order(left, op, right, column, rules);
        }
        Expr::BinaryOp { left, op, right } => apply_comparison(left, op, right, column, rules),
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
            rules.allowed = list.iter().map(constant_text).collect();
        }
        Expr::AnyOp {
            left,
            compare_op: BinaryOperator::Eq,
            right,
            ..
        } if is_column(left, column) => {
            if let Expr::Array(array) = bare(right) {
                rules.allowed = array.elem.iter().map(constant_text).collect();
            }
        }
        _ => {}
    }
}

/// `a = 'x' OR a = 'y'` (allowed values), or `col IS NULL OR <condition on col>`: NULLs are
/// fine, values obey the rest.
fn apply_or(expr: &Expr, left: &Expr, right: &Expr, column: &str, rules: &mut ColumnRules) {
    let mut values = Vec::new();
    if or_values(expr, column, &mut values) {
        rules.allowed = Some(values);
        return;
    }
    let null_side = |e: &Expr| matches!(bare(e), Expr::IsNull(inner) if is_column(inner, column));
    if null_side(left) {
        apply(right, column, rules);
    } else if null_side(right) {
        apply(left, column, rules);
    }
}

/// `ends_at > starts_at`: this column comes after the other one.
fn apply_order(
    left: &Expr,
    op: &BinaryOperator,
    right: &Expr,
    column: &str,
    rules: &mut ColumnRules,
) {
    let (other, op) = if is_column(left, column) {
        (column_name(right), op.clone())
    } else {
        (column_name(left), flip(op).unwrap_or(BinaryOperator::Eq))
    };
    let Some(other) = other else { return };
    match op {
        BinaryOperator::Gt => rules.after = Some((other, false)),
        BinaryOperator::GtEq => rules.after = Some((other, true)),
        _ => {}
    }
}

/// The column (or its length) compared with a constant, on either side: bounds, one allowed
/// value, or not empty.
fn apply_comparison(
    left: &Expr,
    op: &BinaryOperator,
    right: &Expr,
    column: &str,
    rules: &mut ColumnRules,
) {
    let (subject, op, other) = if is_column(left, column) || is_length_of(left, column) {
        (left, op.clone(), right)
    } else if is_column(right, column) || is_length_of(right, column) {
        match flip(op) {
            Some(op) => (right, op, left),
            None => return,
        }
    } else {
        return;
    };
    if is_length_of(subject, column) {
        if let Some(n) = number(other) {
            apply_length(n.max(0.0) as usize, &op, rules);
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

/// `length(col) <op> n`.
fn apply_length(n: usize, op: &BinaryOperator, rules: &mut ColumnRules) {
    match op {
        BinaryOperator::Gt => rules.min_len = Some(n + 1),
        BinaryOperator::GtEq => rules.min_len = Some(n),
        BinaryOperator::Lt => rules.max_len = Some(n.saturating_sub(1)),
        BinaryOperator::LtEq => rules.max_len = Some(n),
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
            partitioning: None,
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
        assert_eq!(
            rules_for(&t, "price").sources,
            vec!["CHECK (price > 0::numeric)".to_string()]
        );
    }

    #[test]
    fn reads_column_comparisons_prefixes_and_disjunctions() {
        let t = table(&[
            "CHECK (ends_at > starts_at)",
            "CHECK (valid_from <= valid_to)",
            "CHECK (sku LIKE 'SKU-%')",
            "CHECK (code ~ '^AB[0-9]+$')",
            "CHECK (pg_like ~~ 'EMP-%'::text)",
            "CHECK (ref ~ '^INV-[A-Z]{2}\\d{4}$')",
            "`mysql_re` regexp '^R[0-9]'",
            "CHECK ((kind = 'a'::text) OR (kind = 'b'::text))",
            "CHECK (discount IS NULL OR discount < 50)",
        ]);
        assert_eq!(
            rules_for(&t, "ends_at").after,
            Some(("starts_at".into(), false))
        );
        assert_eq!(rules_for(&t, "starts_at").after, None);
        assert_eq!(
            rules_for(&t, "valid_to").after,
            Some(("valid_from".into(), true))
        );
        assert_eq!(rules_for(&t, "sku").prefix.as_deref(), Some("SKU-"));
        assert_eq!(rules_for(&t, "code").prefix.as_deref(), Some("AB"));
        assert_eq!(rules_for(&t, "code").tail, vec![(CharClass::Digit, 1, 8)]);
        assert!(rules_for(&t, "code").closed);
        assert_eq!(rules_for(&t, "pg_like").prefix.as_deref(), Some("EMP-"));
        let r = rules_for(&t, "ref");
        assert_eq!(r.prefix.as_deref(), Some("INV-"));
        assert_eq!(
            r.tail,
            vec![(CharClass::Upper, 2, 2), (CharClass::Digit, 4, 4)]
        );
        assert_eq!(
            rules_for(&t, "mysql_re").tail,
            vec![(CharClass::Digit, 1, 1)]
        );
        assert_eq!(
            rules_for(&t, "kind").allowed,
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(rules_for(&t, "discount").max, Some((50.0, false)));
    }
}
