//! `driftless mask --engine mongo` against a real server (`mongod` where installed, else
//! FerretDB): nested and array personal data masked by field path, no original value left in
//! any string of the copy (as a whole or inside text), `_id` references still joining across
//! collections, the same key giving the same documents and another key other ones, archives in
//! and out, `--detect`, `--strict`, and the detected rules applied when there are none.

mod util;

use std::collections::{BTreeMap, BTreeSet};

use futures_util::TryStreamExt;
use mongodb::bson::{Bson, DateTime, Document, doc, oid::ObjectId};
use util::Run;

const KEY: &str = "test-masking-key-0123456789abcdef";
const OTHER_KEY: &str = "another-masking-key-9876543210";
const USERS: i32 = 300;

const RULES: &str = r#"
[users._id]
transform = "hash"

[users.email]
transform = "email"

[users."profile.firstName"]
transform = "fake"
generator = "first_name"

# Nested TOML tables name the same path.
[users.profile.lastName]
transform = "fake"
generator = "last_name"

# Every element of the array.
[users.phones]
transform = "fake"
generator = "phone"

# `*`: any one field; the rule masks everything inside the sub-document.
[users."profile.*.address"]
transform = "fake"

[users."profile.born"]
transform = "noise"
days = 180

[users.notes]
transform = "scrub"

[orders."*.address"]
transform = "fake"

[orders.contact_email]
transform = "email"

[orders."items.gift_note"]
transform = "scrub"
"#;

/// `driftless mask --engine mongo …` (`util::mask`).
fn mask(key: Option<&str>, args: &[&str]) -> Run {
    let mut all = vec!["--engine", "mongo"];
    all.extend_from_slice(args);
    util::mask(key, &all)
}

struct Server {
    server: driftless::engine::mongo::LocalServer,
    rt: tokio::runtime::Runtime,
    client: mongodb::Client,
}

impl Server {
    /// A server of the test's own with database `app` holding the fixture.
    fn with_source() -> Server {
        let server = util::servers::mongo();
        let rt = util::runtime();
        let client = rt
            .block_on(mongodb::Client::with_uri_str(server.url()))
            .unwrap();
        let s = Server { server, rt, client };
        s.rt.block_on(async {
            let db = s.client.database("app");
            db.collection::<Document>("users")
                .insert_many(users())
                .await
                .unwrap();
            db.collection::<Document>("orders")
                .insert_many(orders())
                .await
                .unwrap();
        });
        s
    }

    fn url(&self, db: &str) -> String {
        self.server.url().replace("/?", &format!("/{db}?"))
    }

    /// `mask` of the source database `app` with `rules` under `key` into `db`; it must pass.
    fn mask_into(&self, key: &str, rules: &str, db: &str) {
        let (from, to) = (self.url("app"), self.url(db));
        let args = ["--from", &from, "--rules", rules, "--to", &to, "-q"];
        let run = mask(Some(key), &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }

    /// Every document of a collection, by `seq`.
    fn documents(&self, db: &str, collection: &str) -> Vec<Document> {
        self.rt.block_on(async {
            let cursor = self
                .client
                .database(db)
                .collection::<Document>(collection)
                .find(doc! {})
                .sort(doc! {"seq": 1})
                .await
                .unwrap();
            cursor.try_collect().await.unwrap()
        })
    }

    fn collections(&self, db: &str) -> Vec<String> {
        self.rt.block_on(async {
            self.client
                .database(db)
                .list_collection_names()
                .await
                .unwrap()
        })
    }
}

fn user_id(i: i32) -> ObjectId {
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&0x6500_0000_u32.to_be_bytes());
    bytes[8..].copy_from_slice(&i.to_be_bytes());
    ObjectId::from_bytes(bytes)
}

fn born(i: i32) -> DateTime {
    DateTime::from_millis((-20 * 365 + i64::from(i) * 37) * 86_400_000)
}

