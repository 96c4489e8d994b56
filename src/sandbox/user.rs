//! Running servers as an unprivileged user when driftless runs as root.
//!
//! PostgreSQL's `initdb` and `postgres` refuse to run as root, and CI usually runs as root.

use std::ffi::{CStr, CString};
use std::path::Path;

use crate::{Error, Result};

/// A system user to run server processes as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

impl ServiceUser {
    /// Gives `path` (not recursively) to this user.
    pub fn chown(&self, path: &Path) -> Result<()> {
        std::os::unix::fs::lchown(path, Some(self.uid), Some(self.gid)).map_err(|e| {
            Error::infra(format!(
                "cannot hand {} to user {}: {e}",
                path.display(),
                self.name
            ))
        })
    }
}

/// `None` when driftless does not run as root (servers then run as the current user);
/// otherwise the first existing user of `preferred`, falling back to `nobody`.
pub fn service_user(preferred: &[&str]) -> Result<Option<ServiceUser>> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    for name in preferred.iter().chain(["nobody"].iter()) {
        if let Some(user) = lookup(name) {
            return Ok(Some(user));
        }
    }
    Err(Error::infra(format!(
        "running as root, but none of the users {} exists to run the database server as; \
         create one (e.g. `useradd --system {}`)",
        preferred.join(", "),
        preferred.first().copied().unwrap_or("postgres")
    )))
}

fn lookup(name: &str) -> Option<ServiceUser> {
    let c_name = CString::new(name).ok()?;
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the duration of the call; `buf` is large enough for
    // any sane passwd entry and its length is passed.
    let rc = unsafe {
        libc::getpwnam_r(
            c_name.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return None;
    }
    // SAFETY: on success pw_name points into `buf`, NUL-terminated.
    let name = unsafe { CStr::from_ptr(pwd.pw_name) }
        .to_string_lossy()
        .into_owned();
    Some(ServiceUser {
        name,
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_exists_and_unknown_users_do_not() {
        assert_eq!(lookup("root").map(|u| u.uid), Some(0));
        assert!(lookup("no-such-user-driftless").is_none());
    }
}
