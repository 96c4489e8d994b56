//! Applying a transformer to one value: keyed, deterministic, and within the column's type,
//! length and CHECK bounds. Unique columns get collisions resolved the same way every run.

use std::collections::HashMap;

use rand::SeedableRng;
use rand::rngs::SmallRng;

use super::detect::{self, Dictionary, PiiKind};
use super::key::MaskKey;
use super::rules::Transform;
use crate::schema::{Column, ColumnKind};
use crate::seed::values::{self, Hint, Request, format_timestamp, parse_timestamp};
use crate::seed::{ColumnRules, stable_hash};
use crate::{Error, Result};

/// How one column is masked.
#[derive(Debug, Clone)]
pub struct ColumnMask {
    pub column: Column,
    pub transform: Transform,
    /// The HMAC domain (see [`Transform::domain`]).
    pub domain: String,
    /// The column's CHECK rules, which fake values and noise respect.
    pub rules: ColumnRules,
    /// What the column name suggests (fake values).
    pub hint: Hint,
    /// Values must not repeat: collisions are resolved.
    pub unique: bool,
    pub max_len: Option<usize>,
    /// `scrub`: values other masked columns hold, with their masked values, replaced wherever
    /// they appear in the text.
    pub dictionary: Option<std::sync::Arc<Dictionary>>,
}

/// Refuses transformers that cannot produce values of the column's type.
pub fn validate(column: &Column, transform: &Transform) -> std::result::Result<(), String> {
    let kind = &column.kind;
    let text = matches!(kind, ColumnKind::Text { .. } | ColumnKind::Char { .. });
    let ok = match transform {
        Transform::Null => column.nullable,
        Transform::Redact
        | Transform::Partial { .. }
        | Transform::Scrub
        | Transform::Email { .. } => text,
        Transform::Template(_) => text,
        Transform::Noise { days: Some(_), .. } => {
            matches!(kind, ColumnKind::Date | ColumnKind::Timestamp { .. })
        }
        Transform::Noise { .. } => matches!(
            kind,
            ColumnKind::Int { .. }
                | ColumnKind::Decimal { .. }
                | ColumnKind::Float
                | ColumnKind::Money
        ),
        Transform::Hash => !matches!(
            kind,
            ColumnKind::Json
                | ColumnKind::Array(_)
                | ColumnKind::Other(_)
                | ColumnKind::Interval
                | ColumnKind::Set(_)
        ),
        Transform::Fake { .. } => values::can_generate(kind),
        Transform::Keep | Transform::Constant(_) | Transform::Shuffle => true,
    };
    if ok {
        return Ok(());
    }
    Err(match transform {
        Transform::Null => "is NOT NULL: `null` would break it".into(),
        _ => format!(
            "`{}` does not apply to a column of type {}",
            transform.describe(),
            column.data_type
        ),
    })
}

impl ColumnMask {
    /// The masked value of `value` (not for `shuffle` and `template`, which need other rows or
    /// columns). `salt` > 0 asks for an alternative (collision resolution).
    pub fn apply(&self, key: &MaskKey, value: &str, salt: u32) -> Option<String> {
        let input = if salt == 0 {
            value.as_bytes().to_vec()
        } else {
            format!("{value}\u{0}{salt}").into_bytes()
        };
        let out = match &self.transform {
            Transform::Keep | Transform::Shuffle | Transform::Template(_) => value.to_string(),
            Transform::Null => return None,
            Transform::Constant(c) => c.clone(),
            Transform::Redact => redact(value, 0),
            Transform::Partial { keep_last } => redact(value, *keep_last),
            Transform::Hash => self.hash(key, &input, value),
            Transform::Fake { generator, .. } => {
                // The locale is in `rules` (see `mask::plan`).
                let n = key.number(&self.domain, &input);
                let mut rng = SmallRng::seed_from_u64(n);
                let hint = generator.as_deref().map_or(self.hint, Hint::named);
                let request = Request {
                    column: &self.column,
                    hint,
                    rules: &self.rules,
                    row: (n % 1_000_000) as usize,
                    unique: false,
                    edge: false,
                };
                values::value(&request, &mut rng).unwrap_or_else(|| value.to_string())
            }
            Transform::Noise {
                relative,
                absolute,
                days,
            } => {
                let u = key.number(&self.domain, &input) as f64 / u64::MAX as f64 * 2.0 - 1.0;
                self.noise(value, u, *relative, *absolute, *days)
            }
            Transform::Email { keep_domain } => {
                email(key, &self.domain, &input, value, *keep_domain)
            }
            Transform::Scrub => scrub(key, &self.domain, value, self.dictionary.as_deref()),
        };
        Some(self.fit(out))
    }

