//! Integration tests of the whole engine: Parquet fixtures in, loaded, indexed, queried.

mod fixture;
mod property;
mod rules;
