use std::path::PathBuf;

use super::*;
use crate::migrations::{Directives, Script, Statement};

/// Migrations whose ups are `ups`, statements split at `;`.
fn history(ups: &[&str]) -> Vec<Migration> {
    ups.iter()
        .enumerate()
        .map(|(i, up)| {
            let statements = up
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|sql| Statement {
                    sql: sql.to_string(),
                    line: 1,
                    ..Statement::default()
                })
                .collect();
            let script = Script {
                path: PathBuf::from(format!("{i}.up.sql")),
                statements,
                transactional: true,
                whole: false,
                refused: None,
                directives: Directives::default(),
                blank: up.trim().is_empty(),
            };
            Migration::new(format!("{i}"), format!("m{i}"), script)
        })
        .collect()
}

fn pg(ups: &[&str]) -> Vec<Demands> {
    collect(&history(ups), Dialect::Postgres)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn unique_indexes_partial_expression_and_composite_become_unique_keys() {
    let d = pg(&[
        "CREATE TABLE tags (id serial, name text, tenant_id int, deleted_at timestamptz)",
        "CREATE UNIQUE INDEX tags_name ON tags (lower(name)) WHERE deleted_at IS NULL",
        "ALTER TABLE tags ADD CONSTRAINT tags_pair UNIQUE (tenant_id, name); \
         CREATE INDEX tags_plain ON tags (tenant_id)",
    ]);
    // Before the table exists nothing can be demanded of it.
    assert!(d[0].table("tags").is_none());
    let tags = d[1].table("tags").unwrap();
    assert_eq!(
        tags.unique,
        vec![strings(&["name"]), strings(&["tenant_id", "name"])]
    );
    // What migration 2 demands is all that is left before it.
    assert_eq!(
        d[2].table("tags").unwrap().unique,
        vec![strings(&["tenant_id", "name"])]
    );
}

#[test]
fn demands_follow_renames_back_to_the_names_at_the_seeding_point() {
    let d = pg(&[
        "CREATE TABLE posts (id int, body text, author int)",
        "ALTER TABLE posts RENAME TO articles; ALTER TABLE articles RENAME COLUMN body TO content",
        "ALTER TABLE articles ALTER COLUMN content SET NOT NULL; \
         ALTER TABLE articles ADD CONSTRAINT positive CHECK (length(content) > 3 AND author > 0); \
         CREATE UNIQUE INDEX ON articles (content)",
    ]);
    let before_rename = d[1].table("posts").unwrap();
    assert!(d[1].table("articles").is_none());
    assert!(before_rename.not_null.contains("body"));
    assert_eq!(before_rename.unique, vec![strings(&["body"])]);
    assert_eq!(
        before_rename.checks,
        vec!["CHECK (length(\"body\") > 3 AND author > 0)".to_string()]
    );
    // The CHECK, renamed back, still reads as rules for the old column.
    let table = crate::schema::Table {
        schema: "public".into(),
        name: "posts".into(),
        columns: Vec::new(),
        primary_key: Vec::new(),
        unique_keys: Vec::new(),
        foreign_keys: Vec::new(),
        checks: before_rename.checks.clone(),
        holds_rows: true,
        seed_directly: true,
        partitioning: None,
    };
    assert_eq!(crate::seed::rules_for(&table, "body").min_len, Some(4));
    let after = d[2].table("articles").unwrap();
    assert!(after.not_null.contains("content"));
}

#[test]
fn using_casts_name_the_type_the_text_must_cast_to() {
    let d = pg(&[
        "CREATE TABLE events (id int, payload text, n text, at text, flag text, ref text, x text)",
        "ALTER TABLE events ALTER COLUMN payload TYPE jsonb USING payload::jsonb; \
         ALTER TABLE events ALTER COLUMN n SET DATA TYPE bigint USING (nullif(trim(n), '')::integer); \
         ALTER TABLE events ALTER COLUMN at TYPE timestamptz USING at::text::timestamptz; \
         ALTER TABLE events ALTER COLUMN flag TYPE boolean USING flag::boolean, \
                            ALTER COLUMN ref TYPE uuid USING ref::uuid; \
         ALTER TABLE events ALTER COLUMN x TYPE integer USING length(x)",
    ]);
    let casts = &d[1].table("events").unwrap().casts;
    assert_eq!(casts["payload"].kind, ColumnKind::Json);
    assert_eq!(
        casts["n"].kind,
        ColumnKind::Int {
            bytes: 4,
            unsigned: false
        },
        "the USING cast decides, not the column's new type"
    );
    assert!(matches!(
        casts["at"].kind,
        ColumnKind::Timestamp { tz: true, .. }
    ));
    assert_eq!(casts["flag"].kind, ColumnKind::Bool);
    assert_eq!(casts["ref"].kind, ColumnKind::Uuid);
    assert!(
        !casts.contains_key("x"),
        "an expression decides what text it accepts"
    );
}

#[test]
fn mysql_modify_change_prefix_keys_and_rename_table() {
    let d = collect(
        &history(&[
            "CREATE TABLE Items (id INT PRIMARY KEY, Title VARCHAR(200), flag VARCHAR(5), doc TEXT)",
            "RENAME TABLE Items TO goods",
            "ALTER TABLE goods CHANGE COLUMN title name VARCHAR(200) NOT NULL, \
             MODIFY flag BOOLEAN, MODIFY doc JSON; \
             ALTER TABLE `goods` ADD UNIQUE KEY u (name(10))",
        ]),
        Dialect::MySql,
    );
    let items = d[1]
        .table("Items")
        .expect("MySQL names compare without case");
    assert!(items.not_null.contains("title"));
    assert_eq!(items.unique, vec![strings(&["title"])]);
    assert_eq!(items.prefixes["title"], 10);
    assert_eq!(items.casts["flag"].allowed, Some(strings(&["0", "1"])));
    assert_eq!(items.casts["doc"].kind, ColumnKind::Json);
    // Before the CHANGE the column is still `title`.
    assert!(d[2].table("goods").unwrap().not_null.contains("title"));
}

#[test]
fn foreign_keys_to_tables_created_later_accept_only_null() {
    let d = pg(&[
        "CREATE TABLE orders (id int, customer_id int, region text)",
        "CREATE TABLE customers (id int PRIMARY KEY)",
        "ALTER TABLE orders ADD CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id); \
         ALTER TABLE orders ADD FOREIGN KEY (region) REFERENCES regions",
    ]);
    let later = d[2].table("orders").unwrap();
    assert_eq!(later.foreign_keys.len(), 2);
    assert_eq!(later.foreign_keys[0].parent, "customers");
    assert_eq!(
        later.foreign_keys[0].name.as_deref(),
        Some("orders_customer")
    );
    assert!(later.foreign_keys[1].parent_columns.is_empty());
    // Before `customers` exists, its key can only be NULL; `regions` is never created here,
    // so that is decided against the schema at the seeding point.
    let before = d[1].table("orders").unwrap();
    assert_eq!(before.orphans, ["customer_id".to_string()].into());
    assert_eq!(before.foreign_keys.len(), 1);
}

#[test]
fn not_valid_constraints_count_only_once_validated() {
    let d = pg(&[
        "CREATE TABLE t (id int, a int, b int)",
        "ALTER TABLE t ADD CONSTRAINT a_pos CHECK (a > 0) NOT VALID; \
         ALTER TABLE t ADD CONSTRAINT b_pos CHECK (b > 0) NOT VALID",
        "ALTER TABLE t VALIDATE CONSTRAINT b_pos",
    ]);
    assert_eq!(
        d[1].table("t").unwrap().checks,
        vec!["CHECK (b > 0)".to_string()]
    );
}

#[test]
fn foreign_keys_added_not_valid_count_once_validated() {
    let d = pg(&[
        "CREATE TABLE users (id int PRIMARY KEY); CREATE TABLE emails (id int, user_id int, other_id int)",
        "ALTER TABLE \"emails\" ADD CONSTRAINT \"fk_user\" FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID; \
         ALTER TABLE emails ADD CONSTRAINT fk_other FOREIGN KEY (other_id) REFERENCES users (id) NOT VALID",
        "ALTER TABLE emails VALIDATE CONSTRAINT fk_user",
    ]);
    let keys = &d[1].table("emails").unwrap().foreign_keys;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0].columns, strings(&["user_id"]));
}

