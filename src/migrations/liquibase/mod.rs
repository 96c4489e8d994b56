//! Liquibase changelogs: formatted SQL (`formatted.rs`), and XML (`xml.rs`), YAML and JSON
//! (`tree.rs`) changelogs read into one element shape (`node.rs`) whose meaning is read in
//! `changelog.rs`. Changelogs are followed through `include` and `includeAll` (files in name
//! order); changeSets run their `sql` and `sqlFile` changes, split as their options say
//! (`sql.rs`), and roll back with their `rollback` (inline SQL, changes, or another changeSet).
//! A `.sql` file that is not formatted SQL, when included, is one changeSet `raw` by
//! `includeAll`, as Liquibase reads it.
//!
//! Each statement keeps its file and line: the changelog's for SQL written in it, the
//! `sqlFile`'s for SQL read from one. A changeSet whose SQL comes from several files keeps the
//! changelog as its file, and statements of its `sqlFile`s point at the `sqlFile` line.

mod changelog;
mod formatted;
mod node;
mod sql;
mod tree;
mod xml;

use std::path::{Component, Path, PathBuf};

use changelog::{Change, ChangeSet, Entry, Rollback};
use sql::dbms_allows;

use super::{Migration, Script, Splitter, at, display_path, read_text, sorted_entries};
use crate::{Error, Result};

/// Reads the changelogs of `dir` for a database Liquibase knows by one of `dbms`
/// (`postgresql`, `mysql`, …): changeSets and changes whose `dbms` excludes it are left out.
/// Without a known database every changeSet is read.
pub fn read(dir: &Path, split: Splitter, dbms: Option<&[&str]>) -> Result<Vec<Migration>> {
    let mut reader = Reader {
        root: dir.to_path_buf(),
        split,
        dbms,
        out: Vec::new(),
        open: Vec::new(),
    };
    match master(dir)? {
        Some(master) => reader.changelog(&master)?,
        None => {
            for path in sorted_entries(dir)? {
                if path.extension().is_some_and(|e| e == "sql")
                    && formatted::is_formatted(&read_text(&path)?)
                {
                    reader.out.extend(formatted::read(&path, split, dbms)?);
                }
            }
        }
    }
    Ok(reader.out)
}

/// The extensions of XML, YAML and JSON changelogs.
const STRUCTURED: &[&str] = &["xml", "yaml", "yml", "json"];

fn extension(path: &Path) -> &str {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
}

/// The changelog of `dir` to start from: its only XML/YAML/JSON changelog, or the one named
/// `*master*`; none when the folder holds formatted SQL files only.
fn master(dir: &Path) -> Result<Option<PathBuf>> {
    let mut found = Vec::new();
    for path in sorted_entries(dir)? {
        if path.is_file()
            && STRUCTURED.contains(&extension(&path))
            && read_text(&path)?.contains("databaseChangeLog")
        {
            found.push(path);
        }
    }
    if found.len() <= 1 {
        return Ok(found.pop());
    }
    let named: Vec<&PathBuf> = found
        .iter()
        .filter(|p| p.to_string_lossy().to_lowercase().contains("master"))
        .collect();
    match named.as_slice() {
        [one] => Ok(Some((*one).clone())),
        _ => Err(Error::input(format!(
            "{}: several Liquibase changelogs and none named *master*; \
             point --migrations at the folder of the master changelog",
            display_path(dir).display()
        ))),
    }
}

/// Follows changelogs from the master, collecting migrations in the order Liquibase runs them.
struct Reader<'a> {
    /// The migrations folder: paths not relative to their changelog are relative to it.
    root: PathBuf,
    split: Splitter,
    dbms: Option<&'a [&'a str]>,
    out: Vec<Migration>,
    /// Changelogs being read, outermost first (an include of one of them is a cycle).
    open: Vec<PathBuf>,
}

