//! Ordering of migration versions.

use std::cmp::Ordering;

/// Compares versions segment by segment (segments split on `.`, `_` and `-`), numerically
/// where both segments are digits, without overflowing: `9` < `10`, `1.2` < `1.10` (Flyway),
/// `2024-05-01-000001` < `2024-05-01-000002` (diesel), `0001` = `1`.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let split =
        |v: &str| -> Vec<String> { v.split(['.', '_', '-']).map(|s| s.to_string()).collect() };
    let (a, b) = (split(a), split(b));
    for (x, y) in a.iter().zip(&b) {
        let order = match (is_number(x), is_number(y)) {
            (true, true) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                x.len().cmp(&y.len()).then_with(|| x.cmp(y))
            }
            _ => x.cmp(y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
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

    #[test]
    fn dotted_and_dashed_versions() {
        assert_eq!(compare_versions("1.2", "1.10"), Ordering::Less);
        assert_eq!(compare_versions("1_1", "1.1"), Ordering::Equal);
        assert_eq!(compare_versions("1.2.3", "1.2"), Ordering::Greater);
        assert_eq!(
            compare_versions("2024-05-01-000001", "2024-05-01-000002"),
            Ordering::Less
        );
    }
}
