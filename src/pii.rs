//! What personal data looks like, in one place for every part of driftless that must know it:
//! the words of column names that say a column is personal (in several languages), shared by
//! `seed` (columns it marks as personal), `mask` (detection) and report masking (sampled data
//! in findings), and the Luhn and IBAN checksums that `mask` checks and `seed` computes.
//!
//! A leaf of the module layering: it imports nothing from the crate.

use std::fmt;

/// What kind of personal data a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PiiKind {
    Email,
    Phone,
    FirstName,
    LastName,
    Name,
    Address,
    City,
    Zip,
    BirthDate,
    NationalId,
    Iban,
    Card,
    Ip,
    Secret,
    Salary,
    /// Free text with personal data inside.
    FreeText,
}

impl fmt::Display for PiiKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PiiKind::Email => "email addresses",
            PiiKind::Phone => "phone numbers",
            PiiKind::FirstName => "first names",
            PiiKind::LastName => "last names",
            PiiKind::Name => "names",
            PiiKind::Address => "street addresses",
            PiiKind::City => "cities",
            PiiKind::Zip => "postal codes",
            PiiKind::BirthDate => "birth dates",
            PiiKind::NationalId => "national ID numbers",
            PiiKind::Iban => "IBANs",
            PiiKind::Card => "card numbers",
            PiiKind::Ip => "IP addresses",
            PiiKind::Secret => "secrets (passwords, tokens, API keys)",
            PiiKind::Salary => "pay",
            PiiKind::FreeText => "free text containing personal data",
        })
    }
}

/// Column-name words per kind, in several languages. An entry without `_` is one word of the
/// name (`customer_email` → `customer`, `email`; `eMail` → `e`, `mail`), or its plural when it
/// has four letters or more; an entry with `_` is a run of words at the start or end of the
/// name. Whole words, not substrings: `mailing_list_id` and `tip` are not personal. Bare
/// `card`, `account` and `social` are left out on purpose: they name `card_type`, `account_id`
/// and `social_url` far more often than card, account or social security numbers.
const NAMES: &[(PiiKind, &[&str])] = &[
    (
        PiiKind::Email,
        &[
            "email",
            "e_mail",
            "mail",
            "correo",
            "courriel",
            "epost",
            "emailaddress",
        ],
    ),
    (
        PiiKind::Phone,
        &[
            "phone",
            "phonenumber",
            "tel",
            "telephone",
            "telefon",
            "telefono",
            "telefone",
            "mobile",
            "mobilenumber",
            "mobil",
            "handy",
            "cell",
            "cellphone",
            "celular",
            "portable",
            "fax",
            "msisdn",
        ],
    ),
    (
        PiiKind::FirstName,
        &[
            "first_name",
            "firstname",
            "given_name",
            "forename",
            "vorname",
            "rufname",
            "prenom",
            "prénom",
            "nombre",
            "nome",
        ],
    ),
    (
        PiiKind::LastName,
        &[
            "last_name",
            "lastname",
            "surname",
            "family_name",
            "nachname",
            "familienname",
            "zuname",
            "nom_famille",
            "nom_de_famille",
            "apellido",
            "apellidos",
            "cognome",
            "sobrenome",
            "achternaam",
        ],
    ),
    (
        PiiKind::Name,
        &[
            "full_name",
            "fullname",
            "display_name",
            "contact_name",
            "customer_name",
            "person_name",
            "maiden_name",
            "username",
            "user_name",
            "nickname",
        ],
    ),
    (
        PiiKind::Address,
        &[
            "address",
            "street",
            "strasse",
            "straße",
            "rue",
            "calle",
            "adresse",
            "direccion",
            "indirizzo",
            "endereco",
            "address_line",
            "address1",
            "address2",
            "anschrift",
            "wohnadresse",
            "hausnummer",
            "ship_to",
            "bill_to",
        ],
    ),
    (
        PiiKind::City,
        &[
            "city",
            "stadt",
            "ort",
            "wohnort",
            "geburtsort",
            "ville",
            "ciudad",
            "citta",
            "cidade",
        ],
    ),
    (
        PiiKind::Zip,
        &[
            "zip",
            "zipcode",
            "zip_code",
            "postal",
            "postal_code",
            "postalcode",
            "postcode",
            "plz",
            "postleitzahl",
            "cep",
            "code_postal",
        ],
    ),
    (
        PiiKind::BirthDate,
        &[
            "dob",
            "born",
            "bday",
            "birth",
            "birthday",
            "birthdate",
            "birthdates",
            "date_of_birth",
            "birth_date",
            "born_on",
            "born_at",
            "geburtsdatum",
            "geburtstag",
            "geboren",
            "gebdat",
            "geb_datum",
            "naissance",
            "date_naissance",
            "date_de_naissance",
            "nacimiento",
            "fecha_nacimiento",
            "fecha_de_nacimiento",
            "nascimento",
            "data_nascimento",
            "data_de_nascimento",
            "nascita",
            "data_di_nascita",
            "geboortedatum",
            "fodelsedatum",
            "fødselsdato",
            "syntymaaika",
            "urodzenia",
            "data_urodzenia",
        ],
    ),
    (
        PiiKind::NationalId,
        &[
            "ssn",
            "social_security",
            "socialsecurity",
            "social_security_number",
            "sin",
            "nin",
            "nino",
            "national_id",
            "nationalid",
            "tax_id",
            "taxid",
            "tin",
            "steuer_id",
            "steuernummer",
            "personalausweis",
            "passport",
            "passport_number",
            "reisepass",
            "dni",
            "nie",
            "nif",
            "cpf",
            "cnpj",
            "curp",
            "aadhaar",
            "pesel",
            "bsn",
            "id_number",
            "license_number",
            "drivers_license",
        ],
    ),
    (
        PiiKind::Iban,
        &[
            "iban",
            "bic",
            "swift",
            "account_number",
            "accountnumber",
            "kontonummer",
            "bank_account",
            "routing_number",
        ],
    ),
    (
        PiiKind::Card,
        &[
            "card_number",
            "credit_card",
            "creditcard",
            "cc_number",
            "pan",
            "kreditkarte",
            "card_no",
            "cardnumber",
        ],
    ),
    (
        PiiKind::Ip,
        &[
            "ip",
            "ip_address",
            "ipaddress",
            "ipaddr",
            "ip_addr",
            "last_ip",
            "remote_addr",
            "client_ip",
            "last_login_ip",
        ],
    ),
    (
        PiiKind::Secret,
        &[
            "password",
            "passwd",
            "pwd",
            "passwort",
            "password_hash",
            "secret",
            "token",
            "api_key",
            "apikey",
            "access_key",
            "private_key",
            "refresh_token",
            "access_token",
            "session_token",
        ],
    ),
    (
        PiiKind::Salary,
        &[
            "salary", "income", "gehalt", "wage", "wages", "salario", "salaire",
        ],
    ),
];

