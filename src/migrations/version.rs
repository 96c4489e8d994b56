//! Ordering of migration versions: numeric by segment for most tools ([`compare_versions`]),
//! and the text order of the tools that compare versions as strings (diesel, popx).

use std::cmp::Ordering;

/// How a tool orders (and tells apart) the versions of its migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionOrder {
    /// Segment by segment, numerically where both are digits ([`compare_versions`]): sqlx,
    /// golang-migrate, dbmate, goose, Flyway.
    Numeric,
    /// diesel: the folder's version with every `-` taken out, compared as text, so
    /// `2017-08-31-230457` and `20170831230457` are one version and sort among
    /// `20140924113530`, and `…-0000` / `…-0001` suffixes are versions of their own.
    Diesel,
    /// popx: the version digits compared as text (`10` sorts before `9`).
    Text,
}

impl VersionOrder {
    pub fn compare(self, a: &str, b: &str) -> Ordering {
        match self {
            VersionOrder::Numeric => compare_versions(a, b),
            VersionOrder::Diesel => diesel_version(a).cmp(&diesel_version(b)),
            VersionOrder::Text => a.cmp(b),
        }
    }
}

/// The version diesel keeps for a migration folder's version (and writes into
/// `__diesel_schema_migrations`): the text with every `-` removed.
pub fn diesel_version(folder_version: &str) -> String {
    folder_version.replace('-', "")
}

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
    fn diesel_orders_as_its_runner_does() {
        let mut versions = vec![
            "2017-08-31-230457",
            "20140924113530",
            "2024-01-01-120000-0001",
            "00000000000000",
            "2024-01-01-120000-0000",
            "20240101120000",
            "2024-01-01-120000-000a",
            "2015-01-05-101010",
        ];
        versions.sort_by(|a, b| VersionOrder::Diesel.compare(a, b));
        assert_eq!(
            versions,
            [
                "00000000000000",
                "20140924113530",
                "2015-01-05-101010",
                "2017-08-31-230457",
                "20240101120000",
                "2024-01-01-120000-0000",
                "2024-01-01-120000-0001",
                "2024-01-01-120000-000a",
            ]
        );
        // One version in two spellings; two suffixes are two versions.
        assert!(
            VersionOrder::Diesel
                .compare("2017-08-31-230457", "20170831230457")
                .is_eq()
        );
        assert!(
            VersionOrder::Diesel
                .compare("2024-01-01-120000-0000", "2024-01-01-120000-0001")
                .is_lt()
        );
        // The numeric order would put the 14-digit version after every dashed one.
        assert!(compare_versions("20140924113530", "2017-08-31-230457").is_gt());
    }

    #[test]
    fn popx_compares_versions_as_text() {
        assert!(VersionOrder::Text.compare("10", "9").is_lt());
        assert!(VersionOrder::Text.compare("0001", "1").is_lt());
        assert!(
            VersionOrder::Text
                .compare("20190100000001", "20190100000001000000")
                .is_lt()
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
