//! `--changed-since REV`: which migrations changed since a git revision.
//!
//! Migrations whose files are unchanged since REV are only applied (fast); new and changed
//! ones get the full roundtrip. A migration whose file existed at REV and changed since is
//! reported: databases that already ran it will never run the change.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{Migration, Script, display_path};
use crate::{Error, Result};

/// What changed since the revision.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Indices (into the migration list) of new or changed migrations.
    pub changed: BTreeSet<usize>,
    /// Changed migrations that already existed at the revision, with the changed file.
    pub modified: Vec<(usize, PathBuf)>,
}

fn git(dir: &Path, args: &[&str]) -> Result<String> {
    // git needs the user's configuration (safe.directory, includes) and its own variables;
    // no DRIFTLESS_* secret.
    let mut command = crate::sandbox::command("git");
    for (name, value) in std::env::vars_os() {
        let Some(text) = name.to_str() else { continue };
        if matches!(text, "HOME" | "XDG_CONFIG_HOME") || text.starts_with("GIT_") {
            command.env(&name, value);
        }
    }
    let out = command
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| Error::input(format!("--changed-since needs git: {e}")))?;
    if !out.status.success() {
        return Err(Error::input(format!(
            "--changed-since: git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn lines(text: &str, root: &Path) -> BTreeSet<PathBuf> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| root.join(l))
        .collect()
}

/// Compares the files of `migrations` (in `dir`) with revision `rev` of their git repository.
pub fn changed_since(dir: &Path, rev: &str, migrations: &[Migration]) -> Result<Changes> {
    let mut revision = Revision::open(dir, rev)?;
    // Files holding several migrations (a Liquibase changelog with many changesets) are
    // compared by content: a migration changed if a statement of it is not in the old file.
    let mut uses: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for m in migrations {
        *uses.entry(absolute(&m.up.path)).or_default() += 1;
    }
    let shared = |file: &PathBuf| uses.get(file).copied().unwrap_or(0) > 1;
    let mut changes = Changes::default();
    for (index, m) in migrations.iter().enumerate() {
        let scripts = std::iter::once(&m.up)
            .chain(m.down.as_ref())
            .chain(m.verify.as_ref());
        let mut touched = None;
        for script in scripts {
            let file = absolute(&script.path);
            if touched.is_none() && revision.changed(&file, script, shared(&file)) {
                touched = Some(file);
            }
        }
        let Some(file) = touched else {
            continue;
        };
        changes.changed.insert(index);
        let up = absolute(&m.up.path);
        if revision.shipped(&up, &m.up, shared(&up)) {
            changes.modified.push((index, display_path(&file)));
        }
    }
    Ok(changes)
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// What git says about the migrations folder at a revision, and the old texts of its files.
struct Revision {
    root: PathBuf,
    rev: String,
    /// Files that differ from the revision, untracked files, and files the revision has.
    differs: BTreeSet<PathBuf>,
    untracked: BTreeSet<PathBuf>,
    existed: BTreeSet<PathBuf>,
    old_texts: BTreeMap<PathBuf, Option<String>>,
}

impl Revision {
    fn open(dir: &Path, rev: &str) -> Result<Revision> {
        let root = PathBuf::from(git(dir, &["rev-parse", "--show-toplevel"])?.trim());
        let root = std::fs::canonicalize(&root).unwrap_or(root);
        let commit = format!("{rev}^{{commit}}");
        git(&root, &["rev-parse", "--verify", "--quiet", &commit]).map_err(|_| {
            Error::input(format!(
                "--changed-since {rev}: no such revision in {}",
                display_path(&root).display()
            ))
        })?;
        let scope = absolute(dir).to_string_lossy().into_owned();
        let list = |args: &[&str]| -> Result<BTreeSet<PathBuf>> {
            let mut args = args.to_vec();
            args.extend(["--", scope.as_str()]);
            Ok(lines(&git(&root, &args)?, &root))
        };
        Ok(Revision {
            differs: list(&["diff", "--name-only", rev])?,
            untracked: list(&["ls-files", "--others", "--exclude-standard"])?,
            existed: list(&["ls-tree", "-r", "--name-only", rev])?,
            root,
            rev: rev.to_string(),
            old_texts: BTreeMap::new(),
        })
    }

    /// The text of `file` at the revision, if it had the file.
    fn old_text(&mut self, file: &Path) -> Option<&str> {
        let (root, rev) = (&self.root, &self.rev);
        self.old_texts
            .entry(file.to_path_buf())
            .or_insert_with(|| {
                let relative = file.strip_prefix(root).ok()?.to_string_lossy().into_owned();
                git(root, &["show", &format!("{rev}:{relative}")]).ok()
            })
            .as_deref()
    }

    /// Whether `script` (in `file`) changed since the revision; a file `shared` by several
    /// migrations changed for this one only if one of its statements is new.
    fn changed(&mut self, file: &Path, script: &Script, shared: bool) -> bool {
        if !shared {
            return self.differs.contains(file) || self.untracked.contains(file);
        }
        match self.old_text(file) {
            None => true,
            Some(old) => script.statements.iter().any(|s| !old.contains(&s.sql)),
        }
    }

    /// Whether the up script (in `file`) existed at the revision: databases may have run it.
    fn shipped(&mut self, file: &Path, up: &Script, shared: bool) -> bool {
        if !shared {
            return self.existed.contains(file);
        }
        self.old_text(file)
            .is_some_and(|old| up.statements.iter().any(|s| old.contains(&s.sql)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::{MigrationFormat, pg_split, read};

    fn git_in(dir: &Path, args: &[&str]) {
        let ok = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn a_changelog_of_several_changesets_is_compared_by_statement() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("changes.sql");
        let text = "--liquibase formatted sql\n--changeset a:1\nCREATE TABLE t (id int);\n--changeset a:2\nCREATE TABLE u (id int);\nCREATE INDEX u_id ON u (id);\n";
        std::fs::write(&file, text).unwrap();
        git_in(d.path(), &["init", "-q"]);
        git_in(d.path(), &["add", "."]);
        git_in(d.path(), &["commit", "-q", "-m", "one"]);
        let edited = text.replace("u (id int)", "u (id bigint)")
            + "--changeset a:3\nCREATE TABLE v (id int);\n";
        std::fs::write(&file, edited).unwrap();
        let migrations = read(d.path(), MigrationFormat::Liquibase, pg_split).unwrap();
        let changes = changed_since(d.path(), "HEAD", &migrations).unwrap();
        assert_eq!(
            changes.changed.iter().copied().collect::<Vec<_>>(),
            vec![1, 2]
        );
        let modified: Vec<usize> = changes.modified.iter().map(|(i, _)| *i).collect();
        assert_eq!(
            modified,
            vec![1],
            "changeSet 2 shipped (its index is unchanged); 3 is new"
        );
    }
}
