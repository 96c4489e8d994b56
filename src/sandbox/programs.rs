//! Finding server and client programs: the one search of `PATH` every engine uses.

use std::path::PathBuf;

/// The directories of `PATH` in order, then `extra` ones (where distributions put programs
/// that are not on a user's PATH, like `/usr/sbin`).
pub fn search_dirs(extra: &[&str]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    dirs.extend(extra.iter().map(PathBuf::from));
    dirs
}

/// The first of `names` that is a file in the first of `dirs` holding one: directory order
/// wins, as in a shell; within one directory, earlier names win.
pub fn find_in(dirs: &[PathBuf], names: &[&str]) -> Option<PathBuf> {
    dirs.iter()
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|path| path.is_file())
}

/// [`find_in`] the [`search_dirs`].
pub fn find_program(names: &[&str], extra: &[&str]) -> Option<PathBuf> {
    find_in(&search_dirs(extra), names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earlier_directories_win_then_earlier_names() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        std::fs::write(first.path().join("b"), "").unwrap();
        std::fs::write(second.path().join("a"), "").unwrap();
        std::fs::create_dir(second.path().join("c")).unwrap();
        let dirs = [first.path().to_path_buf(), second.path().to_path_buf()];
        assert_eq!(find_in(&dirs, &["a", "b"]), Some(first.path().join("b")));
        assert_eq!(find_in(&dirs, &["a"]), Some(second.path().join("a")));
        assert_eq!(find_in(&dirs, &["c"]), None, "a directory is not a program");
    }

    #[test]
    fn extra_directories_come_after_path() {
        let dirs = search_dirs(&["/driftless-extra"]);
        assert_eq!(dirs.last(), Some(&PathBuf::from("/driftless-extra")));
    }
}
