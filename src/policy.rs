//! What the team decided about findings: severity remaps and suppressions.
//!
//! Applied after the roundtrip, before the report is rendered. A suppressed finding stays in
//! the report as `info` with `details.allowed` holding the reason, so nothing disappears
//! silently.

use serde_json::Value;

use crate::config::Config;
use crate::migrations::Migration;
use crate::report::{Finding, FindingKind, MigrationResult, MigrationStatus, Severity, rules};

/// Applies `config` remaps and every allow (config rules and `-- driftless:allow` lines).
pub fn apply(findings: &mut [Finding], config: &Config, migrations: &[Migration]) {
    for finding in findings.iter_mut() {
        // A rule's own remap wins over its kind's (`[severity] renaming-column = "error"`).
        let remap = finding
            .rule
            .as_deref()
            .and_then(|rule| {
                config
                    .severity
                    .iter()
                    .find(|(key, _)| rules::normalize(key) == rule)
            })
            .map(|(_, s)| s)
            .or_else(|| config.severity.get(finding.kind.id()));
        if let Some(severity) = remap
            && finding.severity == finding.default_severity()
        {
            finding.severity = *severity;
        }
        if let Some(reason) = allowed_by(finding, config, migrations) {
            finding.severity = Severity::Info;
            finding
                .details
                .get_or_insert_with(Default::default)
                .insert("allowed".into(), Value::String(reason));
        }
    }
}

fn allowed_by(finding: &Finding, config: &Config, migrations: &[Migration]) -> Option<String> {
    let column_order = finding
        .get_detail("column_order")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let rule = config.allow.iter().find(|rule| {
        names(finding, &rule.kind)
            && rule
                .migration
                .as_deref()
                .is_none_or(|m| finding.migration.as_deref() == Some(m))
            && [
                (&rule.table, &finding.table),
                (&rule.object, &finding.object),
                (&rule.column, &finding.column),
                (&rule.constraint, &finding.constraint),
            ]
            .iter()
            .all(|(want, has)| want.as_deref().is_none_or(|w| has.as_deref() == Some(w)))
            && rule.column_order.is_none_or(|c| c == column_order)
    });
    if let Some(rule) = rule {
        return Some(rule.reason.clone());
    }
    let version = finding.migration.as_deref()?;
    let name = finding.migration_name.as_deref();
    migrations
        .iter()
        .find(|m| m.version == version && name.is_none_or(|n| n == m.name))?
        .allows()
        .find(|a| names(finding, &a.kind))
        .map(|a| a.reason.clone())
}

/// Whether an allow's `kind` names `finding`: its kind, or its lint rule (`-` or `_`).
fn names(finding: &Finding, kind: &str) -> bool {
    FindingKind::parse(kind) == Some(finding.kind)
        || finding
            .rule
            .as_deref()
            .is_some_and(|rule| rules::normalize(kind) == rule)
}

/// Marks migrations with a finding at warning or above as `finding` (errors stay `error`).
pub fn mark_statuses(results: &mut [MigrationResult], findings: &[Finding]) {
    for result in results.iter_mut() {
        if result.status != MigrationStatus::Ok {
            continue;
        }
        let noteworthy = findings.iter().any(|f| {
            f.migration.as_deref() == Some(result.version.as_str())
                && f.severity >= Severity::Warning
        });
        if noteworthy {
            result.status = MigrationStatus::Finding;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AllowRule;

    fn finding(kind: FindingKind, table: &str) -> Finding {
        Finding::new(kind, "x").migration("3", "three").object(
            format!("public.{table}"),
            Some(table),
            None,
        )
    }

    #[test]
    fn config_rules_match_kind_migration_and_table() {
        let config = Config {
            allow: vec![AllowRule {
                kind: "data_loss".into(),
                migration: Some("3".into()),
                table: Some("users".into()),
                object: None,
                column: None,
                constraint: None,
                column_order: None,
                reason: "accepted".into(),
            }],
            ..Default::default()
        };
        let mut findings = vec![
            finding(FindingKind::DataLoss, "users"),
            finding(FindingKind::DataLoss, "orders"),
            finding(FindingKind::SchemaDrift, "users"),
        ];
        apply(&mut findings, &config, &[]);
        assert_eq!(findings[0].severity, Severity::Info);
        assert_eq!(findings[0].details.as_ref().unwrap()["allowed"], "accepted");
        assert_eq!(findings[1].severity, Severity::Error);
        assert_eq!(findings[2].severity, Severity::Error);
    }

    #[test]
    fn config_rules_match_a_constraint() {
        let config = Config {
            allow: vec![AllowRule {
                kind: "schema_drift".into(),
                migration: None,
                table: Some("users".into()),
                object: None,
                column: None,
                constraint: Some("users_age_check".into()),
                column_order: None,
                reason: "kept on purpose".into(),
            }],
            ..Default::default()
        };
        let mut findings = vec![
            finding(FindingKind::SchemaDrift, "users").constraint(Some("users_age_check")),
            finding(FindingKind::SchemaDrift, "users").constraint(Some("users_pkey")),
            finding(FindingKind::SchemaDrift, "users"),
        ];
        apply(&mut findings, &config, &[]);
        assert_eq!(findings[0].severity, Severity::Info);
        assert_eq!(findings[1].severity, Severity::Error);
        assert_eq!(findings[2].severity, Severity::Error);
    }

    #[test]
    fn severity_remap_only_touches_defaults() {
        let mut config = Config::default();
        config
            .severity
            .insert("destructive_change".into(), Severity::Error);
        let mut findings = vec![
            finding(FindingKind::DestructiveChange, "t"),
            finding(FindingKind::DestructiveChange, "t").severity(Severity::Info),
        ];
        apply(&mut findings, &config, &[]);
        assert_eq!(findings[0].severity, Severity::Error);
        assert_eq!(findings[1].severity, Severity::Info);
    }
}
