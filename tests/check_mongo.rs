//! `driftless check --engine mongo` against a real server process: `mongod` where installed,
//! else FerretDB (what `make setup` builds here). Every finding kind on the demo sets, the
//! clean set, migration-format errors, checks, `--url`, nothing left behind, and `dry-run` of
//! mongodump archives and directories (restored without mongorestore).

mod util;

use std::time::Duration;

use serde_json::Value;
use util::{check_json, findings, kinds};

const FIXTURES: &str = "migrations-under-test/mongo/fixtures";
const CHECKS: &str = "migrations-under-test/mongo/checks";

fn mongo_set(name: &str) -> String {
    format!("migrations-under-test/mongo/{name}")
}

fn check(set: &str) -> util::Run {
    check_json(&[
        "--engine",
        "mongo",
        "--migrations",
        &mongo_set(set),
        "--fixtures",
        FIXTURES,
        "--checks",
        CHECKS,
    ])
}

/// A "live" server of the tests' own (not driftless's sandbox), with database `app`.
struct Live {
    server: driftless::engine::mongo::LocalServer,
    rt: tokio::runtime::Runtime,
    client: mongodb::Client,
    url: String,
}

fn live() -> Live {
    let server = util::servers::mongo();
    let url = server.url().replace("/?", "/app?");
    let rt = util::runtime();
    let client = rt.block_on(mongodb::Client::with_uri_str(&url)).unwrap();
    Live {
        server,
        rt,
        client,
        url,
    }
}

fn on(report: &Value, kind: &str, object: &str) -> Vec<Value> {
    findings(report, kind)
        .into_iter()
        .filter(|f| f["object"] == object)
        .cloned()
        .collect()
}

#[test]
fn clean_set_has_no_findings_and_runs_its_check() {
    let run = check("clean");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["engine"], "mongo");
    assert!(kinds(&report).is_empty(), "{}", run.stdout);
    assert_eq!(report["summary"]["checks_run"], 1);
    let seeded = report["migrations"][1]["rows_seeded"].as_u64().unwrap();
    assert_eq!(
        seeded, 200,
        "users was seeded before migration 2: {}",
        run.stdout
    );
}