    fn fit(&self, value: String) -> String {
        match self.max_len {
            Some(max) if value.chars().count() > max => value.chars().take(max).collect(),
            _ => value,
        }
    }

    /// Format-preserving keyed hash: letters stay letters (same case), digits digits.
    fn hash(&self, key: &MaskKey, input: &[u8], value: &str) -> String {
        let mut stream = Stream::new(key, &self.domain, input);
        match &self.column.kind {
            ColumnKind::Uuid => hashed_uuid(&mut stream),
            ColumnKind::Bool => (stream.byte() & 1 == 1).to_string(),
            ColumnKind::Inet => hashed_inet(&mut stream, value),
            ColumnKind::Enum(labels) if !labels.is_empty() => {
                labels[stream.byte() as usize % labels.len()].clone()
            }
            ColumnKind::Date | ColumnKind::Timestamp { .. } => {
                // 1 to 1825 days either way: never the same date.
                let n = stream.number();
                let shift = (1 + (n >> 1) % 1825) as i64 * if n & 1 == 0 { 1 } else { -1 };
                self.shift_time(value, shift * 86_400)
                    .unwrap_or_else(|| value.to_string())
            }
            ColumnKind::Int { bytes, unsigned } => {
                hashed_int(&mut stream, value, *bytes, *unsigned)
            }
            _ => hashed_text(&mut stream, value),
        }
    }

    fn shift_time(&self, value: &str, seconds: i64) -> Option<String> {
        let (at, micros) = parse_timestamp(value)?;
        let shifted = at + seconds;
        Some(match &self.column.kind {
            ColumnKind::Date => values::format_date(shifted.div_euclid(86_400)),
            ColumnKind::Timestamp { tz, .. } => {
                let digits = value.split_once('.').map_or(0, |(_, f)| {
                    f.chars().take_while(char::is_ascii_digit).count()
                });
                format_timestamp(shifted, micros, digits.min(6), *tz)
            }
            _ => return None,
        })
    }

    fn noise(
        &self,
        value: &str,
        u: f64,
        relative: Option<f64>,
        absolute: Option<f64>,
        days: Option<i64>,
    ) -> String {
        if let Some(days) = days {
            // Never the same value: at least a whole day for dates, a second for timestamps.
            let days = days.max(1);
            let seconds = match self.column.kind {
                ColumnKind::Date => {
                    let d = ((u.abs() * days as f64).ceil() as i64).clamp(1, days);
                    d * u.signum() as i64 * 86_400
                }
                _ => {
                    let s = (u * days as f64 * 86_400.0).round() as i64;
                    if s == 0 { 1 } else { s }
                }
            };
            let seconds = if seconds == 0 { 86_400 } else { seconds };
            return self
                .shift_time(value, seconds)
                .unwrap_or_else(|| value.to_string());
        }
        let Ok(x) = value.parse::<f64>() else {
            return value.to_string();
        };
        let moved = match (relative, absolute) {
            (Some(r), _) => x * (1.0 + r * u),
            (_, Some(a)) => x + a * u,
            _ => x,
        };
        let (mut lo, mut hi) = (f64::MIN, f64::MAX);
        if let ColumnKind::Int { bytes, unsigned } = self.column.kind {
            let bits = i32::from(bytes) * 8;
            (lo, hi) = if unsigned {
                (0.0, 2f64.powi(bits) - 1.0)
            } else {
                (-(2f64.powi(bits - 1)), 2f64.powi(bits - 1) - 1.0)
            };
        }
        if let ColumnKind::Decimal {
            precision: Some(p),
            scale,
        } = self.column.kind
        {
            let max = 10f64.powi(p as i32 - scale as i32) - 10f64.powi(-(scale as i32));
            (lo, hi) = (-max, max);
        }
        if let Some((min, inclusive)) = self.rules.min {
            lo = lo.max(if inclusive {
                min
            } else {
                min + f64::EPSILON.max(min.abs() * 1e-9)
            });
        }
        if let Some((max, inclusive)) = self.rules.max {
            hi = hi.min(if inclusive {
                max
            } else {
                max - f64::EPSILON.max(max.abs() * 1e-9)
            });
        }
        let decimals = value.split_once('.').map_or(0, |(_, f)| f.len());
        let step = 10f64.powi(-(decimals as i32));
        // Never the input: rounded back to it, the value moves one step (either way, within
        // the bounds).
        let direction = if u < 0.0 { -1.0 } else { 1.0 };
        let candidates = [moved, x + direction * step, x - direction * step];
        for candidate in candidates {
            let candidate = candidate.clamp(lo.min(hi), hi.max(lo));
            let out = format!("{candidate:.decimals$}");
            // Rounding may step outside an exclusive bound.
            if let Ok(v) = out.parse::<f64>()
                && v >= lo
                && v <= hi
                && out != value
                && v != x
            {
                return out;
            }
        }
        value.to_string()
    }
}

