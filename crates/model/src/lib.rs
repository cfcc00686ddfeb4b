//! The vocabulary every part of Tamsa shares: the customer fields, their kinds and
//! windows, and the calendar (days since the Unix epoch, in UTC) they are computed in.
//!
//! This crate does no IO. The field catalog here is the public contract of the query
//! language: names are never renamed, only added.

mod date;
mod field;
mod progress;

pub use date::{age_in_years, format_day, parse_day, Day};
pub use field::{
    catalog, Dimension, FieldDef, FieldId, Kind, AGE_BUCKETS, CHANNELS, GENDERS, GROUPS, WINDOWS,
};
pub use progress::{NoProgress, Progress};
