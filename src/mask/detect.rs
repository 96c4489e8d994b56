//! Finding personal data: by column name (in several languages) and by what sampled values
//! look like (emails, phones, Luhn-valid card numbers, IBANs with their checksum, IPs,
//! national-ID shapes, JWTs and API-key-shaped secrets, and free text containing any of these).

use std::collections::{BTreeMap, HashMap};

pub use crate::pii::PiiKind;
use crate::pii::{iban_valid, kind_of_column, luhn_valid};
use crate::schema::{Column, ColumnKind};

fn is_email(token: &str) -> bool {
    let Some((local, domain)) = token.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._%+-'".contains(c));
    let Some((host, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    local_ok
        && !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && tld.len() >= 2
        && tld.chars().all(|c| c.is_ascii_alphabetic())
}

fn is_ipv4(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u16>().is_ok_and(|n| n <= 255))
}

fn is_iban(token: &str) -> bool {
    let compact: String = token.chars().filter(|c| *c != ' ').collect();
    let b = compact.as_bytes();
    if !(15..=34).contains(&b.len())
        || !b[0].is_ascii_uppercase()
        || !b[1].is_ascii_uppercase()
        || !b[2].is_ascii_digit()
        || !b[3].is_ascii_digit()
        || !b
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    {
        return false;
    }
    iban_valid(&compact)
}

fn is_ssn(token: &str) -> bool {
    let b = token.as_bytes();
    b.len() == 11
        && b[3] == b'-'
        && b[6] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 3 || i == 6 || c.is_ascii_digit())
}

fn is_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && token.starts_with("eyJ")
        && parts.iter().take(2).all(|p| {
            p.len() >= 8
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '=')
        })
}

fn is_secret(token: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "sk_live_",
        "sk_test_",
        "rk_live_",
        "pk_live_",
        "ghp_",
        "gho_",
        "ghs_",
        "github_pat_",
        "xoxb-",
        "xoxp-",
        "xoxa-",
        "glpat-",
        "npm_",
        "AIza",
        "-----BEGIN",
    ];
    if PREFIXES.iter().any(|p| token.starts_with(p)) && token.len() >= 20 {
        return true;
    }
    let b = token.as_bytes();
    if b.len() == 20
        && token.starts_with("AKIA")
        && b.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return true;
    }
    // A long token mixing upper case, lower case and digits looks like a generated secret.
    b.len() >= 32
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
        && b.iter().any(u8::is_ascii_uppercase)
        && b.iter().any(u8::is_ascii_lowercase)
        && b.iter().any(u8::is_ascii_digit)
}

/// Digits of a phone-number or card-number shaped run: digits with spaces, dashes, dots,
/// parentheses and a leading `+`; `None` when there are other characters.
fn number_run(token: &str) -> Option<(Vec<u8>, bool)> {
    let mut digits = Vec::new();
    let mut separated = false;
    for (i, c) in token.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c as u8 - b'0'),
            '+' if i == 0 => separated = true,
            ' ' | '-' | '.' | '(' | ')' | '/' => separated = true,
            _ => return None,
        }
    }
    Some((digits, separated))
}

/// `2024-05-01`, `01.05.2024`, `05/01/2024` (possibly followed by more): not a phone number.
fn looks_like_date(v: &str) -> bool {
    let b = v.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    (b.len() >= 10 && digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10))
        || (b.len() >= 10
            && digits(0..2)
            && (b[2] == b'.' || b[2] == b'/')
            && digits(3..5)
            && b[5] == b[2]
            && digits(6..10))
}

