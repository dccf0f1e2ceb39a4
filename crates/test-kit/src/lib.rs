//! Test support for the workspace's integration tests, never linked into a
//! binary: real servers on loopback and inputs built at test time.
//!
//! - [`Moto`]: moto's S3 and SQS server, and object store helpers for its
//!   buckets ([`store`], [`put`], [`get`], [`keys`]);
//! - [`FaultProxy`]: an HTTP proxy in front of it that injects S3 and SQS
//!   failures;
//! - test messages ([`click`], [`CLICK_PROTO`]; as files: [`click_files`],
//!   converted by the CLI: [`convert_click_files`]),
//!   their framing ([`frame`]),
//!   gzip ([`gzip`], [`gunzip`], [`gzip_members`]) and expected NDJSON
//!   ([`expected_ndjson`]) or Parquet rows ([`expected_click_rows`], read
//!   back by pyarrow: [`pyarrow_read`]);
//! - events as the Lambda function gets them ([`sqs_event`]).
//!
//! The servers come from the workspace's `.venv` (made by `scripts/test`).
//! A test that needs them starts with [`require_tools!`]: under plain
//! `cargo test` it is skipped when a tool is missing (one line says so and
//! names `scripts/test`); with `PROTOLAND_REQUIRE_TOOLS=1`, as
//! `scripts/test` runs, a missing tool fails it.

#![allow(clippy::unwrap_used, clippy::print_stderr, missing_docs)]

mod encode;
mod events;
mod moto;
mod parquet;
mod proxy;
mod tools;

pub use crate::encode::{
    CLICK_MESSAGE, CLICK_PROTO, click, click_files, click_plan, click_schema_source,
    convert_click_files, expected_ndjson, frame, gunzip, gzip, gzip_at, gzip_members, string_field,
    varint,
};
pub use crate::events::{notification, sqs_event};
#[cfg(feature = "sqs")]
pub use crate::moto::sqs_client_for;
pub use crate::moto::{ACCESS_KEY, Moto, REGION, SECRET_KEY, get, keys, put, store};
pub use crate::parquet::{ParquetRead, expected_click_rows, pyarrow_read};
pub use crate::proxy::{Fault, FaultKind, FaultProxy, RandomFaults};
pub use crate::tools::{
    REQUIRE_TOOLS, free_port, python, tools_installed, venv_tool, wait_for_port, workspace_root,
};
