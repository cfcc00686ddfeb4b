//! Tests of the condition search: on the catalog of a small generated data set, and on
//! hand-made entries.

mod generated;
mod handmade;