/// Tables whose plain `name` column names a person.
const PEOPLE_TABLES: &[&str] = &[
    "user",
    "customer",
    "client",
    "person",
    "people",
    "employee",
    "member",
    "contact",
    "patient",
    "student",
    "author",
    "account",
    "staff",
    "kunde",
    "mitarbeiter",
    "subscriber",
];

/// The words of a column name: split at `_`, `-`, spaces and lower→upper case changes.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if c == '_' || c == '-' || c == ' ' {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Whether a word of a column name is `entry` or, for entries of four letters or more, its
/// plural (`emails`, `addresses`).
fn word_is(word: &str, entry: &str) -> bool {
    word == entry
        || (entry.chars().count() >= 4
            && [word.strip_suffix('s'), word.strip_suffix("es")].contains(&Some(entry)))
}

/// What a column's name says it holds. A plain `name` is a person's in a table of people
/// (`customers`, `users`) and nobody's elsewhere (`products`); without a table (a sampled row
/// in a report, whose table is not at hand) it counts as a person's.
pub fn kind_of_column(table: Option<&str>, column: &str) -> Option<PiiKind> {
    let words = words(column);
    let joined = words.join("_");
    if joined == "name" {
        let people = table.is_none_or(|table| {
            let table = table.to_lowercase();
            PEOPLE_TABLES.iter().any(|t| table.contains(t))
        });
        return people.then_some(PiiKind::Name);
    }
    NAMES.iter().find_map(|(kind, entries)| {
        let hit = entries.iter().any(|entry| {
            if entry.contains('_') {
                joined == *entry
                    || joined.ends_with(&format!("_{entry}"))
                    || joined.starts_with(&format!("{entry}_"))
            } else {
                words.iter().any(|w| word_is(w, entry))
            }
        });
        hit.then_some(*kind)
    })
}

/// Whether a column of this name probably holds personal data, its table unknown.
pub fn looks_personal(column: &str) -> bool {
    kind_of_column(None, column).is_some()
}

/// The Luhn sum of digits (values 0–9): every second digit from the right doubled, the
/// rightmost not.
fn luhn_sum(digits: impl DoubleEndedIterator<Item = u8>) -> u32 {
    digits
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum()
}

/// Whether digits (values 0–9, check digit last) pass the Luhn check of card numbers.
pub fn luhn_valid(digits: &[u8]) -> bool {
    luhn_sum(digits.iter().copied()).is_multiple_of(10)
}

/// The Luhn check digit to append to `body` (digit values 0–9).
pub fn luhn_check_digit(body: &[u8]) -> u8 {
    // With a 0 in the check digit's place the sum is the body's own, doubled where it will be.
    let sum = luhn_sum(body.iter().copied().chain([0]));
    ((10 - sum % 10) % 10) as u8
}