/// What one whole value is, if it is one personal thing.
pub fn classify(value: &str) -> Option<PiiKind> {
    let v = value.trim();
    if v.is_empty() || v.len() > 200 {
        return None;
    }
    if is_email(v) {
        return Some(PiiKind::Email);
    }
    if is_jwt(v) || is_secret(v) {
        return Some(PiiKind::Secret);
    }
    if is_ipv4(v) {
        return Some(PiiKind::Ip);
    }
    if is_ssn(v) {
        return Some(PiiKind::NationalId);
    }
    if is_iban(v) {
        return Some(PiiKind::Iban);
    }
    if let Some((digits, separated)) = number_run(v).filter(|_| !looks_like_date(v)) {
        if (13..=19).contains(&digits.len()) && luhn_valid(&digits) {
            return Some(PiiKind::Card);
        }
        if (7..=15).contains(&digits.len()) && (separated || v.starts_with('+')) {
            return Some(PiiKind::Phone);
        }
    }
    None
}

/// Personal things inside free text: byte ranges and kinds, in order.
pub fn scan(text: &str) -> Vec<(std::ops::Range<usize>, PiiKind)> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    let boundary = |c: u8| c.is_ascii_whitespace() || b",;:<>\"'()[]{}|".contains(&c);
    while i < bytes.len() {
        if boundary(bytes[i]) {
            i += 1;
            continue;
        }
        // A number run may span spaces (`+1 555 123 4567`, `4111 1111 1111 1111`).
        if bytes[i].is_ascii_digit() || bytes[i] == b'+' || bytes[i] == b'(' {
            let mut end = i;
            let mut last_digit = i;
            while end < bytes.len()
                && (bytes[end].is_ascii_digit() || b"+-. ()/".contains(&bytes[end]))
            {
                if bytes[end].is_ascii_digit() {
                    last_digit = end + 1;
                }
                end += 1;
            }
            if last_digit > i {
                let run = &text[i..last_digit];
                if let Some(
                    kind @ (PiiKind::Card | PiiKind::Phone | PiiKind::NationalId | PiiKind::Ip),
                ) = classify(run)
                {
                    found.push((i..last_digit, kind));
                    i = last_digit;
                    continue;
                }
            }
        }
        let mut end = i;
        while end < bytes.len() && !boundary(bytes[end]) {
            end += 1;
        }
        let token = text[i..end].trim_end_matches(['.', '!', '?']);
        let token_end = i + token.len();
        if let Some(kind) = classify(token) {
            found.push((i..token_end, kind));
        }
        i = end.max(i + 1);
    }
    found
}

/// Values (names, emails, ids…) to find inside free text, each with what replaces it: whole
/// words only (`Ann` is not found in `Annual`), ASCII case ignored, longest first.
#[derive(Debug, Default, Clone)]
pub struct Dictionary {
    /// Lower-case first word → (value, replacement), longest value first.
    by_word: HashMap<String, Vec<(String, String)>>,
    /// Values that do not start with a word (phone numbers), by their exact text.
    exact: HashMap<String, String>,
    len: usize,
}

/// The first word of `text` (letters and digits) and where it ends.
fn first_word(text: &str) -> &str {
    let end = text
        .char_indices()
        .find(|(_, c)| !c.is_alphanumeric())
        .map_or(text.len(), |(i, _)| i);
    &text[..end]
}

impl Dictionary {
    /// Whether a value is worth looking for in text: three characters or more, with a letter
    /// or five digits (`42` or `7` would be found everywhere); a phone number may start with
    /// `+` or `(`.
    pub fn worth(value: &str) -> bool {
        let v = value.trim();
        let digits = v.chars().filter(char::is_ascii_digit).count();
        let start = v.chars().next();
        v.chars().count() >= 3
            && (start.is_some_and(char::is_alphanumeric)
                || (matches!(start, Some('+' | '(')) && digits >= 5))
            && (v.chars().any(char::is_alphabetic) || digits >= 5)
    }

