//! Reports for the renderers' tests: one of each command, with every part a renderer may show
//! (each migration status, findings with every detail they display, locks and rewrites in the
//! timeline, every shape of data change, masked and copied tables).

use std::path::Path;

use serde_json::json;

use super::{
    DataChange, Direction, Finding, FindingKind, MigrationResult, MigrationStatus, Report,
    Severity, StatementTrace, Status, TableCopy, TableLock, TimelineEntry,
};

fn empty(command: &str) -> Report {
    Report {
        version: 1,
        tool: "driftless test".into(),
        command: command.into(),
        engine: "postgres".into(),
        server_version: Some("15.8".into()),
        server_settings: Default::default(),
        status: Status::Pass,
        migration_format: Some("sqlx".into()),
        started_at: "2026-01-02T03:04:05Z".into(),
        duration_ms: 1234,
        seed: None,
        migrations: Vec::new(),
        tables: Vec::new(),
        timeline: Vec::new(),
        data_changes: Vec::new(),
        findings: Vec::new(),
        summary: Default::default(),
        phases_ms: Default::default(),
        interrupted: None,
    }
}

fn migration(
    version: &str,
    name: &str,
    ms: [Option<u64>; 3],
    status: MigrationStatus,
) -> MigrationResult {
    MigrationResult {
        version: version.into(),
        name: name.into(),
        up_ms: ms[0],
        down_ms: ms[1],
        reup_ms: ms[2],
        rows_seeded: Some(200),
        status,
    }
}

const DIFF: &str = "--- before up\n+++ after up→down\n@@ -1,2 +1,2 @@\n table public.users\n-  full_name text\n+  first_name text";

/// `check`: four migrations (a lossy down, a failed re-up, a failed up, one skipped after it).
pub fn check() -> Report {
    let mut report = empty("check");
    report.seed = Some(42);
    report
        .server_settings
        .insert("sql_mode".into(), "STRICT_TRANS_TABLES".into());
    report.migrations = vec![
        migration(
            "1",
            "create_users",
            [Some(12), Some(3), Some(9)],
            MigrationStatus::Ok,
        ),
        migration(
            "2",
            "split_name",
            [Some(20), Some(4), Some(15)],
            MigrationStatus::Finding,
        ),
        migration("R", "views", [Some(5), None, Some(6)], MigrationStatus::Ok),
        migration("3", "broken", [None, None, None], MigrationStatus::Error),
        migration("4", "after", [None, None, None], MigrationStatus::Skipped),
    ];
    let down = Path::new("migrations/2_split_name.down.sql");
    report.findings = vec![
        Finding::new(
            FindingKind::DataLoss,
            "up→down changed 200 rows of public.users",
        )
        .migration("2", "split_name")
        .direction(Direction::Down)
        .object("public.users", Some("users"), None)
        .at(down, Some(5))
        .statement("ALTER TABLE users\n  DROP COLUMN first_name,\n  DROP COLUMN last_name;")
        .detail("sample_keys", json!(["1", "2"]))
        .detail(
            "examples",
            json!([
                {"key": "id=1", "before": "Ada <Lovelace>", "after": null},
                {"key": "id=2", "before": "a|b", "after": "a"},
            ]),
        )
        .detail(
            "sample",
            json!([{"id": 1, "email": "j***@example.com", "note": null}]),
        )
        .detail("diff", DIFF),
        Finding::new(
            FindingKind::DestructiveChange,
            "the up drops column full_name <with 200 values>",
        )
        .migration("2", "split_name")
        .at(Path::new("migrations/2_split_name.up.sql"), None),
        Finding::new(FindingKind::SchemaDrift, "re-up differs & drifts")
            .migration("2", "split_name")
            .direction(Direction::Reup)
            .severity(Severity::Info)
            .detail("allowed", "driftless.toml [[allow]] #1")
            .detail("diff", "+x\n".repeat(30)),
        Finding::new(
            FindingKind::InvariantViolation,
            "check positive_balance is violated by 3 rows",
        )
        .migration("2", "split_name")
        .check("positive_balance"),
        Finding::new(
            FindingKind::MigrationError,
            "up failed: 42601: syntax error at \"FROM\"",
        )
        .migration("3", "broken")
        .at(Path::new("migrations/3_broken.up.sql"), Some(2))
        .statement("UPDATE accounts\n   SET balance = 0\n  FROM FROM ledger;")
        .detail("code", "42601")
        .detail("left_behind", "+table public.half_done"),
        Finding::new(FindingKind::Irreversible, "migration R views has no down")
            .migration("R", "views")
            .severity(Severity::Warning),
        Finding::new(FindingKind::Lint, "a finding of no migration"),
    ];
    report.finish(Severity::Error, 1);
    report
}

