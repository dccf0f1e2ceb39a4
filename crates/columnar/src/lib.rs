//! Protobuf wire bytes → Arrow columns → Parquet, typed from the
//! descriptor, without JSON text or a dynamic message in between.
//!
//! [`Columns`] compiles a message type once (from its descriptor and the
//! [`JsonOptions`] that name its columns, as NDJSON names its keys) into
//! an Arrow schema and the plan that fills it; a [`RowsBuilder`] (one per
//! thread) appends the wire bytes of one message at a time as a row and
//! hands back [`RecordBatch`](arrow_array::RecordBatch)es; a
//! [`ParquetFile`] writes them as row groups. The type mapping is
//! documented in `docs/parquet.md`.
//!
//! ```
//! use protoland_columnar::{Columns, ParquetFile, ParquetOptions, RowsBuilder};
//! use protoland_schema::Schema;
//! use protoland_transcode::JsonOptions;
//!
//! let schema = Schema::from_proto_source(
//!     "click.proto",
//!     r#"syntax = "proto3"; package acme; message Click { string url = 1; int64 user_id = 2; }"#,
//! )?;
//! let options = ParquetOptions::default();
//! let columns = Columns::new(&schema.message("acme.Click")?, JsonOptions::default(), &options)?;
//! assert_eq!(columns.arrow_schema().field(1).name(), "userId");
//!
//! let mut rows = RowsBuilder::new(&columns);
//! rows.append(b"\x0a\x03/a\x2f\x10\x2a")?; // url = "/a/", user_id = 42
//! // Bad input: an error naming the problem, the byte and the field; no row.
//! let err = rows.append(b"\x0a\x09/a").unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "length 9 runs past the end of the message (2 bytes left) at byte 0 in field `url`"
//! );
//! assert_eq!(rows.len(), 1);
//!
//! let mut file = ParquetFile::new(&columns, &options, Vec::new())?;
//! file.write(&rows.finish())?;
//! let bytes = file.finish()?;
//! assert_eq!(&bytes[..4], b"PAR1");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! How it works: `schema` compiles the column plan and the Arrow schema;
//! `decode` checks each message with the JSON plan's checks (so bad bytes
//! fail before any column changes), then walks its fields with
//! `protoland_transcode`'s wire reader, merging as protobuf does, into the
//! truncatable buffers of `builders`; `file` drives arrow-rs's Parquet
//! writer.
//!
//! [`JsonOptions`]: protoland_transcode::JsonOptions

mod builders;
mod decode;
mod error;
mod file;
mod options;
mod schema;
mod text;
mod values;

pub use decode::RowsBuilder;
pub use error::ColumnarError;
pub use file::{CREATED_BY, DICTIONARY_PAGE_BYTES, ParquetFile};
pub use options::{
    BadLevel, BadMaxDepth, PageCompression, ParquetOptions, TimestampMode, UnknownCompression,
    UnknownTimestampMode,
};
pub use schema::Columns;
