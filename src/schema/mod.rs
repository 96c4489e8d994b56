//! The normalized schema model shared by all engines, its canonical text and its diff.
//!
//! An engine introspects its catalog into a [`SchemaSnapshot`]: structured [`Table`]s (what
//! seeding and data fingerprints need) and every object's canonical text (what drift
//! detection compares). Canonical text never contains object ids, storage positions or
//! current sequence values, so objects dropped and recreated identically compare equal.

mod diff;
pub mod frozen;
mod model;

pub use diff::{Change, ColumnOrderChange, LineChange, ObjectChange, SchemaDiff, diff};
pub use model::{
    Column, ColumnKind, ForeignKey, PartitionBound, Partitioning, Repertoire, SchemaObject,
    SchemaSnapshot, Table,
};
