//! One value per column kind: numbers within the type and CHECK bounds, booleans, binary,
//! network, enum, set, bit and array values; text and dates are delegated to their modules.

use crate::seed::generate::EDGE_EVERY;
use fake::Fake;
use fake::faker::lorem::en::Word;
use fake::rand::{Rng, RngExt};

use super::dates::{self, format_date, format_timestamp, parse_timestamp};
use super::{Hint, text};
use crate::schema::{Column, ColumnKind};
use crate::seed::ColumnRules;

/// Whether seeding can produce values of this kind (else the column is left to its default).
pub fn can_generate(kind: &ColumnKind) -> bool {
    match kind {
        ColumnKind::Other(_) => false,
        ColumnKind::Array(inner) => can_generate(inner),
        _ => true,
    }
}

/// `value`, of `kind`, made to fit a text column of `text` kind that will be cast to `kind`:
/// JSON becomes the row number, a timestamp its date, a number the row number; `None` (NULL)
/// when nothing shorter of that kind exists.
pub fn shortened(
    value: String,
    kind: &ColumnKind,
    text: &ColumnKind,
    row: usize,
) -> Option<String> {
    let max = match text {
        ColumnKind::Text { max_len, .. } => max_len.map(|m| m as usize),
        ColumnKind::Char { len, .. } => Some(*len as usize),
        _ => None,
    };
    let Some(max) = max.filter(|m| value.chars().count() > *m) else {
        return Some(value);
    };
    let shorter = match kind {
        ColumnKind::Json
        | ColumnKind::Int { .. }
        | ColumnKind::Decimal { .. }
        | ColumnKind::Float => row.to_string(),
        ColumnKind::Timestamp { .. } | ColumnKind::Date => value.chars().take(10).collect(),
        _ => return None,
    };
    (shorter.chars().count() <= max).then_some(shorter)
}

/// What is asked of the generator for one value.
pub struct Request<'a> {
    pub column: &'a Column,
    /// What the column's name suggests (computed once per column: see [`Hint::of`]).
    pub hint: Hint,
    pub rules: &'a ColumnRules,
    /// 0-based row number: unique values are derived from it.
    pub row: usize,
    pub unique: bool,
    /// An edge row: values at the limits of the type (longest strings with non-ASCII text,
    /// extreme numbers, all fractional-second digits), where lossy conversions show.
    pub edge: bool,
}

/// A value for the requested column, or `None` (NULL).
pub fn value<R: Rng + ?Sized>(request: &Request<'_>, rng: &mut R) -> Option<String> {
    let Request {
        column,
        hint,
        rules,
        row,
        unique,
        edge,
    } = *request;
    if let Some(allowed) = rules.allowed.as_ref().filter(|a| !a.is_empty()) {
        let index = if unique {
            row % allowed.len()
        } else {
            rng.random_range(0..allowed.len())
        };
        return Some(allowed[index].clone());
    }
    let ctx = Ctx {
        hint,
        rules,
        row,
        unique,
        edge,
    };
    kind_value(&column.kind, &ctx, rng)
}

/// Everything but the kind, passed down while generating (arrays recurse).
#[derive(Clone, Copy)]
pub(super) struct Ctx<'a> {
    pub(super) hint: Hint,
    pub(super) rules: &'a ColumnRules,
    pub(super) row: usize,
    pub(super) unique: bool,
    pub(super) edge: bool,
}