#[test]
fn unique_indexes_promoted_to_constraints_later_are_keys_and_primary_keys_not_null() {
    let d = pg(&[
        "CREATE TABLE d (code int, name text, slug text)",
        "CREATE UNIQUE INDEX CONCURRENTLY d_code_idx ON d (code)",
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS d_slug_idx ON d (slug)",
        "ALTER TABLE d ADD CONSTRAINT d_pkey PRIMARY KEY USING INDEX d_code_idx; \
         ALTER TABLE d ADD CONSTRAINT d_slug_key UNIQUE USING INDEX d_slug_idx",
    ]);
    let t = d[1].table("d").unwrap();
    assert_eq!(t.unique, vec![strings(&["code"]), strings(&["slug"])]);
    assert_eq!(t.not_null, ["code".to_string()].into());
}

#[test]
fn columns_added_later_and_unreadable_statements_demand_nothing() {
    let d = pg(&[
        "CREATE TABLE t (id int, old_code text)",
        "ALTER TABLE t ADD COLUMN code text NOT NULL DEFAULT ''; \
         THIS IS NOT SQL AT ALL; \
         CREATE UNIQUE INDEX ON t (code); ALTER TABLE t ALTER COLUMN code SET NOT NULL; \
         CREATE UNIQUE INDEX ON t (old_code)",
    ]);
    let t = d[1].table("t").unwrap();
    assert_eq!(t.unique, vec![strings(&["old_code"])]);
    assert!(t.not_null.is_empty());
}

#[test]
fn primary_keys_added_later_are_unique_and_not_null() {
    let d = pg(&[
        "CREATE TABLE t (a int, b int)",
        "ALTER TABLE ONLY t ADD PRIMARY KEY (a, b)",
    ]);
    let t = d[1].table("t").unwrap();
    assert_eq!(t.unique, vec![strings(&["a", "b"])]);
    assert_eq!(t.not_null, ["a".to_string(), "b".to_string()].into());
}

#[test]
fn unique_indexes_the_tables_cannot_say_are_read_from_the_schema() {
    let mut schema = SchemaSnapshot::default();
    let index = |name: &str, definition: &str| crate::schema::SchemaObject {
        kind: "index".into(),
        reference: format!("public.{name}"),
        table: Some("tags".into()),
        text: format!("index public.{name}\n  {definition}\n"),
    };
    schema.objects.insert(
        "6 index public.tags_name".into(),
        index(
            "tags_name",
            "CREATE UNIQUE INDEX tags_name ON public.tags USING btree (lower(name)) \
             WHERE (deleted_at IS NULL)",
        ),
    );
    schema.objects.insert(
        "6 index public.tags_tenant".into(),
        index(
            "tags_tenant",
            "CREATE INDEX tags_tenant ON public.tags USING btree (tenant_id)",
        ),
    );
    let d = Demands::in_schema(&schema, Dialect::Postgres);
    assert_eq!(d.table("tags").unwrap().unique, vec![strings(&["name"])]);
}
