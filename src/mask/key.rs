//! The masking key: from `DRIFTLESS_MASK_KEY`, `--key-file`, or random with
//! `--ephemeral-key`. It is never printed or logged; only keyed hashes leave this module.

use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::migrations::display_path;
use crate::{Error, Result};

/// The environment variable holding the key.
pub const KEY_VAR: &str = "DRIFTLESS_MASK_KEY";

/// An HMAC-SHA-256 key, prepared once (its inner and outer pads are hashed already).
#[derive(Clone)]
pub struct MaskKey {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for MaskKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MaskKey(***)")
    }
}

impl MaskKey {
    pub fn new(secret: &[u8]) -> Result<MaskKey> {
        if secret.len() < 16 {
            return Err(Error::input(
                "the masking key is shorter than 16 bytes; use a long random secret",
            ));
        }
        let mac = Hmac::<Sha256>::new_from_slice(secret)
            .map_err(|_| Error::input("the masking key cannot be used as an HMAC key"))?;
        Ok(MaskKey { mac })
    }

    /// The key from `--key-file`, else `DRIFTLESS_MASK_KEY`, else a random one when
    /// `ephemeral`; none at all is an error.
    pub fn load(key_file: Option<&Path>, ephemeral: bool) -> Result<MaskKey> {
        if let Some(path) = key_file {
            let bytes = std::fs::read(path).map_err(|e| {
                Error::input(format!(
                    "cannot read the key file {}: {e}",
                    display_path(path).display()
                ))
            })?;
            let trimmed = String::from_utf8_lossy(&bytes).trim().as_bytes().to_vec();
            return MaskKey::new(&trimmed);
        }
        if let Some(value) = std::env::var_os(KEY_VAR).filter(|v| !v.is_empty()) {
            return MaskKey::new(value.as_encoded_bytes());
        }
        if ephemeral {
            let mut bytes = [0u8; 32];
            getrandom(&mut bytes)?;
            return MaskKey::new(&bytes);
        }
        Err(Error::input(format!(
            "no masking key: set {KEY_VAR}, pass --key-file FILE, or --ephemeral-key for a random \
             one (outputs then differ on every run and cannot be joined with other masked copies)"
        )))
    }

    /// HMAC(key, domain ‖ 0x1f ‖ value).
    pub fn digest(&self, domain: &str, value: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(domain.as_bytes());
        mac.update(&[0x1f]);
        mac.update(value);
        mac.finalize().into_bytes().into()
    }

    /// The first 8 bytes of [`MaskKey::digest`] as a number.
    pub fn number(&self, domain: &str, value: &[u8]) -> u64 {
        let d = self.digest(domain, value);
        u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
    }
}

fn getrandom(buf: &mut [u8]) -> Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .map_err(|e| {
            Error::infra(format!(
                "cannot read /dev/urandom for an ephemeral key: {e}"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_decides_and_is_never_shown() {
        let a = MaskKey::new(b"0123456789abcdef-one").unwrap();
        let b = MaskKey::new(b"0123456789abcdef-two").unwrap();
        assert_eq!(a.number("d", b"x"), a.number("d", b"x"));
        assert_ne!(a.number("d", b"x"), b.number("d", b"x"));
        assert_ne!(a.number("d", b"x"), a.number("e", b"x"), "domains separate");
        assert_eq!(format!("{a:?}"), "MaskKey(***)");
        assert!(MaskKey::new(b"short").is_err());
    }
}