/// People with personal data at the top, nested, in arrays and inside free text.
fn users() -> Vec<Document> {
    (1..=USERS)
        .map(|i| {
            doc! {
                "_id": user_id(i),
                "seq": i,
                "email": format!("quill{i}@post{}.example", i % 7),
                "profile": {
                    "firstName": format!("Xanthe{i}"),
                    "lastName": format!("Quorvath{i}"),
                    "born": born(i),
                    "home": {
                        "address": {
                            "street": format!("{i} Quillfeather Lane"),
                            "city": format!("Zorburg{i}"),
                            "zip": format!("ZQ-{i:05}"),
                        }
                    },
                },
                "phones": [format!("+1 555 {:07}", 1_000_000 + i), format!("+44 20 7946 {:04}", i)],
                "notes": format!(
                    "Xanthe{i} Quorvath{i} asked to be called on +1 555 {:07} or mailed at quill{i}@post{}.example.",
                    1_000_000 + i,
                    i % 7
                ),
                "tier": if i % 4 == 0 { "gold" } else { "basic" },
            }
        })
        .collect()
}

/// Orders referring to users by ObjectId, with addresses and gift notes naming people.
fn orders() -> Vec<Document> {
    (1..=USERS * 3)
        .map(|n| {
            let i = 1 + (n - 1) % USERS;
            doc! {
                "_id": n,
                "seq": n,
                "user_seq": i,
                "user_id": user_id(i),
                "contact_email": format!("quill{i}@post{}.example", i % 7),
                "shipping": {"address": {"street": format!("{i} Quillfeather Lane"), "city": format!("Zorburg{i}")}},
                "items": [
                    {"sku": format!("SKU-{}", n % 17), "qty": n % 3 + 1,
                     "gift_note": format!("For Xanthe{i} Quorvath{i}, with love")},
                    {"sku": "SKU-X", "qty": 1},
                ],
                "total": f64::from(n % 50) + 0.5,
            }
        })
        .collect()
}

/// Every personal string of the source: none may be in the copy, whole or inside a string.
fn personal() -> BTreeSet<String> {
    let mut values = BTreeSet::new();
    for i in 1..=USERS {
        values.extend([
            format!("quill{i}@post{}.example", i % 7),
            format!("Xanthe{i}"),
            format!("Quorvath{i}"),
            format!("{i} Quillfeather Lane"),
            format!("Zorburg{i}"),
            format!("ZQ-{i:05}"),
            format!("+1 555 {:07}", 1_000_000 + i),
            format!("+44 20 7946 {:04}", i),
        ]);
    }
    values
}

