//! Protobuf objects as streams: decompression, framing, detection and
//! conversion to newline-delimited JSON, in bounded memory.
//!
//! The data flows through one module per step:
//!
//! - `decompress`: gzip (every member), zstd (every frame) or none, chosen
//!   by magic bytes, capped ([`Compression`], [`Decompressor`]);
//! - `framing`: single, varint- or fixed32-prefixed messages, capped and
//!   split-proof ([`Framing`], [`Framer`]), with the length prefixes read
//!   by `prefix`;
//! - `detect`: which framing parses cleanly against the schema, and why
//!   ([`Detection`]);
//! - `convert`: the pipeline from bytes to NDJSON or Parquet
//!   (decompression on one thread, transcoding on the others, output in
//!   order) ([`Converter`], [`OutputFormat`]), under [`Limits`];
//! - `compress`: gzip or zstd for the output, on several threads with the
//!   same bytes on any number ([`compress_writer`], [`CompressOptions`]);
//! - `inspect`: what an object is, for `protoland inspect` ([`inspect()`]).
//!
//! `settings` holds the names a user chooses ([`Compression`],
//! [`Framing`], [`OutputFormat`]), below every other module.
//!
//! Every error is a [`ConvertError`] with the coordinates (message index,
//! byte offset, field path) of what went wrong.
//!
//! ```
//! use protoland_schema::Schema;
//! use protoland_stream::{ConvertOptions, Converter, Framing, Progress};
//! use protoland_transcode::{JsonOptions, Plan};
//!
//! let schema = Schema::from_proto_source(
//!     "click.proto",
//!     r#"syntax = "proto3"; package acme; message Click { string url = 1; int64 user_id = 2; }"#,
//! )?;
//! let plan = Plan::new(&schema.message("acme.Click")?, JsonOptions::default());
//!
//! // Two varint-delimited messages: url = "/a", then user_id = 42.
//! let input: &[u8] = b"\x04\x0a\x02/a\x02\x10\x2a";
//! let mut output = Vec::new();
//! let report = Converter::new(plan, ConvertOptions::default())
//!     .convert(input, &mut output, &Progress::default())?;
//!
//! assert_eq!(output, b"{\"url\":\"/a\"}\n{\"userId\":\"42\"}\n");
//! assert_eq!(report.framing, Framing::Varint);
//! assert_eq!(report.messages, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod compress;
mod convert;
mod decompress;
mod detect;
mod error;
mod framing;
mod inspect;
mod limits;
mod prefix;
mod settings;

pub use compress::{
    CompressOptions, CompressWriter, DEFAULT_GZIP_LEVEL, DEFAULT_ZSTD_LEVEL, GZIP_LEVELS,
    LevelError, ZSTD_LEVELS, check_level, compress_writer, compression_memory,
};
pub use convert::{
    ConvertOptions, ConvertReport, Converter, MAX_REPORTED_SKIPS, MAX_THREADS, OutputWriter,
    Progress, conversion_memory, parquet_memory,
};
pub use decompress::Decompressor;
pub use detect::{Detection, LayoutCheck};
pub use error::{ConvertError, FrameErrorKind};
pub use framing::{Frame, Framer, PROBE_WINDOW};
pub use inspect::{InspectReport, inspect};
pub use limits::{Limits, RATIO_GRACE};
// What a Parquet output is written with, for the settings that choose it.
pub use protoland_columnar::{ColumnarError, PageCompression, ParquetOptions, TimestampMode};
pub use settings::{Compression, Framing, OutputFormat, ParseSettingError};

#[cfg(test)]
mod testing;
