//! Masking of data that findings show (check samples, sample keys), so reports can be pasted
//! into a PR, a CI log or a ticket without carrying personal data.
//!
//! A value is masked when its column name looks like personal data ([`crate::pii`]'s
//! vocabulary, the one `mask` detects with: email, names, phone, address, birth date, card and
//! account numbers, national IDs, secrets, pay). Masking keeps the first character and the
//! shape (an email keeps its domain), which is enough to recognise a row while debugging and
//! not enough to identify a person.

use serde_json::Value;

use crate::pii::looks_personal;

/// `jane.doe@example.com` → `j***@example.com`, `Jane Doe` → `J***`.
pub fn mask_value(value: &str) -> String {
    let first: String = value.chars().take(1).collect();
    match value.rsplit_once('@') {
        Some((_, domain)) if !domain.is_empty() => format!("{first}***@{domain}"),
        _ if value.is_empty() => String::new(),
        _ => format!("{first}***"),
    }
}

/// Masks the personal-looking fields of a sample row (a JSON object).
pub fn mask_row(row: &mut Value) {
    if let Value::Object(map) = row {
        for (key, value) in map.iter_mut() {
            if !looks_personal(key) || value.is_null() {
                continue;
            }
            let text = match &*value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            *value = Value::String(mask_value(&text));
        }
    }
}

/// Masks the values of a sample key (`email=jane@x.org,id=3`) whose column looks personal.
pub fn mask_key(key: &str) -> String {
    key.split(',')
        .map(|part| match part.split_once('=') {
            Some((column, value)) if looks_personal(column) => {
                format!("{column}={}", mask_value(value))
            }
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_columns_are_masked_and_others_kept() {
        let mut row = serde_json::json!({
            "id": 7, "email": "jane.doe@example.com", "full_name": "Jane Doe",
            "balance": -3.5, "ip": "10.0.0.1", "tip": "kept", "phone": null,
            "telefono": "+34 600 000 000", "hostname": "db1"
        });
        mask_row(&mut row);
        assert_eq!(row["email"], "j***@example.com");
        assert_eq!(row["full_name"], "J***");
        assert_eq!(row["ip"], "1***");
        assert_eq!(row["id"], 7);
        assert_eq!(row["balance"], -3.5);
        assert_eq!(row["tip"], "kept", "only whole short words match");
        assert!(row["phone"].is_null());
        assert_eq!(row["telefono"], "+***", "the vocabulary is multilingual");
        assert_eq!(row["hostname"], "db1", "words, not substrings");
    }

    #[test]
    fn sample_keys_mask_personal_columns_only() {
        assert_eq!(mask_key("id=17"), "id=17");
        assert_eq!(
            mask_key("email=jo@x.org,tenant=3"),
            "email=j***@x.org,tenant=3"
        );
    }
}
