//! Liquibase formatted SQL: files starting with `--liquibase formatted sql`, changesets
//! `--changeset author:id` with `runInTransaction`, `splitStatements` and `endDelimiter`,
//! rollbacks as `--rollback` lines or `/* liquibase rollback … */` blocks, `--comment` lines.
//! A master changelog (XML or YAML) is followed through `include` and `includeAll`; XML and
//! YAML changesets themselves cannot be run by driftless and are reported by id.

use std::path::{Path, PathBuf};

use super::{Migration, Script, Splitter, at, display_path, read_text, sorted_entries};
use crate::{Error, Result};

pub fn read(dir: &Path, split: Splitter) -> Result<Vec<Migration>> {
    let mut masters = Vec::new();
    let mut formatted = Vec::new();
    for path in sorted_entries(dir)? {
        if !path.is_file() {
            continue;
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        let text = read_text(&path)?;
        if matches!(ext, "xml" | "yaml" | "yml") && text.contains("databaseChangeLog") {
            masters.push(path);
        } else if ext == "sql" && is_formatted(&text) {
            formatted.push(path);
        }
    }
    let mut migrations = Vec::new();
    let master = match masters.len() {
        0 => None,
        1 => masters.pop(),
        _ => {
            let named: Vec<&PathBuf> = masters
                .iter()
                .filter(|p| p.to_string_lossy().to_lowercase().contains("master"))
                .collect();
            match named.as_slice() {
                [one] => Some((*one).clone()),
                _ => {
                    return Err(Error::input(format!(
                        "{}: several Liquibase changelogs and none named *master*; \
                         point --migrations at the folder of the master changelog",
                        display_path(dir).display()
                    )));
                }
            }
        }
    };
    match master {
        Some(master) => read_changelog(&master, dir, split, &mut migrations, 0)?,
        None => {
            for file in formatted {
                read_formatted(&file, split, &mut migrations)?;
            }
        }
    }
    Ok(migrations)
}

fn is_formatted(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| {
            let l: String = l
                .to_lowercase()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            l.starts_with("--liquibase formatted sql")
                || l.starts_with("-- liquibase formatted sql")
        })
}

/// One included file: a formatted SQL changelog, or another XML/YAML changelog.
fn read_included(
    path: &Path,
    root: &Path,
    split: Splitter,
    out: &mut Vec<Migration>,
    depth: usize,
) -> Result<()> {
    if !path.is_file() {
        return Err(Error::input(format!(
            "Liquibase include {} does not exist",
            display_path(path).display()
        )));
    }
    match path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
    {
        "sql" => read_formatted(path, split, out),
        "xml" | "yaml" | "yml" => read_changelog(path, root, split, out, depth + 1),
        _ => Err(Error::input(format!(
            "{}: unsupported Liquibase changelog type",
            display_path(path).display()
        ))),
    }
}

/// The entries of an XML or YAML changelog, in order: includes, includeAlls, changesets.
enum Entry {
    Include {
        file: String,
        relative: bool,
    },
    IncludeAll {
        path: String,
        relative: bool,
    },
    ChangeSet {
        id: String,
        author: String,
        line: usize,
    },
}

