//! The columnar crate's tests, one binary: the mapping row by row
//! (`mapping`), decoding semantics and errors (`rows`), the Parquet files
//! (`file`) and the differential test against Google's `json_format`
//! read back with pyarrow and DuckDB (`differential`).

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod differential;
mod file;
mod mapping;
mod rows;
mod support;
