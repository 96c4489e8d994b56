//! Generating one value for one column, as text the server can cast to the column's type.
//!
//! `hints` reads what a column's name suggests, `kinds` makes a value of each column kind,
//! `text` holds the text generators (with `fake`) and `dates` the dates and timestamps.

mod dates;
mod hints;
mod kinds;
mod text;

pub use dates::{format_date, format_timestamp, parse_timestamp};
pub use hints::Hint;
pub use kinds::{Request, after, can_generate, shortened, value};
pub use text::{Locale, card_number, iban, uuid};