fn kind_value<R: Rng + ?Sized>(kind: &ColumnKind, ctx: &Ctx<'_>, rng: &mut R) -> Option<String> {
    let value = match kind {
        ColumnKind::Int { bytes, unsigned } => int_value(*bytes, *unsigned, ctx, rng).to_string(),
        ColumnKind::Decimal { precision, scale } => decimal_value(*precision, *scale, ctx, rng),
        ColumnKind::Float => float_value(ctx, rng),
        ColumnKind::Money => format!(
            "{}.{:02}",
            rng.random_range(1..1000),
            rng.random_range(0..100)
        ),
        ColumnKind::Bool => if rng.random_bool(0.5) {
            "true"
        } else {
            "false"
        }
        .to_string(),
        ColumnKind::Text {
            max_len,
            repertoire,
        } => text::text_of_column(*max_len, *repertoire, ctx, rng),
        ColumnKind::Char { len, repertoire } => text::char_of_column(*len, *repertoire, ctx, rng),
        ColumnKind::Date => dates::date_value(ctx, rng),
        ColumnKind::Time => dates::time_value(ctx.edge, rng),
        ColumnKind::Timestamp { tz, fraction } => dates::timestamp_value(*tz, *fraction, ctx, rng),
        ColumnKind::Interval => dates::interval_value(rng),
        ColumnKind::Uuid => text::uuid(rng),
        ColumnKind::Json => json_value(ctx, rng),
        ColumnKind::Bytes { max_len } => bytes_value(*max_len, (ctx.edge, ctx.row), rng),
        ColumnKind::Inet => inet_value(ctx, rng),
        ColumnKind::MacAddr => mac_value(ctx, rng),
        ColumnKind::Enum(labels) if !labels.is_empty() => label_value(labels, ctx, rng),
        ColumnKind::Set(labels) => set_value(labels, ctx.edge, rng),
        ColumnKind::Bit { len } => bit_value(*len, ctx.edge, rng),
        ColumnKind::Year => {
            if ctx.edge {
                "2155".to_string()
            } else {
                rng.random_range(1990..=2030).to_string()
            }
        }
        ColumnKind::Array(inner) => array_value(inner, ctx, rng),
        ColumnKind::Enum(_) | ColumnKind::Other(_) => return None,
    };
    Some(value)
}

fn float_value<R: Rng + ?Sized>(ctx: &Ctx<'_>, rng: &mut R) -> String {
    let (lo, hi) = range(ctx.hint, ctx.rules, (-3.0e38, 3.0e38), 0.001);
    if ctx.edge && !ctx.unique && ctx.rules.max.is_none() {
        // Many significant digits: a FLOAT or a smaller DOUBLE rounds them.
        "123456789.987654321".to_string()
    } else if ctx.unique {
        format!("{}", lo + ctx.row as f64 + 0.25)
    } else {
        format!("{:.3}", rng.random_range(lo..=hi))
    }
}

fn json_value<R: Rng + ?Sized>(ctx: &Ctx<'_>, rng: &mut R) -> String {
    let row = ctx.row;
    let word: String = Word().fake_with_rng(rng);
    let label = if ctx.edge {
        "Zoë 渡辺 🚀"
    } else {
        word.as_str()
    };
    let score = rng.random_range(0..100);
    let tag = rng.random_range(0..10);
    let active = rng.random_bool(0.5);
    // Keys in the order (and spacing) PostgreSQL prints jsonb in: shorter keys first. Text
    // later cast to jsonb and back then comes back as it was written.
    format!(
        "{{\"id\": {row}, \"tags\": [\"{word}\", \"x{tag}\"], \"label\": \"{label}\", \"score\": {score}.5, \"active\": {active}}}"
    )
}

/// `\x…` hex (PostgreSQL's bytea text form).
fn bytes_value<R: Rng + ?Sized>(
    max_len: Option<u32>,
    (edge, row): (bool, usize),
    rng: &mut R,
) -> String {
    let len = match (edge, max_len) {
        // The first edge row of a MEDIUMBLOB/LONGBLOB holds more than a BLOB can (65,535
        // bytes), so narrowing the column shows; one such row per table is enough.
        (true, Some(max)) if max as usize > super::text::HUGE && row < EDGE_EVERY => {
            super::text::PAST_SMALLER
        }
        (true, Some(max)) => (max as usize).min(1000),
        (true, None) => 64,
        (false, max) => rng.random_range(4..16).min(max.unwrap_or(16) as usize),
    };
    let bytes: String = (0..len)
        .map(|_| format!("{:02x}", rng.random_range(0..=255u8)))
        .collect();
    format!("\\x{bytes}")
}

/// An address in private space (10.0.0.0/8), the row's own for unique columns.
fn inet_value<R: Rng + ?Sized>(ctx: &Ctx<'_>, rng: &mut R) -> String {
    let n = if ctx.unique {
        ctx.row as u32
    } else {
        rng.random_range(0..1 << 24)
    };
    format!("10.{}.{}.{}", n >> 16 & 255, n >> 8 & 255, n & 255)
}