    /// Adds `value` (when [`Dictionary::worth`] finding) and its replacement.
    pub fn add(&mut self, value: &str, replacement: &str) {
        let value = value.trim();
        if !Dictionary::worth(value) {
            return;
        }
        if !value.starts_with(char::is_alphanumeric) {
            // `+1 555 …`: found as a whole by the scan of phone numbers, then looked up.
            if self
                .exact
                .insert(value.to_string(), replacement.to_string())
                .is_none()
            {
                self.len += 1;
            }
            return;
        }
        let word = first_word(value).to_lowercase();
        let list = self.by_word.entry(word).or_default();
        if list.iter().any(|(v, _)| v == value) {
            return;
        }
        let at = list
            .iter()
            .position(|(v, _)| v.len() < value.len())
            .unwrap_or(list.len());
        list.insert(at, (value.to_string(), replacement.to_string()));
        self.len += 1;
    }

    /// The replacement of a whole token found by [`scan`] (a phone number), if known.
    pub fn exact(&self, token: &str) -> Option<&str> {
        self.exact.get(token.trim()).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Where the values occur in `text` (whole words, not overlapping), with their replacement.
    pub fn find<'a>(&'a self, text: &str) -> Vec<(std::ops::Range<usize>, &'a str)> {
        let mut found = Vec::new();
        if self.len == 0 {
            return found;
        }
        let mut i = 0;
        let mut previous: Option<char> = None;
        while i < text.len() {
            let c = text[i..].chars().next().unwrap_or(' ');
            let starts = c.is_alphanumeric() && !previous.is_some_and(char::is_alphanumeric);
            if starts {
                let word = first_word(&text[i..]).to_lowercase();
                let hit = self.by_word.get(&word).and_then(|list| {
                    list.iter().find(|(value, _)| {
                        let end = i + value.len();
                        text.get(i..end)
                            .is_some_and(|t| t.eq_ignore_ascii_case(value))
                            && !text[end..]
                                .chars()
                                .next()
                                .is_some_and(char::is_alphanumeric)
                    })
                });
                if let Some((value, replacement)) = hit {
                    found.push((i..i + value.len(), replacement.as_str()));
                    previous = value.chars().last();
                    i += value.len();
                    continue;
                }
            }
            previous = Some(c);
            i += c.len_utf8();
        }
        found
    }
}

/// Why a column is thought to be personal.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    pub kind: PiiKind,
    /// The column name says so.
    pub by_name: bool,
    /// Sampled values: how many matched, of how many.
    pub matched: usize,
    pub sampled: usize,
    /// Kinds found inside free text.
    pub inside: Vec<PiiKind>,
}

impl Evidence {
    /// One line for comments and messages.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.by_name {
            parts.push("its name".to_string());
        }
        if self.sampled > 0 && self.matched > 0 {
            let share = 100.0 * self.matched as f64 / self.sampled as f64;
            if self.kind == PiiKind::FreeText {
                let kinds: Vec<String> = self.inside.iter().map(|k| k.to_string()).collect();
                parts.push(format!(
                    "{share:.0}% of {} sampled values contain {}",
                    self.sampled,
                    kinds.join(", ")
                ));
            } else {
                parts.push(format!(
                    "{share:.0}% of {} sampled values look like {}",
                    self.sampled, self.kind
                ));
            }
        }
        format!("{}: {}", self.kind, parts.join("; "))
    }
}

