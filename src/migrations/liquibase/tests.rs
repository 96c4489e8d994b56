//! Reading whole changelog folders: includes, sqlFiles, rollbacks, lines and errors.

use super::*;
use crate::migrations::pg_split as split;

fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = d.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    d
}

fn read_all(d: &tempfile::TempDir) -> Result<Vec<Migration>> {
    read(d.path(), split, None)
}

const FORMATTED: &str = "--liquibase formatted sql\n--changeset a:1\nCREATE TABLE t (id int);\n--rollback DROP TABLE t;\n";

#[test]
fn master_changelogs_include_formatted_files() {
    let d = folder(&[
        ("changes/001.sql", FORMATTED),
        (
            "db.changelog-master.xml",
            "<databaseChangeLog>\n  <includeAll path=\"changes\" relativeToChangelogFile=\"true\"/>\n</databaseChangeLog>\n",
        ),
        (
            "y/changelog-master.yaml",
            "databaseChangeLog:\n  - include:\n      file: ../changes/001.sql\n      relativeToChangelogFile: true\n",
        ),
    ]);
    let got = read_all(&d).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].version, "1");
    assert_eq!(got[0].down.as_ref().unwrap().statements[0].line, 4);
    let got = read(&d.path().join("y"), split, None).unwrap();
    assert_eq!(got.len(), 1);
}

#[test]
fn an_include_inside_a_comment_with_angle_brackets_is_not_followed() {
    let d = folder(&[
        ("kept.sql", FORMATTED),
        (
            "db.changelog-master.xml",
            "<databaseChangeLog>\n<!-- retired -> <include file=\"gone.sql\"/> -->\n<include file=\"kept.sql\"/>\n</databaseChangeLog>\n",
        ),
    ]);
    let got = read_all(&d).unwrap();
    assert_eq!(
        got.len(),
        1,
        "gone.sql does not exist: following it would fail"
    );
}

#[test]
fn xml_sql_bodies_keep_changelog_lines_and_sql_files_their_own() {
    let d = folder(&[
        (
            "sql/t.sql",
            "-- the table\nCREATE TABLE t (id int);\n\nCREATE INDEX t_id ON t (id);\n",
        ),
        ("sql/t_down.sql", "DROP TABLE t;\n"),
        (
            "master.xml",
            "<databaseChangeLog>\n\
             <changeSet id=\"1\" author=\"ann\">\n\
               <sqlFile path=\"sql/t.sql\"/>\n\
               <rollback><sqlFile path=\"t_down.sql\" relativeToChangelogFile=\"false\"/></rollback>\n\
             </changeSet>\n\
             <changeSet id=\"2\" author=\"ann\">\n\
               <sql>\n\
                 INSERT INTO t VALUES (1);\n\
                 INSERT INTO t VALUES (2);\n\
               </sql>\n\
               <sqlFile path=\"sql/t_down.sql\"/>\n\
               <rollback>DELETE FROM t;</rollback>\n\
             </changeSet>\n\
             </databaseChangeLog>\n",
        ),
    ]);
    let error = read_all(&d).unwrap_err().to_string();
    assert!(
        error.contains("master.xml:4: sqlFile `t_down.sql`"),
        "{error}"
    );
    let fixed = std::fs::read_to_string(d.path().join("master.xml"))
        .unwrap()
        .replace("path=\"t_down.sql\"", "path=\"sql/t_down.sql\"");
    std::fs::write(d.path().join("master.xml"), fixed).unwrap();
    let got = read_all(&d).unwrap();
    assert!(got[0].up.path.ends_with("sql/t.sql"));
    let lines: Vec<usize> = got[0].up.statements.iter().map(|s| s.line).collect();
    assert_eq!(lines, vec![2, 4], "lines of the sqlFile");
    assert!(
        got[0]
            .down
            .as_ref()
            .unwrap()
            .path
            .ends_with("sql/t_down.sql")
    );
    assert_eq!(got[0].declared_at.as_ref().unwrap().1, 2);
    // Inline SQL and a sqlFile: the changelog is the file, the sqlFile's statement sits at
    // its element.
    assert!(got[1].up.path.ends_with("master.xml"));
    let lines: Vec<usize> = got[1].up.statements.iter().map(|s| s.line).collect();
    assert_eq!(lines, vec![8, 9, 11]);
    assert_eq!(got[1].down.as_ref().unwrap().statements[0].line, 12);
}