impl Reader<'_> {
    /// Reads one included file: a changelog, formatted SQL or plain SQL.
    fn file(&mut self, path: &Path) -> Result<()> {
        match extension(path) {
            "sql" => {
                let text = read_text(path)?;
                if formatted::is_formatted(&text) {
                    let found = formatted::read(path, self.split, self.dbms)?;
                    self.out.extend(found);
                } else {
                    let shown = display_path(path);
                    let up = Script::parse(shown.clone(), &text, self.split)
                        .map_err(|e| at(&shown, e))?;
                    self.out.push(Migration::new("raw", "includeAll", up));
                }
                Ok(())
            }
            e if STRUCTURED.contains(&e) => self.changelog(path),
            _ => Err(Error::input(format!(
                "{}: not a Liquibase changelog (.xml, .yaml, .yml, .json or .sql)",
                display_path(path).display()
            ))),
        }
    }

    fn changelog(&mut self, path: &Path) -> Result<()> {
        let shown = display_path(path);
        let text = read_text(path)?;
        let root = if extension(path) == "xml" {
            xml::parse(&text).map_err(|e| (e.line, e.message))
        } else {
            tree::parse(&text).map_err(|e| (e.line, e.message))
        }
        .map_err(|(line, message)| Error::InputAt {
            path: shown.clone(),
            line,
            message,
        })?;
        let entries = changelog::entries(&root, path)?;
        self.open.push(canonical(path));
        for entry in entries {
            match entry {
                Entry::Include {
                    file,
                    relative,
                    line,
                } => {
                    let target = self.locate(path, &file, relative);
                    if !target.is_file() {
                        return Err(not_found(&shown, line, "include", &file));
                    }
                    if self.open.contains(&canonical(&target)) {
                        return Err(Error::InputAt {
                            path: shown,
                            line,
                            message: format!("`{file}` includes this changelog again (a cycle)"),
                        });
                    }
                    self.file(&target)?;
                }
                Entry::IncludeAll {
                    path: dir,
                    relative,
                    error_if_empty,
                    line,
                } => self.include_all(path, &dir, relative, error_if_empty, line)?,
                Entry::ChangeSet(change_set) => self.change_set(path, change_set)?,
            }
        }
        self.open.pop();
        Ok(())
    }

    /// Every changelog below `dir`, in path order; the changelogs being read are skipped (an
    /// includeAll of the master's own folder).
    fn include_all(
        &mut self,
        changelog: &Path,
        dir: &str,
        relative: bool,
        error_if_empty: bool,
        line: usize,
    ) -> Result<()> {
        let folder = self.locate(changelog, dir, relative);
        let mut files = Vec::new();
        if folder.is_dir() {
            collect(&folder, &mut files)?;
        }
        files.retain(|f| !self.open.contains(&canonical(f)));
        if files.is_empty() && error_if_empty {
            return Err(not_found(&display_path(changelog), line, "includeAll", dir));
        }
        files.iter().try_for_each(|file| self.file(file))
    }

    /// A path written in `changelog`: relative to it, or to the migrations folder (Liquibase
    /// searches its search path, often `src/main/resources`, so a parent of the folder that
    /// holds the path is taken too).
    fn locate(&self, changelog: &Path, written: &str, relative: bool) -> PathBuf {
        let written = written.strip_prefix("classpath:").unwrap_or(written);
        if relative {
            return tidy(&changelog.parent().unwrap_or(Path::new("")).join(written));
        }
        let written = written.trim_start_matches('/');
        self.root
            .ancestors()
            .map(|base| tidy(&base.join(written)))
            .find(|p| p.exists())
            .unwrap_or_else(|| tidy(&self.root.join(written)))
    }

    fn change_set(&mut self, changelog: &Path, change_set: ChangeSet) -> Result<()> {
        if !dbms_allows(change_set.dbms.as_deref(), self.dbms) {
            return Ok(());
        }
        let shown = display_path(changelog);
        let up = self.script(
            changelog,
            &change_set.changes,
            change_set.run_in_transaction,
        )?;
        let down = match &change_set.rollback {
            None => None,
            Some(Rollback::Changes(changes)) => {
                Some(self.script(changelog, changes, change_set.run_in_transaction)?)
            }
            Some(Rollback::Of { id, author, line }) => {
                Some(self.up_of(&shown, id, author.as_deref(), *line)?)
            }
        };
        let mut migration = Migration::new(change_set.id, change_set.author, up);
        migration.declared_at = Some((shown, change_set.line));
        migration.down = down;
        self.out.push(migration);
        Ok(())
    }

    /// The up script of a changeSet read before, for a rollback that names it.
    fn up_of(
        &self,
        changelog: &Path,
        id: &str,
        author: Option<&str>,
        line: usize,
    ) -> Result<Script> {
        self.out
            .iter()
            .rev()
            .find(|m| m.version == id && author.is_none_or(|a| a == m.name))
            .map(|m| m.up.clone())
            .ok_or_else(|| Error::InputAt {
                path: changelog.to_path_buf(),
                line,
                message: format!("rollback names changeSet `{id}`, which is not read before it"),
            })
    }

    /// One script from the changes of a changeSet (or of its rollback).
    fn script(&self, changelog: &Path, changes: &[Change], in_transaction: bool) -> Result<Script> {
        let shown = display_path(changelog);
        let mut pieces = Vec::new();
        for change in changes {
            if let Some(piece) = self.piece(changelog, change)? {
                pieces.push(piece);
            }
        }
        let mut script = merge(shown, pieces);
        script.transactional &= in_transaction;
        Ok(script)
    }

    /// The statements of one change with the line of the change, or nothing when its `dbms`
    /// excludes the database.
    fn piece(&self, changelog: &Path, change: &Change) -> Result<Option<(Script, usize)>> {
        let shown = display_path(changelog);
        match change {
            Change::Sql { dbms, .. } | Change::SqlFile { dbms, .. }
                if !dbms_allows(dbms.as_deref(), self.dbms) =>
            {
                Ok(None)
            }
            Change::Sql {
                text,
                options,
                line,
                ..
            } => {
                let mut script =
                    sql::script(shown.clone(), &text.body, text.line, options, self.split)
                        .map_err(|e| at(&shown, e))?;
                if !text.exact {
                    // Folded or escaped text: only the line where it starts is known.
                    pin_lines(&mut script, text.line);
                }
                Ok(Some((script, *line)))
            }
            Change::SqlFile {
                path,
                relative,
                options,
                line,
                ..
            } => {
                let file = self.locate(changelog, path, *relative);
                if !file.is_file() {
                    return Err(not_found(&shown, *line, "sqlFile", path));
                }
                let file_shown = display_path(&file);
                let script = sql::script(
                    file_shown.clone(),
                    &read_text(&file)?,
                    1,
                    options,
                    self.split,
                )
                .map_err(|e| at(&file_shown, e))?;
                Ok(Some((script, *line)))
            }
        }
    }
}

