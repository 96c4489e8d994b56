//! sqitch: changes in `sqitch.plan` order, each with `deploy/<change>.sql`, optionally
//! `revert/<change>.sql` and `verify/<change>.sql`. The verify script runs after deploy; its
//! failure is a finding. A change reworked after a tag uses `<change>@<tag>.sql` for the
//! earlier version, as sqitch does.

use std::path::Path;

use super::{Migration, Splitter, display_path, read_script, read_text};
use crate::{Error, Result};

/// One change line of the plan.
struct Change {
    name: String,
    note: Option<String>,
    line: usize,
    /// The first tag declared after this change (for reworked changes).
    next_tag: Option<String>,
}

fn parse_plan(text: &str) -> Vec<Change> {
    let mut changes: Vec<Change> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('%') || line.starts_with('#') {
            continue;
        }
        if let Some(tag) = line.strip_prefix('@') {
            let tag = tag
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            for change in changes.iter_mut().rev() {
                if change.next_tag.is_some() {
                    break;
                }
                change.next_tag = Some(tag.clone());
            }
            continue;
        }
        let (body, note) = match line.split_once(" # ") {
            Some((b, n)) => (b, Some(n.trim().to_string())),
            None => (line, None),
        };
        let Some(name) = body.split_whitespace().next() else {
            continue;
        };
        changes.push(Change {
            name: name.to_string(),
            note,
            line: i + 1,
            next_tag: None,
        });
    }
    changes
}

pub fn read(dir: &Path, split: Splitter) -> Result<Vec<Migration>> {
    let plan_path = dir.join("sqitch.plan");
    let plan = read_text(&plan_path)?;
    let changes = parse_plan(&plan);
    let mut migrations = Vec::new();
    for (i, change) in changes.iter().enumerate() {
        // A later change of the same name means this one was reworked: its scripts carry the
        // tag that follows it.
        let reworked = changes[i + 1..].iter().any(|c| c.name == change.name);
        let file = match (&change.next_tag, reworked) {
            (Some(tag), true) => format!("{}@{tag}.sql", change.name),
            _ => format!("{}.sql", change.name),
        };
        let deploy = dir.join("deploy").join(&file);
        if !deploy.is_file() {
            return Err(Error::InputAt {
                path: display_path(&plan_path),
                line: change.line,
                message: format!(
                    "change `{}` has no deploy script {}",
                    change.name,
                    display_path(&deploy).display()
                ),
            });
        }
        let name = change.note.clone().unwrap_or_else(|| change.name.clone());
        let mut migration = Migration::new(change.name.clone(), name, read_script(&deploy, split)?);
        migration.declared_at = Some((display_path(&plan_path), change.line));
        let revert = dir.join("revert").join(&file);
        if revert.is_file() {
            migration.down = Some(read_script(&revert, split)?);
        }
        let verify = dir.join("verify").join(&file);
        if verify.is_file() {
            migration.verify = Some(read_script(&verify, split)?);
        }
        migrations.push(migration);
    }
    if migrations.is_empty() {
        return Err(Error::InputAt {
            path: display_path(&plan_path),
            line: 1,
            message: "the plan lists no changes".into(),
        });
    }
    // psql runs every script statement by statement, in the transaction it opens itself.
    super::transactions::follow_runner(super::MigrationFormat::Sqitch, &mut migrations);
    Ok(migrations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::pg_split as split;

    #[test]
    fn plan_order_scripts_and_reworks() {
        let d = tempfile::tempdir().unwrap();
        let write = |p: &str, t: &str| {
            let path = d.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, t).unwrap();
        };
        write(
            "sqitch.plan",
            "%syntax-version=1.0.0\n%project=shop\n\nusers 2024-01-01T00:00:00Z Ann <a@x> # Add users\n\
             @v1 2024-01-02T00:00:00Z Ann <a@x>\nusers [users@v1] 2024-01-03T00:00:00Z Ann <a@x> # Rework\n",
        );
        write(
            "deploy/users@v1.sql",
            "BEGIN; CREATE TABLE users (id int); COMMIT;",
        );
        write("revert/users@v1.sql", "BEGIN; DROP TABLE users; COMMIT;");
        write(
            "deploy/users.sql",
            "BEGIN; ALTER TABLE users ADD name text; COMMIT;",
        );
        write("verify/users.sql", "SELECT name FROM users WHERE false;");
        let got = read(d.path(), split).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].name, "Add users");
        assert!(got[0].up.path.ends_with("deploy/users@v1.sql"));
        assert!(got[0].down.is_some() && got[0].verify.is_none());
        assert!(
            !got[0].up.transactional,
            "sqitch scripts manage their own transaction"
        );
        assert!(got[1].down.is_none() && got[1].verify.is_some());
    }

    #[test]
    fn missing_deploy_script_names_the_plan_line() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("sqitch.plan"),
            "%project=x\n\nwidgets 2024-01-01T00:00:00Z A <a@x>\n",
        )
        .unwrap();
        match read(d.path(), split) {
            Err(Error::InputAt { line, message, .. }) => {
                assert_eq!(line, 3);
                assert!(message.contains("widgets"));
            }
            other => panic!("{other:?}"),
        }
    }
}