fn statement(line: usize, sql: &str, ms: u64) -> StatementTrace {
    StatementTrace {
        line,
        sql: sql.into(),
        ms,
        ..StatementTrace::default()
    }
}

fn lock(relation: &str, index_of: Option<&str>, mode: &str, blocks: Option<&str>) -> TableLock {
    TableLock {
        relation: relation.into(),
        index_of: index_of.map(str::to_string),
        lock: mode.into(),
        blocks: blocks.map(str::to_string),
    }
}

/// `dry-run`: two applied migrations (a lock, a rewrite, rows), every shape of data change.
pub fn dry_run() -> Report {
    let mut report = empty("dry-run");
    report.migrations = vec![
        migration(
            "5",
            "add_index",
            [Some(40), None, None],
            MigrationStatus::Ok,
        ),
        migration("6", "retype", [Some(900), None, None], MigrationStatus::Ok),
    ];
    report.timeline = timeline();
    report.data_changes = data_changes();
    report.findings = vec![
        Finding::new(
            FindingKind::PendingMigration,
            "migration 5 add_index is pending",
        )
        .migration("5", "add_index")
        .at(Path::new("migrations/5_add_index.up.sql"), None),
        Finding::new(
            FindingKind::LockRisk,
            "`ALTER TABLE orders` held AccessExclusiveLock on public.orders for 870 ms",
        )
        .migration("6", "retype")
        .at(Path::new("migrations/6_retype.up.sql"), Some(3))
        .statement("ALTER TABLE orders ALTER amount TYPE int"),
        Finding::new(
            FindingKind::DestructiveChange,
            "the deploy drops public.legacy holding 7 rows",
        )
        .at(Path::new("migrations"), None),
        Finding::new(
            FindingKind::InvariantViolation,
            "check orders_positive is violated by 2 rows after the deploy",
        ),
    ];
    report.finish(Severity::Error, 2);
    report
}

/// `drift`: one missing table with its diff, one reordered table.
pub fn drift() -> Report {
    let mut report = empty("drift");
    report.findings = vec![
        Finding::new(
            FindingKind::SchemaDrift,
            "table public.audit is missing in the live database",
        )
        .detail("diff", DIFF),
        Finding::new(
            FindingKind::SchemaDrift,
            "the columns of public.users are in another order in the live database",
        )
        .severity(Severity::Warning)
        .detail("column_order", true),
    ];
    report.finish(Severity::Error, 0);
    report
}

/// `mask`: a masked table, a table copied as it is, one finding with a diff.
pub fn mask() -> Report {
    let mut report = empty("mask");
    report.migration_format = None;
    report.tables = vec![
        TableCopy {
            table: "public.customers".into(),
            rows: 1500,
            ms: 80,
            columns: [
                ("email".to_string(), "email".to_string()),
                ("name".to_string(), "full_name".to_string()),
            ]
            .into(),
        },
        TableCopy {
            table: "public.countries".into(),
            rows: 250,
            ms: 4,
            columns: Default::default(),
        },
    ];
    report.findings = vec![
        Finding::new(
            FindingKind::SchemaDrift,
            "the copy's schema differs from the source's",
        )
        .detail("diff", DIFF),
        Finding::new(
            FindingKind::UnmaskedPii,
            "public.notes.body looks like free text with emails",
        )
        .severity(Severity::Warning),
    ];
    report.finish(Severity::Error, 0);
    report
}

