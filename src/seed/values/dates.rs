//! Dates and timestamps as text: day numbers and seconds since 1970-01-01 formatted and
//! parsed, with the calendar from `time`.

use fake::rand::{Rng, RngExt};
use time::{Date, Month};

use super::kinds::{Ctx, offset, piece};

/// 2015-01-01 as days since the epoch: seeded dates span the ten years after it.
pub(super) fn base_day() -> i64 {
    16_436
}

/// A date: within a partition's range if there are partitions, else in the ten years after
/// [`base_day`] (a day per row for unique columns).
pub(super) fn date_value<R: Rng + ?Sized>(ctx: &Ctx<'_>, rng: &mut R) -> String {
    let Ctx {
        rules, row, unique, ..
    } = *ctx;
    let day = match piece(rules, row, unique, rng) {
        Some((lo, hi)) => {
            let (lo, hi) = ((lo / 86_400.0).ceil() as i64, (hi / 86_400.0).ceil() as i64);
            lo + offset(hi - lo, row, unique, rules, rng)
        }
        None if unique => base_day() + row as i64,
        None => base_day() + rng.random_range(0..3650),
    };
    format_date(day)
}

pub(super) fn time_value<R: Rng + ?Sized>(edge: bool, rng: &mut R) -> String {
    if edge {
        "23:59:59".to_string()
    } else {
        format!(
            "{:02}:{:02}:{:02}",
            rng.random_range(0..24),
            rng.random_range(0..60),
            rng.random_range(0..60)
        )
    }
}

/// A timestamp like [`date_value`]'s dates (a minute per row for unique columns), with as many
/// fractional digits as the column keeps: all of them nines on edge rows.
pub(super) fn timestamp_value<R: Rng + ?Sized>(
    tz: bool,
    fraction: Option<u32>,
    ctx: &Ctx<'_>,
    rng: &mut R,
) -> String {
    let Ctx {
        rules,
        row,
        unique,
        edge,
        ..
    } = *ctx;
    let seconds = match piece(rules, row, unique, rng) {
        Some((lo, hi)) => {
            let (lo, hi) = (lo.ceil() as i64, hi.ceil() as i64);
            lo + offset(hi - lo, row, unique, rules, rng)
        }
        None if unique => base_day() * 86_400 + row as i64 * 60,
        None => base_day() * 86_400 + rng.random_range(0..3650 * 86_400),
    };
    let digits = fraction.unwrap_or(6).min(6) as usize;
    let micros = if edge {
        999_999
    } else if digits == 0 {
        0
    } else {
        rng.random_range(0..1_000_000)
    };
    format_timestamp(seconds, micros, digits, tz)
}

pub(super) fn interval_value<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!(
        "{} days {:02}:{:02}:00",
        rng.random_range(0..30),
        rng.random_range(0..24),
        rng.random_range(0..60)
    )
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01).
pub fn format_date(days: i64) -> String {
    let mut out = String::with_capacity(10);
    push_date(&mut out, days);
    out
}

