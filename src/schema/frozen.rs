//! Normalizing canonical schema text where the server froze "now" into a literal.
//!
//! `DEFAULT 'now'::timestamp` in PostgreSQL, a view built from a literal timestamp, or a
//! MySQL event that `STARTS` at its creation capture the moment the object was created; a down
//! that recreates the object captures another moment. That is not drift, so such literals
//! (within two days of this run) are replaced by a placeholder.

use std::time::{Duration, SystemTime};

const PLACEHOLDER: &str = "'<time of creation>'";

/// `<time of creation>` when `value` (starting `YYYY-MM-DD`) is within two days of now.
pub fn creation_time(value: &str) -> Option<&'static str> {
    let today = days_since_epoch(SystemTime::now());
    literal_day(value)
        .filter(|day| (day - today).abs() <= 2)
        .map(|_| "<time of creation>")
}

/// Replaces frozen creation-time literals cast to a date/time type (`'…'::timestamp`, as
/// PostgreSQL prints them) in `text`.
pub fn frozen_times(text: &str) -> String {
    let today = days_since_epoch(SystemTime::now());
    replace_frozen(text, today)
}

fn replace_frozen(text: &str, today: i64) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('\'') {
        out.push_str(&rest[..start]);
        let after_quote = &rest[start + 1..];
        let Some(end) = after_quote.find('\'') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let literal = &after_quote[..end];
        let tail = &after_quote[end + 1..];
        let cast_to_time = ["::timestamp", "::date", "::time"]
            .iter()
            .any(|cast| tail.starts_with(cast));
        let recent = literal_day(literal).is_some_and(|day| (day - today).abs() <= 2);
        if cast_to_time && recent {
            out.push_str(PLACEHOLDER);
        } else {
            out.push('\'');
            out.push_str(literal);
            out.push('\'');
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// The day number of a literal starting with `YYYY-MM-DD`.
fn literal_day(literal: &str) -> Option<i64> {
    let date = literal.get(..10)?;
    let mut parts = date.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

fn days_since_epoch(t: SystemTime) -> i64 {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    (secs / 86_400) as i64
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn replaces_recent_timestamps_only() {
        let today = days_from_civil(2026, 11, 26);
        let text = "column a timestamp default '2026-11-26 13:00:01.5'::timestamp without time zone\n\
                    column b date default '2020-01-01'::date\n\
                    column c text default '2026-11-26'::text\n\
                    column d date default '2026-11-27'::date";
        let got = replace_frozen(text, today);
        assert!(got.contains("default '<time of creation>'::timestamp"));
        assert!(got.contains("'2020-01-01'::date"), "old literals stay");
        assert!(got.contains("'2026-11-26'::text"), "non-time casts stay");
        assert!(got.contains("column d date default '<time of creation>'::date"));
    }

    #[test]
    fn leaves_unbalanced_quotes_alone() {
        assert_eq!(replace_frozen("it's", 0), "it's");
    }
}
