//! Every report format from the same planted runs: JSON against the contract, JUnit against a
//! JUnit XSD (xmllint), SARIF against the SARIF 2.1.0 fields code scanning needs, GitHub
//! annotations line for line, Markdown as a snapshot, HTML in headless Chromium; and
//! `--changed-since` against a real git repository.

mod util;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use util::{check_json, demo, driftless};

/// Runs the data_loss demo with every report format written into `dir`.
fn all_reports(dir: &Path) -> util::Run {
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let run = driftless(&[
        "check",
        "--no-lint",
        "--migrations",
        &demo("data_loss"),
        "--checks",
        "tests/fixtures/no_checks",
        "--format",
        "json",
        "--report",
        &format!("junit={}", path("report.xml")),
        "--report",
        &format!("sarif={}", path("report.sarif")),
        "--report",
        &format!("markdown={}", path("report.md")),
        "--report",
        &format!("github={}", path("report.github")),
        "--report",
        &format!("html={}", path("report.html")),
        "--report",
        &format!("human={}", path("report.txt")),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    run
}

#[test]
fn stdout_and_report_files_hold_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let run = all_reports(dir.path());
    let report = run.json();
    let text = std::fs::read_to_string(dir.path().join("report.txt")).unwrap();
    assert!(text.contains("up→down changed"));
    assert!(!text.contains('\u{1b}'), "no colour in files");
    assert_eq!(report["summary"]["errors"], 1);
    // The values lost, before → after, in JSON, text and HTML alike.
    let loss = &util::findings(&report, "data_loss")[0];
    let first = &loss["details"]["examples"][0];
    assert_eq!(first["key"], "id=6", "{loss}");
    let (before, after) = (
        first["before"].as_str().unwrap(),
        first["after"].as_str().unwrap(),
    );
    assert!(before.starts_with(after) && before != after, "{first}");
    assert!(
        text.contains(&format!("id=6: '{before}' → '{after}'")),
        "{text}"
    );
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    let row = html
        .split("<td>id=6</td>")
        .nth(1)
        .expect("an example row in the HTML");
    assert!(row.contains(&after.replace('\'', "&#39;")), "{row}");
    assert!(html.contains("<th>row</th><th>before</th><th>after</th>"));
}

#[test]
fn junit_is_valid_and_has_a_case_per_phase() {
    let dir = tempfile::tempdir().unwrap();
    all_reports(dir.path());
    let xml = dir.path().join("report.xml");
    let status = Command::new(util::tool("xmllint"))
        .args(["--noout", "--schema", "tests/fixtures/schemas/junit.xsd"])
        .arg(&xml)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "JUnit XML does not validate against the XSD"
    );
    let text = std::fs::read_to_string(&xml).unwrap();
    assert_eq!(
        text.matches("<testsuite ").count(),
        2,
        "a suite per migration"
    );
    assert_eq!(text.matches("<testcase ").count(), 8, "a case per phase");
    assert!(text.contains("name=\"down\""));
    assert!(text.contains("type=\"data_loss\""));
    assert!(text.contains("20240201000002_split_full_name.down.sql:5"));
    assert!(
        text.contains("<system-out>"),
        "the destructive_change warning"
    );
}

#[test]
fn sarif_is_valid_with_a_rule_per_kind() {
    let dir = tempfile::tempdir().unwrap();
    all_reports(dir.path());
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.sarif")).unwrap())
            .unwrap();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string("tests/fixtures/schemas/sarif-2.1.0-subset.schema.json").unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let run = &sarif["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"data_loss") && rules.contains(&"schema_drift"));
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        let id = r["ruleId"].as_str().unwrap();
        assert_eq!(rules[r["ruleIndex"].as_u64().unwrap() as usize], id);
    }
    let loss = results.iter().find(|r| r["ruleId"] == "data_loss").unwrap();
    assert_eq!(loss["level"], "error");
    // The values lost, before → after, are in the message SARIF readers show.
    let message = loss["message"]["text"].as_str().unwrap();
    assert!(
        message.contains("id=6: 'Ozzie Ilene Turcotte' → 'Ozzie Ilene'"),
        "{message}"
    );
    assert_eq!(
        loss["locations"][0]["physicalLocation"]["region"]["startLine"],
        5
    );
}