fn push_date(out: &mut String, days: i64) {
    let (y, m, d) = civil_from_days(days);
    push_padded(out, y, 4);
    out.push('-');
    push_padded(out, i64::from(m), 2);
    out.push('-');
    push_padded(out, i64::from(d), 2);
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff][+00]` of seconds since the epoch.
pub fn format_timestamp(seconds: i64, micros: u32, digits: usize, tz: bool) -> String {
    let (day, second) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let mut out = String::with_capacity(32);
    push_date(&mut out, day);
    out.push(' ');
    push_padded(&mut out, second / 3600, 2);
    out.push(':');
    push_padded(&mut out, second / 60 % 60, 2);
    out.push(':');
    push_padded(&mut out, second % 60, 2);
    if digits > 0 {
        out.push('.');
        push_padded(
            &mut out,
            i64::from(micros / 10u32.pow(6 - digits as u32)),
            digits,
        );
    }
    if tz {
        out.push_str("+00");
    }
    out
}

/// Appends a non-negative `n` with at least `width` digits.
fn push_padded(out: &mut String, n: i64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut i = digits.len();
    let mut n = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let start = i.min(digits.len() - width.min(digits.len()));
    out.extend(digits[start..].iter().map(|&b| b as char));
}

/// Seconds since the epoch (and the microseconds) of `YYYY-MM-DD[ HH:MM:SS[.ffffff]][±HH[:MM]]`
/// (a `T` may separate date and time).
pub fn parse_timestamp(text: &str) -> Option<(i64, u32)> {
    let text = text.trim().trim_matches('\'');
    let date = text.get(..10)?;
    let mut parts = date.split('-');
    let (y, m, d): (i64, i64, i64) = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    );
    let mut seconds = days_from_civil(y, m, d)? * 86_400;
    let rest = text[10..].trim_start_matches([' ', 'T']);
    if rest.is_empty() {
        return Some((seconds, 0));
    }
    let clock = rest.get(..8)?;
    let mut hms = clock.split(':');
    let (h, mi, s): (i64, i64, i64) = (
        hms.next()?.parse().ok()?,
        hms.next()?.parse().ok()?,
        hms.next()?.parse().ok()?,
    );
    seconds += h * 3600 + mi * 60 + s;
    let mut rest = &rest[8..];
    let mut micros = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits: String = fraction.chars().take_while(char::is_ascii_digit).collect();
        rest = &fraction[digits.len()..];
        micros = format!("{:0<6}", &digits[..digits.len().min(6)])
            .parse()
            .ok()?;
    }
    if let Some(sign) = rest.chars().next().filter(|c| *c == '+' || *c == '-') {
        let zone: Vec<i64> = rest[1..]
            .split(':')
            .filter_map(|p| p.parse().ok())
            .collect();
        let shift =
            zone.first().copied().unwrap_or(0) * 3600 + zone.get(1).copied().unwrap_or(0) * 60;
        seconds -= if sign == '+' { shift } else { -shift };
    }
    Some((seconds, micros))
}

/// 1970-01-01 as a Julian day number, which `time` counts dates in.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// Days in 400 Gregorian years: the calendar repeats exactly after them. Dates are converted
/// within 1970..2370 and moved by whole cycles, so any day number has a date (a unique date
/// column of millions of rows passes the year 9999, which PostgreSQL accepts and `time` does
/// not represent).
const DAYS_PER_400_YEARS: i64 = 146_097;

/// Year, month and day of a day number (days since 1970-01-01).
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let cycles = days.div_euclid(DAYS_PER_400_YEARS);
    let within = days.rem_euclid(DAYS_PER_400_YEARS);
    let (year, month, day) = Date::from_julian_day((UNIX_EPOCH_JULIAN_DAY + within) as i32)
        .expect("1970..2370 is within the range of `time`")
        .to_calendar_date();
    (i64::from(year) + 400 * cycles, u8::from(month), day)
}

/// The day number of a date. Like servers that accept `0000-00-00`, days and months past the
/// end roll over (`2024-02-30` is March 1st, month 0 is December of the year before), so zero
/// dates read from MariaDB still have a day number.
fn days_from_civil(year: i64, month: i64, day: i64) -> Option<i64> {
    let months = year.checked_mul(12)?.checked_add(month - 1)?;
    let (year, month) = (months.div_euclid(12), months.rem_euclid(12) + 1);
    let cycles = (year - 1970).div_euclid(400);
    let year = i32::try_from(year - 400 * cycles).ok()?;
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let first = Date::from_calendar_date(year, month, 1).ok()?;
    let first = i64::from(first.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY;
    Some(first + cycles * DAYS_PER_400_YEARS + day - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse() {
        assert_eq!(days_from_civil(2015, 1, 1), Some(base_day()));
        assert_eq!(parse_timestamp("1970-01-02"), Some((86_400, 0)));
        assert_eq!(
            parse_timestamp("1970-01-01 01:00:00.5+01"),
            Some((0, 500_000))
        );
        assert_eq!(
            parse_timestamp("'2024-03-01 00:00:00'"),
            Some((19_783 * 86_400, 0))
        );
    }

    #[test]
    fn dates_format_correctly() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(base_day()), "2015-01-01");
        assert_eq!(format_date(11_017), "2000-03-01");
    }
}