/// A version-4-shaped UUID from the stream.
fn hashed_uuid(stream: &mut Stream<'_>) -> String {
    let b: Vec<u8> = (0..16).map(|_| stream.byte()).collect();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-4{}-{:x}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        8 | (b[8] & 3),
        &hex[17..20],
        &hex[20..32]
    )
}

/// An address of the same family, keeping a network prefix length (`/24`).
fn hashed_inet(stream: &mut Stream<'_>, value: &str) -> String {
    let (address, prefix) = value
        .split_once('/')
        .map_or((value, None), |(a, p)| (a, Some(p)));
    let masked = if address.contains(':') {
        (0..8)
            .map(|_| {
                format!(
                    "{:x}",
                    u16::from(stream.byte()) << 8 | u16::from(stream.byte())
                )
            })
            .collect::<Vec<_>>()
            .join(":")
    } else {
        // Private space, so a masked address never names a real host.
        format!(
            "10.{}.{}.{}",
            stream.byte(),
            stream.byte(),
            stream.byte().max(1)
        )
    };
    match prefix {
        Some(p) if p != "32" && p != "128" => format!("{masked}/{p}"),
        _ => masked,
    }
}

/// A number with as many digits and the same sign, within the column's integer type.
fn hashed_int(stream: &mut Stream<'_>, value: &str, bytes: u8, unsigned: bool) -> String {
    let negative = value.starts_with('-');
    let digits = value.trim_start_matches('-').len().max(1) as u32;
    let low = if digits == 1 {
        0
    } else {
        10u128.pow(digits - 1)
    };
    let span = 10u128.pow(digits) - low;
    let n = low + u128::from(stream.number()) % span;
    let bits = u32::from(bytes) * 8;
    let max = if unsigned {
        (1u128 << bits) - 1
    } else {
        (1u128 << (bits - 1)) - 1
    };
    let n = if n > max { n % max.max(1) } else { n };
    if negative {
        format!("-{n}")
    } else {
        n.to_string()
    }
}

/// Each letter and digit replaced from the stream (case kept; other letters become lower
/// case ASCII), everything else kept.
fn hashed_text(stream: &mut Stream<'_>, value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                (b'0' + stream.byte() % 10) as char
            } else if c.is_ascii_lowercase() {
                (b'a' + stream.byte() % 26) as char
            } else if c.is_ascii_uppercase() {
                (b'A' + stream.byte() % 26) as char
            } else if c.is_alphabetic() {
                (b'a' + stream.byte() % 26) as char
            } else {
                c
            }
        })
        .collect()
}

/// Letters → `x`/`X`, digits → `0`, all but the last `keep_last` characters.
fn redact(value: &str, keep_last: usize) -> String {
    let count = value.chars().count();
    value
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i + keep_last >= count {
                c
            } else if c.is_ascii_digit() {
                '0'
            } else if c.is_uppercase() {
                'X'
            } else if c.is_alphabetic() {
                'x'
            } else {
                c
            }
        })
        .collect()
}

