//! YAML and JSON changelogs into [`Node`]s, on saphyr (JSON is YAML to it, and its marked
//! nodes carry lines). Scalars are taken as written (`id: 1.10` is "1.10"), never as numbers.
//!
//! Liquibase's YAML/JSON shape maps onto elements like this: in a mapping, a scalar is a field
//! and a mapping or list is a child element named by its key; a list item `- sql: {…}` is an
//! element; the items of `changes` are children of the changeSet itself, as in XML.

use saphyr::{MarkedYaml, ScalarStyle, YamlData, YamlLoader};

use super::node::{Node, Text};

/// Why a file is not a YAML (or JSON) document, at a 1-based line.
#[derive(Debug, PartialEq, Eq)]
pub struct TreeError {
    pub line: usize,
    pub message: String,
}

/// The document's top-level key (`databaseChangeLog`) as the root element.
pub fn parse(text: &str) -> Result<Node, TreeError> {
    let mut parser = saphyr_parser::Parser::new_from_str(text);
    let mut loader: YamlLoader<MarkedYaml> = YamlLoader::default();
    loader.early_parse(false);
    let scan_error = |e: &saphyr::ScanError| TreeError {
        line: e.marker().line().max(1),
        message: e.info().to_string(),
    };
    parser
        .load(&mut loader, false)
        .map_err(|e| scan_error(&e))?;
    if let Some(e) = loader.error() {
        return Err(scan_error(e));
    }
    let document = loader.into_documents().into_iter().next();
    let top = match document.as_ref().map(|d| &d.data) {
        Some(YamlData::Mapping(map)) => map
            .iter()
            .find(|(key, _)| scalar(key).body == "databaseChangeLog")
            .or_else(|| map.iter().next()),
        _ => None,
    };
    let (key, value) = top.ok_or_else(|| TreeError {
        line: 1,
        message: "expected a mapping with `databaseChangeLog`".into(),
    })?;
    Ok(element(&scalar(key).body, key.span.start.line(), value))
}

/// A scalar as text; a literal block (`|`) keeps the lines of the file.
fn scalar(node: &MarkedYaml) -> Text {
    let (body, style) = match &node.data {
        YamlData::Representation(body, style, _) => (body.to_string(), *style),
        _ => (String::new(), ScalarStyle::Plain),
    };
    let line = node.span.start.line();
    if style == ScalarStyle::Literal {
        // The span starts at the first line with content; leading empty lines come before it.
        let leading = body.len() - body.trim_start_matches('\n').len();
        return Text {
            line: line.saturating_sub(leading).max(1),
            body,
            exact: true,
        };
    }
    // A plain or quoted scalar keeps its lines only when it has one; a folded one never.
    let exact = style != ScalarStyle::Folded && !body.contains('\n');
    Text { body, line, exact }
}

fn is_scalar(node: &MarkedYaml) -> bool {
    matches!(node.data, YamlData::Representation(..))
}

/// The element `name` whose value is `value`, declared at `line`.
fn element(name: &str, line: usize, value: &MarkedYaml) -> Node {
    let mut node = Node::new(name, line);
    match &value.data {
        YamlData::Mapping(map) => {
            for (key, item) in map {
                let key_text = scalar(key).body;
                if is_scalar(item) {
                    node.fields.push((key_text, scalar(item)));
                } else if key_text == "changes" {
                    node.children.extend(items(item));
                } else {
                    node.children
                        .push(element(&key_text, key.span.start.line(), item));
                }
            }
        }
        YamlData::Sequence(_) => node.children.extend(items(value)),
        YamlData::Representation(..) => node.text = Some(scalar(value)),
        _ => {}
    }
    node
}

/// The elements of a list whose items are one-key mappings (`- changeSet: {…}`).
fn items(list: &MarkedYaml) -> Vec<Node> {
    let YamlData::Sequence(items) = &list.data else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| match &item.data {
            YamlData::Mapping(map) => Some(map),
            _ => None,
        })
        .flat_map(|map| map.iter())
        .map(|(key, value)| element(&scalar(key).body, key.span.start.line(), value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_changes_are_children_and_literal_blocks_keep_lines() {
        let root = parse(
            "databaseChangeLog:\n  - changeSet:\n      id: 1.10\n      author: ann\n      changes:\n        - sql:\n            splitStatements: false\n            sql: |\n\n              CREATE TABLE a (id int);\n        - createTable:\n            tableName: b\n      rollback: DROP TABLE a\n",
        )
        .unwrap();
        assert_eq!(root.name, "databaseChangeLog");
        let change_set = &root.children[0];
        assert_eq!(
            (change_set.name.as_str(), change_set.line),
            ("changeSet", 2)
        );
        assert_eq!(change_set.field("id"), Some("1.10"));
        let names: Vec<&str> = change_set
            .children
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, vec!["sql", "createTable"]);
        assert_eq!(change_set.children[1].line, 11);
        let sql = change_set.children[0].field_text("sql").unwrap();
        assert!(sql.exact);
        assert_eq!(sql.line + 1, 10, "the CREATE is on line 10");
        assert!(!change_set.children[0].flag("splitStatements", true));
        assert_eq!(change_set.field("rollback"), Some("DROP TABLE a"));
    }

    #[test]
    fn json_with_tabs_and_escaped_line_breaks() {
        let root = parse(
            "{\n\t\"databaseChangeLog\": [\n\t\t{\"changeSet\": {\n\t\t\t\"id\": \"1\",\n\t\t\t\"changes\": [{\"sql\": {\"sql\": \"SELECT 1;\\nSELECT 2;\"}}]\n\t\t}}\n\t]\n}\n",
        )
        .unwrap();
        let change_set = &root.children[0];
        assert_eq!(change_set.line, 3);
        let sql = change_set.children[0].field_text("sql").unwrap();
        assert_eq!((sql.line, sql.exact), (5, false));
        assert_eq!(sql.body, "SELECT 1;\nSELECT 2;");
    }

    #[test]
    fn syntax_errors_have_lines() {
        let error = parse("databaseChangeLog:\n  - include: {file: a.sql\n").unwrap_err();
        assert!(error.line >= 2, "{error:?}");
        assert_eq!(parse("a: 1\na: 2\n").unwrap_err().line, 2);
    }
}