/// Any report with nothing in it: a clean run.
pub fn clean(command: &str) -> Report {
    let mut report = empty(command);
    report.duration_ms = 12;
    report.finish(Severity::Error, 0);
    report
}

/// `dry-run`'s two migrations: an index, then a rewrite under a lock and a delete.
fn timeline() -> Vec<TimelineEntry> {
    vec![
        TimelineEntry {
            migration: "5".into(),
            migration_name: "add_index".into(),
            file: "migrations/5_add_index.up.sql".into(),
            ms: 40,
            statements: vec![statement(
                1,
                "CREATE INDEX users_email ON users (email)",
                38,
            )],
        },
        TimelineEntry {
            migration: "6".into(),
            migration_name: "retype".into(),
            file: "migrations/6_retype.up.sql".into(),
            ms: 900,
            statements: vec![
                StatementTrace {
                    rows: Some(0),
                    lock: Some("AccessExclusiveLock".into()),
                    lock_on: Some("public.orders".into()),
                    blocks: Some("reads and writes".into()),
                    held_ms: 870,
                    rewrote: vec!["public.orders".into(), "public.orders_pkey".into()],
                    ..statement(3, "ALTER TABLE orders ALTER amount TYPE int", 850)
                },
                StatementTrace {
                    rows: Some(12),
                    lock: Some("RowExclusiveLock".into()),
                    lock_on: Some("public.users".into()),
                    held_ms: 3,
                    ..statement(12, "DELETE FROM users WHERE banned", 3)
                },
                StatementTrace {
                    rows: Some(0),
                    lock: Some("ShareRowExclusiveLock".into()),
                    lock_on: Some("public.orders".into()),
                    blocks: Some("writes".into()),
                    held_ms: 20,
                    locks: vec![
                        lock(
                            "public.orders",
                            None,
                            "ShareRowExclusiveLock",
                            Some("writes"),
                        ),
                        lock(
                            "public.users",
                            None,
                            "ShareRowExclusiveLock",
                            Some("writes"),
                        ),
                    ],
                    ..statement(
                        14,
                        "ALTER TABLE orders\n    ADD CONSTRAINT orders_user_fk\n    FOREIGN KEY (user_id) REFERENCES users (id)",
                        18,
                    )
                },
                StatementTrace {
                    rows: Some(0),
                    lock: Some("AccessExclusiveLock".into()),
                    lock_on: Some("public.users_pkey".into()),
                    blocks: Some("reads and writes".into()),
                    held_ms: 6,
                    locks: vec![
                        lock(
                            "public.users_pkey",
                            Some("public.users"),
                            "AccessExclusiveLock",
                            Some("reads and writes"),
                        ),
                        lock("public.users", None, "ShareLock", Some("writes")),
                    ],
                    ..statement(18, "REINDEX TABLE users", 5)
                },
            ],
        },
    ]
}

/// A table created, one dropped, values changed row by row, and every part of a change.
fn data_changes() -> Vec<DataChange> {
    vec![
        DataChange {
            table: "public.audit".into(),
            rows_after: Some(4),
            rows_added: Some(4),
            ..DataChange::default()
        },
        DataChange {
            table: "public.legacy".into(),
            rows_before: Some(7),
            rows_removed: Some(7),
            ..DataChange::default()
        },
        DataChange {
            table: "public.old_tags".into(),
            rows_before: Some(9),
            rows_after: Some(9),
            renamed_to: Some("public.tags".into()),
            ..DataChange::default()
        },
        DataChange {
            table: "public.orders".into(),
            rows_before: Some(100),
            rows_after: Some(100),
            rows_added: Some(0),
            rows_removed: Some(0),
            values_changed: [("amount".to_string(), 31)].into(),
            ..DataChange::default()
        },
        DataChange {
            table: "public.users".into(),
            rows_before: Some(50),
            rows_after: Some(38),
            rows_added: Some(2),
            rows_removed: Some(14),
            columns_differ: vec!["email".into(), "name".into()],
            columns_dropped: [("nickname".to_string(), 20)].into(),
            columns_renamed: [("surname".to_string(), "last_name".to_string())].into(),
            ..DataChange::default()
        },
    ]
}