/// Decides about one column from its name, type and sampled values.
pub fn detect(table: &str, column: &Column, samples: &[&str]) -> Option<Evidence> {
    let named = kind_of_column(Some(table), &column.name);
    let texty = matches!(
        column.kind,
        ColumnKind::Text { .. }
            | ColumnKind::Char { .. }
            | ColumnKind::Json
            | ColumnKind::Inet
            | ColumnKind::Other(_)
    );
    let mut counts: BTreeMap<PiiKind, usize> = BTreeMap::new();
    let mut inside: BTreeMap<PiiKind, usize> = BTreeMap::new();
    let mut with_inside = 0;
    if texty {
        for value in samples {
            if let Some(kind) = classify(value) {
                *counts.entry(kind).or_default() += 1;
                continue;
            }
            let found = scan(value);
            if !found.is_empty() {
                with_inside += 1;
                for (_, kind) in found {
                    *inside.entry(kind).or_default() += 1;
                }
            }
        }
    }
    let sampled = samples.len();
    let best = counts
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(k, n)| (*k, *n));
    let structured = best.filter(|(_, n)| sampled > 0 && *n * 2 >= sampled);
    if let Some((kind, matched)) = structured {
        return Some(Evidence {
            kind: named.filter(|n| *n == kind).unwrap_or(kind),
            by_name: named == Some(kind),
            matched,
            sampled,
            inside: Vec::new(),
        });
    }
    // Free text: a few values with an email or phone inside are enough.
    if with_inside > 0 && (with_inside * 50 >= sampled || with_inside >= 3) {
        return Some(Evidence {
            kind: PiiKind::FreeText,
            by_name: false,
            matched: with_inside,
            sampled,
            inside: inside.keys().copied().collect(),
        });
    }
    named.map(|kind| Evidence {
        kind,
        by_name: true,
        matched: best.filter(|(k, _)| *k == kind).map_or(0, |(_, n)| n),
        sampled,
        inside: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_by_shape_and_checksum() {
        assert_eq!(classify("jane.doe+x@example.co.uk"), Some(PiiKind::Email));
        assert_eq!(classify("+1 (555) 123-4567"), Some(PiiKind::Phone));
        assert_eq!(classify("4111 1111 1111 1111"), Some(PiiKind::Card));
        assert_eq!(
            classify("4111 1111 1111 1112"),
            None,
            "fails Luhn; no separators to call it a phone"
        );
        assert_eq!(classify("DE89370400440532013000"), Some(PiiKind::Iban));
        assert_eq!(classify("DE89370400440532013001"), None, "bad checksum");
        assert_eq!(classify("192.168.10.1"), Some(PiiKind::Ip));
        assert_eq!(classify("078-05-1120"), Some(PiiKind::NationalId));
        assert_eq!(
            classify("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig"),
            Some(PiiKind::Secret)
        );
        assert_eq!(classify("AKIAIOSFODNN7EXAMPLE"), Some(PiiKind::Secret));
        assert_eq!(classify("12345"), None);
        assert_eq!(classify("shipped"), None);
    }

    #[test]
    fn free_text_is_scanned() {
        let text =
            "Call me at +1 555 123 4567 or write to jane@example.org. Card 4111-1111-1111-1111!";
        let found: Vec<(&str, PiiKind)> =
            scan(text).into_iter().map(|(r, k)| (&text[r], k)).collect();
        assert_eq!(
            found,
            vec![
                ("+1 555 123 4567", PiiKind::Phone),
                ("jane@example.org", PiiKind::Email),
                ("4111-1111-1111-1111", PiiKind::Card)
            ]
        );
        assert!(scan("Order 1234 shipped on 2024-05-01").is_empty());
    }

    #[test]
    fn known_values_are_found_as_whole_words() {
        let mut d = Dictionary::default();
        d.add("Ann", "Zoe");
        d.add("Ann Lee", "Zoe Kim");
        d.add("Müller7", "Schmidt");
        d.add("42", "x");
        d.add("jane@corp.io", "a.b@example.org");
        d.add("+1 555 123 4567", "(201) 555-0100");
        assert_eq!(d.len(), 5, "`42` is too short to look for");
        assert_eq!(d.exact("+1 555 123 4567"), Some("(201) 555-0100"));
        let text = "Annual call: ANN LEE, Ann and Müller7 (jane@corp.io); Annabel no.";
        let found: Vec<(&str, &str)> = d
            .find(text)
            .into_iter()
            .map(|(r, to)| (&text[r], to))
            .collect();
        assert_eq!(
            found,
            vec![
                ("ANN LEE", "Zoe Kim"),
                ("Ann", "Zoe"),
                ("Müller7", "Schmidt"),
                ("jane@corp.io", "a.b@example.org")
            ]
        );
    }
}