/// The remainder mod 97 of ASCII letters and digits read as one number, letters as 10–35
/// (ISO 13616); `None` for other characters.
fn mod97(text: &str) -> Option<u32> {
    text.chars().try_fold(0u32, |remainder, c| {
        let value = c.to_digit(36)?;
        let shift = if value < 10 { 10 } else { 100 };
        Some((remainder * shift + value) % 97)
    })
}

/// Whether an IBAN (letters and digits, no spaces) has valid check digits: moved to the end,
/// the whole reads as a number that is 1 mod 97.
pub fn iban_valid(iban: &str) -> bool {
    match (iban.get(..4), iban.get(4..)) {
        (Some(head), Some(rest)) => mod97(&format!("{rest}{head}")) == Some(1),
        _ => false,
    }
}

/// The two check digits of an IBAN of `country` (two letters) and `bban`.
pub fn iban_check_digits(country: &str, bban: &str) -> u32 {
    98 - mod97(&format!("{bban}{country}00")).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(table: &str, column: &str) -> Option<PiiKind> {
        kind_of_column(Some(table), column)
    }

    #[test]
    fn names_in_several_languages() {
        assert_eq!(kind("users", "email"), Some(PiiKind::Email));
        assert_eq!(kind("kunden", "eMail"), Some(PiiKind::Email));
        assert_eq!(kind("kunden", "nachname"), Some(PiiKind::LastName));
        assert_eq!(kind("clientes", "telefono"), Some(PiiKind::Phone));
        assert_eq!(kind("users", "date_of_birth"), Some(PiiKind::BirthDate));
        for born in [
            "born",
            "dob",
            "birth_date",
            "bornOn",
            "geburtsdatum",
            "Geburtsdatum",
            "geb_datum",
            "date_naissance",
            "date_de_naissance",
            "fecha_nacimiento",
            "fecha_de_nacimiento",
            "data_di_nascita",
            "geboortedatum",
        ] {
            assert_eq!(kind("kunden", born), Some(PiiKind::BirthDate), "{born}");
        }
        assert_eq!(kind("kunden", "vorname"), Some(PiiKind::FirstName));
        assert_eq!(kind("kunden", "wohnort"), Some(PiiKind::City));
        assert_eq!(kind("kunden", "anschrift"), Some(PiiKind::Address));
        assert_eq!(kind("products", "reborn"), None);
        assert_eq!(kind("people", "ssn"), Some(PiiKind::NationalId));
        assert_eq!(kind("customers", "name"), Some(PiiKind::Name));
        assert_eq!(kind("products", "name"), None);
        assert_eq!(kind("orders", "status"), None);
        assert_eq!(kind("orders", "total"), None);
        assert_eq!(kind("users", "mailing_list_id"), None);
    }

    #[test]
    fn whole_words_and_plurals_but_no_substrings() {
        assert_eq!(kind("users", "backup_emails"), Some(PiiKind::Email));
        assert_eq!(kind("users", "addresses"), Some(PiiKind::Address));
        assert_eq!(kind("users", "phoneNumber"), Some(PiiKind::Phone));
        assert_eq!(kind("users", "postal"), Some(PiiKind::Zip));
        assert_eq!(kind("users", "tip"), None);
        assert_eq!(kind("hosts", "hostname"), None);
        assert_eq!(kind("orders", "account_id"), None);
        assert_eq!(kind("payments", "card_type"), None);
        assert_eq!(kind("links", "tins"), None, "short entries have no plural");
    }

    #[test]
    fn without_a_table_a_plain_name_is_a_persons() {
        assert!(looks_personal("name"));
        assert!(looks_personal("full_name"));
        assert!(looks_personal("ip"));
        assert!(!looks_personal("product_title"));
        assert!(!looks_personal("id"));
    }

    #[test]
    fn luhn_checks_and_completes_card_numbers() {
        let digits = |s: &str| -> Vec<u8> { s.bytes().map(|b| b - b'0').collect() };
        assert!(luhn_valid(&digits("4111111111111111")));
        assert!(!luhn_valid(&digits("4111111111111112")));
        assert_eq!(luhn_check_digit(&digits("411111111111111")), 1);
        assert_eq!(luhn_check_digit(&digits("7992739871")), 3);
    }

    #[test]
    fn iban_check_digits_are_checked_and_computed() {
        assert!(iban_valid("DE89370400440532013000"));
        assert!(!iban_valid("DE89370400440532013001"));
        assert!(iban_valid("GB82WEST12345698765432"));
        assert!(!iban_valid("DE8"));
        assert_eq!(iban_check_digits("DE", "370400440532013000"), 89);
        assert_eq!(iban_check_digits("GB", "WEST12345698765432"), 82);
    }
}