#[test]
fn rename_not_reverted_is_data_loss_and_shape_drift() {
    let run = check("rename_not_reverted");
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    let lost = on(&report, "data_loss", "db.users.name");
    assert_eq!(lost.len(), 1, "{}", run.stdout);
    assert_eq!(lost[0]["details"]["values_lost"], 200);
    let examples = lost[0]["details"]["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 3, "{}", lost[0]);
    assert!(
        examples
            .iter()
            .all(|e| e["before"].is_string() && e["after"].is_null())
    );
    assert!(
        lost[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("2_full_name.down.json")
    );
    let drift = on(&report, "schema_drift", "db.users");
    assert!(
        drift[0]["details"]["diff"]
            .as_str()
            .unwrap()
            .contains("+  fullname: string")
    );
    // The up's rename keeps every value: not destructive.
    assert!(
        findings(&report, "destructive_change").is_empty(),
        "{}",
        run.stdout
    );
}

#[test]
fn unset_with_a_down_that_cannot_restore_is_data_loss() {
    let run = check("unset_lossy");
    let report = run.json();
    let destructive = on(&report, "destructive_change", "db.users.phone");
    assert_eq!(destructive.len(), 1, "{}", run.stdout);
    let lost = on(&report, "data_loss", "db.users.phone");
    assert_eq!(lost.len(), 1, "{}", run.stdout);
    assert_eq!(lost[0]["details"]["values_changed"], 200);
    assert_eq!(
        lost[0]["details"]["sample_keys"].as_array().unwrap().len(),
        5
    );
    // The field's type changed (string → null): one drift, naming the field as its column,
    // not a string field removed and a null one added. Accepting it goes in driftless.toml,
    // since a JSON migration holds no comment.
    let drift = findings(&report, "schema_drift");
    assert_eq!(drift.len(), 1, "{}", run.stdout);
    assert_eq!(drift[0]["column"], "phone", "{}", run.stdout);
    assert_eq!(drift[0]["details"]["change"], "phone: string → null");
    assert!(
        drift[0]["allow"]
            .as_str()
            .unwrap()
            .contains("migration = \"2\""),
        "{}",
        drift[0]["allow"]
    );
    assert!(
        destructive[0]["help"]
            .as_str()
            .unwrap()
            .starts_with("keep the field")
    );
}

#[test]
fn dropped_index_not_recreated_is_schema_drift() {
    let run = check("dropped_index");
    let report = run.json();
    let drift = on(&report, "schema_drift", "db.users.email_1");
    assert_eq!(drift.len(), 1, "{}", run.stdout);
    assert!(
        drift[0]["details"]["diff"]
            .as_str()
            .unwrap()
            .contains("-index email_1 on db.users (email: 1) unique")
    );
    assert_eq!(findings(&report, "reup_failure").len(), 1);
}

#[test]
fn string_to_int_that_loses_values_is_found_on_up_and_down() {
    let run = check("type_change");
    let report = run.json();
    let destructive = on(&report, "destructive_change", "db.users.zip");
    assert_eq!(destructive.len(), 1, "{}", run.stdout);
    assert!(
        destructive[0]["message"]
            .as_str()
            .unwrap()
            .contains("2 values do not survive")
    );
    // The up's own examples keep the JSON type: a string became a number.
    assert_eq!(
        destructive[0]["details"]["examples"][0],
        serde_json::json!({"key": "_id=1", "before": "01234", "after": 1234})
    );
    let lost = on(&report, "data_loss", "db.users.zip");
    assert_eq!(lost[0]["details"]["values_changed"], 2, "{}", run.stdout);
    assert_eq!(
        lost[0]["details"]["sample_keys"],
        serde_json::json!(["_id=1", "_id=3"])
    );
    // What was lost, value by value: a leading zero, and a postcode that became null.
    assert_eq!(
        lost[0]["details"]["examples"],
        serde_json::json!([
            {"key": "_id=1", "before": "01234", "after": "1234"},
            {"key": "_id=3", "before": "SW1A 1AA", "after": null},
        ])
    );
}

#[test]
fn a_broken_invariant_is_reported_with_the_violating_documents() {
    let dir = util::migration_dir(&[
        ("1_users.up.json", br#"[{"create": "users"}]"#),
        ("1_users.down.json", br#"[{"drop": "users"}]"#),
        (
            "2_import.up.json",
            br#"[{"insert": "users", "documents": [{"_id": "x1", "name": "no email"}]}]"#,
        ),
        (
            "2_import.down.json",
            br#"[{"delete": "users", "deletes": [{"q": {"_id": "x1"}, "limit": 1}]}]"#,
        ),
    ]);
    let run = check_json(&[
        "--engine",
        "mongo",
        "--migrations",
        dir.path().to_str().unwrap(),
        "--checks",
        CHECKS,
    ]);
    let report = run.json();
    let violations = findings(&report, "invariant_violation");
    assert_eq!(violations.len(), 1, "{}", run.stdout);
    assert_eq!(violations[0]["migration"], "2");
    assert_eq!(violations[0]["details"]["rows"], 1);
    assert_eq!(violations[0]["details"]["sample"][0]["_id"], "x1");
}

#[test]
fn bad_migration_files_are_exit_2_with_file_and_line() {
    let cases: &[(&[u8], &str)] = &[
        (
            b"[\n  {\"create\": \"a\"},\n  {\"create\" \"b\"}\n]\n",
            ":3: invalid JSON",
        ),
        (
            b"[\n  {\"create\": \"a\"},\n  {\"frobnicate\": \"b\"}\n]\n",
            ":3: command 1: unknown command `frobnicate`",
        ),
        (
            b"\n{\"create\": \"a\"}\n",
            ":2: a MongoDB migration must be a JSON array",
        ),
    ];
    for (text, expected) in cases {
        let dir = util::migration_dir(&[("1_a.up.json", text)]);
        let run = util::driftless(&[
            "check",
            "--no-lint",
            "--engine",
            "mongo",
            "--migrations",
            dir.path().to_str().unwrap(),
        ]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains("1_a.up.json"), "{}", run.stderr);
        assert!(
            run.stderr.contains(expected),
            "expected {expected:?} in {}",
            run.stderr
        );
        assert_eq!(
            run.stderr.trim().lines().count(),
            1,
            "one line: {}",
            run.stderr
        );
    }
}

#[test]
fn a_failing_command_is_a_migration_error_at_its_line() {
    let dir = util::migration_dir(&[
        (
            "1_a.up.json",
            b"[\n  {\"create\": \"a\"},\n  {\"dropIndexes\": \"a\", \"index\": \"nope\"}\n]",
        ),
        ("1_a.down.json", br#"[{"drop": "a"}]"#),
    ]);
    let run = check_json(&[
        "--engine",
        "mongo",
        "--migrations",
        dir.path().to_str().unwrap(),
    ]);
    let report = run.json();
    let errors = findings(&report, "migration_error");
    assert_eq!(errors.len(), 1, "{}", run.stdout);
    assert_eq!(errors[0]["line"], 3);
    assert_eq!(errors[0]["details"]["code"], "IndexNotFound");
}

/// FerretDB (what `make setup` builds where `mongod` cannot be installed) has no `$jsonSchema`
/// validators, so this runs only against a real `mongod`: `cargo test --release --test
/// check_mongo -- --ignored` on a machine that has one.
#[test]
#[ignore = "needs a real mongod: FerretDB has no $jsonSchema validators"]
fn validator_shapes_seed_documents_where_the_server_has_validators() {
    let dir = util::migration_dir(&[
        (
            "1_users.up.json",
            br#"[{"create": "users", "validator": {"$jsonSchema": {"bsonType": "object", "required": ["email", "score"],
                 "properties": {"email": {"bsonType": "string"}, "score": {"bsonType": "int", "minimum": 5, "maximum": 9}}}}}]"#,
        ),
        ("1_users.down.json", br#"[{"drop": "users"}]"#),
        ("2_noop.up.json", b"[]"),
        ("2_noop.down.json", b"[]"),
    ]);
    let run = check_json(&[
        "--engine",
        "mongo",
        "--migrations",
        dir.path().to_str().unwrap(),
    ]);
    let report = run.json();
    assert!(
        !report["server_version"]
            .as_str()
            .unwrap_or_default()
            .starts_with("FerretDB"),
        "this test needs a real mongod; FerretDB has no $jsonSchema validators"
    );
    assert!(
        kinds(&report).iter().all(|k| k == "irreversible"),
        "{}",
        run.stdout
    );
    assert_eq!(
        report["migrations"][1]["rows_seeded"], 200,
        "{}",
        run.stdout
    );
}

#[test]
fn url_mode_uses_and_drops_a_throwaway_database() {
    let server = util::servers::mongo();
    let url = server.url();
    let run = check_json(&[
        "--migrations",
        &mongo_set("unset_lossy"),
        "--fixtures",
        FIXTURES,
        "--url",
        &url,
    ]);
    let report = run.json();
    assert_eq!(report["engine"], "mongo", "inferred from the URL");
    assert_eq!(
        on(&report, "data_loss", "db.users.phone").len(),
        1,
        "{}",
        run.stdout
    );
    let rt = util::runtime();
    let databases = rt.block_on(async {
        let client = mongodb::Client::with_uri_str(&url).await.unwrap();
        client.list_database_names().await.unwrap()
    });
    assert!(
        !databases.iter().any(|d| d.starts_with("driftless_")),
        "the throwaway database is gone: {databases:?}"
    );
    server.stop();
}

#[test]
fn sigint_mid_run_leaves_no_server_behind() {
    let output = util::interrupt_mid_run(
        &[
            "check",
            "--no-lint",
            "--engine",
            "mongo",
            "--rows",
            "200000",
            "--fixtures",
            FIXTURES,
            "--migrations",
            &mongo_set("clean"),
        ],
        libc::SIGINT,
        Duration::from_millis(1000),
    );
    assert_eq!(output.status.code(), Some(130));
}

#[test]
fn a_failed_run_leaves_nothing_behind() {
    // A migration error ends the run early (exit 1); check_json asserts no leftovers.
    let dir = util::migration_dir(&[("1_a.up.json", br#"[{"create": "a"}, {"create": "a"}]"#)]);
    let run = check_json(&[
        "--engine",
        "mongo",
        "--migrations",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(findings(&run.json(), "migration_error").len(), 1);
}

/// A mongodump `--archive` of database `shop` (plus an `admin` collection, which is not
/// restored), built by the format's specification: `users` with a phone on every document and
/// a unique email index, and golang-migrate's `schema_migrations` at version 1.
fn mongodump_archive(users: i32) -> Vec<u8> {
    use mongodb::bson::{doc, to_vec};
    let mut out = vec![0x6d, 0xe2, 0x99, 0x81];
    let terminator = [0xFF_u8; 4];
    out.extend(
        to_vec(
            &doc! {"concurrent_collections": 4, "version": "0.1", "server_version": "7.0.0",
            "tool_version": "100.9.0"},
        )
        .unwrap(),
    );
    let users_meta = r#"{"indexes":[{"v":{"$numberInt":"2"},"key":{"_id":{"$numberInt":"1"}},"name":"_id_"},{"v":{"$numberInt":"2"},"key":{"email":{"$numberInt":"1"}},"name":"email_1","unique":true}],"uuid":"0679db720f4944de90ae27472664e94a","collectionName":"users","type":"collection"}"#;
    let plain = |name: &str| {
        format!(
            r#"{{"indexes":[{{"v":{{"$numberInt":"2"}},"key":{{"_id":{{"$numberInt":"1"}}}},"name":"_id_"}}],"collectionName":"{name}","type":"collection"}}"#
        )
    };
    for (db, name, meta) in [
        ("shop", "users", users_meta.to_string()),
        ("shop", "schema_migrations", plain("schema_migrations")),
        ("admin", "system.version", plain("system.version")),
    ] {
        out.extend(
            to_vec(&doc! {"db": db, "collection": name, "metadata": meta, "size": 0}).unwrap(),
        );
    }
    out.extend(terminator);
    let segment = |out: &mut Vec<u8>, db: &str, name: &str, docs: &[mongodb::bson::Document]| {
        out.extend(
            to_vec(&doc! {"db": db, "collection": name, "EOF": false, "CRC": 0_i64}).unwrap(),
        );
        for d in docs {
            out.extend(to_vec(d).unwrap());
        }
        out.extend(terminator);
    };
    let people: Vec<_> = (1..=users)
        .map(|i| doc! {"_id": i, "email": format!("u{i}@shop.example"), "phone": format!("555-{i:04}")})
        .collect();
    // Interleaved segments, as a concurrent mongodump writes them.
    let (first, rest) = people.split_at(people.len() / 2);
    segment(&mut out, "shop", "users", first);
    segment(
        &mut out,
        "admin",
        "system.version",
        &[doc! {"_id": "featureCompatibilityVersion", "version": "7.0"}],
    );
    segment(
        &mut out,
        "shop",
        "schema_migrations",
        &[doc! {"version": 1_i64, "dirty": false}],
    );
    segment(&mut out, "shop", "users", rest);
    for (db, name) in [
        ("shop", "users"),
        ("shop", "schema_migrations"),
        ("admin", "system.version"),
    ] {
        out.extend(
            to_vec(&doc! {"db": db, "collection": name, "EOF": true, "CRC": 0_i64}).unwrap(),
        );
        out.extend(terminator);
    }
    out
}

fn mongo_dry_run(snapshot: &std::path::Path) -> util::Run {
    util::driftless(&[
        "dry-run",
        "--engine",
        "mongo",
        "--format",
        "json",
        "--checks",
        "tests/fixtures/no_checks",
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--migrations",
        &mongo_set("unset_lossy"),
    ])
}

/// The deploy of `unset_lossy`'s pending migration 2 against the snapshot.
fn assert_phone_unset_deploy(run: &util::Run) {
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["engine"], "mongo");
    let pending: Vec<&Value> = findings(&report, "pending_migration")
        .iter()
        .map(|f| &f["migration"])
        .collect();
    assert_eq!(pending, vec!["2"], "{}", run.stdout);
    let timeline = report["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 1);
    assert_eq!(timeline[0]["statements"][0]["rows"], 40, "{}", run.stdout);
    let users = report["data_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["table"].as_str().unwrap().ends_with(".users"))
        .unwrap_or_else(|| panic!("users changed: {}", run.stdout));
    assert_eq!(users["rows_before"], 40);
    assert_eq!(users["columns_dropped"], serde_json::json!({"phone": 40}));
    let destructive = findings(&report, "destructive_change");
    assert!(
        destructive.iter().any(|f| f["message"]
            .as_str()
            .unwrap()
            .contains("drops column phone holding 40 values")),
        "{}",
        run.stdout
    );
}

#[test]
fn dry_run_restores_mongodump_archives_and_directories_without_mongorestore() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("prod.archive");
    let bytes = mongodump_archive(40);
    std::fs::write(&archive, &bytes).unwrap();
    let run = mongo_dry_run(&archive);
    assert_phone_unset_deploy(&run);
    assert_eq!(
        std::fs::read(&archive).unwrap(),
        bytes,
        "the snapshot is only read"
    );

    // `mongodump --archive --gzip`.
    let gz = dir.path().join("prod.archive.gz");
    let mut encoder =
        flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), Default::default());
    encoder.write_all(&bytes).unwrap();
    encoder.finish().unwrap();
    assert_phone_unset_deploy(&mongo_dry_run(&gz));

    // A dump directory: dump/shop/<collection>.bson + .metadata.json.
    use mongodb::bson::{doc, to_vec};
    let shop = dir.path().join("dump").join("shop");
    std::fs::create_dir_all(&shop).unwrap();
    let mut users = Vec::new();
    for i in 1..=40 {
        users.extend(
            to_vec(&doc! {"_id": i, "email": format!("u{i}@shop.example"), "phone": format!("555-{i:04}")})
                .unwrap(),
        );
    }
    std::fs::write(shop.join("users.bson"), users).unwrap();
    std::fs::write(
        shop.join("users.metadata.json"),
        r#"{"indexes":[{"v":{"$numberInt":"2"},"key":{"email":{"$numberInt":"1"}},"name":"email_1","unique":true}],"collectionName":"users"}"#,
    )
    .unwrap();
    std::fs::write(
        shop.join("schema_migrations.bson"),
        to_vec(&doc! {"version": 1_i64, "dirty": false}).unwrap(),
    )
    .unwrap();
    assert_phone_unset_deploy(&mongo_dry_run(&dir.path().join("dump")));

    // A truncated archive: exit 3, one line saying so, nothing left running (driftless()).
    let cut = dir.path().join("cut.archive");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let run = mongo_dry_run(&cut);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("truncated"), "{}", run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
}

#[test]
fn an_emptied_collection_is_seeded_in_the_shape_its_documents_had() {
    let dir = util::migration_dir(&[
        (
            "1_events.up.json",
            br#"[{"create": "events"}, {"insert": "events", "documents": [
                {"kind": "click", "n": 1, "meta": {"src": "web"}},
                {"kind": "view", "n": 2, "meta": {"src": "app"}}]}]"#,
        ),
        ("1_events.down.json", br#"[{"drop": "events"}]"#),
        (
            "2_clear.up.json",
            br#"[{"delete": "events", "deletes": [{"q": {}, "limit": 0}]}]"#,
        ),
        ("2_clear.down.json", b""),
        ("3_noop.up.json", b"[]"),
        ("3_noop.down.json", b"[]"),
    ]);
    let checks = tempfile::tempdir().unwrap();
    std::fs::write(
        checks.path().join("events_have_a_source.mongo.json"),
        br#"{"collection": "events", "after": "3",
             "pipeline": [{"$match": {"$or": [{"meta.src": {"$exists": false}}, {"n": {"$not": {"$type": "int"}}}]}}]}"#,
    )
    .unwrap();
    let run = check_json(&[
        "--engine",
        "mongo",
        "--migrations",
        dir.path().to_str().unwrap(),
        "--checks",
        checks.path().to_str().unwrap(),
    ]);
    let report = run.json();
    assert_eq!(
        report["migrations"][2]["rows_seeded"], 200,
        "{}",
        run.stdout
    );
    assert!(
        findings(&report, "invariant_violation").is_empty(),
        "{}",
        run.stdout
    );
    assert_eq!(report["summary"]["checks_run"], 1);
}

#[test]
fn int_to_double_counts_as_a_change_and_an_empty_down_is_irreversible() {
    let dir = util::migration_dir(&[
        (
            "1_scores.up.json",
            br#"[{"create": "scores"}, {"insert": "scores", "documents": [
                {"_id": 1, "n": 5}, {"_id": 2, "n": 7}, {"_id": 3, "label": "no n"}]}]"#,
        ),
        ("1_scores.down.json", br#"[{"drop": "scores"}]"#),
        (
            "2_to_double.up.json",
            br#"[{"update": "scores", "updates": [{"q": {"n": {"$exists": true}}, "u": {"$mul": {"n": 1.0}}, "multi": true}]}]"#,
        ),
        (
            "2_to_double.down.json",
            br#"[{"update": "scores", "updates": [{"q": {"n": {"$exists": true}}, "u": {"$mul": {"n": 1}}, "multi": true}]}]"#,
        ),
        ("3_note.up.json", br#"[{"update": "scores", "updates": [{"q": {}, "u": {"$set": {"note": "x"}}, "multi": true}]}]"#),
        ("3_note.down.json", b""),
    ]);
    let run = check_json(&[
        "--engine",
        "mongo",
        "--migrations",
        dir.path().to_str().unwrap(),
    ]);
    let report = run.json();
    // The down of 2 multiplies by an int: n stays a double where it was an int32.
    let lost = on(&report, "data_loss", "db.scores.n");
    assert_eq!(lost.len(), 1, "{}", run.stdout);
    assert_eq!(lost[0]["details"]["values_changed"], 2);
    let irreversible: Vec<_> = findings(&report, "irreversible")
        .iter()
        .map(|f| f["migration"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(irreversible, vec!["3"], "{}", run.stdout);
}

#[test]
fn keep_leaves_a_reachable_mongo_server() {
    let tmp = util::sandbox_dir();
    let output = util::command(tmp.path())
        .args([
            "check",
            "--no-lint",
            "--engine",
            "mongo",
            "--migrations",
            &mongo_set("clean"),
            "--fixtures",
            FIXTURES,
            "--keep",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let url = util::url_in(&stderr, "mongodb");
    let rt = util::runtime();
    let collections = rt.block_on(async {
        let client = mongodb::Client::with_uri_str(url).await.unwrap();
        let names = client
            .database("driftless")
            .list_collection_names()
            .await
            .unwrap();
        client.shutdown().await;
        names
    });
    assert!(
        collections.contains(&"users".to_string()),
        "{collections:?}"
    );
    let stop = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("stop it with: "))
        .unwrap_or_else(|| panic!("no stop command in: {stderr}"));
    assert!(
        std::process::Command::new("sh")
            .args(["-c", stop])
            .status()
            .unwrap()
            .success()
    );
    util::assert_no_leftovers(tmp.path());
}

#[test]
fn missing_server_binary_and_unreachable_url_are_exit_3() {
    let empty = tempfile::tempdir().unwrap();
    let run = util::driftless(&[
        "check",
        "--no-lint",
        "--engine",
        "mongo",
        "--migrations",
        &mongo_set("clean"),
        "--mongod-bin",
        empty.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("make setup"), "{}", run.stderr);
    let run = util::driftless(&[
        "check",
        "--no-lint",
        "--migrations",
        &mongo_set("clean"),
        "--url",
        "mongodb://root:hunter2@127.0.0.1:1/app?serverSelectionTimeoutMS=500",
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
}

#[test]
fn drift_reports_an_index_added_by_hand_and_writes_nothing() {
    use mongodb::bson::{Document, doc};
    let Live {
        server,
        rt,
        client,
        url,
    } = live();
    let db = client.database("app");
    // "Production": migrations 1 and 2 of the clean set applied, as golang-migrate records it.
    rt.block_on(async {
        db.run_command(doc! {"create": "users"}).await.unwrap();
        db.run_command(doc! {"createIndexes": "users", "indexes": [{"key": {"email": 1}, "name": "email_1", "unique": true}]})
            .await
            .unwrap();
        db.run_command(doc! {"create": "orders"}).await.unwrap();
        db.run_command(doc! {"createIndexes": "orders", "indexes": [{"key": {"user_email": 1, "placed_at": -1}, "name": "user_email_1_placed_at_-1"}]})
            .await
            .unwrap();
        db.collection::<Document>("users")
            .insert_many([doc! {"email": "a@example.com", "name": "A"}, doc! {"email": "b@example.com"}])
            .await
            .unwrap();
        db.collection::<Document>("schema_migrations")
            .insert_one(doc! {"version": 2i64, "dirty": false})
            .await
            .unwrap();
    });
    let drift = || {
        util::driftless(&[
            "drift",
            "--format",
            "json",
            "--url",
            &url,
            "--migrations",
            &mongo_set("clean"),
        ])
    };
    let run = drift();
    assert_eq!(run.code, 0, "no drift yet: {}\n{}", run.stdout, run.stderr);
    assert!(kinds(&run.json()).is_empty(), "{}", run.stdout);

    // Someone adds an index by hand.
    rt.block_on(async {
        db.run_command(
            doc! {"createIndexes": "users", "indexes": [{"key": {"name": 1}, "name": "by_hand"}]},
        )
        .await
        .unwrap()
    });
    let before = rt.block_on(async {
        let users = db
            .collection::<Document>("users")
            .count_documents(doc! {})
            .await
            .unwrap();
        (users, client.list_database_names().await.unwrap())
    });
    let run = drift();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["engine"], "mongo");
    let drifted = on(&report, "schema_drift", "db.users.by_hand");
    assert_eq!(drifted.len(), 1, "{}", run.stdout);
    assert!(
        drifted[0]["message"]
            .as_str()
            .unwrap()
            .contains("exists only in the live database")
    );
    assert_eq!(
        kinds(&report),
        vec!["schema_drift"],
        "migration 3 is pending, not drift: {}",
        run.stdout
    );
    let after = rt.block_on(async {
        let users = db
            .collection::<Document>("users")
            .count_documents(doc! {})
            .await
            .unwrap();
        (users, client.list_database_names().await.unwrap())
    });
    assert_eq!(
        before, after,
        "drift wrote nothing: no documents, no databases"
    );
    server.stop();
}

#[test]
fn seed_fills_empty_collections_of_a_live_database_and_leaves_the_rest() {
    use mongodb::bson::{Document, doc};
    let Live {
        server,
        rt,
        client,
        url,
    } = live();
    let db = client.database("app");
    rt.block_on(async {
        db.run_command(doc! {"create": "users"}).await.unwrap();
        db.run_command(doc! {"createIndexes": "users", "indexes": [{"key": {"email": 1}, "name": "email_1", "unique": true}]})
            .await
            .unwrap();
        db.run_command(doc! {"create": "orders"}).await.unwrap();
        db.collection::<Document>("orders").insert_one(doc! {"total": 5}).await.unwrap();
    });
    let run = util::driftless(&[
        "seed",
        "--url",
        &url,
        "--rows",
        "users=300",
        "--overrides",
        &format!("{FIXTURES}/users.toml"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("seeded 300 documents"),
        "{}",
        run.stderr
    );
    let (users, with_phone, orders, databases) = rt.block_on(async {
        let users = db.collection::<Document>("users");
        (
            users.count_documents(doc! {}).await.unwrap(),
            users
                .count_documents(doc! {"phone": {"$type": "string"}})
                .await
                .unwrap(),
            db.collection::<Document>("orders")
                .count_documents(doc! {})
                .await
                .unwrap(),
            client.list_database_names().await.unwrap(),
        )
    });
    assert_eq!(users, 300);
    assert_eq!(with_phone, 300, "the TOML shape requires a phone");
    assert_eq!(orders, 1, "a collection with documents is left alone");
    assert!(
        !databases.iter().any(|d| d.starts_with("driftless")),
        "{databases:?}"
    );
    let run = util::driftless(&[
        "seed",
        "--engine",
        "mongo",
        "--migrations",
        &mongo_set("clean"),
        "--out",
        "x",
    ]);
    assert_eq!(
        run.code, 2,
        "CSV is not a format for documents: {}",
        run.stderr
    );
    assert!(run.stderr.contains("--format jsonl"), "{}", run.stderr);
    server.stop();
}

#[test]
fn seed_writes_extended_json_lines_per_collection_deterministically() {
    let out = tempfile::tempdir().unwrap();
    let write = |dir: &std::path::Path| {
        util::driftless(&[
            "seed",
            "--engine",
            "mongo",
            "--migrations",
            &mongo_set("clean"),
            "--overrides",
            FIXTURES,
            "--rows",
            "users=40,orders=7",
            "--format",
            "jsonl",
            "--out",
            dir.to_str().unwrap(),
        ])
    };
    let (first, second) = (out.path().join("a"), out.path().join("b"));
    for dir in [&first, &second] {
        let run = write(dir);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let users = std::fs::read_to_string(first.join("users.jsonl")).unwrap();
    assert_eq!(users.lines().count(), 40);
    for line in users.lines() {
        let doc: Value = serde_json::from_str(line).unwrap();
        assert!(
            doc["_id"]["$oid"].is_string(),
            "canonical Extended JSON: {line}"
        );
        assert!(doc["phone"].is_string(), "shaped by the TOML: {line}");
    }
    assert_eq!(
        std::fs::read_to_string(first.join("orders.jsonl"))
            .unwrap()
            .lines()
            .count(),
        7
    );
    assert_eq!(
        users,
        std::fs::read_to_string(second.join("users.jsonl")).unwrap(),
        "same seed, same bytes"
    );
    let run = write(&first);
    assert_eq!(
        run.code, 2,
        "an existing directory is not overwritten: {}",
        run.stderr
    );
}
