//! Files driftless writes for the user: whole or not at all.
//!
//! Every output is written to a temp file beside its target and renamed over it once complete,
//! so a reader (or a later run) never sees half a file, and an interrupted run leaves the
//! target as it was.

use std::io::Write;
use std::path::Path;

use crate::{Error, Result};

/// Writes `bytes` to `path` atomically (a temp file in the same folder, then a rename).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let shown = crate::migrations::display_path(path);
    let fail = |e: std::io::Error| Error::input(format!("cannot write {}: {e}", shown.display()));
    let mut temp = partial_beside(path).map_err(fail)?;
    temp.write_all(bytes).map_err(fail)?;
    temp.as_file().sync_all().map_err(fail)?;
    // tempfile creates 0600 files; an output is an ordinary file of the user's.
    set_default_mode(temp.path());
    temp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// A file another program (or a long copy) writes: it is written at `path()`, a temp file
/// beside the target, and becomes the target only on `commit`; dropped before that (an error,
/// Ctrl-C), it is removed, so the target never holds half a file.
pub struct Pending {
    temp: tempfile::TempPath,
    target: std::path::PathBuf,
}

impl Pending {
    pub fn new(target: &Path) -> Result<Pending> {
        let shown = crate::migrations::display_path(target);
        let temp = partial_beside(target)
            .map_err(|e| Error::input(format!("cannot write {}: {e}", shown.display())))?
            .into_temp_path();
        Ok(Pending {
            temp,
            target: target.to_path_buf(),
        })
    }

    /// Where the writer writes.
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// Moves the complete file into place, with an ordinary file's mode.
    pub fn commit(self) -> Result<()> {
        set_default_mode(&self.temp);
        let shown = crate::migrations::display_path(&self.target);
        self.temp
            .persist(&self.target)
            .map_err(|e| Error::infra(format!("cannot write {}: {}", shown.display(), e.error)))
    }
}

/// Checks, before any work, that `path` can be written: its folder exists and is writable, and
/// the path is not a folder or a file driftless may not replace. A run that would only fail
/// when it writes its result fails here instead, in milliseconds (exit 2).
pub fn check_target(path: &Path) -> Result<()> {
    use rustix::fs::{Access, access};
    if path == Path::new("-") {
        return Ok(());
    }
    let shown = crate::migrations::display_path(path);
    let cannot = |why: String| Error::input(format!("cannot write {}: {why}", shown.display()));
    let dir = folder_of(path);
    let folder = crate::migrations::display_path(dir);
    match std::fs::metadata(dir) {
        Err(_) => {
            return Err(cannot(format!(
                "folder {} does not exist",
                folder.display()
            )));
        }
        Ok(meta) if !meta.is_dir() => {
            return Err(cannot(format!("{} is not a folder", folder.display())));
        }
        Ok(_) => {}
    }
    if access(dir, Access::WRITE_OK | Access::EXEC_OK).is_err() {
        return Err(cannot(format!(
            "folder {} is not writable",
            folder.display()
        )));
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.is_dir() {
            return Err(cannot("it is a folder".into()));
        }
        if !meta.is_file() && !meta.file_type().is_symlink() {
            return Err(cannot("it is not a regular file".into()));
        }
        if access(path, Access::WRITE_OK).is_err() {
            return Err(cannot("the file is not writable".into()));
        }
    }
    Ok(())
}

/// The folder a file at `path` goes in (`.` for a bare file name).
pub fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// A `.driftless-<creator>-….partial` file beside `target`: it names who writes it, so a later
/// run in the same folder removes it when that run was killed ([`crate::sandbox::sweep_files`],
/// called here first).
fn partial_beside(target: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = folder_of(target);
    crate::sandbox::sweep_files(dir);
    tempfile::Builder::new()
        .prefix(&format!(
            ".driftless-{}-",
            crate::sandbox::Creator::me().tag()
        ))
        .suffix(".partial")
        .tempfile_in(dir)
}

/// Gives a new file the mode an ordinary `create` would (0666 minus the umask).
fn set_default_mode(path: &Path) {
    use rustix::fs::Mode;
    use std::os::unix::fs::PermissionsExt;
    // umask(2) can only be read by setting it: it is set straight back to what it was.
    let mask = rustix::process::umask(Mode::from_raw_mode(0o022));
    rustix::process::umask(mask);
    let _ = std::fs::set_permissions(
        path,
        std::fs::Permissions::from_mode(0o666 & !mask.as_raw_mode()),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_target_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("report.json");
        std::fs::write(&target, "old").unwrap();
        write_atomically(&target, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "only the target is left");
    }

    #[test]
    fn targets_are_checked_before_any_work() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_target(&dir.path().join("new.json")).is_ok());
        let missing = check_target(&dir.path().join("nope/x.json")).unwrap_err();
        assert!(missing.to_string().contains("does not exist"), "{missing}");
        assert_eq!(missing.exit_code(), crate::ExitCode::Usage);
        let folder = check_target(dir.path()).unwrap_err();
        assert!(folder.to_string().contains("is a folder"), "{folder}");
        assert!(check_target(Path::new("-")).is_ok());
    }

    #[test]
    fn a_pending_file_appears_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("dump");
        let pending = Pending::new(&target).unwrap();
        std::fs::write(pending.path(), "half").unwrap();
        drop(pending);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing left"
        );
        let pending = Pending::new(&target).unwrap();
        std::fs::write(pending.path(), "whole").unwrap();
        pending.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "whole");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_missing_folder_is_an_input_error() {
        let err = write_atomically(Path::new("/nonexistent-driftless/x.json"), b"x").unwrap_err();
        assert_eq!(err.exit_code(), crate::ExitCode::Usage);
    }
}
