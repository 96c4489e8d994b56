//! Which server version the user asked for (`--pg-version`, `[postgres] version`).

/// A server version the user asked for (`--pg-version`): a major (`17`) or a major and minor
/// (`17.5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WantedVersion {
    pub major: u32,
    pub minor: Option<u32>,
}

impl std::str::FromStr for WantedVersion {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<WantedVersion, String> {
        let bad =
            || format!("`{text}` is not a server version; use a major version like 17, or 17.5");
        let mut parts = text.trim().split('.');
        let major = parts
            .next()
            .and_then(|p| p.parse::<u32>().ok())
            .ok_or_else(bad)?;
        let minor = match parts.next() {
            Some(p) => Some(p.parse::<u32>().map_err(|_| bad())?),
            None => None,
        };
        if parts.next().is_some() || !(10..100).contains(&major) {
            return Err(bad());
        }
        Ok(WantedVersion { major, minor })
    }
}

impl std::fmt::Display for WantedVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.minor {
            Some(minor) => write!(f, "{}.{minor}", self.major),
            None => write!(f, "{}", self.major),
        }
    }
}

impl WantedVersion {
    /// Whether a server version string (`15.18`, `17.7.0`, `18beta1`) is this version.
    pub fn matches(&self, version: &str) -> bool {
        let numbers: Vec<Option<u32>> = version
            .split(|c: char| !c.is_ascii_digit())
            .take(2)
            .map(|p| p.parse().ok())
            .collect();
        numbers.first().copied().flatten() == Some(self.major)
            && self
                .minor
                .is_none_or(|minor| numbers.get(1).copied().flatten() == Some(minor))
    }
}

#[cfg(test)]
mod tests {
    use super::WantedVersion;

    #[test]
    fn wanted_versions_parse_and_match() {
        let v17: WantedVersion = "17".parse().unwrap();
        assert!(v17.matches("17.7") && v17.matches("17.7.0") && v17.matches("17beta1"));
        assert!(!v17.matches("15.18") && !v17.matches("170.1"));
        let v175: WantedVersion = "17.5".parse().unwrap();
        assert!(v175.matches("17.5.0") && !v175.matches("17.6"));
        for bad in ["", "x", "17.x", "1.2.3", "9"] {
            assert!(bad.parse::<WantedVersion>().is_err(), "{bad}");
        }
    }
}
