//! Text generators: people, places, companies and codes with `fake` in a locale, text that
//! matches a CHECK pattern, edge-row text at the limits of a column, and checksummed IBANs and
//! card numbers.

use fake::Fake;
use fake::faker::address::en::CountryCode;
use fake::faker::internet::en::{DomainSuffix, Username};
use fake::faker::lorem::en::{Sentence, Word};
use fake::faker::name::en::{FirstName, LastName};
use fake::rand::{Rng, RngExt};

use super::Hint;
use super::kinds::Ctx;
use crate::pii;
use crate::schema::Repertoire;
use crate::seed::ColumnRules;
use crate::seed::generate::EDGE_EVERY;
use crate::seed::rules::CharClass;

/// The language and country of people's names, addresses, phones and companies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Locale {
    #[default]
    En,
    De,
    Fr,
    It,
    Nl,
    PtBr,
    Ja,
    ZhCn,
}

impl Locale {
    /// The names overrides accept.
    pub const NAMES: &[&str] = &[
        "en", "de_de", "fr_fr", "it_it", "nl_nl", "pt_br", "ja_jp", "zh_cn",
    ];

    pub fn parse(name: &str) -> Option<Locale> {
        Some(match name.to_ascii_lowercase().replace('-', "_").as_str() {
            "en" | "en_us" | "en_gb" => Locale::En,
            "de" | "de_de" => Locale::De,
            "fr" | "fr_fr" => Locale::Fr,
            "it" | "it_it" => Locale::It,
            "nl" | "nl_nl" => Locale::Nl,
            "pt_br" => Locale::PtBr,
            "ja" | "ja_jp" => Locale::Ja,
            "zh_cn" => Locale::ZhCn,
            _ => return None,
        })
    }
}

/// One value of a `fake` faker in the given locale.
macro_rules! localized {
    ($locale:expr, $($faker:ident)::+, $rng:expr) => {{
        use fake::locales::{DE_DE, EN, FR_FR, IT_IT, JA_JP, NL_NL, PT_BR, ZH_CN};
        let value: String = match $locale {
            Locale::En => $($faker)::+(EN).fake_with_rng($rng),
            Locale::De => $($faker)::+(DE_DE).fake_with_rng($rng),
            Locale::Fr => $($faker)::+(FR_FR).fake_with_rng($rng),
            Locale::It => $($faker)::+(IT_IT).fake_with_rng($rng),
            Locale::Nl => $($faker)::+(NL_NL).fake_with_rng($rng),
            Locale::PtBr => $($faker)::+(PT_BR).fake_with_rng($rng),
            Locale::Ja => $($faker)::+(JA_JP).fake_with_rng($rng),
            Locale::ZhCn => $($faker)::+(ZH_CN).fake_with_rng($rng),
        };
        value
    }};
}

/// Columns holding more than this many characters (or bytes) are the huge types (MySQL's
/// MEDIUM and LONG TEXT/BLOB; a TEXT holds 16,383 four-byte characters).
pub(super) const HUGE: usize = 1_000_000;
/// The length of one huge column's edge value: more bytes than the next smaller type holds,
/// whatever the characters.
pub(super) const PAST_SMALLER: usize = 66_000;

/// A value of a text column: matching its CHECK pattern if it has one, the longest text the
/// column stores on edge rows, else what its name suggests.
pub(super) fn text_of_column<R: Rng + ?Sized>(
    max_len: Option<u32>,
    repertoire: Repertoire,
    ctx: &Ctx<'_>,
    rng: &mut R,
) -> String {
    let Ctx {
        hint,
        rules,
        row,
        unique,
        edge,
    } = *ctx;
    let limit = match (max_len, rules.max_len) {
        (Some(a), Some(b)) => Some((a as usize).min(b)),
        (a, b) => a.map(|a| a as usize).or(b),
    };
    if let Some(prefix) = &rules.prefix {
        patterned(prefix, rules, limit, row, unique, rng)
    } else if edge {
        // At most 2,000 characters, so an index entry still fits (PostgreSQL's btree takes
        // about 2,700 bytes); but the first edge row of a MEDIUMTEXT/LONGTEXT holds more than
        // a TEXT can (65,535 bytes), so narrowing the column shows.
        let len = match limit {
            Some(l) if l > HUGE && row < EDGE_EVERY => PAST_SMALLER,
            l => l.unwrap_or(300).min(2000),
        };
        edge_text(len, rules.min_len, repertoire, row, unique)
    } else {
        text_value(hint, limit, rules.min_len, row, unique, rules.locale, rng)
    }
}