fn mac_value<R: Rng + ?Sized>(ctx: &Ctx<'_>, rng: &mut R) -> String {
    let row = ctx.row;
    format!(
        "08:00:2b:{:02x}:{:02x}:{:02x}",
        row >> 16 & 255,
        row >> 8 & 255,
        if ctx.unique {
            row & 255
        } else {
            rng.random_range(0..256)
        }
    )
}

/// An enum label: in turn for unique columns, the last one on edge rows.
fn label_value<R: Rng + ?Sized>(labels: &[String], ctx: &Ctx<'_>, rng: &mut R) -> String {
    let i = if ctx.unique {
        ctx.row % labels.len()
    } else if ctx.edge {
        labels.len() - 1
    } else {
        rng.random_range(0..labels.len())
    };
    labels[i].clone()
}

/// A MySQL `SET` value: any subset of the labels, all of them on edge rows.
fn set_value<R: Rng + ?Sized>(labels: &[String], edge: bool, rng: &mut R) -> String {
    let chosen: Vec<&str> = labels
        .iter()
        .filter(|_| edge || rng.random_bool(0.4))
        .map(String::as_str)
        .collect();
    chosen.join(",")
}

fn bit_value<R: Rng + ?Sized>(len: u32, edge: bool, rng: &mut R) -> String {
    let len = len.clamp(1, 64) as usize;
    if edge {
        "1".repeat(len)
    } else {
        (0..len)
            .map(|_| if rng.random_bool(0.5) { '1' } else { '0' })
            .collect()
    }
}

