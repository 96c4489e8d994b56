//! `driftless mask` against real PostgreSQL and MariaDB: no original personal data in any cell
//! of the copy, joins intact, unique keys unique, the schema identical, the same key giving the
//! same bytes, the source untouched, `--strict`, `--detect`, subsets and bad input.

mod util;

use std::collections::BTreeSet;
use std::path::PathBuf;

use sqlx::{Connection, Row};
use util::pg::Pg;
use util::{mask, runtime};

const KEY: &str = "test-masking-key-0123456789abcdef";
const OTHER_KEY: &str = "another-masking-key-9876543210";
const PG_RULES: &str = "tests/fixtures/postgres/masking.toml";
const MY_RULES: &str = "tests/fixtures/mysql/masking.toml";

impl Pg {
    /// The server with database `source` built from the mask fixture.
    fn with_source() -> Pg {
        let pg = Pg::start();
        pg.exec("postgres", "CREATE DATABASE source");
        let fixture =
            std::fs::read_to_string(util::repo().join("tests/fixtures/postgres/mask_source.sql"))
                .unwrap();
        pg.exec("source", &fixture);
        pg
    }

    /// Every row of the query, every value as text.
    fn rows(&self, db: &str, sql: &str) -> Vec<Vec<Option<String>>> {
        let url = self.url(db);
        self.runtime.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_all(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{e}: {sql}"));
            rows.iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| r.try_get::<Option<String>, _>(i).unwrap())
                        .collect()
                })
                .collect()
        })
    }

    fn count(&self, db: &str, sql: &str) -> i64 {
        self.rows(db, &format!("SELECT ({sql})::text"))[0][0]
            .as_ref()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Every table's rows as text, in key order: equal text means equal data.
    fn contents(&self, db: &str) -> String {
        ["audit_log", "customers", "notes", "orders"]
            .iter()
            .map(|t| {
                let rows = self.rows(db, &format!("SELECT t::text FROM {t} t ORDER BY id"));
                rows.into_iter()
                    .map(|r| r[0].clone().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect::<Vec<_>>()
            .join("\n--\n")
    }

    fn new_db(&self, db: &str) -> String {
        self.exec("postgres", &format!("CREATE DATABASE {db}"));
        self.url(db)
    }

    fn table_count(&self, db: &str) -> i64 {
        self.count(
            db,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
        )
    }
}

/// Every personal value of the source: the masked copy must contain none of them anywhere.
fn personal_values(pg: &Pg) -> BTreeSet<String> {
    let mut values = BTreeSet::new();
    for row in pg.rows(
        "source",
        "SELECT email, first_name, last_name, phone, ssn, iban, birth_date::text FROM customers",
    ) {
        values.extend(row.into_iter().flatten());
    }
    for row in pg.rows("source", "SELECT host(from_ip) FROM audit_log") {
        values.extend(row.into_iter().flatten());
    }
    // Birth dates repeat across people by chance, and the masked ones are shifted dates; they
    // are checked separately.
    values.retain(|v| !(v.len() == 10 && v.as_bytes()[4] == b'-'));
    values
}

#[test]
fn postgres_masked_copy_holds_no_original_pii_and_keeps_joins_and_schema() {
    let pg = Pg::with_source();
    let before = pg.contents("source");
    let target = pg.new_db("masked");
    let run = mask(
        Some(KEY),
        &[
            "--from",
            &pg.url("source"),
            "--rules",
            PG_RULES,
            "--to",
            &target,
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["command"], "mask");
    assert_eq!(report["tables"].as_array().unwrap().len(), 4);
    assert!(
        util::findings(&report, "schema_drift").is_empty(),
        "the copy's schema is the source's"
    );
    assert!(
        util::findings(&report, "unmasked_pii").is_empty(),
        "{}",
        run.stdout
    );

    // Scan every cell of every table of the copy.
    let personal = personal_values(&pg);
    assert!(personal.len() > 10_000);
    let mut cells = 0;
    for table in ["customers", "orders", "notes", "audit_log"] {
        for row in pg.rows("masked", &format!("SELECT t::text FROM {table} t")) {
            let text = row[0].clone().unwrap();
            cells += 1;
            for value in &personal {
                assert!(
                    !text.contains(value.as_str()),
                    "{table} still holds `{value}`: {text}"
                );
            }
        }
    }
    assert_eq!(cells, 2000 + 6000 + 1000 + 2000);

    // Joins still match row for row, through ids and through masked emails.
    let joined = "SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id AND c.email = o.customer_email";
    assert_eq!(pg.count("masked", joined), 6000);
    assert_eq!(
        pg.count(
            "masked",
            "SELECT count(*) FROM audit_log a JOIN customers c ON c.email = a.email"
        ),
        2000
    );
    assert_eq!(
        pg.count("masked", "SELECT count(DISTINCT email) FROM customers"),
        2000
    );
    assert_eq!(
        pg.count("masked", "SELECT count(DISTINCT ssn) FROM customers"),
        2000
    );
    // Birth dates moved by at most 180 days; other values kept.
    let moved = pg.count(
        "masked",
        "SELECT count(*) FROM customers WHERE birth_date < date '1950-01-01' - 180 OR birth_date > date '2004-10-01' + 180",
    );
    assert_eq!(moved, 0);
    assert_eq!(
        pg.count(
            "masked",
            "SELECT count(*) FROM customers WHERE tier = 'gold'"
        ),
        500,
        "shuffled, not changed"
    );
    let source_gold: BTreeSet<String> = pg
        .rows(
            "source",
            "SELECT id::text FROM customers WHERE tier = 'gold'",
        )
        .into_iter()
        .filter_map(|r| r[0].clone())
        .collect();
    let masked_gold: BTreeSet<String> = pg
        .rows(
            "masked",
            "SELECT id::text FROM customers WHERE tier = 'gold'",
        )
        .into_iter()
        .filter_map(|r| r[0].clone())
        .collect();
    assert!(
        source_gold.intersection(&masked_gold).count() < 250,
        "shuffled among the rows"
    );
    assert_eq!(
        pg.count(
            "masked",
            "SELECT count(*) FROM audit_log WHERE action = 'login by ' || email"
        ),
        2000,
        "templates use the masked values"
    );
    // Sequences continue after the copied ids.
    pg.exec("masked", "INSERT INTO notes (body) VALUES ('new')");
    assert_eq!(pg.count("masked", "SELECT max(id) FROM notes"), 1001);

    assert_eq!(pg.contents("source"), before, "the source is unchanged");
}

#[test]
fn postgres_same_key_same_bytes_other_key_other_values() {
    let pg = Pg::with_source();
    let url = pg.url("source");
    for (db, key) in [("a", KEY), ("b", KEY), ("c", OTHER_KEY)] {
        let target = pg.new_db(db);
        let run = mask(
            Some(key),
            &["--from", &url, "--rules", PG_RULES, "--to", &target, "-q"],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    assert_eq!(
        pg.contents("a"),
        pg.contents("b"),
        "the same key gives the same copy"
    );
    let a = pg.rows(
        "a",
        "SELECT email, phone, ssn, iban, first_name, last_name FROM customers ORDER BY id",
    );
    let c = pg.rows(
        "c",
        "SELECT email, phone, ssn, iban, first_name, last_name FROM customers ORDER BY id",
    );
    for column in 0..4 {
        let same = a
            .iter()
            .zip(&c)
            .filter(|(x, y)| x[column].is_some() && x[column] == y[column])
            .count();
        assert_eq!(same, 0, "column {column}: another key changes every value");
    }
    for column in 4..6 {
        let same = a
            .iter()
            .zip(&c)
            .filter(|(x, y)| x[column] == y[column])
            .count();
        assert!(
            same < 40,
            "names from a pool of thousands rarely coincide: {same} of 2000"
        );
    }
}

#[test]
fn postgres_strict_refuses_an_unmasked_email_and_writes_nothing() {
    let pg = Pg::with_source();
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    let text = std::fs::read_to_string(util::repo().join(PG_RULES)).unwrap();
    std::fs::write(
        &rules,
        text.replace("[customers.email]\ntransform = \"email\"", ""),
    )
    .unwrap();
    let target = pg.new_db("strict");
    let run = mask(
        Some(KEY),
        &[
            "--from",
            &pg.url("source"),
            "--rules",
            rules.to_str().unwrap(),
            "--to",
            &target,
            "--strict",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    let unmasked = util::findings(&report, "unmasked_pii");
    assert!(
        unmasked
            .iter()
            .any(|f| f["object"] == "public.customers.email" && f["severity"] == "error"),
        "{}",
        run.stdout
    );
    assert_eq!(pg.table_count("strict"), 0, "nothing written");
}

#[test]
fn postgres_detect_suggests_rules_with_evidence_and_subsets_keep_keys_valid() {
    let pg = Pg::with_source();
    let run = mask(None, &["--from", &pg.url("source"), "--detect"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for expected in [
        "[customers.email]\ntransform = \"email\"",
        "100% of 1000 sampled values look like email addresses",
        "[notes.body]\ntransform = \"scrub\"",
        "[customers.ssn]\ntransform = \"hash\"",
        "[orders.ship_to]",
    ] {
        assert!(
            run.stdout.contains(expected),
            "missing `{expected}` in\n{}",
            run.stdout
        );
    }
    assert!(
        !run.stdout.contains("[orders.customer_email]"),
        "a foreign key follows its parent"
    );

    let target = pg.new_db("subset");
    let run = mask(
        Some(KEY),
        &[
            "--from",
            &pg.url("source"),
            "--rules",
            PG_RULES,
            "--to",
            &target,
            "--subset",
            "customers:id <= 100",
            "-q",
        ],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(pg.count("subset", "SELECT count(*) FROM customers"), 100);
    assert_eq!(pg.count("subset", "SELECT count(*) FROM orders"), 300);
    assert_eq!(pg.count("subset", "SELECT count(*) FROM notes"), 50);
    assert_eq!(
        pg.count("subset", "SELECT count(*) FROM audit_log"),
        2000,
        "unrelated tables stay whole"
    );
}

#[test]
fn bad_input_is_a_clear_error_and_the_key_is_never_shown() {
    let pg = Pg::with_source();
    let run = mask(
        None,
        &[
            "--from",
            &pg.url("source"),
            "--rules",
            PG_RULES,
            "--out",
            "/tmp/never.dump",
        ],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("DRIFTLESS_MASK_KEY"), "{}", run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1);
    assert!(!PathBuf::from("/tmp/never.dump").exists());

    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[customers.email]\ntransform = \"email\"\n\n[customers.shoe_size]\ntransform = \"hash\"\n",
    )
    .unwrap();
    let target = pg.new_db("bad");
    let run = mask(
        Some(KEY),
        &[
            "--from",
            &pg.url("source"),
            "--rules",
            rules.to_str().unwrap(),
            "--to",
            &target,
            "--debug",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("rules.toml:4"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no column `shoe_size` in public.customers"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(KEY) && !run.stdout.contains(KEY));
    assert_eq!(pg.table_count("bad"), 0);

    std::fs::write(
        &rules,
        "[customers.email]\ntransform = \"noise\"\nrelative = 0.1\n",
    )
    .unwrap();
    let run = mask(
        Some(KEY),
        &[
            "--from",
            &pg.url("source"),
            "--rules",
            rules.to_str().unwrap(),
            "--to",
            &target,
        ],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("does not apply to a column of type character varying(120)"),
        "{}",
        run.stderr
    );
}

#[test]
fn mariadb_masked_copy_and_dump() {
    let server = util::servers::mariadb();
    let rt = runtime();
    drop(rt.block_on(server.connect()).expect("server answers"));
    let base = server.url();
    let root = base.rsplit_once('/').unwrap().0.to_string();
    let exec = |db: &str, sql: &str| {
        rt.block_on(async {
            let mut conn = sqlx::MySqlConnection::connect(&format!("{root}/{db}"))
                .await
                .unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&mut conn)
                .await
                .unwrap();
        })
    };
    let rows = |db: &str, sql: &str| -> Vec<Vec<Option<String>>> {
        rt.block_on(async {
            let mut conn = sqlx::MySqlConnection::connect(&format!("{root}/{db}"))
                .await
                .unwrap();
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_all(&mut conn)
                .await
                .unwrap();
            rows.iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| r.try_get::<Option<String>, _>(i).unwrap())
                        .collect()
                })
                .collect()
        })
    };
    exec("mysql", "CREATE DATABASE source; CREATE DATABASE masked");
    exec(
        "source",
        &std::fs::read_to_string(util::repo().join("tests/fixtures/mysql/mask_source.sql"))
            .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("masked.sql");
    let run = mask(
        Some(KEY),
        &[
            "--from",
            &format!("{root}/source"),
            "--rules",
            MY_RULES,
            "--to",
            &format!("{root}/masked"),
            "--out",
            dump.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert!(
        util::findings(&report, "schema_drift").is_empty(),
        "{}",
        run.stdout
    );
    let personal: BTreeSet<String> = rows(
        "source",
        "SELECT email, first_name, last_name, phone, ssn FROM customers",
    )
    .into_iter()
    .flatten()
    .flatten()
    .collect();
    for (table, columns) in [
        (
            "customers",
            "email, first_name, last_name, phone, ssn, CAST(birth_date AS CHAR)",
        ),
        ("orders", "customer_email"),
        ("notes", "body"),
    ] {
        for row in rows("masked", &format!("SELECT {columns} FROM {table}")) {
            for cell in row.into_iter().flatten() {
                for value in &personal {
                    assert!(
                        !cell.contains(value.as_str()),
                        "{table} still holds `{value}`"
                    );
                }
            }
        }
    }
    let joined = rows(
        "masked",
        "SELECT CAST(count(*) AS CHAR) FROM orders o JOIN customers c ON c.id = o.customer_id AND c.email = o.customer_email",
    );
    assert_eq!(joined[0][0].as_deref(), Some("3000"));
    let avatars = rows(
        "masked",
        "SELECT CAST(count(avatar) AS CHAR) FROM customers",
    );
    assert_eq!(avatars[0][0].as_deref(), Some("0"), "the null transformer");
    let text = std::fs::read_to_string(&dump).unwrap();
    assert!(text.contains("CREATE TABLE `customers`") && text.contains("INSERT INTO `orders`"));
    assert!(!text.contains("person1@corp1.example"));
    server.stop();
}

#[test]
fn the_shipped_rules_cover_the_demo_schema_seeded_by_driftless() {
    let pg = Pg::with_source();
    let url = pg.new_db("shop");
    let mut ups: Vec<PathBuf> =
        std::fs::read_dir(util::repo().join("migrations-under-test/postgres/clean"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(".up.sql"))
            .collect();
    ups.sort();
    for up in ups {
        pg.exec("shop", &std::fs::read_to_string(up).unwrap());
    }
    let seeded = util::driftless(&[
        "seed",
        "--url",
        &url,
        "--rows",
        "300",
        "--overrides",
        "fixtures/seed.toml",
    ]);
    assert_eq!(seeded.code, 0, "{}", seeded.stderr);
    let target = pg.new_db("shop_masked");
    let run = mask(
        Some(KEY),
        &[
            "--from",
            &url,
            "--rules",
            "fixtures/masking.toml",
            "--to",
            &target,
            "--strict",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["summary"]["errors"], 0);
    let users = pg.count("shop_masked", "SELECT count(*) FROM users");
    assert_eq!(users, pg.count("shop", "SELECT count(*) FROM users"));
}

/// The server with database `leaks` built from the fixture of German names, birth dates and
/// names in free text.
fn leaks_source() -> Pg {
    let pg = Pg::start();
    pg.exec("postgres", "CREATE DATABASE leaks");
    let fixture =
        std::fs::read_to_string(util::repo().join("tests/fixtures/postgres/mask_leaks.sql"))
            .unwrap();
    pg.exec("leaks", &fixture);
    pg
}

/// How many original personal values of `leaks` the copy `db` still holds anywhere, as a
/// whole cell or inside one, and how many birth dates are the originals.
fn leaked(pg: &Pg, db: &str) -> (usize, usize) {
    let mut personal = BTreeSet::new();
    for row in pg.rows(
        "leaks",
        "SELECT vorname, nachname, email, telefon, strasse, wohnort FROM kunden",
    ) {
        personal.extend(row.into_iter().flatten());
    }
    for row in pg.rows("leaks", "SELECT full_name FROM people") {
        personal.extend(row.into_iter().flatten());
    }
    // `Jörg1` is inside `Jörg12`: the longest first, so each leak counts once.
    let mut personal: Vec<String> = personal.into_iter().collect();
    personal.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let mut found = 0;
    for table in ["kunden", "people", "tickets"] {
        for row in pg.rows(db, &format!("SELECT t::text FROM {table} t")) {
            let text = row[0].clone().unwrap();
            if personal.iter().any(|v| text.contains(v.as_str())) {
                found += 1;
            }
        }
    }
    let dates = |db: &str, sql: &str| pg.rows(db, sql);
    let mut same = 0;
    for sql in [
        "SELECT id::text, geburtsdatum::text FROM kunden ORDER BY id",
        "SELECT id::text, born::text FROM people ORDER BY id",
    ] {
        let (a, b) = (dates("leaks", sql), dates(db, sql));
        assert_eq!(a.len(), b.len());
        same += a.iter().zip(&b).filter(|(x, y)| x == y).count();
    }
    (found, same)
}

#[test]
fn postgres_detected_rules_leak_nothing_birth_dates_german_names_and_names_in_text() {
    let pg = leaks_source();
    let run = mask(None, &["--from", &pg.url("leaks"), "--detect"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for expected in [
        "[kunden.vorname]",
        "[kunden.nachname]",
        "[kunden.telefon]",
        "[kunden.geburtsdatum]\ntransform = \"noise\"",
        "[kunden.strasse]",
        "[kunden.wohnort]",
        "[people.full_name]",
        "[people.born]\ntransform = \"noise\"",
        "[tickets.notiz]\ntransform = \"scrub\"",
    ] {
        assert!(
            run.stdout.contains(expected),
            "missing `{expected}` in\n{}",
            run.stdout
        );
    }
    assert!(!run.stdout.contains("[people.joined]"), "{}", run.stdout);
    assert!(!run.stdout.contains("[kunden.status]"), "{}", run.stdout);
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("detected.toml");
    std::fs::write(&rules, &run.stdout).unwrap();

    // With the suggested rules, --strict passes and nothing personal is left.
    let target = pg.new_db("with_rules");
    let run = mask(
        Some(KEY),
        &[
            "--from",
            &pg.url("leaks"),
            "--rules",
            rules.to_str().unwrap(),
            "--to",
            &target,
            "--strict",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(leaked(&pg, "with_rules"), (0, 0));
    // Names in the free text became the names their own columns got.
    let note = pg.rows(
        "with_rules",
        "SELECT t.notiz, k.vorname, k.nachname FROM tickets t JOIN kunden k ON k.id = t.kunde_id WHERE t.id = 2",
    );
    let (note, first, last) = (
        note[0][0].clone().unwrap(),
        note[0][1].clone().unwrap(),
        note[0][2].clone().unwrap(),
    );
    assert!(
        note.contains(&format!("{first} {last}")),
        "{note} names {first} {last}"
    );

    // No rules at all: --strict refuses, every personal column named …
    let target = pg.new_db("strict_none");
    let run = mask(
        Some(KEY),
        &[
            "--from",
            &pg.url("leaks"),
            "--to",
            &target,
            "--strict",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    let named: BTreeSet<String> = util::findings(&report, "unmasked_pii")
        .iter()
        .map(|f| f["object"].as_str().unwrap().to_string())
        .collect();
    for object in [
        "public.kunden.geburtsdatum",
        "public.people.born",
        "public.tickets.notiz",
    ] {
        assert!(named.contains(object), "{object} not in {named:?}");
    }
    assert_eq!(pg.table_count("strict_none"), 0);
    // … without --strict the detected rules apply …
    let target = pg.new_db("no_rules");
    let run = mask(
        Some(KEY),
        &["--from", &pg.url("leaks"), "--to", &target, "-q"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(leaked(&pg, "no_rules"), (0, 0));
    // … and --allow-unmasked copies them as they are, with a warning each.
    let target = pg.new_db("allowed");
    let run = mask(
        Some(KEY),
        &[
            "--from",
            &pg.url("leaks"),
            "--to",
            &target,
            "--allow-unmasked",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(util::findings(&run.json(), "unmasked_pii").len() >= 9);
    let (rows, dates) = leaked(&pg, "allowed");
    assert_eq!((rows, dates), (3000, 2000));
}
