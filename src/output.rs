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
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".driftless-")
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(fail)?;
    temp.write_all(bytes).map_err(fail)?;
    temp.as_file().sync_all().map_err(fail)?;
    // tempfile creates 0600 files; an output is an ordinary file of the user's.
    set_default_mode(temp.path());
    temp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
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
    fn a_missing_folder_is_an_input_error() {
        let err = write_atomically(Path::new("/nonexistent-driftless/x.json"), b"x").unwrap_err();
        assert_eq!(err.exit_code(), crate::ExitCode::Usage);
    }
}
