//! The only `unsafe` of driftless: the two system interfaces rustix offers no safe call for.
//!
//! Everything else (signals, the effective user, `statvfs`, FIFOs, the umask) goes through
//! rustix's safe functions where it is used.

use std::ffi::{CStr, CString};
use std::os::unix::process::CommandExt;
use std::process::Command;

use rustix::process::{Pid, Signal};

/// Arranges for the kernel to send `signal` to the child of `command` when the spawning thread
/// ends (`PR_SET_PDEATHSIG`), and makes the spawn fail if driftless died before that was set.
pub fn die_with_parent(command: &mut Command, signal: Signal) {
    let parent: Pid = rustix::process::getpid();
    // SAFETY: the closure runs in the forked child before exec, where only async-signal-safe
    // work is allowed: it makes two raw system calls (prctl, getppid) and builds its errors
    // from error numbers, without allocating or taking locks.
    unsafe {
        command.pre_exec(move || {
            rustix::process::set_parent_process_death_signal(Some(signal))?;
            // The parent may have died before prctl took effect.
            if rustix::process::getppid() != Some(parent) {
                return Err(rustix::io::Errno::SRCH.into());
            }
            Ok(())
        });
    }
}

/// A user's name, uid and gid from the system's user database (NSS: `/etc/passwd`, LDAP…).
pub fn user_by_name(name: &str) -> Option<(String, u32, u32)> {
    let c_name = CString::new(name).ok()?;
    // SAFETY: `passwd` is a plain C struct of integers and pointers, for which all zeroes is a
    // valid value; getpwnam_r fills it in.
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
    // SAFETY: on success pw_name points into `buf`, which is still alive, NUL-terminated.
    let found = unsafe { CStr::from_ptr(pwd.pw_name) }
        .to_string_lossy()
        .into_owned();
    Some((found, pwd.pw_uid, pwd.pw_gid))
}
