//! Migration files of the MongoDB engine: a JSON array of database commands in Extended JSON
//! v2, the layout golang-migrate's MongoDB driver reads (`<version>_<name>.up.json`).
//!
//! Each array element becomes one statement holding the element's own text (key order kept:
//! a command's name must be its first key), at the line where the element starts.

use crate::migrations::{SplitError, Statement};

/// Commands a migration may run. Anything else is refused before a server starts: a typo in
/// a command name would otherwise surface as a server error halfway through a run.
pub const COMMANDS: &[&str] = &[
    "create",
    "collMod",
    "createIndexes",
    "dropIndexes",
    "update",
    "delete",
    "insert",
    "renameCollection",
    "drop",
    "aggregate",
    "findAndModify",
];

/// Splits a migration file into its commands.
pub fn split(text: &str) -> Result<Vec<Statement>, SplitError> {
    let trimmed = text.trim_start_matches('\u{feff}');
    if trimmed.trim().is_empty() {
        return Ok(Vec::new());
    }
    let value: serde_json::Value = serde_json::from_str(trimmed).map_err(|e| SplitError {
        line: e.line().max(1),
        message: format!("invalid JSON: {e}"),
    })?;
    let Some(items) = value.as_array() else {
        return Err(SplitError {
            line: first_line(trimmed),
            message: "a MongoDB migration must be a JSON array of commands, \
                      e.g. [{\"create\": \"users\"}]"
                .into(),
        });
    };
    let spans = element_spans(trimmed);
    debug_assert_eq!(spans.len(), items.len());
    let mut statements = Vec::with_capacity(items.len());
    for (index, (item, (start, end))) in items.iter().zip(spans).enumerate() {
        let line = trimmed[..start].matches('\n').count() + 1;
        let at = |message: String| SplitError { line, message };
        let Some(object) = item.as_object() else {
            return Err(at(format!(
                "command {index} is not a JSON object (each element is one command document)"
            )));
        };
        let source = &trimmed[start..end];
        let Some(name) = first_key(source) else {
            return Err(at(format!("command {index} is an empty document")));
        };
        if !COMMANDS.contains(&name.as_str()) {
            let known = if object.keys().any(|k| COMMANDS.contains(&k.as_str())) {
                " (the command name must be the document's first key)"
            } else {
                ""
            };
            return Err(at(format!(
                "command {index}: unknown command `{name}`{known}; expected one of {}",
                COMMANDS.join(", ")
            )));
        }
        statements.push(Statement {
            sql: source.to_string(),
            line,
            // MongoDB migrations run command by command, without a transaction.
            needs_autocommit: true,
            transaction_control: false,
        });
    }
    Ok(statements)
}

fn first_line(text: &str) -> usize {
    let lead = text.len() - text.trim_start().len();
    text[..lead].matches('\n').count() + 1
}

/// Byte ranges of the top-level array's elements (the text is known to be valid JSON).
fn element_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut start: Option<usize> = None;
    let mut last_end = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
                last_end = i + 1;
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                if depth == 1 && start.is_none() {
                    start = Some(i);
                }
            }
            b'[' | b'{' => {
                if depth == 1 && start.is_none() {
                    start = Some(i);
                }
                depth += 1;
            }
            b']' | b'}' => {
                depth -= 1;
                last_end = i + 1;
                if depth == 0
                    && let Some(s) = start.take()
                {
                    spans.push((s, trim_end(text, s, i)));
                }
            }
            b',' if depth == 1 => {
                if let Some(s) = start.take() {
                    spans.push((s, trim_end(text, s, i)));
                }
            }
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => {
                if depth == 1 && start.is_none() {
                    start = Some(i);
                }
                last_end = i + 1;
            }
        }
    }
    let _ = last_end;
    spans
}

fn trim_end(text: &str, start: usize, end: usize) -> usize {
    start + text[start..end].trim_end().len()
}

/// The first key of a JSON object's text.
fn first_key(object: &str) -> Option<String> {
    let mut stream = serde_json::Deserializer::from_str(object).into_iter::<FirstKey>();
    match stream.next() {
        Some(Ok(FirstKey(key))) => key,
        _ => None,
    }
}

/// Deserializes an object, keeping only its first key.
struct FirstKey(Option<String>);

impl<'de> serde::Deserialize<'de> for FirstKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = FirstKey;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<FirstKey, A::Error> {
                let first: Option<String> = map.next_key()?;
                if first.is_some() {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    while map
                        .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                        .is_some()
                    {}
                }
                Ok(FirstKey(first))
            }
        }
        d.deserialize_map(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_keep_their_text_and_lines() {
        let text = "[\n  {\"create\": \"users\"},\n  {\n    \"createIndexes\": \"users\",\n    \"indexes\": [{\"key\": {\"email\": 1}, \"name\": \"email_1\"}]\n  }\n]\n";
        let s = split(text).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].sql, "{\"create\": \"users\"}");
        assert_eq!(s[0].line, 2);
        assert_eq!(s[1].line, 3);
        assert!(s[1].sql.starts_with("{\n    \"createIndexes\""));
        assert!(s[1].sql.ends_with('}'));
    }

    #[test]
    fn bad_input_names_the_line() {
        let e = split("[\n {\"create\": \"a\"},\n {\"create\" \"b\"}\n]").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.starts_with("invalid JSON"), "{}", e.message);
        let e = split("\n{\"create\": \"a\"}").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("JSON array"));
        let e = split("[\n {\"create\": \"a\"},\n {\"frobnicate\": \"b\"}\n]").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(
            e.message
                .contains("command 1: unknown command `frobnicate`"),
            "{}",
            e.message
        );
        let e = split("[{\"name\": \"x\", \"create\": \"b\"}]").unwrap_err();
        assert!(e.message.contains("first key"), "{}", e.message);
        let e = split("[1]").unwrap_err();
        assert!(e.message.contains("not a JSON object"));
        assert!(split("[]").unwrap().is_empty());
        assert!(split("  \n").unwrap().is_empty());
    }

    #[test]
    fn strings_with_brackets_do_not_confuse_the_spans() {
        let s =
            split(r#"[{"insert": "a", "documents": [{"t": "]},{\"x"}]}, {"drop": "a"}]"#).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].sql, r#"{"drop": "a"}"#);
    }
}