/// A value of a fixed-length text column.
pub(super) fn char_of_column<R: Rng + ?Sized>(
    len: u32,
    repertoire: Repertoire,
    ctx: &Ctx<'_>,
    rng: &mut R,
) -> String {
    if ctx.edge && !ctx.unique {
        edge_text(len as usize, None, repertoire, ctx.row, false)
    } else {
        char_value(len as usize, ctx.hint, ctx.row, ctx.unique, rng)
    }
}

/// Text for an edge row: as long as the column allows, in the widest characters it can store,
/// ending in a space (which CHAR columns and some conversions drop).
fn edge_text(
    len: usize,
    min_len: Option<usize>,
    repertoire: Repertoire,
    row: usize,
    unique: bool,
) -> String {
    let sample = match repertoire {
        Repertoire::Full => "Zoë Ångström 渡辺 🚀 ",
        Repertoire::Bmp => "Zoë Ångström 渡辺 ",
        Repertoire::Latin1 => "Zoë Ångström ",
        Repertoire::Ascii => "Zoe Angstrom ",
    };
    let suffix = if unique {
        row.to_string()
    } else {
        String::new()
    };
    let body = len.saturating_sub(suffix.len());
    let mut text: String = sample.chars().cycle().take(body).collect();
    text.push_str(&suffix);
    fit(text, Some(len), min_len, row, unique, true)
}

/// Text for what the column's name suggests, unique and within the length bounds when asked.
fn text_value<R: Rng + ?Sized>(
    hint: Hint,
    max_len: Option<usize>,
    min_len: Option<usize>,
    row: usize,
    unique: bool,
    locale: Locale,
    rng: &mut R,
) -> String {
    // Emails and codes carry the row number where it keeps them valid; everything else gets
    // it appended by `fit`.
    let (base, already_unique) = match hint {
        Hint::Email => (email(row, unique, rng), true),
        Hint::Code => code(row, unique, rng),
        _ => match localized_text(hint, locale, rng) {
            Some(text) => (text, false),
            None => (plain_text(hint, rng), false),
        },
    };
    fit(base, max_len, min_len, row, unique, already_unique)
}

/// `first.last@example.com`, with the row number for unique columns.
fn email<R: Rng + ?Sized>(row: usize, unique: bool, rng: &mut R) -> String {
    let first: String = FirstName().fake_with_rng(rng);
    let last: String = LastName().fake_with_rng(rng);
    let domain = ["example.com", "example.org", "example.net"][rng.random_range(0..3)];
    let local = format!("{}.{}", first.to_lowercase(), last.to_lowercase()).replace(' ', "");
    if unique {
        format!("{local}.{row}@{domain}")
    } else {
        format!("{local}@{domain}")
    }
}

/// A product code, `QX-048213`: the row number in the digits for unique columns. Whether the
/// code is already unique comes with it.
fn code<R: Rng + ?Sized>(row: usize, unique: bool, rng: &mut R) -> (String, bool) {
    let letters: String = (0..2)
        .map(|_| (b'A' + rng.random_range(0..26u8)) as char)
        .collect();
    if unique {
        (format!("{letters}-{row:06}"), true)
    } else {
        (
            format!("{letters}-{:06}", rng.random_range(0..1_000_000)),
            false,
        )
    }
}

