//! The API's handlers, by area.

pub mod export;
pub mod ops;
pub mod query;
pub mod segments;
