//! What an XML, YAML or JSON changelog says, from its [`Node`]s: includes, includeAlls and
//! changeSets with their `sql` / `sqlFile` changes and rollbacks, in file order.
//!
//! Change types that Liquibase turns into SQL with its own generator (`createTable`,
//! `addColumn`, …) cannot be run by driftless: they are input errors naming the changeSet and
//! the line, never silently skipped.

use std::path::Path;

use super::node::{Node, Text};
use super::sql::SqlOptions;
use crate::migrations::display_path;
use crate::{Error, Result};

/// A top-level entry of a changelog.
#[derive(Debug)]
pub enum Entry {
    Include {
        file: String,
        relative: bool,
        line: usize,
    },
    IncludeAll {
        path: String,
        relative: bool,
        error_if_empty: bool,
        line: usize,
    },
    ChangeSet(ChangeSet),
}

#[derive(Debug)]
pub struct ChangeSet {
    pub id: String,
    pub author: String,
    pub line: usize,
    pub run_in_transaction: bool,
    pub dbms: Option<String>,
    pub changes: Vec<Change>,
    pub rollback: Option<Rollback>,
}

/// A change driftless can run.
#[derive(Debug)]
pub enum Change {
    Sql {
        text: Text,
        options: SqlOptions,
        dbms: Option<String>,
        line: usize,
    },
    SqlFile {
        path: String,
        relative: bool,
        options: SqlOptions,
        dbms: Option<String>,
        line: usize,
    },
}

#[derive(Debug)]
pub enum Rollback {
    /// Inline SQL and `sql` / `sqlFile` changes (none: an empty rollback).
    Changes(Vec<Change>),
    /// `changeSetId` / `changeSetAuthor`: undo by running another changeSet's changes.
    Of {
        id: String,
        author: Option<String>,
        line: usize,
    },
}

/// Changes that touch nothing driftless compares (Liquibase's own bookkeeping, messages).
const NO_OPS: &[&str] = &["tagDatabase", "empty", "output"];
/// Children of a changeSet that are not changes.
const METADATA: &[&str] = &["comment", "preConditions", "validCheckSum", "rollback"];

/// The entries of the changelog whose root element is `root`, read from `file`.
pub fn entries(root: &Node, file: &Path) -> Result<Vec<Entry>> {
    if root.name != "databaseChangeLog" {
        return Err(at(file, root.line, "the root must be `databaseChangeLog`"));
    }
    let mut entries = Vec::new();
    for node in &root.children {
        let required = |name: &str| {
            node.field(name).map(str::to_string).ok_or_else(|| {
                at(
                    file,
                    node.line,
                    &format!("`{}` without `{name}`", node.name),
                )
            })
        };
        match node.name.as_str() {
            "include" => entries.push(Entry::Include {
                file: required("file")?,
                relative: node.flag("relativeToChangelogFile", false),
                line: node.line,
            }),
            "includeAll" => entries.push(Entry::IncludeAll {
                path: required("path")?,
                relative: node.flag("relativeToChangelogFile", false),
                error_if_empty: node.flag("errorIfMissingOrEmpty", true),
                line: node.line,
            }),
            "changeSet" => entries.push(Entry::ChangeSet(change_set(node, file)?)),
            _ => {}
        }
    }
    Ok(entries)
}

fn change_set(node: &Node, file: &Path) -> Result<ChangeSet> {
    let id = node
        .field("id")
        .ok_or_else(|| at(file, node.line, "changeSet without an `id`"))?;
    let mut change_set = ChangeSet {
        id: id.to_string(),
        author: node.field("author").unwrap_or_default().to_string(),
        line: node.line,
        run_in_transaction: node.flag("runInTransaction", true),
        dbms: node.field("dbms").map(str::to_string),
        changes: Vec::new(),
        rollback: node
            .field_text("rollback")
            .map(|text| Rollback::Changes(inline(text, node.line).into_iter().collect())),
    };
    for child in &node.children {
        if child.name == "rollback" {
            change_set.rollback = Some(rollback(child, &change_set, file)?);
        } else if !METADATA.contains(&child.name.as_str()) {
            change_set.changes.extend(change(child, &change_set, file)?);
        }
    }
    Ok(change_set)
}