/// An array literal (`{"a","b"}`) of up to three elements of the inner kind.
fn array_value<R: Rng + ?Sized>(inner: &ColumnKind, ctx: &Ctx<'_>, rng: &mut R) -> String {
    let count = rng.random_range(0..4);
    let none = ColumnRules::default();
    let elements: Vec<String> = (0..count)
        .filter_map(|k| {
            let element = Ctx {
                rules: &none,
                row: ctx.row * 4 + k,
                ..*ctx
            };
            kind_value(inner, &element, rng)
        })
        .map(|v| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", elements.join(","))
}

/// The range a number should come from: the type's limits, narrowed by what the name
/// suggests and by CHECK bounds (exclusive bounds moved inward by `step`).
fn range(hint: Hint, rules: &ColumnRules, limits: (f64, f64), step: f64) -> (f64, f64) {
    let (mut lo, mut hi): (f64, f64) = match hint {
        Hint::Price => (1.0, 1000.0),
        Hint::Quantity => (1.0, 20.0),
        Hint::Age => (18.0, 90.0),
        Hint::Year => (1990.0, 2030.0),
        Hint::Rating => (1.0, 5.0),
        Hint::Percent => (0.0, 100.0),
        _ => (1.0, 10_000.0),
    };
    let rule_min = rules
        .min
        .map(|(v, inclusive)| if inclusive { v } else { v + step });
    let rule_max = rules
        .max
        .map(|(v, inclusive)| if inclusive { v } else { v - step });
    if let Some(min) = rule_min {
        lo = lo.max(min);
    }
    if let Some(max) = rule_max {
        hi = hi.min(max);
    }
    if lo > hi {
        // The name's guess and the constraint disagree: trust the constraint.
        lo = rule_min.unwrap_or(limits.0.max(hi - 1000.0));
        hi = rule_max.unwrap_or(lo + 1000.0);
    }
    (lo.max(limits.0), hi.min(limits.1))
}

fn int_value<R: Rng + ?Sized>(bytes: u8, unsigned: bool, ctx: &Ctx<'_>, rng: &mut R) -> i128 {
    let bits = u32::from(bytes.clamp(1, 8)) * 8;
    let (min, max) = if unsigned {
        (0i128, (1i128 << bits) - 1)
    } else {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    };
    let (lo, hi) = range(ctx.hint, ctx.rules, (min as f64, max as f64), 1.0);
    let (lo, hi) = ((lo.ceil() as i128).max(min), (hi.floor() as i128).min(max));
    let bounded = ctx.rules.min.is_some() || ctx.rules.max.is_some();
    if ctx.edge && !bounded && !ctx.unique {
        // The extremes of the type: no narrower column can hold them.
        return if ctx.row.is_multiple_of(2) || unsigned {
            max
        } else {
            min
        };
    }
    if let Some((p_lo, p_hi)) = piece(ctx.rules, ctx.row, ctx.unique, rng) {
        let (p_lo, p_hi) = (
            (p_lo.ceil() as i128).max(min),
            (p_hi.ceil() as i128).min(max + 1),
        );
        return p_lo
            + i128::from(offset(
                (p_hi - p_lo) as i64,
                ctx.row,
                ctx.unique,
                ctx.rules,
                rng,
            ));
    }
    if ctx.unique {
        (lo + ctx.row as i128).min(max)
    } else if lo >= hi {
        lo
    } else {
        rng.random_range(lo..=hi)
    }
}

fn decimal_value<R: Rng + ?Sized>(
    precision: Option<u32>,
    scale: u32,
    ctx: &Ctx<'_>,
    rng: &mut R,
) -> String {
    let scale = scale.min(6);
    let unit = 10f64.powi(scale as i32);
    let max = precision
        .map(|p| 10f64.powi(p.saturating_sub(scale) as i32) - 1.0 / unit)
        .unwrap_or(1e12);
    let (lo, hi) = range(ctx.hint, ctx.rules, (-max, max), 1.0 / unit);
    let (lo_units, hi_units) = ((lo * unit).ceil() as i64, (hi * unit).floor() as i64);
    let bounded = ctx.rules.min.is_some() || ctx.rules.max.is_some();
    let units = if ctx.edge && !ctx.unique && !bounded && precision.is_some_and(|p| p <= 18) {
        // Every digit used: a smaller precision or scale cannot hold it.
        (max * unit).round() as i64
    } else if ctx.unique {
        lo_units.saturating_add(ctx.row as i64)
    } else if lo_units >= hi_units {
        lo_units
    } else {
        rng.random_range(lo_units..=hi_units)
    };
    if scale == 0 {
        return units.to_string();
    }
    let sign = if units < 0 { "-" } else { "" };
    let abs = units.unsigned_abs();
    let unit = 10u64.pow(scale);
    format!(
        "{sign}{}.{:0width$}",
        abs / unit,
        abs % unit,
        width = scale as usize
    )
}

/// One of the half-open ranges `rules.pieces` allows (partitions): by row for unique values,
/// else at random.
pub(super) fn piece<R: Rng + ?Sized>(
    rules: &ColumnRules,
    row: usize,
    unique: bool,
    rng: &mut R,
) -> Option<(f64, f64)> {
    let n = rules.pieces.len();
    match n {
        0 => None,
        1 => Some(rules.pieces[0]),
        _ if unique => Some(rules.pieces[row % n]),
        _ => Some(rules.pieces[rng.random_range(0..n)]),
    }
}

/// An offset into a range of `width` steps: the row's own slot for unique values.
pub(super) fn offset<R: Rng + ?Sized>(
    width: i64,
    row: usize,
    unique: bool,
    rules: &ColumnRules,
    rng: &mut R,
) -> i64 {
    let width = width.max(1);
    if unique {
        (row / rules.pieces.len().max(1)) as i64 % width
    } else {
        rng.random_range(0..width)
    }
}

/// A value later than `earlier` (or equal, when `inclusive`), of the same kind: up to a month
/// later for dates and timestamps, up to 100 more for numbers. `None` when `earlier` cannot be
/// read (the caller generates an independent value).
pub fn after<R: Rng + ?Sized>(
    kind: &ColumnKind,
    earlier: &str,
    inclusive: bool,
    rng: &mut R,
) -> Option<String> {
    let step = i64::from(!inclusive);
    match kind {
        ColumnKind::Date => {
            let (seconds, _) = parse_timestamp(earlier)?;
            Some(format_date(
                seconds.div_euclid(86_400) + step + rng.random_range(0..30),
            ))
        }
        ColumnKind::Timestamp { tz, fraction } => {
            let (seconds, micros) = parse_timestamp(earlier)?;
            let digits = fraction.unwrap_or(6).min(6) as usize;
            let later = seconds + step + rng.random_range(0..30 * 86_400);
            Some(format_timestamp(later, micros, digits, *tz))
        }
        ColumnKind::Int { .. } => {
            let n: i128 = earlier.parse().ok()?;
            Some((n + i128::from(step) + rng.random_range(0..100)).to_string())
        }
        ColumnKind::Decimal { .. } | ColumnKind::Float => {
            let n: f64 = earlier.parse().ok()?;
            let scale = earlier.split_once('.').map_or(0, |(_, f)| f.len());
            Some(format!(
                "{:.scale$}",
                n + step as f64 + rng.random_range(0..100) as f64
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fake::rand::SeedableRng;
    use fake::rand::rngs::StdRng;

    fn rng() -> StdRng {
        StdRng::seed_from_u64(1)
    }

    fn ctx(hint: Hint, rules: &ColumnRules, row: usize, unique: bool, edge: bool) -> Ctx<'_> {
        Ctx {
            hint,
            rules,
            row,
            unique,
            edge,
        }
    }

    #[test]
    fn later_values_come_after() {
        let kind = ColumnKind::Timestamp {
            tz: true,
            fraction: Some(3),
        };
        let mut r = rng();
        for _ in 0..50 {
            let later = after(&kind, "2020-05-05 10:00:00.123+00", false, &mut r).unwrap();
            assert!(later.as_str() > "2020-05-05 10:00:00.123+00", "{later}");
            assert!(later.ends_with(".123+00"), "{later}");
        }
        assert_eq!(
            after(
                &ColumnKind::Date,
                "2020-12-31",
                true,
                &mut StdRng::seed_from_u64(0)
            )
            .map(|d| d.len()),
            Some(10)
        );
    }

    #[test]
    fn decimals_respect_precision_scale_and_checks() {
        let rules = ColumnRules {
            min: Some((0.0, false)),
            ..Default::default()
        };
        for row in 0..200 {
            let v = decimal_value(
                Some(5),
                2,
                &ctx(Hint::Price, &rules, row, false, false),
                &mut rng(),
            );
            let x: f64 = v.parse().unwrap();
            assert!(x > 0.0 && x < 1000.0, "{v}");
            assert_eq!(v.split('.').nth(1).map(str::len), Some(2), "{v}");
        }
        let none = ColumnRules::default();
        assert_eq!(
            decimal_value(
                Some(3),
                0,
                &ctx(Hint::None, &none, 5, true, false),
                &mut rng()
            ),
            "6"
        );
        assert_eq!(
            decimal_value(
                Some(6),
                2,
                &ctx(Hint::None, &none, 1, false, true),
                &mut rng()
            ),
            "9999.99",
            "edge rows use every digit"
        );
    }

    #[test]
    fn ints_stay_in_type_and_check_bounds() {
        let rules = ColumnRules {
            min: Some((1.0, true)),
            max: Some((5.0, true)),
            ..Default::default()
        };
        let mut r = rng();
        for row in 0..100 {
            let v = int_value(
                2,
                false,
                &ctx(Hint::Rating, &rules, row, false, row % 2 == 0),
                &mut r,
            );
            assert!((1..=5).contains(&v), "CHECK bounds win over edge values");
        }
        let none = ColumnRules::default();
        assert_eq!(
            int_value(4, false, &ctx(Hint::None, &none, 41, true, false), &mut r),
            42
        );
        assert_eq!(
            int_value(1, true, &ctx(Hint::None, &none, 0, false, true), &mut r),
            255
        );
        assert_eq!(
            int_value(2, false, &ctx(Hint::None, &none, 1, false, true), &mut r),
            -32768
        );
        assert_eq!(
            int_value(8, true, &ctx(Hint::None, &none, 0, false, true), &mut r),
            u64::MAX as i128
        );
    }

    #[test]
    fn edge_timestamps_use_every_fraction_digit() {
        let column = Column {
            name: "at".into(),
            data_type: "datetime(6)".into(),
            kind: ColumnKind::Timestamp {
                tz: false,
                fraction: Some(6),
            },
            nullable: false,
            has_default: false,
            server_filled: false,
            generated: false,
            auto_updated: false,
        };
        let rules = ColumnRules::default();
        let request = Request {
            column: &column,
            hint: Hint::None,
            rules: &rules,
            row: 3,
            unique: false,
            edge: true,
        };
        assert!(value(&request, &mut rng()).unwrap().ends_with(".999999"));
    }
}
