//! SARIF 2.1.0, one rule per finding kind, so GitHub code scanning (and other SARIF readers)
//! show findings on the migration files.

use std::io::Write;

use serde_json::{Value, json};

use super::{Finding, FindingKind, Report, Severity};

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// `data_loss` → `DataLoss`, the rule's readable name.
fn pascal(id: &str) -> String {
    id.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The result's message: what happened, then what to do (SARIF readers show only this).
fn message(f: &Finding) -> String {
    let mut text = f.message.clone();
    for line in super::examples::example_lines(f) {
        text.push_str(&format!("\n  {line}"));
    }
    if let Some(help) = &f.help {
        text.push_str(&format!("\nhelp: {help}"));
    }
    text
}

pub fn sarif_value(report: &Report) -> Value {
    let rules: Vec<Value> = FindingKind::ALL
        .iter()
        .map(|kind| {
            let doc = kind.doc().replace('\n', " ");
            let short = doc
                .split(". ")
                .next()
                .unwrap_or(&doc)
                .trim()
                .trim_end_matches('.');
            json!({
                "id": kind.id(),
                "name": pascal(kind.id()),
                "shortDescription": {"text": short},
                "fullDescription": {"text": doc.trim()},
                "defaultConfiguration": {"level": level(kind.default_severity())},
                "helpUri": kind.help_url(),
                "help": {"text": super::explain::page(*kind)},
                "properties": {"tags": ["migrations", "driftless"]}
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let index = FindingKind::ALL
                .iter()
                .position(|k| *k == f.kind)
                .unwrap_or(0);
            let mut result = json!({
                "ruleId": f.kind.id(),
                "ruleIndex": index,
                "level": level(f.severity),
                "message": {"text": message(f)},
                "properties": {
                    "migration": f.migration,
                    "direction": f.direction.map(|d| d.as_str()),
                    "object": f.object,
                    "statement": f.statement,
                    "help": f.help,
                    "allow": f.allow,
                    "explain": f.explain,
                }
            });
            if let Some(rule) = &f.rule {
                result["properties"]["rule"] = json!(rule);
            }
            if let Some(file) = &f.file {
                let mut location = json!({
                    "physicalLocation": {
                        "artifactLocation": {"uri": file, "uriBaseId": "%SRCROOT%"}
                    }
                });
                if let Some(line) = f.line {
                    location["physicalLocation"]["region"] = json!({"startLine": line});
                    if let Some(sql) = &f.statement {
                        location["physicalLocation"]["region"]["snippet"] = json!({"text": sql});
                    }
                }
                result["locations"] = json!([location]);
            }
            // Stable across runs, so code scanning tracks a finding rather than re-opening it.
            // A lint rule's name is part of it: two rules on one object are two findings.
            let kind = match &f.rule {
                Some(rule) => format!("{}/{rule}", f.kind.id()),
                None => f.kind.id().to_string(),
            };
            result["partialFingerprints"] = json!({
                "driftless/v1": format!(
                    "{}:{}:{}",
                    kind,
                    f.migration.as_deref().unwrap_or(""),
                    f.object.as_deref().unwrap_or("")
                )
            });
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "driftless",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": "./"}},
            "results": results
        }]
    })
}

pub fn render_sarif(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &sarif_value(report))?;
    writeln!(out)
}