/// The scripts of a changeSet's changes as one script. Its file is theirs when they share
/// one; otherwise the changelog's, and statements from other files point at their change.
fn merge(changelog: PathBuf, pieces: Vec<(Script, usize)>) -> Script {
    let path = match pieces.first() {
        Some((first, _)) if pieces.iter().all(|(s, _)| s.path == first.path) => first.path.clone(),
        _ => changelog,
    };
    let mut merged = Script::empty(path);
    for (mut piece, line) in pieces {
        if piece.path != merged.path {
            pin_lines(&mut piece, line);
        }
        merged.transactional &= piece.transactional;
        merged.directives.no_transaction |= piece.directives.no_transaction;
        merged
            .directives
            .allows
            .append(&mut piece.directives.allows);
        merged.blank &= piece.blank;
        merged.statements.append(&mut piece.statements);
    }
    merged
}

/// Every statement and directive of `script` at `line`.
fn pin_lines(script: &mut Script, line: usize) {
    for s in &mut script.statements {
        s.line = line;
    }
    for a in &mut script.directives.allows {
        a.line = line;
    }
}

fn not_found(changelog: &Path, line: usize, what: &str, written: &str) -> Error {
    Error::InputAt {
        path: changelog.to_path_buf(),
        line,
        message: format!("{what} `{written}`: no such file or folder (or nothing in it)"),
    }
}

/// `a/b/../c` as `a/c` (as Liquibase reads it, and as a user would write it in a report).
fn tidy(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Changelog files below `dir`, depth first in name order (Liquibase's includeAll order).
fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for path in sorted_entries(dir)? {
        if path.is_dir() {
            collect(&path, out)?;
        } else if extension(&path) == "sql" || STRUCTURED.contains(&extension(&path)) {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
