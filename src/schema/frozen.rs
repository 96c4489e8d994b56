//! Normalizing canonical schema text where the server froze "now" into a literal.
//!
//! `DEFAULT 'now'::timestamp` in PostgreSQL, a view built from a literal timestamp, or a
//! MySQL event that `STARTS` at its creation capture the moment the object was created; a down
//! that recreates the object captures another moment. That is not drift, so such literals
//! (within two days of this run) are replaced by a placeholder.

use time::{Date, Month, OffsetDateTime};

const PLACEHOLDER: &str = "'<time of creation>'";

/// `<time of creation>` when `value` (starting `YYYY-MM-DD`) is within two days of now.
pub fn creation_time(value: &str) -> Option<&'static str> {
    let today = OffsetDateTime::now_utc().date();
    literal_day(value)
        .filter(|day| near(*day, today))
        .map(|_| "<time of creation>")
}

/// Replaces frozen creation-time literals cast to a date/time type (`'…'::timestamp`, as
/// PostgreSQL prints them) in `text`.
pub fn frozen_times(text: &str) -> String {
    replace_frozen(text, OffsetDateTime::now_utc().date())
}

fn replace_frozen(text: &str, today: Date) -> String {
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
        let recent = literal_day(literal).is_some_and(|day| near(day, today));
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

/// Within two days: a literal written just before midnight, or in another time zone, is
/// still "now".
fn near(day: Date, today: Date) -> bool {
    (day - today).whole_days().abs() <= 2
}

/// The date of a literal starting with `YYYY-MM-DD`. A day past the end of its month rolls over
/// into the next month (`2024-02-30` is March 1st) rather than being rejected.
fn literal_day(literal: &str) -> Option<Date> {
    let date = literal.get(..10)?;
    let mut parts = date.split('-');
    let y: i32 = parts.next()?.parse().ok()?;
    let m: u8 = parts.next()?.parse().ok()?;
    let d: i32 = parts.next()?.parse().ok()?;
    if !(1..=31).contains(&d) {
        return None;
    }
    let first = Date::from_calendar_date(y, Month::try_from(m).ok()?, 1).ok()?;
    Date::from_julian_day(first.to_julian_day() + d - 1).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u8, d: u8) -> Date {
        Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap()
    }

    #[test]
    fn literals_are_read_as_dates() {
        assert_eq!(literal_day("2026-11-26 13:00:01"), Some(date(2026, 11, 26)));
        assert_eq!(literal_day("2024-02-30"), Some(date(2024, 3, 1)));
        assert_eq!(literal_day("2024-13-01"), None);
        assert_eq!(literal_day("2024-00-10"), None);
        assert_eq!(literal_day("2024-1-1"), None);
    }

    #[test]
    fn replaces_recent_timestamps_only() {
        let today = date(2026, 11, 26);
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
        assert_eq!(replace_frozen("it's", date(1970, 1, 1)), "it's");
    }
}
