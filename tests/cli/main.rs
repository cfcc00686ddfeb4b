//! End-to-end tests of the `tamsa` binary: real Parquet in, real index directories, real
//! processes (killed, too).

mod cli;
mod generations;
mod serve;