/// A change driftless runs, nothing for a no-op, an error for a generated change type.
fn change(node: &Node, owner: &ChangeSet, file: &Path) -> Result<Option<Change>> {
    let options = SqlOptions {
        split_statements: node.flag("splitStatements", true),
        strip_comments: node.flag("stripComments", false),
        end_delimiter: node.field("endDelimiter").map(str::to_string),
    };
    let dbms = node.field("dbms").map(str::to_string);
    match node.name.as_str() {
        "sql" => Ok(Some(Change::Sql {
            text: node
                .text
                .clone()
                .or_else(|| node.field_text("sql").cloned())
                .unwrap_or_else(|| Text {
                    body: String::new(),
                    line: node.line,
                    exact: true,
                }),
            options,
            dbms,
            line: node.line,
        })),
        "sqlFile" => Ok(Some(Change::SqlFile {
            path: node
                .field("path")
                .ok_or_else(|| at(file, node.line, "`sqlFile` without `path`"))?
                .to_string(),
            relative: node.flag("relativeToChangelogFile", false),
            options,
            dbms,
            line: node.line,
        })),
        name if NO_OPS.contains(&name) => Ok(None),
        name => Err(at(
            file,
            node.line,
            &format!(
                "changeSet `{}` (author `{}`): `{name}` is generated into SQL by Liquibase \
                 itself, which driftless cannot do; it runs `sql` and `sqlFile` changes \
                 (`liquibase update-sql` prints the SQL to put in an `sql` change)",
                owner.id, owner.author
            ),
        )),
    }
}

fn rollback(node: &Node, owner: &ChangeSet, file: &Path) -> Result<Rollback> {
    if let Some(id) = node.field("changeSetId") {
        return Ok(Rollback::Of {
            id: id.to_string(),
            author: node.field("changeSetAuthor").map(str::to_string),
            line: node.line,
        });
    }
    let mut changes: Vec<Change> = node
        .text
        .as_ref()
        .and_then(|t| inline(t, node.line))
        .into_iter()
        .collect();
    for child in &node.children {
        if !METADATA.contains(&child.name.as_str()) {
            changes.extend(change(child, owner, file)?);
        }
    }
    Ok(Rollback::Changes(changes))
}

/// Rollback SQL written inline, unless it is only white space.
fn inline(text: &Text, line: usize) -> Option<Change> {
    (!text.body.trim().is_empty()).then(|| Change::Sql {
        text: text.clone(),
        options: SqlOptions::default(),
        dbms: None,
        line,
    })
}

fn at(file: &Path, line: usize, message: &str) -> Error {
    Error::InputAt {
        path: display_path(file),
        line,
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::liquibase::{tree, xml};

    #[test]
    fn xml_change_sets_with_changes_and_rollbacks() {
        let root = xml::parse(
            "<databaseChangeLog>\n<include file=\"a.sql\" relativeToChangelogFile=\"true\"/>\n\
             <changeSet id=\"1\" author=\"ann\" runInTransaction=\"false\">\n\
             <comment>why</comment>\n<tagDatabase tag=\"v1\"/>\n\
             <sql splitStatements=\"false\" dbms=\"postgresql\">SELECT 1</sql>\n\
             <sqlFile path=\"b.sql\"/>\n<rollback>DROP TABLE t;</rollback>\n</changeSet>\n\
             <changeSet id=\"2\" author=\"ann\"><rollback changeSetId=\"1\" changeSetAuthor=\"ann\"/></changeSet>\n\
             </databaseChangeLog>",
        )
        .unwrap();
        let got = entries(&root, Path::new("m.xml")).unwrap();
        assert!(
            matches!(&got[0], Entry::Include { file, relative: true, line: 2 } if file == "a.sql")
        );
        let Entry::ChangeSet(one) = &got[1] else {
            panic!("{got:?}")
        };
        assert_eq!(
            (one.id.as_str(), one.line, one.run_in_transaction),
            ("1", 3, false)
        );
        assert_eq!(one.changes.len(), 2);
        assert!(
            matches!(&one.changes[0], Change::Sql { options, dbms: Some(_), line: 6, .. } if !options.split_statements)
        );
        assert!(matches!(&one.rollback, Some(Rollback::Changes(c)) if c.len() == 1));
        let Entry::ChangeSet(two) = &got[2] else {
            panic!("{got:?}")
        };
        assert!(matches!(&two.rollback, Some(Rollback::Of { id, .. }) if id == "1"));
    }

    #[test]
    fn generated_change_types_name_change_set_and_line() {
        let root = tree::parse(
            "databaseChangeLog:\n  - changeSet:\n      id: users\n      author: bob\n      changes:\n        - createTable:\n            tableName: users\n",
        )
        .unwrap();
        match entries(&root, Path::new("c.yaml")) {
            Err(Error::InputAt { line, message, .. }) => {
                assert_eq!(line, 6);
                assert!(
                    message.contains("changeSet `users` (author `bob`)"),
                    "{message}"
                );
                assert!(message.contains("`createTable`"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn empty_rollback_is_an_empty_list() {
        let root = xml::parse(
            "<databaseChangeLog><changeSet id=\"1\" author=\"a\"><sql>SELECT 1</sql><rollback/></changeSet></databaseChangeLog>",
        )
        .unwrap();
        let got = entries(&root, Path::new("m.xml")).unwrap();
        let Entry::ChangeSet(one) = &got[0] else {
            panic!()
        };
        assert!(matches!(&one.rollback, Some(Rollback::Changes(c)) if c.is_empty()));
    }
}