/// Bytes of HMAC output, as many as needed.
struct Stream<'a> {
    key: &'a MaskKey,
    domain: &'a str,
    input: &'a [u8],
    block: [u8; 32],
    used: usize,
    counter: u32,
}

impl<'a> Stream<'a> {
    fn new(key: &'a MaskKey, domain: &'a str, input: &'a [u8]) -> Stream<'a> {
        Stream {
            key,
            domain,
            input,
            block: key.digest(domain, input),
            used: 0,
            counter: 0,
        }
    }

    fn byte(&mut self) -> u8 {
        if self.used == self.block.len() {
            self.counter += 1;
            let mut next = self.input.to_vec();
            next.extend_from_slice(&self.counter.to_le_bytes());
            self.block = self.key.digest(self.domain, &next);
            self.used = 0;
        }
        self.used += 1;
        self.block[self.used - 1]
    }

    fn number(&mut self) -> u64 {
        (0..8).fold(0u64, |n, _| (n << 8) | u64::from(self.byte()))
    }
}

/// A synthetic mailbox for an email: `first.last.1a2b3c@example.org`, or at the original
/// domain with `keep_domain`. Anything that is not an email is hashed letter by letter.
fn email(key: &MaskKey, domain: &str, input: &[u8], value: &str, keep_domain: bool) -> String {
    let n = key.number(domain, input);
    let mut rng = SmallRng::seed_from_u64(n);
    let tag = n & 0xff_ffff;
    let first: String = fake::Fake::fake_with_rng(&fake::faker::name::en::FirstName(), &mut rng);
    let last: String = fake::Fake::fake_with_rng(&fake::faker::name::en::LastName(), &mut rng);
    let local = format!("{}.{}.{tag:06x}", first.to_lowercase(), last.to_lowercase())
        .replace([' ', '\''], "");
    let host = match value.rsplit_once('@') {
        Some((_, d)) if keep_domain && !d.is_empty() => d.to_string(),
        _ => ["example.com", "example.org", "example.net"][(tag % 3) as usize].to_string(),
    };
    format!("{local}@{host}")
}

/// Free text with the personal things inside replaced, the rest kept: values of other masked
/// columns (the `dictionary`) by their masked values, then emails, phone numbers and the rest
/// that look personal by shape.
fn scrub(key: &MaskKey, domain: &str, value: &str, dictionary: Option<&Dictionary>) -> String {
    let known = dictionary.map(|d| d.find(value)).unwrap_or_default();
    let mut found: Vec<(std::ops::Range<usize>, Option<&str>, PiiKind)> = known
        .iter()
        .map(|(r, to)| (r.clone(), Some(*to), PiiKind::FreeText))
        .collect();
    for (range, kind) in detect::scan(value) {
        if !known
            .iter()
            .any(|(r, _)| r.start < range.end && range.start < r.end)
        {
            found.push((range, None, kind));
        }
    }
    if found.is_empty() {
        return value.to_string();
    }
    found.sort_by_key(|(r, _, _)| r.start);
    // An email inside text becomes what an `email` column makes of it, so they still match.
    let email_domain = Transform::Email { keep_domain: false }.domain();
    let mut out = String::with_capacity(value.len());
    let mut at = 0;
    for (range, known, kind) in found {
        out.push_str(&value[at..range.start]);
        let token = &value[range.clone()];
        let exact = dictionary.and_then(|d| d.exact(token));
        let replacement = match (known.or(exact), kind) {
            (Some(to), _) => to.to_string(),
            (None, PiiKind::Email) => email(key, &email_domain, token.as_bytes(), token, false),
            (None, PiiKind::Secret) => "[redacted]".to_string(),
            _ => {
                let mut stream = Stream::new(key, domain, token.as_bytes());
                token
                    .chars()
                    .map(|c| {
                        if c.is_ascii_digit() {
                            (b'0' + stream.byte() % 10) as char
                        } else if c.is_ascii_alphabetic() {
                            (b'A' + stream.byte() % 26) as char
                        } else {
                            c
                        }
                    })
                    .collect()
            }
        };
        out.push_str(&replacement);
        at = range.end;
    }
    out.push_str(&value[at..]);
    out
}

/// Keeps unique masked columns unique: the first input to produce an output owns it; a later,
/// different input tries salted alternatives. Decisions are remembered per HMAC domain, so a
/// foreign key masked like its parent key gets the same resolved value.
#[derive(Debug, Default)]
pub struct Uniqueness {
    domains: HashMap<String, DomainState>,
}

#[derive(Debug, Default)]
struct DomainState {
    /// Output hash → input hash.
    owners: HashMap<u64, u64>,
    /// Inputs whose output was taken: their alternative.
    resolved: HashMap<u64, String>,
}

/// Alternatives tried before giving up on a collision.
const MAX_SALT: u32 = 1000;

impl Uniqueness {
    /// The masked value of `value` for a column whose values must stay unique (or that follows
    /// such a column through a foreign key: then `claim` is false and nothing is reserved).
    pub fn apply(
        &mut self,
        mask: &ColumnMask,
        key: &MaskKey,
        value: &str,
        claim: bool,
    ) -> Result<Option<String>> {
        let state = self.domains.entry(mask.domain.clone()).or_default();
        let input = stable_hash(value.as_bytes());
        if let Some(resolved) = state.resolved.get(&input) {
            return Ok(Some(resolved.clone()));
        }
        let first = mask.apply(key, value, 0);
        if !claim {
            return Ok(first);
        }
        let Some(first) = first else { return Ok(None) };
        let mut candidate = first;
        for salt in 1..=MAX_SALT {
            let output = stable_hash(candidate.as_bytes());
            match state.owners.get(&output) {
                None => {
                    state.owners.insert(output, input);
                    if salt > 1 {
                        state.resolved.insert(input, candidate.clone());
                    }
                    return Ok(Some(candidate));
                }
                Some(owner) if *owner == input => return Ok(Some(candidate)),
                Some(_) => {
                    candidate = mask.apply(key, value, salt).unwrap_or_default();
                }
            }
        }
        Err(Error::input(format!(
            "cannot keep {} unique with `{}`: too many collisions; use `hash` or `email`",
            mask.column.name,
            mask.transform.describe()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Repertoire;

    fn key() -> MaskKey {
        MaskKey::new(b"test-key-0123456789").unwrap()
    }

    fn mask(kind: ColumnKind, transform: Transform) -> ColumnMask {
        ColumnMask {
            column: Column {
                name: "c".into(),
                data_type: "t".into(),
                kind,
                nullable: true,
                has_default: false,
                server_filled: false,
                generated: false,
                auto_updated: false,
            },
            domain: transform.domain(),
            transform,
            rules: ColumnRules::default(),
            hint: Hint::None,
            unique: false,
            max_len: None,
            dictionary: None,
        }
    }

    fn text() -> ColumnKind {
        ColumnKind::Text {
            max_len: None,
            repertoire: Repertoire::Full,
        }
    }

    #[test]
    fn transformers_keep_shape_and_are_keyed() {
        let k = key();
        let other = MaskKey::new(b"another-key-0123456789").unwrap();
        let h = mask(text(), Transform::Hash);
        let a = h.apply(&k, "Jane-42", 0).unwrap();
        assert_eq!(a.len(), 7);
        assert!(
            a.as_bytes()[0].is_ascii_uppercase()
                && a.as_bytes()[4] == b'-'
                && a[5..].bytes().all(|b| b.is_ascii_digit()),
            "{a}"
        );
        assert_eq!(h.apply(&k, "Jane-42", 0).unwrap(), a, "deterministic");
        assert_ne!(h.apply(&other, "Jane-42", 0).unwrap(), a, "keyed");
        assert_eq!(
            mask(text(), Transform::Partial { keep_last: 4 })
                .apply(&k, "4111-1111-1111-1234", 0)
                .unwrap(),
            "0000-0000-0000-1234"
        );
        assert_eq!(
            mask(text(), Transform::Redact)
                .apply(&k, "Jo Doe, 42", 0)
                .unwrap(),
            "Xx Xxx, 00"
        );
        let e = mask(text(), Transform::Email { keep_domain: true })
            .apply(&k, "jane@corp.io", 0)
            .unwrap();
        assert!(e.ends_with("@corp.io") && !e.starts_with("jane@"), "{e}");
        let int = mask(
            ColumnKind::Int {
                bytes: 2,
                unsigned: false,
            },
            Transform::Hash,
        );
        let n: i64 = int.apply(&k, "1234", 0).unwrap().parse().unwrap();
        assert!((1000..=9999).contains(&n));
        let noisy = mask(
            ColumnKind::Decimal {
                precision: Some(8),
                scale: 2,
            },
            Transform::Noise {
                relative: Some(0.1),
                absolute: None,
                days: None,
            },
        );
        let v: f64 = noisy.apply(&k, "100.00", 0).unwrap().parse().unwrap();
        assert!((90.0..=110.0).contains(&v), "{v}");
        let scrubbed = mask(text(), Transform::Scrub)
            .apply(&k, "mail jane@corp.io or +1 555 123 4567 now", 0)
            .unwrap();
        assert!(
            scrubbed.starts_with("mail ") && scrubbed.ends_with(" now"),
            "{scrubbed}"
        );
        assert!(
            !scrubbed.contains("jane@corp.io") && !scrubbed.contains("555 123 4567"),
            "{scrubbed}"
        );
    }

    #[test]
    fn noise_and_hash_never_return_their_input() {
        let k = key();
        let days = mask(
            ColumnKind::Date,
            Transform::Noise {
                relative: None,
                absolute: None,
                days: Some(180),
            },
        );
        let hashed = mask(ColumnKind::Date, Transform::Hash);
        let small = mask(
            ColumnKind::Int {
                bytes: 4,
                unsigned: false,
            },
            Transform::Noise {
                relative: Some(0.1),
                absolute: None,
                days: None,
            },
        );
        for i in 0..2000 {
            let date = values::format_date(-7000 + i * 3);
            for m in [&days, &hashed] {
                let out = m.apply(&k, &date, 0).unwrap();
                assert_ne!(out, date, "{:?}", m.transform);
            }
            let moved = days.apply(&k, &date, 0).unwrap();
            let (a, _) = parse_timestamp(&moved).unwrap();
            let (b, _) = parse_timestamp(&date).unwrap();
            assert!((a - b).abs() <= 180 * 86_400, "{date} → {moved}");
            let n = (i % 7).to_string();
            assert_ne!(small.apply(&k, &n, 0).unwrap(), n);
        }
    }

    #[test]
    fn scrub_replaces_what_other_columns_hold() {
        let k = key();
        let mut d = Dictionary::default();
        d.add("Müller7", "Smith");
        d.add("K-000123", "K-481516");
        d.add("+49 30 1000007", "(201) 555-0100");
        let mut m = mask(text(), Transform::Scrub);
        m.dictionary = Some(std::sync::Arc::new(d));
        let out = m
            .apply(
                &k,
                "Rückruf Müller7 (K-000123) unter +49 30 1000007, Müller70 nicht",
                0,
            )
            .unwrap();
        assert_eq!(
            out,
            "Rückruf Smith (K-481516) unter (201) 555-0100, Müller70 nicht"
        );
    }

    #[test]
    fn unique_columns_resolve_collisions_and_foreign_keys_follow() {
        let k = key();
        // Two-letter codes: 676 outputs, so 300 inputs collide often.
        let m = mask(
            ColumnKind::Char {
                len: 2,
                repertoire: Repertoire::Ascii,
            },
            Transform::Hash,
        );
        let mut u = Uniqueness::default();
        let inputs: Vec<String> = (0..300)
            .map(|i| {
                format!(
                    "{}{}",
                    (b'A' + (i / 26) as u8) as char,
                    (b'A' + (i % 26) as u8) as char
                )
            })
            .collect();
        let outputs: Vec<String> = inputs
            .iter()
            .map(|i| u.apply(&m, &k, i, true).unwrap().unwrap())
            .collect();
        let distinct: std::collections::HashSet<&String> = outputs.iter().collect();
        assert_eq!(distinct.len(), 300);
        for (i, o) in inputs.iter().zip(&outputs) {
            assert_eq!(
                u.apply(&m, &k, i, false).unwrap().as_ref(),
                Some(o),
                "a foreign key gets the parent's value"
            );
        }
    }
}