/// People, places and companies, in the locale; `None` for hints that have no locale.
fn localized_text<R: Rng + ?Sized>(hint: Hint, locale: Locale, rng: &mut R) -> Option<String> {
    Some(match hint {
        Hint::FirstName => localized!(locale, fake::faker::name::raw::FirstName, rng),
        Hint::LastName => localized!(locale, fake::faker::name::raw::LastName, rng),
        Hint::FullName => full_name(locale, rng),
        Hint::Phone => localized!(locale, fake::faker::phone_number::raw::PhoneNumber, rng),
        Hint::City => localized!(locale, fake::faker::address::raw::CityName, rng),
        Hint::Country => localized!(locale, fake::faker::address::raw::CountryName, rng),
        Hint::Street => {
            let number = localized!(locale, fake::faker::address::raw::BuildingNumber, rng);
            let street = localized!(locale, fake::faker::address::raw::StreetName, rng);
            match locale {
                Locale::En | Locale::Ja | Locale::ZhCn => format!("{number} {street}"),
                _ => format!("{street} {number}"),
            }
        }
        Hint::Zip => localized!(locale, fake::faker::address::raw::ZipCode, rng),
        Hint::State => localized!(locale, fake::faker::address::raw::StateName, rng),
        Hint::Company => localized!(locale, fake::faker::company::raw::CompanyName, rng),
        _ => return None,
    })
}

/// Text that does not depend on the locale: identifiers, web things, labels, sentences, and
/// two words when the name suggests nothing.
fn plain_text<R: Rng + ?Sized>(hint: Hint, rng: &mut R) -> String {
    match hint {
        Hint::Username => Username().fake_with_rng(rng),
        Hint::CountryCode => CountryCode().fake_with_rng(rng),
        Hint::Url => {
            let word: String = Word().fake_with_rng(rng);
            let suffix: String = DomainSuffix().fake_with_rng(rng);
            format!("https://{word}.example.{suffix}/")
        }
        Hint::Ip => format!(
            "10.0.{}.{}",
            rng.random_range(0..256),
            rng.random_range(1..255)
        ),
        Hint::Slug => {
            let words: Vec<String> = (0..3).map(|_| Word().fake_with_rng(rng)).collect();
            words.join("-")
        }
        Hint::Status => {
            ["active", "pending", "inactive", "archived"][rng.random_range(0..4)].into()
        }
        Hint::Currency => ["USD", "EUR", "GBP", "JPY", "CHF"][rng.random_range(0..5)].into(),
        Hint::Title => {
            let s: String = Sentence(2..6).fake_with_rng(rng);
            s.trim_end_matches('.').to_string()
        }
        Hint::Text => Sentence(4..14).fake_with_rng(rng),
        Hint::Iban => iban(rng),
        Hint::Card => card_number(rng),
        Hint::Uuid => uuid(rng),
        _ => {
            let words: Vec<String> = (0..2).map(|_| Word().fake_with_rng(rng)).collect();
            words.join(" ")
        }
    }
}

/// Text that matches a CHECK's pattern: the literal prefix, the classes of the tail, and a
/// number when the pattern leaves the end open (the row number for unique columns).
fn patterned<R: Rng + ?Sized>(
    prefix: &str,
    rules: &ColumnRules,
    limit: Option<usize>,
    row: usize,
    unique: bool,
    rng: &mut R,
) -> String {
    let mut out = prefix.to_string();
    let number = row.to_string();
    // A unique value puts the row number into its last run of digits if that run can hold it.
    let digits_slot = rules
        .tail
        .iter()
        .rposition(|(class, _, max)| *class == CharClass::Digit && *max >= number.len())
        .filter(|_| unique && rules.closed);
    for (i, (class, min, max)) in rules.tail.iter().enumerate() {
        if Some(i) == digits_slot {
            let width = (*min).max(number.len());
            out.push_str(&format!("{number:0>width$}"));
            continue;
        }
        let n = if min == max {
            *min
        } else {
            rng.random_range(*min..=(*max).min(min + 4))
        };
        let chars = class.chars();
        out.extend((0..n).map(|_| chars[rng.random_range(0..chars.len())] as char));
    }
    if !rules.closed {
        if unique {
            out.push_str(&format!("{number:0>6}"));
        } else if rules.tail.is_empty() {
            out.push_str(&format!("{:06}", rng.random_range(0..1_000_000)));
        }
    }
    if let Some(max) = limit
        && out.chars().count() > max
    {
        // Keep the end, where unique values differ, after as much of the prefix as fits.
        let keep_front = max.saturating_sub(number.len()).min(prefix.chars().count());
        let front: String = out.chars().take(keep_front).collect();
        let back: String = out
            .chars()
            .rev()
            .take(max - keep_front)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        out = front + &back;
    }
    out
}

