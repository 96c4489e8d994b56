//! Generating one value for one column, as text the server can cast to the column's type.

use fake::Fake;
use fake::faker::address::en::CountryCode;
use fake::faker::internet::en::{DomainSuffix, Username};
use fake::faker::lorem::en::{Sentence, Word};
use fake::faker::name::en::{FirstName, LastName};
use fake::rand::{Rng, RngExt};
use time::{Date, Month};

use super::ColumnRules;
use crate::schema::{Column, ColumnKind, Repertoire};

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

/// Whether seeding can produce values of this kind (else the column is left to its default).
pub fn can_generate(kind: &ColumnKind) -> bool {
    match kind {
        ColumnKind::Other(_) => false,
        ColumnKind::Array(inner) => can_generate(inner),
        _ => true,
    }
}

/// What a column name suggests about its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    Email,
    FirstName,
    LastName,
    FullName,
    Username,
    Phone,
    City,
    Country,
    CountryCode,
    Street,
    Zip,
    State,
    Company,
    Url,
    Ip,
    Slug,
    Status,
    Currency,
    Title,
    Text,
    Price,
    Quantity,
    Age,
    Year,
    Rating,
    Percent,
    Iban,
    Card,
    Uuid,
    /// Product codes and SKUs: `QX-048213`.
    Code,
    None,
}

impl Hint {
    pub fn of(name: &str) -> Hint {
        hint(name)
    }

    /// Like [`Hint::of`], with the table's name to tell what a plain `name` or `title` is:
    /// a company's, a product's, a city's, or (by default) a person's.
    pub fn for_column(table: &str, column: &str) -> Hint {
        let by_column = hint(column);
        let plain = matches!(
            column.to_ascii_lowercase().as_str(),
            "name" | "title" | "display_name"
        );
        if !plain {
            return by_column;
        }
        let t = table.to_ascii_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
        if has(&[
            "compan", "organi", "vendor", "supplier", "employer", "brand", "tenant", "merchant",
        ]) {
            Hint::Company
        } else if has(&[
            "product", "item", "article", "book", "movie", "course", "project", "event", "task",
        ]) {
            Hint::Title
        } else if has(&["cities", "city", "town"]) {
            Hint::City
        } else if has(&["countr"]) {
            Hint::Country
        } else if has(&[
            "categor",
            "tag",
            "label",
            "group",
            "team",
            "role",
            "department",
        ]) {
            Hint::None
        } else {
            by_column
        }
    }

    /// The generator's name, as overrides spell it.
    pub fn name(self) -> &'static str {
        match self {
            Hint::Email => "email",
            Hint::FirstName => "first_name",
            Hint::LastName => "last_name",
            Hint::FullName => "name",
            Hint::Username => "username",
            Hint::Phone => "phone",
            Hint::City => "city",
            Hint::Country => "country",
            Hint::CountryCode => "country_code",
            Hint::Street => "street",
            Hint::Zip => "zip",
            Hint::State => "state",
            Hint::Company => "company",
            Hint::Url => "url",
            Hint::Ip => "ip",
            Hint::Slug => "slug",
            Hint::Status => "status",
            Hint::Currency => "currency",
            Hint::Title => "title",
            Hint::Text => "text",
            Hint::Price => "price",
            Hint::Quantity => "quantity",
            Hint::Age => "age",
            Hint::Year => "year",
            Hint::Rating => "rating",
            Hint::Percent => "percent",
            Hint::Iban => "iban",
            Hint::Card => "card",
            Hint::Uuid => "uuid",
            Hint::Code => "code",
            Hint::None => "words",
        }
    }
}