#[test]
fn github_annotations_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    all_reports(dir.path());
    let text = std::fs::read_to_string(dir.path().join("report.github")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        vec![
            "::error file=migrations-under-test/postgres/data_loss/20240201000002_split_full_name.down.sql,line=5,title=driftless data_loss (20240201000002)::up→down changed 71 of 200 values in public.customers.full_name%0A%0AUPDATE customers SET full_name = first_name || ' ' || last_name%0A%0Aid=6: 'Ozzie Ilene Turcotte' → 'Ozzie Ilene'%0Aid=8: 'Name Roxanne Bahringer' → 'Name Roxanne'%0Aid=9: 'Sir Hollis Corwin' → 'Sir Hollis'%0A%0Ahelp: write a down that restores the values the up rewrote (keep the originals in a column until the next release), or accept the loss with the allow line%0Aaccept: -- driftless:allow data_loss <reason>%0Aexplain: driftless explain data_loss (https://github.com/driftless-dev/driftless/blob/main/docs/kinds.md#data_loss)",
            "::warning file=migrations-under-test/postgres/data_loss/20240201000002_split_full_name.up.sql,line=8,title=driftless destructive_change (20240201000002)::up drops column public.customers.full_name holding 200 values%0A%0AALTER TABLE customers DROP COLUMN full_name%0A%0Aid=1: 'Deanna Koelpin' → NULL%0Aid=2: 'Jenifer Pouros' → NULL%0Aid=3: 'Myrl Runolfsdottir' → NULL%0A%0Ahelp: keep the column until the next release: stop using it in this release's code and drop it in a later migration%0Aaccept: -- driftless:allow destructive_change <reason>%0Aexplain: driftless explain destructive_change (https://github.com/driftless-dev/driftless/blob/main/docs/kinds.md#destructive_change)",
            "driftless fail: 1 error, 1 warning, 0 info in 2 migrations",
        ]
    );
}

#[test]
fn github_format_on_stdout_keeps_the_exit_code() {
    let run = driftless(&[
        "check",
        "--no-lint",
        "--migrations",
        &demo("irreversible"),
        "--format",
        "github",
    ]);
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout.matches("::warning ").count(), 2);
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    // `driftless check | head -0`: the reader is gone before the report is written, and the
    // exit code still says what was found.
    let tmp = util::sandbox_dir();
    let mut child = util::command(tmp.path())
        .args(["check", "--no-lint", "--migrations", &demo("data_loss")])
        .args(["--checks", "tests/fixtures/no_checks", "--format", "html"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    util::assert_no_leftovers(tmp.path());
}

#[test]
fn markdown_summary_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    all_reports(dir.path());
    let text = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    insta::with_settings!({
        filters => vec![
            (r"\d+ ms", "[ms]"),
            (r"\d+\.\d s", "[s]"),
            (r"postgres \d+\.\d+", "postgres [version]"),
        ],
    }, {
        insta::assert_snapshot!("markdown_data_loss", text);
    });
}

fn shown(dom: &str) -> usize {
    let at = dom.find("data-shown=\"").expect("the page script ran") + 12;
    dom[at..].split('"').next().unwrap().parse().unwrap()
}