#[test]
fn yaml_and_json_changelogs_with_options_and_rollbacks() {
    let d = folder(&[
        (
            "db.changelog-master.yaml",
            "databaseChangeLog:\n  - include:\n      file: more.json\n  - changeSet:\n      id: fn\n      author: bob\n      runInTransaction: false\n      changes:\n        - sql:\n            splitStatements: false\n            sql: |\n              CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\n      rollback:\n        - sql:\n            sql: DROP FUNCTION f()\n",
        ),
        (
            "more.json",
            "{\"databaseChangeLog\": [\n  {\"changeSet\": {\"id\": \"2\", \"author\": \"ann\",\n    \"changes\": [{\"sql\": {\"sql\": \"CREATE TABLE j (id int);\\nCREATE TABLE k (id int);\"}}],\n    \"rollback\": \"DROP TABLE k; DROP TABLE j;\"}},\n  {\"changeSet\": {\"id\": \"3\", \"author\": \"ann\", \"changes\": [{\"tagDatabase\": {\"tag\": \"v1\"}}],\n    \"rollback\": {\"changeSetId\": \"2\", \"changeSetAuthor\": \"ann\"}}}\n]}\n",
        ),
    ]);
    let got = read_all(&d).unwrap();
    let ids: Vec<&str> = got.iter().map(|m| m.version.as_str()).collect();
    assert_eq!(ids, vec!["2", "3", "fn"]);
    let json = &got[0];
    assert_eq!(json.up.statements.len(), 2);
    assert!(
        json.up.statements.iter().all(|s| s.line == 3),
        "one JSON line"
    );
    assert_eq!(json.down.as_ref().unwrap().statements.len(), 2);
    assert!(got[1].up.is_empty(), "tagDatabase runs nothing");
    assert_eq!(
        got[1].down.as_ref().unwrap().statements.len(),
        2,
        "changeSet 2's changes"
    );
    let function = &got[2];
    assert_eq!(function.up.statements.len(), 1);
    assert_eq!(function.up.statements[0].line, 12);
    assert!(!function.up.transactional);
    assert_eq!(function.down.as_ref().unwrap().statements[0].line, 15);
}

#[test]
fn generated_change_types_are_input_errors_at_their_line() {
    let d = folder(&[(
        "master.xml",
        "<databaseChangeLog>\n  <changeSet id=\"users\" author=\"bob\">\n    <createTable tableName=\"users\">\n      <column name=\"id\" type=\"int\"/>\n    </createTable>\n  </changeSet>\n</databaseChangeLog>\n",
    )]);
    match read_all(&d) {
        Err(Error::InputAt {
            path,
            line,
            message,
        }) => {
            assert!(path.ends_with("master.xml"));
            assert_eq!(line, 3);
            assert!(
                message.contains("`users`") && message.contains("`bob`"),
                "{message}"
            );
            assert!(message.contains("createTable"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn include_cycles_and_missing_files_name_the_include() {
    let d = folder(&[
        (
            "master.xml",
            "<databaseChangeLog>\n<include file=\"b.yaml\"/>\n</databaseChangeLog>\n",
        ),
        (
            "b.yaml",
            "databaseChangeLog:\n  - include:\n      file: master.xml\n",
        ),
    ]);
    let error = read_all(&d).unwrap_err().to_string();
    assert!(
        error.contains("b.yaml:2:") && error.contains("cycle"),
        "{error}"
    );
    let d = folder(&[(
        "master.xml",
        "<databaseChangeLog>\n\n<include file=\"nope.sql\"/>\n</databaseChangeLog>\n",
    )]);
    let error = read_all(&d).unwrap_err().to_string();
    assert!(
        error.contains("master.xml:3: include `nope.sql`"),
        "{error}"
    );
}

#[test]
fn plain_sql_files_are_raw_change_sets_and_dbms_filters_apply() {
    let d = folder(&[
        ("all/01_plain.sql", "CREATE TABLE p (id int);\n"),
        (
            "master.xml",
            "<databaseChangeLog>\n<includeAll path=\"all\"/>\n<changeSet id=\"m\" author=\"a\" dbms=\"mysql\"><sql>SELECT 1</sql></changeSet>\n<changeSet id=\"p\" author=\"a\"><sql dbms=\"!postgresql\">SELECT 1</sql><sql>SELECT 2</sql></changeSet>\n</databaseChangeLog>\n",
        ),
    ]);
    let got = read_all(&d).unwrap();
    assert_eq!(
        (got[0].version.as_str(), got[0].name.as_str()),
        ("raw", "includeAll")
    );
    assert_eq!(got.len(), 3);
    let got = read(d.path(), split, Some(&["postgresql"])).unwrap();
    let ids: Vec<&str> = got.iter().map(|m| m.version.as_str()).collect();
    assert_eq!(ids, vec!["raw", "p"]);
    assert_eq!(got[1].up.statements.len(), 1);
    assert_eq!(got[1].up.statements[0].sql, "SELECT 2");
}
