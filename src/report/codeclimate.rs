//! Code Climate issues JSON, the format of GitLab's Code Quality report
//! (`artifacts:reports:codequality`): findings show in the merge request widget and on the
//! diff.

use serde_json::{Value, json};

use super::{Report, Severity};

fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "critical",
        Severity::Warning => "minor",
        Severity::Info => "info",
    }
}

/// A stable id of a finding across runs, so GitLab can tell new findings from old ones.
fn fingerprint(parts: &[&str]) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0x1f]);
    }
    format!("{:x}", hasher.finalize())
}

/// The issue's longer text (Markdown): the statement, what to do, the kind's page.
fn body(f: &super::Finding) -> String {
    let mut body = String::new();
    if let Some(sql) = &f.statement {
        body.push_str(&format!("```sql\n{sql}\n```\n\n"));
    }
    if let Some(help) = &f.help {
        body.push_str(&format!("help: {help}\n\n"));
    }
    body.push_str(&format!("[{}]({})", f.explain, f.help_url));
    body
}

pub fn codeclimate_value(report: &Report) -> Value {
    let issues: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let migration = f.migration.as_deref().unwrap_or_default();
            let object = f.object.as_deref().unwrap_or_default();
            let direction = f.direction.map(|d| d.as_str()).unwrap_or_default();
            json!({
                "type": "issue",
                "check_name": f.kind.id(),
                "description": f.message,
                "content": {"body": body(f)},
                "categories": ["Bug Risk"],
                "severity": severity(f.severity),
                "fingerprint": fingerprint(&[f.kind.id(), migration, direction, object, &f.message]),
                "location": {
                    "path": f.file.as_deref().unwrap_or("."),
                    "lines": {"begin": f.line.unwrap_or(1)}
                }
            })
        })
        .collect();
    Value::Array(issues)
}

pub fn render_codeclimate(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &codeclimate_value(report))?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Finding, FindingKind};

    #[test]
    fn every_finding_is_an_issue_with_a_location_and_a_stable_fingerprint() {
        let mut report = crate::report::Report {
            version: 1,
            tool: "driftless test".into(),
            command: "check".into(),
            engine: "postgres".into(),
            server_version: None,
            server_settings: Default::default(),
            status: crate::report::Status::Fail,
            migration_format: None,
            started_at: String::new(),
            duration_ms: 0,
            seed: None,
            migrations: Vec::new(),
            tables: Vec::new(),
            timeline: Vec::new(),
            data_changes: Vec::new(),
            findings: vec![
                Finding::new(FindingKind::DataLoss, "lost 3 rows")
                    .migration("2", "split")
                    .at(std::path::Path::new("m/2.down.sql"), Some(4)),
                Finding::new(FindingKind::Irreversible, "no down"),
            ],
            summary: Default::default(),
            phases_ms: Default::default(),
            interrupted: None,
        };
        let issues = codeclimate_value(&report);
        assert_eq!(issues[0]["location"]["path"], "m/2.down.sql");
        assert_eq!(issues[0]["location"]["lines"]["begin"], 4);
        assert_eq!(issues[0]["severity"], "critical");
        assert_eq!(issues[1]["location"]["path"], ".");
        let first = issues[0]["fingerprint"].clone();
        report.duration_ms = 99;
        assert_eq!(codeclimate_value(&report)[0]["fingerprint"], first);
        assert_ne!(issues[1]["fingerprint"], first);
    }
}
