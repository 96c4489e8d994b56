//! The before/after values a data finding shows (`examples` in its details): one line per
//! row, `id=6: 'Ada Lovelace' → NULL`, the same in every text format.

use serde_json::Value;

use super::Finding;

/// Characters of a value shown on an example line.
const SHOWN_CHARS: usize = 60;

/// A value on an example line: text quoted and cut, NULL as `NULL`.
fn shown(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "NULL".into(),
        Some(Value::String(s)) => {
            let mut text: String = s.chars().take(SHOWN_CHARS).collect();
            if s.chars().count() > SHOWN_CHARS {
                text.push('…');
            }
            format!("'{}'", text.replace('\n', "\\n"))
        }
        Some(other) => other.to_string(),
    }
}

/// The finding's examples: key, value before, value after.
pub fn example_rows(f: &Finding) -> Vec<(String, String, String)> {
    let Some(list) = f.get_detail("examples").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .map(|e| {
            let key = e.get("key").and_then(Value::as_str).unwrap_or("?");
            (
                key.to_string(),
                shown(e.get("before")),
                shown(e.get("after")),
            )
        })
        .collect()
}

/// `id=6: 'Ada Lovelace' → NULL`, one line per example.
pub fn example_lines(f: &Finding) -> Vec<String> {
    example_rows(f)
        .into_iter()
        .map(|(key, before, after)| format!("{key}: {before} → {after}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::FindingKind;
    use serde_json::json;

    #[test]
    fn examples_read_as_key_before_and_after() {
        let long = "x".repeat(70);
        let f = Finding::new(FindingKind::DataLoss, "lost").detail(
            "examples",
            json!([
                {"key": "id=1", "before": "Ada\nLovelace", "after": null},
                {"key": "id=2", "before": long, "after": "y"},
            ]),
        );
        let lines = example_lines(&f);
        assert_eq!(lines[0], "id=1: 'Ada\\nLovelace' → NULL");
        assert_eq!(lines[1], format!("id=2: '{}…' → 'y'", "x".repeat(60)));
        assert!(example_lines(&Finding::new(FindingKind::DataLoss, "x")).is_empty());
    }
}
