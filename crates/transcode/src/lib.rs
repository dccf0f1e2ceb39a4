//! Protobuf wire bytes → canonical ProtoJSON, one message at a time.
//!
//! A [`Plan`] is compiled once per message type (and [`JsonOptions`]); then
//! [`Plan::transcode`] turns the bytes of one encoded message into one JSON
//! object, appended to a caller's buffer, with the values Google's Python
//! `json_format` (protobuf 7, upb) prints — no intermediate message tree,
//! no allocation per field. [`Plan::check`] decodes without writing, for
//! framing detection. Errors are [`TranscodeError`]s with a byte offset and
//! a field path.
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
//!
//! // Bad input: an error naming the problem, the byte and the field.
//! let err = plan.transcode(b"\x0a\x09/a", &mut json).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "length 9 runs past the end of the message (2 bytes left) at byte 0 in field `url`"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! How it works: `compile` compiles the types into the form a [`Plan`]
//! holds; `transcode` walks the wire bytes (a fast path writes fields as
//! they are read when they arrive in field-number order; otherwise the
//! message is redone on a slow path that gathers, orders and merges field
//! spans as Google's parser would); `wire` reads varints, tags and lengths
//! with upb's limits ([`WireType`] names the wire types); `well_formed`
//! checks wire data without a schema ([`check_wire`]); `fields` is a small
//! public field reader over the same rules ([`FieldReader`], for decoders
//! of other outputs); `write` spells JSON
//! strings and numbers; `wkt` formats Timestamp, Duration and FieldMask.
//! The mapping in detail, the text style and the limits are in
//! `docs/transcode.md`.

mod compile;
mod error;
mod fields;
mod options;
mod plan;
mod transcode;
mod well_formed;
mod wire;
mod wkt;
mod write;

pub use error::{ErrorKind, TranscodeError};
pub use fields::{FieldReader, WireField, WireValue, read_varint, unzigzag};
pub use options::JsonOptions;
pub use plan::Plan;
pub use transcode::Check;
pub use well_formed::check_wire;
pub use wire::WireType;
pub use wkt::{check_timestamp, is_wrapper};