fn hint(name: &str) -> Hint {
    let n = name.to_ascii_lowercase();
    let has = |w: &str| n.contains(w);
    let is = |w: &str| n == w || n.ends_with(&format!("_{w}"));
    if has("email") || has("e_mail") {
        Hint::Email
    } else if has("iban") {
        Hint::Iban
    } else if has("card_number") || has("cc_number") || has("credit_card") || is("pan") {
        Hint::Card
    } else if is("uuid") || is("guid") {
        Hint::Uuid
    } else if is("sku") || n == "code" || n == "product_code" || n == "item_code" {
        Hint::Code
    } else if has("first_name") || has("firstname") || has("given_name") {
        Hint::FirstName
    } else if has("last_name") || has("lastname") || has("surname") || has("family_name") {
        Hint::LastName
    } else if has("username") || has("user_name") || has("login") || has("handle") {
        Hint::Username
    } else if has("phone") || has("mobile") || has("fax") {
        Hint::Phone
    } else if has("country_code") || is("iso2") {
        Hint::CountryCode
    } else if has("country") {
        Hint::Country
    } else if has("city") || has("town") {
        Hint::City
    } else if has("street") || has("address") {
        Hint::Street
    } else if has("zip") || has("postal") || has("postcode") {
        Hint::Zip
    } else if has("state") || has("province") || has("region") {
        Hint::State
    } else if has("company") || has("organization") || has("organisation") || has("employer") {
        Hint::Company
    } else if has("url") || has("website") || has("homepage") || has("link") {
        Hint::Url
    } else if is("ip") || has("ip_address") {
        Hint::Ip
    } else if has("slug") {
        Hint::Slug
    } else if has("status") || has("state") || is("kind") || is("type") {
        Hint::Status
    } else if has("currency") {
        Hint::Currency
    } else if is("title") || is("subject") || is("headline") {
        Hint::Title
    } else if has("description") || has("comment") || has("body") || has("note") || has("bio") {
        Hint::Text
    } else if has("name") {
        Hint::FullName
    } else if has("price") || has("amount") || has("total") || has("cost") || has("balance") {
        Hint::Price
    } else if has("qty") || has("quantity") || is("count") {
        Hint::Quantity
    } else if is("age") {
        Hint::Age
    } else if is("year") {
        Hint::Year
    } else if has("rating") || has("score") || has("stars") {
        Hint::Rating
    } else if has("percent") || has("pct") || has("ratio") {
        Hint::Percent
    } else {
        Hint::None
    }
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

/// Everything but the kind, passed down while generating (arrays recurse).
#[derive(Clone, Copy)]
struct Ctx<'a> {
    hint: Hint,
    rules: &'a ColumnRules,
    row: usize,
    unique: bool,
    edge: bool,
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

fn kind_value<R: Rng + ?Sized>(kind: &ColumnKind, ctx: &Ctx<'_>, rng: &mut R) -> Option<String> {
    let Ctx {
        hint,
        rules,
        row,
        unique,
        edge,
    } = *ctx;
    let value = match kind {
        ColumnKind::Int { bytes, unsigned } => int_value(*bytes, *unsigned, ctx, rng).to_string(),
        ColumnKind::Decimal { precision, scale } => decimal_value(*precision, *scale, ctx, rng),
        ColumnKind::Float => {
            let (lo, hi) = range(hint, rules, (-3.0e38, 3.0e38), 0.001);
            if edge && !unique && rules.max.is_none() {
                // Many significant digits: a FLOAT or a smaller DOUBLE rounds them.
                "123456789.987654321".to_string()
            } else if unique {
                format!("{}", lo + row as f64 + 0.25)
            } else {
                format!("{:.3}", rng.random_range(lo..=hi))
            }
        }
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
        } => {
            let limit = match (*max_len, rules.max_len) {
                (Some(a), Some(b)) => Some((a as usize).min(b)),
                (a, b) => a.map(|a| a as usize).or(b),
            };
            if let Some(prefix) = &rules.prefix {
                patterned(prefix, rules, limit, row, unique, rng)
            } else if edge {
                let len = limit.unwrap_or(300).min(2000);
                edge_text(len, rules.min_len, *repertoire, row, unique)
            } else {
                text_value(hint, limit, rules.min_len, row, unique, rules.locale, rng)
            }
        }
        ColumnKind::Char { len, repertoire } => {
            if edge && !unique {
                edge_text(*len as usize, None, *repertoire, row, false)
            } else {
                char_value(*len as usize, hint, row, unique, rng)
            }
        }
        ColumnKind::Date => {
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
        ColumnKind::Time => {
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
        ColumnKind::Timestamp { tz, fraction } => {
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
            format_timestamp(seconds, micros, digits, *tz)
        }
        ColumnKind::Interval => format!(
            "{} days {:02}:{:02}:00",
            rng.random_range(0..30),
            rng.random_range(0..24),
            rng.random_range(0..60)
        ),
        ColumnKind::Uuid => uuid(rng),
        ColumnKind::Json => {
            let word: String = Word().fake_with_rng(rng);
            let label = if edge {
                "Zoë 渡辺 🚀"
            } else {
                word.as_str()
            };
            format!(
                "{{\"id\": {row}, \"label\": \"{label}\", \"score\": {}.5, \"tags\": [\"{word}\", \"x{}\"], \"active\": {}}}",
                rng.random_range(0..100),
                rng.random_range(0..10),
                rng.random_bool(0.5)
            )
        }
        ColumnKind::Bytes { max_len } => {
            let len = match (edge, max_len) {
                (true, Some(max)) => (*max as usize).min(1000),
                (true, None) => 64,
                (false, max) => rng.random_range(4..16).min(max.unwrap_or(16) as usize),
            };
            let bytes: String = (0..len)
                .map(|_| format!("{:02x}", rng.random_range(0..=255u8)))
                .collect();
            format!("\\x{bytes}")
        }
        ColumnKind::Inet => {
            let n = if unique {
                row as u32
            } else {
                rng.random_range(0..1 << 24)
            };
            format!("10.{}.{}.{}", n >> 16 & 255, n >> 8 & 255, n & 255)
        }
        ColumnKind::MacAddr => format!(
            "08:00:2b:{:02x}:{:02x}:{:02x}",
            row >> 16 & 255,
            row >> 8 & 255,
            if unique {
                row & 255
            } else {
                rng.random_range(0..256)
            }
        ),
        ColumnKind::Enum(labels) if !labels.is_empty() => {
            let i = if unique {
                row % labels.len()
            } else if edge {
                labels.len() - 1
            } else {
                rng.random_range(0..labels.len())
            };
            labels[i].clone()
        }
        ColumnKind::Set(labels) => {
            let chosen: Vec<&str> = labels
                .iter()
                .filter(|_| edge || rng.random_bool(0.4))
                .map(String::as_str)
                .collect();
            chosen.join(",")
        }
        ColumnKind::Bit { len } => {
            let len = (*len).clamp(1, 64) as usize;
            if edge {
                "1".repeat(len)
            } else {
                (0..len)
                    .map(|_| if rng.random_bool(0.5) { '1' } else { '0' })
                    .collect()
            }
        }
        ColumnKind::Year => {
            if edge {
                "2155".to_string()
            } else {
                rng.random_range(1990..=2030).to_string()
            }
        }
        ColumnKind::Array(inner) => {
            let count = rng.random_range(0..4);
            let none = ColumnRules::default();
            let elements: Vec<String> = (0..count)
                .filter_map(|k| {
                    let element = Ctx {
                        rules: &none,
                        row: row * 4 + k,
                        ..*ctx
                    };
                    kind_value(inner, &element, rng)
                })
                .map(|v| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
                .collect();
            format!("{{{}}}", elements.join(","))
        }
        ColumnKind::Enum(_) | ColumnKind::Other(_) => return None,
    };
    Some(value)
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

fn text_value<R: Rng + ?Sized>(
    hint: Hint,
    max_len: Option<usize>,
    min_len: Option<usize>,
    row: usize,
    unique: bool,
    locale: Locale,
    rng: &mut R,
) -> String {
    let base: String = match hint {
        Hint::Email => {
            let first: String = FirstName().fake_with_rng(rng);
            let last: String = LastName().fake_with_rng(rng);
            let domain = ["example.com", "example.org", "example.net"][rng.random_range(0..3)];
            let local =
                format!("{}.{}", first.to_lowercase(), last.to_lowercase()).replace(' ', "");
            let local = if unique {
                format!("{local}.{row}")
            } else {
                local
            };
            return fit(
                format!("{local}@{domain}"),
                max_len,
                min_len,
                row,
                unique,
                true,
            );
        }
        Hint::FirstName => localized!(locale, fake::faker::name::raw::FirstName, rng),
        Hint::LastName => localized!(locale, fake::faker::name::raw::LastName, rng),
        Hint::FullName => full_name(locale, rng),
        Hint::Username => Username().fake_with_rng(rng),
        Hint::Phone => localized!(locale, fake::faker::phone_number::raw::PhoneNumber, rng),
        Hint::City => localized!(locale, fake::faker::address::raw::CityName, rng),
        Hint::Country => localized!(locale, fake::faker::address::raw::CountryName, rng),
        Hint::CountryCode => CountryCode().fake_with_rng(rng),
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
        Hint::Code => {
            let letters: String = (0..2)
                .map(|_| (b'A' + rng.random_range(0..26u8)) as char)
                .collect();
            if unique {
                return fit(
                    format!("{letters}-{row:06}"),
                    max_len,
                    min_len,
                    row,
                    unique,
                    true,
                );
            }
            format!("{letters}-{:06}", rng.random_range(0..1_000_000))
        }
        _ => {
            let words: Vec<String> = (0..2).map(|_| Word().fake_with_rng(rng)).collect();
            words.join(" ")
        }
    };
    fit(base, max_len, min_len, row, unique, false)
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
        .rposition(|(class, _, max)| {
            *class == super::rules::CharClass::Digit && *max >= number.len()
        })
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
    // Check digits: 98 - (BBAN + "DE00" with letters as numbers) mod 97; D = 13, E = 14.
    let remainder = format!("{bban}131400")
        .bytes()
        .fold(0u32, |r, d| (r * 10 + u32::from(d - b'0')) % 97);
    format!("DE{:02}{bban}", 98 - remainder)
}

/// A 16-digit Visa-shaped test card number (`4000 00…`) with a valid Luhn check digit.
pub fn card_number<R: Rng + ?Sized>(rng: &mut R) -> String {
    let body = format!("400000{:09}", rng.random_range(0..1_000_000_000u64));
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
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

/// One of the half-open ranges `rules.pieces` allows (partitions): by row for unique values,
/// else at random.
fn piece<R: Rng + ?Sized>(
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
fn offset<R: Rng + ?Sized>(
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

/// 2015-01-01 as days since the epoch: seeded dates span the ten years after it.
fn base_day() -> i64 {
    16_436
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
    fn timestamps_parse_and_come_after() {
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
    fn dates_format_correctly() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(base_day()), "2015-01-01");
        assert_eq!(format_date(11_017), "2000-03-01");
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
    fn patterns_from_checks_are_matched() {
        use super::super::rules::CharClass;
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

    #[test]
    fn ibans_and_cards_pass_their_checksums() {
        let mut r = rng();
        for _ in 0..50 {
            let iban = iban(&mut r);
            assert_eq!(iban.len(), 22);
            let rearranged = format!("{}{}", &iban[4..], "1314") + &iban[2..4];
            let m = rearranged
                .bytes()
                .fold(0u32, |r, d| (r * 10 + u32::from(d - b'0')) % 97);
            assert_eq!(m, 1, "{iban}");
            let card = card_number(&mut r);
            assert_eq!(card.len(), 16);
            let luhn: u32 = card
                .bytes()
                .rev()
                .enumerate()
                .map(|(i, d)| {
                    let d = u32::from(d - b'0');
                    if i % 2 == 1 {
                        if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
                    } else {
                        d
                    }
                })
                .sum();
            assert_eq!(luhn % 10, 0, "{card}");
        }
    }

    #[test]
    fn hints_follow_column_names() {
        assert_eq!(hint("contact_email"), Hint::Email);
        assert_eq!(hint("first_name"), Hint::FirstName);
        assert_eq!(hint("full_name"), Hint::FullName);
        assert_eq!(hint("unit_price"), Hint::Price);
        assert_eq!(hint("order_status"), Hint::Status);
        assert_eq!(hint("id"), Hint::None);
    }
}