/// A person's name as people really have them: mostly "First Last", but also middle names,
/// titles and single names, which is where name-splitting migrations lose data.
fn full_name<R: Rng + ?Sized>(locale: Locale, rng: &mut R) -> String {
    let first = localized!(locale, fake::faker::name::raw::FirstName, rng);
    let last = localized!(locale, fake::faker::name::raw::LastName, rng);
    if matches!(locale, Locale::Ja | Locale::ZhCn) {
        return format!("{last}{first}");
    }
    match rng.random_range(0..100) {
        0..70 => format!("{first} {last}"),
        70..85 => {
            let middle = localized!(locale, fake::faker::name::raw::FirstName, rng);
            format!("{first} {middle} {last}")
        }
        85..95 => {
            let title = ["Dr.", "Prof.", "Mx.", "Sir"][rng.random_range(0..4)];
            format!("{title} {first} {last}")
        }
        _ => first,
    }
}

/// Makes `value` unique (row number appended) and fit the length bounds. When a unique value
/// is too long, the front is shortened so that the distinguishing row number survives.
fn fit(
    value: String,
    max_len: Option<usize>,
    min_len: Option<usize>,
    row: usize,
    unique: bool,
    already_unique: bool,
) -> String {
    let mut value = if unique && !already_unique {
        format!("{value} {row}")
    } else {
        value
    };
    if let Some(max) = max_len
        && value.chars().count() > max
    {
        value = if unique {
            let suffix = row.to_string();
            let keep = max.saturating_sub(suffix.len());
            let shortened: String = value.chars().take(keep).collect::<String>() + &suffix;
            // A row number longer than the column keeps its last digits.
            let skip = shortened.chars().count().saturating_sub(max);
            shortened.chars().skip(skip).collect()
        } else {
            value.chars().take(max).collect()
        };
    }
    if let Some(min) = min_len {
        while value.chars().count() < min {
            value.push('x');
        }
    }
    value
}

fn char_value<R: Rng + ?Sized>(
    len: usize,
    hint: Hint,
    row: usize,
    unique: bool,
    rng: &mut R,
) -> String {
    let len = len.max(1);
    if unique {
        let mut code = to_base36(row as u64);
        while code.len() < len {
            code.insert(0, '0');
        }
        return code[code.len() - len..].to_string();
    }
    match (hint, len) {
        (Hint::CountryCode | Hint::Country, 2) => CountryCode().fake_with_rng(rng),
        (Hint::Currency, 3) => ["USD", "EUR", "GBP", "JPY", "CHF"][rng.random_range(0..5)].into(),
        (Hint::Card, 16..) => format!("{:<len$}", card_number(rng)),
        (Hint::Iban, 22..) => format!("{:<len$}", iban(rng)),
        (Hint::Uuid, 36..) => format!("{:<len$}", uuid(rng)),
        _ => (0..len)
            .map(|_| (b'A' + rng.random_range(0..26u8)) as char)
            .collect(),
    }
}