fn strings(value: &Bson, out: &mut Vec<String>) {
    match value {
        Bson::String(s) => out.push(s.clone()),
        Bson::Document(d) => d.values().for_each(|v| strings(v, out)),
        Bson::Array(items) => items.iter().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// Asserts that no string of `documents` holds a personal value; returns how many it scanned.
fn assert_no_leak(documents: &[Document], personal: &BTreeSet<String>) -> usize {
    // Names end in digits: `Xanthe1` is inside `Xanthe12`, so one prefix test finds them all.
    let needles: Vec<&str> = [
        "quill",
        "Xanthe",
        "Quorvath",
        "Quillfeather",
        "Zorburg",
        "ZQ-",
    ]
    .into_iter()
    .collect();
    let mut scanned = 0;
    for d in documents {
        let mut all = Vec::new();
        strings(&Bson::Document(d.clone()), &mut all);
        for s in all {
            scanned += 1;
            for n in &needles {
                assert!(!s.contains(n), "`{n}…` left in {s:?} of {d}");
            }
            for value in personal {
                assert!(
                    !s.contains(value.as_str()),
                    "`{value}` left in {s:?} of {d}"
                );
            }
        }
    }
    scanned
}

fn checks_the_copy(s: &Server, db: &str) {
    let personal = personal();
    let users = s.documents(db, "users");
    let orders = s.documents(db, "orders");
    assert_eq!(users.len(), USERS as usize);
    assert_eq!(orders.len(), 3 * USERS as usize);
    let scanned = assert_no_leak(&users, &personal) + assert_no_leak(&orders, &personal);
    assert!(scanned > 10 * USERS as usize, "{scanned} strings scanned");
    // No original `_id` of users is left, and every order still joins its user.
    let ids: BTreeMap<i32, Bson> = users
        .iter()
        .map(|u| (u.get_i32("seq").unwrap(), u.get("_id").unwrap().clone()))
        .collect();
    for i in 1..=USERS {
        assert_ne!(
            ids[&i],
            Bson::ObjectId(user_id(i)),
            "user {i}'s id is masked"
        );
    }
    let distinct: BTreeSet<String> = ids.values().map(|v| v.to_string()).collect();
    assert_eq!(distinct.len(), USERS as usize, "masked ids stay unique");
    for o in &orders {
        let user = o.get_i32("user_seq").unwrap();
        assert_eq!(
            o.get("user_id"),
            Some(&ids[&user]),
            "order {o} joins its user"
        );
    }
    // Birth dates moved, by at most 180 days; other values kept.
    for u in &users {
        let i = u.get_i32("seq").unwrap();
        let at = u
            .get_document("profile")
            .unwrap()
            .get_datetime("born")
            .unwrap()
            .timestamp_millis();
        let moved = (at - born(i).timestamp_millis()).abs();
        assert!(
            moved > 0 && moved <= 180 * 86_400_000,
            "user {i}: {moved} ms"
        );
        assert_eq!(
            u.get_str("tier").unwrap(),
            if i % 4 == 0 { "gold" } else { "basic" }
        );
    }
    assert_eq!(orders[0].get_f64("total").unwrap(), 1.5);
    // The free text kept its words, with every value replaced by what its own field became;
    // the same email is the same masked email in both collections.
    let mut consistent = 0;
    for u in &users {
        let profile = u.get_document("profile").unwrap();
        let (first, last) = (
            profile.get_str("firstName").unwrap(),
            profile.get_str("lastName").unwrap(),
        );
        let phone = u.get_array("phones").unwrap()[0].as_str().unwrap();
        let email = u.get_str("email").unwrap();
        let notes = u.get_str("notes").unwrap();
        if notes == format!("{first} {last} asked to be called on {phone} or mailed at {email}.") {
            consistent += 1;
        }
    }
    assert_eq!(consistent, USERS, "{}", users[0]);
    for o in &orders {
        let user = &users[o.get_i32("user_seq").unwrap() as usize - 1];
        assert_eq!(o.get_str("contact_email"), user.get_str("email"));
        let profile = user.get_document("profile").unwrap();
        let note = o.get_array("items").unwrap()[0]
            .as_document()
            .unwrap()
            .get_str("gift_note")
            .unwrap();
        assert_eq!(
            note,
            format!(
                "For {} {}, with love",
                profile.get_str("firstName").unwrap(),
                profile.get_str("lastName").unwrap()
            )
        );
    }
}

#[test]
fn mongo_masked_copy_has_no_original_value_and_keeps_joins() {
    let s = Server::with_source();
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, RULES).unwrap();
    let rules = rules.to_str().unwrap();
    let run = mask(
        Some(KEY),
        &[
            "--from",
            &s.url("app"),
            "--rules",
            rules,
            "--to",
            &s.url("m1"),
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["engine"], "mongo");
    let tables = report["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 2, "{}", run.stdout);
    let orders = tables.iter().find(|t| t["table"] == "db.orders").unwrap();
    assert_eq!(orders["rows"], 3 * USERS);
    assert_eq!(orders["columns"]["user_id"], "follows a masked _id");
    assert!(
        util::findings(&report, "unmasked_pii").is_empty(),
        "every personal field has a rule: {}",
        run.stdout
    );
    checks_the_copy(&s, "m1");

    // The same key gives the same documents; another key other ones.
    s.mask_into(KEY, rules, "m2");
    assert_eq!(s.documents("m1", "users"), s.documents("m2", "users"));
    assert_eq!(s.documents("m1", "orders"), s.documents("m2", "orders"));
    s.mask_into(OTHER_KEY, rules, "m3");
    let (a, c) = (s.documents("m1", "users"), s.documents("m3", "users"));
    for (x, y) in a.iter().zip(&c) {
        assert_ne!(x.get("_id"), y.get("_id"));
        assert_ne!(x.get_str("email"), y.get_str("email"));
        assert_ne!(x.get_str("notes"), y.get_str("notes"));
    }
    // The source was only read.
    assert_eq!(s.documents("app", "users"), users());
    s.server.stop();
}

#[test]
fn mongo_archives_in_and_out() {
    let s = Server::with_source();
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, RULES).unwrap();
    let rules = rules.to_str().unwrap();
    let archive = dir.path().join("masked.archive");
    let run = mask(
        Some(KEY),
        &[
            "--from",
            &s.url("app"),
            "--rules",
            rules,
            "--out",
            archive.to_str().unwrap(),
            "-q",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let bytes = std::fs::read(&archive).unwrap();
    assert_eq!(
        &bytes[..4],
        &[0x6d, 0xe2, 0x99, 0x81],
        "a mongodump archive"
    );
    let text = String::from_utf8_lossy(&bytes);
    for value in personal() {
        assert!(!text.contains(&value), "`{value}` is in the archive");
    }
    // The archive is read back as a source (restored into a disposable server): masking the
    // masked copy again with `keep` everywhere gives the same documents.
    let keep = dir.path().join("keep.toml");
    std::fs::write(&keep, "[users.tier]\ntransform = \"keep\"\n").unwrap();
    let run = mask(
        Some(KEY),
        &[
            "--from",
            archive.to_str().unwrap(),
            "--rules",
            keep.to_str().unwrap(),
            "--allow-unmasked",
            "--to",
            &s.url("back"),
            "-q",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    s.mask_into(KEY, rules, "m1");
    assert_eq!(s.documents("back", "users"), s.documents("m1", "users"));
    assert_eq!(s.documents("back", "orders"), s.documents("m1", "orders"));
    s.server.stop();
}

#[test]
fn mongo_detect_strict_and_the_detected_rules_by_default() {
    let s = Server::with_source();
    let run = mask(None, &["--from", &s.url("app"), "--detect"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for expected in [
        "[users.email]\ntransform = \"email\"",
        "[users.\"profile.firstName\"]",
        "[users.\"profile.lastName\"]",
        "[users.\"profile.born\"]\ntransform = \"noise\"",
        "[users.phones]",
        "[users.\"profile.home.address.street\"]",
        "[users.notes]\ntransform = \"scrub\"",
        "[orders.contact_email]",
        "[orders.\"items.gift_note\"]\ntransform = \"scrub\"",
    ] {
        assert!(
            run.stdout.contains(expected),
            "missing `{expected}` in\n{}",
            run.stdout
        );
    }
    assert!(!run.stdout.contains("[users.tier]"), "{}", run.stdout);

    // --strict: a personal field without a rule stops everything.
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        RULES.replace("[users.email]\ntransform = \"email\"", ""),
    )
    .unwrap();
    let run = mask(
        Some(KEY),
        &[
            "--from",
            &s.url("app"),
            "--rules",
            rules.to_str().unwrap(),
            "--to",
            &s.url("strict"),
            "--strict",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert!(
        util::findings(&report, "unmasked_pii")
            .iter()
            .any(|f| f["object"] == "db.users.email" && f["severity"] == "error"),
        "{}",
        run.stdout
    );
    assert!(s.collections("strict").is_empty(), "nothing written");

    // Bad input: a rule for a collection the source lacks (its line), a subset.
    std::fs::write(
        &rules,
        "[users.email]\ntransform = \"email\"\n\n[clients.email]\ntransform = \"email\"\n",
    )
    .unwrap();
    let run = mask(
        Some(KEY),
        &[
            "--from",
            &s.url("app"),
            "--rules",
            rules.to_str().unwrap(),
            "--to",
            &s.url("bad"),
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("rules.toml:4"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no collection for the rule [clients.email]"),
        "{}",
        run.stderr
    );
    let run = mask(
        Some(KEY),
        &[
            "--from",
            &s.url("app"),
            "--subset",
            "users:10%",
            "--to",
            &s.url("bad"),
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--subset"), "{}", run.stderr);
    assert!(s.collections("bad").is_empty(), "nothing written");

    // No rules at all: the detected ones apply, and nothing personal is copied.
    let run = mask(
        Some(KEY),
        &[
            "--from",
            &s.url("app"),
            "--to",
            &s.url("auto"),
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let personal = personal();
    assert_no_leak(&s.documents("auto", "users"), &personal);
    assert_no_leak(&s.documents("auto", "orders"), &personal);
    s.server.stop();
}

#[test]
fn mongo_hashed_string_ids_stay_unique_and_references_follow() {
    let server = util::servers::mongo();
    let rt = util::runtime();
    let client = rt
        .block_on(mongodb::Client::with_uri_str(server.url()))
        .unwrap();
    // 200 two-character ids: hashed letter by letter there are only 260 outputs, so many
    // collide and take the next keyed alternative.
    let ids: Vec<String> = (0..200)
        .map(|n| format!("{}{}", (b'a' + (n / 10) as u8) as char, n % 10))
        .collect();
    rt.block_on(async {
        let db = client.database("app");
        let accounts: Vec<Document> = ids
            .iter()
            .enumerate()
            .map(|(n, id)| doc! {"_id": id, "seq": n as i32})
            .collect();
        db.collection::<Document>("accounts")
            .insert_many(accounts)
            .await
            .unwrap();
        let logins: Vec<Document> = ids
            .iter()
            .enumerate()
            .map(|(n, id)| doc! {"_id": n as i32, "seq": n as i32, "account_id": id, "note": id})
            .collect();
        db.collection::<Document>("logins")
            .insert_many(logins)
            .await
            .unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, "[accounts._id]\ntransform = \"hash\"\n").unwrap();
    let url = |db: &str| server.url().replace("/?", &format!("/{db}?"));
    let run = mask(
        Some(KEY),
        &[
            "--from",
            &url("app"),
            "--rules",
            rules.to_str().unwrap(),
            "--to",
            &url("out"),
            "-q",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let read = |collection: &str| -> Vec<Document> {
        rt.block_on(async {
            let cursor = client
                .database("out")
                .collection::<Document>(collection)
                .find(doc! {})
                .sort(doc! {"seq": 1})
                .await
                .unwrap();
            cursor.try_collect().await.unwrap()
        })
    };
    let (accounts, logins) = (read("accounts"), read("logins"));
    assert_eq!(accounts.len(), 200);
    let masked: BTreeSet<&str> = accounts.iter().map(|a| a.get_str("_id").unwrap()).collect();
    assert_eq!(masked.len(), 200, "unique");
    let changed = accounts
        .iter()
        .zip(&ids)
        .filter(|(a, id)| a.get_str("_id").unwrap() != id.as_str())
        .count();
    assert!(changed > 150, "{changed} of 200 ids changed");
    for (a, l) in accounts.iter().zip(&logins) {
        assert_eq!(a.get("_id"), l.get("account_id"), "the reference follows");
        assert_eq!(
            l.get_str("note").unwrap().len(),
            2,
            "a field not named like a reference is kept"
        );
    }
    server.stop();
}