fn read_changelog(
    path: &Path,
    root: &Path,
    split: Splitter,
    out: &mut Vec<Migration>,
    depth: usize,
) -> Result<()> {
    if depth > 20 {
        return Err(Error::input(format!(
            "{}: Liquibase includes nest too deep (a cycle?)",
            display_path(path).display()
        )));
    }
    let text = read_text(path)?;
    let entries = if path.extension().is_some_and(|e| e == "xml") {
        xml_entries(&text)
    } else {
        yaml_entries(&text)
    };
    let base = |relative: bool| {
        if relative {
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            root.to_path_buf()
        }
    };
    for entry in entries {
        match entry {
            Entry::Include { file, relative } => {
                read_included(&base(relative).join(file), root, split, out, depth)?
            }
            Entry::IncludeAll {
                path: dir,
                relative,
            } => {
                let mut files = Vec::new();
                collect(&base(relative).join(dir), &mut files)?;
                for file in files {
                    read_included(&file, root, split, out, depth)?;
                }
            }
            Entry::ChangeSet { id, author, line } => {
                let mut m = Migration::unsupported(
                    id,
                    author,
                    display_path(path),
                    "Liquibase XML/YAML changeset: driftless runs formatted SQL changesets only",
                );
                m.declared_at = Some((display_path(path), line));
                out.push(m);
            }
        }
    }
    Ok(())
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for path in sorted_entries(dir)? {
        if path.is_dir() {
            collect(&path, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "sql" | "xml" | "yaml" | "yml"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// The value of `name="…"` in an XML tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = tag[start..].find('"')? + start;
    Some(tag[start..end].to_string())
}

fn xml_entries(text: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(open) = rest.find('<') {
        let tag_end = rest[open..].find('>').map_or(rest.len(), |e| open + e + 1);
        let tag = &rest[open..tag_end];
        let line = text[..offset + open].matches('\n').count() + 1;
        let relative = attribute(tag, "relativeToChangelogFile").is_some_and(|v| v == "true");
        if tag.starts_with("<include ") || tag.starts_with("<include\n") {
            if let Some(file) = attribute(tag, "file") {
                entries.push(Entry::Include { file, relative });
            }
        } else if tag.starts_with("<includeAll") {
            if let Some(path) = attribute(tag, "path") {
                entries.push(Entry::IncludeAll { path, relative });
            }
        } else if tag.starts_with("<changeSet") {
            entries.push(Entry::ChangeSet {
                id: attribute(tag, "id").unwrap_or_default(),
                author: attribute(tag, "author").unwrap_or_default(),
                line,
            });
        }
        offset += tag_end;
        rest = &rest[tag_end..];
    }
    entries
}

fn yaml_entries(text: &str) -> Vec<Entry> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut entries = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let key = line.trim().trim_start_matches("- ").trim();
        let kind = match key {
            "include:" => 1,
            "includeAll:" => 2,
            "changeSet:" => 3,
            _ => continue,
        };
        let level = indent(line);
        let mut fields = std::collections::HashMap::new();
        for next in &lines[i + 1..] {
            if next.trim().is_empty() {
                continue;
            }
            if indent(next) <= level {
                break;
            }
            if let Some((k, v)) = next.trim().trim_start_matches("- ").split_once(':') {
                fields
                    .entry(k.trim().to_string())
                    .or_insert_with(|| v.trim().trim_matches(['"', '\'']).to_string());
            }
        }
        let relative = fields
            .get("relativeToChangelogFile")
            .is_some_and(|v| v == "true");
        match kind {
            1 => {
                if let Some(file) = fields.get("file") {
                    entries.push(Entry::Include {
                        file: file.clone(),
                        relative,
                    });
                }
            }
            2 => {
                if let Some(path) = fields.get("path") {
                    entries.push(Entry::IncludeAll {
                        path: path.clone(),
                        relative,
                    });
                }
            }
            _ => entries.push(Entry::ChangeSet {
                id: fields.get("id").cloned().unwrap_or_default(),
                author: fields.get("author").cloned().unwrap_or_default(),
                line: i + 1,
            }),
        }
    }
    entries
}

/// Options of a `--changeset` line.
#[derive(Debug, Default)]
struct Options {
    run_in_transaction: bool,
    split_statements: bool,
    end_delimiter: Option<String>,
}

fn changeset_header(line: &str) -> Option<(String, String, Options)> {
    let rest = line.strip_prefix("--")?.trim_start();
    let rest = rest.strip_prefix("changeset")?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let mut words = rest.split_whitespace();
    let (author, id) = words.next()?.split_once(':')?;
    let mut options = Options {
        run_in_transaction: true,
        split_statements: true,
        end_delimiter: None,
    };
    for word in words {
        let Some((key, value)) = word.split_once(':') else {
            continue;
        };
        match key {
            "runInTransaction" => options.run_in_transaction = value != "false",
            "splitStatements" => options.split_statements = value != "false",
            "endDelimiter" => options.end_delimiter = Some(value.to_string()),
            _ => {}
        }
    }
    Some((author.to_string(), id.to_string(), options))
}

fn read_formatted(path: &Path, split: Splitter, out: &mut Vec<Migration>) -> Result<()> {
    let text = read_text(path)?;
    let shown = display_path(path);
    if !is_formatted(&text) {
        return Err(Error::InputAt {
            path: shown,
            line: 1,
            message: "not a Liquibase formatted SQL file (first line must be `--liquibase formatted sql`)".into(),
        });
    }
    // Lines inside statements (a dollar-quoted body) are text, never markers.
    let spans: Vec<(usize, usize)> = split(&text)
        .map_err(|e| at(&shown, e))?
        .iter()
        .map(|s| (s.line, s.line + s.sql.matches('\n').count()))
        .collect();
    let outside = |n: usize| !spans.iter().any(|(a, b)| *a <= n && n <= *b);
    let lines: Vec<&str> = text.lines().collect();
    let headers: Vec<usize> = (1..=lines.len())
        .filter(|&n| outside(n) && changeset_header(lines[n - 1].trim()).is_some())
        .collect();
    for (k, &header) in headers.iter().enumerate() {
        let end = headers.get(k + 1).copied().unwrap_or(lines.len() + 1);
        let (author, id, options) = changeset_header(lines[header - 1].trim()).expect("a header");
        let mut body = vec![""; lines.len()];
        let mut rollback = vec![""; lines.len()];
        let mut has_rollback = false;
        let mut in_block = false;
        for n in header + 1..end {
            let line = lines[n - 1];
            let trimmed = line.trim();
            if in_block {
                if trimmed.starts_with("*/") {
                    in_block = false;
                } else {
                    rollback[n - 1] = line;
                }
                continue;
            }
            if !outside(n) {
                body[n - 1] = line;
                continue;
            }
            if let Some(sql) = trimmed.strip_prefix("--rollback") {
                has_rollback = true;
                let sql = sql.trim();
                if !(sql.eq_ignore_ascii_case("empty") || sql.eq_ignore_ascii_case("not required"))
                {
                    rollback[n - 1] = sql;
                }
            } else if trimmed.to_lowercase().starts_with("/* liquibase rollback") {
                has_rollback = true;
                in_block = !trimmed.ends_with("*/");
            } else if !(trimmed.starts_with("--comment")
                || trimmed.starts_with("--precondition")
                || trimmed.starts_with("--validCheckSum")
                || trimmed.starts_with("--ignoreLines"))
            {
                body[n - 1] = line;
            }
        }
        let script = |lines: &[&str]| -> Result<Script> {
            let text = lines[header..end - 1].join("\n");
            let first = header + 1;
            let mut script = if !options.split_statements {
                Script::empty(shown.clone()).single_statement(&text, first)
            } else if let Some(delimiter) = &options.end_delimiter {
                let mut statements = Vec::new();
                let mut start = first;
                let mut chunk: Vec<&str> = Vec::new();
                for (i, line) in lines[header..end - 1].iter().enumerate() {
                    let t = line.trim_end();
                    if t.trim() == delimiter.as_str() || t.ends_with(delimiter.as_str()) {
                        chunk.push(t.strip_suffix(delimiter.as_str()).unwrap_or(t));
                        let part =
                            Script::empty(shown.clone()).single_statement(&chunk.join("\n"), start);
                        statements.extend(part.statements);
                        chunk.clear();
                        start = first + i + 1;
                    } else {
                        chunk.push(line);
                    }
                }
                let part = Script::empty(shown.clone()).single_statement(&chunk.join("\n"), start);
                statements.extend(part.statements);
                Script {
                    statements,
                    ..Script::empty(shown.clone())
                }
            } else {
                Script::parse_section(shown.clone(), &text, first, split)
                    .map_err(|e| at(&shown, e))?
            };
            if !options.run_in_transaction {
                script.transactional = false;
            }
            Ok(script)
        };
        let mut migration = Migration::new(id, author, script(&body)?);
        migration.declared_at = Some((shown.clone(), header));
        if has_rollback {
            migration.down = Some(script(&rollback)?);
        }
        out.push(migration);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::postgres::split;

    fn parse(text: &str) -> Vec<Migration> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("changes.sql");
        std::fs::write(&p, text).unwrap();
        let mut out = Vec::new();
        read_formatted(&p, split, &mut out).unwrap();
        out
    }

    #[test]
    fn changesets_rollbacks_and_options() {
        let got = parse(
            "--liquibase formatted sql\n\n--changeset alice:1\n--comment: users\nCREATE TABLE users (id int);\n--rollback DROP TABLE users;\n\n\
             --changeset bob:2 runInTransaction:false\nCREATE INDEX CONCURRENTLY i ON users (id);\n\n\
             --changeset bob:3 splitStatements:false\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n/* liquibase rollback\nDROP FUNCTION f();\n*/\n",
        );
        assert_eq!(got.len(), 3);
        assert_eq!(
            (got[0].version.as_str(), got[0].name.as_str()),
            ("1", "alice")
        );
        assert_eq!(got[0].up.statements[0].line, 5);
        let down = got[0].down.as_ref().unwrap();
        assert_eq!(down.statements[0].sql, "DROP TABLE users");
        assert_eq!(down.statements[0].line, 6);
        assert!(got[1].down.is_none(), "no rollback: irreversible");
        assert_eq!(got[1].declared_at.as_ref().unwrap().1, 8);
        assert!(!got[1].up.transactional);
        assert_eq!(got[2].up.statements.len(), 1);
        assert_eq!(
            got[2].down.as_ref().unwrap().statements[0].sql,
            "DROP FUNCTION f()"
        );
    }

    #[test]
    fn marker_text_in_a_dollar_quoted_body_is_text() {
        let got = parse(
            "--liquibase formatted sql\n--changeset a:1\nCREATE FUNCTION f() RETURNS text AS $$\nSELECT '\n--changeset x:9\n--rollback nope\n'::text\n$$ LANGUAGE sql;\n--rollback DROP FUNCTION f();\n",
        );
        assert_eq!(got.len(), 1);
        assert!(got[0].up.statements[0].sql.contains("--changeset x:9"));
        assert_eq!(got[0].down.as_ref().unwrap().statements.len(), 1);
    }

    #[test]
    fn end_delimiter_and_empty_rollback() {
        let got = parse(
            "--liquibase formatted sql\r\n--changeset a:1 endDelimiter:GO\r\nSELECT 1\r\nGO\r\nSELECT 2\r\nGO\r\n--rollback empty\r\n",
        );
        assert_eq!(got[0].up.statements.len(), 2);
        assert!(got[0].effective_down().is_none());
        assert!(got[0].down.is_some());
    }

    #[test]
    fn master_changelogs_include_files_and_report_xml_changesets() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("changes")).unwrap();
        std::fs::write(
            d.path().join("changes/001.sql"),
            "--liquibase formatted sql\n--changeset a:1\nCREATE TABLE t (id int);\n--rollback DROP TABLE t;\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("db.changelog-master.xml"),
            "<databaseChangeLog>\n  <includeAll path=\"changes\" relativeToChangelogFile=\"true\"/>\n  <changeSet id=\"7\" author=\"x\">\n  </changeSet>\n</databaseChangeLog>\n",
        )
        .unwrap();
        let got = read(d.path(), split).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].version, "1");
        assert!(got[1].unsupported.is_some());
        assert_eq!(got[1].version, "7");
        let yaml = d.path().join("y");
        std::fs::create_dir(&yaml).unwrap();
        std::fs::write(
            yaml.join("changelog-master.yaml"),
            "databaseChangeLog:\n  - include:\n      file: ../changes/001.sql\n      relativeToChangelogFile: true\n",
        )
        .unwrap();
        let got = read(&yaml, split).unwrap();
        assert_eq!(got.len(), 1);
    }
}
