//! Ordering of migration versions.

use std::cmp::Ordering;

/// Compares two all-digit versions numerically without overflowing (versions such as
/// `20240101000001` or `2024050112000000000001` both sort by value).
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_not_lexicographic() {
        assert_eq!(compare_versions("9", "10"), Ordering::Less);
        assert_eq!(compare_versions("010", "9"), Ordering::Greater);
        assert_eq!(compare_versions("0001", "1"), Ordering::Equal);
        assert_eq!(
            compare_versions("20240101000002", "20240101000010"),
            Ordering::Less
        );
    }
}
