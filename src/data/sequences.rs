//! Where sequences stand: the value each would hand out next (PostgreSQL sequences and identity
//! columns, MySQL `AUTO_INCREMENT` counters and MariaDB `SEQUENCE`s) and the highest value in
//! use in each column that takes its values from it. A step that leaves a sequence behind the
//! values already in use breaks the next insert with a duplicate key: data loss waiting to
//! happen, invisible in the schema's text (current values are data, not schema).

/// One sequence, or one table's `AUTO_INCREMENT` counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequencePosition {
    /// `public.items_id_seq`; a MySQL counter is `auto_increment:shop.items`.
    pub sequence: String,
    /// The value the next call hands out.
    pub next: i128,
    /// Negative for a descending sequence.
    pub increment: i128,
    /// The columns whose values come from it (owned by it, identity, or a default calling it).
    pub users: Vec<SequenceUser>,
}

/// A column whose values come from a sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceUser {
    /// Qualified table name, as in the schema snapshot.
    pub table: String,
    pub column: String,
    /// The highest value in the column (the lowest for a descending sequence); `None` when
    /// the column holds no value.
    pub extreme: Option<i128>,
}

impl SequencePosition {
    /// The column whose values the next value would run into, with the most room overrun.
    pub fn collision(&self) -> Option<&SequenceUser> {
        let hits = |u: &&SequenceUser| match u.extreme {
            Some(v) if self.increment >= 0 => self.next <= v,
            Some(v) => self.next >= v,
            None => false,
        };
        let users = self.users.iter().filter(hits);
        if self.increment >= 0 {
            users.max_by_key(|u| u.extreme)
        } else {
            users.min_by_key(|u| u.extreme)
        }
    }

    /// Whether this position is behind `other`'s (would hand out values `other` already
    /// passed).
    fn behind(&self, other: &SequencePosition) -> bool {
        if self.increment >= 0 {
            self.next < other.next
        } else {
            self.next > other.next
        }
    }
}

/// A sequence a step left behind values in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    pub position: SequencePosition,
    pub user: SequenceUser,
    /// Where it stood in the state compared with (`None`: it did not exist then).
    pub was: Option<i128>,
}

/// Sequences of `now` whose next value is already in use, that were not so in any of
/// `earlier` states: each either did not exist there or stood further ahead. A position that
/// only moved forward (or collided already, as far) is not new. `earlier[0]` is the state
/// reported as the comparison (`was`).
pub fn collisions(now: &[SequencePosition], earlier: &[&[SequencePosition]]) -> Vec<Collision> {
    let mut out = Vec::new();
    for position in now {
        let Some(user) = position.collision() else {
            continue;
        };
        let find = |state: &&[SequencePosition]| {
            state
                .iter()
                .find(|p| p.sequence == position.sequence)
                .cloned()
        };
        let before: Vec<Option<SequencePosition>> = earlier.iter().map(find).collect();
        let new = before
            .iter()
            .all(|b| b.as_ref().is_none_or(|b| position.behind(b)));
        if new {
            out.push(Collision {
                position: position.clone(),
                user: user.clone(),
                was: before.first().cloned().flatten().map(|b| b.next),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(name: &str, next: i128, increment: i128, extreme: Option<i128>) -> SequencePosition {
        SequencePosition {
            sequence: name.into(),
            next,
            increment,
            users: vec![SequenceUser {
                table: "public.items".into(),
                column: "id".into(),
                extreme,
            }],
        }
    }

    #[test]
    fn a_sequence_reset_below_the_values_in_use_collides() {
        let before = [seq("s", 201, 1, Some(200))];
        let now = [seq("s", 1, 1, Some(200))];
        let found = collisions(&now, &[&before]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].was, Some(201));
        assert_eq!(found[0].user.extreme, Some(200));
    }

    #[test]
    fn a_new_sequence_that_collides_is_found() {
        let found = collisions(&[seq("s", 1, 1, Some(5))], &[&[]]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].was, None);
    }

    #[test]
    fn forward_moves_and_free_positions_are_not_collisions() {
        let before = [seq("s", 201, 1, Some(200))];
        assert!(collisions(&[seq("s", 301, 1, Some(200))], &[&before]).is_empty());
        // Behind where it was, but past every value in use (rows were deleted).
        assert!(collisions(&[seq("s", 101, 1, Some(100))], &[&before]).is_empty());
        // Empty column.
        assert!(collisions(&[seq("s", 1, 1, None)], &[&before]).is_empty());
    }

    #[test]
    fn a_collision_that_was_already_there_is_not_new() {
        let before = [seq("s", 1, 1, Some(200))];
        assert!(collisions(&[seq("s", 1, 1, Some(200))], &[&before]).is_empty());
        // Reported after the down already: the re-up that leaves it is not a new one.
        let after_up = [seq("s", 201, 1, Some(200))];
        let after_down = [seq("s", 1, 1, Some(200))];
        assert!(collisions(&[seq("s", 2, 1, Some(200))], &[&after_up, &after_down]).is_empty());
    }

    #[test]
    fn descending_sequences_collide_at_the_lowest_value() {
        let before = [seq("s", -201, -1, Some(-200))];
        assert!(collisions(&[seq("s", -1, -1, Some(-200))], &[&before]).len() == 1);
        assert!(collisions(&[seq("s", -300, -1, Some(-200))], &[&before]).is_empty());
    }
}
