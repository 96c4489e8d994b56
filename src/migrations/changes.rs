//! `--changed-since REV`: which migrations changed since a git revision.
//!
//! Migrations whose files are unchanged since REV are only applied (fast); new and changed
//! ones get the full roundtrip. A migration whose file existed at REV and changed since is
//! reported: databases that already ran it will never run the change.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Migration, display_path};
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
    let out = Command::new("git")
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
    let root = PathBuf::from(git(dir, &["rev-parse", "--show-toplevel"])?.trim());
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    let commit = format!("{rev}^{{commit}}");
    git(&root, &["rev-parse", "--verify", "--quiet", &commit]).map_err(|_| {
        Error::input(format!(
            "--changed-since {rev}: no such revision in {}",
            display_path(&root).display()
        ))
    })?;
    let scope = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let scope = scope.to_string_lossy().into_owned();
    let differs = lines(
        &git(&root, &["diff", "--name-only", rev, "--", &scope])?,
        &root,
    );
    let untracked = lines(
        &git(
            &root,
            &["ls-files", "--others", "--exclude-standard", "--", &scope],
        )?,
        &root,
    );
    let existed = lines(
        &git(&root, &["ls-tree", "-r", "--name-only", rev, "--", &scope])?,
        &root,
    );
    let absolute = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    // Files holding several migrations (a Liquibase changelog with many changesets) are
    // compared by content: a migration changed if a statement of it is not in the old file.
    let mut uses: std::collections::BTreeMap<PathBuf, usize> = Default::default();
    for m in migrations {
        *uses.entry(absolute(&m.up.path)).or_default() += 1;
    }
    let mut old_texts: std::collections::BTreeMap<PathBuf, Option<String>> = Default::default();
    let mut old_text = |file: &PathBuf| -> Option<String> {
        old_texts
            .entry(file.clone())
            .or_insert_with(|| {
                let relative = file
                    .strip_prefix(&root)
                    .ok()?
                    .to_string_lossy()
                    .into_owned();
                git(&root, &["show", &format!("{rev}:{relative}")]).ok()
            })
            .clone()
    };
    let mut changes = Changes::default();
    for (index, m) in migrations.iter().enumerate() {
        let scripts = std::iter::once(&m.up)
            .chain(m.down.as_ref())
            .chain(m.verify.as_ref());
        let mut touched = None;
        for script in scripts {
            let file = absolute(&script.path);
            let changed = if uses.get(&file).copied().unwrap_or(0) > 1 {
                match old_text(&file) {
                    None => true,
                    Some(old) => script.statements.iter().any(|s| !old.contains(&s.sql)),
                }
            } else {
                differs.contains(&file) || untracked.contains(&file)
            };
            if changed && touched.is_none() {
                touched = Some(file);
            }
        }
        let Some(file) = touched else {
            continue;
        };
        changes.changed.insert(index);
        let up = absolute(&m.up.path);
        let shipped = if uses.get(&up).copied().unwrap_or(0) > 1 {
            old_text(&up).is_some_and(|old| m.up.statements.iter().any(|s| old.contains(&s.sql)))
        } else {
            existed.contains(&up)
        };
        if shipped {
            changes.modified.push((index, display_path(&file)));
        }
    }
    Ok(changes)
}
