//! Protobuf wire bytes → canonical ProtoJSON, one message at a time.
//!
//! A [`Plan`] is compiled once per message type (and [`JsonOptions`]); then
//! [`Plan::transcode`] turns the bytes of one encoded message into one JSON
//! object, appended to a caller's buffer, exactly as Google's `json_format`
//! prints it.
//!
//! ```
//! use protoland_schema::Schema;
//! use protoland_transcode::{JsonOptions, Plan};
//!
//! let schema = Schema::from_proto_source(
//!     "click.proto",
//!     r#"syntax = "proto3"; package acme; message Click { string url = 1; int64 user_id = 2; }"#,
//! )?;
//! let plan = Plan::new(&schema.message("acme.Click")?, JsonOptions::default());
//!
//! let wire = b"\x0a\x03/a\x2f\x10\x2a"; // url = "/a/", user_id = 42
//! let mut json = Vec::new();
//! plan.transcode(wire, &mut json)?;
//! assert_eq!(json, br#"{"url":"/a/","userId":"42"}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod options;
mod plan;
mod transcode;
mod wire;
mod wkt;
mod write;

pub use error::{ErrorKind, TranscodeError};
pub use options::JsonOptions;
pub use plan::{Check, Plan};