#[test]
fn html_renders_the_findings_and_the_filter_works_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    all_reports(dir.path());
    let page = dir.path().join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    // Links to the kinds' pages are navigation, not resources the page loads.
    let loaded = html.replace("<a href=\"https://", "<a href=\"");
    assert!(
        !loaded.contains("http://") && !loaded.contains("https://") && !loaded.contains("src="),
        "self-contained"
    );
    assert!(html.contains("<a href=\"https://github.com/driftless-dev/driftless/blob/main/docs/kinds.md#data_loss\">driftless explain data_loss</a>"));

    let all = util::chromium_dom(&page, "", None);
    assert_eq!(all.matches("<article class=\"finding\"").count(), 2);
    assert_eq!(shown(&all), 2);
    assert!(all.contains("2 of 2 findings shown"));
    assert!(all.contains("up→down changed 71 of 200 values"));
    assert!(all.contains("class=\"bar up\""), "the timeline");

    let by_kind = util::chromium_dom(&page, "#kind=data_loss&severity=error,warning,info", None);
    assert_eq!(shown(&by_kind), 1);
    assert!(by_kind.contains("1 of 2 findings shown"));
    let hidden = by_kind
        .split("<article ")
        .filter(|a| a.contains("data-kind=\"destructive_change\""))
        .all(|a| a.contains("hidden"));
    assert!(hidden, "the other kind is hidden");

    let by_severity = util::chromium_dom(&page, "#kind=all&severity=warning", None);
    assert_eq!(shown(&by_severity), 1);

    let artifacts = PathBuf::from("tests/artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("html_report.png");
    util::chromium_dom(&page, "", Some(&shot));
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a real screenshot"
    );
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

#[test]
fn changed_since_roundtrips_only_what_changed_and_flags_edited_history() {
    let repo = tempfile::tempdir().unwrap();
    let migrations = repo.path().join("db");
    std::fs::create_dir(&migrations).unwrap();
    for entry in std::fs::read_dir(util::repo().join(demo("clean")))
        .unwrap()
        .flatten()
    {
        std::fs::copy(entry.path(), migrations.join(entry.file_name())).unwrap();
    }
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "release 1"]);
    // Second commit: a new migration, and an edit to a shipped up.
    std::fs::write(
        migrations.join("20240101000011_add_nickname.up.sql"),
        "ALTER TABLE users ADD COLUMN nickname text;\n",
    )
    .unwrap();
    std::fs::write(
        migrations.join("20240101000011_add_nickname.down.sql"),
        "ALTER TABLE users DROP COLUMN nickname;\n",
    )
    .unwrap();
    let edited = migrations.join("20240101000005_add_users_phone.up.sql");
    std::fs::write(&edited, "ALTER TABLE users ADD COLUMN phone varchar(40);\n").unwrap();
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "release 2"]);

    let run = check_json(&[
        "--migrations",
        migrations.to_str().unwrap(),
        "--changed-since",
        "HEAD~1",
        "--checks",
        "tests/fixtures/no_checks",
    ]);
    let report = run.json();
    let full: Vec<&str> = report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["down_ms"].is_u64())
        .map(|m| m["version"].as_str().unwrap())
        .collect();
    assert_eq!(
        full,
        vec!["20240101000005", "20240101000011"],
        "only changed ones roundtrip"
    );
    let lint = util::findings(&report, "lint");
    assert_eq!(lint.len(), 1);
    assert_eq!(lint[0]["details"]["rule"], "modified_migration");
    assert_eq!(lint[0]["severity"], "error");
    assert_eq!(lint[0]["migration"], "20240101000005");
    assert_eq!(run.code, 1);

    let bad = driftless(&[
        "check",
        "--no-lint",
        "--migrations",
        migrations.to_str().unwrap(),
        "--changed-since",
        "no-such-rev",
    ]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("no-such-rev"), "{}", bad.stderr);
}

#[test]
fn explain_prints_a_page_per_kind_and_lists_them() {
    let list = driftless(&["explain"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let kinds: Vec<&str> = list
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(kinds.len() >= 13, "{}", list.stdout);
    for kind in kinds {
        let page = driftless(&["explain", kind]);
        assert_eq!(page.code, 0, "{kind}: {}", page.stderr);
        assert!(page.stdout.starts_with(kind), "{}", page.stdout);
        for part in ["Example:", "Fix:", "Allow it:"] {
            assert!(page.stdout.contains(part), "{kind}: no {part}");
        }
        assert!(
            page.stdout
                .contains(&format!("-- driftless:allow {kind} <reason>"))
        );
    }
    let unknown = driftless(&["explain", "data_lost"]);
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("data_loss"), "{}", unknown.stderr);
}
