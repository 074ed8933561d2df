//! The download engine: one file at a time ([`fetch_file`]), names on disk ([`names`]), and
//! runs of many files ([`run`]), for members' own downloads and researchers' project downloads
//! alike.

mod fetch;
pub mod names;
pub mod run;
mod sink;

pub use fetch::*;