/// A German-shaped IBAN (`DE`, two mod-97 check digits, 18 digits) with a valid checksum.
/// The bank code is from the range Bundesbank reserves for tests, so no real account matches.
pub fn iban<R: Rng + ?Sized>(rng: &mut R) -> String {
    let account: u64 = rng.random_range(0..10_000_000_000);
    let bban = format!("10000000{account:010}");
    format!("DE{:02}{bban}", pii::iban_check_digits("DE", &bban))
}

/// A 16-digit Visa-shaped test card number (`4000 00…`) with a valid Luhn check digit.
pub fn card_number<R: Rng + ?Sized>(rng: &mut R) -> String {
    let body = format!("400000{:09}", rng.random_range(0..1_000_000_000u64));
    let digits: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
    format!("{body}{}", pii::luhn_check_digit(&digits))
}

fn to_base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

pub fn uuid<R: Rng + ?Sized>(rng: &mut R) -> String {
    let mut b: [u8; 16] = rng.random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use fake::rand::SeedableRng;
    use fake::rand::rngs::StdRng;

    fn rng() -> StdRng {
        StdRng::seed_from_u64(1)
    }

    #[test]
    fn patterns_from_checks_are_matched() {
        let rules = ColumnRules {
            prefix: Some("INV-".into()),
            tail: vec![(CharClass::Upper, 2, 2), (CharClass::Digit, 4, 4)],
            closed: true,
            ..Default::default()
        };
        let mut r = rng();
        for row in [0, 7, 4321] {
            let v = patterned("INV-", &rules, None, row, true, &mut r);
            assert_eq!(v.len(), 10, "{v}");
            assert!(v[4..6].bytes().all(|b| b.is_ascii_uppercase()), "{v}");
            assert!(v.ends_with(&format!("{row:04}")), "{v}");
        }
        let open = ColumnRules {
            prefix: Some("EMP-".into()),
            ..Default::default()
        };
        let v = patterned("EMP-", &open, Some(8), 123, true, &mut r);
        assert!(
            v.starts_with("EMP") && v.ends_with("123") && v.len() == 8,
            "{v}"
        );
    }

    #[test]
    fn text_fits_its_length() {
        let mut r = rng();
        for row in 0..100 {
            let v = text_value(Hint::Email, Some(12), None, row, true, Locale::En, &mut r);
            assert!(v.chars().count() <= 12, "{v}");
            assert!(
                v.ends_with(&row.to_string()) || v.contains(&format!(".{row}@")),
                "{v}"
            );
        }
        let v = text_value(Hint::None, Some(3), Some(3), 0, false, Locale::En, &mut r);
        assert_eq!(v.chars().count(), 3);
    }

    #[test]
    fn edge_text_fills_the_column_with_what_it_can_store() {
        let full = edge_text(50, None, Repertoire::Full, 0, false);
        assert_eq!(full.chars().count(), 50);
        assert!(full.contains('🚀') && full.contains('渡'));
        let latin1 = edge_text(20, None, Repertoire::Latin1, 0, false);
        assert!(latin1.chars().all(|c| (c as u32) < 256), "{latin1}");
        let bmp = edge_text(40, None, Repertoire::Bmp, 0, false);
        assert!(bmp.chars().all(|c| (c as u32) < 0x10000) && bmp.contains('渡'));
        let unique = edge_text(10, None, Repertoire::Ascii, 123, true);
        assert_eq!(unique.chars().count(), 10);
        assert!(unique.ends_with("123"));
    }

    #[test]
    fn ibans_and_cards_pass_their_checksums() {
        let mut r = rng();
        for _ in 0..50 {
            let iban = iban(&mut r);
            assert_eq!(iban.len(), 22);
            assert!(pii::iban_valid(&iban), "{iban}");
            let card = card_number(&mut r);
            assert_eq!(card.len(), 16);
            let digits: Vec<u8> = card.bytes().map(|b| b - b'0').collect();
            assert!(pii::luhn_valid(&digits), "{card}");
        }
    }
}
